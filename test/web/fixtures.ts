/**
 * Real API answers and events captured from a running bmcemu instance (host on,
 * booted, both links up with one endpoint each), for the dashboard model tests.
 */

/** GET /api/v1/events right after connecting: the replay of what holds. */
export const REPLAY = [
  { kind: 'address-added', iface: 'mctplpc0', eid: 8, net: 1, id: 2, time: '2026-11-21T07:16:43.073Z', replay: true },
  { kind: 'address-added', iface: 'mctpserial0', eid: 20, net: 1, id: 4, time: '2026-11-21T07:16:43.073Z', replay: true },
  { kind: 'link-up', iface: 'mctpserial0', id: 9, time: '2026-11-21T07:16:43.206Z', replay: true },
  { kind: 'host-power', state: 'on', id: 10, time: '2026-11-21T07:16:43.234Z', previous: 'powering-on', replay: true },
  { seconds: 4.37, kind: 'boot-milestone', name: 'init-started', id: 11, time: '2026-11-21T07:16:47.492Z', replay: true },
  { seconds: 4.71, kind: 'boot-milestone', name: 'modules-loaded', id: 12, time: '2026-11-21T07:16:47.833Z', replay: true },
  { seconds: 4.76, kind: 'boot-milestone', name: 'host-root-mounted', id: 13, time: '2026-11-21T07:16:47.889Z', replay: true },
  {
    seconds: 7.62,
    line: 'bmcemu-agent: started eid dynamic bmc-eid 8 window ivshmem 0000:00:02.0 BAR2 (enabled it) (1048576 bytes) kcs /dev/vport0p1 (bmcemu.kcs.3)',
    kind: 'boot-milestone',
    name: 'agent-started',
    id: 14,
    time: '2026-11-21T07:16:50.752Z',
    replay: true,
  },
  { kind: 'link-up', iface: 'mctplpc0', id: 16, time: '2026-11-21T07:16:50.994Z', replay: true },
  { kind: 'astlpc-state', state: 'active', carrier: true, version: 3, mtu: 32772, lastError: null, id: 18, time: '2026-11-21T07:16:50.994Z', replay: true },
  {
    kind: 'endpoint-assigned',
    eid: 9,
    net: 1,
    iface: 'mctpserial0',
    types: [0, 126],
    uuid: 'd0aab812-cd6a-4ec3-ac85-5d3d31de0c59',
    connectivity: 'available',
    id: 20,
    time: '2026-11-21T07:16:51.015Z',
    replay: true,
  },
  { seconds: 7.92, line: 'bmcemu-agent: astlpc up v3 mtu 32772', kind: 'boot-milestone', name: 'agent-astlpc-up', id: 21, time: '2026-11-21T07:16:51.051Z', replay: true },
  {
    kind: 'endpoint-assigned',
    eid: 10,
    net: 1,
    iface: 'mctplpc0',
    types: [0, 126],
    uuid: 'd0aab812-cd6a-4ec3-ac85-5d3d31de0c59',
    connectivity: 'available',
    id: 23,
    time: '2026-11-21T07:16:51.314Z',
    replay: true,
  },
];

export const STATUS = {
  version: '0.1.0',
  bmc: { startedAt: '2026-11-21T07:16:42.970Z', uptimeSeconds: 68.593, pid: 8423 },
  host: { power: 'on', since: '2026-11-21T07:16:43.234Z', uptimeSeconds: 68.329 },
  mctp: {
    defaultNet: 1,
    links: [
      { name: 'mctplpc0', up: true, carrier: true, addrs: [8] },
      { name: 'mctpserial0', up: true, carrier: true, addrs: [20] },
    ],
    astlpc: 'active',
    endpoints: 2,
  },
  features: { power: true, console: true, hardware: true, endpoints: true, astlpc: true, capture: true },
};

export const POWER = { state: 'on', since: '2026-11-21T07:16:43.234Z', uptimeSeconds: 68.342, actions: ['on', 'off', 'soft-off', 'reset', 'cycle'] };

const noDrops = () => ({
  rxDrops: {
    'if-down': 0,
    short: 0,
    'bad-version': 0,
    'bad-src': 0,
    'bad-dest': 0,
    'no-route': 0,
    'no-key': 0,
    'no-listener': 0,
    'reasm-not-started': 0,
    'reasm-seq': 0,
    'reasm-dup-start': 0,
    'reasm-too-long': 0,
    'reasm-limit': 0,
    'reasm-timeout': 0,
    'key-exists': 0,
    'rcvbuf-full': 0,
    'fwd-too-big': 0,
    'fwd-failed': 0,
  },
  txDrops: { 'carrier-lost': 0, 'if-down': 0, 'binding-error': 0 },
});

export const ASTLPC = {
  kind: 'astlpc',
  mode: 'bmc',
  state: 'active',
  running: true,
  carrier: true,
  lastError: null,
  version: { negotiated: 3, min: 1, max: 3 },
  mtu: { current: 32772, payload: 32768, requested: 0, bufferLimit: 32772 },
  status: { str: 193, bmcReady: true, channelActive: true },
  buffers: { tx: 'acquired', rx: 'released' },
  layout: { bmcToHost: { offset: 256, size: 32780 }, hostToBmc: { offset: 524412, size: 32780 } },
  windowSize: 1048576,
  up: true,
};

export const LINKS = [
  {
    index: 1,
    name: 'mctplpc0',
    kind: 'astlpc',
    hwAddr: '',
    net: 1,
    mtu: 32772,
    up: true,
    carrier: true,
    running: true,
    addrs: [8],
    txQueueDepth: 0,
    counters: { rxPackets: 7, rxBytes: 167, txPackets: 7, txBytes: 117, rxDropped: 0, txDropped: 0, ...noDrops() },
    binding: ASTLPC,
  },
  {
    index: 2,
    name: 'mctpserial0',
    kind: 'serial',
    hwAddr: '',
    net: 1,
    mtu: 68,
    up: true,
    carrier: true,
    running: true,
    addrs: [20],
    txQueueDepth: 0,
    counters: { rxPackets: 8, rxBytes: 154, txPackets: 12, txBytes: 150, rxDropped: 0, txDropped: 0, ...noDrops() },
    binding: { kind: 'serial', carrier: true, adminUp: true, txBlocked: false, streamsAttached: 1 },
  },
];

export const ENDPOINTS = [
  { eid: 9, net: 1, iface: 'mctpserial0', types: [0, 126], uuid: 'd0aab812-cd6a-4ec3-ac85-5d3d31de0c59', connectivity: 'available' },
  { eid: 10, net: 1, iface: 'mctplpc0', types: [0, 126], uuid: 'd0aab812-cd6a-4ec3-ac85-5d3d31de0c59', connectivity: 'available' },
];

/** Values of the wrong type or shape, for "never throws" checks. */
export const JUNK: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1e308,
  NaN,
  '',
  'on',
  '12',
  true,
  [],
  [1, 2],
  {},
  { kind: 5 },
  { kind: '' },
  { kind: null },
  { kind: 'boot-milestone' },
  { kind: 'boot-milestone', name: 42, seconds: 'soon' },
  { kind: 'host-power', state: 7 },
  { kind: 'endpoint-assigned', eid: '9' },
  { kind: 'endpoint-assigned', eid: -1 },
  { kind: 'endpoint-assigned', eid: 1.5 },
  { kind: 'endpoint-removed' },
  { kind: 'astlpc-state', carrier: 'yes' },
  { kind: 'surprise', time: 'not a time' },
];
