/**
 * The control responder in both roles, driven with raw control messages
 * from a second stack: answers and completion codes per command (as mctpd's
 * responder and DSP0236 have them), Set Endpoint ID's effect on the stack,
 * physical-address replies, and hostile input.
 */
import t from 'tap';
import { ECHO_VDM, ControlResponder, type DiscoveryNotifyEvent, type EidAssignedEvent } from '../../../../firmware/mctp/control/responder.js';
import { MCTP_TAG_OWNER } from '../../../../firmware/mctp/constants.js';
import { prng } from '../../../helpers/prng.js';
import { ask, askFull, linkedStacks, rawControlSocket, settle } from './helpers.js';

const UUID = '0123456789abcdef0011223344556677';
const PLDM_VERSIONS = [0xf1f0f000];

/** BMC (EID 8, lladdr 0x10) asking a host (lladdr 0x1d) whose responder runs in the endpoint role. */
function endpointSetup(opts: { discovery?: boolean; hostEid?: number } = {}) {
  const s = linkedStacks({ hw: true, ...(opts.hostEid ? { hostEid: opts.hostEid } : {}) });
  const responder = new ControlResponder(s.host, {
    role: 'endpoint',
    uuid: UUID,
    networkId: 'ffeeddcc-bbaa-9988-7766-554433221100',
    types: [{ type: 0x01, versions: PLDM_VERSIONS }],
    vdm: [ECHO_VDM, { format: 'iana', vendorId: 0xa015, commandSet: 0x0001 }],
    ...(opts.discovery !== undefined ? { discovery: opts.discovery } : {}),
  });
  // Physical addressing: the host's link-layer address on the BMC's interface, EID 0.
  const phys = { ifindex: s.bmcIf.index, haddr: Buffer.from([0x1d]) };
  return { ...s, responder, sock: s.bmc, phys };
}

t.test('Get Endpoint ID before any assignment: EID 0, answered by physical address', async (t) => {
  const { sock, phys, responder } = endpointSetup();
  const r = await askFull(sock, phys, '00 80 02');
  t.equal(r?.msg.toString('hex'), '00000200000200', 'CC 0, EID 0, static EID matching (as mctpd), medium 0');
  t.equal(r?.addr.eid, 0, 'sent from EID 0: the host has none yet');
  t.equal((r?.addr.tag ?? 0xff) & MCTP_TAG_OWNER, 0, 'TO clear on the response');
  t.equal(responder.stats.responses, 1);
  responder.close();
});

t.test('IIDs are echoed with Rq and D clear (mctpd test_response_iid)', async (t) => {
  const { sock, phys, responder } = endpointSetup();
  for (const iid of [0, 1, 30, 31]) {
    const r = await ask(sock, phys, Buffer.from([0x00, 0x80 | iid, 0x02]));
    t.equal(r?.[1], iid, `IID ${iid}`);
  }
  responder.close();
});

t.test('Set Endpoint ID: clears, assigns, routes back to the bus owner, accepts', async (t) => {
  const { sock, phys, responder, host } = endpointSetup({ hostEid: 20 });
  const events: EidAssignedEvent[] = [];
  responder.on('eid-assigned', (e: EidAssignedEvent) => events.push(e));

  const r = await askFull(sock, phys, '00 81 01 00 09');
  t.equal(r?.msg.toString('hex'), '0001010000' + '0900', 'accepted, no pool, EID 9, pool size 0');
  t.equal(r?.addr.eid, 9, 'the answer comes from the new EID');
  const hif = host.interface('mctp0');
  t.same(hif.addrs, [9], 'EID 20 is gone, 9 is ours');
  const dst = host.lookupRoute(1, 8);
  t.ok(dst, 'a route back to the bus owner');
  t.equal(dst?.mtu, 68, 'with the link minimum MTU, as mctpd');
  t.same(dst?.hwDest, Buffer.from([0x10]), 'and its neighbour entry');
  t.same(events, [{ iface: 'mctp0', eid: 9, previous: [20], busOwner: { eid: 8, hwAddr: Buffer.from([0x10]) } }]);

  // A second assignment replaces the first; the bus owner's entries are redone, not duplicated.
  t.equal((await ask(sock, phys, '00 82 01 01 0a'))?.toString('hex'), '00020100000a00', 'force: accepted EID 10');
  t.same(hif.addrs, [10]);
  t.equal(host.routes.list().filter((rt) => rt.type === 'unicast').length, 1, 'still one route to the bus owner');
  t.equal(hif.neighbours.size, 1);
  t.equal(responder.stats.eidAssignments, 2);

  // Get Endpoint ID now reports it.
  t.equal((await ask(sock, phys, '00 83 02'))?.toString('hex'), '000302000a0200');
  responder.close();
});

t.test('Set Endpoint ID refusals, as mctpd', async (t) => {
  const { sock, phys, responder, host } = endpointSetup({ hostEid: 20 });
  for (const eid of [0x00, 0x01, 0x07, 0xff]) {
    t.equal((await ask(sock, phys, Buffer.from([0, 0x80, 0x01, 0x00, eid])))?.toString('hex'), '00000102', `EID 0x${eid.toString(16)}: invalid data`);
  }
  t.equal((await ask(sock, phys, '00 80 01 02 09'))?.toString('hex'), '00000102', 'reset: invalid data');
  t.equal((await ask(sock, phys, '00 80 01 03 09'))?.toString('hex'), '00000102', 'set discovered without discovery support: invalid data');
  t.equal((await ask(sock, phys, '00 80 01 00 08'))?.toString('hex'), '00000102', "the bus owner's own EID");
  t.equal((await ask(sock, phys, '00 80 01 00'))?.toString('hex'), '00000103', 'truncated: invalid length');
  t.equal((await ask(sock, phys, '00 80 01 00 09 00'))?.toString('hex'), '00000103', 'extra byte: invalid length');
  t.same(host.interface('mctp0').addrs, [20], 'nothing changed');
  responder.close();
});

t.test('Set Endpoint ID whose local route would clash: nothing changes, the next Set works', async (t) => {
  const { sock, phys, responder, host } = endpointSetup({ hostEid: 20 });
  // The bus owner first assigns 9 (and we route back to it), then the host is given a static route to EID 30.
  t.equal((await ask(sock, phys, '00 80 01 00 09'))?.toString('hex'), '0000010000' + '0900');
  host.addRoute({ min: 30, dev: 'mctp0' });
  const routesBefore = host.routes.list().map((r) => `${r.type}:${r.min}-${r.max}`);
  const hif = host.interface('mctp0');

  const r = await askFull(sock, phys, '00 81 01 00 1e');
  t.equal(r?.msg.toString('hex'), '00010104', 'refused: not ready (the EID is taken by a route)');
  t.equal(r?.addr.eid, 9, 'answered from the EID we still have, not a half-added 30');
  t.same(hif.addrs, [9], 'the address is unchanged');
  t.same(host.routes.list().map((rt) => `${rt.type}:${rt.min}-${rt.max}`), routesBefore, 'and so is every route');
  t.ok(host.lookupRoute(1, 9)?.local, 'EID 9 still has its local route');
  t.ok(host.lookupRoute(1, 8), 'the route back to the bus owner is kept');
  t.equal(responder.stats.eidAssignments, 1);

  const next = await askFull(sock, phys, '00 82 01 00 0a');
  t.equal(next?.msg.toString('hex'), '0002010000' + '0a00', 'the next Set Endpoint ID is answered and accepted');
  t.equal(next?.addr.eid, 10);
  t.same(hif.addrs, [10]);
  t.ok(host.lookupRoute(1, 10)?.local);
  t.notOk(host.lookupRoute(1, 9)?.local, 'the old EID is gone with its route');
  responder.close();
});

t.test('the stack changes an address and its local route together or not at all', async (t) => {
  const { host } = linkedStacks({ hw: true, hostEid: 20 });
  host.addRoute({ min: 30, dev: 'mctp0' });
  t.throws(() => host.addAddress('mctp0', 30), { code: 'EEXIST' }, 'the clashing local route refuses the address');
  t.same(host.interface('mctp0').addrs, [20], 'no half-added address');
  t.throws(() => host.replaceAddresses('mctp0', 30), { code: 'EEXIST' });
  t.same(host.interface('mctp0').addrs, [20], 'a failed replace keeps the old address');
  t.ok(host.lookupRoute(1, 20)?.local);
  host.replaceAddresses('mctp0', 21);
  t.same(host.interface('mctp0').addrs, [21]);
  t.ok(host.lookupRoute(1, 21)?.local);
  t.equal(host.lookupRoute(1, 20), null);
  host.removeAddress('mctp0', 21);
  t.same(host.interface('mctp0').addrs, []);
  t.equal(host.routes.list().filter((r) => r.type === 'local').length, 0);
});

t.test('UUID, versions, message types, VDM sets, network ID', async (t) => {
  const { sock, phys, responder } = endpointSetup();
  t.equal((await ask(sock, phys, '00 80 03'))?.toString('hex'), `00000300${UUID}`);
  t.equal((await ask(sock, phys, '00 81 03'))?.toString('hex'), `00010300${UUID}`, 'the same UUID every time');
  const ctl = '04 f1f0ff00 f1f1ff00 f1f2ff00 f1f3f100'.replace(/ /g, '');
  t.equal((await ask(sock, phys, '00 80 04 ff'))?.toString('hex'), `00000400${ctl}`, 'base spec (0xFF) answered as control');
  t.equal((await ask(sock, phys, '00 80 04 00'))?.toString('hex'), `00000400${ctl}`, 'control: 1.0, 1.1, 1.2, 1.3.1');
  t.equal((await ask(sock, phys, '00 80 04 01'))?.toString('hex'), '0000040001f1f0f000', 'PLDM: its registered versions');
  t.equal((await ask(sock, phys, '00 80 04 05'))?.toString('hex'), '00000480', 'SPDM not registered: 0x80');
  t.equal((await ask(sock, phys, '00 80 04 7e'))?.toString('hex'), '00000480', 'vendor types have no versions here');
  t.equal((await ask(sock, phys, '00 80 05'))?.toString('hex'), '000005000400017e7f', 'control, PLDM, then 0x7E and 0x7F');
  t.equal((await ask(sock, phys, '00 80 06 00'))?.toString('hex'), '0000060001' + '00ccde00f0', 'set 0: PCI echo set, next 1');
  t.equal((await ask(sock, phys, '00 80 06 01'))?.toString('hex'), '00000600ff' + '010000a0150001', 'set 1: IANA, last');
  t.equal((await ask(sock, phys, '00 80 06 02'))?.toString('hex'), '00000602', 'selector past the end: invalid data');
  t.equal((await ask(sock, phys, '00 80 0e'))?.toString('hex'), '00000e00ffeeddccbbaa99887766554433221100');
  t.throws(() => responder.registerType(0x01, []), { code: 'EEXIST' }, 'RegisterTypeSupport refuses duplicates');
  t.throws(() => responder.registerType(0x7e, []), { code: 'EINVAL' }, '... and the vendor types');
  t.throws(() => responder.registerVdm(ECHO_VDM), { code: 'EEXIST' });
  responder.registerType(0x05, [0xf1f2f000]);
  t.equal((await ask(sock, phys, '00 80 05'))?.toString('hex'), '00000500050001057e7f', 'a registered type joins the list');
  responder.unregisterType(0x05);
  t.same(responder.messageTypes(), [0x00, 0x01, 0x7e, 0x7f]);
  responder.close();
});

t.test('a default responder: control only, a random UUID fixed for its life', async (t) => {
  const s = linkedStacks({ hw: true });
  const responder = new ControlResponder(s.host, { role: 'endpoint' });
  const sock = s.bmc;
  const phys = { ifindex: s.bmcIf.index, haddr: Buffer.from([0x1d]) };
  t.equal((await ask(sock, phys, '00 80 05'))?.toString('hex'), '000005000100');
  const a = await ask(sock, phys, '00 80 03');
  const b = await ask(sock, phys, '00 80 03');
  t.equal(a?.length, 20);
  t.same(a, b);
  t.equal((await ask(sock, phys, '00 80 06 00'))?.toString('hex'), '00000602', 'no VDM sets');
  responder.close();
});

t.test('Resolve Endpoint ID and Get Routing Table Entries come from the route table', async (t) => {
  const { sock, phys, responder, host } = endpointSetup();
  await ask(sock, phys, '00 80 01 00 09');
  t.equal((await ask(sock, phys, '00 81 07 08'))?.toString('hex'), '000107000810', 'the bus owner: itself, lladdr 0x10');
  t.equal((await ask(sock, phys, '00 82 07 2a'))?.toString('hex'), '0002070100', 'unknown: CC ERROR and a zero EID, as mctpd');
  t.equal((await ask(sock, phys, '00 83 07 ff'))?.toString('hex'), '0003070100', 'broadcast is never resolvable');
  t.equal((await ask(sock, phys, '00 84 07 09'))?.toString('hex'), '0004070009', 'our own EID');
  host.addRoute({ min: 0x30, max: 0x34, gateway: { eid: 8 } });
  t.equal((await ask(sock, phys, '00 85 07 31'))?.toString('hex'), '000507000810', 'behind a gateway: the gateway and its lladdr');

  const port = host.interface('mctp0').index;
  const gwEntry = Buffer.from([0x05, 0x30, 0xc0 | 0x20 | port, 0xff, 0x00, 0x01, 0x10]).toString('hex');
  const boEntry = Buffer.from([0x01, 0x08, 0x00 | port, 0xff, 0x00, 0x01, 0x10]).toString('hex');
  t.equal(
    (await ask(sock, phys, '00 86 0a 00'))?.toString('hex'),
    `00060a00ff02${gwEntry}${boEntry}`,
    'newest first: the static gateway range (via 8, lladdr 0x10), then the dynamic route to the bus owner',
  );
  t.equal((await ask(sock, phys, '00 87 0a 02'))?.toString('hex'), '00070a02', 'a handle past the end: invalid data');
  responder.close();
});

t.test('Get Routing Table Entries pages to one baseline packet', async (t) => {
  const { sock, phys, responder, host } = endpointSetup();
  for (let e = 0x40; e < 0x40 + 12; e++) host.addRoute({ min: e, dev: 'mctp0' });
  const seen: number[] = [];
  let handle = 0;
  for (let pages = 0; pages < 10; pages++) {
    const r = await ask(sock, phys, Buffer.from([0x00, 0x80, 0x0a, handle]));
    t.ok(r && r.length <= 64, `page at handle ${handle} fits 64 bytes (${r?.length})`);
    t.equal(r![3], 0);
    const count = r![5]!;
    for (let i = 0; i < count; i++) seen.push(r![6 + i * 6 + 1]!);
    if (r![4] === 0xff) break;
    handle = r![4]!;
  }
  t.same(seen, Array.from({ length: 12 }, (_, i) => 0x40 + 11 - i), 'every route once, newest first');
  responder.close();
});

t.test('endpoint discovery, off (mctpd on non-PCIe links) and on', async (t) => {
  {
    const { sock, phys, responder } = endpointSetup();
    t.equal((await ask(sock, phys, '00 80 0b'))?.toString('hex'), '00000b05', 'Prepare: unsupported, by physical address');
    t.equal((await ask(sock, phys, '00 80 0c'))?.toString('hex'), '00000c02', 'Endpoint Discovery: invalid data');
    t.equal(responder.discoveryState('mctp0'), 'unsupported');
    responder.close();
  }
  {
    const { sock, phys, responder } = endpointSetup({ discovery: true });
    t.equal(responder.discoveryState('mctp0'), 'undiscovered');
    t.equal((await ask(sock, phys, '00 80 0c'))?.toString('hex'), '00000c00', 'undiscovered: answers');
    await ask(sock, phys, '00 81 01 00 09');
    t.equal(responder.discoveryState('mctp0'), 'discovered', 'Set Endpoint ID marks the link discovered');
    t.equal(await ask(sock, phys, '00 82 0c'), null, 'discovered: no answer');
    t.equal((await ask(sock, phys, '00 83 0b'))?.toString('hex'), '00030b00', 'Prepare clears the flag');
    t.equal((await ask(sock, phys, '00 84 0c'))?.toString('hex'), '00040c00', 'and it answers again');
    t.equal((await ask(sock, phys, '00 85 01 03 09'))?.toString('hex'), '00050100100900', 'set discovered: rejected, same EID, as mctpd');
    t.equal(responder.discoveryState('mctp0'), 'discovered');
    t.equal(responder.stats.ignored, 1);
    responder.close();
  }
});

t.test('endpoint role: bus-owner and bridge commands are unsupported', async (t) => {
  const { sock, phys, responder } = endpointSetup();
  t.equal((await ask(sock, phys, '00 80 0d'))?.toString('hex'), '00000d05', 'Discovery Notify');
  t.equal((await ask(sock, phys, '00 80 08 00 0f 0b'))?.toString('hex'), '00000805', 'Allocate Endpoint IDs');
  t.equal((await ask(sock, phys, '00 80 09 01 00 01 0a 1d'))?.toString('hex'), '00000905', 'Routing Information Update');
  for (const cmd of [0x00, 0x0f, 0x10, 0x14, 0xf0, 0xff]) {
    t.equal((await ask(sock, phys, Buffer.from([0, 0x80, cmd])))?.toString('hex'), `0000${cmd.toString(16).padStart(2, '0')}05`, `command 0x${cmd.toString(16)}`);
  }
  t.equal(responder.stats.unsupported, 9);
  responder.close();
});

t.test('no answer to datagrams, responses, wrong types; hostile bytes never crash it', async (t) => {
  const { sock, phys, responder, bmc } = endpointSetup();
  t.equal(await ask(sock, phys, '00 c0 02'), null, 'D = 1: no response');
  t.equal(responder.stats.datagrams, 1);
  t.equal(await ask(sock, phys, '00 00 02'), null, 'Rq = 0 sent as a request: ignored');
  t.equal(responder.stats.responsesIgnored, 1);
  t.equal(await ask(sock, phys, '80 80 02'), null, 'IC bit set');
  t.equal(await ask(sock, phys, '00 80'), null, 'truncated header');
  t.equal(await ask(sock, phys, '00'), null, 'type byte only');
  t.equal(responder.stats.malformed, 3);
  t.equal((await ask(sock, phys, '00 80 02 00'))?.toString('hex'), '00000203', 'Get Endpoint ID with data: invalid length');

  let raw = rawControlSocket(bmc);
  const random = prng(7);
  const rnd = (): number => Math.floor(random() * 256);
  for (let i = 0; i < 400; i++) {
    const len = 1 + (rnd() % 12);
    const m = Buffer.alloc(len);
    for (let j = 0; j < len; j++) m[j] = rnd();
    m[0] = 0;
    if (len > 2) m[2] = rnd() % 16;
    // Never send Set EID at random: it would legitimately change the host's address.
    if (len > 2 && m[2] === 1) m[2] = 2;
    raw.sendto(m.subarray(1), { net: 0, eid: 0, type: 0, tag: MCTP_TAG_OWNER, ifindex: phys.ifindex, haddr: phys.haddr });
    // Each request to EID 0 holds a tag until its socket closes: a fresh socket every 8.
    if (i % 8 === 7) {
      raw.close();
      raw = rawControlSocket(bmc);
    }
    if (i % 8 === 7) await settle(1);
  }
  await settle();
  raw.close();
  t.equal(responder.stats.internalErrors, 0, 'no handler threw');
  t.equal((await ask(sock, phys, '00 80 02'))?.toString('hex'), '00000200000200', 'and it still answers');
  t.equal(bmc.interface('mctp0').counters.rxDrops['rcvbuf-full'], 0);
  responder.close();
});

t.test('an answer goes by EID when a route exists, by physical address when not', async (t) => {
  const { sock, phys, responder, host } = endpointSetup({ hostEid: 9 });
  // The host has EID 9 but no route to 8: the answer must still come back.
  const r1 = await askFull(sock, phys, '00 80 03');
  t.equal(r1?.addr.eid, 9, 'no route to 8: answered by physical address, from EID 9');
  host.addRoute({ min: 8, dev: 'mctp0' });
  host.addNeighbour('mctp0', 8, Buffer.from([0x10]));
  const r2 = await askFull(sock, phys, '00 81 03');
  t.equal(r2?.msg[1], 1, 'routed answer arrives too');
  responder.close();
});

t.test('bus-owner role', async (t) => {
  const s = linkedStacks({ hw: true, hostEid: 9 });
  // Here the BMC is the responder, the "host" side asks.
  const responder = new ControlResponder(s.bmc, { role: 'bus-owner' });
  const sock = s.host;
  const phys = { ifindex: s.hostIf.index, haddr: Buffer.from([0x10]) };
  const notes: DiscoveryNotifyEvent[] = [];
  responder.on('discovery-notify', (e: DiscoveryNotifyEvent) => notes.push(e));

  t.equal((await ask(sock, phys, '00 80 01 00 0a'))?.toString('hex'), '00000105', 'Set Endpoint ID: unsupported for a bus owner');
  t.same(s.bmc.interface('mctp0').addrs, [8]);
  t.equal((await ask(sock, phys, '00 81 02'))?.toString('hex'), '00010200081200', 'Get Endpoint ID: EID 8, bus owner, static');
  t.equal(await ask(sock, phys, '00 82 0b'), null, 'Prepare for Endpoint Discovery: ignored');
  t.equal(await ask(sock, phys, '00 83 0c'), null, 'Endpoint Discovery: ignored');
  t.equal((await ask(sock, phys, '00 84 0d'))?.toString('hex'), '00040d00', 'Discovery Notify: acknowledged');
  t.same(notes, [{ iface: 'mctp0', ifindex: s.bmcIf.index, eid: 9, hwAddr: Buffer.from([0x1d]) }]);
  t.equal((await ask(sock, phys, '00 85 08 00 0f 0b'))?.toString('hex'), '000508000100' + '00', 'Allocate: rejected, we own our pool');
  t.equal((await ask(sock, phys, '00 86 08 02 00 00'))?.toString('hex'), '00060800000000', 'Allocate, get info: nothing allocated to us');
  t.equal((await ask(sock, phys, '00 87 08 03 00 00'))?.toString('hex'), '00070802', 'Allocate, reserved operation: invalid data');
  t.equal((await ask(sock, phys, '00 88 09 00'))?.toString('hex'), '00080905', 'Routing Information Update: not a bridge');
  responder.close();
});

t.test('one responder per stack: the control bind is exclusive', async (t) => {
  const s = linkedStacks();
  const a = new ControlResponder(s.host, { role: 'endpoint' });
  t.throws(() => new ControlResponder(s.host, { role: 'endpoint' }), { code: 'EADDRINUSE' });
  a.close();
  const b = new ControlResponder(s.host, { role: 'endpoint' });
  b.close();
  t.pass('a closed responder frees the bind');
});
