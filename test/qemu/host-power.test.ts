/**
 * HostPower's state machine, process handling and console, against a fake
 * QEMU (test/qemu/helpers/fake-qemu.mjs) that speaks QMP and "boots" in
 * milliseconds. The real QEMU is exercised in boot.test.ts.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { HostPower, HostPowerError, type HostEvent, type HostStateChange } from '../../qemu/host-power.js';
import { x86HostMachine } from '../../qemu/machines.js';
import { QMP_SOCKET } from '../../transport/runtime-files.js';
import { fakeMachine, HELPERS, pidAlive, shortTempDir, until } from './helpers/util.js';

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
  await t.rejects(waiting, { name: 'ConsoleAbortedError' }, 'waiters are released when the host dies');
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
  await t.rejects(power.powerOn(), { code: 'ERR_HOST_START_FAILED', message: /fake start failure/ });
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
  t.ok(err instanceof HostPowerError);
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

t.test('QEMU dies with bmcemu, even on kill -9 (parent-death signal)', async (t) => {
  const dir = shortTempDir(t);
  const child = fork(path.join(HELPERS, 'power-child.ts'), [dir], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  const [msg] = (await once(child, 'message')) as [{ pid: number }];
  t.ok(pidAlive(msg.pid), 'QEMU runs under the child bmcemu');
  child.kill('SIGKILL');
  await once(child, 'exit');
  await until(() => !pidAlive(msg.pid), 'QEMU to die with its parent', 5000);
  t.pass('QEMU is gone');
});
