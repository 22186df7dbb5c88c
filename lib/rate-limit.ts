/**
 * Rate-limited logging: a token bucket per key on the injectable Clock. Each
 * key may print `burst` lines at once and regains `burst` lines per
 * `intervalMs` (one every intervalMs/burst); lines beyond that are counted,
 * not printed, and one summary line per interval says how many were dropped
 * and what the last of them said.
 *
 * Why: a daemon that logs one line per event the host causes (an astlpc
 * state change, a console milestone, a peer dropped for not reading) lets a
 * hostile or broken host fill the log and the disk. With the limiter a key
 * prints at most burst + 1 lines per interval, whatever the host does, and
 * an operator still learns that something kept happening.
 */
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { ConfigError } from './errors.js';

export interface LogRateLimitOptions {
  /** Lines a key may print back to back (the bucket's size). */
  burst: number;
  /** Time for an empty bucket to refill completely; also the summary period. */
  intervalMs: number;
  clock?: Clock;
  /**
   * Keys tracked at once (default 64). Lines for a new key beyond this share
   * one bucket, OTHER_KEY, so keys made from input cannot grow memory.
   */
  maxKeys?: number;
}

/** The bucket that lines of keys beyond maxKeys share. */
export const OTHER_KEY = '(other)';

export interface LogRateLimitStats {
  printed: number;
  suppressed: number;
  summaries: number;
}

interface Bucket {
  /** The key it counts for (OTHER_KEY for keys beyond maxKeys). */
  key: string;
  tokens: number;
  /** Clock time the tokens were last brought up to date. */
  at: number;
  /** Lines dropped since the last summary, and the last of them. */
  suppressed: number;
  lastSuppressed: string;
  /** Pending summary, while lines are being dropped. */
  timer: TimerHandle | null;
}

export class LogRateLimiter {
  readonly #sink: (line: string) => void;
  readonly #burst: number;
  readonly #intervalMs: number;
  readonly #clock: Clock;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #stats: LogRateLimitStats = { printed: 0, suppressed: 0, summaries: 0 };

  constructor(sink: (line: string) => void, opts: LogRateLimitOptions) {
    if (!Number.isInteger(opts.burst) || opts.burst < 1) throw new ConfigError(`log rate limit: burst must be an integer >= 1, not ${opts.burst}`);
    if (!(Number.isFinite(opts.intervalMs) && opts.intervalMs > 0)) {
      throw new ConfigError(`log rate limit: intervalMs must be a number > 0, not ${opts.intervalMs}`);
    }
    const maxKeys = opts.maxKeys ?? 64;
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new ConfigError(`log rate limit: maxKeys must be an integer >= 1, not ${maxKeys}`);
    this.#sink = sink;
    this.#burst = opts.burst;
    this.#intervalMs = opts.intervalMs;
    this.#clock = opts.clock ?? systemClock;
    this.#maxKeys = maxKeys;
  }

  /** Print `line` unless `key` is over its rate. True if it was printed. */
  log(key: string, line: string): boolean {
    const b = this.#bucket(key);
    const now = this.#clock.now();
    b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) * this.#burst) / this.#intervalMs);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.#stats.printed++;
      this.#sink(line);
      return true;
    }
    b.suppressed++;
    b.lastSuppressed = line;
    this.#stats.suppressed++;
    // The summary comes one interval after the first dropped line, so a key
    // prints at most burst lines plus one summary per interval.
    b.timer ??= this.#clock.setTimeout(() => {
      b.timer = null;
      this.#summarise(b);
    }, this.#intervalMs);
    return false;
  }

  stats(): LogRateLimitStats {
    return { ...this.#stats };
  }

  /** Print the pending summaries now (at shutdown, say) and cancel their timers. */
  flush(): void {
    for (const b of this.#buckets.values()) {
      b.timer?.cancel();
      b.timer = null;
      this.#summarise(b);
    }
  }

  #summarise(b: Bucket): void {
    if (b.suppressed === 0) return;
    const n = b.suppressed;
    b.suppressed = 0;
    this.#stats.summaries++;
    this.#sink(`${b.key}: suppressed ${n} line${n === 1 ? '' : 's'} (over ${this.#burst} per ${this.#intervalMs / 1000} s); last: ${b.lastSuppressed}`);
    b.lastSuppressed = '';
  }

  #bucket(key: string): Bucket {
    let b = this.#buckets.get(key);
    if (b) return b;
    if (key !== OTHER_KEY && this.#full()) {
      this.#forgetIdle();
      if (this.#full()) {
        key = OTHER_KEY;
        b = this.#buckets.get(key);
        if (b) return b;
      }
    }
    b = { key, tokens: this.#burst, at: this.#clock.now(), suppressed: 0, lastSuppressed: '', timer: null };
    this.#buckets.set(key, b);
    return b;
  }

  /** maxKeys buckets exist (the shared OTHER_KEY bucket is not counted: it is always allowed). */
  #full(): boolean {
    return this.#buckets.size - (this.#buckets.has(OTHER_KEY) ? 1 : 0) >= this.#maxKeys;
  }

  /** Drop buckets that are full again and owe no summary: forgetting them changes nothing. */
  #forgetIdle(): void {
    const now = this.#clock.now();
    for (const [key, b] of this.#buckets) {
      const tokens = b.tokens + ((now - b.at) * this.#burst) / this.#intervalMs;
      if (tokens >= this.#burst && b.suppressed === 0 && b.timer === null) this.#buckets.delete(key);
    }
  }
}
