/** Two stacks joined by an in-memory link: whole messages both ways, and packet capture of the traffic. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MCTP_NET_ANY, MCTP_ADDR_ANY, MCTP_TAG_OWNER } from '../../../firmware/mctp/constants.js';
import { PcapWriter, pcapFileHeader, pcapRecord, preciseWallClock } from '../../../firmware/mctp/pcap.js';
import { pairedStacks } from './helpers.js';


for (const mtu of [68, 4096]) {
  t.test(`64 KiB messages each way at MTU ${mtu}`, async (t) => {
    const { bmc, host } = pairedStacks({ mtu });
    const echo = host.socket();
    echo.bind({ net: MCTP_NET_ANY, eid: MCTP_ADDR_ANY, type: 0x7e, tag: 0 });
    const client = bmc.socket();
    const payload = Buffer.alloc(65535);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    client.sendto(payload, { net: 1, eid: 9, type: 0x7e, tag: MCTP_TAG_OWNER });
    const req = await echo.recvfrom();
    t.ok(req.data.equals(payload), 'BMC -> host intact');
    echo.sendto(req.data, { ...req.addr, tag: req.addr.tag & ~MCTP_TAG_OWNER });
    const resp = await client.recvfrom();
    t.ok(resp.data.equals(payload), 'host -> BMC intact');
    t.equal(bmc.interface('mctp0').counters.txPackets, Math.ceil(65536 / (mtu - 4)));
    t.equal(bmc.keys.size, 0, 'the response released the tag');
    await bmc.close();
    await host.close();
  });
}

t.test('pcap capture is Linux cooked (SLL, 0x00FA), as tcpdump -i mctpN writes it', async (t) => {
  const dir = t.testdir();
  const { bmc, host } = pairedStacks();
  const file = join(dir, 'mctp0.pcap');
  const cap = new PcapWriter(file, { now: () => 1700000000123.456 });
  bmc.interface('mctp0').addTap(cap);
  const srv = host.socket();
  srv.bind({ net: 1, eid: 9, type: 0, tag: 0 });
  bmc.socket().sendto(Buffer.from([0x80, 0x02]), { net: 1, eid: 9, type: 0, tag: MCTP_TAG_OWNER });
  const req = await srv.recvfrom();
  srv.sendto(Buffer.from([0x00, 0x02, 0x00, 0x09, 0x00, 0x00]), { ...req.addr, tag: req.addr.tag & 7 });
  await new Promise((r) => setImmediate(r));
  cap.close();
  const f = readFileSync(file);
  t.same(f.subarray(0, 24), pcapFileHeader());
  t.same([...f.subarray(0, 4)], [0xd4, 0xc3, 0xb2, 0xa1], 'little-endian magic a1b2c3d4');
  t.equal(f.readUInt32LE(20), 113, 'LINKTYPE_LINUX_SLL');
  t.equal(f.readUInt32LE(16), 262144, 'tcpdump snaplen');
  // First record: the outgoing Get Endpoint ID request.
  let off = 24;
  t.equal(f.readUInt32LE(off), 1700000000);
  t.equal(f.readUInt32LE(off + 4), 123456);
  const len = f.readUInt32LE(off + 8);
  t.equal(len, 16 + 7);
  const sll = f.subarray(off + 16, off + 32);
  t.same([...sll], [0, 4, 0x01, 0x22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xfa], 'outgoing, ARPHRD_MCTP, no lladdr, ETH_P_MCTP');
  t.same([...f.subarray(off + 32, off + 39)], [0x01, 0x09, 0x08, 0xc8, 0x00, 0x80, 0x02]);
  off += 16 + len;
  t.equal(f.readUInt16BE(off + 16), 0, 'second record is incoming (PACKET_HOST)');
  t.same([...f.subarray(off + 32, off + 36)], [0x01, 0x08, 0x09, 0x40 | 0x80], 'response header: TO clear');
  t.equal(off + 16 + f.readUInt32LE(off + 8), f.length, 'two records');
  t.equal(cap.packets, 2);
  await bmc.close();
  await host.close();
});

t.test('pcap records keep microseconds', async (t) => {
  const rec = (timeMs: number): [number, number] => {
    const b = pcapRecord('out', Buffer.from([1, 9, 8, 0xc8]), timeMs);
    return [b.readUInt32LE(0), b.readUInt32LE(4)];
  };
  t.same(rec(1700000000123.456), [1700000000, 123456]);
  t.same(rec(1700000000000.001), [1700000000, 1]);
  t.same(rec(1700000000999.9996), [1700000001, 0], 'rounds up into the next second, never to 1000000 µs');
  t.same(rec(1700000000123), [1700000000, 123000]);

  // The default clock of PcapWriter: real microseconds, not Date.now()'s whole milliseconds.
  const file = join(t.testdir(), 'us.pcap');
  const cap = new PcapWriter(file);
  const before = Date.now();
  for (let i = 0; i < 8; i++) {
    cap.packet('out', Buffer.from([1, 9, 8, 0xc8, i]));
    await new Promise((r) => setImmediate(r));
  }
  const after = Date.now();
  cap.close();
  const f = readFileSync(file);
  const usecs: number[] = [];
  for (let off = 24; off < f.length; off += 16 + f.readUInt32LE(off + 8)) {
    const us = f.readUInt32LE(off) * 1e6 + f.readUInt32LE(off + 4);
    t.ok(us >= (before - 2) * 1000 && us <= (after + 2) * 1000, 'wall-clock time');
    usecs.push(f.readUInt32LE(off + 4));
  }
  t.equal(usecs.length, 8);
  t.ok(usecs.some((u) => u % 1000 !== 0), `sub-millisecond fields: ${usecs.join(' ')}`);
});

t.test('preciseWallClock: microseconds from the monotonic clock, anchored to the wall clock', async (t) => {
  let wall = 1700000000000;
  let mono = 5000.25;
  const now = preciseWallClock({ wallMs: () => wall, monoMs: () => mono });
  mono += 0.125;
  t.equal(now(), 1700000000000.125, 'the fraction Date.now() drops');
  mono += 2.5;
  wall += 2;
  t.equal(now(), 1700000000002.625);
  // The wall clock is stepped (NTP, a suspend): follow it, do not keep a drifting copy.
  wall += 60_000;
  mono += 0.5;
  t.equal(now(), 1700000060002, 're-anchored on the wall clock');
  mono += 0.3;
  t.equal(now(), 1700000060002.3);
});
