/** The dashboard's poll loop on a fake clock with fake fetches: 401 stops all, 501 backs off, refreshes coalesce, hangs time out. */
import t from 'tap';
import { ABSENT_RECHECK_MS, POLL_MS, Poller, SOURCE_TIMEOUT_MS, type PollFetches, type PollSinks, type Timers } from '../../web/dashboard/src/model/poller.js';
import { ENDPOINTS, LINKS, POWER, STATUS } from './fixtures.js';

/** Lets every promise chain that can move, move (a macrotask: all microtasks run first). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

class FakeClock implements Timers {
  #now = 0;
  #next = 1;
  #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  get pending(): number {
    return this.#timers.size;
  }
  /** Move time on by `ms`, firing what falls due in order and letting the promises it starts run. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= end && (!due || e[1].at < due[1].at)) due = e;
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
      await settle();
    }
    this.#now = end;
  }
}

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

type Name = keyof PollFetches;
const NAMES: Name[] = ['status', 'power', 'links', 'endpoints', 'astlpc'];

/** Fetches that count their calls; each answers what `answers[name]` says (a body, an error to throw, or a promise). */
function fakes(answers: Partial<Record<Name, () => unknown>> = {}): { fetches: PollFetches; calls: Record<Name, number> } {
  const calls = Object.fromEntries(NAMES.map((n) => [n, 0])) as Record<Name, number>;
  const defaults: Record<Name, () => unknown> = {
    status: () => STATUS,
    power: () => POWER,
    links: () => LINKS,
    endpoints: () => ENDPOINTS,
    astlpc: () => ({ state: 'active' }),
  };
  const make = (n: Name) => async (): Promise<unknown> => {
    calls[n]++;
    const v = (answers[n] ?? defaults[n])();
    if (v instanceof Error) throw v;
    return v;
  };
  return { fetches: { status: make('status'), power: make('power'), links: make('links'), endpoints: make('endpoints'), astlpc: make('astlpc') }, calls };
}

/** Sinks that record what reached the page. */
function recorder() {
  const log = {
    errors: new Map<string, string>(),
    stopped: 0,
    noHost: 0,
    power: 0,
    topology: [] as Array<[unknown, unknown]>,
    astlpc: [] as unknown[],
    boot: [] as string[],
    statusFailed: 0,
  };
  const sinks: PollSinks = {
    errors: (f) => void (log.errors = new Map(f)),
    stopped: () => void log.stopped++,
    noHost: () => void log.noHost++,
    power: () => void log.power++,
    topology: (l, e) => void log.topology.push([l, e]),
    astlpc: (b) => void log.astlpc.push(b),
    bootSnapshot: (kind) => void log.boot.push(kind),
    statusFailed: () => void log.statusFailed++,
  };
  return { log, sinks };
}

t.test('a healthy instance: every source once per tick, answers delivered', async (t) => {
  const clock = new FakeClock();
  const f = fakes();
  const r = recorder();
  const p = new Poller({ fetches: f.fetches, sinks: r.sinks, timers: clock });
  p.start();
  await clock.advance(0);
  t.same(f.calls, { status: 1, power: 1, links: 1, endpoints: 1, astlpc: 1 });
  t.same(r.log.topology[0], [LINKS, ENDPOINTS]);
  t.equal(r.log.errors.size, 0);
  await clock.advance(POLL_MS * 4);
  t.equal(f.calls.status, 5, 'one pass per second');
  p.stop();
});

t.test('a 401 stops everything for good', async (t) => {
  const clock = new FakeClock();
  let authorised = true;
  const f = fakes({ power: () => (authorised ? POWER : new HttpError(401)) });
  const r = recorder();
  const p = new Poller({ fetches: f.fetches, sinks: r.sinks, timers: clock });
  p.start();
  await clock.advance(POLL_MS * 2);
  t.equal(r.log.stopped, 0);
  authorised = false;
  await clock.advance(POLL_MS);
  t.equal(r.log.stopped, 1, 'stopped');
  t.equal(p.stopped, true);
  t.equal(r.log.errors.size, 0, 'no error lines: the banner says it all');
  const before = { ...f.calls };
  await clock.advance(POLL_MS * 60);
  await p.refresh();
  t.same(f.calls, before, 'nothing is asked any more: not by the tick, not by refresh()');
  t.equal(clock.pending, 0, 'no timer left');
  t.equal(r.log.stopped, 1, 'said once');
});

t.test('a 401 answered after stop() (e.g. by the client’s own handler) changes nothing', async (t) => {
  const clock = new FakeClock();
  let release: (v: unknown) => void = () => {};
  const f = fakes({ status: () => new Promise((resolve) => (release = resolve)) });
  const r = recorder();
  const p = new Poller({ fetches: f.fetches, sinks: r.sinks, timers: clock });
  p.start();
  await clock.advance(0);
  p.stop();
  release(STATUS);
  await clock.advance(POLL_MS * 5);
  t.equal(f.calls.power, 0, 'the pass did not go on to the parts');
  t.equal(r.log.stopped, 1);
});

t.test('a part that answers 501 is asked again only every 30 s', async (t) => {
  const clock = new FakeClock();
  const f = fakes({ power: () => new HttpError(501), astlpc: () => new HttpError(501) });
  const r = recorder();
  const p = new Poller({ fetches: f.fetches, sinks: r.sinks, timers: clock });
  p.start();
  await clock.advance(0);
  t.equal(f.calls.power, 1);
  t.equal(r.log.errors.size, 0, 'a 501 is not an error');
  t.equal(r.log.noHost, 1);
  t.same(r.log.astlpc, [null], 'no astlpc: the box hides');
  await clock.advance(ABSENT_RECHECK_MS - POLL_MS);
  t.equal(f.calls.power, 1, 'not asked within 30 s');
  t.ok(f.calls.status >= 29, 'while the others go on every second');
  t.ok(r.log.noHost >= 29, 'the panel keeps saying "no host"');
  await clock.advance(POLL_MS * 2);
  t.equal(f.calls.power, 2, 'asked again after 30 s');
  t.equal(f.calls.astlpc, 2);
  p.stop();
});

t.test('features: false in /status: the part is not asked at all', async (t) => {
  const clock = new FakeClock();
  const f = fakes({ status: () => ({ ...STATUS, features: { ...STATUS.features, endpoints: false } }) });
  const r = recorder();
  const p = new Poller({ fetches: f.fetches, sinks: r.sinks, timers: clock });
  p.start();
  await clock.advance(POLL_MS * 3);
  t.equal(f.calls.endpoints, 0, 'the first pass asked /status first');
  t.same(r.log.topology.at(-1), [LINKS, []], 'no bus owner: no endpoints');
  p.stop();
});

t.test('concurrent refreshes coalesce into one pass in flight and at most one after', async (t) => {
  const clock = new FakeClock();
  const gates: Array<() => void> = [];
  const f = fakes({ links: () => new Promise((resolve) => gates.push(() => resolve(LINKS))) });
  const p = new Poller({ fetches: f.fetches, timers: clock });
  const first = p.refresh();
  await settle();
  const more = Array.from({ length: 20 }, () => p.refresh());
  t.ok(more.every((m) => m === first), 'every call shares the pass in flight');
  t.equal(f.calls.links, 1, 'one request in flight');
  gates.shift()?.();
  await settle();
  t.equal(f.calls.links, 2, 'the calls during it asked for exactly one more pass');
  gates.shift()?.();
  await first;
  t.equal(f.calls.links, 2);
  t.equal(f.calls.status, 2);
  const later = p.refresh();
  t.not(later, first, 'a later call starts a new pass');
  await settle();
  gates.shift()?.();
  await later;
  t.equal(f.calls.links, 3);
});

t.test('a hung fetch times out, is reported, and the loop goes on', async (t) => {
  const clock = new FakeClock();
  let hang = true;
  const f = fakes({ links: () => (hang ? new Promise(() => {}) : LINKS) });
  const r = recorder();
  const p = new Poller({ fetches: f.fetches, sinks: r.sinks, timers: clock });
  p.start();
  await clock.advance(SOURCE_TIMEOUT_MS - 1);
  t.equal(f.calls.status, 1, 'the pass waits for its slowest source…');
  await clock.advance(1);
  t.match(r.log.errors.get('topology'), /GET \/mctp\/links: no answer in 10 s/, '…up to the limit, then reports it');
  t.notOk(r.log.errors.has('status'), 'the others are fine');
  hang = false;
  await clock.advance(POLL_MS);
  t.equal(f.calls.status, 2, 'the next tick ran');
  t.equal(r.log.errors.size, 0, 'and the error cleared once it answered');
  p.stop();
});

t.test('errors are per source; status failing first still tries the parts (and the console fallback)', async (t) => {
  const clock = new FakeClock();
  let statusUp = false;
  const f = fakes({ status: () => (statusUp ? STATUS : new HttpError(500)), astlpc: () => new Error('boom') });
  const r = recorder();
  const p = new Poller({ fetches: f.fetches, sinks: r.sinks, timers: clock });
  p.start();
  await clock.advance(0);
  t.same([...r.log.errors.keys()].sort(), ['astlpc', 'status']);
  t.equal(r.log.statusFailed, 1);
  t.equal(f.calls.power, 1, 'the parts are asked anyway');
  statusUp = true;
  await clock.advance(POLL_MS);
  t.same([...r.log.errors.keys()], ['astlpc']);
  p.stop();
});

t.test('polled snapshots feed the boot panel only while the stream is down', async (t) => {
  const clock = new FakeClock();
  let live = false;
  const r = recorder();
  const p = new Poller({ fetches: fakes().fetches, sinks: r.sinks, timers: clock, streamLive: () => live });
  p.start();
  await clock.advance(0);
  t.same(r.log.boot.sort(), ['power', 'status']);
  live = true;
  r.log.boot = [];
  await clock.advance(POLL_MS * 3);
  t.same(r.log.boot, [], 'stream live: the stream is newer');
  t.ok(r.log.power >= 3, 'the panels are still polled');
  p.stop();
});

t.test('a hidden page skips the ticks but refresh() still works', async (t) => {
  const clock = new FakeClock();
  let visible = false;
  const f = fakes();
  const p = new Poller({ fetches: f.fetches, timers: clock, visible: () => visible });
  p.start();
  await clock.advance(POLL_MS * 5);
  t.equal(f.calls.status, 0);
  await p.refresh();
  t.equal(f.calls.status, 1);
  visible = true;
  await clock.advance(POLL_MS);
  t.equal(f.calls.status, 2);
  p.stop();
});
