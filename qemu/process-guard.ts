/**
 * No orphaned QEMU, by two independent mechanisms:
 *
 * 1. The kernel's parent-death signal. QEMU is started as
 *    `setpriv --pdeathsig KILL -- qemu-system-...`: setpriv (util-linux)
 *    sets PR_SET_PDEATHSIG and execs QEMU, so QEMU gets SIGKILL when the
 *    thread that spawned it dies, however it dies, kill -9 included. (Node
 *    spawns children from its main thread, so that is the process's life.)
 * 2. A process 'exit' hook that SIGKILLs every QEMU still running, for
 *    normal exits, process.exit() and uncaught exceptions, and for machines
 *    without setpriv.
 *
 * Signals that end Node without running 'exit' hooks (SIGTERM, SIGINT with
 * no handler, SIGKILL) are covered by 1.
 */
import type { ChildProcess } from 'node:child_process';
import { whichSync } from './which.js';

const live = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Track a child until it exits; it is killed if this process exits first. */
export function guardChild(child: ChildProcess): void {
  if (!hooked) {
    process.on('exit', killAll);
    hooked = true;
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

let setprivPath: string | null | undefined;

/**
 * The argv prefix that makes a child die with this process:
 * ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--'], or [] without setpriv.
 */
export function pdeathsigPrefix(): string[] {
  if (setprivPath === undefined) setprivPath = whichSync('setpriv') ?? null;
  return setprivPath ? [setprivPath, '--pdeathsig', 'KILL', '--'] : [];
}
