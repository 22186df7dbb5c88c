/** The boot progress reducer: replay, resets, the live channel and endpoints, snapshots, and junk. */
import t from 'tap';
import { prng } from '../helpers/prng.js';
import {
  applyPowerSnapshot,
  applyStatusSnapshot,
  bootReducer,
  initialBootState,
  KNOWN_MILESTONES,
  stages,
  streamOpened,
  type BootState,
  type Stage,
} from '../../web/dashboard/src/model/boot-progress.js';
import { JUNK, POWER, REPLAY, STATUS } from './fixtures.js';

const fold = (events: unknown[], from: BootState = initialBootState): BootState => events.reduce<BootState>(bootReducer, from);
const byName = (s: BootState): Record<string, Stage> => Object.fromEntries(stages(s).stages.map((x) => [x.name, x]));
const states = (s: BootState): Record<string, string> => Object.fromEntries(stages(s).stages.map((x) => [x.name, x.state]));
const ORDER = ['power-on', ...KNOWN_MILESTONES, 'astlpc-up', 'endpoint-assigned'];

let nextId = 100;
const at = (ms: number): string => new Date(Date.parse('2026-11-21T07:16:43.234Z') + ms).toISOString();
const ev = (kind: string, ms: number, fields: Record<string, unknown> = {}) => ({ kind, id: nextId++, time: at(ms), ...fields });

t.test('nothing known: every stage pending, in boot order', async (t) => {
  const v = stages(initialBootState);
  t.same(
    v.stages.map((s) => s.name),
    ORDER,
  );
  t.ok(v.stages.every((s) => s.state === 'pending' && s.seconds === null && s.known));
  t.same([v.done, v.total], [0, 8]);
});

t.test('the replay of a booted host: everything done, with seconds after power-on', async (t) => {
  const s = fold(REPLAY, streamOpened(initialBootState));
  const v = stages(s);
  t.same([v.done, v.total], [8, 8]);
  t.same(
    v.stages.map((x) => x.name),
    ORDER,
  );
  const st = byName(s);
  // Milestones carry the server's own seconds.
  t.equal(st['init-started']?.seconds, 4.37);
  t.equal(st['agent-astlpc-up']?.seconds, 7.92);
  // The others are placed on the same clock (power-on at time - seconds of a milestone).
  const near = (v: number | null | undefined, want: number) => t.ok(v !== null && v !== undefined && Math.abs(v - want) < 0.01, `${v} ≈ ${want}`);
  near(st['power-on']?.seconds, 0.112);
  near(st['astlpc-up']?.seconds, 7.872);
  near(st['endpoint-assigned']?.seconds, 7.893, );
  t.equal(s.awaitingReplay, false);
});

t.test('a host reset clears the milestones; the live channel and endpoints still hold', async (t) => {
  const booted = fold(REPLAY);
  const s = bootReducer(booted, ev('host-reset', 60000, { reason: 'reset' }));
  t.same(states(s), {
    'power-on': 'done',
    'init-started': 'pending',
    'modules-loaded': 'pending',
    'host-root-mounted': 'pending',
    'agent-started': 'pending',
    'agent-astlpc-up': 'pending',
    'astlpc-up': 'done',
    'endpoint-assigned': 'done',
  });
  const again = bootReducer(s, ev('boot-milestone', 64000, { name: 'init-started', seconds: 64.1 }));
  t.equal(byName(again)['init-started']?.state, 'done');
  t.equal(byName(again)['init-started']?.seconds, 64.1);
});

t.test('power leaving "on" resets the boot; a new power-on starts a new one', async (t) => {
  let s = fold(REPLAY);
  s = bootReducer(s, ev('host-power', 100000, { state: 'powering-off', previous: 'on' }));
  t.equal(stages(s).done, 0, 'nothing counts while the host is not on');
  t.same(s.milestones, []);
  s = fold(
    [
      ev('host-power', 101000, { state: 'off' }),
      ev('astlpc-state', 101000, { state: 'idle', carrier: false }),
      ev('endpoint-removed', 101000, { eid: 10, net: 1 }),
      ev('endpoint-removed', 101000, { eid: 9, net: 1 }),
    ],
    s,
  );
  t.equal(stages(s).done, 0);
  s = fold(
    [
      ev('host-power', 110000, { state: 'powering-on' }),
      ev('host-power', 110200, { state: 'on' }),
      ev('boot-milestone', 114000, { name: 'init-started', seconds: 4.0 }),
      ev('astlpc-state', 117000, { state: 'active', carrier: true }),
      ev('endpoint-assigned', 117500, { eid: 10, net: 1, iface: 'mctplpc0', types: [0] }),
    ],
    s,
  );
  const st = byName(s);
  t.equal(st['power-on']?.state, 'done');
  t.equal(st['init-started']?.seconds, 4);
  t.ok(Math.abs((st['power-on']?.seconds ?? -1) - 0.2) < 0.001, 'on 0.2 s after the boot began');
  t.ok(Math.abs((st['astlpc-up']?.seconds ?? -1) - 7) < 0.001);
  t.ok(Math.abs((st['endpoint-assigned']?.seconds ?? -1) - 7.5) < 0.001);
  t.equal(st['modules-loaded']?.state, 'pending');
  t.same([stages(s).done, stages(s).total], [4, 8]);
});

t.test('the channel and endpoints follow their live state', async (t) => {
  let s = fold(REPLAY);
  s = bootReducer(s, ev('astlpc-state', 70000, { state: 'error', carrier: false, lastError: 'boom' }));
  t.equal(byName(s)['astlpc-up']?.state, 'pending');
  s = bootReducer(s, ev('astlpc-state', 71000, { state: 'active', carrier: true }));
  t.equal(byName(s)['astlpc-up']?.state, 'done');
  s = bootReducer(s, ev('endpoint-removed', 72000, { eid: 9, net: 1 }));
  t.equal(byName(s)['endpoint-assigned']?.state, 'done', 'one endpoint still holds');
  s = bootReducer(s, ev('endpoint-updated', 72500, { eid: 10, net: 1, connectivity: 'unavailable' }));
  t.equal(byName(s)['endpoint-assigned']?.state, 'done', 'updated is still assigned');
  s = bootReducer(s, ev('endpoint-removed', 73000, { eid: 10, net: 1 }));
  t.equal(byName(s)['endpoint-assigned']?.state, 'pending');
  t.equal(s.endpointsSinceMs, null);
});

t.test('milestones this page does not know: appended, done, in arrival order', async (t) => {
  let s = fold(REPLAY);
  s = fold(
    [
      ev('boot-milestone', 9000, { name: 'agent-echo-ok', seconds: 9.1 }),
      ev('boot-milestone', 9500, { name: 'zzz-late', seconds: 9.5 }),
      ev('boot-milestone', 9600, { name: 'aaa-later' }),
      ev('boot-milestone', 9700, { name: 'agent-echo-ok', seconds: 9.7 }),
      ev('boot-milestone', 9800, { name: 'power-on', seconds: 1 }),
      ev('boot-milestone', 9800, { name: 'endpoint-assigned' }),
    ],
    s,
  );
  const v = stages(s);
  t.same(
    v.stages.map((x) => x.name),
    [...ORDER, 'agent-echo-ok', 'zzz-late', 'aaa-later'],
    "names of our own stages don't duplicate them",
  );
  t.same(
    v.stages.slice(8).map((x) => [x.state, x.known]),
    [
      ['done', false],
      ['done', false],
      ['done', false],
    ],
  );
  t.equal(v.stages[8]?.seconds, 9.7, 'a repeat keeps its place, takes the new timing');
  t.ok((v.stages[10]?.seconds ?? 0) > 9, 'no seconds given: placed by its time');
  t.same([v.done, v.total], [11, 11]);
  t.equal(new Set(v.stages.map((x) => x.name)).size, v.stages.length, 'stage names are unique');
});

t.test('a reconnect: a replay replaces the state, missed events apply on top', async (t) => {
  const booted = fold(REPLAY);
  // The host was reset while we were away; the new replay holds only what is true now.
  const replay2 = [
    { kind: 'host-power', state: 'on', id: 40, time: at(200000), replay: true },
    { kind: 'boot-milestone', name: 'init-started', seconds: 3, id: 41, time: at(203000), replay: true },
  ];
  const s = fold(replay2, streamOpened(booted));
  t.same(states(s), {
    'power-on': 'done',
    'init-started': 'done',
    'modules-loaded': 'pending',
    'host-root-mounted': 'pending',
    'agent-started': 'pending',
    'agent-astlpc-up': 'pending',
    'astlpc-up': 'pending',
    'endpoint-assigned': 'pending',
  });
  // Last-Event-ID catch-up: the server sends only what was missed (no replay flag).
  const caught = bootReducer(streamOpened(booted), ev('boot-milestone', 9000, { name: 'agent-echo-ok' }));
  t.equal(stages(caught).done, 9, 'kept what we had and added the missed event');
  t.equal(caught.awaitingReplay, false);
  t.equal(streamOpened(streamOpened(booted)).awaitingReplay, true);
});

t.test('unknown kinds and junk change nothing (and keep identity)', async (t) => {
  const booted = fold(REPLAY);
  for (const j of JUNK) t.equal(bootReducer(booted, j), booted, `junk ${JSON.stringify(j) ?? String(j)}`);
  t.equal(bootReducer(booted, ev('link-up', 1, { iface: 'x' })), booted);
  t.equal(bootReducer(booted, ev('astlpc-state', 1, { carrier: true })), booted, 'same carrier is no change');
  t.equal(bootReducer(booted, ev('host-power', 1, { state: 'on' })), booted, 'same power is no change');
  t.equal(bootReducer(booted, ev('endpoint-assigned', 1, { eid: 9, net: 1 })), booted, 'already held');
  t.equal(bootReducer(booted, ev('endpoint-removed', 1, { eid: 99, net: 1 })), booted, 'not held');
});

t.test('random junk streams never throw and keep the view sane', async (t) => {
  const rand = prng(0xb007);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const kinds = ['host-power', 'host-reset', 'boot-milestone', 'astlpc-state', 'endpoint-assigned', 'endpoint-updated', 'endpoint-removed', 'x', ''];
  const values: unknown[] = [...JUNK, 'on', 'off', 'powering-on', 'init-started', 'agent-echo-ok', 1, 9, 10, true, false, 1e300, -5, '2026-11-21T07:16:43.234Z'];
  let s: BootState = initialBootState;
  for (let i = 0; i < 5000; i++) {
    const e: Record<string, unknown> = { kind: pick(kinds) };
    for (const k of ['state', 'name', 'seconds', 'carrier', 'eid', 'net', 'time', 'replay']) if (rand() < 0.5) e[k] = pick(values);
    if (rand() < 0.05) s = streamOpened(s);
    s = rand() < 0.05 ? bootReducer(s, pick(values)) : bootReducer(s, e);
    if (rand() < 0.02) s = applyPowerSnapshot(s, { state: pick(values), since: pick(values) });
    if (rand() < 0.02) s = applyStatusSnapshot(s, { host: { power: pick(values), since: pick(values), boot: { milestones: [pick(values), { name: pick(values) }] } } });
    const v = stages(s);
    if (v.total < 8 || v.done > v.total || new Set(v.stages.map((x) => x.name)).size !== v.total) {
      t.fail(`bad view after ${i}: ${JSON.stringify(v)}`);
      return;
    }
    for (const x of v.stages) {
      if (x.seconds !== null && !(Number.isFinite(x.seconds) && x.seconds >= 0)) {
        t.fail(`bad seconds ${x.seconds} at ${i}`);
        return;
      }
    }
  }
  t.pass('5000 random events');
});

t.test('power snapshots (stream down): newer ones apply, stale ones are ignored', async (t) => {
  let s = applyPowerSnapshot(initialBootState, POWER);
  t.equal(s.power, 'on');
  t.equal(byName(s)['power-on']?.state, 'done');
  t.equal(applyPowerSnapshot(s, POWER), s, 'the same snapshot again: no change');
  t.equal(applyPowerSnapshot(s, { state: 'powering-on', since: at(-500) }), s, 'older than what we hold');
  t.equal(applyPowerSnapshot(s, { state: 'off' }), s, 'no since: cannot tell it is newer');
  t.equal(applyPowerSnapshot(s, { state: 42, since: at(10) }), s);
  for (const j of JUNK) t.equal(applyPowerSnapshot(s, j), s);
  s = fold([ev('boot-milestone', 4000, { name: 'init-started', seconds: 4 })], s);
  const off = applyPowerSnapshot(s, { state: 'off', since: at(20000) });
  t.equal(off.power, 'off');
  t.same(off.milestones, []);
  // Still "on" but since jumped: the host rebooted between two polls.
  const rebooted = applyPowerSnapshot(s, { state: 'on', since: at(30000) });
  t.same(rebooted.milestones, []);
  t.equal(rebooted.powerOnMs, Date.parse(at(30000)));
  t.equal(applyPowerSnapshot(s, { state: 'on', since: at(300) }), s, 'a few hundred ms of skew is the same transition');
  t.equal(applyPowerSnapshot(initialBootState, { state: 'off' }).power, 'off', 'nothing known yet: take it even without since');
});

t.test('status snapshots: power, and host.boot milestones when the server reports them', async (t) => {
  const plain = applyStatusSnapshot(initialBootState, STATUS);
  t.equal(plain.power, 'on');
  t.same(plain.milestones, [], 'no host.boot: milestones untouched');
  const withBoot = {
    ...STATUS,
    host: {
      ...STATUS.host,
      boot: {
        milestones: [
          { name: 'init-started', seconds: 4.37, time: '2026-11-21T07:16:47.492Z' },
          { name: 'modules-loaded', seconds: 4.71, time: '2026-11-21T07:16:47.833Z' },
          { name: 'modules-loaded', seconds: 99, time: '2026-11-21T07:16:47.833Z' },
          { name: 'agent-echo-ok', seconds: 'x', time: 5 },
          { name: '', seconds: 1 },
          'junk',
          null,
        ],
      },
    },
  };
  const s = applyStatusSnapshot(initialBootState, withBoot);
  t.same(
    s.milestones.map((m) => [m.name, m.seconds]),
    [
      ['init-started', 4.37],
      ['modules-loaded', 4.71],
      ['agent-echo-ok', null],
    ],
  );
  t.equal(applyStatusSnapshot(s, withBoot), s, 'the same snapshot again: same state object');
  const off = applyStatusSnapshot(s, { host: { power: 'off', since: at(50000), boot: withBoot.host.boot } });
  t.same(off.milestones, [], 'a host that is off has no boot milestones');
  for (const j of JUNK) t.equal(applyStatusSnapshot(s, j), s);
  t.equal(applyStatusSnapshot(s, { host: { ...STATUS.host, boot: { milestones: 'many' } } }).milestones.length, 0, 'a malformed list is an empty one');
});

t.test("seconds: the server's milestone clock when it fits this boot, else the power transition", async (t) => {
  // After a power cycle the server's milestone seconds may still count from the first power-on.
  const s = fold([
    ...REPLAY,
    ev('host-power', 300000, { state: 'powering-off' }),
    ev('host-power', 301000, { state: 'off' }),
    ev('host-power', 302000, { state: 'powering-on' }),
    ev('host-power', 303000, { state: 'on' }),
    ev('boot-milestone', 306000, { name: 'init-started', seconds: 306.1 }),
    ev('astlpc-state', 309000, { state: 'idle', carrier: false }),
    ev('astlpc-state', 310000, { state: 'active', carrier: true }),
  ]);
  const st = byName(s);
  t.equal(st['init-started']?.seconds, 306.1, "a milestone keeps the server's number");
  t.ok(Math.abs((st['power-on']?.seconds ?? -1) - 1) < 1e-9, 'power-on: 1 s after powering-on began');
  t.ok(Math.abs((st['astlpc-up']?.seconds ?? -1) - 8) < 1e-9, 'astlpc-up: 8 s after powering-on began');
});
