/**
 * The host console service, as obmc-console is on an OpenBMC system: it reads
 * the VUART through its tty driver all the time (so the host never waits on
 * us), keeps a rolling log, streams new output to subscribers, sends input to
 * the host, and lets callers wait for a line — the readiness mechanism for
 * boot milestones, with no sleeps.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { waitFor } from '../../../lib/wait.js';

export const DEFAULT_CONSOLE_LOG_BYTES = 1 << 20;

export class ConsoleService extends EventEmitter<{ data: [Buffer]; line: [string] }> {
  readonly #tty: Duplex;
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #total = 0;
  #partial = '';

  constructor(tty: Duplex, opts: { logBytes?: number } = {}) {
    super();
    this.#tty = tty;
    this.#limit = opts.logBytes ?? DEFAULT_CONSOLE_LOG_BYTES;
    tty.on('data', (chunk: Buffer) => this.#append(chunk));
    tty.on('error', () => {});
  }

  /** Bytes of host output seen since start (the log keeps the last logBytes). */
  get totalBytes(): number {
    return this.#total;
  }

  /** The rolling log: the most recent output, up to the limit. */
  log(): Buffer {
    const all = Buffer.concat(this.#chunks, this.#bytes);
    return all.length > this.#limit ? all.subarray(all.length - this.#limit) : all;
  }

  /** Send input to the host. */
  write(data: Buffer | string): void {
    this.#tty.write(data);
  }

  /**
   * Resolve with the first line (from now on) matching `re`. Lines already in
   * the log are not searched: callers wait for what happens next, so a
   * milestone from a previous boot never satisfies a wait for this one.
   * Aborting `signal` rejects with lib's WaitError (ERR_WAIT_ABORTED).
   */
  async waitForLine(re: RegExp, signal?: AbortSignal): Promise<string> {
    const [line] = await waitFor<[string]>(this, 'line', (l) => re.test(l), { signal, what: `a console line matching ${re}` });
    return line;
  }

  /** Close the tty (the VUART discards host output again, so the host never stalls). */
  close(): void {
    this.#tty.destroy();
  }

  #append(chunk: Buffer): void {
    this.#total += chunk.length;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    // Compact now and then, keeping at least the limit.
    if (this.#bytes > this.#limit * 2) {
      const kept = this.log();
      this.#chunks = [Buffer.from(kept)];
      this.#bytes = kept.length;
    }
    this.emit('data', chunk);
    const text = this.#partial + chunk.toString('latin1');
    const lines = text.split(/\r?\n/);
    this.#partial = lines.pop()!.slice(-4096);
    for (const raw of lines) {
      const line = raw.replace(/\r/g, '');
      this.emit('line', line);
    }
  }
}
