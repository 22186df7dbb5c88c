/** The topology view model, the astlpc box and the power buttons: real answers, then hostile ones. */
import t from 'tap';
import { endpointNode, topology } from '../../web/dashboard/src/model/topology.js';
import { astlpcView, formatAstlpcVersion } from '../../web/dashboard/src/model/astlpc.js';
import { actionEnabled, POWER_ACTIONS, powerView } from '../../web/dashboard/src/model/power.js';
import { ASTLPC, ENDPOINTS, JUNK, LINKS, POWER } from './fixtures.js';

t.test('the running instance: two links, one endpoint behind each', async (t) => {
  const v = topology(LINKS, ENDPOINTS);
  t.same(v.bmcEids, [
    { iface: 'mctplpc0', eid: 8 },
    { iface: 'mctpserial0', eid: 20 },
  ]);
  t.same(
    v.links.map((l) => [l.name, l.kind, l.mtu, l.up, l.carrier, l.bmcEids, l.endpoints.map((e) => e.eid)]),
    [
      ['mctplpc0', 'astlpc', 32772, true, true, [8], [10]],
      ['mctpserial0', 'serial', 68, true, true, [20], [9]],
    ],
  );
  t.same(v.links[0]?.counters, { rxPackets: 7, rxBytes: 167, txPackets: 7, txBytes: 117 });
  t.same(v.links[1]?.drops, { total: 0, rx: [], tx: [] });
  t.same(v.links[0]?.endpoints[0], {
    eid: 10,
    net: 1,
    iface: 'mctplpc0',
    types: [0, 126],
    typeNames: ['control', 'vendor-defined PCI'],
    uuid: 'd0aab812-cd6a-4ec3-ac85-5d3d31de0c59',
    connectivity: 'available',
  });
  t.same(v.unattached, []);
});

t.test('drops: totals and the non-zero reasons by name', async (t) => {
  const link = structuredClone(LINKS[1]) as Record<string, any>;
  link.counters.rxDropped = 4;
  link.counters.rxDrops['bad-version'] = 3;
  link.counters.rxDrops.short = 1;
  link.counters.txDropped = 2;
  link.counters.txDrops['carrier-lost'] = 2;
  const l = topology([link], [])?.links[0];
  t.equal(l?.drops.total, 6);
  t.same(l?.drops.rx, [
    { reason: 'bad-version', count: 3 },
    { reason: 'short', count: 1 },
  ]);
  t.same(l?.drops.tx, [{ reason: 'carrier-lost', count: 2 }]);
  // Totals missing (an older server): the reason maps are summed instead.
  delete link.counters.rxDropped;
  delete link.counters.txDropped;
  t.equal(topology([link], [])?.links[0]?.drops.total, 6);
  delete link.counters.rxDrops;
  delete link.counters.txDrops;
  t.equal(topology([link], [])?.links[0]?.drops.total, null, 'nothing at all: unknown, not 0');
});

t.test('endpoints: sorted, de-duplicated, unknown types in hex, strays kept', async (t) => {
  const v = topology(LINKS, [
    { eid: 30, net: 1, iface: 'mctplpc0', types: [0, 1, 2, 3, 4, 5, 6, 0x7f, 0x42, 0, 'x', -1], uuid: null, connectivity: 'degraded' },
    { eid: 10, net: 1, iface: 'mctplpc0' },
    { eid: 10, net: 1, iface: 'mctplpc0', types: [5] },
    { eid: 10, net: 2, iface: 'mctplpc0' },
    { eid: 77, net: 1, iface: 'gone0' },
    { eid: 78, net: 1 },
  ]);
  const lpc = v.links[0];
  t.same(
    lpc?.endpoints.map((e) => [e.eid, e.net]),
    [
      [10, 1],
      [10, 2],
      [30, 1],
    ],
  );
  t.same(lpc?.endpoints[0]?.types, [], 'first of a duplicate wins; missing types are none');
  t.same(lpc?.endpoints[2]?.typeNames, ['control', 'PLDM', 'NC-SI', 'Ethernet', 'NVMe-MI', 'SPDM', 'secured messages', 'vendor-defined IANA', '0x42']);
  t.same(
    v.unattached.map((e) => e.eid),
    [77, 78],
  );
});

t.test('hostile answers: never a throw, never a bogus node', async (t) => {
  for (const a of JUNK) {
    for (const b of JUNK) {
      const v = topology(a, b);
      t.same(v, { bmcEids: [], links: [], unattached: [] });
    }
  }
  const weird = [
    null,
    'mctp0',
    { name: '' },
    { name: 42 },
    { name: 'a', kind: 7, mtu: '68', up: 'yes', carrier: null, addrs: 'eight', counters: 'lots' },
    { name: 'a', kind: 'dup' },
    { name: 'b', addrs: [8, 8, -1, 1.5, '9', 1e300, 255], counters: { rxPackets: 1e300, rxBytes: -1, txPackets: '7', rxDrops: [], txDrops: { x: 'y' } } },
    { name: '<img src=x onerror=alert(1)>', kind: 'serial' },
  ];
  const v = topology(weird, [{ eid: 1, iface: 'b', types: 'all', uuid: 5, connectivity: {} }, { eid: 'x' }, 'y']);
  t.same(
    v.links.map((l) => l.name),
    ['a', 'b', '<img src=x onerror=alert(1)>'],
    'nameless and repeated links are dropped; names are data, not markup',
  );
  const a = v.links[0];
  t.same([a?.kind, a?.mtu, a?.up, a?.carrier, a?.bmcEids], [null, null, null, null, []]);
  t.same(a?.counters, { rxPackets: null, rxBytes: null, txPackets: null, txBytes: null });
  t.same(a?.drops, { total: null, rx: [], tx: [] });
  const b = v.links[1];
  t.same(b?.bmcEids, [8, 255]);
  t.same(b?.counters, { rxPackets: 1e300, rxBytes: -1, txPackets: null, txBytes: null }, 'numbers pass; the formatters judge them');
  t.same(b?.endpoints.map((e) => [e.eid, e.types, e.uuid, e.connectivity]), [[1, [], null, null]]);
  t.same(v.bmcEids, [
    { iface: 'b', eid: 8 },
    { iface: 'b', eid: 255 },
  ]);
  t.equal(endpointNode({ eid: Number.MAX_SAFE_INTEGER + 2 }), null);
});

t.test('the astlpc box', async (t) => {
  const a = astlpcView(ASTLPC);
  t.same(a, {
    state: 'active',
    carrier: true,
    version: { negotiated: 3, min: 1, max: 3 },
    mtu: 32772,
    payload: 32768,
    bmcReady: true,
    channelActive: true,
    lastError: null,
  });
  t.equal(formatAstlpcVersion(a.version), 'v3 (supports 1–3)');
  // The event form carries version and MTU as bare numbers.
  const e = astlpcView({ state: 'active', carrier: true, version: 2, mtu: 68, lastError: 'E_TIMEOUT' });
  t.same([e.version.negotiated, e.mtu, e.payload, e.lastError], [2, 68, null, 'E_TIMEOUT']);
  t.equal(formatAstlpcVersion(e.version), 'v2');
  t.equal(formatAstlpcVersion(astlpcView({ version: { negotiated: null, min: 1, max: 3 } }).version), 'not negotiated (supports 1–3)');
  for (const j of JUNK) {
    const v = astlpcView(j);
    t.equal(v.state, 'unknown');
    t.equal(v.bmcReady, null);
  }
});

t.test('power buttons: on from off, the rest from on, nothing in between', async (t) => {
  const enabled = (body: unknown) => POWER_ACTIONS.filter((a) => actionEnabled(a, powerView(body)));
  t.same(enabled(POWER), ['off', 'soft-off', 'reset', 'cycle']);
  t.same(enabled({ ...POWER, state: 'off' }), ['on']);
  for (const state of ['powering-on', 'powering-off', 'resetting', 'on fire', '', 7]) t.same(enabled({ ...POWER, state }), [], String(state));
  t.same(enabled({ state: 'on', actions: ['reset'] }), ['reset'], 'only what the server offers');
  t.same(enabled({ state: 'on' }), ['off', 'soft-off', 'reset', 'cycle'], 'no list: judged by state alone');
  t.same(enabled({ state: 'on', actions: 'all' }), ['off', 'soft-off', 'reset', 'cycle'], 'a malformed list says nothing: judged by state');
  t.equal(actionEnabled('explode', powerView(POWER)), false);
  t.same(powerView({ state: 'on', uptimeSeconds: '5', actions: ['on', 3] }), { state: 'on', uptimeSeconds: null, offered: ['on'] });
  for (const j of JUNK) {
    t.equal(powerView(j).state, 'unknown');
    t.same(enabled(j), []);
  }
});
