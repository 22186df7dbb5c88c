/**
 * Whether a process still exists, for deciding if a pid file or lock left
 * behind is stale. EPERM means it exists but belongs to someone else.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
