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
  // The server's milestone clock restarted at the reset.
  const again = bootReducer(s, ev('boot-milestone', 64100, { name: 'init-started', seconds: 4.1 }));
  t.equal(byName(again)['init-started']?.state, 'done');
  t.equal(byName(again)['init-started']?.seconds, 4.1);
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
  s = bootReducer(s, ev('endpoint-updated', 72500, { eid: 10, net: 1, connectivity: 'degraded' }));
  t.equal(byName(s)['endpoint-assigned']?.state, 'done', 'updated (degraded: recovering) is still assigned');
  s = bootReducer(s, ev('endpoint-removed', 73000, { eid: 10, net: 1 }));
  t.equal(byName(s)['endpoint-assigned']?.state, 'pending');
  t.equal(s.endpointsSinceMs, null);
  s = bootReducer(s, ev('endpoint-assigned', 74000, { eid: 10, net: 1, connectivity: 'available' }));
  t.equal(byName(s)['endpoint-assigned']?.state, 'done');
  s = bootReducer(s, ev('endpoint-updated', 75000, { eid: 10, net: 1, connectivity: 'Unavailable' }));
  t.equal(byName(s)['endpoint-assigned']?.state, 'pending', 'unavailable (its host was reset or is off) is not assigned');
  s = bootReducer(s, ev('endpoint-updated', 76000, { eid: 10, net: 1, connectivity: 'available' }));
  t.equal(byName(s)['endpoint-assigned']?.state, 'done', 'back in the new boot');
  t.equal(s.endpointsSinceMs, Date.parse(at(76000)));
});

t.test('servers that track boots: a new boot id is a new boot, even while the power stays on', async (t) => {
  let s = fold([
    ev('host-power', 1000, { state: 'powering-on', boot: null }),
    ev('host-boot', 1100, { boot: 1, reason: 'power-on', startedAt: at(1000) }),
    ev('host-power', 1300, { state: 'on', boot: 1 }),
    ev('boot-milestone', 5000, { name: 'init-started', seconds: 4, boot: 1 }),
    ev('astlpc-state', 8000, { state: 'active', carrier: true, boot: 1 }),
    ev('endpoint-assigned', 8200, { eid: 9, net: 1, connectivity: 'available', boot: 1 }),
  ]);
  t.equal(s.bootId, 1);
  t.equal(s.bootBeganMs, Date.parse(at(1000)), 'the boot began when the server says');
  t.equal(s.powerOnMs, Date.parse(at(1300)), 'power-on: "on" a moment later');
  t.equal(stages(s).done, 4);
  t.equal(bootReducer(s, ev('host-boot', 1100, { boot: 1, reason: 'power-on', startedAt: at(1000), replay: true })), s, 'the same boot again: no change');

  // A reset: the server takes the channel and the endpoint down, then announces boot 2.
  s = fold(
    [
      ev('endpoint-updated', 60000, { eid: 9, net: 1, connectivity: 'unavailable', boot: 2 }),
      ev('astlpc-state', 60000, { state: 'ready', carrier: false, boot: 2 }),
      ev('host-reset', 60000, { reason: 'reset', boot: 2 }),
      ev('host-boot', 60001, { boot: 2, reason: 'reset', startedAt: at(60000) }),
    ],
    s,
  );
  t.equal(s.bootId, 2);
  t.same(states(s), {
    'power-on': 'done',
    'init-started': 'pending',
    'modules-loaded': 'pending',
    'host-root-mounted': 'pending',
    'agent-started': 'pending',
    'agent-astlpc-up': 'pending',
    'astlpc-up': 'pending',
    'endpoint-assigned': 'pending',
  });
  t.equal(s.powerOnMs, Date.parse(at(60000)), 'a boot begun by a reset is "on" from the reset');
  s = bootReducer(s, ev('host-power', 90000, { state: 'off', boot: null }));
  t.equal(s.bootId, null, 'off: no boot');
});

t.test('status snapshots with host.boot.id: a reset missed between two polls starts a new boot', async (t) => {
  const boot = (id: number | null, startedAt: string | null, reason: string | null, milestones: unknown[] = []) => ({
    ...STATUS,
    host: { ...STATUS.host, boot: { id, startedAt, reason, milestones } },
  });
  let s = applyStatusSnapshot(initialBootState, boot(1, STATUS.host.since, 'power-on', [{ name: 'init-started', seconds: 4, time: at(4000) }]));
  t.equal(s.bootId, 1);
  t.equal(s.milestones.length, 1);
  t.equal(applyStatusSnapshot(s, boot(1, STATUS.host.since, 'power-on', [{ name: 'init-started', seconds: 4, time: at(4000) }])), s, 'same boot, same milestones: no change');
  // Same power, same since: only the boot id says the host was reset.
  s = applyStatusSnapshot(s, boot(2, at(50000), 'reset'));
  t.equal(s.bootId, 2);
  t.same(s.milestones, []);
  t.equal(s.bootBeganMs, Date.parse(at(50000)));
  t.equal(s.powerOnMs, Date.parse(at(50000)));
  s = applyStatusSnapshot(s, { ...STATUS, host: { power: 'off', since: at(90000), boot: { id: null, startedAt: null, milestones: [] } } });
  t.equal(s.bootId, null);
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

const near = (t: { ok(ok: boolean, msg: string): unknown }, v: number | null | undefined, want: number, msg?: string) =>
  t.ok(v !== null && v !== undefined && Math.abs(v - want) < 0.01, `${msg ?? ''} ${v} ≈ ${want}`.trim());

t.test('after a host reset, every stage counts from the reset, not the old boot', async (t) => {
  // Booted (REPLAY, power on at 0), then reset 10 minutes later: power stays "on".
  let s = fold([...REPLAY, ev('host-reset', 600000, { reason: 'reset' })]);
  t.equal(s.power, 'on');
  t.equal(s.bootBeganMs, Date.parse(at(600000)), 'the boot begins again at the reset');
  t.equal(s.powerOnMs, Date.parse(at(600000)));
  near(t, byName(s)['power-on']?.seconds, 0, 'power-on');
  s = fold(
    [
      ev('boot-milestone', 604100, { name: 'init-started', seconds: 4.1 }),
      ev('boot-milestone', 604500, { name: 'modules-loaded', seconds: 4.5 }),
      ev('boot-milestone', 607600, { name: 'agent-started', seconds: 7.6 }),
    ],
    s,
  );
  const st = byName(s);
  near(t, st['power-on']?.seconds, 0, 'power-on');
  t.equal(st['init-started']?.seconds, 4.1, "the server's own seconds");
  t.equal(st['agent-started']?.seconds, 7.6);
  for (const x of stages(s).stages) t.ok(x.seconds === null || x.seconds < 10, `${x.name}: ${x.seconds} is small again`);
  // And a second reset starts over again.
  s = fold([ev('host-reset', 900000), ev('boot-milestone', 903000, { name: 'init-started', seconds: 3 })], s);
  near(t, byName(s)['power-on']?.seconds, 0);
  t.equal(byName(s)['init-started']?.seconds, 3);
  t.equal(byName(s)['modules-loaded']?.state, 'pending');
});

t.test('the channel and endpoints after a reset: no stale seconds; seconds since the reset once they come back', async (t) => {
  let s = fold([...REPLAY, ev('host-reset', 600000)]);
  // They held through the reset: done, but reached in the old boot, so no "seconds after" this one.
  t.same(
    [byName(s)['astlpc-up']?.state, byName(s)['astlpc-up']?.seconds],
    ['done', null],
  );
  t.same(
    [byName(s)['endpoint-assigned']?.state, byName(s)['endpoint-assigned']?.seconds],
    ['done', null],
  );
  // The host side comes back: the channel drops and returns, the endpoints go and are assigned again.
  s = fold(
    [
      ev('astlpc-state', 600500, { state: 'idle', carrier: false }),
      ev('endpoint-removed', 600500, { eid: 10, net: 1 }),
      ev('endpoint-removed', 600500, { eid: 9, net: 1 }),
      ev('boot-milestone', 604100, { name: 'init-started', seconds: 4.1 }),
      ev('astlpc-state', 607900, { state: 'active', carrier: true }),
      ev('endpoint-assigned', 608200, { eid: 10, net: 1, iface: 'mctplpc0', types: [0] }),
    ],
    s,
  );
  near(t, byName(s)['astlpc-up']?.seconds, 7.9, 'astlpc-up');
  near(t, byName(s)['endpoint-assigned']?.seconds, 8.2, 'endpoint-assigned');
  // Same without any milestone (the reset's own time is the origin).
  const bare = fold(
    [ev('host-reset', 600000), ev('astlpc-state', 600500, { carrier: false }), ev('astlpc-state', 603000, { carrier: true })],
    fold(REPLAY.filter((e) => e.kind !== 'boot-milestone')),
  );
  near(t, byName(bare)['astlpc-up']?.seconds, 3, 'astlpc-up, no milestones');
  t.equal(byName(bare)['endpoint-assigned']?.seconds, null, 'the old endpoints: no stale +600 s');
});

t.test('a host reset while the host is going down or off begins no boot', async (t) => {
  let s = fold([...REPLAY, ev('host-power', 100000, { state: 'powering-off' }), ev('host-reset', 100100, { reason: 'host stopping' })]);
  t.equal(s.bootBeganMs, null);
  s = fold([ev('host-power', 101000, { state: 'off' }), ev('host-reset', 101100, { reason: 'host stopped' })], s);
  t.equal(s.bootBeganMs, null);
  t.equal(bootReducer(s, ev('host-reset', 101100)), s, 'nothing to change: the same state');
});

t.test('off then on without powering-on (polls missed it): a new boot, not +305 s from an old one', async (t) => {
  // A boot seen through its events...
  let s = fold([ev('host-power', 110000, { state: 'powering-on' }), ev('host-power', 110200, { state: 'on' })]);
  near(t, byName(s)['power-on']?.seconds, 0.2);
  // ...then the stream is down and the polls see only "off" and "on".
  s = applyPowerSnapshot(s, { state: 'off', since: at(400000) });
  t.equal(s.bootBeganMs, null, 'entering off ends the boot');
  s = applyPowerSnapshot(s, { state: 'on', since: at(415000) });
  t.equal(s.bootBeganMs, Date.parse(at(415000)), 'the boot begins when on was seen');
  near(t, byName(s)['power-on']?.seconds, 0, 'power-on');
  // The same through events.
  let e = fold([ev('host-power', 110000, { state: 'powering-on' }), ev('host-power', 110200, { state: 'on' })]);
  e = fold([ev('host-power', 400000, { state: 'off' }), ev('host-power', 415000, { state: 'on' })], e);
  near(t, byName(e)['power-on']?.seconds, 0, 'power-on (events)');
  e = bootReducer(e, ev('astlpc-state', 420000, { carrier: true }));
  near(t, byName(e)['astlpc-up']?.seconds, 5, 'astlpc-up (events)');
  // Through resetting, the boot began at resetting.
  const r = fold([ev('host-power', 500000, { state: 'resetting' }), ev('host-power', 500300, { state: 'on' })], e);
  near(t, byName(r)['power-on']?.seconds, 0.3, 'power-on after resetting');
});
