/** Route table scenarios: gateways, MTU on the path, neighbours, source EIDs, forwarding. */
import t from 'tap';
import { MCTP_OPT_ADDR_EXT, MCTP_TAG_OWNER, SOL_MCTP } from '../../../firmware/mctp/constants.js';
import { decodeHeader } from '../../../firmware/mctp/header.js';
import { createLoopbackBinding } from '../../../firmware/mctp/loopback/binding.js';
import { TestBinding, pkt, setup } from './helpers.js';

t.test('mctp_test_route_gw_lookup', async (t) => {
  const { stack, dev } = setup();
  stack.addRoute({ min: 9, dev: 'mctptest0' });
  stack.addRoute({ min: 10, gateway: { eid: 9 } });
  const dst = stack.lookupRoute(1, 10);
  t.ok(dst);
  t.equal(dst!.dev, dev);
  t.equal(dst!.mtu, 68);
  t.equal(dst!.nexthop, 9);
  t.equal(dst!.hwDest, undefined, 'no link-layer address known');
  t.equal(dst!.saddr, 8);
});

t.test('mctp_test_route_gw_loop', async (t) => {
  const { stack } = setup();
  stack.addRoute({ min: 9, gateway: { eid: 10 } });
  stack.addRoute({ min: 10, gateway: { eid: 9 } });
  t.equal(stack.lookupRoute(1, 10), null);
  t.throws(() => stack.socket().sendto(Buffer.alloc(1), { net: 1, eid: 10, type: 1, tag: MCTP_TAG_OWNER }), { code: 'EHOSTUNREACH' });
});

t.test('gateway chains: 31 hops resolve, a 33-deep chain does not', async (t) => {
  const { stack } = setup();
  stack.addRoute({ min: 100, dev: 'mctptest0' });
  for (let e = 101; e <= 140; e++) stack.addRoute({ min: e, gateway: { eid: e - 1 } });
  t.ok(stack.lookupRoute(1, 131), '31 gateways');
  t.equal(stack.lookupRoute(1, 133), null, '33 gateways exceed the depth limit');
});

// (dev MTU, neighbour route MTU, gateway route MTU, destination route MTU) -> path MTU
const GW_MTU: Array<[number, number, number, number, number]> = [
  [68, 0, 0, 0, 68],
  [100, 0, 0, 0, 100],
  [100, 68, 0, 0, 68],
  [100, 0, 68, 0, 68],
  [100, 0, 0, 68, 68],
  [100, 99, 98, 68, 68],
  [99, 100, 98, 68, 68],
  [98, 99, 100, 68, 68],
  [68, 98, 99, 100, 68],
];

t.test('mctp_test_route_gw_mtu', async (t) => {
  for (const [devMtu, neigh, gw, dstMtu, want] of GW_MTU) {
    const { stack, dev } = setup({ mtu: devMtu });
    stack.addRoute({ min: 9, dev: dev.name, mtu: neigh });
    stack.addRoute({ min: 10, gateway: { eid: 9 }, mtu: gw });
    stack.addRoute({ min: 11, gateway: { eid: 10 }, mtu: dstMtu });
    t.equal(stack.lookupRoute(1, 11)?.mtu, want, `(${devMtu},${neigh},${gw},${dstMtu}) -> ${want}`);
  }
});

t.test('mctp_test_route_gw_output: the gateway link-layer address is used', async (t) => {
  const { stack, binding } = setup({ hwAddr: Buffer.from([0xf0]) });
  stack.addRoute({ min: 9, dev: 'mctptest0' });
  stack.addRoute({ min: 10, gateway: { eid: 9 } });
  stack.addNeighbour('mctptest0', 9, Buffer.from([0x09]));
  stack.addNeighbour('mctptest0', 10, Buffer.from([0x0a]));
  stack.socket().sendto(Buffer.from([1]), { net: 1, eid: 10, type: 1, tag: 0 });
  t.equal(binding.sent.length, 1);
  t.same(binding.sent[0]!.hwDest, Buffer.from([0x09]));
  t.equal(decodeHeader(binding.sent[0]!.packet).dest, 10, 'the MCTP destination is still the final EID');
});

t.test('route output from a device without EIDs (newest mainline)', async (t) => {
  {
    const { stack, binding } = setup({ eid: null });
    stack.addRoute({ min: 9, dev: 'mctptest0' });
    t.equal(stack.socket().sendto(Buffer.from([1, 2]), { net: 1, eid: 9, type: 1, tag: 0 }), 2);
    t.equal(binding.sent.length, 1, 'direct route sends');
    t.equal(decodeHeader(binding.sent[0]!.packet).src, 0, 'from EID 0');
  }
  {
    const { stack } = setup({ eid: null });
    stack.addRoute({ min: 9, dev: 'mctptest0' });
    stack.addRoute({ min: 10, gateway: { eid: 9 } });
    t.equal(stack.lookupRoute(1, 10), null, 'gatewayed route needs a source EID');
  }
  {
    const { stack, binding, dev } = setup({ eid: null, hwAddr: Buffer.from([1, 2]) });
    const s = stack.socket();
    s.setsockopt(SOL_MCTP, MCTP_OPT_ADDR_EXT, 1);
    s.sendto(Buffer.from([1]), { net: 1, eid: 9, type: 1, tag: 0, ifindex: dev.index, haddr: Buffer.from([3, 4]) });
    t.equal(binding.sent.length, 1, 'extended addressing sends');
    t.same(binding.sent[0]!.hwDest, Buffer.from([3, 4]));
  }
});

t.test('route table management errors', async (t) => {
  const { stack } = setup();
  stack.addRoute({ min: 20, max: 29, dev: 'mctptest0' });
  t.throws(() => stack.addRoute({ min: 20, max: 29, dev: 'mctptest0' }), { code: 'EEXIST' });
  t.throws(() => stack.addRoute({ min: 5, dev: 'mctptest0' }), { code: 'EINVAL' }, 'reserved EID');
  t.throws(() => stack.addRoute({ min: 30, max: 255, dev: 'mctptest0' }), { code: 'EINVAL' }, 'broadcast in range');
  t.throws(() => stack.addRoute({ min: 30, max: 20, dev: 'mctptest0' }), { code: 'EINVAL' }, 'backwards range');
  t.throws(() => stack.addRoute({ min: 30, gateway: { eid: 0 } }), { code: 'EINVAL' }, 'gateway must be unicast');
  t.throws(() => stack.addRoute({ min: 30, dev: 'nope0' }), { code: 'ENODEV' });
  t.throws(() => stack.addRoute({ min: 30 }), { code: 'EINVAL' }, 'neither dev nor gateway');
  t.throws(() => stack.removeRoute({ min: 40, dev: 'mctptest0' }), { code: 'ENOENT' });
  stack.addInterface('lo', createLoopbackBinding());
  t.throws(() => stack.addRoute({ min: 50, dev: 'lo' }), { code: 'EINVAL' }, 'no routes to loopback');
  // The newest overlapping route wins.
  const b2 = new TestBinding();
  stack.addInterface('mctptest1', b2).setUp(true);
  stack.addRoute({ min: 25, dev: 'mctptest1' });
  t.equal(stack.lookupRoute(1, 25)?.dev.name, 'mctptest1');
  t.equal(stack.lookupRoute(1, 26)?.dev.name, 'mctptest0');
  stack.removeRoute({ min: 25, dev: 'mctptest1' });
  t.equal(stack.lookupRoute(1, 25)?.dev.name, 'mctptest0');
});

t.test('addresses and neighbours follow RTM_NEWADDR/RTM_NEWNEIGH rules', async (t) => {
  const { stack, dev } = setup({ hwAddr: Buffer.from([0x10]) });
  t.throws(() => stack.addAddress('mctptest0', 8), { code: 'EEXIST' });
  t.throws(() => stack.addAddress('mctptest0', 0), { code: 'EINVAL' });
  t.throws(() => stack.addAddress('mctptest0', 255), { code: 'EINVAL' });
  t.throws(() => stack.addAddress('nope', 9), { code: 'ENODEV' });
  t.throws(() => stack.removeAddress('mctptest0', 9), { code: 'ENOENT' });
  stack.addAddress('mctptest0', 12);
  t.same(dev.addrs, [8, 12], 'order kept; the first is the source EID');
  t.equal(stack.lookupRoute(1, 12)?.local, true, 'local route added');
  stack.removeAddress('mctptest0', 12);
  t.equal(stack.lookupRoute(1, 12), null, 'local route removed');
  t.throws(() => stack.addNeighbour('mctptest0', 9, Buffer.from([1, 2])), { code: 'EINVAL' }, 'wrong lladdr length');
  t.throws(() => stack.addNeighbour('mctptest0', 0, Buffer.from([1])), { code: 'EINVAL' });
  stack.addNeighbour('mctptest0', 9, Buffer.from([1]));
  t.throws(() => stack.addNeighbour('mctptest0', 9, Buffer.from([2])), { code: 'EEXIST' });
  stack.removeNeighbour('mctptest0', 9);
  t.throws(() => stack.removeNeighbour('mctptest0', 9), { code: 'ENOENT' });
});

t.test('forwarding between interfaces (bridging)', async (t) => {
  const { stack, binding, dev } = setup();
  const out = new TestBinding({ mtu: 68 });
  stack.addInterface('mctpdown', out).setUp(true);
  stack.addRoute({ min: 20, dev: 'mctpdown' });
  const p = pkt({ src: 9, dest: 20, tag: 2 }, [1, 2, 3]);
  binding.inject(p);
  t.equal(out.sent.length, 1);
  t.same(out.sent[0]!.packet, p, 'forwarded unchanged');
  t.equal(stack.counters.forwarded, 1);
  binding.inject(pkt({ src: 9, dest: 20 }, Buffer.alloc(100)));
  t.equal(dev.counters.rxDrops['fwd-too-big'], 1);
  stack.interface('mctpdown').setUp(false);
  binding.inject(pkt({ src: 9, dest: 20 }, [1]));
  t.equal(dev.counters.rxDrops['fwd-failed'], 1, 'egress down');
});

t.test('one EID may be local on several interfaces (a BMC is EID 8 on every link)', async (t) => {
  const { stack } = setup();
  stack.addInterface('mctptest1', new TestBinding()).setUp(true);
  stack.addAddress('mctptest1', 8);
  t.same(stack.interface('mctptest1').addrs, [8]);
  stack.removeAddress('mctptest1', 8);
  t.equal(stack.lookupRoute(1, 8)?.dev.name, 'mctptest0', "the other interface's local route stays");
});
