/** AF_MCTP socket semantics: sendmsg/recvmsg, tags, preallocated tags, extended addressing (KUnit mctp-sock and the suggested extras). */
import t from 'tap';
import {
  MCTP_ADDR_ANY,
  MCTP_INITIAL_DEFAULT_NET,
  MCTP_NET_ANY,
  MCTP_OPT_ADDR_EXT,
  MCTP_TAG_OWNER,
  MCTP_TAG_PREALLOC,
  MSG_DONTWAIT,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  SOL_MCTP,
} from '../../../firmware/mctp/constants.js';
import { decodeHeader } from '../../../firmware/mctp/header.js';
import { encodeSockaddr, decodeSockaddr } from '../../../firmware/mctp/sockaddr.js';
import { MctpStack } from '../../../firmware/mctp/stack.js';
import { pkt, setup } from './helpers.js';

const OWNER = MCTP_TAG_OWNER;

/** The KUnit mctp-sock set-up: lladdr 01:02, EID 8, route to 9. */
function sockSetup() {
  const env = setup({ hwAddr: Buffer.from([0x01, 0x02]) });
  env.stack.addRoute({ min: 9, dev: 'mctptest0' });
  return env;
}

t.test('mctp_test_assumptions: the default net is 1', async (t) => {
  t.equal(new MctpStack().defaultNet, MCTP_INITIAL_DEFAULT_NET);
  t.equal(MCTP_INITIAL_DEFAULT_NET, 1);
  t.throws(() => new MctpStack().setDefaultNet(0), { code: 'EINVAL' });
});

t.test('sendto prepends the type byte from the address and returns the payload length', async (t) => {
  const { stack, binding } = sockSetup();
  const s = stack.socket();
  t.equal(s.sendto(Buffer.from([0xcc, 0xde, 0xf0, 1]), { net: 1, eid: 9, type: 0x7e, tag: OWNER }), 4);
  const p = binding.sent[0]!.packet;
  t.same([...p], [0x01, 9, 8, 0xc8, 0x7e, 0xcc, 0xde, 0xf0, 1], 'header, type, payload');
  t.equal(decodeHeader(p).to, true);
});

t.test('recvfrom strips the type byte and reports it, with TO in smctp_tag', async (t) => {
  const { stack, binding } = sockSetup();
  const s = stack.socket();
  s.bind({ net: MCTP_NET_ANY, eid: MCTP_ADDR_ANY, type: 0x7e, tag: OWNER });
  binding.inject(pkt({ src: 9, tag: 5, to: true }, [0x7e, 0xcc, 0xde, 0xf0]));
  const r = await s.recvfrom();
  t.same(r.data, Buffer.from([0xcc, 0xde, 0xf0]));
  t.equal(r.length, 3);
  t.same(r.addr, { family: 45, net: 1, eid: 9, type: 0x7e, tag: 0x0d });
  // Reply as mctp-echo does: same address, owner bit cleared.
  s.sendto(r.data, { ...r.addr, tag: r.addr.tag & ~OWNER });
  const h = decodeHeader(binding.sent[0]!.packet);
  t.match(h, { dest: 9, src: 8, to: false, tag: 5 });
});

t.test('recvmsg flags: PEEK, TRUNC, DONTWAIT, and anything else is EOPNOTSUPP', async (t) => {
  const { stack, binding } = sockSetup();
  const s = stack.socket();
  s.bind({ net: 1, eid: 8, type: 1, tag: 0 });
  await t.rejects(s.recvfrom({ flags: MSG_DONTWAIT }), { code: 'EAGAIN' });
  await t.rejects(s.recvfrom({ flags: MSG_OOB }), { code: 'EOPNOTSUPP' });
  binding.inject(pkt({ src: 9 }, [1, 1, 2, 3, 4]));
  const peek = await s.recvfrom({ flags: MSG_PEEK | MSG_TRUNC, maxLength: 0 });
  t.equal(peek.length, 4, 'MSG_PEEK|MSG_TRUNC tells the full length');
  t.ok(peek.truncated);
  const short = await s.recvfrom({ maxLength: 2 });
  t.same(short.data, Buffer.from([1, 2]));
  t.equal(short.length, 2);
  t.ok(short.truncated, 'MSG_TRUNC reported in msg_flags');
  await t.rejects(s.recvfrom({ flags: MSG_DONTWAIT }), { code: 'EAGAIN' }, 'truncated remainder is discarded');
  // A pending receive completes when a message arrives, and close() fails pending ones.
  const pending = s.recvfrom();
  binding.inject(pkt({ src: 9 }, [1, 7]));
  t.same((await pending).data, Buffer.from([7]));
  const dangling = s.recvfrom();
  s.close();
  await t.rejects(dangling, { code: 'EBADF' });
});

t.test('sendmsg argument errors', async (t) => {
  const { stack } = sockSetup();
  const s = stack.socket();
  const base = { net: 1, eid: 9, type: 1, tag: OWNER };
  t.throws(() => s.sendto(Buffer.alloc(1)), { code: 'EDESTADDRREQ' }, 'no address');
  const c = stack.socket();
  c.connect({ net: 1, eid: 9, type: 1, tag: 0 });
  t.throws(() => c.sendto(Buffer.alloc(1), null), { code: 'EDESTADDRREQ' }, 'connect() gives no default destination');
  t.throws(() => s.sendto(Buffer.alloc(1), encodeSockaddr(base).subarray(0, 11)), { code: 'EINVAL' }, 'namelen < 12');
  t.throws(() => s.sendto(Buffer.alloc(1), { ...base, family: 2 }), { code: 'EINVAL' }, 'bad family is EINVAL on send');
  t.throws(() => s.sendto(Buffer.alloc(1), { ...base, pad1: 1 }), { code: 'EINVAL' }, 'pads');
  t.throws(() => s.sendto(Buffer.alloc(1), { ...base, tag: 0x20 }), { code: 'EINVAL' }, 'unknown tag bits');
  t.throws(() => s.sendto(Buffer.alloc(1), { ...base, tag: MCTP_TAG_PREALLOC }), { code: 'EINVAL' }, 'PREALLOC without OWNER');
  t.throws(() => s.sendto(Buffer.alloc(1), { ...base, eid: 10 }), { code: 'EHOSTUNREACH' }, 'unrouted EID');
  t.throws(() => s.sendto(Buffer.alloc(1), { ...base, eid: 0 }), { code: 'EHOSTUNREACH' }, 'NULL EID needs extended addressing');
  t.throws(() => s.sendto(Buffer.alloc(1), { ...base, eid: 255 }), { code: 'EHOSTUNREACH' }, 'broadcast needs extended addressing');
  t.throws(() => s.sendto(Buffer.alloc(65536), base), { code: 'EMSGSIZE' }, 'over 64 KiB with the type byte');
  t.throws(() => s.sendto(Buffer.alloc(1), { ...base, tag: OWNER | MCTP_TAG_PREALLOC }), { code: 'ENOENT' }, 'no preallocated tag');
  t.equal(stack.keys.size, 0, 'failed sends leave no keys');
  // Raw struct form works like the object form.
  t.equal(s.sendto(Buffer.alloc(3), encodeSockaddr(base)), 3);
  t.same(decodeSockaddr(encodeSockaddr(base)).addr, { family: 45, pad0: 0, net: 1, eid: 9, type: 1, tag: OWNER, pad1: 0 });
});

t.test('tag allocation: 8 per (net, local, peer), lowest free, EBUSY, released by response, expiry or close', async (t) => {
  const { stack, binding, clock } = sockSetup();
  stack.addRoute({ min: 10, dev: 'mctptest0' });
  const s = stack.socket();
  const tags: number[] = [];
  for (let i = 0; i < 8; i++) {
    s.sendto(Buffer.alloc(1), { net: 1, eid: 9, type: 1, tag: OWNER });
    tags.push(decodeHeader(binding.sent.at(-1)!.packet).tag);
  }
  t.same(tags, [0, 1, 2, 3, 4, 5, 6, 7]);
  t.throws(() => s.sendto(Buffer.alloc(1), { net: 1, eid: 9, type: 1, tag: OWNER }), { code: 'EBUSY' });
  t.equal(stack.counters.tagExhausted, 1);
  const other = stack.socket();
  t.throws(() => other.sendto(Buffer.alloc(1), { net: 1, eid: 9, type: 1, tag: OWNER }), { code: 'EBUSY' }, 'tag space is shared by all sockets');
  t.doesNotThrow(() => s.sendto(Buffer.alloc(1), { net: 1, eid: 10, type: 1, tag: OWNER }), 'another peer has its own tags');

  // The response to tag 3 frees it; the next request reuses the lowest free tag.
  binding.inject(pkt({ src: 9, tag: 3, to: false }, [1]));
  t.same((await s.recvfrom({ flags: MSG_DONTWAIT })).addr.tag, 3);
  s.sendto(Buffer.alloc(1), { net: 1, eid: 9, type: 1, tag: OWNER });
  t.equal(decodeHeader(binding.sent.at(-1)!.packet).tag, 3);

  // A response that arrives twice: the second has no key.
  binding.inject(pkt({ src: 9, tag: 5, to: false }, [1]));
  binding.inject(pkt({ src: 9, tag: 5, to: false }, [1]));
  t.equal(stack.interface('mctptest0').counters.rxDrops['no-key'], 1);
  s.sendto(Buffer.alloc(1), { net: 1, eid: 9, type: 1, tag: OWNER });
  t.equal(decodeHeader(binding.sent.at(-1)!.packet).tag, 5, 'tag 5 was freed by its response');

  clock.advance(5999);
  t.throws(() => s.sendto(Buffer.alloc(1), { net: 1, eid: 9, type: 1, tag: OWNER }), { code: 'EBUSY' });
  clock.advance(1);
  t.doesNotThrow(() => s.sendto(Buffer.alloc(1), { net: 1, eid: 9, type: 1, tag: OWNER }), 'keys expire after 6 s');
  s.close();
  t.equal(stack.keys.size, 0, 'close releases keys');
});

t.test('a broadcast/NULL-peer request reserves the tag against every peer', async (t) => {
  const { stack, binding, dev } = sockSetup();
  const s = stack.socket();
  s.setsockopt(SOL_MCTP, MCTP_OPT_ADDR_EXT, 1);
  s.sendto(Buffer.from([2]), { net: 1, eid: 0, type: 0, tag: OWNER, ifindex: dev.index, haddr: Buffer.from([0x1d, 0x00]) });
  t.equal(decodeHeader(binding.sent[0]!.packet).tag, 0);
  t.match(stack.keys.all()[0], { peer: MCTP_ADDR_ANY, local: 8, tag: 0 });
  s.sendto(Buffer.from([1]), { net: 1, eid: 9, type: 1, tag: OWNER });
  t.equal(decodeHeader(binding.sent[1]!.packet).tag, 1, 'tag 0 is taken for every peer');
  // Any EID may answer the physically addressed request.
  binding.inject(pkt({ src: 42, dest: 8, tag: 0, to: false }, [0, 0x02, 0x00]), Buffer.from([0x1d, 0x00]));
  const r = await s.recvfrom({ flags: MSG_DONTWAIT });
  t.equal(r.addr.eid, 42);
  t.match(r.addr, { ifindex: dev.index, haddr: Buffer.from([0x1d, 0x00]) });
});

t.test('preallocated tags (SIOCMCTPALLOCTAG / DROPTAG)', async (t) => {
  const { stack, binding, clock } = sockSetup();
  const s = stack.socket();
  const tag = s.allocTag({ peerAddr: 9, tag: 0, flags: 0 });
  t.equal(tag, 0x18, 'tag 0 | OWNER | PREALLOC');
  t.equal(s.allocTag({ peerAddr: 9, tag: 0, flags: 0 }), 0x19);
  t.throws(() => s.allocTag({ peerAddr: 9, tag: 0, flags: 1 }), { code: 'EINVAL' }, 'flags');
  t.throws(() => s.allocTag({ peerAddr: 9, tag: 1, flags: 0 }), { code: 'EINVAL' }, 'input tag');
  t.throws(() => s.allocTag({ peerAddr: 9, tag: 0, flags: 0, net: 1, localAddr: 8 }, true), { code: 'EINVAL' }, 'v2 local must be ANY/NULL');
  // Send with the preallocated tag, twice: the key survives responses.
  for (let i = 0; i < 2; i++) {
    s.sendto(Buffer.from([1]), { net: 1, eid: 9, type: 1, tag });
    t.match(decodeHeader(binding.sent.at(-1)!.packet), { to: true, tag: 0 });
    binding.inject(pkt({ src: 9, tag: 0, to: false }, [1, i]));
    t.same((await s.recvfrom({ flags: MSG_DONTWAIT })).data, Buffer.from([i]));
  }
  clock.advance(60000);
  t.doesNotThrow(() => s.sendto(Buffer.from([1]), { net: 1, eid: 9, type: 1, tag }), 'manual keys never expire');
  // Ordinary allocation skips the preallocated values.
  s.sendto(Buffer.from([1]), { net: 1, eid: 9, type: 1, tag: OWNER });
  t.equal(decodeHeader(binding.sent.at(-1)!.packet).tag, 2);
  t.throws(() => s.dropTag({ peerAddr: 9, tag: 0x01, flags: 0 }), { code: 'EINVAL' }, 'drop needs OWNER|PREALLOC');
  t.throws(() => s.dropTag({ peerAddr: 9, tag: 0x1c, flags: 0 }), { code: 'EINVAL' }, 'drop of a tag never allocated');
  const other = stack.socket();
  t.throws(() => other.dropTag({ peerAddr: 9, tag: 0x18, flags: 0 }), { code: 'EINVAL' }, 'only the owning socket may drop');
  s.dropTag({ peerAddr: 9, tag: 0x18, flags: 0 });
  t.throws(() => s.sendto(Buffer.from([1]), { net: 1, eid: 9, type: 1, tag: 0x18 }), { code: 'ENOENT' }, 'dropped tag is gone');
  // v2 on another net.
  const t2 = s.allocTag({ peerAddr: 9, tag: 0, flags: 0, net: 7, localAddr: MCTP_ADDR_ANY }, true);
  t.equal(t2 & 0x18, 0x18);
  s.dropTag({ peerAddr: 9, tag: t2, flags: 0, net: 7 }, true);
});

t.test('mctp_test_sock_sendmsg_extaddr / recvmsg_extaddr', async (t) => {
  const { stack, binding, dev } = sockSetup();
  const s = stack.socket();
  const ext = { net: 1, eid: 9, type: 1, tag: OWNER, ifindex: dev.index, haddr: Buffer.from([0x0a, 0x0b]) };
  // Without the option an extended address is used as a plain one (route lookup).
  s.sendto(Buffer.alloc(4), ext);
  t.equal(binding.sent[0]!.hwDest, undefined);
  s.setsockopt(SOL_MCTP, MCTP_OPT_ADDR_EXT, Buffer.from([1, 0, 0, 0]));
  t.equal(s.getsockopt(SOL_MCTP, MCTP_OPT_ADDR_EXT), 1);
  t.equal(s.sendto(Buffer.alloc(4), { ...ext, eid: 50 }), 4, 'unrouted EID reachable by link address');
  t.same(binding.sent[1]!.hwDest, Buffer.from([0x0a, 0x0b]));
  t.throws(() => s.sendto(Buffer.alloc(1), { ...ext, ifindex: 99 }), { code: 'ENOENT' });
  t.throws(() => s.sendto(Buffer.alloc(1), { ...ext, haddr: Buffer.from([1]) }), { code: 'EINVAL' }, 'halen mismatch');
  t.throws(() => s.sendto(Buffer.alloc(1), { ...ext, extPad: 1 }), { code: 'EINVAL' }, 'ext pads');
  const raw = encodeSockaddr(ext);
  raw[16] = 33;
  t.throws(() => s.sendto(Buffer.alloc(1), raw), { code: 'EINVAL' }, 'halen > 32');
  t.throws(() => s.setsockopt(SOL_MCTP, MCTP_OPT_ADDR_EXT, Buffer.alloc(2)), { code: 'EINVAL' }, 'optlen');
  t.throws(() => s.setsockopt(1, MCTP_OPT_ADDR_EXT, 1), { code: 'EINVAL' }, 'level');
  t.throws(() => s.setsockopt(SOL_MCTP, 7, 1), { code: 'ENOPROTOOPT' });
  t.throws(() => s.getsockopt(SOL_MCTP, 7), { code: 'ENOPROTOOPT' });

  // recvmsg_extaddr: a packet to dest 0 from 9.
  const r = stack.socket();
  r.setsockopt(SOL_MCTP, MCTP_OPT_ADDR_EXT, 1);
  r.bind({ net: MCTP_NET_ANY, eid: MCTP_ADDR_ANY, type: 0, tag: 0 });
  binding.inject(pkt({ src: 9, dest: 0 }, [0, 0xaa, 0xbb]), Buffer.from([0x0a, 0x0b]));
  const got = await r.recvfrom({ flags: MSG_TRUNC, maxLength: 1 });
  t.equal(got.length, 2, 'MSG_TRUNC returns the full payload length');
  t.match(got.addr, { family: 45, ifindex: dev.index, haddr: Buffer.from([0x0a, 0x0b]) });
  t.equal(encodeSockaddr(got.addr).length, 52, 'msg_namelen is sizeof(sockaddr_mctp_ext)');
});

t.test('local delivery: a message to our own EID loops back through the stack', async (t) => {
  const { stack, dev } = sockSetup();
  const server = stack.socket();
  server.bind({ net: 1, eid: 8, type: 5, tag: 0 });
  const client = stack.socket();
  const big = Buffer.alloc(1000, 7);
  client.sendto(big, { net: 1, eid: 8, type: 5, tag: OWNER });
  const req = await server.recvfrom();
  t.same(req.data, big, 'fragmented and reassembled locally');
  server.sendto(Buffer.from('pong'), { ...req.addr, tag: req.addr.tag & ~OWNER });
  const resp = await client.recvfrom();
  t.equal(resp.data.toString(), 'pong');
  t.equal(dev.counters.txPackets, 0, 'nothing left on the wire');
});

t.test('transmit needs the interface up, and the queue is all-or-nothing', async (t) => {
  const { stack, binding, dev } = sockSetup();
  const s = stack.socket();
  dev.txQueueLen = 3;
  binding.busy = true;
  s.sendto(Buffer.alloc(100), { net: 1, eid: 9, type: 1, tag: 0 }); // 2 packets, queued
  t.throws(() => s.sendto(Buffer.alloc(100), { net: 1, eid: 9, type: 1, tag: OWNER }), { code: 'ENOBUFS' });
  t.equal(stack.keys.size, 0, 'no tag held by the refused request');
  t.equal(dev.txQueueDepth, 2);
  binding.busy = false;
  binding.port.txReady();
  await new Promise((r) => setImmediate(r));
  t.equal(binding.sent.length, 2, 'queue drained after txReady');
  binding.setUp(false);
  t.throws(() => s.sendto(Buffer.alloc(1), { net: 1, eid: 9, type: 1, tag: 0 }), { code: 'ENETDOWN' }, 'no carrier');
  binding.setUp(true);
  dev.setUp(false);
  t.throws(() => s.sendto(Buffer.alloc(1), { net: 1, eid: 9, type: 1, tag: 0 }), { code: 'ENETDOWN' }, 'admin down');
  binding.inject(pkt({ src: 9 }));
  t.equal(dev.counters.rxDrops['if-down'], 1, 'receive on a down interface is counted');
});

t.test('carrier loss discards the queue and counts it', async (t) => {
  const { stack, binding, dev } = sockSetup();
  binding.busy = true;
  stack.socket().sendto(Buffer.alloc(200), { net: 1, eid: 9, type: 1, tag: 0 });
  t.equal(dev.txQueueDepth, 4);
  binding.port.carrier(false);
  t.equal(dev.counters.txDrops['carrier-lost'], 4);
  t.equal(dev.txQueueDepth, 0);
});

t.test('binding exceptions during transmit are counted, not thrown', async (t) => {
  const { stack, binding, dev } = sockSetup();
  binding.transmit = () => {
    throw new Error('medium exploded');
  };
  t.doesNotThrow(() => stack.socket().sendto(Buffer.alloc(1), { net: 1, eid: 9, type: 1, tag: 0 }));
  t.equal(dev.counters.txDrops['binding-error'], 1);
});

t.test('removing an interface removes its routes and closes its binding', async (t) => {
  const { stack } = setup();
  stack.addRoute({ min: 9, dev: 'mctptest0' });
  await stack.removeInterface('mctptest0');
  t.equal(stack.lookupRoute(1, 9), null);
  t.equal(stack.lookupRoute(1, 8), null);
  t.throws(() => stack.interface('mctptest0'), { code: 'ENODEV' });
  await stack.close();
});

t.test('tags live on the egress interface network; recvfrom reports the destination EID', async (t) => {
  const { stack, binding, dev } = sockSetup();
  stack.setInterfaceNet('mctptest0', 5);
  const s = stack.socket();
  s.setsockopt(SOL_MCTP, MCTP_OPT_ADDR_EXT, 1);
  // Physical addressing with the default net in the address: the key still goes on net 5.
  s.sendto(Buffer.from([2]), { net: 0, eid: 0, type: 0, tag: OWNER, ifindex: dev.index, haddr: Buffer.from([1, 2]) });
  t.match(stack.keys.all()[0], { net: 5, peer: MCTP_ADDR_ANY });
  binding.inject(pkt({ src: 20, dest: 8, tag: 0, to: false }, [0, 0x02, 0x00]));
  const r = await s.recvfrom({ flags: MSG_DONTWAIT });
  t.equal(r.addr.net, 5, 'the answer matched the key');
  t.equal(r.dest, 8);
  const l = stack.socket();
  l.bind({ net: MCTP_NET_ANY, eid: MCTP_ADDR_ANY, type: 0, tag: 0 });
  binding.inject(pkt({ src: 20, dest: 0 }, [0, 0x82, 0x02]));
  t.equal((await l.recvfrom({ flags: MSG_DONTWAIT })).dest, 0, 'physically addressed request');
});
