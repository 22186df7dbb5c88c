/** Helpers for the qemu/ tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { x86HostMachine } from '../../../qemu/machines.js';
import type { MachineSpec } from '../../../qemu/cmdline.js';

export const HELPERS = path.dirname(fileURLToPath(import.meta.url));
export const FAKE_QEMU = path.join(HELPERS, 'fake-qemu.mjs');
export const FAKE_PROBE = path.join(HELPERS, 'fake-probe.mjs');

/** A fresh temp dir with a short path (UNIX socket paths are limited to 107 bytes). */
export function shortTempDir(t: { teardown(fn: () => void): void }, prefix = 'bq-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The real x86 host machine spec, pointed at the fake QEMU. */
export function fakeMachine(runtimeDir: string): MachineSpec {
  // The executable bit may not survive every checkout; the fake must run directly.
  fs.chmodSync(FAKE_QEMU, 0o755);
  return x86HostMachine({
    runtimeDir,
    image: { kernel: '/nonexistent/vmlinuz', initrd: '/nonexistent/initrd' },
    accel: 'tcg',
    binary: FAKE_QEMU,
  });
}

/** Running (a zombie, killed but not yet reaped by its new parent, counts as dead). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export async function until(pred: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
