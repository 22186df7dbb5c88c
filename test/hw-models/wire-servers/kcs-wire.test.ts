import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import { ChardevSocket } from '../../../transport/chardev-socket.js';
import { KcsWireClient } from '../../../transport/kcs-wire/client.js';
import { TransportError } from '../../../transport/errors.js';
import { KcsWireServer } from '../../../hw-models/wire-servers/kcs-wire-server.js';
import {
  KcsFrameDecoder,
  encodeError,
  encodeHello,
  encodeInterrupt,
  encodeReadReply,
  encodeWriteAck,
} from '../../../transport/kcs-wire/codec.js';
import { CD, FakeKcsChannel, IBF, OBF } from '../../transport/helpers/fake-kcs.js';
import { hex, memoryLinkPair, nextEvent, shortTempDir, until } from '../../transport/helpers/util.js';

/** Server + client over an in-memory link: deterministic, no sockets. */
function memorySetup(opts: { split?: boolean; channel?: number; clock?: ManualClock } = {}) {
  const kcs = new FakeKcsChannel();
  const pair = memoryLinkPair();
  pair.a.splitBytes = opts.split ?? false;
  pair.b.splitBytes = opts.split ?? false;
  const server = new KcsWireServer(kcs, pair.a, { channel: opts.channel ?? 3 });
  const client = new KcsWireClient(pair.b, { clock: opts.clock ?? new ManualClock() });
  pair.connect();
  return { kcs, server, client, modelLink: pair.a, hostLink: pair.b };
}

/** A raw host over a real UNIX socket: sends arbitrary bytes, collects replies. */
async function rawHost(p: string) {
  const sock = net.createConnection({ path: p });
  const got: Buffer[] = [];
  sock.on('data', (b) => got.push(b));
  sock.on('error', () => {});
  await new Promise((r) => sock.once('connect', r));
  const bytes = () => Buffer.concat(got);
  return {
    sock,
    bytes,
    async expect(n: number) {
      await until(() => bytes().length >= n, { what: `${n} bytes from the model` });
      return hex(bytes().subarray(0, n));
    },
  };
}

async function socketServer(t: Test, channel = 1, opts: { maxQueuedBytes?: number } = {}) {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'kcs.sock');
  const kcs = new FakeKcsChannel();
  const chardev = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server', ...opts });
  const server = new KcsWireServer(kcs, chardev, { channel });
  await chardev.listen();
  t.teardown(async () => {
    server.detach();
    await chardev.close();
  });
  return { kcs, chardev, server, path: p };
}

t.test('hello carries version and channel; client becomes ready', async (t) => {
  const { client, modelLink } = memorySetup({ channel: 3 });
  t.equal(hex(modelLink.sentBytes()), '800103', 'first frame is the hello');
  t.ok(client.ready);
  t.same(client.hello, { version: 1, channel: 3 });
  t.same(await client.waitReady(), { version: 1, channel: 3 });
});

t.test('a channel number that does not fit the hello byte is a configuration error', async (t) => {
  const pair = memoryLinkPair();
  t.throws(() => new KcsWireServer(new FakeKcsChannel(), pair.a, { channel: 256 }), {
    name: 'ConfigError',
    code: 'ERR_BAD_CONFIG',
    message: /channel must be 0\.\.255, got 256/,
  });
});

t.test('register side effects are exactly those of the hardware', async (t) => {
  const { kcs, client } = memorySetup();
  const irqs: number[] = [];
  client.on('interrupt', (s: number) => irqs.push(s));

  // Host command write: IBF and C/D set; the ack carries STR.
  t.equal(await client.write(1, 0x00), IBF | CD, 'command write → IBF|C/D');
  t.equal(kcs.idr, 0x00);
  t.equal(kcs.bmcReadData(), 0x00);
  t.equal(await client.read(1), 0x08, 'BMC read of IDR cleared IBF (C/D stays)');

  // Host data write: IBF set, C/D cleared.
  t.equal(await client.write(0, 0x5a), IBF, 'data write → IBF, C/D cleared');
  kcs.bmcReadData();

  // BMC status write never raises OBF or the interrupt.
  kcs.bmcWriteStatus(0x80);
  t.equal(await client.read(1), 0x80);
  t.same(irqs, [], 'no interrupt for a status write');

  // BMC ODR write: OBF rises, 0x90 carries STR.
  kcs.bmcWriteData(0xff);
  t.same(irqs, [0x81], 'interrupt with STR = BMC_READY|OBF');
  kcs.bmcWriteData(0xfe);
  t.same(irqs, [0x81], 'no second interrupt while OBF stays set');
  t.equal(await client.read(1), 0x81, 'status read has no side effect');
  t.equal(await client.read(1), 0x81);
  t.equal(await client.read(0), 0xfe, 'ODR read returns the data...');
  t.equal(await client.read(1), 0x80, '...and clears OBF');
  t.same(kcs.log, [
    'host write command 0',
    'bmc read data -> 0',
    'host read status -> 8',
    'host write data 90',
    'bmc read data -> 90',
    'bmc write status 128',
    'host read status -> 128',
    'bmc write data 255',
    'bmc write data 254',
    'host read status -> 129',
    'host read status -> 129',
    'host read data -> 254',
    'host read status -> 128',
  ], 'one model access per request, nothing extra');
});

t.test('pipelined requests are answered in order, even split byte by byte', async (t) => {
  const { kcs, client, server } = memorySetup({ split: true });
  kcs.bmcWriteStatus(0x40);
  const results = await Promise.all([
    client.read(1),
    client.write(0, 1),
    client.read(1),
    client.write(1, 2),
    client.read(1),
  ]);
  t.same(results, [0x40, 0x42, 0x42, 0x4a, 0x4a]);
  t.match(server.stats(), { framesIn: 5, reads: 3, writes: 2 });
  t.match(client.stats(), { requests: 5, replies: 5 });
});

t.test('an interrupt raised during a host access is sent when it happens, between replies', async (t) => {
  const { kcs, client } = memorySetup();
  // Firmware that answers every host write synchronously, within the access.
  kcs.on('ibf', () => {
    kcs.bmcReadData();
    kcs.bmcWriteData(0x02);
  });
  const order: string[] = [];
  client.on('interrupt', (s: number) => order.push(`irq ${s}`));
  const p1 = client.read(1).then((v) => order.push(`read ${v}`));
  const p2 = client.write(0, 0x01).then((v) => order.push(`ack ${v}`));
  const p3 = client.read(1).then((v) => order.push(`read ${v}`));
  await Promise.all([p1, p2, p3]);
  // The irq frame precedes the ack frame on the wire; the ack's STR already shows OBF.
  t.same(order, ['irq 1', 'read 0', 'ack 1', 'read 1']);
});

t.test('connect while OBF is set: hello then interrupt, so nothing is missed', async (t) => {
  const { kcs, chardev, server, path: p } = await socketServer(t, 2);
  kcs.bmcWriteData(0x01); // while nobody is connected
  t.equal(server.stats().interruptsWhileDisconnected, 1);
  const host = await rawHost(p);
  t.equal(await host.expect(6), '800102' + '900001');
  host.sock.destroy();
  await nextEvent(chardev, 'disconnect');

  const client = await KcsWireClient.open({ kind: 'unix', path: p }, { expectChannel: 2 });
  t.teardown(() => client.close());
  t.equal(client.stats().interrupts, 1, 'the reconnecting client got the 0x90 right after the hello');
  t.equal(await client.read(0), 1);
  t.equal(await client.read(1), 0);
});

t.test('drain(): a connected host gets to read the last ODR byte before the model goes away', async (t) => {
  const clock = new ManualClock();
  const { kcs, server, client } = memorySetup({ clock });
  await client.waitReady();
  t.equal(await server.drain({ clock }), true, 'nothing in ODR: at once');

  // The BMC's "going down" status update: STR, then the dummy that interrupts the host.
  kcs.bmcWriteStatus(0x00);
  kcs.bmcWriteData(0xff);
  let drained: boolean | null = null;
  void server.drain({ clock, timeoutMs: 1000 }).then((d) => (drained = d));
  await new Promise((r) => setImmediate(r));
  t.equal(drained, null, 'waits while OBF is set and a host is connected');
  t.equal(await client.read(1), 0x01, 'the host still gets answers meanwhile');
  t.equal(await client.read(0), 0xff, 'and reads the dummy');
  await new Promise((r) => setImmediate(r));
  t.equal(drained, true, 'done as soon as the host read ODR');

  // A host that does not read: the wait is bounded.
  kcs.bmcWriteData(0xff);
  const late = server.drain({ clock, timeoutMs: 1000 });
  clock.advance(999);
  await new Promise((r) => setImmediate(r));
  clock.advance(1);
  t.equal(await late, false, 'gives up after timeoutMs');
});

t.test('drain() ends when the host disconnects, and does not wait for one that is not there', async (t) => {
  const clock = new ManualClock();
  const { kcs, server, hostLink } = memorySetup({ clock });
  kcs.bmcWriteData(0xff);
  const d = server.drain({ clock, timeoutMs: 1000 });
  hostLink.disconnect();
  t.equal(await d, true, 'the host went away');
  t.equal(await server.drain({ clock, timeoutMs: 1000 }), true, 'no host: at once, OBF or not');
});

t.test('malformed frames get an error frame, are counted, and the stream stays aligned', async (t) => {
  const { kcs, server, path: p } = await socketServer(t);
  kcs.bmcWriteStatus(0x40);
  const host = await rawHost(p);
  host.sock.write(
    Buffer.from([
      [0x07, 0x00, 0x00], // unknown op
      [0x01, 0x02, 0x00], // reg out of range
      [0x81, 0x00, 0x00], // model→host op from the host
      [0x90, 0x00, 0x00], // model→host op from the host
      [0x02, 0x05, 0xaa], // write with reg out of range: must not touch the model
      [0x01, 0x01, 0x99], // valid read; value byte reserved and ignored
    ].flat()),
  );
  t.equal(
    await host.expect(3 * 7),
    '800101' + 'ee0107' + 'ee0201' + 'ee0381' + 'ee0390' + 'ee0202' + '810140',
  );
  t.match(server.stats(), { errorsUnknownOp: 1, errorsBadReg: 2, errorsWrongDirection: 2, reads: 1, writes: 0 });
  t.equal(kcs.idr, 0, 'the bad write did not reach the model');
  t.same(kcs.log, ['bmc write status 64', 'host read status -> 64'], 'only the valid read reached the model');
  host.sock.destroy();
});

t.test('a long run of malformed frames drops the connection (lost alignment)', async (t) => {
  const { chardev, server, path: p } = await socketServer(t);
  const host = await rawHost(p);
  const closed = new Promise((r) => host.sock.once('close', r));
  // One stray byte, then well-formed reads: the model sees [00 01 01][00 ...] forever.
  const stream = [0x00];
  for (let i = 0; i < 40; i++) stream.push(0x01, 0x01, 0x00);
  host.sock.write(Buffer.from(stream));
  await closed;
  t.equal(server.stats().resyncDisconnects, 1);
  t.equal(server.stats().errorsUnknownOp, 16, 'stopped at the 16th consecutive error');
  t.equal(host.bytes().length, 3 + 16 * 3, 'every error frame was delivered before the hang-up');
  t.equal(server.stats().reads, 0, 'no misaligned frame was executed');
  // A fresh connection is aligned again.
  const again = await rawHost(p);
  again.sock.write(Buffer.of(0x01, 0x01, 0x00));
  t.equal(await again.expect(6), '800101810100');
  again.sock.destroy();
  await nextEvent(chardev, 'disconnect');
});

t.test('disconnect mid-access: the partial frame is discarded, nothing is replayed', async (t) => {
  const { kcs, chardev, server, path: p } = await socketServer(t);
  const host = await rawHost(p);
  await host.expect(3);
  host.sock.write(Buffer.of(0x02, 0x01)); // a command write, missing its value byte
  await until(() => chardev.stats().bytesIn === 2);
  const gone = nextEvent(chardev, 'disconnect');
  host.sock.destroy();
  await gone;
  t.equal(server.stats().partialBytesDiscarded, 2);
  t.equal(kcs.str, 0, 'model untouched: IBF not set');
  t.same(kcs.log, []);
  // The next connection's first byte starts a new frame.
  const next = await rawHost(p);
  next.sock.write(Buffer.of(0x00)); // if the old partial frame had survived, this would complete [02 01 00]
  next.sock.write(Buffer.of(0x01, 0x00));
  t.equal(await next.expect(6), '800101' + 'ee0100');
  t.same(kcs.log, [], 'still untouched');
  next.sock.destroy();
  await nextEvent(chardev, 'disconnect');
});

t.test('SYNC restarts the session on the same connection', async (t) => {
  const { kcs, server, path: p } = await socketServer(t, 4);
  const host = await rawHost(p);
  host.sock.write(Buffer.of(0x03, 0x00, 0x5a));
  t.equal(await host.expect(9), '800104' + '83005a' + '800104', 'sync reply, then a fresh hello');
  kcs.bmcWriteData(0x07);
  host.sock.write(Buffer.of(0x03, 0x00, 0xa5));
  t.equal(
    hex(await until(() => host.bytes().length >= 21).then(() => host.bytes().subarray(9, 21))),
    '900001' + '8300a5' + '800104' + '900001',
    'with OBF set the new session gets its 0x90 too',
  );
  t.equal(server.stats().syncs, 2);
  t.same(kcs.log, ['bmc write data 7'], 'no register side effects');
  host.sock.destroy();
});

t.test('client resync(): stale, misaligned bytes are skipped, a new session starts', async (t) => {
  const { kcs, client, modelLink, server } = memorySetup({ split: true });
  t.ok(client.ready);
  t.equal(await client.read(1), 0);
  const protoErrors: string[] = [];
  client.on('protocol-error', (e: Error) => protoErrors.push(e.message));
  // OBF set before the resync: the new session must announce it.
  kcs.bmcWriteData(0x33);
  const irqs: number[] = [];
  client.on('interrupt', (s: number) => irqs.push(s));
  t.same(await client.resync(), { version: 1, channel: 3 });
  t.same(irqs, [0x01], '0x90 follows the new hello');
  t.ok(client.ready);
  t.equal(client.stats().syncs, 1);
  t.equal(server.stats().syncs, 1);
  t.equal(await client.read(0), 0x33);
  t.same(protoErrors, []);

  // Now with garbage in front of the reply: the hunt is byte-wise.
  modelLink.splitBytes = false;
  const origWrite = modelLink.write.bind(modelLink);
  let injected = false;
  modelLink.write = (data: Uint8Array) => {
    if (!injected) {
      injected = true;
      // Stale, misaligned bytes precede the real answer. (They never hold
      // 83 00 next to each other, so no cookie can match them by chance.)
      origWrite(Buffer.of(0x81, 0x00, 0x90, 0x00, 0x83));
    }
    return origWrite(data);
  };
  t.same(await client.resync(), { version: 1, channel: 3 });
  t.equal(await client.read(1), 0);
  t.same(protoErrors, []);
});

t.test('client resync() times out on the injected clock and can be retried', async (t) => {
  const clock = new ManualClock();
  const pair = memoryLinkPair();
  const client = new KcsWireClient(pair.b, { clock, timeoutMs: 200 });
  pair.a.on('connect', () => pair.a.write(encodeHello(1)));
  pair.connect();
  const first = client.resync();
  clock.advance(200);
  await t.rejects(first, { code: 'ETIMEDOUT' });
  // A model that answers the second SYNC (cookie echoed from the last frame sent).
  const second = client.resync();
  const sent = pair.b.sentBytes();
  const cookie = sent[sent.length - 1]!;
  t.equal(sent[sent.length - 3], 0x03, 'SYNC frame sent');
  pair.a.write(Buffer.of(0x83, 0x00, (cookie + 1) & 0xff)); // another cookie: not ours
  t.notOk(client.ready, 'still hunting');
  await t.rejects(client.read(1), { code: 'ENOTCONN', message: /resynchronising/ });
  pair.a.write(Buffer.concat([Buffer.of(0x83, 0x00, cookie), encodeHello(1)]));
  t.same(await second, { version: 1, channel: 1 });
  client.detach();
  t.equal(clock.pending, 0);
});

t.test('client: clear errors when not connected or disconnected mid-request', async (t) => {
  const clock = new ManualClock();
  const kcs = new FakeKcsChannel();
  const pair = memoryLinkPair();
  const server = new KcsWireServer(kcs, pair.a, { channel: 1 });
  const client = new KcsWireClient(pair.b, { clock });
  await t.rejects(client.read(1), { code: 'ENOTCONN', message: /no connection/ });
  await t.rejects(client.read(2), RangeError);
  await t.rejects(client.write(0, 256), RangeError);
  pair.connect();
  t.ok(client.ready);
  // Detach the server so requests go unanswered, then drop the line.
  server.detach();
  const p1 = client.read(1);
  const p2 = client.write(0, 1);
  await Promise.resolve();
  const disc = nextEvent(client, 'disconnect');
  pair.a.disconnect();
  await disc;
  await t.rejects(p1, { code: 'EDISCONNECTED', message: /may or may not have been applied/ });
  await t.rejects(p2, { code: 'EDISCONNECTED' });
  t.equal(client.stats().failedOnDisconnect, 2);
  await t.rejects(client.read(1), { code: 'ENOTCONN' });
  client.detach();
  await t.rejects(client.read(1), { code: 'ECLOSED' });
  t.equal(clock.pending, 0, 'no timers left');
});

t.test('client: timeouts on the injected clock keep later replies matched', async (t) => {
  const clock = new ManualClock();
  const pair = memoryLinkPair();
  const client = new KcsWireClient(pair.b, { clock, timeoutMs: 100 });
  // A hand-driven model: hello only, replies written by the test.
  pair.a.on('connect', () => pair.a.write(encodeHello(1)));
  pair.connect();
  t.ok(client.ready);
  const slow = client.read(1);
  await Promise.resolve();
  clock.advance(50);
  const next = client.write(0, 7);
  await Promise.resolve();
  clock.advance(50);
  await t.rejects(slow, { code: 'ETIMEDOUT' });
  t.equal(client.stats().timeouts, 1);
  // The late reply to the first request arrives, then the second's ack.
  pair.a.write(Buffer.concat([encodeReadReply(1, 0x33), encodeWriteAck(0, 0x02)]));
  t.equal(await next, 0x02, 'second request got its own reply, not the late one');
  t.equal(client.stats().lateReplies, 1);
  t.equal(client.outstanding, 0);
  client.detach();
  t.equal(clock.pending, 0);
});

t.test('client: error frames reject only the request they answer', async (t) => {
  const pair = memoryLinkPair();
  const client = new KcsWireClient(pair.b, { clock: new ManualClock() });
  pair.a.on('connect', () => pair.a.write(encodeHello(1)));
  pair.connect();
  const a = client.read(1);
  const b = client.read(0);
  await Promise.resolve();
  pair.a.write(Buffer.concat([encodeError(0x02, 0x01), encodeReadReply(0, 9)]));
  await t.rejects(a, { code: 'EREMOTE', details: { remoteCode: 2 }, message: /register out of range/ });
  t.equal(await b, 9);
  client.detach();
});

t.test('client: protocol violations drop the connection', async (t) => {
  const cases: Array<[string, Buffer, string]> = [
    ['version mismatch', encodeHello(1, 2), 'EVERSION'],
    ['unknown op', Buffer.concat([encodeHello(1), Buffer.of(0x42, 0, 0)]), 'EPROTO'],
    ['reply with nothing outstanding', Buffer.concat([encodeHello(1), encodeReadReply(0, 0)]), 'EPROTO'],
    ['interrupt before hello', encodeInterrupt(1), 'EPROTO'],
  ];
  for (const [name, bytes, code] of cases) {
    const pair = memoryLinkPair();
    const client = new KcsWireClient(pair.b, { clock: new ManualClock() });
    const errors: TransportError[] = [];
    client.on('protocol-error', (e: TransportError) => errors.push(e));
    const ready = client.waitReady();
    ready.catch(() => {});
    pair.a.on('connect', () => pair.a.write(bytes));
    pair.connect();
    t.type(errors[0], TransportError, `${name}: a transport error`);
    t.equal(errors[0]?.code, code, name);
    t.notOk(pair.b.connected, `${name}: connection dropped`);
    t.notOk(client.ready, `${name}: not ready`);
    if (code === 'EVERSION') await t.rejects(ready, { code: 'EVERSION', message: /version 2/ });
    await t.rejects(client.read(0), { code: 'ENOTCONN' });
    client.detach();
  }

  // A reply that does not match the oldest request (reg differs).
  const pair = memoryLinkPair();
  const client = new KcsWireClient(pair.b, { clock: new ManualClock() });
  pair.a.on('connect', () => pair.a.write(encodeHello(1)));
  pair.connect();
  const errors: TransportError[] = [];
  client.on('protocol-error', (e: TransportError) => errors.push(e));
  const r = client.read(1);
  await Promise.resolve();
  pair.a.write(encodeReadReply(0, 0));
  await t.rejects(r, { code: 'EDISCONNECTED' });
  t.match(errors[0]?.message, /does not match the oldest request/);
  client.detach();
});

t.test('client: channel check and hello timeout', async (t) => {
  const kcs = new FakeKcsChannel();
  const pair = memoryLinkPair();
  new KcsWireServer(kcs, pair.a, { channel: 4 });
  const client = new KcsWireClient(pair.b, { clock: new ManualClock(), expectChannel: 1 });
  const ready = client.waitReady();
  pair.connect();
  await t.rejects(ready, { code: 'ECHANNEL', message: /channel 4, expected 1/ });
  client.detach();

  const clock = new ManualClock();
  const silent = memoryLinkPair();
  const c2 = new KcsWireClient(silent.b, { clock, timeoutMs: 500 });
  const errs: string[] = [];
  c2.on('protocol-error', (e: TransportError) => errs.push(e.message));
  silent.connect();
  clock.advance(499);
  t.ok(silent.b.connected);
  clock.advance(1);
  t.notOk(silent.b.connected, 'no hello in time: connection dropped');
  t.match(errs[0], /no hello within 500 ms/);
  const w = c2.waitReady(100);
  clock.advance(100);
  await t.rejects(w, { code: 'ETIMEDOUT' });
  c2.detach();
});

t.test('client: a hello mid-stream restarts the stream', async (t) => {
  const pair = memoryLinkPair();
  const client = new KcsWireClient(pair.b, { clock: new ManualClock() });
  pair.a.on('connect', () => pair.a.write(encodeHello(1)));
  pair.connect();
  const r = client.read(1);
  await Promise.resolve();
  pair.a.write(encodeHello(1));
  await t.rejects(r, { code: 'EDISCONNECTED', message: /restarted/ });
  t.ok(client.ready, 'ready again on the new hello');
  client.detach();
});

t.test('over sockets: the client survives a model restart (reconnect) and a host restart', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'kcs.sock');
  const clock = new ManualClock();
  const kcs = new FakeKcsChannel();
  const start = async () => {
    const chardev = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server' });
    const server = new KcsWireServer(kcs, chardev, { channel: 1 });
    await chardev.listen();
    return { chardev, server };
  };
  let model = await start();
  const client = await KcsWireClient.open({ kind: 'unix', path: p }, { clock });
  t.teardown(() => client.close());
  t.equal(await client.write(0, 0x11), IBF);
  const disc = nextEvent(client, 'disconnect');
  model.server.detach();
  await model.chardev.close();
  await disc;
  await t.rejects(client.read(1), { code: 'ENOTCONN' });
  model = await start();
  t.teardown(() => model.chardev.close());
  await until(() => client.ready, { clock, step: 50, what: 'client reconnects' });
  t.equal(await client.read(1), IBF, 'state survived: the model is the same, only the wire restarted');
  t.equal(kcs.bmcReadData(), 0x11);
  t.equal(client.stats().hellos, 2);

  // A second host while one is attached is refused at the chardev level.
  const intruder = net.createConnection({ path: p });
  intruder.on('error', () => {});
  await new Promise((r) => intruder.once('close', r));
  t.equal(model.chardev.stats().refused, 1);
  t.equal(await client.read(1), 0, 'the attached host is unaffected');
});

t.test('over TCP, with the model as chardev client and the host as server', async (t) => {
  // QEMU can be either end of a chardev; the wire does not care which side listens.
  const hostChardev = new ChardevSocket({ endpoint: { kind: 'tcp', port: 0 }, role: 'server' });
  await hostChardev.listen();
  const client = new KcsWireClient(hostChardev);
  const kcs = new FakeKcsChannel();
  const modelChardev = new ChardevSocket({ endpoint: hostChardev.endpoint, role: 'client' });
  const server = new KcsWireServer(kcs, modelChardev, { channel: 1 });
  t.teardown(async () => {
    client.detach();
    server.detach();
    await modelChardev.close();
    await hostChardev.close();
  });
  const ready = client.waitReady();
  await modelChardev.connect();
  t.same(await ready, { version: 1, channel: 1 });
  kcs.bmcWriteData(0x42);
  const irq = await nextEvent<number>(client, 'interrupt');
  t.equal(irq, OBF);
  t.equal(await client.read(0), 0x42);
});

t.test('the example exchange in docs/kcs-wire.md is exactly what the model does', async (t) => {
  const doc = fs.readFileSync(
    path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'kcs-wire.md'),
    'utf8',
  );
  const section = doc.slice(doc.indexOf('## 9. Example exchange'), doc.indexOf('## 10.'));
  const documented = [...section.matchAll(/^([HM])→ ((?:[0-9a-f]{2} ){2}[0-9a-f]{2})/gm)].map((m) => `${m[1]} ${m[2]}`);
  t.ok(documented.length > 20, 'found the transcript in the doc');

  const kcs = new FakeKcsChannel();
  const pair = memoryLinkPair();
  new KcsWireServer(kcs, pair.a, { channel: 3 });
  const transcript: string[] = [];
  const decoder = new KcsFrameDecoder();
  pair.b.on('data', (chunk: Buffer) =>
    decoder.push(chunk, (op, reg, value) => {
      transcript.push(`M ${hex(Buffer.of(op, reg, value)).replace(/(..)(..)(..)/, '$1 $2 $3')}`);
    }),
  );
  const send = (...frames: number[][]) => {
    for (const f of frames) transcript.push(`H ${hex(Buffer.from(f)).replace(/(..)(..)(..)/, '$1 $2 $3')}`);
    pair.b.write(Buffer.from(frames.flat()));
  };
  pair.connect();
  send([0x01, 0x01, 0x00]);
  kcs.bmcWriteStatus(0x80); // BMC init
  kcs.bmcWriteData(0xff);
  send([0x01, 0x01, 0x00]);
  send([0x01, 0x00, 0x00]);
  send([0x02, 0x00, 0x00]);
  kcs.bmcReadData(); // BMC handles Initialise
  kcs.bmcWriteStatus(0xc1);
  kcs.bmcWriteData(0xff);
  send([0x01, 0x00, 0x00]);
  send([0x02, 0x01, 0xaa], [0x07, 0x00, 0x00], [0x01, 0x05, 0x00]);
  send([0x03, 0x00, 0x5a]);
  t.same(transcript, documented);
});

t.test('a host that floods SYNC and never reads is dropped at the output bound; memory returns', async (t) => {
  const bound = 32 * 1024;
  const { chardev, server, path: p } = await socketServer(t, 3, { maxQueuedBytes: bound });
  const host = await rawHost(p);
  host.sock.pause(); // sends, never reads (so it would not even notice the hang-up)
  t.teardown(() => host.sock.destroy());
  const gone = nextEvent(chardev, 'disconnect');
  const overflow = nextEvent<{ queuedBytes: number; maxQueuedBytes: number }>(chardev, 'overflow');
  // 10,000 SYNCs per write; each is answered with a SYNC reply and a hello (6 bytes).
  const burst = Buffer.alloc(3 * 10_000);
  for (let i = 0; i < burst.length; i += 3) burst.set([0x03, 0x00, i & 0xff], i);
  let sent = 0;
  let peak = 0;
  while (chardev.stats().overflowDisconnects === 0 && sent < 64 << 20) {
    host.sock.write(burst);
    sent += burst.length;
    await new Promise((r) => setImmediate(r));
    peak = Math.max(peak, chardev.queuedBytes);
  }
  const o = await overflow;
  await gone;
  t.ok(sent < 64 << 20, `dropped after ${sent} bytes of SYNC`);
  t.equal(o.maxQueuedBytes, bound);
  t.ok(peak <= bound + 2 * 64 * 1024, `the queue stayed bounded (peak seen ${peak})`);
  t.ok(server.stats().syncs > 0, 'it was answering until then');
  const s = chardev.stats();
  t.match(s, { overflowDisconnects: 1, connected: false, queuedBytes: 0 }, 'counted, and nothing is queued any more');
  t.ok(s.overflowBytesDiscarded > 0);
  // The wire is still served: a new host gets its hello and answers.
  const next = await rawHost(p);
  next.sock.write(Buffer.of(0x03, 0x00, 0x42));
  t.equal(await next.expect(9), '800103' + '830042' + '800103');
  next.sock.destroy();
  await nextEvent(chardev, 'disconnect');
});

t.test('the server holds at most a partial frame of input, however it is split', async (t) => {
  const { server, modelLink, hostLink } = memorySetup();
  const syncs = Buffer.alloc(3 * 1000 + 2);
  for (let i = 0; i + 3 <= syncs.length; i += 3) syncs.set([0x03, 0x00, 0x01], i);
  hostLink.write(syncs);
  t.equal(server.stats().syncs, 1000, 'every complete frame answered at once');
  t.equal(modelLink.sentBytes().length, 3 + 1000 * 6, 'and its replies written, not held');
  hostLink.disconnect();
  t.equal(server.stats().partialBytesDiscarded, 2, 'only the 2-byte tail was held');
});
