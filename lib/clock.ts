/**
 * Injectable time for protocol timers (tag expiry, reassembly timeout,
 * retries). Production code uses systemClock; tests use ManualClock and call
 * advance(), so no test ever sleeps for a protocol timeout.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Run fn once after ms milliseconds of this clock's time. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    // Protocol timers never keep the process alive on their own.
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * systemClock, except that a timer of 0 ms runs on the next event-loop turn
 * (setImmediate) instead of after Node's 1 ms timer floor. For device models,
 * whose "later" means "once the current register access has returned", not a
 * wall-clock delay: a UART that drains its TX FIFO on a 0 ms timer would be
 * paced at one FIFO-load per millisecond on systemClock. Longer timers are
 * systemClock's (unreferenced); a pending 0 ms timer does hold the process for
 * that one turn, so a drain in progress completes.
 */
export const immediateClock: Clock = {
  now: () => systemClock.now(),
  setTimeout(fn, ms) {
    if (ms > 0) return systemClock.setTimeout(fn, ms);
    const handle = setImmediate(fn);
    return { cancel: () => clearImmediate(handle) };
  },
};

/**
 * System time whose timers keep the process alive: for a command whose wait
 * is all it is doing (retrying a starting instance, waiting for another
 * process's lock), where systemClock's unref'd timer would let Node exit
 * in the middle of the wait.
 */
export const processClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to. Timers fire in (time, creation) order. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: PendingTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: PendingTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Number of timers still pending (for leak checks in tests). */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Move time forward by ms, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      let next: PendingTimer | undefined;
      for (const t of this.#timers) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.#now = next.at;
      next.cancelled = true;
      next.fn();
    }
    this.#now = target;
  }
}
