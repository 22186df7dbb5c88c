import t from 'tap';
import { ManualClock, immediateClock, processClock } from '../../lib/clock.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('immediateClock: a 0 ms timer runs on the next turn, not synchronously', async (t) => {
  const order: string[] = [];
  immediateClock.setTimeout(() => order.push('a'), 0);
  immediateClock.setTimeout(() => order.push('b'), -5); // negative delays are "now" too
  t.same(order, [], 'not run inside setTimeout()');
  await nextTurn();
  t.same(order, ['a', 'b'], 'both ran, in order, within one turn');
});

t.test('immediateClock: cancel before the turn keeps it from running', async (t) => {
  let ran = false;
  const h = immediateClock.setTimeout(() => {
    ran = true;
  }, 0);
  h.cancel();
  await nextTurn();
  await nextTurn();
  t.equal(ran, false);
  h.cancel(); // idempotent
});

t.test('immediateClock: longer timers wait real time; now() is monotonic', async (t) => {
  // Longer timers are unreferenced, as systemClock's: something else must keep the process up.
  const keepAlive = setTimeout(() => {}, 1000);
  t.teardown(() => clearTimeout(keepAlive));
  const start = immediateClock.now();
  await new Promise<void>((resolve) => immediateClock.setTimeout(resolve, 5));
  const end = immediateClock.now();
  t.ok(end - start >= 4, `waited ${end - start} ms`);
  let ran = false;
  immediateClock.setTimeout(() => (ran = true), 5).cancel();
  await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(ran, false, 'a cancelled longer timer never runs');
});

t.test('ManualClock: timers fire in (time, creation) order, only when advanced', async (t) => {
  const clock = new ManualClock(100);
  const seen: string[] = [];
  clock.setTimeout(() => seen.push('late'), 10);
  clock.setTimeout(() => seen.push('first'), 0);
  clock.setTimeout(() => seen.push('second'), 0);
  const cancelled = clock.setTimeout(() => seen.push('never'), 5);
  cancelled.cancel();
  t.equal(clock.pending, 3);
  clock.advance(0);
  t.same(seen, ['first', 'second']);
  t.equal(clock.now(), 100);
  clock.advance(20);
  t.same(seen, ['first', 'second', 'late']);
  t.equal(clock.now(), 120);
  t.equal(clock.pending, 0);
});


t.test('processClock: system time, timers that fire and cancel', async (t) => {
  const before = processClock.now();
  await new Promise<void>((resolve) => processClock.setTimeout(resolve, 5));
  t.ok(processClock.now() - before >= 4, 'time moved on');
  let fired = false;
  processClock.setTimeout(() => (fired = true), 1).cancel();
  await new Promise<void>((resolve) => processClock.setTimeout(resolve, 10));
  t.notOk(fired, 'a cancelled timer never fires');
});

t.test('processClock timers keep the process alive (systemClock ones do not)', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const url = new URL('../../lib/clock.ts', import.meta.url).href;
  const run = (which: string): string =>
    spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', `const c = await import(${JSON.stringify(url)}); c.${which}.setTimeout(() => console.log('fired'), 20);`], {
      encoding: 'utf8',
    }).stdout.trim();
  t.equal(run('processClock'), 'fired');
  t.equal(run('systemClock'), '');
});
