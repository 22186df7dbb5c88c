import { EventEmitter } from 'node:events';
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { WaitError, delay, waitFor, waitUntil } from '../../lib/wait.js';

t.test('resolves with the arguments of the first event that satisfies the predicate', async (t) => {
  const e = new EventEmitter();
  const p = waitFor<[number, string]>(e, 'x', (n) => n > 1);
  e.emit('x', 1, 'a');
  e.emit('x', 2, 'b');
  e.emit('x', 3, 'c');
  t.same(await p, [2, 'b']);
  t.equal(e.listenerCount('x'), 0, 'listener removed');
});

t.test('times out on the injected clock, without sleeping, and cleans up', async (t) => {
  const e = new EventEmitter();
  const clock = new ManualClock();
  const p = waitFor(e, 'x', () => true, { clock, timeoutMs: 100, what: 'endpoint 9' });
  clock.advance(99);
  t.equal(e.listenerCount('x'), 1, 'still waiting at 99 ms');
  clock.advance(1);
  const err = await p.catch((x: unknown) => x);
  t.ok(err instanceof WaitError);
  t.equal((err as WaitError).code, 'ERR_WAIT_TIMEOUT');
  t.match((err as WaitError).message, /100 ms waiting for endpoint 9/);
  t.equal(e.listenerCount('x'), 0);
  t.equal(clock.pending, 0);
});

t.test('an abort signal ends the wait; an already-aborted one at once', async (t) => {
  const e = new EventEmitter();
  const ac = new AbortController();
  const p = waitFor(e, 'x', () => true, { signal: ac.signal });
  ac.abort();
  t.equal(((await p.catch((x: unknown) => x)) as WaitError).code, 'ERR_WAIT_ABORTED');
  t.equal(e.listenerCount('x'), 0);
  const p2 = waitFor(e, 'x', () => true, { signal: ac.signal });
  t.equal(((await p2.catch((x: unknown) => x)) as WaitError).code, 'ERR_WAIT_ABORTED');
});

t.test('failOn events reject with the cause; a throwing predicate rejects', async (t) => {
  const e = new EventEmitter();
  const p = waitFor(e, 'x', () => true, { failOn: ['close'] });
  const cause = new Error('gone');
  e.emit('close', cause);
  const err = (await p.catch((x: unknown) => x)) as WaitError;
  t.equal(err.code, 'ERR_WAIT_FAILED');
  t.equal(err.cause, cause);
  t.equal(e.listenerCount('close'), 0);
  const p2 = waitFor(e, 'x', () => {
    throw new Error('bad predicate');
  });
  e.emit('x');
  t.match(((await p2.catch((x: unknown) => x)) as Error).message, /bad predicate/);
  t.equal(e.listenerCount('x'), 0);
});

t.test('waitUntil returns at once when the state already holds, else on the event', async (t) => {
  const e = new EventEmitter();
  let up = true;
  await waitUntil(e, 'change', () => up);
  up = false;
  const p = waitUntil(e, 'change', () => up);
  e.emit('change');
  up = true;
  e.emit('change');
  await p;
  t.equal(e.listenerCount('change'), 0);
});

t.test('delay runs on the clock and can be aborted', async (t) => {
  const clock = new ManualClock();
  let done = false;
  const p = delay(50, { clock }).then(() => (done = true));
  clock.advance(49);
  await Promise.resolve();
  t.notOk(done);
  clock.advance(1);
  await p;
  t.ok(done);
  const ac = new AbortController();
  const p2 = delay(50, { clock, signal: ac.signal });
  ac.abort();
  t.equal(((await p2.catch((x: unknown) => x)) as WaitError).code, 'ERR_WAIT_ABORTED');
  t.equal(clock.pending, 0);
});
