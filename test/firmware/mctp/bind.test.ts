/** bind()/connect() lookup and conflict rules (KUnit mctp_test_bind_lookup, mctp_test_bind_conflicts, mctp_test_bind_invalid). */
import t from 'tap';
import { MCTP_ADDR_ANY as ANY, MCTP_NET_ANY, MSG_DONTWAIT } from '../../../firmware/mctp/constants.js';
import type { MctpSocket } from '../../../firmware/mctp/socket.js';
import { MctpStack } from '../../../firmware/mctp/stack.js';
import { ManualClock } from '../../../lib/clock.js';
import { TestBinding, pkt } from './helpers.js';

interface BindSpec {
  name: string;
  bindNet: number;
  bindAddr: number;
  connect?: { net: number; eid: number };
}

const BINDS: BindSpec[] = [
  { name: 'any', bindNet: MCTP_NET_ANY, bindAddr: ANY },
  { name: 'local10', bindNet: MCTP_NET_ANY, bindAddr: 10 },
  { name: 'local10net8', bindNet: 8, bindAddr: 10 },
  { name: 'anynet9', bindNet: 9, bindAddr: ANY },
  { name: 'remote20', bindNet: MCTP_NET_ANY, bindAddr: ANY, connect: { net: MCTP_NET_ANY, eid: 20 } },
  { name: 'remote21local11', bindNet: MCTP_NET_ANY, bindAddr: 11, connect: { net: MCTP_NET_ANY, eid: 21 } },
  { name: 'remote21net3', bindNet: MCTP_NET_ANY, bindAddr: ANY, connect: { net: 3, eid: 21 } },
  { name: 'remote21net4', bindNet: 4, bindAddr: ANY, connect: { net: 4, eid: 21 } },
  { name: 'remote21net5', bindNet: MCTP_NET_ANY, bindAddr: ANY, connect: { net: 5, eid: 21 } },
];

// [net, src, dst, type, expected bind name or null]
const LOOKUPS: Array<[number, number, number, number, string | null]> = [
  [1, 20, 10, 1, 'remote20'],
  [1, 20, 255, 1, 'remote20'],
  [1, 20, 0, 1, 'remote20'],
  [1, 0, 255, 1, 'any'],
  [1, 0, 11, 1, 'any'],
  [1, 0, 0, 1, 'any'],
  [1, 0, 10, 1, 'local10'],
  [1, 21, 10, 1, 'local10'],
  [1, 21, 11, 1, 'remote21local11'],
  [1, 99, 99, 1, 'any'],
  [1, 20, 10, 3, null],
  [7, 0, 0, 1, 'any'],
  [2, 21, 10, 1, 'any'],
  [3, 20, 10, 1, 'any'],
  [3, 21, 10, 1, 'remote21net3'],
  [4, 21, 10, 1, 'remote21net4'],
  [5, 21, 10, 1, 'remote21net5'],
  [8, 99, 10, 1, 'local10net8'],
  [9, 99, 10, 1, 'anynet9'],
  [9, 0, 0, 1, 'anynet9'],
  [9, 99, 99, 1, 'anynet9'],
  [9, 20, 10, 1, 'anynet9'],
];

t.test('mctp_test_bind_lookup: the five-step matching order', async (t) => {
  const stack = new MctpStack({ clock: new ManualClock() });
  const socks = new Map<string, MctpSocket>();
  for (const b of BINDS) {
    const s = stack.socket();
    if (b.connect) s.connect({ net: b.connect.net, eid: b.connect.eid, type: 1, tag: 0 });
    s.bind({ net: b.bindNet, eid: b.bindAddr, type: 1, tag: 0 });
    socks.set(b.name, s);
  }
  const nameOf = (owner: unknown): string | null => {
    for (const [n, s] of socks) if (s === owner) return n;
    return null;
  };
  for (const [net, src, dst, type, want] of LOOKUPS) {
    const got = stack.binds.lookup(net, dst, src, type);
    t.equal(got ? nameOf(got.owner) : null, want, `net ${net} (${src} -> ${dst}) type ${type} -> ${want ?? 'none'}`);
  }
});

t.test('bind lookup drives real delivery, including on other networks', async (t) => {
  const stack = new MctpStack({ clock: new ManualClock() });
  const b = new TestBinding();
  stack.addInterface('mctp3', b, { net: 3 }).setUp(true);
  stack.addAddress('mctp3', 10);
  const any = stack.socket();
  any.bind({ net: MCTP_NET_ANY, eid: ANY, type: 1, tag: 0 });
  const r21 = stack.socket();
  r21.connect({ net: 3, eid: 21, type: 1, tag: 0 });
  r21.bind({ net: MCTP_NET_ANY, eid: ANY, type: 1, tag: 0 });
  b.inject(pkt({ src: 21, dest: 10 }, [1, 0xaa]));
  b.inject(pkt({ src: 20, dest: 10 }, [1, 0xbb]));
  t.same((await r21.recvfrom({ flags: MSG_DONTWAIT })).data, Buffer.from([0xaa]));
  t.same((await any.recvfrom({ flags: MSG_DONTWAIT })).data, Buffer.from([0xbb]));
  // The IC bit is not part of the bind type, and is reported in smctp_type.
  b.inject(pkt({ src: 20, dest: 10 }, [0x81, 0xcc]));
  const r = await any.recvfrom({ flags: MSG_DONTWAIT });
  t.equal(r.addr.type, 0x81);
});

interface ConflictSide {
  net: number;
  addr: number;
  type?: number;
  peer?: number;
}

// [a, b, expected errno of the second bind or null]
const CONFLICTS: Array<[string, ConflictSide, ConflictSide, string | null]> = [
  ['ANY/NET_ANY twice', { net: MCTP_NET_ANY, addr: ANY }, { net: MCTP_NET_ANY, addr: ANY }, 'EADDRINUSE'],
  ['8/NET_ANY twice', { net: MCTP_NET_ANY, addr: 8 }, { net: MCTP_NET_ANY, addr: 8 }, 'EADDRINUSE'],
  ['ANY vs 8', { net: MCTP_NET_ANY, addr: ANY }, { net: MCTP_NET_ANY, addr: 8 }, null],
  ['different types', { net: 2, addr: ANY, type: 2 }, { net: 2, addr: ANY, type: 1 }, null],
  ['net 2 vs NET_ANY', { net: 2, addr: ANY }, { net: MCTP_NET_ANY, addr: ANY }, null],
  ['8/NET_ANY resolves to net 1', { net: MCTP_NET_ANY, addr: 8 }, { net: 1, addr: 8 }, 'EADDRINUSE'],
  ['8 on net 1 vs net 2', { net: 1, addr: 8 }, { net: 2, addr: 8 }, null],
  ['ANY/NET_ANY is not resolved', { net: MCTP_NET_ANY, addr: ANY }, { net: 1, addr: ANY }, null],
  ['peer bind vs no-peer bind', { net: 2, addr: ANY, peer: 9 }, { net: 2, addr: ANY }, null],
  ['peer bind on net 2 vs NET_ANY', { net: 2, addr: ANY, peer: 9 }, { net: MCTP_NET_ANY, addr: ANY }, null],
];

function bindSide(stack: MctpStack, s: ConflictSide): void {
  const sock = stack.socket();
  if (s.peer !== undefined) sock.connect({ net: s.net || 0, eid: s.peer, type: s.type ?? 1, tag: 0 });
  sock.bind({ net: s.net, eid: s.addr, type: s.type ?? 1, tag: 0 });
}

t.test('mctp_test_bind_conflicts (both orders; an identical pair always conflicts)', async (t) => {
  for (const [name, a, b, want] of CONFLICTS) {
    for (const [first, second, order] of [
      [a, b, 'a,b'],
      [b, a, 'b,a'],
    ] as const) {
      const stack = new MctpStack({ clock: new ManualClock() });
      bindSide(stack, first);
      if (want) t.throws(() => bindSide(stack, second), { code: want }, `${name} (${order})`);
      else t.doesNotThrow(() => bindSide(stack, second), `${name} (${order})`);
    }
    for (const side of [a, b]) {
      const stack = new MctpStack({ clock: new ManualClock() });
      bindSide(stack, side);
      t.throws(() => bindSide(stack, side), { code: 'EADDRINUSE' }, `${name}: identical second bind`);
    }
  }
});

t.test('mctp_test_bind_invalid and the bind/connect argument rules', async (t) => {
  const stack = new MctpStack({ clock: new ManualClock() });
  {
    const s = stack.socket();
    s.connect({ net: 2, eid: 9, type: 1, tag: 0 });
    t.throws(() => s.bind({ net: 1, eid: ANY, type: 1, tag: 0 }), { code: 'EINVAL' }, 'bind net 1 after connect net 2');
    t.throws(() => s.bind({ net: 2, eid: ANY, type: 3, tag: 0 }), { code: 'EINVAL' }, 'bind type differs from connect type');
    t.throws(() => s.connect({ net: 2, eid: 9, type: 1, tag: 0 }), { code: 'EADDRINUSE' }, 'connect twice');
  }
  {
    const s = stack.socket();
    s.bind({ net: 1, eid: 8, type: 5, tag: 0 });
    t.throws(() => s.bind({ net: 1, eid: 9, type: 5, tag: 0 }), { code: 'EADDRINUSE' }, 'no rebind');
    t.throws(() => s.connect({ net: 1, eid: 9, type: 5, tag: 0 }), { code: 'EADDRINUSE' }, 'connect after bind');
  }
  const s = stack.socket();
  t.throws(() => s.bind(Buffer.alloc(11)), { code: 'EINVAL' }, 'short address');
  t.throws(() => s.bind({ family: 2, net: 1, eid: 8, type: 1, tag: 0 }), { code: 'EAFNOSUPPORT' }, 'bind with wrong family');
  t.throws(() => s.bind({ net: 1, eid: 8, type: 1, tag: 0, pad0: 1 }), { code: 'EINVAL' }, 'non-zero pad');
  t.throws(() => s.bind({ net: 1, eid: 300, type: 1, tag: 0 }), { code: 'EINVAL' }, 'EID out of range');
  t.throws(() => s.bind({ net: -1, eid: 8, type: 1, tag: 0 }), { code: 'EINVAL' }, 'negative net');
  t.throws(() => s.connect({ net: 1, eid: 9, type: 1, tag: 8 }), { code: 'EINVAL' }, 'connect with a tag');
  t.throws(() => s.connect({ net: 1, eid: 9, type: 0x81, tag: 0 }), { code: 'EINVAL' }, 'connect type with IC');
  t.throws(() => s.connect({ net: 1, eid: 9, type: 1, tag: 0, ifindex: 1, haddr: Buffer.alloc(0) }), { code: 'EINVAL' }, 'connect with an extended address');
  t.throws(() => s.connect({ family: 1, net: 1, eid: 9, type: 1, tag: 0 }), { code: 'EAFNOSUPPORT' });
  // The IC bit is ignored by bind: type 0x81 binds type 1.
  s.bind({ net: 1, eid: 8, type: 0x81, tag: 0 });
  t.equal(stack.binds.lookup(1, 8, 9, 1)?.owner, s);
  // Closing releases the bind.
  s.close();
  t.equal(stack.binds.lookup(1, 8, 9, 1), undefined);
  t.throws(() => s.bind({ net: 1, eid: 8, type: 1, tag: 0 }), { code: 'EBADF' });
});
