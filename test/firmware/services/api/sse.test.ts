/** GET /api/v1/events over a real socket: replay on connect, live events, Last-Event-ID, shutdown. */
import http from 'node:http';
import t from 'tap';
import { fixture, serve } from './helpers.js';

interface SseEvent {
  id: number;
  kind: string;
  time: string;
  replay?: boolean;
  [k: string]: unknown;
}

/** A small text/event-stream reader: collects events, lets the test wait for one. */
function subscribe(url: string, headers: Record<string, string> = {}) {
  const events: SseEvent[] = [];
  const ids: string[] = [];
  const waiters: Array<{ pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = [];
  let buf = '';
  let res!: http.IncomingMessage;
  let ended = false;
  let markEnded!: () => void;
  const endedP = new Promise<void>((r) => (markEnded = r));
  const ready = new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get(url, { headers }, (r) => {
      res = r;
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const id = /^id: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!data) continue;
          const ev = JSON.parse(data) as SseEvent;
          ids.push(id!);
          events.push(ev);
          for (const w of [...waiters]) if (w.pred(ev)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(ev));
        }
      });
      r.on('end', () => {
        ended = true;
        markEnded();
      });
      resolve(r);
    });
    req.on('error', reject);
  });
  return {
    events,
    ids,
    ready,
    get ended() {
      return ended;
    },
    whenEnded: endedP,
    next(pred: (e: SseEvent) => boolean): Promise<SseEvent> {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    close: () => res?.destroy(),
  };
}

t.test('replay on connect, then live events', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { sseKeepAliveMs: 0 });
  const { url } = await s.listen();
  // Milestones belong to a boot: the host is on before it reaches one.
  f.power.set('on');
  f.events.milestone('kernel');

  const sub = subscribe(`${url}/api/v1/events`);
  const res = await sub.ready;
  t.teardown(() => sub.close());
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/event-stream/);
  t.equal(res.headers['cache-control'], 'no-cache, no-transform');

  // A late subscriber sees what already holds, marked as replay.
  const link = await sub.next((e) => e.kind === 'link-up');
  t.match(link, { iface: 'mctp0', replay: true });
  t.match(await sub.next((e) => e.kind === 'boot-milestone'), { name: 'kernel', replay: true });
  t.match(await sub.next((e) => e.kind === 'host-power'), { state: 'on', previous: 'off', replay: true });
  t.match(await sub.next((e) => e.kind === 'address-added'), { iface: 'mctp0', eid: 8, net: 1 });
  t.match(await sub.next((e) => e.kind === 'astlpc-state'), { state: 'waiting-init', carrier: false });
  t.notOk(sub.events.some((e) => e.kind === 'boot-milestone' && !e.replay), 'nothing live yet');

  // Live: a link going down and up, an endpoint, a milestone; each with an id equal to the SSE id.
  f.host.interface('mctp0').setUp(false);
  t.match(await sub.next((e) => e.kind === 'link-down'), { iface: 'mctp0' });
  f.host.interface('mctp0').setUp(true);
  const up = await sub.next((e) => e.kind === 'link-up' && !e.replay);
  t.equal(up.iface, 'mctp0');
  f.endpoints.assign({ eid: 9, net: 1, iface: 'mctp0', types: [0], uuid: null, connectivity: 'Available' });
  t.match(await sub.next((e) => e.kind === 'endpoint-assigned'), { eid: 9, net: 1, iface: 'mctp0' });
  f.astlpc.up();
  t.match(await sub.next((e) => e.kind === 'astlpc-state' && e.carrier === true), { state: 'active', version: 3, mtu: 4100 });
  f.events.record({ kind: 'custom-thing', detail: 'x', time: 0 });
  t.match(await sub.next((e) => e.kind === 'custom-thing'), { detail: 'x', time: '1970-01-01T00:00:00.000Z' });

  sub.events.forEach((e, i) => t.equal(sub.ids[i], `${s.hub.epoch}.${e.id}`, `event ${e.kind}: SSE id is the run's epoch and the record id`));
  const liveIds = sub.events.filter((e) => !e.replay).map((e) => e.id);
  t.same(liveIds, [...liveIds].sort((a, b) => a - b), 'live ids increase');
  for (const e of sub.events) t.ok(!Number.isNaN(Date.parse(e.time)), 'every event has a time');

  // Restating a state the hub holds is not a new event.
  const before = sub.events.length;
  f.events.record({ kind: 'link-up', iface: 'mctp0' });
  f.events.milestone('kernel');
  f.events.milestone('agent');
  await sub.next((e) => e.kind === 'boot-milestone' && e.name === 'agent');
  t.equal(sub.events.length, before + 1, 'only the new milestone arrived');
});

t.test('a reconnect with Last-Event-ID gets what it missed', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { sseKeepAliveMs: 0 });
  const { url } = await s.listen();
  const last = s.hub.lastId;
  f.events.milestone('one');
  f.events.milestone('two');
  const sub = subscribe(`${url}/api/v1/events`, { 'last-event-id': `${s.hub.epoch}.${last}` });
  await sub.ready;
  t.teardown(() => sub.close());
  await sub.next((e) => e.name === 'two');
  t.same(
    sub.events.map((e) => [e.kind, e.name, e.replay]),
    [
      ['boot-milestone', 'one', undefined],
      ['boot-milestone', 'two', undefined],
    ],
    'exactly the missed events, not a replay',
  );

  const stale = subscribe(`${url}/api/v1/events`, { 'last-event-id': '999999' });
  await stale.ready;
  t.teardown(() => stale.close());
  t.match(await stale.next((e) => e.kind === 'link-up'), { replay: true }, 'an unknown id falls back to the replay');

  // A restarted server numbers from 1 again: an id of another run is never taken for one of ours.
  const restarted = subscribe(`${url}/api/v1/events`, { 'last-event-id': `0000beef.${last}` });
  await restarted.ready;
  t.teardown(() => restarted.close());
  t.match(await restarted.next((e) => e.kind === 'link-up'), { replay: true }, "another run's id gets the replay");
  for (const junk of ['', '.', `${s.hub.epoch}.`, `${s.hub.epoch}.-1`, `${s.hub.epoch}.1e3`, `${s.hub.epoch}.${'9'.repeat(40)}`, String(last)]) {
    t.equal(s.hub.parseEventId(junk), null, `Last-Event-ID ${JSON.stringify(junk.slice(0, 30))} is not ours`);
  }
  t.equal(s.hub.parseEventId(`${s.hub.epoch}.${last}`), last);
});

t.test('keep-alive comments, and close() ends open streams', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { sseKeepAliveMs: 20 });
  const { url } = await s.listen();
  const raw = await new Promise<string>((resolve) => {
    http.get(`${url}/api/v1/events`, (r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => {
        text += c;
        if (text.includes(': keep-alive')) {
          r.destroy();
          resolve(text);
        }
      });
    });
  });
  t.match(raw, /^retry: 2000\n\n/);

  const sub = subscribe(`${url}/api/v1/events`);
  await sub.ready;
  await sub.next((e) => e.kind === 'link-up');
  await s.close();
  await sub.whenEnded;
  t.ok(sub.ended, 'the stream ended cleanly when the server closed');
});
