/**
 * Drive helpers/pty-relay.py: a pty standing in for the guest's virtio-serial
 * port, relayed to a UNIX socket and reconnecting like QEMU's chardev. python3
 * is already a build requirement (node-gyp), so tests may rely on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pty-relay.py');

export interface PtyRelay {
  /** The pty slave: what the agent opens as its "virtio port". */
  tty: string;
  proc: ChildProcess;
  /** Lines printed so far after the tty path ('connected' / 'disconnected'). */
  lines: string[];
  waitLine(line: string, count?: number, ms?: number): Promise<void>;
  /** Stop the relay: the pty's master closes, so the slave reads EIO from then on. */
  stop(): Promise<void>;
}

export async function startPtyRelay(socketPath: string): Promise<PtyRelay> {
  const proc = spawn('python3', [SCRIPT, socketPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = readline.createInterface({ input: proc.stdout! });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  // One listener from the start: readline may emit several lines from one chunk at once.
  let first: ((l: string) => void) | null = null;
  rl.on('line', (l) => {
    if (first) {
      const f = first;
      first = null;
      return f(l);
    }
    lines.push(l);
    for (const w of waiters) w();
  });
  const tty = await new Promise<string>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`pty-relay.py exited (${code}) before printing its tty`)));
    first = resolve;
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    tty,
    proc,
    lines,
    waitLine(line, count = 1, ms = 10000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (lines.filter((l) => l === line).length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`pty relay: no "${line}" #${count} within ${ms} ms (saw ${JSON.stringify(lines)})`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.stdin!.end();
      await exited;
    },
  };
}
