/** Every REST route through inject(): answers, bad input (400), unknown routes (404), missing parts (501). */
import t from 'tap';
import { MctpError } from '../../../../firmware/mctp/errors.js';
import { fixture, serve, settle } from './helpers.js';

const json = (body: string): any => JSON.parse(body);

t.test('status and index', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const idx = await s.app.inject({ url: '/api/v1' });
  t.equal(idx.statusCode, 200);
  t.match(json(idx.body), { name: 'bmcemu', version: '0.1.0-test', openapi: '/api/v1/openapi.json', docs: '/api/v1/docs' });

  f.power.set('on');
  const r = await s.app.inject({ url: '/api/v1/status' });
  t.equal(r.statusCode, 200);
  const st = json(r.body);
  t.equal(st.version, '0.1.0-test');
  t.equal(st.bmc.pid, process.pid);
  t.ok(st.bmc.uptimeSeconds >= 0);
  t.equal(st.host.power, 'on');
  t.type(st.host.uptimeSeconds, 'number', 'host uptime counts once it is on');
  t.same(st.mctp.links, [{ name: 'mctp0', up: true, carrier: true, addrs: [8] }]);
  t.equal(st.mctp.astlpc, 'waiting-init');
  t.same(st.features, { power: true, console: true, hardware: true, endpoints: true, astlpc: true, capture: true, ipmi: false });
  t.same(st.host.boot, { id: 1, startedAt: new Date(f.power.boot!.startedAt).toISOString(), reason: 'power-on', milestones: [] }, 'boot 1, no milestones yet');

  f.events.milestone('init-started', { seconds: 4.25 });
  f.events.milestone('agent-started');
  const boot = json((await s.app.inject({ url: '/api/v1/status' })).body).host.boot;
  t.match(boot.milestones, [
    { name: 'init-started', seconds: 4.25, time: /^\d{4}-/ },
    { name: 'agent-started', seconds: null },
  ], 'boot progress lists the milestones reached, in order');
  f.events.hostReset('reset');
  t.same(json((await s.app.inject({ url: '/api/v1/status' })).body).host.boot.milestones, [], 'a reset clears them');
});

t.test('status without optional parts says what is missing, not an error', async (t) => {
  const f = fixture({ parts: false, runtimeDir: false });
  const s = await serve(t, f);
  const st = json((await s.app.inject({ url: '/api/v1/status' })).body);
  t.same(st.host, { power: null, since: null, uptimeSeconds: null, boot: { id: null, startedAt: null, reason: null, milestones: [] } });
  t.equal(st.mctp.astlpc, null);
  t.equal(st.mctp.endpoints, null);
  t.equal(st.mctp.endpointsUnavailable, null);
  t.same(st.features, { power: false, console: false, hardware: false, endpoints: false, astlpc: false, capture: false, ipmi: false });
});

t.test('every optional part answers 501 with a reason when missing', async (t) => {
  const f = fixture({ parts: false, runtimeDir: false });
  const s = await serve(t, f);
  const cases: Array<[string, string, unknown?]> = [
    ['GET', '/api/v1/hardware'],
    ['GET', '/api/v1/host/power'],
    ['POST', '/api/v1/host/power', { action: 'on' }],
    ['GET', '/api/v1/mctp/endpoints'],
    ['GET', '/api/v1/mctp/astlpc'],
    ['POST', '/api/v1/mctp/links/mctp0/capture', { action: 'start' }],
    ['GET', '/api/v1/mctp/links/mctp0/capture'],
    ['GET', '/api/v1/console/log'],
    ['GET', '/api/v1/console/ws'],
    ['GET', '/api/v1/wait?condition=host-on'],
    ['GET', '/api/v1/wait?condition=endpoint:9'],
    ['GET', '/api/v1/wait?condition=astlpc-up'],
  ];
  for (const [method, url, payload] of cases) {
    const r = await s.app.inject({ method: method as 'GET' | 'POST', url, ...(payload ? { payload: payload as object } : {}) });
    t.equal(r.statusCode, 501, `${method} ${url}`);
    const b = json(r.body);
    t.equal(b.code, 'E_NOT_IMPLEMENTED');
    t.match(b.message, /not implemented yet: no .* wired into this BMC/);
  }
});

t.test('unknown routes are JSON 404s', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  for (const url of ['/api/v1/nope', '/api/v2/status', '/nothing-here']) {
    const r = await s.app.inject({ url });
    t.equal(r.statusCode, 404, url);
    t.match(json(r.body), { statusCode: 404, error: 'Not Found', code: 'E_NOT_FOUND', message: `no route GET ${url}` });
  }
  const r = await s.app.inject({ method: 'DELETE', url: '/api/v1/status' });
  t.equal(r.statusCode, 404);
});

t.test('hardware', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const r = await s.app.inject({ url: '/api/v1/hardware' });
  t.equal(r.statusCode, 200);
  t.same(json(r.body), { kcs: { str: 0x40 } });
});

t.test('host power: state and actions', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  let r = await s.app.inject({ url: '/api/v1/host/power' });
  t.equal(r.statusCode, 200);
  t.match(json(r.body), { state: 'off', uptimeSeconds: null, actions: ['on', 'off', 'soft-off', 'reset', 'cycle'] });

  for (const [action, call, end] of [
    ['on', 'on', 'on'],
    ['reset', 'reset', 'on'],
    ['cycle', 'cycle', 'on'],
    ['soft-off', 'soft-off', 'off'],
    ['off', 'off', 'off'],
  ] as const) {
    r = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', payload: { action } });
    t.equal(r.statusCode, 200, action);
    t.match(json(r.body), { action, state: end });
    t.equal(f.power.calls.at(-1), call);
  }

  r = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', payload: { action: 'explode' } });
  t.equal(r.statusCode, 400);
  t.match(json(r.body), { code: 'E_VALIDATION', message: /must be equal to one of the allowed values: on, off, soft-off, reset, cycle/ });
  r = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', payload: {} });
  t.equal(r.statusCode, 400);
  t.match(json(r.body).message, /must have required property 'action'/);
  r = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', payload: 'not json', headers: { 'content-type': 'application/json' } });
  t.equal(r.statusCode, 400);
  t.equal(json(r.body).code, 'E_BAD_REQUEST');

  // A launcher failure with an errno-style code keeps its code; anything else is a 500.
  f.power.fail = Object.assign(new Error('QEMU is already starting'), { code: 'EBUSY' });
  r = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', payload: { action: 'on' } });
  t.equal(r.statusCode, 409);
  t.match(json(r.body), { code: 'EBUSY', message: 'QEMU is already starting' });
  f.power.fail = new Error('qemu-system-x86_64 exited with status 1');
  r = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', payload: { action: 'on' } });
  t.equal(r.statusCode, 500);
  t.match(json(r.body), { code: 'E_INTERNAL', message: /exited with status 1/ });
});

t.test('MCTP links, addresses, routes, neighbours', async (t) => {
  const f = fixture({ hwAddr: true });
  f.bmc.addNeighbour('mctp0', 9, Buffer.from([0x2e]));
  f.bmc.addRoute({ min: 20, max: 30, gateway: { eid: 9 }, mtu: 128 });
  const s = await serve(t, f);

  let r = await s.app.inject({ url: '/api/v1/mctp/links' });
  t.equal(r.statusCode, 200);
  const links = json(r.body);
  t.equal(links.length, 1);
  t.match(links[0], { index: 1, name: 'mctp0', kind: 'pair', hwAddr: '1d', net: 1, mtu: 68, up: true, carrier: true, running: true, addrs: [8] });
  t.equal(links[0].counters.rxDrops['bad-version'], 0, 'drop reasons are listed, zero or not');
  t.ok('peer' in links[0].binding, 'binding stats pass through');

  r = await s.app.inject({ url: '/api/v1/mctp/links/mctp0' });
  t.equal(json(r.body).name, 'mctp0');
  r = await s.app.inject({ url: '/api/v1/mctp/links/mctp9' });
  t.equal(r.statusCode, 404);
  t.match(json(r.body), { code: 'ENODEV', errno: 19, message: /no MCTP interface mctp9/ });
  r = await s.app.inject({ url: '/api/v1/mctp/links/bad%20name' });
  t.equal(r.statusCode, 400);

  r = await s.app.inject({ url: '/api/v1/mctp/addresses' });
  t.same(json(r.body), [{ eid: 8, net: 1, iface: 'mctp0' }]);

  r = await s.app.inject({ url: '/api/v1/mctp/routes' });
  t.same(json(r.body), [
    { min: 20, max: 30, type: 'unicast', net: 1, dev: null, gateway: { net: 1, eid: 9 }, mtu: 128 },
    { min: 9, max: 9, type: 'unicast', net: 1, dev: 'mctp0', gateway: null, mtu: 0 },
    { min: 8, max: 8, type: 'local', net: 1, dev: 'mctp0', gateway: null, mtu: 0 },
  ]);

  r = await s.app.inject({ url: '/api/v1/mctp/neighbours' });
  t.same(json(r.body), [{ eid: 9, net: 1, iface: 'mctp0', lladdr: '2e' }]);
});

t.test('endpoints and astlpc', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  t.same(json((await s.app.inject({ url: '/api/v1/mctp/endpoints' })).body), []);
  const ep = { eid: 9, net: 1, iface: 'mctp0', types: [0, 0x7e], uuid: '4b9e0c2a-5c4f-4d3c-9a1f-0e6a4d1b2c3d', connectivity: 'Available' };
  f.endpoints.assign(ep);
  t.same(json((await s.app.inject({ url: '/api/v1/mctp/endpoints' })).body), [ep]);

  const r = await s.app.inject({ url: '/api/v1/mctp/astlpc' });
  t.equal(r.statusCode, 200);
  t.match(json(r.body), { state: 'waiting-init', carrier: false, counters: { 'rx-drop:crc': 2 } });
});

t.test('echo: a real round trip over the pair, and its errors', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  let r = await s.app.inject({ method: 'POST', url: '/api/v1/mctp/echo', payload: { eid: 9, len: 100 } });
  t.equal(r.statusCode, 200);
  const b = json(r.body);
  t.match(b, { eid: 9, net: 1, bytes: 103 });
  t.type(b.rttMs, 'number');
  t.equal(f.responder.stats.echoed, 1);

  r = await s.app.inject({ method: 'POST', url: '/api/v1/mctp/echo', payload: { eid: 42 } });
  t.equal(r.statusCode, 503);
  t.match(json(r.body), { code: 'EHOSTUNREACH', errno: 113, message: /no route to EID 42/ });

  for (const payload of [{}, { eid: 256 }, { eid: 9, len: -1 }, { eid: 9, len: 70000 }, { eid: 9, timeoutMs: 0 }, { eid: 9, extra: 1 }, { eid: '9x' }]) {
    r = await s.app.inject({ method: 'POST', url: '/api/v1/mctp/echo', payload });
    t.equal(r.statusCode, 400, JSON.stringify(payload));
    t.equal(json(r.body).code, 'E_VALIDATION');
  }

  // Nobody answers: 504 after the timeout.
  f.responder.close();
  r = await s.app.inject({ method: 'POST', url: '/api/v1/mctp/echo', payload: { eid: 9, timeoutMs: 20 } });
  t.equal(r.statusCode, 504);
  t.match(json(r.body), { code: 'ETIMEDOUT', errno: 110 });

  // Link down: 503 ENETDOWN.
  f.host.interface('mctp0').setUp(false);
  await settle();
  r = await s.app.inject({ method: 'POST', url: '/api/v1/mctp/echo', payload: { eid: 9 } });
  t.equal(r.statusCode, 503);
  t.equal(json(r.body).code, 'ENETDOWN');
});

t.test('MctpError codes map onto HTTP statuses', async (t) => {
  const { toErrorBody } = await import('../../../../firmware/services/api/errors.js');
  const cases: Array<[ConstructorParameters<typeof MctpError>[0], number]> = [
    ['EINVAL', 400],
    ['ENOENT', 404],
    ['EEXIST', 409],
    ['EBUSY', 409],
    ['EOPNOTSUPP', 501],
    ['ENOMSG', 502],
    ['EHOSTUNREACH', 503],
    ['ETIMEDOUT', 504],
    ['EBADF', 500],
  ];
  for (const [code, status] of cases) {
    const b = toErrorBody(new MctpError(code, 'x'));
    t.equal(b.statusCode, status, code);
    t.equal(b.code, code);
    t.type(b.errno, 'number');
  }
});

t.test('console log', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  f.console.emit('BIOS\r\n');
  f.console.emit('login: ');
  let r = await s.app.inject({ url: '/api/v1/console/log' });
  t.equal(r.statusCode, 200);
  t.match(r.headers['content-type'], /^text\/plain/);
  t.equal(r.body, 'BIOS\r\nlogin: ');
  r = await s.app.inject({ url: '/api/v1/console/log?tail=7' });
  t.equal(r.body, 'login: ');
  r = await s.app.inject({ url: '/api/v1/console/log?tail=0' });
  t.equal(r.statusCode, 400);
  r = await s.app.inject({ url: '/api/v1/console/log?follow=1' });
  t.equal(r.statusCode, 400, 'unknown query parameters are refused');
  r = await s.app.inject({ url: '/api/v1/console/ws' });
  t.equal(r.statusCode, 426, 'the websocket endpoint without an upgrade says so');
  t.equal(json(r.body).code, 'E_UPGRADE_REQUIRED');
});

t.test('readiness records as JSON', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  f.events.milestone('kernel');
  const r = await s.app.inject({ url: '/api/v1/readiness' });
  t.equal(r.statusCode, 200);
  const b = json(r.body);
  t.ok(b.conditions.includes('link-up:<ifname>'));
  const kinds = b.records.map((e: { kind: string }) => e.kind);
  t.ok(kinds.includes('link-up'));
  t.ok(kinds.includes('address-added'));
  t.ok(kinds.includes('host-power'));
  t.ok(kinds.includes('astlpc-state'));
  t.ok(kinds.includes('boot-milestone'));
  t.equal(b.lastEventId, Math.max(...b.records.map((e: { id: number }) => e.id)));
});
