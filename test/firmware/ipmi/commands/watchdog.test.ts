/** The watchdog (IPMI v2.0 §27) through its commands, on a ManualClock. */
import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { watchdogCommands } from '../../../../firmware/ipmi/commands/watchdog.js';
import { Watchdog, type WatchdogEvent } from '../../../../firmware/ipmi/watchdog.js';
import { FakeHost, call } from '../helpers.js';

function setup(sensorNumber?: number) {
  const clock = new ManualClock();
  const host = new FakeHost();
  const events: WatchdogEvent[] = [];
  const pretimeouts: boolean[] = [];
  const lines: string[] = [];
  const wd = new Watchdog({
    clock,
    host,
    systemInterface: { watchdogPretimeout: (m) => pretimeouts.push(m) },
    onEvent: (e) => events.push(e),
    log: (l) => lines.push(l),
    ...(sensorNumber === undefined ? {} : { sensorNumber }),
  });
  const cmds = watchdogCommands(wd);
  const run = async (cmd: number, data: number[] = []): Promise<number[]> => {
    const r = await call(cmds, 6, cmd, data);
    return [r.cc, ...r.data];
  };
  return { clock, host, events, pretimeouts, wd, run, lines };
}

t.test('Reset before any Set: 80 (skiboot then sends Set again)', async (t) => {
  const { run } = setup();
  t.same(await run(0x22), [0x80]);
  t.same(await run(0x25), [0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

t.test('skiboot: BIOS/POST, don\'t log, don\'t stop, hard reset after 60.0 s', async (t) => {
  const { run, clock, host, events } = setup(3);
  t.same(await run(0x24, [0xc2, 0x01, 0x00, 0x00, 0x58, 0x02]), [0]);
  t.same(await run(0x25), [0, 0x82, 0x01, 0x00, 0x00, 0x58, 0x02, 0x58, 0x02], 'set but stopped (don\'t stop keeps a stopped timer stopped)');
  t.same(await run(0x22), [0]);
  t.same((await run(0x25))[1], 0xc2, 'running');
  clock.advance(30_000);
  t.same((await run(0x25)).slice(7), [0x2c, 0x01], '300 counts left');
  t.same(await run(0x22), [0], 'petted');
  clock.advance(59_999);
  t.same(host.calls, []);
  clock.advance(1);
  t.same(host.calls, ['hardReset']);
  t.same(await run(0x25), [0, 0x82, 0x01, 0x00, 0x04, 0x58, 0x02, 0x00, 0x00], 'stopped, BIOS/POST expiration flag');
  t.equal(events.length, 1);
  t.same(events[0], {
    kind: 'timeout',
    timerUse: 2,
    action: 1,
    generatorId: 0x20,
    sensorType: 0x23,
    sensorNumber: 3,
    eventDirType: 0x6f,
    eventData: [0xc1, 0x02, 0xff],
    log: false,
  });
});

t.test('Linux ipmi_watchdog load: SMS/OS, no action, 10 s; Set stops a running timer', async (t) => {
  const { run, clock, host, events } = setup();
  t.same(await run(0x24, [0x04, 0x00, 0x00, 0x00, 0x64, 0x00]), [0]);
  t.same(await run(0x22), [0]);
  clock.advance(2500);
  t.same((await run(0x25)).slice(7), [75, 0], 'counting down in 100 ms units');
  t.same(await run(0x24, [0x04, 0x00, 0x00, 0x00, 0x64, 0x00]), [0], 'Set without don\'t stop');
  t.same((await run(0x25)).slice(1, 2), [0x04], 'stopped');
  clock.advance(20_000);
  t.same(events, [], 'a stopped timer never fires');
  await run(0x22);
  clock.advance(10_000);
  t.same(host.calls, [], 'no action');
  t.same(events.map((e) => [e.kind, e.eventData, e.log]), [['timeout', [0xc0, 0x04, 0xff], true]]);
  t.same((await run(0x25))[4], 0x10, 'SMS/OS expiration flag');
  t.same(await run(0x24, [0x04, 0x00, 0x00, 0x10, 0x64, 0x00]), [0], 'clear the SMS/OS flag');
  t.same((await run(0x25))[4], 0x00);
});

t.test('don\'t stop: a running timer restarts from the new countdown at once', async (t) => {
  const { run, clock, host } = setup();
  await run(0x24, [0x04, 0x02, 0x00, 0x00, 0x64, 0x00]);
  await run(0x22);
  clock.advance(9000);
  t.same(await run(0x24, [0x44, 0x02, 0x00, 0x00, 0x32, 0x00]), [0]);
  t.same((await run(0x25)).slice(1, 2), [0x44], 'still running');
  t.same((await run(0x25)).slice(7), [0x32, 0]);
  clock.advance(4999);
  t.same(host.calls, []);
  clock.advance(1);
  t.same(host.calls, ['powerOff']);
});

t.test('pre-timeout: messaging interrupt sets the flag with IRQ, then the timeout action', async (t) => {
  const { run, clock, host, events, pretimeouts } = setup();
  // SMS/OS, messaging interrupt + power down, 2 s pre-timeout, 10 s.
  t.same(await run(0x24, [0x04, 0x32, 0x02, 0x00, 0x64, 0x00]), [0]);
  await run(0x22);
  clock.advance(7999);
  t.same(pretimeouts, []);
  clock.advance(1);
  t.same(pretimeouts, [true]);
  t.same(events.map((e) => [e.kind, e.eventData]), [['pretimeout', [0xc8, 0x34, 0xff]]]);
  clock.advance(2000);
  t.same(host.calls, ['powerOff']);
  t.same(events.map((e) => e.eventData), [[0xc8, 0x34, 0xff], [0xc2, 0x34, 0xff]]);
});

t.test('pre-timeout NMI pulses the diagnostic interrupt; it fires once per countdown', async (t) => {
  const { run, clock, host, pretimeouts, wd } = setup();
  await run(0x24, [0x04, 0x21, 0x01, 0x00, 0x1e, 0x00]); // NMI, hard reset, 1 s pre, 3 s
  await run(0x22);
  clock.advance(2000);
  t.same(host.calls, ['diagnosticInterrupt']);
  t.same(pretimeouts, [false], 'flag without the messaging IRQ');
  await run(0x22);
  clock.advance(2000);
  t.same(host.calls, ['diagnosticInterrupt', 'diagnosticInterrupt'], 're-armed by Reset');
  clock.advance(1000);
  t.same(host.calls.at(-1), 'hardReset');
  t.equal(wd.stats().pretimeouts, 2);
});

t.test('Set refuses reserved values and a pre-timeout longer than the countdown', async (t) => {
  const { run } = setup();
  const cases: Array<[number[], string]> = [
    [[0x00, 0x00, 0x00, 0x00, 0x64, 0x00], 'timer use 0'],
    [[0x06, 0x00, 0x00, 0x00, 0x64, 0x00], 'timer use 6'],
    [[0x07, 0x00, 0x00, 0x00, 0x64, 0x00], 'timer use 7'],
    [[0x04, 0x04, 0x00, 0x00, 0x64, 0x00], 'action 4'],
    [[0x04, 0x40, 0x00, 0x00, 0x64, 0x00], 'pre-timeout interrupt 4'],
    [[0x04, 0x30, 0x0b, 0x00, 0x64, 0x00], '11 s pre-timeout on a 10 s countdown'],
  ];
  for (const [d, why] of cases) t.same(await run(0x24, d), [0xcc], why);
  t.same(await run(0x24, [0x04, 0x30, 0x0a, 0x00, 0x64, 0x00]), [0], 'equal is fine');
  t.same(await run(0x24, [0x04, 0x00, 0xff, 0x00, 0x01, 0x00]), [0], 'no pre-timeout interrupt: interval not checked');
  t.same(await run(0x24, [0x04, 0x00, 0x00, 0x00, 0x64]), [0xc7]);
  t.same(await run(0x24, [0x04, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00]), [0xc7]);
  t.same(await run(0x22, [0]), [0xc7]);
  t.same(await run(0x25, [0]), [0xc7]);
});

t.test('a zero countdown expires at once on Reset', async (t) => {
  const { run, clock, host } = setup();
  await run(0x24, [0x04, 0x03, 0x00, 0x00, 0x00, 0x00]);
  await run(0x22);
  clock.advance(0);
  t.same(host.calls, ['powerCycle']);
});

t.test('host reset stops the timer and needs a new Set; expiration flags survive; BMC reset clears all', async (t) => {
  const { run, clock, wd, events } = setup();
  await run(0x24, [0x03, 0x00, 0x00, 0x00, 0x0a, 0x00]);
  await run(0x22);
  clock.advance(1000);
  t.same((await run(0x25))[4], 0x08, 'OS Load expired');
  await run(0x22);
  wd.hostReset();
  clock.advance(5000);
  t.equal(events.length, 1, 'stopped');
  t.same(await run(0x22), [0x80]);
  t.same((await run(0x25))[4], 0x08);
  wd.bmcReset();
  t.same(await run(0x25), [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.equal(clock.pending, 0);
});

t.test('a failing host action is counted and logged, never thrown', async (t) => {
  const { run, clock, host, wd, lines } = setup();
  host.failWith = new Error('qemu gone');
  await run(0x24, [0x04, 0x01, 0x00, 0x00, 0x01, 0x00]);
  await run(0x22);
  t.doesNotThrow(() => clock.advance(100));
  t.equal(wd.stats().actionErrors, 1);
  t.match(lines.join('\n'), /hardReset failed: qemu gone/);
});
