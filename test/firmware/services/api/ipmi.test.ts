/**
 * The IPMI routes against a real IpmiService (router, commands, SEL, FRU;
 * no VM link): stats, the log rings with their long poll, raw requests on
 * the "api" bus, the SEL decoded and cleared, FRU device 0, the Prometheus
 * families, and hostile input.
 */
import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { DASHBOARD_HEADER } from '../../../../firmware/services/api/session.js';
import { fixture, serve, settle } from './helpers.js';

const json = (body: string) => JSON.parse(body);
/** SEL time the tests run at: 2026-12-06 05:53:15 UTC. */
const WALL = Date.UTC(2026, 11, 6, 5, 53, 15);

async function setup(t: Parameters<typeof serve>[0], opts: { token?: string } = {}) {
  const clock = new ManualClock(5000);
  const f = fixture({ clock, ipmi: true, wallClock: () => WALL });
  const s = await serve(t, f, { clock, now: () => WALL, ...(opts.token ? { host: '0.0.0.0', token: opts.token } : {}) });
  const raw = async (body: unknown, headers: Record<string, string> = {}) => {
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/ipmi/raw', payload: body as object, headers });
    return { status: r.statusCode, body: json(r.body) };
  };
  return { f, s, clock, ipmi: f.ipmi!, raw };
}

t.test('every IPMI route answers 501 with a reason when no IPMI service is wired in', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  for (const [method, url, payload] of [
    ['GET', '/api/v1/ipmi'],
    ['GET', '/api/v1/ipmi/log'],
    ['POST', '/api/v1/ipmi/raw', { netfn: 6, cmd: 1 }],
    ['GET', '/api/v1/ipmi/sel'],
    ['DELETE', '/api/v1/ipmi/sel'],
    ['GET', '/api/v1/ipmi/fru'],
  ] as const) {
    const r = await s.app.inject({ method, url, ...(payload ? { payload } : {}) });
    t.equal(r.statusCode, 501, `${method} ${url}`);
    t.match(json(r.body), { code: 'E_NOT_IMPLEMENTED', message: 'IPMI is not implemented yet: no IPMI service is wired into this BMC' });
  }
  t.notMatch((await s.app.inject({ url: '/metrics' })).body, /ipmi_/, 'no IPMI families without IPMI');
  t.equal(json((await s.app.inject({ url: '/api/v1/status' })).body).features.ipmi, false);
});

t.test('raw requests go through the router on the "api" bus at ADMINISTRATOR privilege', async (t) => {
  const { s, raw, ipmi } = await setup(t);
  t.equal(json((await s.app.inject({ url: '/api/v1/status' })).body).features.ipmi, true);
  const id = await raw({ netfn: 6, cmd: 1 });
  t.equal(id.status, 200);
  t.match(id.body, { netfn: 6, cmd: 1, lun: 0, cc: 0, ccText: 'command completed normally' });
  t.equal(id.body.data.length, 15, 'Get Device ID answers 15 bytes');
  t.equal(id.body.data[0], 0x20, 'device ID 20h');

  const bad = await raw({ netfn: 0x06, cmd: 0xfe, data: [1, 2, 3] });
  t.equal(bad.status, 200, 'a non-zero completion code is an IPMI answer, not an API error');
  t.match(bad.body, { cc: 0xc1, ccText: 'invalid command', data: [] });

  // Get Message Flags needs ADMINISTRATOR (a LAN user gets D4): the API bus runs at it.
  t.equal((await raw({ netfn: 0x06, cmd: 0x31 })).body.cc, 0, 'an ADMINISTRATOR command is allowed');

  const log = ipmi.router.logSince(0, 'api').entries;
  t.same(log.map((e) => [e.netfn, e.cmd, e.cc]), [[6, 1, 0], [6, 0xfe, 0xc1], [6, 0x31, 0]]);
  t.equal(log[0]!.requester, '127.0.0.1', 'the requester is the client address');
});

t.test('hostile raw requests are 400s with the documented shape, and reach nothing', async (t) => {
  const { raw, ipmi } = await setup(t);
  const cases: unknown[] = [
    {},
    { netfn: 6 },
    { cmd: 1 },
    { netfn: 0x40, cmd: 1 },
    { netfn: -1, cmd: 1 },
    { netfn: 6, cmd: 256 },
    { netfn: 6.5, cmd: 1 },
    { netfn: 'App', cmd: 1 },
    { netfn: 6, cmd: 1, data: [256] },
    { netfn: 6, cmd: 1, data: [-1] },
    { netfn: 6, cmd: 1, data: [1.5] },
    { netfn: 6, cmd: 1, data: ['x'] },
    { netfn: 6, cmd: 1, data: [[1, 2]] },
    { netfn: 6, cmd: 1, data: { 0: 1 } },
    { netfn: 6, cmd: 1, data: new Array(257).fill(0) },
    { netfn: 6, cmd: 1, data: new Array(100000).fill(0xff) },
    { netfn: 6, cmd: 1, lun: 4 },
    { netfn: 6, cmd: 1, bus: 'system' },
    { netfn: 6, cmd: 1, privilege: 5 },
    [6, 1],
  ];
  for (const body of cases) {
    const r = await raw(body);
    t.equal(r.status, 400, JSON.stringify(body).slice(0, 60));
    t.match(r.body, { statusCode: 400, error: 'Bad Request', code: 'E_VALIDATION', message: /\S/ });
  }
  t.equal(ipmi.router.lastSeq, 0, 'nothing was dispatched');
  const extra = await raw({ netfn: 6, cmd: 1, bus: 'system' });
  t.match(extra.body.message, /"bus"/, 'the message names the unknown field');
  const notJson = await (async () => {
    const { s } = await setup(t);
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/ipmi/raw', headers: { 'content-type': 'application/json' }, payload: '{"netfn":6,' });
    return { status: r.statusCode, body: json(r.body) };
  })();
  t.match(notJson, { status: 400, body: { code: 'E_BAD_REQUEST' } });
});

t.test('the log: names, wall-clock times, bus filter, after/limit, and what a ring dropped', async (t) => {
  const { s, raw, ipmi, clock } = await setup(t);
  await raw({ netfn: 6, cmd: 1 });
  clock.advance(1500);
  await raw({ netfn: 0x0a, cmd: 0x40 });
  await ipmi.router.dispatch({ netfn: 0, cmd: 1, lun: 0, data: Buffer.alloc(0), bus: 'system', privilege: 4, requester: 'qemu#1' });
  const get = async (q: string) => {
    const r = await s.app.inject({ url: `/api/v1/ipmi/log${q}` });
    return { status: r.statusCode, body: json(r.body) };
  };
  const all = await get('');
  t.equal(all.status, 200);
  t.same(all.body.entries, [
    {
      seq: 1,
      bus: 'api',
      requester: '127.0.0.1',
      netfn: 6,
      netfnName: 'App',
      cmd: 1,
      name: 'Get Device ID',
      cc: 0,
      ccText: 'command completed normally',
      time: new Date(WALL - 1500).toISOString(),
      durationMs: 0,
    },
    {
      seq: 2,
      bus: 'api',
      requester: '127.0.0.1',
      netfn: 0x0a,
      netfnName: 'Storage',
      cmd: 0x40,
      name: 'Get SEL Info',
      cc: 0,
      ccText: 'command completed normally',
      time: new Date(WALL).toISOString(),
      durationMs: 0,
    },
    {
      seq: 3,
      bus: 'system',
      requester: 'qemu#1',
      netfn: 0,
      netfnName: 'Chassis',
      cmd: 1,
      name: 'Get Chassis Status',
      cc: 0,
      ccText: 'command completed normally',
      time: new Date(WALL).toISOString(),
      durationMs: 0,
    },
  ]);
  t.match(all.body, { lastSeq: 3, more: false, missed: false });
  t.same((await get('?bus=system')).body.entries.map((e: { seq: number }) => e.seq), [3]);
  t.same((await get('?bus=nope')).body, { entries: [], lastSeq: 3, more: false, missed: false });
  t.same((await get('?limit=1')).body.entries.map((e: { seq: number }) => e.seq), [3], 'without after: the newest');
  const page = (await get('?after=0&limit=2')).body;
  t.same(page.entries.map((e: { seq: number }) => e.seq), [1, 2], 'with after: the oldest after it');
  t.match(page, { lastSeq: 2, more: true });
  t.match((await get(`?after=${page.lastSeq}&limit=2`)).body, { entries: [{ seq: 3 }], lastSeq: 3, more: false });
  t.match((await get('?after=999')).body, { entries: [], lastSeq: 3 }, 'a position from another run is clamped to now');

  ipmi.router.configureBus('api', { logSize: 2 });
  for (let i = 0; i < 3; i++) await raw({ netfn: 6, cmd: 1 });
  const lost = (await get('?bus=api&after=3')).body;
  t.same(lost.entries.map((e: { seq: number }) => e.seq), [5, 6]);
  t.equal(lost.missed, true, 'entry 4 was dropped before it was read');
  t.equal((await get('?bus=api&after=4')).body.missed, false);

  for (const q of ['?limit=0', '?limit=1001', '?after=-1', '?after=x', '?wait=120001', '?wait=-5', '?bus=a%20b', `?bus=${'x'.repeat(33)}`, '?foo=1']) {
    const r = await get(q);
    t.equal(r.status, 400, q);
    t.equal(r.body.code, 'E_VALIDATION');
  }
});

t.test('the log long poll: answers at the next message, or empty when the wait runs out', async (t) => {
  const { s, raw, clock } = await setup(t);
  await raw({ netfn: 6, cmd: 1 });
  const pending = s.app.inject({ url: '/api/v1/ipmi/log?after=1&wait=60000' });
  await settle();
  await raw({ netfn: 0x0a, cmd: 0x40 });
  const r = json((await pending).body);
  t.match(r, { entries: [{ seq: 2, name: 'Get SEL Info' }], lastSeq: 2 });

  const onApi = s.app.inject({ url: '/api/v1/ipmi/log?after=2&bus=api&wait=1000' });
  await settle();
  clock.advance(999);
  await settle();
  clock.advance(1);
  const empty = json((await onApi).body);
  t.same(empty, { entries: [], lastSeq: 2, more: false, missed: false }, 'timed out: nothing new, not an error');
});

t.test('a long poll waits only for its bus; closing the server answers it with 503', async (t) => {
  const { s, ipmi } = await setup(t);
  const pending = s.app.inject({ url: '/api/v1/ipmi/log?after=0&bus=api&wait=60000' });
  await settle();
  await ipmi.router.dispatch({ netfn: 6, cmd: 1, lun: 0, data: Buffer.alloc(0), bus: 'system', privilege: 4 });
  await settle();
  let answered = false;
  void pending.then(() => (answered = true));
  await settle();
  t.notOk(answered, 'a message on the system bus does not answer a wait for the api bus');
  await s.close();
  const r = await pending;
  t.equal(r.statusCode, 503);
  t.equal(json(r.body).code, 'E_SHUTTING_DOWN');
});

t.test('the SEL decoded, and cleared by an action', async (t) => {
  const token = 'a-token-of-sixteen-or-more';
  const { s, ipmi } = await setup(t, { token });
  const auth = { authorization: `Bearer ${token}` };
  const sel = ipmi.storage.sel;
  sel.logEvent({ generatorId: 0x20, sensorType: 0x01, sensorNumber: 0x01, eventDirType: 0x01, eventData: [0x57, 0x29, 0x28] });
  sel.logEvent({ generatorId: 0x20, sensorType: 0x23, sensorNumber: 0x03, eventDirType: 0x6f, eventData: [0xc1, 0x00, 0xff] });
  sel.logEvent({ generatorId: 0x20, sensorType: 0x01, sensorNumber: 0x01, eventDirType: 0x81, eventData: [0x57, 0x20, 0x28] });
  const oem = Buffer.alloc(16);
  oem[2] = 0xe0;
  oem.fill(0xab, 3);
  sel.add(oem);

  const r = await s.app.inject({ url: '/api/v1/ipmi/sel', headers: auth });
  t.equal(r.statusCode, 200);
  const b = json(r.body);
  t.match(b.info, { entries: 4, capacity: 1024, overflow: false });
  t.same(b.entries[0], {
    id: 1,
    recordType: 2,
    raw: b.entries[0].raw,
    timestamp: WALL / 1000,
    time: new Date(WALL).toISOString(),
    kind: 'system-event',
    generatorId: 0x20,
    evmRev: 4,
    sensorType: 1,
    sensorTypeName: 'Temperature',
    sensorNumber: 1,
    eventType: 1,
    direction: 'assertion',
    eventData: [0x57, 0x29, 0x28],
    offset: 7,
    event: 'Upper Non-critical going high',
  });
  t.match(b.entries[1], { sensorTypeName: 'Watchdog2', event: 'Hard reset', direction: 'assertion' });
  t.match(b.entries[2], { direction: 'deassertion', event: 'Upper Non-critical going high' });
  t.match(b.entries[3], { id: 4, kind: 'oem', recordType: 0xe0, oemData: 'ab'.repeat(13) });
  t.notOk('sensorType' in b.entries[3]);

  const unauth = await s.app.inject({ method: 'DELETE', url: '/api/v1/ipmi/sel' });
  t.equal(unauth.statusCode, 401, 'clearing needs the token');
  t.equal(sel.size, 4);
  const login = await s.app.inject({
    method: 'POST',
    url: '/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token, next: '/' }).toString(),
  });
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  t.equal((await s.app.inject({ url: '/api/v1/ipmi/sel', headers: { cookie } })).statusCode, 200, 'a session reads the SEL');
  const forged = await s.app.inject({ method: 'DELETE', url: '/api/v1/ipmi/sel', headers: { cookie } });
  t.equal(forged.statusCode, 401, 'a cookie alone cannot clear it: no cross-site request forgery');
  const rawForged = await s.app.inject({ method: 'POST', url: '/api/v1/ipmi/raw', headers: { cookie }, payload: { netfn: 0x0a, cmd: 0x47, data: [0, 0, 0x43, 0x4c, 0x52, 0xaa] } });
  t.equal(rawForged.statusCode, 401, 'nor send raw requests');
  const cross = await s.app.inject({ method: 'DELETE', url: '/api/v1/ipmi/sel', headers: { ...auth, origin: 'http://evil.example', host: '127.0.0.1' } });
  t.equal(cross.statusCode, 403, 'another site is refused even with the token');
  t.equal(sel.size, 4, 'nothing was cleared');

  const cleared = await s.app.inject({ method: 'DELETE', url: '/api/v1/ipmi/sel', headers: { cookie, [DASHBOARD_HEADER]: '1' } });
  t.equal(cleared.statusCode, 200);
  t.match(json(cleared.body), { cleared: 4, info: { entries: 0, overflow: false } });
  t.same(json((await s.app.inject({ url: '/api/v1/ipmi/sel', headers: auth })).body).entries, []);
  t.equal(json((await s.app.inject({ method: 'DELETE', url: '/api/v1/ipmi/sel', headers: auth })).body).cleared, 0, 'clearing an empty SEL is fine');
});

t.test('a SEL clear that cannot be stored is a 500 E_STORAGE, and the SEL is unchanged', async (t) => {
  const { s, ipmi } = await setup(t);
  ipmi.storage.sel.logEvent({ generatorId: 0x20, sensorType: 1, sensorNumber: 1, eventDirType: 1, eventData: [0x57, 0, 0] });
  const sel = ipmi.storage.sel;
  const realClear = sel.clear.bind(sel);
  sel.clear = () => false;
  t.teardown(() => (sel.clear = realClear));
  const r = await s.app.inject({ method: 'DELETE', url: '/api/v1/ipmi/sel' });
  t.equal(r.statusCode, 500);
  t.match(json(r.body), { code: 'E_STORAGE', message: /could not be cleared/ });
});

t.test('FRU device 0, parsed with named fields', async (t) => {
  const { s } = await setup(t);
  const r = await s.app.inject({ url: '/api/v1/ipmi/fru' });
  t.equal(r.statusCode, 200);
  t.same(json(r.body), {
    deviceId: 0,
    size: 512,
    headerOk: true,
    problems: [],
    chassis: null,
    board: {
      offset: 8,
      length: json(r.body).board.length,
      checksumOk: true,
      mfgDate: '2024-01-01T00:00:00.000Z',
      manufacturer: 'bmcemu',
      productName: 'Emulated AST2500 board',
      serialNumber: 'BMCEMU-0001',
      partNumber: 'AST2500-EMU',
      fruFileId: 'bmcemu-fru-v1',
      custom: [],
    },
    product: {
      offset: json(r.body).product.offset,
      length: json(r.body).product.length,
      checksumOk: true,
      manufacturer: 'bmcemu',
      name: 'Emulated server',
      partNumber: 'EMU-1U',
      version: '1.0',
      serialNumber: 'BMCEMU-SYS-0001',
      assetTag: '',
      fruFileId: 'bmcemu-fru-v1',
      custom: [],
    },
  });
});

t.test('a FRU image the host broke is reported, not refused', async (t) => {
  const { s, raw } = await setup(t);
  // Write FRU Data: clobber the board area's checksum byte region with a bad area length.
  const w = await raw({ netfn: 0x0a, cmd: 0x12, data: [0, 9, 0, 0xff] });
  t.equal(w.body.cc, 0);
  const b = json((await s.app.inject({ url: '/api/v1/ipmi/fru' })).body);
  t.equal(b.board, null);
  t.match(b.problems, [/board area length/]);
});

t.test('stats and Prometheus counters per bus, netfn, cmd and cc', async (t) => {
  const { s, raw } = await setup(t);
  await raw({ netfn: 6, cmd: 1 });
  await raw({ netfn: 6, cmd: 1 });
  await raw({ netfn: 6, cmd: 0xfe });
  const st = json((await s.app.inject({ url: '/api/v1/ipmi' })).body);
  t.equal(st.lastSeq, 3);
  t.match(st.router, [{ bus: 'system' }, { bus: 'api', requests: 3, inFlight: 0 }]);
  t.match(st.sel, { entries: 0 });
  const m = (await s.app.inject({ url: '/metrics' })).body;
  t.match(m, '# TYPE ipmi_requests_total counter\n');
  t.match(m, 'ipmi_requests_total{bus="api",netfn="0x06",cmd="0x01",cc="0x00",command="Get Device ID"} 2\n');
  t.match(m, 'ipmi_requests_total{bus="api",netfn="0x06",cmd="0xfe",cc="0xc1",command=""} 1\n');
  t.match(m, 'ipmi_bus_requests_total{bus="api"} 3\n');
  t.match(m, 'ipmi_bus_in_flight{bus="api"} 0\n');
  t.match(m, 'ipmi_bus_timeouts_total{bus="system"} 0\n');
  t.match(m, '\nipmi_sel_entries 0\n');
  t.match(m, '\nipmi_sel_capacity_entries 1024\n');
  t.match(m, 'ipmi_sel_overflow 0\n');
});

t.test('the OpenAPI document describes the IPMI routes', async (t) => {
  const { s } = await setup(t);
  const doc = json((await s.app.inject({ url: '/api/v1/openapi.json' })).body);
  for (const p of ['/api/v1/ipmi', '/api/v1/ipmi/log', '/api/v1/ipmi/raw', '/api/v1/ipmi/sel', '/api/v1/ipmi/fru']) t.ok(doc.paths[p], p);
  t.ok(doc.paths['/api/v1/ipmi/sel'].delete, 'DELETE /ipmi/sel');
  t.match(doc.paths['/api/v1/ipmi/raw'].post.requestBody.content['application/json'].schema.properties.netfn, { maximum: 0x3f });
});
