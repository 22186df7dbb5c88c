/**
 * The bus owner over in-memory links: mctpd's SetupEndpoint flow (fresh
 * host, host with an EID, conflicts, static EIDs, an exhausted pool, a host
 * that never answers), property queries, recovery and carrier changes.
 * Time is a ManualClock only.
 */
import t from 'tap';
import { Cmd } from '../../../../firmware/mctp/control/constants.js';
import { ControlResponder, ECHO_VDM } from '../../../../firmware/mctp/control/responder.js';
import type { PacketTap } from '../../../../firmware/mctp/interface.js';
import { BusOwner, type EndpointInfo, type SetupFailedEvent } from '../../../../firmware/services/bus-owner/bus-owner.js';
import { isEidPoolExhausted } from '../../../../firmware/services/bus-owner/eid-allocation.js';
import { MctpError } from '../../../../firmware/mctp/errors.js';
import { ask, rawControlSocket, runFor, runUntil, settle } from '../../mctp/control/helpers.js';
import { BMC_HW, World } from './bus-owner-world.js';

const UUID_A = '11111111-2222-3333-4444-555555555555';
const UUID_B = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

function events(bo: BusOwner) {
  const log: string[] = [];
  bo.on('endpoint-added', (e: EndpointInfo) => log.push(`added ${e.eid} ${e.connectivity}`));
  bo.on('endpoint-changed', (e: EndpointInfo) => log.push(`changed ${e.eid} ${e.connectivity}`));
  bo.on('endpoint-removed', (e: EndpointInfo & { reason: string }) => log.push(`removed ${e.eid} ${e.reason}`));
  bo.on('setup-failed', (e: SetupFailedEvent) => log.push(`failed ${e.iface} ${(e.error as { code?: string }).code}`));
  return log;
}

t.test('a fresh host gets the lowest free EID; route before Set Endpoint ID; properties published', async (t) => {
  const w = new World();
  const host = w.link('mctp0', { hw: 0x1d, uuid: UUID_A });
  // Record, at the moment Set Endpoint ID leaves the BMC, whether the route to 9 exists yet.
  const routeAtSetEid: boolean[] = [];
  const tap: PacketTap = {
    packet(dir, p) {
      if (dir === 'out' && p[4] === 0x00 && p[5]! & 0x80 && p[6] === Cmd.SetEndpointId) routeAtSetEid.push(w.bmc.lookupRoute(1, 9) !== null);
    },
  };
  w.bmc.interface('mctp0').addTap(tap);
  const bo = new BusOwner(w.bmc, { peers: { mctp0: [Buffer.from([0x1d])] } });
  const log = events(bo);
  bo.start();
  const ep = await bo.waitForEndpoint({ iface: 'mctp0' });

  t.match(ep, {
    eid: 9,
    net: 1,
    iface: 'mctp0',
    hwAddr: Buffer.from([0x1d]),
    messageTypes: [0x00, 0x01, 0x7e],
    vdmTypes: [ECHO_VDM],
    uuid: UUID_A,
    connectivity: 'available',
    origin: 'dynamic',
  });
  t.same(routeAtSetEid, [true], 'the route to 9 was in place before Set Endpoint ID');
  t.same(
    host.requests.map((r) => [r.cmd, r.dest]),
    [
      [Cmd.GetEndpointId, 0],
      [Cmd.SetEndpointId, 0],
      [Cmd.GetMessageTypeSupport, 9],
      [Cmd.GetVdmSupport, 9],
      [Cmd.GetEndpointUuid, 9],
    ],
    'physical addressing until the EID is set, routed after',
  );
  t.same(host.requests.map((r) => r.iid), [0, 1, 2, 3, 4], 'IIDs from one counter');
  const dst = w.bmc.lookupRoute(1, 9);
  t.equal(dst?.mtu, 68, 'route MTU: the link minimum, as mctpd');
  t.same(dst?.hwDest, Buffer.from([0x1d]), 'neighbour entry for the endpoint');
  t.same(host.stack.interface('mctp0').addrs, [9]);
  t.ok(host.stack.lookupRoute(1, 8), 'the host routes back to the bus owner');
  t.same(log, ['added 9 available']);
  t.match(bo.stats, { setups: 1, setupFailures: 0, assignments: 1 });
  t.same(bo.endpoints(), [ep]);
  t.same(bo.endpoint(9), ep);
  bo.stop();
});

t.test('a host that already has a free EID keeps it: no Set Endpoint ID', async (t) => {
  const w = new World();
  const host = w.link('mctplpc0', { eid: 12 });
  const bo = new BusOwner(w.bmc);
  bo.start();
  const ep = await bo.waitForEndpoint();
  t.match(ep, { eid: 12, origin: 'reported', hwAddr: Buffer.alloc(0) });
  t.equal(host.responder?.stats.eidAssignments, 0);
  t.notOk(host.requests.some((r) => r.cmd === Cmd.SetEndpointId));
  t.equal(w.bmc.interface('mctplpc0').neighbours.size, 0, 'no neighbour on a link without addresses');
  t.equal(bo.stats.assignments, 0);
  bo.stop();
});

t.test('a reported EID in use elsewhere is replaced from the pool', async (t) => {
  const w = new World();
  w.link('mctp0', { eid: 12 });
  const b = w.link('mctp1', { eid: 12 });
  const bo = new BusOwner(w.bmc);
  bo.start();
  await runUntil(w.clock, () => bo.endpoints().length === 2);
  t.same(
    bo.endpoints().map((e) => [e.iface, e.eid, e.origin]),
    [
      ['mctp0', 12, 'reported'],
      ['mctp1', 9, 'dynamic'],
    ],
  );
  t.same(b.stack.interface('mctp0').addrs, [9]);
  bo.stop();
});

t.test('a host that never answers: 4 tries of Get Endpoint ID, then a counted failure', async (t) => {
  const w = new World();
  const host = w.link('mctp0', { respond: false });
  const bo = new BusOwner(w.bmc);
  const log = events(bo);
  bo.start();
  const took = await runUntil(w.clock, () => bo.stats.setupFailures > 0);
  t.equal(took, 1000, '4 x 250 ms');
  t.same(host.requests.map((r) => [r.cmd, r.iid]), [
    [2, 0],
    [2, 0],
    [2, 0],
    [2, 0],
  ]);
  t.same(log, ['failed mctp0 ETIMEDOUT']);
  t.same(bo.endpoints(), []);
  t.equal(w.bmc.routes.list().filter((r) => r.type === 'unicast').length, 0, 'no route left behind');
  bo.stop();
});

t.test('Get Message Type Support is mandatory: without it, nothing is published', async (t) => {
  const w = new World();
  const host = w.link('mctp0');
  const bo = new BusOwner(w.bmc);
  // The host answers everything but Get Message Type Support.
  host.responder!.close();
  const sock = rawControlSocket(host.stack);
  sock.bind({ net: 0, eid: 0xff, type: 0, tag: 8 });
  void (async () => {
    for await (const r of sock) {
      const cmd = r.data[1]!;
      const iid = r.data[0]! & 0x1f;
      const to = { ...r.addr, tag: r.addr.tag & 7 };
      if (cmd === Cmd.GetEndpointId) sock.sendto(Buffer.from([iid, cmd, 0, 0, 0x02, 0]), to);
      if (cmd === Cmd.SetEndpointId) {
        host.stack.addAddress('mctp0', r.data[3]!);
        host.stack.addRoute({ min: 8, dev: 'mctp0' });
        sock.sendto(Buffer.from([iid, cmd, 0, 0, r.data[3]!, 0]), to);
      }
    }
  })();
  const log = events(bo);
  bo.start();
  await runUntil(w.clock, () => bo.stats.setupFailures > 0);
  t.same(log, ['failed mctp0 ETIMEDOUT']);
  t.same(bo.endpoints(), []);
  t.equal(w.bmc.lookupRoute(1, 9), null, 'the route added for Set Endpoint ID is taken back');
  sock.close();
  bo.stop();
});

t.test('static assignment per link and per link-layer address; static EIDs are reserved', async (t) => {
  const w = new World();
  w.link('mctp0');
  w.link('mctp1', { hw: 0x1d, eid: 42 });
  w.link('mctp2', { hw: 0x1e, eid: 43 });
  const bo = new BusOwner(w.bmc, {
    staticAssignments: [
      { iface: 'mctp0', eid: 42 },
      { iface: 'mctp2', hwAddr: Buffer.from([0x1e]), eid: 200 },
    ],
    peers: { mctp1: [Buffer.from([0x1d])], mctp2: [Buffer.from([0x1e])] },
  });
  bo.start();
  await runUntil(w.clock, () => bo.endpoints().length === 3);
  const byIf = Object.fromEntries(bo.endpoints().map((e) => [e.iface, [e.eid, e.origin]]));
  t.same(byIf, { mctp0: [42, 'static'], mctp1: [9, 'dynamic'], mctp2: [200, 'static'] }, "mctp1's reported 42 is reserved for mctp0");
  t.throws(() => new BusOwner(w.bmc, { responder: false, staticAssignments: [{ iface: 'mctp0', eid: 255 }] }), { code: 'ERR_BAD_CONFIG', message: /static EID 255/ });
  bo.stop();
});

t.test('an exhausted pool is a clear, counted error', async (t) => {
  const w = new World();
  w.link('mctp0');
  w.link('mctp1');
  const bo = new BusOwner(w.bmc, { eidRange: { min: 9, max: 9 } });
  const failures: SetupFailedEvent[] = [];
  bo.on('setup-failed', (e: SetupFailedEvent) => failures.push(e));
  bo.start();
  await runUntil(w.clock, () => bo.stats.setupFailures > 0 && bo.endpoints().length === 1);
  t.same(bo.endpoints().map((e) => e.eid), [9]);
  t.equal(failures.length, 1);
  t.type(failures[0]!.error, MctpError);
  t.ok(isEidPoolExhausted(failures[0]!.error));
  t.match(failures[0]!.error, { code: 'ENOBUFS', message: /no free EID in the dynamic range 9-9 on net 1/, details: { net: 1, range: { min: 9, max: 9 } } });
  t.notOk(isEidPoolExhausted(new MctpError('ENOBUFS', 'another shortage')));
  t.equal(bo.stats.poolExhausted, 1);
  t.throws(() => new BusOwner(w.bmc, { responder: false, eidRange: { min: 20, max: 10 } }), { code: 'ERR_BAD_CONFIG', message: /EID range 20-10/ });
  bo.stop();
});

t.test('carrier down marks degraded; back with the same host, available again without Set Endpoint ID', async (t) => {
  const w = new World();
  const host = w.link('mctp0', { uuid: UUID_A });
  const bo = new BusOwner(w.bmc);
  const log = events(bo);
  bo.start();
  await bo.waitForEndpoint();
  // Unplug the cable at the host end and plug it back: the host keeps its state.
  host.iface.setUp(false);
  await settle();
  t.equal(bo.endpoint(9)?.connectivity, 'degraded');
  host.iface.setUp(true);
  await runUntil(w.clock, () => bo.endpoint(9)?.connectivity === 'available');
  t.same(log, ['added 9 available', 'changed 9 degraded', 'changed 9 available']);
  t.equal(host.responder?.stats.eidAssignments, 1, 'assigned once only');
  bo.stop();
});

t.test('waitForEndpoint: which connectivity counts, a timeout on the clock, abort, and a change that matches', async (t) => {
  const w = new World();
  const host = w.link('mctp0', { uuid: UUID_A });
  const bo = new BusOwner(w.bmc);
  bo.start();
  await bo.waitForEndpoint();
  host.iface.setUp(false);
  await settle();
  t.match(await bo.waitForEndpoint({ iface: 'mctp0', connectivity: 'any' }), { eid: 9, connectivity: 'degraded' }, "a degraded endpoint counts for 'any'");
  t.match(await bo.waitForEndpoint({ connectivity: 'degraded' }), { eid: 9 });
  const timedOut = bo.waitForEndpoint({ iface: 'mctp0' }, { timeoutMs: 1000 }).catch((e: unknown) => e);
  w.clock.advance(1000);
  t.match(await timedOut, { name: 'WaitError', code: 'ERR_WAIT_TIMEOUT' }, 'available only, by default: it times out on the clock');
  const ac = new AbortController();
  const aborted = bo.waitForEndpoint({ eid: 42 }, { signal: ac.signal });
  ac.abort();
  await t.rejects(aborted, { code: 'ERR_WAIT_ABORTED' });
  const back = bo.waitForEndpoint({ iface: 'mctp0' });
  host.iface.setUp(true);
  await runUntil(w.clock, () => bo.endpoint(9)?.connectivity === 'available');
  t.match(await back, { eid: 9, connectivity: 'available' }, 'a change to available ends the wait');
  bo.stop();
});

t.test('a restarted host is re-assigned; the same UUID gets its old EID back', async (t) => {
  const w = new World();
  w.link('mctp0', { eid: 11, uuid: UUID_A });
  const bo = new BusOwner(w.bmc);
  const log = events(bo);
  bo.start();
  await bo.waitForEndpoint();
  t.match(bo.endpoint(11), { origin: 'reported', uuid: UUID_A });

  await w.hostDown('mctp0');
  t.equal(bo.endpoint(11)?.connectivity, 'degraded');
  const fresh = await w.hostUp('mctp0');
  await runUntil(w.clock, () => bo.endpoint(11)?.connectivity === 'available');
  t.same(fresh.stack.interface('mctp0').addrs, [11], 'EID 11 again, not the lowest free (9)');
  t.same(
    fresh.requests.map((r) => [r.cmd, r.dest]),
    [
      [Cmd.GetEndpointId, 0],
      [Cmd.GetEndpointUuid, 0],
      [Cmd.SetEndpointId, 0],
      [Cmd.GetMessageTypeSupport, 11],
      [Cmd.GetVdmSupport, 11],
      [Cmd.GetEndpointUuid, 11],
    ],
  );
  t.same(log, ['added 11 available', 'changed 11 degraded', 'changed 11 available']);

  // A different device on the same cable is a new endpoint.
  await w.hostDown('mctp0');
  const other = await w.hostUp('mctp0', { uuid: UUID_B });
  await runUntil(w.clock, () => bo.endpoints().some((e) => e.uuid === UUID_B));
  t.same(bo.endpoints().map((e) => [e.eid, e.uuid, e.origin]), [[9, UUID_B, 'dynamic']]);
  t.same(other.stack.interface('mctp0').addrs, [9]);
  t.same(log.slice(3), ['changed 11 degraded', 'removed 11 replaced', 'added 9 available']);
  bo.stop();
});

t.test('an endpoint removed earlier gets its EID back by UUID when it returns', async (t) => {
  const w = new World();
  w.link('mctp0', { eid: 30, uuid: UUID_A });
  const bo = new BusOwner(w.bmc);
  bo.start();
  await bo.waitForEndpoint();
  bo.removeEndpoint(30);
  t.equal(w.bmc.lookupRoute(1, 30), null, 'its route went with it');
  await w.hostDown('mctp0');
  await w.hostUp('mctp0');
  const ep = await bo.waitForEndpoint();
  t.match(ep, { eid: 30, origin: 'reclaimed', uuid: UUID_A });
  t.throws(() => bo.removeEndpoint(99), { code: 'ENOENT' });
  bo.stop();
});

t.test('recovery: degraded at once, 3 polls without retry, removed at 5.5 s with its route', async (t) => {
  const w = new World();
  const host = w.link('mctp0', { hw: 0x1d });
  const bo = new BusOwner(w.bmc, { peers: { mctp0: [Buffer.from([0x1d])] } });
  const log = events(bo);
  bo.start();
  await bo.waitForEndpoint();
  host.responder!.close();
  host.requests.length = 0;
  const start = w.clock.now();
  const polls: number[] = [];
  const tap: PacketTap = {
    packet(dir, p) {
      if (dir === 'in' && p[6] === Cmd.GetEndpointId && p[5]! & 0x80) polls.push(w.clock.now() - start);
    },
  };
  host.iface.addTap(tap);

  bo.recover(9);
  t.equal(bo.endpoint(9)?.connectivity, 'degraded', 'degraded at once');
  await runFor(w.clock, 5499);
  t.ok(bo.endpoint(9), 'still there at 5499 ms');
  await runFor(w.clock, 1);
  t.equal(bo.endpoint(9), undefined, 'removed at 5500 ms');
  t.same(polls, [250, 2750, 5250], 'first after the timeout, then every Treclaim/2 - timeout after each poll');
  t.equal(w.bmc.lookupRoute(1, 9), null, 'route removed');
  t.equal(w.bmc.interface('mctp0').neighbours.has(9), false, 'neighbour removed');
  t.same(log, ['added 9 available', 'changed 9 degraded', 'removed 9 unreachable']);
  t.match(bo.stats, { recoveries: 1, recovered: 0, removed: 1 });
  t.throws(() => bo.recover(9), { code: 'ENOENT' });
  bo.stop();
});

t.test('recovery of an endpoint that answers: available after the first poll', async (t) => {
  const w = new World();
  w.link('mctp0');
  const bo = new BusOwner(w.bmc);
  bo.start();
  await bo.waitForEndpoint();
  bo.recover(9);
  bo.recover(9);
  t.equal(bo.stats.recoveries, 1, 'a second Recover while recovering changes nothing');
  const took = await runUntil(w.clock, () => bo.endpoint(9)?.connectivity === 'available');
  t.equal(took, 250);
  t.match(bo.stats, { recoveries: 1, recovered: 1, removed: 0 });
  bo.stop();
});

t.test('a known host that stops answering at carrier-up goes to recovery, not straight out', async (t) => {
  const w = new World();
  w.link('mctp0', { uuid: UUID_A });
  const bo = new BusOwner(w.bmc);
  bo.start();
  await bo.waitForEndpoint();
  await w.hostDown('mctp0');
  await w.hostUp('mctp0', { respond: false });
  await runFor(w.clock, 1000);
  t.equal(bo.endpoint(9)?.connectivity, 'degraded', 'setup timed out; recovery polls running');
  await runUntil(w.clock, () => bo.endpoint(9) === undefined);
  t.match(bo.stats, { setupFailures: 1, recoveries: 1, removed: 1 });
  bo.stop();
});

t.test('links with addresses: Discovery Notify brings an unconfigured endpoint in', async (t) => {
  const w = new World();
  const host = w.link('mctp0', { hw: 0x1d, eid: 9 });
  const bo = new BusOwner(w.bmc);
  bo.start();
  await settle();
  t.same(host.requests, [], 'no peers configured for a link with addresses: nothing probed');
  t.equal((await ask(host.stack, { ifindex: host.iface.index, haddr: Buffer.from([BMC_HW]) }, '00 80 0d'))?.toString('hex'), '00000d00');
  const ep = await bo.waitForEndpoint();
  t.match(ep, { eid: 9, hwAddr: Buffer.from([0x1d]), origin: 'reported' });
  bo.stop();
});

t.test("the bus owner's own responder answers in the bus-owner role", async (t) => {
  const w = new World();
  const host = w.link('mctp0', { eid: 9 });
  const bo = new BusOwner(w.bmc, { uuid: UUID_B });
  bo.start();
  await bo.waitForEndpoint();
  const bmcPhys = { ifindex: host.iface.index };
  t.equal((await ask(host.stack, bmcPhys, '00 80 02'))?.toString('hex'), '00000200081200', 'EID 8, bus owner');
  t.equal((await ask(host.stack, bmcPhys, '00 81 01 00 0a'))?.toString('hex'), '00010105', 'Set Endpoint ID: unsupported');
  t.equal((await ask(host.stack, bmcPhys, '00 82 03'))?.toString('hex'), '00020300aaaaaaaabbbbccccddddeeeeeeeeeeee');
  bo.stop();
  t.equal(await ask(host.stack, bmcPhys, '00 83 02'), null, 'stopped: its responder is gone');
});

t.test('endpoints on an interface that goes away are removed; stop() cancels everything', async (t) => {
  const w = new World();
  w.link('mctp0');
  const bo = new BusOwner(w.bmc);
  const log = events(bo);
  bo.start();
  await bo.waitForEndpoint();
  bo.recover(9);
  await w.bmc.removeInterface('mctp0');
  t.same(bo.endpoints(), []);
  t.same(log, ['added 9 available', 'changed 9 degraded', 'removed 9 interface-removed']);
  bo.stop();
  await t.rejects(bo.setupEndpoint('mctp0'), { code: 'EBADF' });
  w.clock.advance(10_000);
  t.equal(w.clock.pending, 0, 'no timers left');
});

t.test('setupEndpoint and assignEndpoint on request; bad addresses are refused', async (t) => {
  const w = new World();
  const host = w.link('mctp0', { hw: 0x1d, eid: 20 });
  const bo = new BusOwner(w.bmc);
  bo.start();
  await t.rejects(bo.setupEndpoint('mctp0', Buffer.from([1, 2])), { code: 'EINVAL' }, 'wrong lladdr length');
  await t.rejects(bo.setupEndpoint('nosuch0'), { code: 'ENODEV' });
  const a = bo.setupEndpoint('mctp0', Buffer.from([0x1d]));
  const b = bo.setupEndpoint('mctp0', Buffer.from([0x1d]));
  t.match(await a, { eid: 20, origin: 'reported' });
  t.match(await b, { eid: 20 }, 'set up again: the same endpoint');
  t.equal(bo.endpoints().length, 1);
  const c = await bo.assignEndpoint('mctp0', Buffer.from([0x1d]));
  t.equal(c.eid, 20, 'AssignEndpoint of a known device keeps its EID');
  t.equal(host.responder?.stats.eidAssignments, 1, '... but does send Set Endpoint ID');
  bo.stop();
});

t.test('a link on another network: EIDs, routes and queries on that network', async (t) => {
  const w = new World();
  w.link('mctp0', { eid: 9 });
  const host2 = w.link('mctp1', { bmcNet: 2 });
  const bo = new BusOwner(w.bmc);
  bo.start();
  await runUntil(w.clock, () => bo.endpoints().length === 2);
  t.same(
    bo.endpoints().map((e) => [e.iface, e.net, e.eid]),
    [
      ['mctp0', 1, 9],
      ['mctp1', 2, 9],
    ],
    'EID 9 is free on net 2 even though net 1 uses it',
  );
  t.same(host2.stack.interface('mctp0').addrs, [9]);
  t.ok(w.bmc.lookupRoute(2, 9), 'route on net 2');
  t.equal(bo.endpoint(9, 2)?.iface, 'mctp1');
  bo.stop();
});

t.test('SetMTU: the endpoint route starts at the link minimum and can be raised', async (t) => {
  const w = new World();
  w.link('mctp0');
  const bo = new BusOwner(w.bmc);
  bo.start();
  await bo.waitForEndpoint();
  t.equal(w.bmc.lookupRoute(1, 9)?.mtu, 68);
  bo.setEndpointMtu(9, 0);
  t.equal(w.bmc.routes.list().find((r) => r.min === 9)?.mtu, 0, 'no route MTU: the device MTU applies');
  bo.setEndpointMtu(9, 1024);
  t.equal(w.bmc.routes.list().find((r) => r.min === 9)?.mtu, 1024);
  t.throws(() => bo.setEndpointMtu(9, 20), { code: 'EINVAL' });
  t.throws(() => bo.setEndpointMtu(10, 100), { code: 'ENOENT' });
  bo.removeEndpoint(9);
  t.equal(w.bmc.routes.list().filter((r) => r.min === 9).length, 0, 'removal takes the replaced route too');
  bo.stop();
});

t.test('recovery finds another EID: same UUID gets Set Endpoint ID back, another device a new EID', async (t) => {
  const w = new World();
  const host = w.link('mctp0', { uuid: UUID_A, eid: 40 });
  const bo = new BusOwner(w.bmc);
  const log = events(bo);
  bo.start();
  await bo.waitForEndpoint();
  // The host lost its EID without the link noticing (a firmware reset behind a live channel).
  host.stack.clearAddresses('mctp0');
  bo.recover(40);
  await runUntil(w.clock, () => bo.endpoint(40)?.connectivity === 'available');
  t.same(host.stack.interface('mctp0').addrs, [40], 'Set Endpoint ID 40 again');
  t.match(bo.stats, { recoveries: 1, recovered: 1 });

  // Now a different device answers at that address.
  host.responder!.close();
  host.stack.clearAddresses('mctp0');
  host.responder = new ControlResponder(host.stack, { role: 'endpoint', uuid: UUID_B });
  bo.recover(40);
  await runUntil(w.clock, () => bo.endpoints().some((e) => e.uuid === UUID_B));
  t.same(bo.endpoints().map((e) => [e.eid, e.uuid]), [[9, UUID_B]], 'a new EID from the pool');
  t.same(log, [
    'added 40 available',
    'changed 40 degraded',
    'changed 40 available',
    'changed 40 degraded',
    'removed 40 replaced',
    'added 9 available',
  ]);
  bo.stop();
  host.responder.close();
});

t.test('linkLost: unavailable at once, never polled, back only by answering a new set-up', async (t) => {
  const w = new World();
  w.link('mctp0', { uuid: UUID_A });
  const bo = new BusOwner(w.bmc);
  const log = events(bo);
  bo.start();
  await bo.waitForEndpoint();
  bo.recover(9); // a recovery in progress is called off too

  // The host behind the link reboots; its carrier stays up (a serial line), host power control says so.
  const host = await w.hostReboot('mctp0');
  const asked = host.requests.length;
  bo.linkLost('mctp0');
  t.equal(bo.endpoint(9)?.connectivity, 'unavailable', 'at once');
  await runFor(w.clock, 20_000, 50);
  t.equal(bo.endpoint(9)?.connectivity, 'unavailable', 'not polled, not removed: it is known to be gone');
  t.same(host.requests.slice(asked), [], 'no Get Endpoint ID (nor anything else) while it is gone');
  t.ok(w.bmc.lookupRoute(1, 9), 'its route and EID stay for its return');
  const anyWait = bo.waitForEndpoint({ connectivity: 'any' }, { timeoutMs: 1000 }).catch((e: unknown) => e);
  w.clock.advance(1000);
  t.match(await anyWait, { code: 'ERR_WAIT_TIMEOUT' }, "an unavailable endpoint does not count for 'any'");

  // The rebooted host asks to be set up (Discovery Notify does this on serial): same UUID, same EID.
  const back = bo.waitForEndpoint({ eid: 9 });
  await bo.setupEndpoint('mctp0');
  t.match(await back, { eid: 9, connectivity: 'available', uuid: UUID_A });
  t.same(host.stack.interface('mctp0').addrs, [9], 'Set Endpoint ID 9 again');
  t.same(log, ['added 9 available', 'changed 9 degraded', 'changed 9 unavailable', 'changed 9 available']);
  bo.stop();
});

t.test('linkLost: a set-up in flight cannot bring an endpoint back with what the host said before', async (t) => {
  const w = new World();
  const host = w.link('mctp0', { uuid: UUID_A });
  const bo = new BusOwner(w.bmc);
  const log = events(bo);
  // Host power control reports the loss while the host is answering a Get Endpoint ID.
  let armed = false;
  host.iface.addTap({
    packet(dir, p) {
      if (armed && dir === 'in' && p[6] === Cmd.GetEndpointId) {
        armed = false;
        bo.linkLost('mctp0');
      }
    },
  });

  // A first set-up: nothing is published, and no route is left behind.
  armed = true;
  bo.start();
  await runUntil(w.clock, () => log.length > 0);
  t.same(log, ['failed mctp0 EHOSTUNREACH']);
  t.same(bo.endpoints(), []);
  t.equal(w.bmc.lookupRoute(1, 9), null);

  // A known endpoint being confirmed: the host's answer (EID 9, as before) does not make it available.
  await bo.setupEndpoint('mctp0');
  t.equal(bo.endpoint(9)?.connectivity, 'available');
  armed = true;
  await t.rejects(bo.setupEndpoint('mctp0'), { code: 'EHOSTUNREACH', message: /went away/ });
  t.equal(bo.endpoint(9)?.connectivity, 'unavailable');
  await runFor(w.clock, 10_000, 50);
  t.equal(bo.endpoint(9)?.connectivity, 'unavailable', 'and no recovery was started for it');

  // Asked again after the loss, the host answers for its new self.
  await bo.setupEndpoint('mctp0');
  t.equal(bo.endpoint(9)?.connectivity, 'available');
  t.same(log.slice(1), ['added 9 available', 'changed 9 unavailable', 'failed mctp0 EHOSTUNREACH', 'changed 9 available']);
  bo.stop();
});

t.test('linkLost then carrier loss: still unavailable, not merely degraded; carrier up sets it up again', async (t) => {
  const w = new World();
  const host = w.link('mctp0', { uuid: UUID_A });
  const bo = new BusOwner(w.bmc);
  const log = events(bo);
  bo.start();
  await bo.waitForEndpoint();
  bo.linkLost('mctp0');
  host.iface.setUp(false);
  await settle();
  t.equal(bo.endpoint(9)?.connectivity, 'unavailable');
  host.iface.setUp(true);
  await runUntil(w.clock, () => bo.endpoint(9)?.connectivity === 'available');
  t.same(log, ['added 9 available', 'changed 9 unavailable', 'changed 9 available']);
  bo.linkLost('mctp7'); // a link without endpoints: nothing to do
  bo.stop();
  bo.linkLost('mctp0');
  t.equal(bo.endpoint(9)?.connectivity, 'available', 'a stopped bus owner changes nothing');
});
