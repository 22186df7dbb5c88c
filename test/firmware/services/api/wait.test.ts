/** GET /api/v1/wait: met at once, met later, timeout (408 with what was last seen), unknown conditions. */
import http from 'node:http';
import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { fixture, serve, settle } from './helpers.js';

const json = (body: string): any => JSON.parse(body);

t.test('a condition that already holds answers at once', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const r = await s.app.inject({ url: '/api/v1/wait?condition=link-up:mctp0' });
  t.equal(r.statusCode, 200);
  t.match(json(r.body), { condition: 'link-up:mctp0', met: true, waitedMs: 0, observed: { iface: 'mctp0', up: true, carrier: true } });
  t.equal((await s.app.inject({ url: '/api/v1/wait?condition=address:8' })).statusCode, 200);
  t.equal((await s.app.inject({ url: '/api/v1/wait?condition=host-off' })).statusCode, 200);
  t.equal((await s.app.inject({ url: '/api/v1/wait?condition=link-down:mctp7' })).statusCode, 200, 'an absent link is down');
});

t.test('conditions met while waiting', async (t) => {
  const clock = new ManualClock();
  const f = fixture();
  const s = await serve(t, f, { clock });

  const cases: Array<[string, () => void]> = [
    ['host-on', () => f.power.set('on')],
    ['power:resetting', () => f.power.set('resetting')],
    ['milestone:kernel', () => f.events.milestone('kernel')],
    ['endpoint:9', () => f.endpoints.assign({ eid: 9, net: 1, iface: 'mctp0', types: [0], uuid: null, connectivity: 'Available' })],
    ['astlpc-up', () => f.astlpc.up()],
    ['address:20', () => f.bmc.addAddress('mctp0', 20)],
    ['link-down:mctp0', () => f.host.interface('mctp0').setUp(false)],
    ['link-up:mctp0', () => f.host.interface('mctp0').setUp(true)],
  ];
  for (const [condition, happen] of cases) {
    const p = s.app.inject({ url: `/api/v1/wait?condition=${encodeURIComponent(condition)}&timeoutMs=5000` });
    await settle();
    happen();
    await settle();
    const r = await p;
    t.equal(r.statusCode, 200, condition);
    t.equal(json(r.body).met, true);
  }
  t.equal(clock.pending, 0, 'every wait timer was cancelled');
});

t.test('timeout: 408 with what was last seen, on the injectable clock', async (t) => {
  const clock = new ManualClock();
  const f = fixture();
  const s = await serve(t, f, { clock });
  const p = s.app.inject({ url: '/api/v1/wait?condition=milestone:login&timeoutMs=3000' });
  await settle();
  f.events.milestone('kernel');
  clock.advance(2999);
  await settle();
  clock.advance(1);
  const r = await p;
  t.equal(r.statusCode, 408);
  t.match(json(r.body), {
    statusCode: 408,
    code: 'E_WAIT_TIMEOUT',
    message: 'condition milestone:login did not hold within 3000 ms',
    condition: 'milestone:login',
    waitedMs: 3000,
    lastSeen: { milestone: 'login', reached: ['kernel'] },
  });

  f.host.interface('mctp0').setUp(false);
  await settle();
  const p2 = s.app.inject({ url: '/api/v1/wait?condition=link-up:mctp0&timeoutMs=1000' });
  await settle();
  clock.advance(1000);
  const r2 = await p2;
  t.equal(r2.statusCode, 408);
  t.match(json(r2.body), { lastSeen: { iface: 'mctp0', up: true, carrier: false }, lastEvent: { kind: 'link-down', iface: 'mctp0' } });

  const r3 = await s.app.inject({ url: '/api/v1/wait?condition=host-on&timeoutMs=0' });
  t.equal(r3.statusCode, 408, 'timeoutMs=0 checks once');
});

t.test('milestones belong to one boot', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  f.power.set('on');
  f.events.milestone('kernel');
  t.equal((await s.app.inject({ url: '/api/v1/wait?condition=milestone:kernel&timeoutMs=0' })).statusCode, 200);
  f.power.set('off');
  t.equal((await s.app.inject({ url: '/api/v1/wait?condition=milestone:kernel&timeoutMs=0' })).statusCode, 408, 'cleared at power-off');
  f.power.set('on');
  f.events.milestone('kernel');
  f.events.hostReset();
  t.equal((await s.app.inject({ url: '/api/v1/wait?condition=milestone:kernel&timeoutMs=0' })).statusCode, 408, 'cleared at reset');
});

t.test('bad conditions are 400s that list the valid forms', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  for (const c of ['bogus', 'host-on:x', 'link-up', 'link-up:', 'endpoint:x', 'endpoint:300', 'milestone:a b', 'address:']) {
    const r = await s.app.inject({ url: `/api/v1/wait?condition=${encodeURIComponent(c)}` });
    t.equal(r.statusCode, 400, c);
    t.match(json(r.body), { code: 'E_BAD_CONDITION', message: /valid forms: host-on, host-off/ });
  }
  for (const q of ['', '?timeoutMs=5', '?condition=host-on&timeoutMs=-1', '?condition=host-on&timeoutMs=999999', '?condition=host-on&x=1']) {
    const r = await s.app.inject({ url: `/api/v1/wait${q}` });
    t.equal(r.statusCode, 400, q);
    t.equal(json(r.body).code, 'E_VALIDATION');
  }
});

t.test('closing the server answers pending waits with 503', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const p = s.app.inject({ url: '/api/v1/wait?condition=host-on&timeoutMs=60000' });
  await settle();
  await s.close();
  const r = await p;
  t.equal(r.statusCode, 503);
  t.equal(json(r.body).code, 'E_SHUTTING_DOWN');
});

t.test('a client that gives up ends its wait: its timer is cancelled', async (t) => {
  const clock = new ManualClock();
  const f = fixture();
  const s = await serve(t, f, { clock });
  const { url } = await s.listen();
  const settleUntil = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  };
  const req = http.get(`${url}/api/v1/wait?condition=host-on&timeoutMs=60000`);
  req.on('error', () => {});
  await settleUntil(() => clock.pending === 1);
  t.equal(clock.pending, 1, 'waiting on the clock');
  req.destroy();
  await settleUntil(() => clock.pending === 0);
  t.equal(clock.pending, 0, 'the wait timer was cancelled when the client left');
});
