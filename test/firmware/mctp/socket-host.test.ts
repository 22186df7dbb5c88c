/** The socket/stack seam: an MctpSocket driven by a stand-in SocketHost, no stack involved. */
import t from 'tap';
import { MCTP_NET_ANY, MCTP_TAG_OWNER, MCTP_TAG_PREALLOC, MSG_DONTWAIT } from '../../../firmware/mctp/constants.js';
import { MctpError } from '../../../firmware/mctp/errors.js';
import type { MctpInterface } from '../../../firmware/mctp/interface.js';
import { TagKey, type KeyOwner } from '../../../firmware/mctp/keys.js';
import type { Dst } from '../../../firmware/mctp/routes.js';
import type { SocketHost, SocketPort } from '../../../firmware/mctp/socket-host.js';
import { MctpSocket } from '../../../firmware/mctp/socket.js';

/** A host that records what a socket asks of it; route lookups always reach `dev` on net 3. */
function fakeHost() {
  const dev = { net: 3 } as MctpInterface;
  const calls: string[] = [];
  const state = {
    calls,
    port: undefined as SocketPort | undefined,
    outputs: [] as Array<{ dest: number; to: boolean; tag: number; message: Buffer }>,
    released: [] as TagKey[],
    failOutput: false,
  };
  const host: SocketHost = {
    openSocket: (port) => {
      state.port = port;
      return 42;
    },
    releaseSocket: (owner) => void calls.push(`release ${owner.id}`),
    defaultNet: () => 7,
    addBind: (b) => void calls.push(`bind net ${b.net} local ${b.local} type ${b.type}`),
    lookupRoute: (): Dst => ({ dev, mtu: 68, saddr: 8, nexthop: 9, local: false }),
    extAddrDst: () => {
      throw new MctpError('ENOENT', 'no interfaces here');
    },
    output: (_dst, dest, to, tag, message) => {
      if (state.failOutput) throw new MctpError('ENETDOWN', 'down');
      state.outputs.push({ dest, to, tag, message });
    },
    allocTag: (net, local, peer, owner: KeyOwner, manual) => {
      calls.push(`alloc net ${net} local ${local} peer ${peer} manual ${manual}`);
      return new TagKey(net, local, peer, 5, owner, manual, Infinity);
    },
    releaseTag: (key) => void state.released.push(key),
    findPreallocTag: () => undefined,
    dropPreallocTag: () => false,
  };
  return { host, state };
}

t.test('a socket asks its host for everything beyond itself', async (t) => {
  const { host, state } = fakeHost();
  const s = new MctpSocket(host);
  t.equal(s.id, 42, 'the host assigns the id');

  s.bind({ net: MCTP_NET_ANY, eid: 8, type: 1, tag: 0 });
  t.same(state.calls, ['bind net 7 local 8 type 1'], 'a specific local EID binds on the host default net');

  t.equal(s.sendto(Buffer.from([0xaa]), { net: MCTP_NET_ANY, eid: 9, type: 1, tag: MCTP_TAG_OWNER }), 1);
  t.equal(state.calls[1], 'alloc net 3 local 8 peer 9 manual false', 'tags come from the egress interface net');
  t.same(state.outputs, [{ dest: 9, to: true, tag: 5, message: Buffer.from([1, 0xaa]) }], 'the type byte leads the message');

  state.failOutput = true;
  t.throws(() => s.sendto(Buffer.alloc(1), { net: 3, eid: 9, type: 1, tag: MCTP_TAG_OWNER }), { code: 'ENETDOWN' });
  t.equal(state.released.length, 1, 'a request that never left gives its tag back');

  t.equal(s.allocTag({ peerAddr: 9, tag: 0, flags: 0 }), 5 | MCTP_TAG_OWNER | MCTP_TAG_PREALLOC);
  t.throws(() => s.dropTag({ peerAddr: 9, tag: 5 | MCTP_TAG_OWNER | MCTP_TAG_PREALLOC, flags: 0 }), { code: 'EINVAL' }, 'host holds none');
  t.throws(() => s.sendto(Buffer.alloc(1), { net: 3, eid: 9, type: 1, tag: 2 | MCTP_TAG_OWNER | MCTP_TAG_PREALLOC }), { code: 'ENOENT' });
});

t.test('the host delivers through the port the socket registered', async (t) => {
  const { host, state } = fakeHost();
  const s = new MctpSocket(host);
  const port = state.port!;
  const pending = s.recvfrom();
  t.ok(port.receive({ message: Buffer.from([1, 2, 3]), net: 3, src: 9, tag: 0x08, dest: 8, ifindex: 1, hwSrc: undefined }));
  const r = await pending;
  t.same([...r.data], [2, 3]);
  t.match(r.addr, { net: 3, eid: 9, type: 1, tag: 0x08 }, 'tag and TO bit as received');

  s.rcvbuf = 0;
  t.notOk(port.receive({ message: Buffer.from([1]), net: 3, src: 9, tag: 0, dest: 8, ifindex: 1, hwSrc: undefined }), 'full buffer refuses');

  const waiting = s.recvfrom();
  port.close();
  t.ok(s.closed, 'the host can close its sockets');
  await t.rejects(waiting, { code: 'EBADF' });
  t.same(state.calls, ['release 42'], 'closing releases the socket at the host once');
  s.close();
  t.same(state.calls, ['release 42']);
  t.notOk(port.receive({ message: Buffer.from([1]), net: 3, src: 9, tag: 0, dest: 8, ifindex: 1, hwSrc: undefined }), 'closed refuses');
  await t.rejects(s.recvfrom({ flags: MSG_DONTWAIT }), { code: 'EBADF' });
});
