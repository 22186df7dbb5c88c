/**
 * socat(1) (Debian's socat, installed by scripts/install-system-deps.sh
 * --test) as a test stand-in for a serial cable: `pty,rawer,link=PATH` makes
 * a pty whose slave is reachable at a fixed PATH, relayed to the other
 * address. Killing socat is the far end hanging up; starting it again with
 * the same link is the line coming back at the same path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { whichSync } from '../../../qemu/which.js';

export interface Socat {
  proc: ChildProcess;
  /** Kill it and wait until it has exited (its ptys hang up, its links go). */
  stop(): Promise<void>;
}

export const SOCAT_MISSING = 'socat is not installed (scripts/install-system-deps.sh --test installs it)';

export function haveSocat(): boolean {
  return whichSync('socat') !== undefined;
}

/** A pty at `link`, relayed to `other` (a socat address). Resolves once `link` exists. */
export async function startSocat(link: string, other: string): Promise<Socat> {
  const proc = spawn('socat', [`pty,rawer,link=${link}`, other], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 5000;
  while (!fs.existsSync(link)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`socat did not create ${link}: ${stderr.trim() || 'timed out'}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
