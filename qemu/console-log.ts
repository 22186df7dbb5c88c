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
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.js';

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

export class ConsoleTimeoutError extends Error {
  constructor(
    readonly pattern: string,
    readonly timeoutMs: number,
    readonly tail: string[],
  ) {
    super(
      `console: no line matching ${pattern} within ${timeoutMs} ms; last lines:\n` +
        (tail.length ? tail.map((l) => `  | ${l}`).join('\n') : '  (nothing printed)'),
    );
    this.name = 'ConsoleTimeoutError';
  }
}

export class ConsoleAbortedError extends Error {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`console: stopped waiting for ${pattern}: ${reason}`);
    this.name = 'ConsoleAbortedError';
  }
}

export type LinePattern = string | RegExp;

export interface WaitOptions {
  /** Default 60 s. 0 = no timeout. */
  timeoutMs?: number;
  /** Only lines with seq > after count (from mark()). Default: lines still to come. */
  after?: number;
  /** Also match the current unterminated line (prompts). */
  partial?: boolean;
}

interface Waiter {
  matches: (text: string) => boolean;
  after: number;
  partial: boolean;
  resolve: (l: ConsoleLine) => void;
  reject: (e: Error) => void;
  timer: TimerHandle | undefined;
  describe: string;
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
  #waiters = new Set<Waiter>();
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });

  constructor(opts: ConsoleLogOptions = {}) {
    super();
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
    if (this.#partial) this.#checkPartial();
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
    for (const w of this.#waiters) {
      if (line.seq > w.after && w.matches(text)) this.#settle(w, line);
    }
  }

  #checkPartial(): void {
    for (const w of this.#waiters) {
      if (w.partial && w.matches(this.#partial)) this.#settle(w, { seq: this.#seq + 1, text: this.#partial, at: this.#clock.now() });
    }
  }

  #settle(w: Waiter, line: ConsoleLine): void {
    this.#waiters.delete(w);
    w.timer?.cancel();
    w.resolve(line);
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
  waitForLine(pattern: LinePattern, opts: WaitOptions = {}): Promise<ConsoleLine> {
    const matches = lineMatcher(pattern);
    const after = opts.after ?? this.#seq;
    const describe = typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern);
    const existing = this.#lines.find((l) => l.seq > after && matches(l.text));
    if (existing) return Promise.resolve(existing);
    if (opts.partial && this.#partial && matches(this.#partial)) {
      return Promise.resolve({ seq: this.#seq + 1, text: this.#partial, at: this.#clock.now() });
    }
    return new Promise<ConsoleLine>((resolve, reject) => {
      const w: Waiter = { matches, after, partial: opts.partial ?? false, resolve, reject, timer: undefined, describe };
      const timeoutMs = opts.timeoutMs ?? 60_000;
      if (timeoutMs > 0) {
        w.timer = this.#clock.setTimeout(() => {
          this.#waiters.delete(w);
          reject(new ConsoleTimeoutError(describe, timeoutMs, this.tail(15)));
        }, timeoutMs);
      }
      this.#waiters.add(w);
    });
  }

  /** Reject every pending wait (the guest went away: power off, crash). */
  abortWaiters(reason: string): void {
    for (const w of [...this.#waiters]) {
      this.#waiters.delete(w);
      w.timer?.cancel();
      w.reject(new ConsoleAbortedError(w.describe, reason));
    }
  }

  get waiting(): number {
    return this.#waiters.size;
  }
}
