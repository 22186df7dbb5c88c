import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { Chassis, chassisCommands, type ChassisOptions } from '../../../../firmware/ipmi/commands/chassis.js';
import { FakeHost, call } from '../helpers.js';

function setup(over: Partial<ChassisOptions> = {}) {
  const clock = new ManualClock();
  const host = new FakeHost();
  const deferred: Array<() => void> = [];
  const controls: number[] = [];
  const lines: string[] = [];
  const chassis = new Chassis(clock);
  const cmds = chassisCommands(
    { host, clock, defer: (fn) => deferred.push(fn), onChassisControl: (a) => controls.push(a), log: (l) => lines.push(l), ...over },
    chassis,
  );
  const run = async (cmd: number, data: number[] = []): Promise<number[]> => {
    const r = await call(cmds, 0, cmd, data);
    return [r.cc, ...r.data];
  };
  const flush = (): void => {
    while (deferred.length) deferred.shift()!();
  };
  return { clock, host, run, flush, controls, chassis, lines };
}

t.test('Get Chassis Capabilities: no optional features; FRU, SDR, SEL and SM at the BMC (0x20)', async (t) => {
  const { run } = setup();
  t.same(await run(0x00), [0, 0x00, 0x20, 0x20, 0x20, 0x20]);
  t.same(await run(0x00, [1]), [0xc7]);
});

t.test('Get Chassis Status follows the host\'s power state', async (t) => {
  const { run, host } = setup();
  t.same(await run(0x01), [0, 0x61, 0x00, 0x40], 'on, restore policy unknown, identify off');
  host.power = 'off';
  t.same(await run(0x01), [0, 0x60, 0x00, 0x40]);
  const always = setup({ powerRestorePolicy: 'always-on' });
  t.same((await always.run(0x01))[1], 0x41);
  const off = setup({ powerRestorePolicy: 'always-off' });
  t.same((await off.run(0x01))[1], 0x01);
});

t.test('Chassis Control: cc 0 at once, the action after the reply', async (t) => {
  const { run, host, flush, controls } = setup();
  const expected = ['powerOff', 'powerOn', 'powerCycle', 'hardReset', 'diagnosticInterrupt', 'softShutdown'];
  for (let action = 0; action <= 5; action++) {
    host.power = 'on';
    t.same(await run(0x02, [action]), [0], `action ${action}`);
    t.equal(host.calls.length, action, 'not yet');
    flush();
    t.equal(host.calls[action], expected[action]);
  }
  t.same(controls, [0, 1, 2, 3, 4, 5], 'boot options hear of each');
});

t.test('Chassis Control refusals: unknown action CC, bad length C7, power cycle while off D5', async (t) => {
  const { run, host, flush, controls } = setup();
  t.same(await run(0x02, [6]), [0xcc]);
  t.same(await run(0x02, [0x0f]), [0xcc]);
  t.same(await run(0x02, []), [0xc7]);
  t.same(await run(0x02, [0, 0]), [0xc7]);
  host.power = 'off';
  t.same(await run(0x02, [2]), [0xd5]);
  flush();
  t.same(host.calls, []);
  t.same(controls, []);
  t.same(await run(0x02, [0]), [0], 'power down while off is still fine (skiboot must get 0)');
});

t.test('power up by Chassis Control shows as the last power event', async (t) => {
  const { run, host, flush } = setup();
  host.power = 'off';
  await run(0x02, [1]);
  flush();
  t.same(await run(0x01), [0, 0x61, 0x10, 0x40]);
});

t.test('a failing action never changes the answer: counted and logged', async (t) => {
  const { run, host, flush, chassis, lines } = setup();
  host.failWith = new Error('no qemu');
  t.same(await run(0x02, [3]), [0]);
  t.doesNotThrow(flush);
  t.equal(chassis.actionErrors, 1);
  t.match(lines[0], /hardReset failed: no qemu/);
  const async = setup({
    host: Object.assign(new FakeHost(), { hardReset: () => Promise.reject(new Error('later')) }),
  });
  t.same(await async.run(0x02, [3]), [0]);
  async.flush();
  await new Promise((r) => setImmediate(r));
  t.equal(async.chassis.actionErrors, 1);
});

t.test('Chassis Identify: 15 s by default, interval, off, forced on', async (t) => {
  const { run, clock } = setup();
  t.same(await run(0x04), [0]);
  t.same((await run(0x01))[3], 0x50, 'temporary');
  clock.advance(14_999);
  t.same((await run(0x01))[3], 0x50);
  clock.advance(1);
  t.same((await run(0x01))[3], 0x40, 'off after 15 s');
  await run(0x04, [5]);
  await run(0x04, [0]);
  t.same((await run(0x01))[3], 0x40, '0 = off now');
  await run(0x04, [0, 1]);
  t.same((await run(0x01))[3], 0x60, 'forced: indefinite');
  clock.advance(100_000);
  t.same((await run(0x01))[3], 0x60);
  await run(0x04, [3, 0]);
  clock.advance(3000);
  t.same((await run(0x01))[3], 0x40);
  t.same(await run(0x04, [1, 2, 3]), [0xc7]);
  t.equal(clock.pending, 0);
});
