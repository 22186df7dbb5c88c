/**
 * HostFirmware, the host side's composition root, against the BMC side in
 * memory on a ManualClock: the KCS wire session, the astlpc channel, the bus
 * owner assigning both links an EID (serial through Discovery Notify, after
 * its probe went unanswered), the echo policy and the echo responder, the
 * readiness promises, the silent-BMC report, and stop().
 */
import t from 'tap';
import type { DiscoveryNotifyEvent } from '../../firmware/mctp/control/responder.js';
import { echoRequest } from '../../firmware/mctp/echo.js';
import type { EchoEvent } from '../../host/echo-policy.js';
import { HOST_ASTLPC_IFNAME, HOST_SERIAL_IFNAME, HostFirmware, KCS_SILENCE_CHECK_MS } from '../../host/host-firmware.js';
import { ManualClock } from '../../lib/clock.js';
import { drive, runFor, runUntil } from '../firmware/mctp/control/helpers.js';
import { memoryLinkPair } from '../transport/helpers/util.js';
import { MEMORY_WINDOW_SIZE, startMemoryBmc } from './helpers/memory-bmc.js';

t.test('dynamic EIDs: the bus owner assigns astlpc and (after Discovery Notify) serial; echo both ways', async (t) => {
  const clock = new ManualClock();
  const bmc = startMemoryBmc(clock);
  t.teardown(() => bmc.stop());
  const notifies: DiscoveryNotifyEvent[] = [];
  bmc.responder.on('discovery-notify', (e: DiscoveryNotifyEvent) => notifies.push(e));
  // The BMC's UART had "carrier" before the host ran: its bus owner's probes go unanswered.
  await runFor(clock, 2000, 10);
  t.equal(bmc.busOwner!.endpoints().length, 0, 'nothing set up before the host runs');

  const fw = new HostFirmware({ kcs: bmc.kcsLink, window: bmc.window, windowSize: MEMORY_WINDOW_SIZE, mtu: 68, clock, serial: bmc.serialStream, echo: true });
  const echoes: EchoEvent[] = [];
  fw.on('echo', (e: EchoEvent) => echoes.push(e));
  t.teardown(() => fw.stop());
  t.ok(fw.discovery, 'a Discovery Notify schedule for the serial link');
  t.equal(fw.eid, null, 'no EID yet');

  await drive(clock, fw.start());
  t.ok(fw.kcsClient.ready, 'start() resolves with the KCS wire session up');
  t.ok(fw.stack.interface(HOST_SERIAL_IFNAME).up, 'the serial link is up');

  await drive(clock, fw.whenLinkUp());
  t.ok(fw.stack.interface(HOST_ASTLPC_IFNAME).carrier, 'astlpc channel active');
  const eid = await drive(clock, fw.whenAssigned());
  t.equal(eid, fw.eid, 'whenAssigned() resolves with our astlpc EID');
  t.ok(bmc.busOwner!.endpoints().some((e) => e.iface === 'mctplpc0' && e.eid === eid), 'the BMC published it');

  const serialEid = await drive(clock, fw.whenSerialAssigned());
  t.not(serialEid, eid, 'serial has an EID of its own');
  t.ok(notifies.length >= 1, `Discovery Notify reached the bus owner (${notifies.length})`);
  t.equal(fw.discovery!.end, 'assigned', 'and stopped once the link had an EID');
  const sent = fw.discovery!.stats.sent;

  await runUntil(clock, () => echoes.some((e) => e.kind === 'ok'));
  t.match(echoes, [{ kind: 'assigned', eid }, { kind: 'ok', bytes: 67 }], 'the echo policy: EID assigned, then the echo came back');

  const r = await drive(clock, echoRequest(bmc.stack, { eid, len: 20, clock, timeoutMs: 1000 }));
  t.equal(r.bytes, 23, 'the echo responder answers the BMC');
  await runFor(clock, 10_000, 100);
  t.equal(fw.discovery!.stats.sent, sent, 'no Notify after the assignment');
  t.equal(echoes.length, 2, 'one check per activation');
});

t.test('static EID: both links addressed at once, no Discovery Notify, no EID wait before the echo', async (t) => {
  const clock = new ManualClock();
  const bmc = startMemoryBmc(clock, { busOwner: false, hostEid: 9 });
  t.teardown(() => bmc.stop());
  const fw = new HostFirmware({ kcs: bmc.kcsLink, window: bmc.window, windowSize: MEMORY_WINDOW_SIZE, mtu: 68, clock, eid: 9, serial: bmc.serialStream, echo: true });
  const echoes: EchoEvent[] = [];
  fw.on('echo', (e: EchoEvent) => echoes.push(e));
  t.teardown(() => fw.stop());
  t.equal(fw.discovery, null);
  await drive(clock, fw.start());
  t.same(fw.stack.interface(HOST_SERIAL_IFNAME).addrs, [9], 'serial has the static EID');
  t.equal(await drive(clock, fw.whenSerialAssigned()), 9);
  t.equal(await drive(clock, fw.whenAssigned()), 9, 'so does astlpc');
  await runUntil(clock, () => echoes.length > 0);
  t.match(echoes, [{ kind: 'ok' }]);
});

t.test('a BMC that never answers: reported once per silence, on the clock; stop() ends the wait for it', async (t) => {
  const clock = new ManualClock();
  const pair = memoryLinkPair(); // never connected: no model behind it
  const window = { read: (_o: number, l: number) => Buffer.alloc(l), write: () => {} };
  const fw = new HostFirmware({ kcs: pair.a, window, clock });
  let silent = 0;
  fw.on('kcs-wire-silent', () => silent++);
  const started = fw.start();
  started.catch(() => {});
  await t.rejects(fw.start(), /start\(\) after start\(\)/, 'one start');
  await runFor(clock, KCS_SILENCE_CHECK_MS - 100, 100);
  t.equal(silent, 0, 'not before the first check');
  await runFor(clock, 100, 100);
  t.equal(silent, 1, 'at the first check');
  await runFor(clock, 3 * KCS_SILENCE_CHECK_MS, 500);
  t.equal(silent, 1, 'once per stretch of silence');
  await fw.stop();
  await t.rejects(started, 'start() gives up when stopped');
  await t.rejects(fw.whenSerialAssigned(), /no serial link/);
  await runFor(clock, 2 * KCS_SILENCE_CHECK_MS, 1000);
  t.equal(silent, 1, 'no checks after stop()');
  await fw.stop();
  t.pass('stop() twice is harmless');
  await t.rejects(fw.start(), /start\(\) after stop\(\)/, 'no restart');
  const unstarted = new HostFirmware({ kcs: memoryLinkPair().a, window, clock });
  await unstarted.stop();
  await t.rejects(unstarted.start(), /start\(\) after stop\(\)/, 'no start after stop');
});

t.test('readiness waits are bounded on the clock', async (t) => {
  const clock = new ManualClock();
  const bmc = startMemoryBmc(clock, { busOwner: false });
  t.teardown(() => bmc.stop());
  const fw = new HostFirmware({ kcs: bmc.kcsLink, window: bmc.window, windowSize: MEMORY_WINDOW_SIZE, mtu: 68, clock });
  t.teardown(() => fw.stop());
  await drive(clock, fw.start());
  await drive(clock, fw.whenLinkUp({ timeoutMs: 5000 }));
  await t.rejects(drive(clock, fw.whenAssigned({ timeoutMs: 3000 })), { code: 'ERR_WAIT_TIMEOUT' }, 'no bus owner: no EID, and the wait says so');
  const ctl = new AbortController();
  const waiting = fw.whenAssigned({ signal: ctl.signal });
  ctl.abort();
  await t.rejects(waiting, { code: 'ERR_WAIT_ABORTED' });
});
