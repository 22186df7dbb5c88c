/**
 * The host console service, as obmc-console is on an OpenBMC system: it reads
 * the VUART through its tty driver all the time (so the host never waits on
 * us), keeps a rolling log, streams new output to subscribers, sends input to
 * the host, and lets callers wait for a line — the readiness mechanism for
 * boot milestones, with no sleeps.
 *
 * Input is bounded: the tty takes bytes as fast as the VUART drains them (a
 * FIFO-load at a time), far slower than a websocket client can type or paste,
 * so bytes waiting for the tty are capped at maxInputBytes; beyond, input is
 * dropped and counted (inputBytesDropped), as a real console server drops
 * what its client sends faster than the UART can go.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ConfigError } from '../../../lib/errors.js';
import { waitFor } from '../../../lib/wait.js';

export const DEFAULT_CONSOLE_LOG_BYTES = 1 << 20;
/** Bytes typed into the host that may wait for the tty (default of maxInputBytes). */
export const DEFAULT_CONSOLE_MAX_INPUT_BYTES = 1 << 20;

export interface ConsoleServiceStats {
  /** Host output seen since start. */
  fromHostBytes: number;
  /** Input accepted for the host. */
  toHostBytes: number;
  /** Input dropped because maxInputBytes were already waiting for the tty. */
  inputBytesDropped: number;
  /** Input waiting for the tty now. */
  inputQueuedBytes: number;
}

export class ConsoleService extends EventEmitter<{ data: [Buffer]; line: [string] }> {
  readonly #tty: Duplex;
  readonly #limit: number;
  readonly #maxInput: number;
  #toHost = 0;
  #inputDropped = 0;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #total = 0;
  #partial = '';

  constructor(tty: Duplex, opts: { logBytes?: number; maxInputBytes?: number } = {}) {
    super();
    this.#tty = tty;
    this.#limit = opts.logBytes ?? DEFAULT_CONSOLE_LOG_BYTES;
    this.#maxInput = opts.maxInputBytes ?? DEFAULT_CONSOLE_MAX_INPUT_BYTES;
    if (!Number.isSafeInteger(this.#maxInput) || this.#maxInput < 1) {
      throw new ConfigError(`console: maxInputBytes must be a positive integer, not ${opts.maxInputBytes}`);
    }
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

  /**
   * Send input to the host. False (and the input dropped, counted) when
   * maxInputBytes already wait for the tty, or the tty is closed.
   */
  write(data: Buffer | string): boolean {
    const n = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (this.#tty.destroyed || !this.#tty.writable || this.#tty.writableLength + n > this.#maxInput) {
      this.#inputDropped += n;
      return false;
    }
    this.#toHost += n;
    this.#tty.write(data);
    return true;
  }

  stats(): ConsoleServiceStats {
    return {
      fromHostBytes: this.#total,
      toHostBytes: this.#toHost,
      inputBytesDropped: this.#inputDropped,
      inputQueuedBytes: this.#tty.writableLength,
    };
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
