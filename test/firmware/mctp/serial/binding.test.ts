import t from 'tap';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SerialBinding } from '../../../../firmware/mctp/serial/binding.js';
import { SerialFrameDecoder, encodeFrame } from '../../../../firmware/mctp/serial/framer.js';
import { CoreLikePort, StallingStream, duplexPair, hex, prng, randInt, randomPacket, tick } from './helpers.js';

const GET_EID_PACKET = hex('01 00 08 c8 00 80 02');
const GET_EID_FRAME = hex('7e 01 07 01 00 08 c8 00 80 02 2b c1 7e');

function stat(b: SerialBinding, key: string): unknown {
  return b.stats()[key];
}

t.test('binding constants match the Linux driver', async (t) => {
  const b = new SerialBinding();
  t.equal(b.kind, 'serial');
  t.equal(b.hwAddrLen, 0);
  t.equal(b.hwAddr.length, 0);
  t.same(b.mtu, { initial: 68, min: 68, max: 68 });
  t.equal(b.carrier, false, 'no stream, no carrier');
  await b.close();
});

t.test('Get EID vector on the wire, both directions', async (t) => {
  const [ours, theirs] = duplexPair();
  const b = new SerialBinding({ stream: ours });
  const port = new CoreLikePort(b);
  const wire: Buffer[] = [];
  theirs.on('data', (c: Buffer) => wire.push(c));
  port.send(GET_EID_PACKET);
  await tick();
  t.same(Buffer.concat(wire), GET_EID_FRAME, 'transmitted frame');
  theirs.write(GET_EID_FRAME);
  await tick();
  t.same(port.received, [GET_EID_PACKET], 'received packet');
  t.equal(stat(b, 'txPackets'), 1);
  t.equal(stat(b, 'txBytes'), 7);
  t.equal(stat(b, 'txFrameBytes'), 13);
  t.equal(stat(b, 'rxPackets'), 1);
  await b.close();
});

t.test('packets both ways over an in-memory duplex pair', async (t) => {
  const [left, right] = duplexPair();
  const a = new SerialBinding({ stream: left });
  const b = new SerialBinding({ stream: right });
  const pa = new CoreLikePort(a);
  const pb = new CoreLikePort(b);
  t.same(pa.carrierLog, [true], 'carrier reported on attach');
  const rand = prng(42);
  const fromA = Array.from({ length: 200 }, () => randomPacket(rand, randInt(rand, 4, 68)));
  const fromB = Array.from({ length: 200 }, () => randomPacket(rand, randInt(rand, 4, 68)));
  pa.send(...fromA);
  pb.send(...fromB);
  for (let i = 0; i < 20 && (pb.received.length < 200 || pa.received.length < 200); i++) await tick();
  t.same(pb.received, fromA);
  t.same(pa.received, fromB);
  t.equal(pa.queue.length + pb.queue.length, 0);
  await Promise.all([a.close(), b.close()]);
});

t.test('backpressure: refused while write() says wait, nothing lost, txReady on drain', async (t) => {
  const stream = new StallingStream();
  const b = new SerialBinding({ stream });
  const port = new CoreLikePort(b);
  const rand = prng(3);
  const packets = Array.from({ length: 30 }, () => randomPacket(rand, randInt(rand, 4, 68)));
  port.send(...packets);
  t.equal(stream.written.length, 1, 'first write accepted, then write() returned false');
  t.equal(port.queue.length, 29, 'the core kept the rest');
  t.equal(port.refusals, 1);
  t.equal(stat(b, 'txBlocked'), true);

  for (let rounds = 0; rounds < 100 && (port.queue.length > 0 || stream.writableLength > 0); rounds++) {
    stream.release();
    await tick();
  }
  t.equal(port.queue.length, 0, 'everything transmitted');
  t.equal(port.txReadyCalls, 30 - 1, 'txReady once per refusal-and-drain');
  t.ok((stat(b, 'txRefused') as number) >= 29);
  t.equal(stat(b, 'txBackpressure'), 30);

  const decoded: Buffer[] = [];
  const d = new SerialFrameDecoder((p) => decoded.push(p));
  for (const w of stream.written) d.push(w);
  t.same(decoded, packets, 'all frames written, in order');
  await b.close();
});

t.test('oversize transmit is dropped and counted (tx_dropped)', async (t) => {
  const [ours, theirs] = duplexPair();
  const b = new SerialBinding({ stream: ours });
  const port = new CoreLikePort(b);
  const wire: Buffer[] = [];
  theirs.on('data', (c: Buffer) => wire.push(c));
  t.equal(b.transmit(Buffer.alloc(69)), true, 'taken (and dropped), not refused');
  port.send(Buffer.alloc(68, 0x11));
  await tick();
  t.equal(stat(b, 'txDropped'), 1);
  t.same(Buffer.concat(wire), encodeFrame(Buffer.alloc(68, 0x11)), 'only the 68-byte packet went out');
  await b.close();
});

t.test('carrier follows the stream: end, error, close, reattach', async (t) => {
  const b = new SerialBinding();
  const port = new CoreLikePort(b);
  t.same(port.carrierLog, [false]);

  // Peer hangs up (end).
  const [s1, peer1] = duplexPair();
  b.attachStream(s1);
  t.equal(b.carrier, true);
  peer1.end();
  await tick();
  t.equal(b.carrier, false, "down on the peer's end");
  t.ok(s1.destroyed, 'the binding destroyed the dead stream');

  // An error is counted, never thrown, and takes carrier down.
  const s2 = new PassThrough();
  b.attachStream(s2);
  t.equal(b.carrier, true);
  s2.destroy(new Error('EIO: line fault'));
  await tick();
  t.equal(b.carrier, false, 'down on error');
  t.equal(stat(b, 'streamErrors'), 1);
  t.equal(stat(b, 'lastError'), 'EIO: line fault');

  // A plain close.
  const s3 = new PassThrough();
  b.attachStream(s3);
  s3.destroy();
  await tick();
  t.equal(b.carrier, false, 'down on close');

  // While down, packets are dropped and counted, not refused.
  t.equal(b.transmit(hex('01 00 08 c8')), true);
  t.equal(stat(b, 'txNoCarrier'), 1);

  // Replacing a live stream destroys the old one.
  const s4 = new PassThrough();
  const s5 = new PassThrough();
  b.attachStream(s4);
  b.attachStream(s5);
  t.ok(s4.destroyed);
  t.equal(b.carrier, true);
  t.same(port.carrierLog, [false, true, false, true, false, true, false, true, false, true]);
  t.equal(stat(b, 'streamsAttached'), 5);

  // An already-dead stream never raises carrier.
  const dead = new PassThrough();
  dead.destroy();
  b.attachStream(dead);
  t.equal(b.carrier, false);

  await b.close();
  t.throws(() => b.attachStream(new PassThrough()), /after close/);
});

t.test('a refused packet is offered again when a new stream comes up', async (t) => {
  const stalled = new StallingStream();
  const b = new SerialBinding({ stream: stalled });
  const port = new CoreLikePort(b);
  port.send(hex('01 00 08 c8 01'), hex('01 00 08 c8 02'));
  t.equal(port.queue.length, 1, 'second packet refused');
  stalled.destroy();
  await tick();
  t.equal(b.carrier, false);
  const [ours, theirs] = duplexPair();
  const wire: Buffer[] = [];
  theirs.on('data', (c: Buffer) => wire.push(c));
  b.attachStream(ours);
  await tick();
  t.equal(port.txReadyCalls, 1, 'txReady after carrier up');
  t.same(Buffer.concat(wire), encodeFrame(hex('01 00 08 c8 02')));
  await b.close();
});

t.test('receive errors: FCS counted as rx_crc_errors + rx_dropped; a throwing core is contained', async (t) => {
  const [ours, theirs] = duplexPair();
  const b = new SerialBinding({ stream: ours });
  const port = new CoreLikePort(b);
  const bad = Buffer.from(GET_EID_FRAME);
  bad[bad.length - 2] = 0;
  theirs.write(bad);
  await tick();
  t.equal(stat(b, 'rxCrcErrors'), 1);
  t.equal(stat(b, 'rxDropped'), 1);

  let first = true;
  port.onReceive = () => {
    if (first) {
      first = false;
      throw new Error('core bug');
    }
  };
  theirs.write(Buffer.concat([GET_EID_FRAME, GET_EID_FRAME]));
  await tick();
  t.equal(port.received.length, 2, 'both delivered');
  t.equal(stat(b, 'rxHandlerErrors'), 1);
  t.equal(stat(b, 'lastError'), 'core bug');
  t.equal(b.carrier, true, 'link unaffected');
  await b.close();
});

t.test('administratively down: input ignored, output dropped', async (t) => {
  const [ours, theirs] = duplexPair();
  const b = new SerialBinding({ stream: ours });
  const port = new CoreLikePort(b);
  b.setUp(false);
  theirs.write(GET_EID_FRAME);
  await tick();
  t.equal(port.received.length, 0);
  t.equal(stat(b, 'rxBytesWhileDown'), 13);
  t.equal(b.transmit(GET_EID_PACKET), true);
  t.equal(stat(b, 'txNoCarrier'), 1);
  b.setUp(true);
  theirs.write(GET_EID_FRAME);
  await tick();
  t.same(port.received, [GET_EID_PACKET]);
  await b.close();
});

t.test('over a node:net UNIX socket: connect raises carrier, hang-up drops it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bmcemu-serial-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'chardev.sock');
  const server = net.createServer();
  server.listen(path);
  await once(server, 'listening');
  const accepted = once(server, 'connection');

  const bmc = new SerialBinding();
  const bmcPort = new CoreLikePort(bmc);
  const client = net.createConnection(path);
  bmc.attachStream(client);
  t.equal(bmc.carrier, false, 'not up while connecting');
  await once(client, 'connect');
  t.equal(bmc.carrier, true, 'up on connect');

  const [serverSide] = (await accepted) as [net.Socket];
  const host = new SerialBinding({ stream: serverSide });
  const hostPort = new CoreLikePort(host);
  t.equal(host.carrier, true, 'an accepted socket is up at once');

  const rand = prng(11);
  const fromBmc = Array.from({ length: 100 }, () => randomPacket(rand, randInt(rand, 4, 68)));
  const fromHost = Array.from({ length: 100 }, () => randomPacket(rand, randInt(rand, 4, 68)));
  bmcPort.send(...fromBmc);
  hostPort.send(...fromHost);
  for (let i = 0; i < 200 && (hostPort.received.length < 100 || bmcPort.received.length < 100); i++) await tick();
  t.same(hostPort.received, fromBmc);
  t.same(bmcPort.received, fromHost);

  serverSide.destroy();
  await once(client, 'close');
  await tick();
  t.equal(bmc.carrier, false, 'down after the other end hung up');
  t.same(bmcPort.carrierLog, [false, true, false]);
  t.equal(host.carrier, false);

  await Promise.all([bmc.close(), host.close()]);
  server.close();
  await once(server, 'close');
});

t.test('streams still opening: carrier waits for open; a failed connect is counted', async (t) => {
  // @serialport/stream reports isOpen = false until it emits 'open'.
  const opening = Object.assign(new PassThrough(), { isOpen: false });
  const b = new SerialBinding({ stream: opening });
  const port = new CoreLikePort(b);
  t.equal(b.carrier, false, 'down while opening');
  opening.isOpen = true;
  opening.emit('open');
  t.equal(b.carrier, true, 'up on open');

  const dir = mkdtempSync(join(tmpdir(), 'bmcemu-serial-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const refused = net.createConnection(join(dir, 'nobody-listens.sock'));
  b.attachStream(refused);
  t.equal(b.carrier, false, 'down while connecting');
  // Not events.once(): it would reject on the very 'error' under test.
  await new Promise((resolve) => refused.on('close', resolve));
  t.equal(b.carrier, false, 'never came up');
  t.equal(stat(b, 'streamErrors'), 1, 'connect error counted, not thrown');
  t.match(stat(b, 'lastError'), /ENOENT|ECONNREFUSED/);
  t.same(port.carrierLog, [false, true, false]);
  await b.close();
});
