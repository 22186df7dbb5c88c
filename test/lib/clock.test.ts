import t from 'tap';
import { processClock } from '../../lib/clock.js';

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
