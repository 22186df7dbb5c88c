/**
 * Packets over an active channel: buffer format, ownership (one packet in
 * flight per direction), flow control, large messages, corrupted packets
 * (libmctp: simple_message_*, packetised_message_bmc_to_host,
 * tx_before_channel_init, send_large_packet, corrupt CRC cases).
 */
import t from 'tap';
import { crc32 } from '../../../../lib/crc32.js';
import { Harness, packetise, pattern, reassemble } from './harness.js';

const pkt = (len: number, seed = 1, dest = 9, src = 8): Buffer => {
  const p = pattern(len, seed);
  p[0] = 0x01;
  p[1] = dest;
  p[2] = src;
  p[3] = 0xc8; // SOM | EOM | TO, tag 0
  return p;
};

t.test('BMC → host, one packet (v3): buffer bytes, Rx Complete before delivery', async (t) => {
  const h = new Harness();
  await h.up({ mtu: 68 }, { mtu: 68 });
  h.kcs.trace.length = 0;
  h.window.clearLog();
  const p = pkt(68);
  let traceAtDelivery: string[] = [];
  h.hostPort.onReceive = () => {
    traceAtDelivery = [...h.kcs.trace];
  };
  t.equal(h.bmc!.transmit(p), true);
  t.same(h.window.accesses('bmc', 'w'), ['w 4@0x100', 'w 72@0x104'], 'length prefix, then packet + CRC');
  t.equal(h.window.buf.readUInt32BE(0x100), 68);
  t.same(h.window.buf.subarray(0x104, 0x104 + 68), p);
  t.equal(h.window.buf.readUInt32BE(0x104 + 68), crc32(p), 'CRC-32 BE after the packet');
  t.same(h.bmc!.stats().buffers, { tx: 'prepared', rx: 'released' });
  await h.settle();
  t.same(h.window.accesses('host', 'r').slice(-2), ['r 4@0x100', 'r 72@0x104']);
  t.same(h.kcs.trace, ['bmc:odr<-0x01', 'host:odr->0x01', 'host:idr<-0x02', 'bmc:idr->0x02']);
  t.equal(traceAtDelivery.at(-1), 'host:idr<-0x02', 'Rx Complete written before the core saw the packet');
  t.same(h.hostPort.received, [p]);
  t.same(h.bmc!.stats().buffers, { tx: 'acquired', rx: 'released' });
  t.equal(h.host!.counter('rx-packets'), 1);
  t.equal(h.bmc!.counter('tx-done'), 1);
});

t.test('host → BMC, one packet: the libmctp register trace (mtu 64, v3)', async (t) => {
  const h = new Harness();
  await h.up({ mtu: 68 }, { mtu: 68 });
  h.kcs.trace.length = 0;
  h.window.clearLog();
  const p = pkt(68, 2, 8, 9);
  t.equal(h.host!.transmit(p), true);
  await h.settle();
  t.same(h.window.accesses('host', 'w'), ['w 4@0x14c', 'w 72@0x150'], 'len at 0x14c, 72 bytes at 0x150');
  t.same(h.window.accesses('bmc', 'r'), ['r 4@0x14c', 'r 72@0x150']);
  t.same(h.kcs.trace, ['host:idr<-0x01', 'bmc:idr->0x01', 'bmc:odr<-0x02', 'host:odr->0x02']);
  t.same(h.bmcPort.received, [p]);
});

t.test('v1 and v2 carry no CRC trailer', async (t) => {
  for (const max of [1, 2]) {
    const h = new Harness();
    await h.up({ versions: { min: 1, max } }, {});
    h.window.clearLog();
    const p = pkt(68);
    h.bmc!.transmit(p);
    await h.settle();
    t.same(h.window.accesses('bmc', 'w'), ['w 4@0x100', 'w 68@0x104'], `v${max}: packet only`);
    t.same(h.hostPort.received, [p]);
    h.host!.transmit(p);
    await h.settle();
    t.same(h.bmcPort.received, [p]);
  }
});

t.test('one packet in flight: busy refusal and txReady', async (t) => {
  const h = new Harness();
  await h.up();
  h.kcs.holdHostEvents = true; // the host does not look yet
  const a = pkt(100, 1);
  const b = pkt(100, 2);
  t.equal(h.bmc!.transmit(a), true);
  t.equal(h.bmc!.transmit(b), false, 'second packet refused while the first is in flight');
  t.equal(h.bmc!.counter('tx-refused:busy'), 1);
  await h.settle();
  t.equal(h.bmcPort.txReadyCount, 0, 'no Rx Complete yet');
  h.kcs.releaseHostEvents();
  await h.settle();
  t.equal(h.bmcPort.txReadyCount, 1, 'txReady once the host handed the buffer back');
  t.equal(h.bmc!.transmit(b), true);
  await h.settle();
  t.same(h.hostPort.received, [a, b]);
  t.equal(h.bmcPort.txReadyCount, 1, 'no txReady when nothing was refused');
});

t.test('transmit before the channel is up', async (t) => {
  const h = new Harness();
  const bmc = h.makeBmc();
  bmc.setUp(true);
  await h.settle();
  t.equal(bmc.transmit(pkt(20)), false);
  t.equal(bmc.counter('tx-refused:no-carrier'), 1);
  h.makeHost().setUp(true);
  await h.settle();
  t.equal(h.bmcPort.txReadyCount, 1, 'txReady after carrier comes up');
  t.same(h.bmcPort.carrierLog, [true]);
  t.equal(bmc.transmit(pkt(20)), true);
});

t.test('oversized transmit is dropped and counted', async (t) => {
  const h = new Harness();
  await h.up({ mtu: 68 });
  t.equal(h.bmc!.transmit(pkt(69)), true, 'taken (libmctp: -EMSGSIZE, dropped)');
  t.equal(h.bmc!.counter('tx-drop:length'), 1);
  t.equal(h.bmc!.transmit(Buffer.from([1, 2])), true);
  t.equal(h.bmc!.counter('tx-drop:length'), 2);
  t.equal(h.bmc!.transmit(pkt(68)), true, 'still usable');
});

t.test('packetised message BMC → host', async (t) => {
  const h = new Harness();
  await h.up({ mtu: 68 });
  const msg = pattern(128);
  const packets = packetise(msg, 68, 9, 8);
  t.equal(packets.length, 2);
  t.equal(h.bmc!.transmit(packets[0]!), true);
  await h.settle();
  t.equal(h.bmc!.transmit(packets[1]!), true);
  await h.settle();
  t.same(reassemble(h.hostPort.received), msg);
});

t.test('large messages, both directions, intact', async (t) => {
  const big = pattern(64 * 1024, 3);
  t.test('64 KiB in MTU-68 packets', async (t) => {
    const h = new Harness();
    await h.up({ mtu: 68 });
    const down = packetise(big, 68, 9, 8);
    t.equal(down.length, 1024);
    await h.sendAll(h.bmc!, down);
    t.equal(h.hostPort.received.length, 1024);
    t.same(reassemble(h.hostPort.received), big, 'BMC → host');
    const up = packetise(big, 68, 8, 9);
    await h.sendAll(h.host!, up);
    t.same(reassemble(h.bmcPort.received), big, 'host → BMC');
    t.equal(h.bmc!.counter('rx-packets'), 1024);
    t.equal(h.bmc!.counter('tx-refused:busy'), 1023, 'each back-to-back packet waited for Rx Complete');
    t.equal(h.bmcPort.txReadyCount, 1023);
  });
  t.test('64 KiB in 32772-byte packets (skiboot MTU)', async (t) => {
    const h = new Harness();
    await h.up({}, { mtu: 32772 });
    const up = packetise(big, 32772, 8, 9);
    t.equal(up.length, 2);
    t.equal(up[0]!.length, 32772);
    await h.sendAll(h.host!, up);
    t.same(reassemble(h.bmcPort.received), big);
    const down = packetise(big, 32772, 9, 8);
    await h.sendAll(h.bmc!, down);
    t.same(reassemble(h.hostPort.received), big);
  });
  t.test('both directions at once, asynchronous ports', async (t) => {
    const h = new Harness({ async: true });
    await h.up({ mtu: 68 });
    const msg = pattern(8 * 1024, 5);
    const down = packetise(msg, 68, 9, 8);
    const up = packetise(msg, 68, 8, 9);
    await Promise.all([h.sendAll(h.bmc!, down), h.sendAll(h.host!, up)]);
    t.same(reassemble(h.hostPort.received), msg);
    t.same(reassemble(h.bmcPort.received), msg);
  });
});

t.test('receive-side drops', async (t) => {
  t.test('bad CRC: dropped after Rx Complete', async (t) => {
    const h = new Harness();
    await h.up({ mtu: 68 });
    h.kcs.holdBmcEvents = true;
    const p = pkt(40, 2, 8, 9);
    h.host!.transmit(p);
    await h.settle();
    h.window.buf[0x150 + 40 + 3]! ^= 0x80; // flip a CRC bit
    h.kcs.releaseBmcEvents();
    await h.settle();
    t.equal(h.bmc!.counter('rx-drop:crc'), 1);
    t.same(h.bmcPort.received, []);
    t.ok(h.kcs.trace.includes('bmc:odr<-0x02'), 'Rx Complete was sent');
    t.same(h.host!.stats().buffers, { tx: 'acquired', rx: 'released' }, 'sender can go on');
    h.host!.transmit(p);
    await h.settle();
    t.same(h.bmcPort.received, [p], 'next packet delivered');
  });
  t.test('payload corruption is caught by the CRC too', async (t) => {
    const h = new Harness();
    await h.up({ mtu: 68 });
    h.kcs.holdHostEvents = true;
    h.bmc!.transmit(pkt(60));
    await h.settle();
    h.window.buf[0x104 + 30]! ^= 0xff;
    h.kcs.releaseHostEvents();
    await h.settle();
    t.equal(h.host!.counter('rx-drop:crc'), 1);
    t.same(h.hostPort.received, []);
  });
  t.test('header version != 1: dropped after Rx Complete', async (t) => {
    const h = new Harness();
    await h.up({ mtu: 68, versions: { min: 1, max: 2 } });
    h.kcs.holdBmcEvents = true;
    h.host!.transmit(pkt(40, 2, 8, 9));
    await h.settle();
    t.equal(h.window.buf.readUInt32BE(0x18), 0x148, 'v2 BMC layout: 72-byte buffers, host→BMC at 0x148');
    h.window.buf[0x148 + 4] = 0x11;
    h.kcs.releaseBmcEvents();
    await h.settle();
    t.equal(h.bmc!.counter('rx-drop:hdr-version'), 1);
    t.ok(h.kcs.trace.includes('bmc:odr<-0x02'));
    t.same(h.bmcPort.received, []);
  });
  t.test('length over the buffer / 0xFFFFFFFF: dropped without Rx Complete', async (t) => {
    const h = new Harness();
    await h.up({ mtu: 68 });
    for (const len of [69, 0xffffffff, 0x80000000]) {
      h.kcs.trace.length = 0;
      h.window.buf.writeUInt32BE(len, 0x14c);
      h.kcs.hostWriteData(0x01);
      await h.settle();
      t.notOk(h.kcs.trace.includes('bmc:odr<-0x02'), `len ${len}: no Rx Complete`);
    }
    t.equal(h.bmc!.counter('rx-drop:length'), 3);
    t.same(h.bmc!.stats().buffers, { tx: 'acquired', rx: 'released' }, 'still accepting Tx Begin');
    t.same(h.window.oob, []);
    const p = pkt(68, 4, 8, 9);
    h.host!.transmit(p);
    await h.settle();
    t.same(h.bmcPort.received, [p], 'a proper packet still gets through');
  });
  t.test('runt packet (< 4 bytes): dropped after Rx Complete', async (t) => {
    const h = new Harness();
    await h.up({ mtu: 68 });
    h.window.buf.writeUInt32BE(2, 0x14c);
    h.kcs.hostWriteData(0x01);
    await h.settle();
    t.equal(h.bmc!.counter('rx-drop:short'), 1);
    t.ok(h.kcs.trace.includes('bmc:odr<-0x02'));
  });
});

t.test('protocol errors are counted and ignored', async (t) => {
  const h = new Harness();
  await h.up({ mtu: 68 });
  h.kcs.holdHostEvents = true;
  h.kcs.hostWriteData(0x02); // Rx Complete with nothing in flight
  await h.settle();
  t.equal(h.bmc!.counter('cmd-drop:protocol'), 1);
  // Tx Begin while the BMC still owes an Rx Complete (its ODR is full).
  h.kcs.odr = 0x55;
  h.kcs.str |= 0x01;
  h.window.buf.writeUInt32BE(8, 0x14c);
  Buffer.from([1, 8, 9, 0xc8, 0, 0, 0, 0]).copy(h.window.buf, 0x150);
  h.window.buf.writeUInt32BE(crc32(h.window.buf.subarray(0x150, 0x158)), 0x158);
  h.kcs.hostWriteData(0x01);
  await h.settle();
  t.same(h.bmc!.stats().buffers, { tx: 'acquired', rx: 'prepared' }, 'Rx Complete deferred: OBF set');
  t.ok(h.bmc!.counter('cmd-deferred') >= 1);
  h.kcs.hostWriteData(0x01);
  await h.settle();
  t.equal(h.bmc!.counter('cmd-drop:protocol'), 2, 'second Tx Begin while rx prepared');
  t.equal(h.bmcPort.received.length, 1, 'the first packet was still delivered');
  // The host reads ODR: OBF clears and the deferred Rx Complete goes out.
  h.kcs.hostReadData();
  await h.settle();
  t.equal(h.kcs.odr, 0x02);
  t.same(h.bmc!.stats().buffers, { tx: 'acquired', rx: 'released' });
});

t.test('deferred commands retry on the timer without events', async (t) => {
  const h = new Harness({ hostStatusEvents: false });
  await h.up({ mtu: 68 });
  // The BMC's IDR is full (host wrote a dummy the BMC has not read yet): the
  // host's Tx Begin must wait for IBF to clear.
  h.kcs.holdBmcEvents = true;
  h.kcs.hostWriteData(0xff);
  const p = pkt(30, 1, 8, 9);
  t.equal(h.host!.transmit(p), true);
  await h.settle();
  t.same(h.host!.stats().buffers, { tx: 'prepared', rx: 'released' });
  h.kcs.releaseBmcEvents(); // BMC reads the 0xFF; no 'status' event reaches the host
  await h.settle();
  t.same(h.host!.stats().buffers, { tx: 'prepared', rx: 'released' }, 'still waiting');
  await h.advance(5);
  await h.advance(5);
  t.same(h.bmcPort.received, [p], 'sent after the retry timer');
  t.equal(h.bmc!.counter('cmd:dummy'), 1, 'a dummy from the host is ignored');
});
