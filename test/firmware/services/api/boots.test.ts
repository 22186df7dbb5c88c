/**
 * Boots: every event says which host boot it happened in, status and power
 * report the boot in progress with an uptime that restarts at each reset,
 * and the waits on what the host does (endpoint:, astlpc-up, milestone:)
 * are met only by records of the boot in progress — not by what the
 * previous boot did, even while a part still reports it.
 */
import t from 'tap';
import { fixture, serve, settle } from './helpers.js';

const json = (body: string): any => JSON.parse(body);
const EP9 = { eid: 9, net: 1, iface: 'mctp0', types: [0], uuid: null, connectivity: 'Available' };

t.test('status and power: the boot in progress, and uptime since it began', async (t) => {
  let wall = Date.parse('2025-01-01T00:00:00Z');
  const f = fixture();
  f.power.now = () => wall;
  const s = await serve(t, f, { now: () => wall });
  const status = async (): Promise<any> => json((await s.app.inject({ url: '/api/v1/status' })).body);
  const power = async (): Promise<any> => json((await s.app.inject({ url: '/api/v1/host/power' })).body);

  t.match((await status()).host, { power: 'off', uptimeSeconds: null, boot: { id: null, startedAt: null, reason: null } });
  f.power.set('on');
  wall += 90_000;
  t.match((await status()).host, { power: 'on', uptimeSeconds: 90, boot: { id: 1, startedAt: '2025-01-01T00:00:00.000Z', reason: 'power-on' } });
  t.equal((await power()).uptimeSeconds, 90);

  const r = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', payload: { action: 'reset' } });
  t.equal(r.statusCode, 200);
  t.equal(json(r.body).uptimeSeconds, 0, 'a reset restarts the uptime');
  wall += 5_000;
  t.match((await status()).host, { power: 'on', uptimeSeconds: 5, boot: { id: 2, startedAt: '2025-01-01T00:01:30.000Z', reason: 'reset' } });
  t.equal((await power()).uptimeSeconds, 5);

  f.power.set('off');
  t.match((await status()).host, { power: 'off', uptimeSeconds: null, boot: { id: null, startedAt: null } });
  f.power.set('on');
  t.match((await status()).host.boot, { id: 3, reason: 'power-on' }, 'a power cycle is a new boot too');
});

t.test('every event carries the boot it happened in; a host-boot record holds while a boot runs', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const seen: Array<Record<string, unknown>> = [];
  s.hub.subscribe((ev) => seen.push(ev));
  const readiness = async (): Promise<any> => json((await s.app.inject({ url: '/api/v1/readiness' })).body);

  let r = await readiness();
  t.equal(r.boot, null, 'off: no boot');
  t.ok(r.records.length > 0 && r.records.every((e: { boot?: unknown }) => e.boot === null), 'records from before any boot say boot null');

  f.power.set('on');
  f.events.milestone('kernel');
  f.endpoints.assign(EP9);
  await f.power.reset();
  f.events.milestone('kernel');
  t.same(
    seen.map((e) => [e.kind, e.boot]),
    [
      ['host-boot', 1],
      ['host-power', 1],
      ['boot-milestone', 1],
      ['endpoint-assigned', 1],
      ['host-boot', 2],
      ['boot-milestone', 2],
    ],
  );
  t.match(seen[0], { kind: 'host-boot', boot: 1, reason: 'power-on', startedAt: /^\d{4}-/ });

  r = await readiness();
  t.equal(r.boot, 2);
  t.match(r.records.filter((e: { kind: string }) => e.kind === 'host-boot'), [{ boot: 2, reason: 'reset' }], 'the replay says which boot is current');
  t.match(r.records.filter((e: { kind: string }) => e.kind === 'boot-milestone'), [{ name: 'kernel', boot: 2 }], "only this boot's milestones hold");

  f.power.set('off');
  r = await readiness();
  t.equal(r.boot, null);
  t.notOk(r.records.some((e: { kind: string }) => e.kind === 'host-boot' || e.kind === 'boot-milestone'), 'off: no boot, no milestones');
  t.match(seen.at(-1), { kind: 'host-power', state: 'off', boot: null });
});

t.test("right after a reset, no wait is met by the previous boot's state", async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const once = async (condition: string): Promise<number> =>
    (await s.app.inject({ url: `/api/v1/wait?condition=${encodeURIComponent(condition)}&timeoutMs=0` })).statusCode;

  f.power.set('on');
  f.endpoints.assign(EP9);
  f.astlpc.up();
  f.events.milestone('agent-started');
  for (const c of ['endpoint:9', 'astlpc-up', 'milestone:agent-started']) t.equal(await once(c), 200, `${c} in boot 1`);
  const met = json((await s.app.inject({ url: '/api/v1/wait?condition=endpoint:9&timeoutMs=0' })).body);
  t.match(met, { met: true, boot: 1, observed: { eid: 9, connectivity: 'Available', boot: 1 } });

  // The parts still say what they said in boot 1 (nobody told them yet): that is not news of boot 2.
  await f.power.reset();
  for (const c of ['endpoint:9', 'astlpc-up', 'milestone:agent-started']) t.equal(await once(c), 408, `${c} right after the reset`);
  const r408 = json((await s.app.inject({ url: '/api/v1/wait?condition=endpoint:9&timeoutMs=0' })).body);
  t.match(r408, { code: 'E_WAIT_TIMEOUT', lastSeen: { eid: 9, endpoints: [9], boot: 2 } });

  // The new boot reports them: met, and the answer says in which boot.
  const cases: Array<[string, () => void]> = [
    ['endpoint:9', () => f.endpoints.assign(EP9)],
    ['astlpc-up', () => f.astlpc.up()],
    ['milestone:agent-started', () => f.events.milestone('agent-started')],
  ];
  for (const [condition, happen] of cases) {
    const p = s.app.inject({ url: `/api/v1/wait?condition=${encodeURIComponent(condition)}&timeoutMs=5000` });
    await settle();
    happen();
    const r = await p;
    t.equal(r.statusCode, 200, condition);
    t.match(json(r.body), { met: true, boot: 2 });
  }
});

t.test('an endpoint known to be gone is not met, in any boot', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  f.power.set('on');
  f.endpoints.assign({ ...EP9, connectivity: 'unavailable' });
  const r = await s.app.inject({ url: '/api/v1/wait?condition=endpoint:9&timeoutMs=0' });
  t.equal(r.statusCode, 408);
  t.match(json(r.body), { lastSeen: { eid: 9, connectivity: 'unavailable' } });
  const st = json((await s.app.inject({ url: '/api/v1/status' })).body);
  t.match(st.mctp, { endpoints: 1, endpointsUnavailable: 1 });
});

t.test('without boot tracking (a launcher without it, or no launcher) waits work as before', async (t) => {
  const f = fixture({ parts: false });
  f.ctx.endpoints = f.endpoints;
  f.ctx.astlpc = f.astlpc;
  const s = await serve(t, f);
  f.endpoints.assign(EP9);
  f.astlpc.up();
  f.events.milestone('kernel');
  for (const c of ['endpoint:9', 'astlpc-up', 'milestone:kernel']) {
    const r = await s.app.inject({ url: `/api/v1/wait?condition=${c}&timeoutMs=0` });
    t.equal(r.statusCode, 200, c);
    t.equal(json(r.body).boot, null);
  }
});
