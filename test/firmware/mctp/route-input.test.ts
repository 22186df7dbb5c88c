/**
 * The receive-path scenarios of Linux's KUnit suite mctp-route
 * (net/mctp/test/route-test.c), as tables over this stack.
 */
import t from 'tap';
import { MCTP_ADDR_ANY, MCTP_NET_ANY, MCTP_OPT_ADDR_EXT, MSG_DONTWAIT, SOL_MCTP } from '../../../firmware/mctp/constants.js';
import { MctpStack } from '../../../firmware/mctp/stack.js';
import type { MctpSocket } from '../../../firmware/mctp/socket.js';
import { ManualClock } from '../../../lib/clock.js';
import { TestBinding, pkt, setup, type PktSpec } from './helpers.js';

/** Everything queued on a socket right now, as payload lengths incl. the type byte (KUnit counts it). */
async function drain(sock: MctpSocket): Promise<number[]> {
  const lens: number[] = [];
  for (;;) {
    try {
      const r = await sock.recvfrom({ flags: MSG_DONTWAIT });
      lens.push(r.data.length + 1);
    } catch {
      return lens;
    }
  }
}

t.test('mctp_test_rx_input: header validation and route lookup', async (t) => {
  const cases: Array<{ name: string; h: PktSpec; drop: string | null }> = [
    { name: 'ver 1, src 10, dest 8', h: { src: 10, dest: 8 }, drop: null },
    { name: 'dest 9 has no route', h: { src: 10, dest: 9 }, drop: 'no-route' },
    { name: 'version 2', h: { ver: 2 }, drop: 'bad-version' },
    { name: 'reserved upper nibble in version byte', h: { ver: 0x11 }, drop: 'bad-version' },
    { name: 'src 255', h: { src: 255 }, drop: 'bad-src' },
    { name: 'src 5 (reserved)', h: { src: 5 }, drop: 'bad-src' },
    { name: 'dest 3 (reserved)', h: { dest: 3 }, drop: 'bad-dest' },
    { name: 'dest 255 broadcast: valid, but never routed', h: { dest: 255 }, drop: 'no-route' },
  ];
  for (const c of cases) {
    const { stack, binding, dev } = setup();
    const sock = stack.socket();
    sock.bind({ net: MCTP_NET_ANY, eid: MCTP_ADDR_ANY, type: 0, tag: 0 });
    binding.inject(pkt(c.h));
    const delivered = (await drain(sock)).length;
    if (c.drop === null) {
      t.equal(delivered, 1, `${c.name}: delivered`);
      t.equal(dev.counters.rxDropped, 0, `${c.name}: nothing dropped`);
    } else {
      t.equal(delivered, 0, `${c.name}: not delivered`);
      t.equal(dev.counters.rxDrops[c.drop as 'short'], 1, `${c.name}: counted as ${c.drop}`);
    }
  }
});

t.test('mctp_test_route_input_sk: delivery by flags and type', async (t) => {
  const cases: Array<{ name: string; h: PktSpec; type: number; delivered: boolean }> = [
    { name: 'SOM|EOM|TO type 0', h: { som: true, eom: true, to: true }, type: 0, delivered: true },
    { name: 'SOM|EOM|TO type 1', h: { som: true, eom: true, to: true }, type: 1, delivered: false },
    { name: 'SOM|EOM without TO (no key)', h: { som: true, eom: true, to: false }, type: 0, delivered: false },
    { name: 'EOM|TO without SOM', h: { som: false, eom: true, to: true }, type: 0, delivered: false },
    { name: 'TO only', h: { som: false, eom: false, to: true }, type: 0, delivered: false },
    { name: 'no flags', h: { som: false, eom: false, to: false }, type: 0, delivered: false },
  ];
  for (const c of cases) {
    const { stack, binding } = setup();
    const sock = stack.socket();
    sock.bind({ net: MCTP_NET_ANY, eid: 8, type: 0, tag: 0 });
    binding.inject(pkt(c.h, [c.type]));
    const got = await drain(sock);
    t.same(got, c.delivered ? [1] : [], c.name);
  }
});

t.test('mctp_test_route_input_sk_reasm: sequence rules', async (t) => {
  const S = (seq: number): PktSpec => ({ som: true, eom: false, seq });
  const M = (seq: number): PktSpec => ({ som: false, eom: false, seq });
  const E = (seq: number): PktSpec => ({ som: false, eom: true, seq });
  const SE = (seq: number): PktSpec => ({ som: true, eom: true, seq });
  const cases: Array<{ name: string; pkts: PktSpec[]; rx: number | null }> = [
    { name: 'single packet', pkts: [SE(0)], rx: 1 },
    { name: 'single packet, offset seq', pkts: [SE(1)], rx: 1 },
    { name: 'start & end packets', pkts: [S(0), E(1)], rx: 2 },
    { name: 'start & end, offset seq', pkts: [S(1), E(2)], rx: 2 },
    { name: 'start & end, out of order', pkts: [E(1), S(0)], rx: null },
    { name: 'start, middle & end packets', pkts: [S(0), M(1), E(2)], rx: 3 },
    { name: 'missing seq', pkts: [S(0), E(2)], rx: null },
    { name: 'seq wrap', pkts: [S(3), E(0)], rx: 2 },
  ];
  for (const c of cases) {
    const { stack, binding, clock } = setup();
    const sock = stack.socket();
    sock.bind({ net: MCTP_NET_ANY, eid: 8, type: 0, tag: 0 });
    for (const p of c.pkts) binding.inject(pkt({ ...p, to: true }, [0]));
    t.same(await drain(sock), c.rx === null ? [] : [c.rx], c.name);
    // Whatever was left half-done is reclaimed by the 6 s key lifetime.
    clock.advance(6000);
    t.equal(stack.keys.size, 0, `${c.name}: no keys left after the lifetime`);
  }
});

t.test('mctp_test_route_input_sk_keys: key matching', async (t) => {
  const ANY = MCTP_ADDR_ANY;
  const cases: Array<{ name: string; key: [number, number, number]; h: PktSpec; delivered: boolean }> = [
    { name: 'direct match', key: [9, 8, 1], h: { src: 9, dest: 8, tag: 1, to: false }, delivered: true },
    { name: 'flipped src/dest', key: [8, 9, 1], h: { src: 9, dest: 8, tag: 1, to: false }, delivered: false },
    { name: 'peer addr mismatch', key: [9, 8, 1], h: { src: 10, dest: 8, tag: 1, to: false }, delivered: false },
    { name: 'tag value mismatch', key: [9, 8, 1], h: { src: 9, dest: 8, tag: 2, to: false }, delivered: false },
    { name: 'TO mismatch', key: [9, 8, 1], h: { src: 9, dest: 8, tag: 1, to: true }, delivered: false },
    { name: 'broadcast response', key: [ANY, 8, 1], h: { src: 11, dest: 8, tag: 1, to: false }, delivered: true },
    { name: 'any local match', key: [9, ANY, 1], h: { src: 9, dest: 8, tag: 1, to: false }, delivered: true },
  ];
  for (const c of cases) {
    const { stack, binding } = setup();
    const sock = stack.socket(); // unbound: only the key can deliver
    const [peer, local, tag] = c.key;
    stack.keys.add(1, local, peer, tag, sock, false);
    binding.inject(pkt(c.h, [0]));
    t.equal((await drain(sock)).length, c.delivered ? 1 : 0, c.name);
  }
});

t.test('a single-packet response releases its key; a broadcast-response key survives for more answers', async (t) => {
  const { stack, binding } = setup();
  const sock = stack.socket();
  const direct = stack.keys.add(1, 8, 9, 1, sock, false);
  const bcast = stack.keys.add(1, 8, MCTP_ADDR_ANY, 2, sock, false);
  binding.inject(pkt({ src: 9, tag: 1, to: false }));
  binding.inject(pkt({ src: 11, tag: 2, to: false }));
  binding.inject(pkt({ src: 12, tag: 2, to: false }));
  t.equal((await drain(sock)).length, 3);
  t.notOk(direct.valid, 'direct key released by its response');
  t.ok(bcast.valid, 'broadcast key still valid');
});

t.test('mctp_test_route_input_sk_fail_single / _fail_frag: a full socket drops and counts', async (t) => {
  {
    const { stack, binding, dev } = setup();
    const sock = stack.socket();
    sock.bind({ net: MCTP_NET_ANY, eid: 8, type: 0, tag: 0 });
    sock.rcvbuf = 0;
    binding.inject(pkt({}));
    t.equal(dev.counters.rxDrops['rcvbuf-full'], 1, 'single packet refused');
    t.same(await drain(sock), []);
  }
  {
    const { stack, binding, dev } = setup();
    const sock = stack.socket();
    sock.bind({ net: MCTP_NET_ANY, eid: 8, type: 0, tag: 0 });
    sock.rcvbuf = 0;
    binding.inject(pkt({ som: true, eom: false, seq: 0 }));
    t.equal(dev.counters.rxDropped, 0, 'first fragment queued for reassembly');
    binding.inject(pkt({ som: false, eom: true, seq: 1 }));
    t.equal(dev.counters.rxDrops['rcvbuf-full'], 1, 'completed message refused');
    t.equal(stack.keys.size, 0, 'reassembly key released');
    t.equal(stack.keys.reassemblies, 0);
  }
});

function twoNetStack() {
  const clock = new ManualClock();
  const stack = new MctpStack({ clock });
  const b1 = new TestBinding();
  const b2 = new TestBinding();
  stack.addInterface('mctp1', b1, { net: 1 }).setUp(true);
  stack.addInterface('mctp2', b2, { net: 2 }).setUp(true);
  stack.addAddress('mctp1', 8);
  stack.addAddress('mctp2', 8);
  return { stack, b1, b2 };
}

t.test('mctp_test_route_input_multiple_nets_bind', async (t) => {
  const { stack, b1, b2 } = twoNetStack();
  const s1 = stack.socket();
  const s2 = stack.socket();
  s1.bind({ net: 1, eid: MCTP_ADDR_ANY, type: 0, tag: 0 });
  s2.bind({ net: 2, eid: MCTP_ADDR_ANY, type: 0, tag: 0 });
  b1.inject(pkt({ src: 9 }, [0, 1]));
  b2.inject(pkt({ src: 9 }, [0, 2]));
  const r1 = await s1.recvfrom({ flags: MSG_DONTWAIT });
  const r2 = await s2.recvfrom({ flags: MSG_DONTWAIT });
  t.same([r1.addr.net, r1.data[0]], [1, 1], 'net 1 packet to the net 1 socket');
  t.same([r2.addr.net, r2.data[0]], [2, 2], 'net 2 packet to the net 2 socket');
  t.same(await drain(s1), []);
});

t.test('mctp_test_route_input_multiple_nets_key', async (t) => {
  const { stack, b1, b2 } = twoNetStack();
  const s1 = stack.socket();
  const s2 = stack.socket();
  stack.keys.add(1, 8, 9, 1, s1, false);
  stack.keys.add(2, 8, 9, 1, s2, false);
  b1.inject(pkt({ src: 9, tag: 1, to: false }, [1, 0x11]));
  b2.inject(pkt({ src: 9, tag: 1, to: false }, [1, 0x22]));
  t.same((await s1.recvfrom({ flags: MSG_DONTWAIT })).data, Buffer.from([0x11]));
  t.same((await s2.recvfrom({ flags: MSG_DONTWAIT })).data, Buffer.from([0x22]));
});

t.test('mctp_test_route_input_null_eid: dest 0 reaches an unaddressed endpoint', async (t) => {
  const { stack, binding, dev } = setup({ eid: null });
  const sock = stack.socket();
  sock.bind({ net: MCTP_NET_ANY, eid: MCTP_ADDR_ANY, type: 0, tag: 0 });
  binding.inject(pkt({ src: 8, dest: 0 }, [0, 0x80, 0x02]));
  const r = await sock.recvfrom({ flags: MSG_DONTWAIT });
  t.same(r.data, Buffer.from([0x80, 0x02]));
  t.equal(r.addr.eid, 8);
  t.equal(dev.counters.rxDropped, 0);
  binding.inject(pkt({ src: 8, dest: 9 }));
  t.equal(dev.counters.rxDrops['no-route'], 1, 'a unicast dest with no route is still dropped');
});

t.test('mctp_test_route_output_key_create: one key per request', async (t) => {
  const { stack } = setup({ net: 50, eid: 15 });
  stack.addRoute({ min: 26, dev: 'mctptest0' });
  const sock = stack.socket();
  sock.sendto(Buffer.from([1, 2]), { net: 50, eid: 26, type: 1, tag: 0x08 });
  const keys = stack.keys.all();
  t.equal(keys.length, 1);
  t.match(keys[0], { net: 50, local: 15, peer: 26, tag: 0 });
});

t.test('mctp_test_route_input_cloned_frag: interleaved fragments form two messages', async (t) => {
  const { stack, binding } = setup();
  const sock = stack.socket();
  sock.bind({ net: MCTP_NET_ANY, eid: 8, type: 0, tag: 0 });
  const seqs: Array<[PktSpec, number[]]> = [
    [{ som: true, eom: false, seq: 0, tag: 1 }, [0, 1]],
    [{ som: true, eom: false, seq: 0, tag: 2 }, [0, 9]],
    [{ som: false, eom: false, seq: 1, tag: 1 }, [2, 3]],
    [{ som: false, eom: true, seq: 1, tag: 2 }, [8, 7]],
    [{ som: false, eom: true, seq: 2, tag: 1 }, [4, 5]],
  ];
  for (const [h, body] of seqs) binding.inject(pkt({ ...h, to: true }, body));
  const a = await sock.recvfrom({ flags: MSG_DONTWAIT });
  const b = await sock.recvfrom({ flags: MSG_DONTWAIT });
  t.same([...a.data], [9, 8, 7], 'two-fragment message completes first');
  t.same([...b.data], [1, 2, 3, 4, 5], 'three-fragment message intact');
});

t.test('mctp_test_route_extaddr_input: link-layer source reaches the socket', async (t) => {
  const { stack, binding, dev } = setup({ hwAddr: Buffer.from([0x01, 0x02]) });
  const sock = stack.socket();
  sock.setsockopt(SOL_MCTP, MCTP_OPT_ADDR_EXT, 1);
  sock.bind({ net: MCTP_NET_ANY, eid: 8, type: 0, tag: 0 });
  binding.inject(pkt({ src: 9 }, [0, 0xaa]), Buffer.from([0x0a, 0x0b]));
  const r = await sock.recvfrom({ flags: MSG_DONTWAIT });
  t.match(r.addr, { ifindex: dev.index, haddr: Buffer.from([0x0a, 0x0b]), eid: 9, net: 1, type: 0, tag: 0x08 });
});

t.test('reassembly: duplicate start, too long, timeout, limit', async (t) => {
  const { stack, binding, dev, clock } = setup();
  const sock = stack.socket();
  sock.bind({ net: MCTP_NET_ANY, eid: 8, type: 0, tag: 0 });

  binding.inject(pkt({ som: true, eom: false, seq: 0 }, [0, 1]));
  binding.inject(pkt({ som: true, eom: false, seq: 0 }, [0, 2]));
  t.equal(dev.counters.rxDrops['reasm-dup-start'], 1, 'duplicate start counted');
  binding.inject(pkt({ som: false, eom: true, seq: 1 }, [3]));
  t.same(await drain(sock), [], 'neither message is delivered');

  // 64 KiB limit, counting the type byte: 1023 chunks of 64 bytes, then a final one.
  binding.inject(pkt({ som: true, eom: false, seq: 0, tag: 3 }, Buffer.alloc(64)));
  let seq = 1;
  for (let i = 1; i < 1023; i++) binding.inject(pkt({ som: false, eom: false, seq: seq++ & 3, tag: 3 }, Buffer.alloc(64)));
  binding.inject(pkt({ som: false, eom: true, seq: seq & 3, tag: 3 }, Buffer.alloc(65)));
  t.equal(dev.counters.rxDrops['reasm-too-long'], 1, 'fragment past 64 KiB dropped');
  binding.inject(pkt({ som: false, eom: true, seq: seq & 3, tag: 3 }, Buffer.alloc(64)));
  t.same(await drain(sock), [65536], 'a message of exactly 64 KiB still completes');

  binding.inject(pkt({ som: true, eom: false, seq: 0, tag: 4 }, [0]));
  clock.advance(5999);
  t.equal(stack.keys.reassemblies, 1, 'still pending before 6 s');
  clock.advance(1);
  t.equal(stack.keys.reassemblies, 0, 'expired at 6 s');
  t.equal(dev.counters.rxDrops['reasm-timeout'], 1);
  t.equal(stack.counters.reassemblyTimeouts, 1);
  const noKey = dev.counters.rxDrops['no-key'];
  binding.inject(pkt({ som: false, eom: true, seq: 1, tag: 4 }, [0]));
  t.equal(dev.counters.rxDrops['no-key'], noKey + 1, 'late continuation has no key');
});

t.test('reassembly contexts are bounded', async (t) => {
  const clock = new ManualClock();
  const stack = new MctpStack({ clock, maxReassemblies: 4 });
  const b = new TestBinding();
  stack.addInterface('mctp0', b).setUp(true);
  stack.addAddress('mctp0', 8);
  const dev = stack.interface('mctp0');
  stack.socket().bind({ net: MCTP_NET_ANY, eid: 8, type: 0, tag: 0 });
  for (let src = 10; src < 20; src++) b.inject(pkt({ src, som: true, eom: false }, [0]));
  t.equal(stack.keys.reassemblies, 4);
  t.equal(dev.counters.rxDrops['reasm-limit'], 6);
});
