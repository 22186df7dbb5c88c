/**
 * One way to wait for something an emitter will say: `waitFor` resolves with
 * the arguments of the first `event` whose arguments satisfy `predicate`, and
 * rejects when the timeout (on the injectable clock) runs out, when `signal`
 * aborts, or when one of `failOn`'s events fires first. It always removes its
 * listeners and cancels its timer, whichever way it ends, so a wait never
 * leaks. Protocol code passes its Clock; tests advance a ManualClock instead
 * of sleeping.
 */
import type { EventEmitter } from 'node:events';
import { type Clock, systemClock } from './clock.js';
import { CodedError } from './errors.js';

export type WaitErrorCode = 'ERR_WAIT_TIMEOUT' | 'ERR_WAIT_ABORTED' | 'ERR_WAIT_FAILED';

export class WaitError extends CodedError<WaitErrorCode> {}

/** The structural part of an emitter waitFor needs (node's EventEmitter, or a typed one). */
export interface Listenable {
  on(event: string | symbol, listener: (...args: any[]) => void): unknown;
  off(event: string | symbol, listener: (...args: any[]) => void): unknown;
}

export interface WaitOptions {
  clock?: Clock;
  /** No timeout when undefined. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** What is being waited for, for the error messages ("endpoint 9 assigned"). */
  what?: string;
  /** Events that end the wait with an error (e.g. 'close'); the first argument becomes the cause. */
  failOn?: readonly string[];
}

export function waitFor<A extends unknown[] = unknown[]>(
  emitter: Listenable | EventEmitter,
  event: string,
  predicate: (...args: A) => boolean = () => true,
  options: WaitOptions = {},
): Promise<A> {
  const what = options.what ?? `"${event}"`;
  const target = emitter as Listenable;
  return new Promise<A>((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(new WaitError('ERR_WAIT_ABORTED', `stopped waiting for ${what}`, { cause: signal.reason }));
      return;
    }
    const failures: Array<[string, (...args: unknown[]) => void]> = [];
    let timer: { cancel(): void } | undefined;
    const cleanup = (): void => {
      target.off(event, onEvent);
      for (const [name, fn] of failures) target.off(name, fn);
      timer?.cancel();
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const onEvent = (...args: unknown[]): void => {
      let met: boolean;
      try {
        met = predicate(...(args as A));
      } catch (e) {
        fail(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (!met) return;
      cleanup();
      resolve(args as A);
    };
    const onAbort = (): void =>
      fail(new WaitError('ERR_WAIT_ABORTED', `stopped waiting for ${what}`, { cause: signal?.reason }));
    target.on(event, onEvent);
    for (const name of options.failOn ?? []) {
      const fn = (...args: unknown[]): void =>
        fail(new WaitError('ERR_WAIT_FAILED', `"${name}" while waiting for ${what}`, { cause: args[0] }));
      failures.push([name, fn]);
      target.on(name, fn);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      const ms = options.timeoutMs;
      timer = (options.clock ?? systemClock).setTimeout(
        () => fail(new WaitError('ERR_WAIT_TIMEOUT', `timed out after ${ms} ms waiting for ${what}`, { details: { timeoutMs: ms } })),
        ms,
      );
    }
  });
}

/**
 * Wait until `check()` holds, re-checking on each `event`: for state that may
 * already be true (then it resolves at once) or become true later.
 */
export async function waitUntil(
  emitter: Listenable | EventEmitter,
  event: string,
  check: () => boolean,
  options: WaitOptions = {},
): Promise<void> {
  if (check()) return;
  await waitFor(emitter, event, () => check(), options);
}

/** A promise that resolves after `ms` on `clock` (or rejects on abort): for pacing, never for protocol timeouts in tests. */
export function delay(ms: number, options: { clock?: Clock; signal?: AbortSignal } = {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(new WaitError('ERR_WAIT_ABORTED', 'delay aborted', { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(new WaitError('ERR_WAIT_ABORTED', 'delay aborted', { cause: signal?.reason }));
    };
    const timer = (options.clock ?? systemClock).setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
