/** VmConnection over an in-memory link, the test playing QEMU. */
import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { ChannelTable, systemInterfaceChannel } from '../../../../firmware/ipmi/channels.js';
import { messagingCommands } from '../../../../firmware/ipmi/commands/messaging.js';
import { PRIVILEGE, ok, type IpmiResponse } from '../../../../firmware/ipmi/message.js';
import { IpmiRouter } from '../../../../firmware/ipmi/router.js';
import { SystemInterface } from '../../../../firmware/ipmi/system-interface.js';
import { VM_MAX_RESPONSE_DATA, encodeRequest, parseResponse, splitFrames } from '../../../../firmware/ipmi/vm/codec.js';
import { VmConnection } from '../../../../firmware/ipmi/vm/connection.js';
import { TestLink, hex, settle } from '../helpers.js';

const QEMU_HELLO = hex('ff 01 a1 08 3f a1');

function setup(opts: { maxOutputBacklog?: number; onPeerReset?: () => void } = {}) {
  const clock = new ManualClock();
  const router = new IpmiRouter({ clock });
  const si = new SystemInterface({ dispatch: (r) => router.dispatch(r) });
  const channels = new ChannelTable([systemInterfaceChannel({ enqueue: (m) => si.enqueueMessage(m) })]);
  router.register(messagingCommands(si, channels));
  const hang: Array<(r: IpmiResponse) => void> = [];
  router.register([
    { netfn: 6, cmd: 0x01, name: 'Get Device ID', owner: 't', privilege: PRIVILEGE.USER, handler: () => ok(hex('20 01 02 05 02 bf 00 00 00 01 00 00 00 00 00')) },
    { netfn: 0x3a, cmd: 0x77, name: 'Echo', owner: 't', privilege: PRIVILEGE.USER, handler: (q) => ok(q.data) },
    { netfn: 0x3a, cmd: 0x78, name: 'Hang', owner: 't', privilege: PRIVILEGE.USER, handler: () => new Promise<IpmiResponse>((r) => hang.push(r)) },
    { netfn: 0x3a, cmd: 0x79, name: 'Huge', owner: 't', privilege: PRIVILEGE.USER, handler: () => ok(Buffer.alloc(VM_MAX_RESPONSE_DATA + 1)) },
  ]);
  const link = new TestLink();
  const lines: string[] = [];
  const conn = new VmConnection(link, si, { name: 'qemu', log: (l) => lines.push(l), outputBacklog: () => link.backlog, ...opts });
  return { clock, router, si, link, conn, hang, lines };
}

t.test('QEMU connects: VERSION and CAPABILITIES are recorded; a clean state sends nothing', async (t) => {
  const { link, conn } = setup();
  link.open();
  link.feed(QEMU_HELLO);
  t.same(link.take(), Buffer.alloc(0));
  const s = conn.stats();
  t.equal(s.peerVersion, 1);
  t.equal(s.peerCapabilities, 0x3f);
  t.equal(conn.peerCapabilities, 0x3f);
  t.equal(s.versions, 1);
});

t.test('a request is answered with the exact bytes QEMU expects', async (t) => {
  const { link, conn } = setup();
  link.open();
  link.feed(Buffer.concat([QEMU_HELLO, hex('10 18 01 d7 a0')]));
  await settle();
  t.same(link.take(), hex('10 1c 01 00 20 01 02 05 02 bf 00 00 00 01 00 00 00 00 00 e9 a0'));
  t.equal(conn.stats().responses, 1);
  // Unknown command: C1, msgid echoed, netfn|1.
  link.feed(encodeRequest({ msgid: 0x11, netfn: 6, cmd: 0x99 }));
  await settle();
  const [f] = splitFrames(link.take());
  t.same(parseResponse(f!.raw), { msgid: 0x11, netfn: 7, lun: 0, cmd: 0x99, cc: 0xc1, data: Buffer.alloc(0) });
});

t.test('escaping both ways: the 40-byte echo and a msgid of 0xAA', async (t) => {
  const { link } = setup();
  link.open();
  const data = Buffer.from(Array.from({ length: 40 }, (_, i) => 0xa0 + (i % 16)));
  // One byte per read, as QEMU's chardev delivers it.
  for (const b of encodeRequest({ msgid: 0xaa, netfn: 0x3a, lun: 1, cmd: 0x77, data })) link.feed(Buffer.of(b));
  await settle();
  const out = link.take();
  t.same(out.subarray(0, 4), hex('aa ba ed 77'), 'escaped msgid, netfn 3B lun 1');
  const [f] = splitFrames(out);
  t.same(parseResponse(f!.raw), { msgid: 0xaa, netfn: 0x3b, lun: 1, cmd: 0x77, cc: 0, data });
});

t.test('ATN and IRQ-enable changes become control commands at once', async (t) => {
  const { link, si } = setup();
  link.open();
  link.feed(QEMU_HELLO);
  link.feed(encodeRequest({ msgid: 1, netfn: 6, cmd: 0x2e, data: hex('09') }));
  await settle();
  const frames = splitFrames(link.take());
  t.same(frames.map((f) => [f.terminator, ...f.raw]), [
    [0xa1, 0x05],
    [0xa0, ...parseAndRaw(1, 0x2e)],
  ], 'ENABLE_IRQ leaves before the Set Global Enables response');
  si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('01') });
  t.same(link.take(), hex('02 a1'), 'ATTN_IRQ');
  link.feed(encodeRequest({ msgid: 2, netfn: 6, cmd: 0x33 }));
  await settle();
  const after = splitFrames(link.take());
  t.same(after[0]!.raw, hex('00'), 'NOATTN once the queue is empty');
  t.same(parseResponse(after[1]!.raw)!.data, hex('4f 01'));
});

function parseAndRaw(msgid: number, cmd: number): number[] {
  const raw = [msgid, (7 << 2) | 0, cmd, 0];
  const sum = raw.reduce((a, b) => a + b, 0) & 0xff;
  return [...raw, (0x100 - sum) & 0xff];
}

t.test('on every VERSION (connect or reconnect) the state is re-sent: ENABLE_IRQ, then ATN', async (t) => {
  const { link, si, conn } = setup();
  si.setGlobalEnables(0x0d);
  si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('01') });
  t.equal(conn.stats().controlsWhileDisconnected, 2, 'nobody to tell yet');
  link.open();
  t.same(link.take(), Buffer.alloc(0), 'nothing before QEMU says VERSION');
  link.feed(QEMU_HELLO);
  t.same(link.take(), hex('05 a1 02 a1'));
  link.disconnect();
  link.open();
  link.feed(QEMU_HELLO);
  t.same(link.take(), hex('05 a1 02 a1'), 'again after a reconnect (QEMU forgot both)');
  t.equal(conn.stats().connections, 2);
  t.equal(conn.stats().disconnects, 1);
});

t.test('a response finishing after its connection ended is dropped, not sent on the next one', async (t) => {
  const { link, conn, hang } = setup();
  link.open();
  link.feed(encodeRequest({ msgid: 5, netfn: 0x3a, cmd: 0x78 }));
  await settle();
  t.equal(hang.length, 1);
  link.disconnect();
  link.open();
  link.feed(QEMU_HELLO);
  hang[0]!(ok([1]));
  await settle();
  t.same(link.take(), Buffer.alloc(0));
  t.equal(conn.stats().staleResponses, 1);
});

t.test('the router timeout answers C3 before QEMU would (3 s < 4 s)', async (t) => {
  const { link, clock } = setup();
  link.open();
  link.feed(encodeRequest({ msgid: 6, netfn: 0x3a, cmd: 0x78 }));
  await settle();
  clock.advance(3000);
  await settle();
  const [f] = splitFrames(link.take());
  t.equal(parseResponse(f!.raw)!.cc, 0xc3);
});

t.test('responses too long for QEMU become CA; a host side that rejects gets FF', async (t) => {
  const { link, conn } = setup();
  link.open();
  link.feed(encodeRequest({ msgid: 7, netfn: 0x3a, cmd: 0x79 }));
  await settle();
  t.equal(parseResponse(splitFrames(link.take())[0]!.raw)!.cc, 0xca);
  t.equal(conn.stats().oversizeResponses, 1);

  const link2 = new TestLink();
  const lines: string[] = [];
  const broken = {
    handleRequest: () => Promise.reject(new Error('nope')),
    signals: () => [],
    onSignal: () => () => {},
  };
  const c2 = new VmConnection(link2, broken, { log: (l) => lines.push(l) });
  link2.open();
  link2.feed(encodeRequest({ msgid: 8, netfn: 6, cmd: 1 }));
  await settle();
  t.equal(parseResponse(splitFrames(link2.take())[0]!.raw)!.cc, 0xff);
  t.equal(c2.stats().hostErrors, 1);
  t.match(lines[0], /nope/);
  const throwing = { ...broken, handleRequest: (): Promise<IpmiResponse> => { throw new Error('sync'); } };
  const link3 = new TestLink();
  new VmConnection(link3, throwing);
  link3.open();
  link3.feed(encodeRequest({ msgid: 9, netfn: 6, cmd: 1 }));
  await settle();
  t.equal(parseResponse(splitFrames(link3.take())[0]!.raw)!.cc, 0xff);
});

t.test('a peer that never reads is disconnected, counted', async (t) => {
  const { link, conn, si, lines } = setup({ maxOutputBacklog: 100 });
  link.open();
  link.feed(QEMU_HELLO);
  link.backlog = 101;
  si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('01') });
  t.equal(link.connected, false);
  t.equal(link.disconnects, 1);
  t.equal(conn.stats().outputOverflowDisconnects, 1);
  t.match(lines.join('\n'), /not reading/);
});

t.test('the default backlog is the link\'s peerStream.writableLength (ChardevSocket)', async (t) => {
  const router = new IpmiRouter({ clock: new ManualClock() });
  const si = new SystemInterface({ dispatch: (r) => router.dispatch(r) });
  const link = Object.assign(new TestLink(), { peerStream: { writableLength: 0 } });
  new VmConnection(link, si, { maxOutputBacklog: 10 });
  link.open();
  link.feed(QEMU_HELLO);
  link.peerStream.writableLength = 11;
  si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('01') });
  t.equal(link.connected, false);
});

t.test('hostile input: 1 MiB without a terminator, garbage, then a good request is still answered', async (t) => {
  const { link, conn } = setup();
  link.open();
  for (let i = 0; i < 16; i++) link.feed(Buffer.alloc(64 * 1024, 0x55));
  link.feed(hex('a0 aa a0 a1 10 18 01 00 a0'));
  link.feed(hex('10 18 01 d7 a0'));
  await settle();
  const frames = splitFrames(link.take());
  t.equal(frames.length, 1);
  t.equal(parseResponse(frames[0]!.raw)!.cmd, 0x01);
  const d = conn.stats().decoder;
  t.equal(d.dropped.oversize, 1);
  t.equal(d.dropped['escape-at-end'], 1);
  t.equal(d.dropped['bad-checksum'], 1);
  t.equal(d.dropped['too-short'], 0);
});

t.test('control commands from QEMU: RESET calls onPeerReset, unknown ones are counted; hostOp sends ours', async (t) => {
  let resets = 0;
  const { link, conn } = setup({ onPeerReset: () => resets++ });
  t.notOk(conn.hostOp('power-off'), 'no peer');
  link.open();
  link.feed(hex('04 a1 42 a1'));
  t.equal(resets, 1);
  t.equal(conn.stats().unknownControls, 1);
  t.ok(conn.hostOp('power-off'));
  t.ok(conn.hostOp('reset'));
  t.ok(conn.hostOp('nmi'));
  t.ok(conn.hostOp('graceful-shutdown'));
  t.same(link.take(), hex('03 a1 04 a1 07 a1 09 a1'));
});

t.test('a partial frame does not survive a reconnect', async (t) => {
  const { link } = setup();
  link.open();
  link.feed(hex('10 18'));
  link.disconnect();
  link.open();
  link.feed(hex('01 d7 a0'));
  link.feed(hex('10 18 01 d7 a0'));
  await settle();
  t.equal(splitFrames(link.take()).length, 1, 'only the whole request after the reconnect is answered');
});

t.test('detach() stops serving and unsubscribes from the system interface', async (t) => {
  const { link, conn, si } = setup();
  link.open();
  conn.detach();
  conn.detach();
  link.feed(hex('10 18 01 d7 a0'));
  si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('01') });
  await settle();
  t.same(link.take(), Buffer.alloc(0));
  t.equal(link.listenerCount('data'), 0);
});

t.test('attached to a link that is already connected, it starts at once', async (t) => {
  const router = new IpmiRouter({ clock: new ManualClock() });
  const si = new SystemInterface({ dispatch: (r) => router.dispatch(r) });
  const link = new TestLink();
  link.connected = true;
  const conn = new VmConnection(link, si);
  t.equal(conn.stats().connections, 1);
  t.ok(conn.connected);
});
