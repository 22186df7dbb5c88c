/** The bmcemu command as a child process (TypeScript sources, this test's loader), for tests of what a user sees. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'cli', 'bmcemu.ts');

export interface CliProcess {
  proc: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  out(): string;
  /** Resolves with the first match of `re` in the output (stdout and stderr). */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** Resolves with the exit code (null when a signal ended it) and the signal. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `bmcemu run` keeps state (SEL, FRU) under $BMCEMU_STATE_DIR: children of
 * this test get a private one, never the user's ~/.local/state.
 */
let stateBase: string | undefined;
export function testStateBase(): string {
  if (!stateBase) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmcemu-cli-state-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    stateBase = dir;
  }
  return stateBase;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = process.env): CliProcess {
  const proc = spawn(process.execPath, [...process.execArgv, CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { BMCEMU_STATE_DIR: testStateBase(), ...env },
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (b: Buffer): void => {
    out += b.toString();
    for (const w of waiters) w();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (re: RegExp, ms = 30000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = out.match(re);
        if (!m) return;
        waiters.delete(check);
        clearTimeout(deadline);
        resolve(m[0]);
      };
      const deadline = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${re} in:\n${out}`));
      }, ms);
      waiters.add(check);
      check();
    });
  return { proc, out: () => out, waitFor, exited: () => exit };
}

/** Run a short command to its end. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  const p = startCli(args, env);
  const { code } = await p.exited();
  // 'exit' can come before the last 'data': wait for the pipes to end.
  await Promise.all([p.proc.stdout!, p.proc.stderr!].map((s) => (s.readableEnded ? undefined : new Promise((r) => s.once('close', r)))));
  return { code, out: p.out() };
}
