/**
 * A rolling log of a guest console byte stream, split into lines, that
 * callers can wait on: "wait until the guest prints X" replaces sleeps.
 *
 * - Bytes are kept raw (a bounded ring of recent bytes, for the API and for
 *   error reports) and as lines (a bounded list, each with a sequence
 *   number). CR, CRLF and LF all end a line; ANSI escapes are left alone.
 * - Sequence numbers never restart, so `mark()` taken before an action
 *   (power on, reset) and passed as `after` to waitForLine() matches only
 *   lines printed after that action, even if the same line appeared before.
 * - A partial line (a shell prompt) is visible as `partial` and is matched
 *   by waitForLine() with `partial: true`.
 * - Waiting never blocks the producer: feed() is O(bytes) and never throws.
 * - A wait that runs out of time rejects with QemuError ERR_CONSOLE_TIMEOUT
 *   (the last lines in its message and details); abortWaiters() rejects
 *   every wait with ERR_CONSOLE_ABORTED.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../lib/clock.js';
import { ConfigError, isCodedError } from '../lib/errors.js';
import { waitFor } from '../lib/wait.js';
import { QemuError } from './errors.js';

export interface ConsoleLine {
  seq: number;
  text: string;
  /** Clock time when the line was completed. */
  at: number;
}

export interface ConsoleLogOptions {
  /** Lines kept (default 5000). */
  maxLines?: number;
  /** Raw bytes kept (default 1 MiB). */
  maxBytes?: number;
  /** Longest line; longer ones are split (default 64 KiB). */
  maxLineLength?: number;
  clock?: Clock;
}

export type LinePattern = string | RegExp;

export interface LineWaitOptions {
  /** Default 60 s. 0 = no timeout. */
  timeoutMs?: number;
  /** Only lines with seq > after count (from mark()). Default: lines still to come. */
  after?: number;
  /** Also match the current unterminated line (prompts). */
  partial?: boolean;
}

/** A string pattern matches a line equal to it or starting with it followed by a space or ':'. */
export function lineMatcher(p: LinePattern): (text: string) => boolean {
  if (typeof p !== 'string') return (t) => p.test(t);
  return (t) => t === p || t.startsWith(`${p} `) || t.startsWith(`${p}:`);
}

/** Events: 'line' (ConsoleLine), 'data' (Buffer). */
export class ConsoleLog extends EventEmitter {
  readonly #clock: Clock;
  readonly #maxLines: number;
  readonly #maxBytes: number;
  readonly #maxLineLength: number;
  #lines: ConsoleLine[] = [];
  #seq = 0;
  #partial = '';
  #lastWasCR = false;
  #raw: Buffer[] = [];
  #rawBytes = 0;
  #totalBytes = 0;
  /**
   * Where waits listen: 'text' (ConsoleLine, complete: boolean) for every
   * line and every change of the partial line, 'abort' (reason) from
   * abortWaiters(). Apart from the public events, so any number of waits
   * can listen without tripping the listener-leak warning.
   */
  readonly #waits = new EventEmitter().setMaxListeners(0);
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });

  constructor(opts: ConsoleLogOptions = {}) {
    super();
    for (const key of ['maxLines', 'maxBytes', 'maxLineLength'] as const) {
      const v = opts[key];
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new ConfigError(`console log ${key} must be a positive integer, not ${v}`);
    }
    this.#clock = opts.clock ?? systemClock;
    this.#maxLines = opts.maxLines ?? 5000;
    this.#maxBytes = opts.maxBytes ?? 1 << 20;
    this.#maxLineLength = opts.maxLineLength ?? 64 << 10;
  }

  /** Bytes from the guest. */
  feed(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const buf = Buffer.from(chunk);
    this.#totalBytes += buf.length;
    this.#raw.push(buf);
    this.#rawBytes += buf.length;
    while (this.#rawBytes - this.#raw[0]!.length >= this.#maxBytes) this.#rawBytes -= this.#raw.shift()!.length;
    const text = this.#decoder.decode(buf, { stream: true });
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 /* \n */) {
        this.#partial += text.slice(start, i);
        start = i + 1;
        if (this.#lastWasCR) {
          // LF after CR: the line already ended at the CR.
          this.#lastWasCR = false;
          this.#partial = '';
          continue;
        }
        this.#endLine();
      } else if (c === 13 /* \r */) {
        this.#partial += text.slice(start, i);
        start = i + 1;
        this.#endLine();
        this.#lastWasCR = true;
      } else if (this.#lastWasCR) {
        this.#lastWasCR = false;
      }
    }
    this.#partial += text.slice(start);
    while (this.#partial.length > this.#maxLineLength) {
      const head = this.#partial.slice(0, this.#maxLineLength);
      this.#partial = this.#partial.slice(this.#maxLineLength);
      this.#pushLine(head);
    }
    this.emit('data', buf);
    if (this.#partial && this.#waits.listenerCount('text') > 0) this.#waits.emit('text', this.#partialLine(), false);
  }

  #endLine(): void {
    const line = this.#partial;
    this.#partial = '';
    this.#pushLine(line);
  }

  #pushLine(text: string): void {
    const line: ConsoleLine = { seq: ++this.#seq, text, at: this.#clock.now() };
    this.#lines.push(line);
    if (this.#lines.length > this.#maxLines) this.#lines.splice(0, this.#lines.length - this.#maxLines);
    this.emit('line', line);
    this.#waits.emit('text', line, true);
  }

  /** The partial line as a ConsoleLine: the seq it will have once it ends. */
  #partialLine(): ConsoleLine {
    return { seq: this.#seq + 1, text: this.#partial, at: this.#clock.now() };
  }

  /**
   * End the current partial line, if any (at a boot boundary: a prompt the
   * old boot left must not be glued to the new boot's first line).
   */
  breakLine(): void {
    if (this.#partial) this.#endLine();
    this.#lastWasCR = false;
  }

  /** The sequence number of the last complete line (pass as `after` to see only newer lines). */
  mark(): number {
    return this.#seq;
  }

  /** The unterminated tail (e.g. a prompt). */
  get partial(): string {
    return this.#partial;
  }

  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** Kept lines, optionally only those after a mark. */
  lines(after = 0): ConsoleLine[] {
    return this.#lines.filter((l) => l.seq > after);
  }

  /** The last n lines' text (plus the partial line, if any). */
  tail(n = 20): string[] {
    const out = this.#lines.slice(-n).map((l) => l.text);
    if (this.#partial) out.push(this.#partial);
    return out.slice(-n);
  }

  /** The raw bytes kept (up to maxBytes, most recent). */
  raw(): Buffer {
    return Buffer.concat(this.#raw);
  }

  /**
   * Resolve with the first line matching `pattern` that is newer than
   * `after` (default: the current mark, i.e. only future lines). A kept
   * line already newer than `after` matches at once.
   */
  async waitForLine(pattern: LinePattern, opts: LineWaitOptions = {}): Promise<ConsoleLine> {
    const matches = lineMatcher(pattern);
    const after = opts.after ?? this.#seq;
    const partial = opts.partial ?? false;
    const describe = typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern);
    const existing = this.#lines.find((l) => l.seq > after && matches(l.text));
    if (existing) return existing;
    if (partial && this.#partial && matches(this.#partial)) return this.#partialLine();
    const timeoutMs = opts.timeoutMs ?? 60_000;
    try {
      const [line] = await waitFor<[ConsoleLine, boolean]>(
        this.#waits,
        'text',
        (l, complete) => (complete ? l.seq > after : partial) && matches(l.text),
        { clock: this.#clock, ...(timeoutMs > 0 ? { timeoutMs } : {}), failOn: ['abort'], what: `a console line matching ${describe}` },
      );
      return line;
    } catch (e) {
      if (isCodedError(e, 'ERR_WAIT_TIMEOUT')) {
        const tail = this.tail(15);
        throw new QemuError(
          'ERR_CONSOLE_TIMEOUT',
          `console: no line matching ${describe} within ${timeoutMs} ms; last lines:\n` +
            (tail.length ? tail.map((l) => `  | ${l}`).join('\n') : '  (nothing printed)'),
          { details: { pattern: describe, timeoutMs, tail } },
        );
      }
      if (isCodedError(e, 'ERR_WAIT_FAILED')) {
        const reason = String((e as Error).cause);
        throw new QemuError('ERR_CONSOLE_ABORTED', `console: stopped waiting for ${describe}: ${reason}`, {
          details: { pattern: describe, reason },
        });
      }
      throw e;
    }
  }

  /** Reject every pending wait (the guest went away: power off, crash). */
  abortWaiters(reason: string): void {
    this.#waits.emit('abort', reason);
  }

  /** Waits pending. */
  get waiting(): number {
    return this.#waits.listenerCount('text');
  }
}
