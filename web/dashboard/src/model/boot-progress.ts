/**
 * Boot progress as a reducer over the readiness event stream.
 *
 * The server's /events stream is the source of truth: on connect it replays
 * the records that hold now (replay: true), then sends live events. The page
 * folds every event into a BootState with `bootReducer`, and renders
 * `stages(state)`: power-on, the known milestones in boot order, the astlpc
 * channel, the first endpoint, then any milestone this page doesn't know
 * (a newer server's), in arrival order.
 *
 * When the stream is down the page falls back to polled snapshots
 * (`applyPowerSnapshot`, `applyStatusSnapshot`) so the panel still moves.
 *
 * Servers that track host boots say when one begins (`host-boot`, and
 * `host.boot.id` in /status): a new boot id starts a new boot here too, even
 * when the power state never left "on" (a reset). An endpoint the server
 * reports as unavailable (its host was reset or is off) is not assigned.
 *
 * Every function is pure and total: events are `unknown` and malformed ones
 * leave the state as it was. DOM-free: also compiled and unit-tested under Node.
 */
import { arr, bool, isRecord, num, rec, str, timeMs, uint } from './coerce.js';

export const POWER_ON_STAGE = 'power-on';
/** Milestones the host reports today, in boot order. */
export const KNOWN_MILESTONES: readonly string[] = Object.freeze([
  'init-started',
  'modules-loaded',
  'host-root-mounted',
  'agent-started',
  'agent-astlpc-up',
]);
export const ASTLPC_STAGE = 'astlpc-up';
export const ENDPOINT_STAGE = 'endpoint-assigned';
const OWN_STAGES: ReadonlySet<string> = new Set([POWER_ON_STAGE, ASTLPC_STAGE, ENDPOINT_STAGE]);

export interface Milestone {
  readonly name: string;
  /** Seconds since the boot began (power-on or the last host reset) as the server measured it, when it said. */
  readonly seconds: number | null;
  readonly timeMs: number | null;
}

export interface BootState {
  /** Latest host power state string, null until known. */
  readonly power: string | null;
  /** When the host entered `power`. */
  readonly powerSinceMs: number | null;
  /** When the current boot reached "on" (for a boot begun by a host reset: the reset). */
  readonly powerOnMs: number | null;
  /**
   * When the current boot began: powering-on or resetting seen, a host reset
   * while on, or "on" seen without either. Null while the host is not booting.
   */
  readonly bootBeganMs: number | null;
  /** The server's id for the current boot, when it tracks boots; null while none runs or unknown. */
  readonly bootId: number | null;
  /** This boot's milestones, in arrival order. */
  readonly milestones: readonly Milestone[];
  /** The live astlpc channel carrier (a host reset takes it down until the new boot inits the channel). */
  readonly astlpcCarrier: boolean;
  readonly astlpcUpMs: number | null;
  /** Endpoints that hold now, as "net:eid". */
  readonly endpoints: readonly string[];
  /** When the endpoint set last became non-empty. */
  readonly endpointsSinceMs: number | null;
  /** The stream (re)connected: the first replayed record starts the state afresh. */
  readonly awaitingReplay: boolean;
}

export const initialBootState: BootState = Object.freeze({
  power: null,
  powerSinceMs: null,
  powerOnMs: null,
  bootBeganMs: null,
  bootId: null,
  milestones: Object.freeze([]) as readonly Milestone[],
  astlpcCarrier: false,
  astlpcUpMs: null,
  endpoints: Object.freeze([]) as readonly string[],
  endpointsSinceMs: null,
  awaitingReplay: false,
});

/**
 * The event stream (re)connected. If the server answers with a replay of the
 * current records, that replay is the whole truth and replaces what we hold;
 * if it answers a Last-Event-ID reconnect with the missed events instead,
 * those apply on top of what we hold.
 */
export function streamOpened(state: BootState): BootState {
  return state.awaitingReplay ? state : { ...state, awaitingReplay: true };
}

/** Fold one /events record into the state. Unknown kinds and malformed records change nothing. */
export function bootReducer(state: BootState, event: unknown): BootState {
  if (!isRecord(event)) return state;
  const kind = str(event.kind);
  if (kind === null) return state;
  let s = state;
  if (s.awaitingReplay) s = event.replay === true ? initialBootState : { ...s, awaitingReplay: false };
  const t = timeMs(event.time);
  switch (kind) {
    case 'host-power':
      return withPower(s, str(event.state), t);
    case 'host-reset':
      return withReset(s, t);
    case 'host-boot':
      return withBoot(s, uint(event.boot), str(event.reason), timeMs(event.startedAt) ?? t);
    case 'boot-milestone':
      return withMilestone(s, str(event.name), num(event.seconds), t);
    case 'astlpc-state':
      return withCarrier(s, bool(event.carrier), t);
    case 'endpoint-assigned':
    case 'endpoint-updated':
      return withEndpoint(s, endpointKey(event), !isGone(event.connectivity), t);
    case 'endpoint-removed':
      return withEndpoint(s, endpointKey(event), false, t);
    default:
      return s;
  }
}

/** A new boot's milestones start from nothing. */
function cleared(s: BootState): BootState {
  return s.milestones.length === 0 ? s : { ...s, milestones: initialBootState.milestones };
}

/** Power states a boot goes through on its way to "on". */
const BOOTING: ReadonlySet<string> = new Set(['powering-on', 'resetting']);

/**
 * A host reset: the milestones of the old boot stop holding and, unless the
 * host is going down, a new boot begins now. The server restarts its
 * milestone clock at the same moment, so the new milestones' seconds and the
 * other stages' seconds count from here.
 */
function withReset(s: BootState, t: number | null): BootState {
  const next = cleared(s);
  if (s.power === 'off' || s.power === 'powering-off') return next;
  const powerOnMs = s.power === 'on' ? t : s.powerOnMs;
  if (next.bootBeganMs === t && next.powerOnMs === powerOnMs) return next;
  return { ...next, bootBeganMs: t, powerOnMs };
}

/**
 * A boot began (servers that track boots): like a reset, from the moment the
 * server says it began. The same boot again (a replay) changes nothing.
 */
function withBoot(s: BootState, id: number | null, reason: string | null, began: number | null): BootState {
  if (id === null || id === s.bootId) return s;
  const next = withReset(s, began);
  // A boot begun by a power-on reaches "on" a moment after it began: that transition says when.
  const powerOnMs = reason === 'power-on' ? s.powerOnMs : next.powerOnMs;
  return { ...next, bootId: id, powerOnMs };
}

/** What the server says of an endpoint whose host was reset or is off. */
function isGone(connectivity: unknown): boolean {
  return str(connectivity)?.toLowerCase() === 'unavailable';
}

function withPower(s: BootState, power: string | null, t: number | null): BootState {
  if (power === null || power === s.power) return s;
  const next: BootState = { ...s, power, powerSinceMs: t, bootId: power === 'off' || power === 'crashed' ? null : s.bootId };
  if (power === 'on') {
    // Reached through powering-on/resetting, or with the server's boot already begun, the boot
    // began there; from anywhere else (off, a state polling missed, nothing known yet) it begins now.
    const began = (s.power !== null && BOOTING.has(s.power)) || s.bootId !== null ? (s.bootBeganMs ?? t) : t;
    return { ...next, powerOnMs: t, bootBeganMs: began };
  }
  // Like the server's hub: milestones belong to one boot and stop holding once the host leaves "on".
  return { ...cleared(next), powerOnMs: null, bootBeganMs: BOOTING.has(power) ? t : null };
}

function withMilestone(s: BootState, name: string | null, seconds: number | null, t: number | null): BootState {
  if (name === null || name === '') return s;
  const m: Milestone = { name, seconds: seconds !== null && seconds >= 0 ? seconds : null, timeMs: t };
  const at = s.milestones.findIndex((x) => x.name === name);
  // A repeated milestone keeps its place (arrival order) but takes the newer timing.
  const milestones = at < 0 ? [...s.milestones, m] : s.milestones.map((x, i) => (i === at ? m : x));
  return { ...s, milestones };
}

function withCarrier(s: BootState, carrier: boolean | null, t: number | null): BootState {
  if (carrier === null || carrier === s.astlpcCarrier) return s;
  return { ...s, astlpcCarrier: carrier, astlpcUpMs: carrier ? t : null };
}

/** The hub's identity for an endpoint ("net:eid"), or null when the EID is unusable. */
function endpointKey(ev: Readonly<Record<string, unknown>>): string | null {
  const eid = uint(ev.eid);
  if (eid === null) return null;
  const net = uint(ev.net);
  return `${net ?? '?'}:${eid}`;
}

function withEndpoint(s: BootState, key: string | null, holds: boolean, t: number | null): BootState {
  if (key === null) return s;
  const has = s.endpoints.includes(key);
  if (holds === has) return s;
  if (holds) {
    return { ...s, endpoints: [...s.endpoints, key], endpointsSinceMs: s.endpoints.length ? s.endpointsSinceMs : t };
  }
  const endpoints = s.endpoints.filter((k) => k !== key);
  return { ...s, endpoints, endpointsSinceMs: endpoints.length ? s.endpointsSinceMs : null };
}

/** Same state and since within this of ours: the same transition seen through the other channel. */
const SAME_TRANSITION_MS = 1000;

/**
 * Fold a polled GET /host/power body ({state, since}) in, for when the event
 * stream is down. A snapshot older than what we hold is ignored, so a slow
 * poll can't undo a newer transition.
 */
export function applyPowerSnapshot(s: BootState, body: unknown): BootState {
  const b = rec(body);
  const power = str(b.state);
  if (power === null) return s;
  const since = timeMs(b.since);
  if (since !== null && s.powerSinceMs !== null && since <= s.powerSinceMs) return s;
  if (since === null && s.power !== null) return s;
  if (power === s.power) {
    // Still "on" but since moved on: the host rebooted between two polls.
    if (power === 'on' && since !== null && s.powerSinceMs !== null && since > s.powerSinceMs + SAME_TRANSITION_MS) {
      return { ...cleared(s), powerSinceMs: since, powerOnMs: since, bootBeganMs: since };
    }
    return s;
  }
  return withPower(s, power, since);
}

/**
 * Fold a polled GET /status body in, for when the event stream is down: its
 * power, and (servers that report host.boot) the current boot's milestones,
 * which then replace ours.
 */
export function applyStatusSnapshot(s: BootState, status: unknown): BootState {
  const host = rec(rec(status).host);
  let next = applyPowerSnapshot(s, { state: host.power, since: host.since });
  // A server that tracks boots says which one runs: another id than ours is a boot we missed (a reset keeps "on").
  const boot = rec(host.boot);
  if ('id' in boot) {
    const id = uint(boot.id);
    if (id === null) next = next.bootId === null ? next : { ...next, bootId: null };
    else next = withBoot(next, id, str(boot.reason), timeMs(boot.startedAt));
  }
  if (!isRecord(host.boot) || next.power !== 'on') return next;
  const milestones: Milestone[] = [];
  for (const raw of arr(host.boot.milestones)) {
    const m = rec(raw);
    const name = str(m.name);
    if (name === null || name === '' || milestones.some((x) => x.name === name)) continue;
    const seconds = num(m.seconds);
    milestones.push({ name, seconds: seconds !== null && seconds >= 0 ? seconds : null, timeMs: timeMs(m.time) });
  }
  const same =
    milestones.length === next.milestones.length &&
    milestones.every((m, i) => {
      const o = next.milestones[i];
      return o !== undefined && o.name === m.name && o.seconds === m.seconds && o.timeMs === m.timeMs;
    });
  if (!same) next = { ...next, milestones };
  return next;
}

export type StageState = 'done' | 'pending';

export interface Stage {
  readonly name: string;
  readonly state: StageState;
  /** Seconds after the boot began (power-on or the last host reset) the stage was reached, when known. */
  readonly seconds: number | null;
  /** False for milestones this page doesn't know (shown after the known stages). */
  readonly known: boolean;
}

export interface BootView {
  readonly stages: readonly Stage[];
  readonly done: number;
  readonly total: number;
}

/**
 * When the current boot began, in wall-clock ms: the origin of every stage's
 * seconds. The server restarts its milestone clock at every power-on and
 * every host reset, so where a milestone says where that clock starts (its
 * time minus its seconds) that is the origin, and our seconds agree with the
 * server's; until one does, the boot's own transition is.
 */
export function bootStartMs(s: BootState): number | null {
  for (const m of s.milestones) {
    if (m.seconds !== null && m.timeMs !== null) return m.timeMs - m.seconds * 1000;
  }
  return s.bootBeganMs ?? s.powerOnMs;
}

/** The stage list the panel draws. */
export function stages(s: BootState): BootView {
  const start = bootStartMs(s);
  const after = (ms: number | null): number | null => {
    if (ms === null || start === null) return null;
    const v = (ms - start) / 1000;
    // A little skew between server clocks is fine; a stage from before this boot has no "seconds after".
    return v >= -0.5 ? Math.max(0, v) : null;
  };
  const on = s.power === 'on';
  const out: Stage[] = [];
  const add = (name: string, done: boolean, seconds: number | null, known = true): void => {
    out.push({ name, state: done ? 'done' : 'pending', seconds: done ? seconds : null, known });
  };
  add(POWER_ON_STAGE, on, after(s.powerOnMs));
  const seen = new Map(s.milestones.map((m) => [m.name, m]));
  for (const name of KNOWN_MILESTONES) {
    const m = seen.get(name);
    add(name, m !== undefined, m ? (m.seconds ?? after(m.timeMs)) : null);
  }
  // The channel and endpoints are live BMC-side state; they count toward a boot only while the host is on.
  add(ASTLPC_STAGE, on && s.astlpcCarrier, after(s.astlpcUpMs));
  add(ENDPOINT_STAGE, on && s.endpoints.length > 0, after(s.endpointsSinceMs));
  for (const m of s.milestones) {
    // A milestone named like one of our own stages would duplicate its row: the stage already says it.
    if (!KNOWN_MILESTONES.includes(m.name) && !OWN_STAGES.has(m.name)) add(m.name, true, m.seconds ?? after(m.timeMs), false);
  }
  return { stages: out, done: out.filter((x) => x.state === 'done').length, total: out.length };
}
