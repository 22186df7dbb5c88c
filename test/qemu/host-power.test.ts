/**
 * HostPower's state machine, process handling and console, against a fake
 * QEMU (test/qemu/helpers/fake-qemu.mjs) that speaks QMP and "boots" in
 * milliseconds. The real QEMU is exercised in boot.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { isQemuError } from '../../qemu/errors.js';
import { HostPower, type HostBoot, type HostEvent, type HostStateChange } from '../../qemu/host-power.js';
import { x86HostMachine } from '../../qemu/machines.js';
import { QMP_SOCKET } from '../../transport/runtime-files.js';
import { fakeMachine, pidAlive, shortTempDir } from './helpers/util.js';

function track(power: HostPower): { states: string[]; events: HostEvent[] } {
  const states: string[] = [];
  const events: HostEvent[] = [];
  power.on('state', (c: HostStateChange) => states.push(c.to));
  power.on('host-event', (e: HostEvent) => events.push(e));
  return { states, events };
}

t.test('power on, reset, hard off: states, boots and console', async (t) => {
  const dir = shortTempDir(t);
  const power = new HostPower({ machine: () => fakeMachine(dir) });
  t.teardown(() => power.close());
  const { states, events } = track(power);
  const logs: string[] = [];
  power.on('log', (l: string) => logs.push(l));

  t.equal(power.state, 'off');
  await power.powerOn();
  t.equal(power.state, 'running');
  t.ok(power.pid && pidAlive(power.pid), 'QEMU runs');
  t.same(states, ['starting', 'running']);
  t.equal(power.boots, 1);
  const l1 = await power.waitForConsoleLine('fake-guest: ready', { timeoutMs: 5000 });
  t.match(l1.text, 'fake-guest: ready');
  t.ok(power.console.lines().some((l) => l.text === 'fake-guest: boot 1'), 'console started before cont: first line kept');
  t.ok(logs.some((l) => l.startsWith('host: command: ')), 'the command line is logged');

  await power.powerOn(); // already on: no-op
  t.equal(power.boots, 1);

  await power.reset();
  t.equal(power.boots, 2, 'reset starts a new boot');
  t.ok(events.some((e) => e.type === 'reset'));
  const l2 = await power.waitForConsoleLine('fake-guest: ready', { timeoutMs: 5000 });
  t.ok(l2.seq > l1.seq, 'waits since boot see only the new boot');
  t.ok(power.console.lines(power.bootMark).some((l) => l.text === 'fake-guest: boot 2'));

  const pid = power.pid!;
  await power.hardOff();
  t.equal(power.state, 'off');
  t.notOk(pidAlive(pid), 'QEMU is gone');
  t.same(states, ['starting', 'running', 'stopping', 'off']);
  t.match(power.snapshot().lastExit, { code: 0, expected: true });
  t.notOk(fs.existsSync(path.join(dir, QMP_SOCKET)), 'no QMP socket left');
  const types = events.map((e) => e.type);
  t.same(types.filter((x) => x !== 'resume'), ['reset', 'shutdown', 'exit'], 'host events in order');
});

t.test('soft off: the guest powers off, or hard off after the timeout', async (t) => {
  const dir = shortTempDir(t);
  const power = new HostPower({ machine: () => fakeMachine(dir) });
  t.teardown(() => power.close());
  const { events } = track(power);
  await power.powerOn();
  t.equal(await power.softOff({ timeoutMs: 5000 }), 'soft');
  t.equal(power.state, 'off');
  t.ok(events.some((e) => e.type === 'powerdown'));
  t.match(events.find((e) => e.type === 'shutdown')?.data, { guest: true, reason: 'guest-shutdown' });
  t.equal(await power.softOff(), 'already-off');

  process.env.FAKE_QEMU_IGNORE_POWERDOWN = '1';
  t.teardown(() => delete process.env.FAKE_QEMU_IGNORE_POWERDOWN);
  await power.powerOn();
  t.equal(await power.softOff({ timeoutMs: 300 }), 'hard', 'a guest that ignores the button is switched off hard');
  t.equal(power.state, 'off');
});

t.test('kill -9 of QEMU is a crash; power on works again', async (t) => {
  const dir = shortTempDir(t);
  const power = new HostPower({ machine: () => fakeMachine(dir) });
  t.teardown(() => power.close());
  await power.powerOn();
  const waiting = power.waitForConsoleLine('never printed', { timeoutMs: 0 });
  process.kill(power.pid!, 'SIGKILL');
  await power.waitForState('crashed', 5000);
  t.match(power.snapshot(), { state: 'crashed', lastExit: { signal: 'SIGKILL', expected: false } });
  t.match(power.snapshot().lastError, /unexpectedly.*SIGKILL/);
  await t.rejects(waiting, { code: 'ERR_CONSOLE_ABORTED', message: /host crashed/ }, 'waiters are released when the host dies');
  t.ok(fs.existsSync(path.join(dir, QMP_SOCKET)), 'the killed QEMU left its QMP socket behind');

  await power.powerOn();
  t.equal(power.state, 'running', 'powered on again after the crash (stale socket replaced)');
  await power.waitForConsoleLine('fake-guest: ready', { timeoutMs: 5000 });
  await power.hardOff();
  t.equal(power.state, 'off');
});

t.test('a QEMU that fails to start: off, with its error', async (t) => {
  const dir = shortTempDir(t);
  const power = new HostPower({ machine: () => fakeMachine(dir) });
  t.teardown(() => power.close());
  process.env.FAKE_QEMU_FAIL_START = '1';
  t.teardown(() => delete process.env.FAKE_QEMU_FAIL_START);
  const err = await power.powerOn().catch((e: unknown) => e);
  t.match(err, { name: 'QemuError', code: 'ERR_HOST_START_FAILED', message: /^powering on the host failed: QEMU exited during start-up[\s\S]*fake start failure/ });
  t.ok(isQemuError((err as Error).cause, 'ERR_QEMU_EXITED'), 'the cause is kept');
  t.equal(power.state, 'off');
  t.match(power.snapshot().lastError, /exited during start-up/);
  delete process.env.FAKE_QEMU_FAIL_START;
  await power.powerOn();
  t.equal(power.state, 'running');
});

t.test('a missing QEMU binary says how to install it', async (t) => {
  const dir = shortTempDir(t);
  const power = new HostPower({
    machine: () =>
      x86HostMachine({
        runtimeDir: dir,
        image: { kernel: '/k', initrd: '/i' },
        accel: 'tcg',
        binary: 'qemu-system-bmcemu-does-not-exist',
      }),
  });
  t.teardown(() => power.close());
  const err = await power.powerOn().catch((e: unknown) => e);
  t.ok(isQemuError(err, 'ERR_QEMU_MISSING'));
  t.match(err, { code: 'ERR_QEMU_MISSING', message: /install-system-deps\.sh.*apt-get install/ });
  t.equal(power.state, 'off');
});

t.test('reset needs a running host', async (t) => {
  const dir = shortTempDir(t);
  const power = new HostPower({ machine: () => fakeMachine(dir) });
  t.teardown(() => power.close());
  await t.rejects(power.reset(), { code: 'ERR_HOST_NOT_RUNNING' });
});

t.test('power cycle and STOP/RESUME', async (t) => {
  const dir = shortTempDir(t);
  const power = new HostPower({ machine: () => fakeMachine(dir) });
  t.teardown(() => power.close());
  await power.powerOn();
  const firstPid = power.pid;
  await power.qmp!.execute('stop');
  await power.waitForState('paused', 5000);
  await power.qmp!.execute('cont');
  await power.waitForState('running', 5000);
  await power.cycle();
  t.equal(power.state, 'running');
  t.not(power.pid, firstPid, 'a new QEMU process');
  t.equal(power.boots, 2);
  await power.cycle({ soft: true, softTimeoutMs: 5000 });
  t.equal(power.state, 'running');
  t.equal(power.boots, 3);
});

t.test('waitForState: at once, or ERR_HOST_STATE_TIMEOUT on the injected clock', async (t) => {
  const dir = shortTempDir(t);
  const clock = new ManualClock();
  const power = new HostPower({ machine: () => fakeMachine(dir), clock });
  t.teardown(() => power.close());
  t.equal(await power.waitForState(['off', 'crashed']), 'off');
  const waiting = power.waitForState('running', 1000);
  clock.advance(999);
  clock.advance(1);
  await t.rejects(waiting, {
    code: 'ERR_HOST_STATE_TIMEOUT',
    message: 'host did not reach running within 1000 ms (state off)',
    details: { want: ['running'], state: 'off', timeoutMs: 1000 },
  });
  t.equal(clock.pending, 0, 'no timer left');
});

t.test('a closed manager refuses to power on; impossible options are a ConfigError', async (t) => {
  const dir = shortTempDir(t);
  const power = new HostPower({ machine: () => fakeMachine(dir) });
  t.equal(power.consoleWrite('x'), false, 'no console before the first power-on');
  await power.close();
  await t.rejects(power.powerOn(), { code: 'ERR_HOST_CLOSED' });
  t.equal(power.state, 'off');
  t.throws(() => new HostPower({ machine: () => fakeMachine(dir), quitTimeoutMs: -1 }), { name: 'ConfigError', code: 'ERR_BAD_CONFIG', message: /quitTimeoutMs/ });
  t.throws(() => new HostPower({ machine: () => fakeMachine(dir), startTimeoutMs: Number.NaN }), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => new HostPower({} as never), { code: 'ERR_BAD_CONFIG', message: /machine\(\)/ });
});

t.test('boots have ids: each power-on and reset begins one, QEMU exiting ends it', async (t) => {
  const dir = shortTempDir(t);
  const power = new HostPower({ machine: () => fakeMachine(dir) });
  t.teardown(() => power.close());
  const order: string[] = [];
  power.on('host-event', (e: HostEvent) => order.push(`${e.type} ${e.boot} (current ${power.boot?.id ?? 'none'})`));
  power.on('boot', (b: HostBoot) => order.push(`boot ${b.id} ${b.reason}`));
  t.equal(power.boot, null, 'off: no boot');

  const before = Date.now();
  await power.powerOn();
  const first = power.boot!;
  t.match(first, { id: 1, reason: 'power-on' });
  t.ok(first.startedAt >= before && first.startedAt <= Date.now(), 'the boot began with the power-on');
  t.same(power.snapshot().boot, first);

  await power.reset();
  const second = power.boot!;
  t.match(second, { id: 2, reason: 'reset' });
  t.ok(second.startedAt >= first.startedAt, 'a reset starts the clock again');
  t.same(
    order.filter((l) => !l.startsWith('resume')),
    ['boot 1 power-on', 'reset 2 (current 2)', 'boot 2 reset'],
    "the reset's listeners already see the new boot; its 'boot' event follows",
  );

  await power.cycle();
  t.match(power.boot, { id: 3, reason: 'power-on' }, 'a power cycle is a new boot');
  t.ok(order.includes('exit 2 (current none)'), 'QEMU exiting ended boot 2');
  await power.hardOff();
  t.equal(power.boot, null);
  t.equal(power.snapshot().boot, null);
});
