/**
 * Fork a TypeScript helper as a child process. tap runs .ts files through a
 * loader given in execArgv (--import=...); the child gets the same execArgv
 * and environment, so it loads .ts exactly as this process does.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';

export interface ChildReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { code?: string; message: string };
}

export class ChildHost extends EventEmitter {
  readonly proc: ChildProcess;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly started: Promise<void>;
  readonly exited: Promise<number | string | null>;

  constructor(script: string, args: string[] = []) {
    super();
    this.proc = fork(script, args, { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.started = new Promise((resolve, reject) => {
      this.once('started', () => resolve());
      this.proc.once('exit', (code, sig) => reject(new Error(`child exited early (${code ?? sig})`)));
    });
    this.started.catch(() => {});
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, sig) => resolve(code ?? sig)));
    this.proc.on('message', (m: ChildReply & { event?: string }) => {
      if (m.event) {
        this.emit(m.event, m);
        return;
      }
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(Object.assign(new Error(m.error!.message), { code: m.error!.code }));
    });
    this.proc.once('exit', () => {
      for (const p of this.#pending.values()) p.reject(new Error('child exited'));
      this.#pending.clear();
    });
  }

  call<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, ...args });
    });
  }

  kill(): Promise<number | string | null> {
    this.proc.kill('SIGKILL');
    return this.exited;
  }
}
