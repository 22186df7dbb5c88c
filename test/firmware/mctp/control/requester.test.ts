/**
 * The control requester, as mctpd's endpoint_query_*: physical and routed
 * addressing, 250 ms x 4 sends with one Instance ID, the global IID counter,
 * response validation, and only the ManualClock for time.
 */
import t from 'tap';
import { MCTP_TAG_OWNER } from '../../../../firmware/mctp/constants.js';
import { fromSocket, socketPayload } from '../../../../firmware/mctp/control/codec.js';
import { Cmd } from '../../../../firmware/mctp/control/constants.js';
import { ControlRequester, completionCodeOf } from '../../../../firmware/mctp/control/requester.js';
import { MctpError } from '../../../../firmware/mctp/errors.js';
import { ControlResponder } from '../../../../firmware/mctp/control/responder.js';
import type { PacketTap } from '../../../../firmware/mctp/interface.js';
import type { MctpStack } from '../../../../firmware/mctp/stack.js';
import { drive, hex, linkedStacks, rawControlSocket, runFor, settle } from './helpers.js';

/** Record the control headers (Rq/D/IID byte, command) of SOM packets an interface receives. */
function recordRequests(stack: MctpStack): Array<{ flags: number; cmd: number; dest: number }> {
  const seen: Array<{ flags: number; cmd: number; dest: number }> = [];
  const tap: PacketTap = {
    packet(dir, p) {
      if (dir === 'in' && p[3]! & 0x80 && p[4] === 0x00) seen.push({ flags: p[5]!, cmd: p[6]!, dest: p[1]! });
    },
  };
  stack.interface('mctp0').addTap(tap);
  return seen;
}

/**
 * A scripted control endpoint: it answers each request with what `reply`
 * returns (a whole control message, type byte first), or not at all.
 */
function scripted(stack: MctpStack, reply: (req: Buffer, n: number) => Buffer | null): { count: () => number } {
  const sock = rawControlSocket(stack);
  sock.bind({ net: 0, eid: 0xff, type: 0, tag: MCTP_TAG_OWNER });
  let n = 0;
  void (async () => {
    for await (const r of sock) {
      const msg = fromSocket(r.addr.type, r.data);
      const out = reply(msg, n++);
      if (out) sock.sendto(socketPayload(out), { ...r.addr, type: out[0]!, tag: r.addr.tag & ~MCTP_TAG_OWNER });
    }
  })();
  return { count: () => n };
}

t.test('physical then routed requests against a real responder', async (t) => {
  const s = linkedStacks({ hw: true });
  const responder = new ControlResponder(s.host, { role: 'endpoint', uuid: '0123456789abcdef0011223344556677' });
  const req = new ControlRequester(s.bmc);
  const phys = { ifindex: s.bmcIf.index, hwAddr: Buffer.from([0x1d]) };
  t.same(await req.request(phys, { command: Cmd.GetEndpointId }), { command: Cmd.GetEndpointId, eid: 0, endpointType: 0, eidType: 2, medium: 0 });
  s.bmc.addRoute({ min: 9, dev: 'mctp0' });
  s.bmc.addNeighbour('mctp0', 9, Buffer.from([0x1d]));
  t.match(await req.request(phys, { command: Cmd.SetEndpointId, operation: 0, eid: 9 }), { eid: 9, assignment: 0 }, 'the answer comes from EID 9 and still matches');
  t.same((await req.request({ eid: 9 }, { command: Cmd.GetMessageTypeSupport })).types, [0], 'routed, by EID');
  t.equal((await req.request({ eid: 9, net: 1 }, { command: Cmd.GetEndpointUuid })).uuid.toString('hex'), '0123456789abcdef0011223344556677');
  t.equal(req.iid, 4, 'four requests, IIDs 0..3');
  t.match(req.stats, { requests: 4, sends: 4, retries: 0, timeouts: 0 });
  t.equal(s.bmc.keys.size, 0, 'every socket closed, every tag released');
  responder.close();
});

t.test('no answer: 4 sends of the same IID, 250 ms apart, then ETIMEDOUT at 1000 ms', async (t) => {
  const s = linkedStacks({ hw: true });
  const seen = recordRequests(s.host);
  const req = new ControlRequester(s.bmc);
  let settled = false;
  const p = req.request({ ifindex: s.bmcIf.index, hwAddr: Buffer.from([0x1d]) }, { command: Cmd.GetEndpointId });
  p.catch(() => undefined).finally(() => {
    settled = true;
  });
  await settle();
  t.equal(seen.length, 1, 'first send at once');
  await runFor(s.clock, 249);
  t.equal(seen.length, 1, 'nothing more before 250 ms');
  await runFor(s.clock, 1);
  t.equal(seen.length, 2, 'second send at 250 ms');
  await runFor(s.clock, 749);
  t.equal(seen.length, 4);
  t.notOk(settled, 'still waiting at 999 ms');
  await runFor(s.clock, 1);
  await t.rejects(p, { code: 'ETIMEDOUT', message: /Get Endpoint ID to physical address ifindex 1 lladdr 1d: no response after 4 attempts of 250 ms/ });
  t.same(seen.map((x) => x.flags), [0x80, 0x80, 0x80, 0x80], 'Rq set, one IID for all four');
  t.same(seen.map((x) => x.dest), [0, 0, 0, 0], 'physical addressing: destination EID 0');
  t.match(req.stats, { requests: 1, sends: 4, retries: 3, timeouts: 1 });
  t.equal(s.bmc.keys.size, 0, 'the tags went with the socket');
  s.clock.advance(6000);
  t.equal(s.clock.pending, 0, 'no timer left behind (once the stack swept its keys)');
});

t.test('retry off (recovery polls): one send, ETIMEDOUT at 250 ms', async (t) => {
  const s = linkedStacks({ hw: true });
  const seen = recordRequests(s.host);
  const req = new ControlRequester(s.bmc);
  const p = req.request({ ifindex: s.bmcIf.index, hwAddr: Buffer.from([0x1d]) }, { command: Cmd.GetEndpointId }, { retry: false });
  const start = s.clock.now();
  await t.rejects(drive(s.clock, p), { code: 'ETIMEDOUT' });
  t.equal(s.clock.now() - start, 250);
  t.equal(seen.length, 1);
});

t.test('an answer to a retry is accepted; IIDs count on across requests and wrap at 32', async (t) => {
  const s = linkedStacks({ hw: true });
  const seen = recordRequests(s.host);
  // Drop the first request of each pair, answer the retry.
  scripted(s.host, (m, n) => (n % 2 === 0 ? null : Buffer.from([0x00, m[1]! & 0x1f, m[2]!, 0x00, 0x00, 0x02, 0x00])));
  const req = new ControlRequester(s.bmc, { firstIid: 31 });
  const phys = { ifindex: s.bmcIf.index, hwAddr: Buffer.from([0x1d]) };
  const start = s.clock.now();
  t.match(await drive(s.clock, req.request(phys, { command: Cmd.GetEndpointId })), { eid: 0 });
  t.equal(s.clock.now() - start, 250, 'answered on the second send');
  await drive(s.clock, req.request(phys, { command: Cmd.GetEndpointId }));
  t.same(seen.map((x) => x.flags & 0x1f), [31, 31, 0, 0], 'same IID per request, (iid + 1) & 0x1F between them');
});

t.test('response validation (mctpd: wrong IID, wrong command, short, CC != 0)', async (t) => {
  const cases: Array<[string, (m: Buffer) => Buffer, { code: string; message?: RegExp; details?: { cc: number; command?: number } }]> = [
    ['wrong IID', (m) => Buffer.from([0x00, (m[1]! + 1) & 0x1f, m[2]!, 0x00, 0x09, 0x02, 0x00]), { code: 'ENOMSG', message: /Instance ID/ }],
    ['wrong command (same length)', (m) => Buffer.from([0x00, m[1]! & 0x1f, 0x05, 0x00, 0x02, 0x00, 0x01]), { code: 'ENOMSG', message: /Get Message Type Support/ }],
    ['no completion code', (m) => Buffer.from([0x00, m[1]! & 0x1f, m[2]!]), { code: 'ENOMSG' }],
    ['short success', (m) => Buffer.from([0x00, m[1]! & 0x1f, m[2]!, 0x00, 0x09]), { code: 'ENOMSG', message: /3 bytes/ }],
    ['long success', (m) => Buffer.from([0x00, m[1]! & 0x1f, m[2]!, 0x00, 0x09, 0x02, 0x00, 0x00]), { code: 'ENOMSG' }],
    ['D = 1 in the response', (m) => Buffer.from([0x00, 0x40 | (m[1]! & 0x1f), m[2]!, 0x00, 0x09, 0x02, 0x00]), { code: 'ENOMSG' }],
    ['Rq = 1 in the response', (m) => Buffer.from([0x00, m[1]!, m[2]!, 0x00, 0x09, 0x02, 0x00]), { code: 'ENOMSG' }],
    ['another message type', (m) => Buffer.from([0x01, m[1]! & 0x1f, m[2]!, 0x00, 0x09, 0x02, 0x00]), { code: 'ENOMSG', message: /type 0x1/ }],
    ['CC 0x05', (m) => Buffer.from([0x00, m[1]! & 0x1f, m[2]!, 0x05]), { code: 'ECONNREFUSED', details: { cc: 5, command: 2 } }],
    ['CC 0x01 with trailing bytes', (m) => Buffer.from([0x00, m[1]! & 0x1f, m[2]!, 0x01, 0x00]), { code: 'ECONNREFUSED', details: { cc: 1 } }],
  ];
  for (const [name, reply, want] of cases) {
    const s = linkedStacks({ hw: true });
    scripted(s.host, reply);
    const req = new ControlRequester(s.bmc);
    const p = req.request({ ifindex: s.bmcIf.index, hwAddr: Buffer.from([0x1d]) }, { command: Cmd.GetEndpointId });
    await t.rejects(drive(s.clock, p), want, name);
    t.equal(req.stats.sends, 1, `${name}: the first answer decides, no retry`);
  }
  const s = linkedStacks({ hw: true });
  scripted(s.host, (m) => Buffer.from([0x00, m[1]! & 0x1f, m[2]!, 0x05]));
  const e = await new ControlRequester(s.bmc).request({ ifindex: 1, hwAddr: Buffer.from([0x1d]) }, { command: Cmd.GetEndpointId }).catch((x: unknown) => x);
  t.type(e, MctpError);
  t.same(completionCodeOf(e), { command: Cmd.GetEndpointId, cc: 5 });
  t.equal(completionCodeOf(new MctpError('ECONNREFUSED', 'no details')), undefined);
  t.match(e, { message: /Get Endpoint ID to physical address ifindex 1 lladdr 1d failed with completion code 0x05/ });
});

t.test('requests run one at a time, in order', async (t) => {
  const s = linkedStacks({ hw: true });
  const seen = recordRequests(s.host);
  const responder = new ControlResponder(s.host, { role: 'endpoint' });
  const req = new ControlRequester(s.bmc);
  const phys = { ifindex: s.bmcIf.index, hwAddr: Buffer.from([0x1d]) };
  const all = Promise.all([
    req.request(phys, { command: Cmd.GetEndpointId }),
    req.request(phys, { command: Cmd.GetEndpointUuid }),
    req.request(phys, { command: Cmd.GetMessageTypeSupport }),
  ]);
  const [a, b, c] = await all;
  t.equal(a.command, Cmd.GetEndpointId);
  t.equal(b.uuid.length, 16);
  t.same(c.types, [0]);
  t.same(seen.map((x) => [x.flags & 0x1f, x.cmd]), [[0, 2], [1, 3], [2, 5]]);
  responder.close();

  // With an endpoint that never answers, the second request waits out the first's 1000 ms.
  const q = linkedStacks({ hw: true });
  const qseen = recordRequests(q.host);
  const slow = new ControlRequester(q.bmc);
  const qphys = { ifindex: q.bmcIf.index, hwAddr: Buffer.from([0x1d]) };
  const first = slow.request(qphys, { command: Cmd.GetEndpointId });
  const second = slow.request(qphys, { command: Cmd.GetEndpointUuid });
  first.catch(() => undefined);
  second.catch(() => undefined);
  await runFor(q.clock, 999);
  t.same(qseen.map((x) => x.cmd), [2, 2, 2, 2], 'only the first request is on the wire');
  await runFor(q.clock, 2);
  t.equal(qseen.at(-1)?.cmd, 3, 'the second goes once the first has timed out');
  slow.close();
});

t.test('send errors are immediate; close() abandons what is in flight', async (t) => {
  const s = linkedStacks({ hw: true });
  const req = new ControlRequester(s.bmc);
  await t.rejects(req.request({ eid: 42 }, { command: Cmd.GetEndpointId }), { code: 'EHOSTUNREACH' }, 'no route to 42');
  await t.rejects(req.request({ ifindex: 1, hwAddr: Buffer.from([1, 2]) }, { command: Cmd.GetEndpointId }), { code: 'EINVAL' }, 'wrong lladdr length');
  t.equal(req.stats.sendErrors, 2);
  const p = req.request({ ifindex: 1, hwAddr: hex('1d') }, { command: Cmd.GetEndpointId });
  await settle();
  req.close();
  await t.rejects(p, { code: 'EBADF' });
  await t.rejects(req.request({ ifindex: 1, hwAddr: hex('1d') }, { command: Cmd.GetEndpointId }), { code: 'EBADF' });
  s.clock.advance(6000);
  t.equal(s.clock.pending, 0, 'the requester left no timer');
  t.throws(() => new ControlRequester(s.bmc, { maxSends: 0 }), { code: 'ERR_BAD_CONFIG', message: /maxSends/ });
});
