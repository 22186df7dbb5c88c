/**
 * The readiness hub: one numbered stream of events from every part (the
 * stack's link and address changes, astlpc channel states, host power, the
 * bus owner's endpoints, the lead's milestones), plus the records that hold
 * right now. SSE clients get the current records on connect (so a late
 * subscriber sees conditions already true), then the live stream; waits
 * re-check their condition on each event.
 *
 * State-like records are de-duplicated: a record that restates what the hub
 * already holds (the lead re-emitting a link-up the stack reported) is not
 * emitted again.
 *
 * Every event says which boot of the host it happened in (`boot`: the id
 * of the boot in progress, null while the host is off or when the launcher
 * does not track boots), and a `host-boot` record holds while a boot runs.
 * That is what lets a wait tell "the endpoint is there in this boot" from
 * "it was there before the reset".
 */
import { randomBytes } from 'node:crypto';
import type { ApiContext, EndpointEvent, HostBootInfo, PowerStateChange, ReadinessRecord } from './context.js';
import type { StackEvent } from '../../mctp/stack.js';

export interface ApiEvent {
  id: number;
  kind: string;
  /** ISO 8601 wall-clock time the hub saw (or the source stamped) the record. */
  time: string;
  /** Set on the records sent to a new subscriber before live events. */
  replay?: boolean;
  /** The id of the host boot in progress when it happened; null while the host was off (or boots are not tracked). */
  boot: number | null;
  [field: string]: unknown;
}

export interface HubOptions {
  /** Wall clock, ms since the epoch. */
  now?: () => number;
  /** Events kept for reconnecting clients (Last-Event-ID). */
  historySize?: number;
}

const IGNORED_IN_COMPARE = new Set(['id', 'time', 'replay', 'previous', 'boot']);

function sameRecord(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const strip = (r: Record<string, unknown>): string =>
    JSON.stringify(Object.keys(r).filter((k) => !IGNORED_IN_COMPARE.has(k)).sort().map((k) => [k, r[k]]));
  return strip(a) === strip(b);
}

/** The state slot a record occupies, or null for a plain event. */
function stateKey(r: ReadinessRecord): string | null {
  switch (r.kind) {
    case 'host-power':
      return 'host-power';
    case 'link-up':
    case 'link-down':
      return `link:${String(r.iface)}`;
    case 'address-added':
      return `address:${String(r.iface)}:${String(r.eid)}`;
    case 'astlpc-state':
      return 'astlpc';
    case 'endpoint-assigned':
    case 'endpoint-updated':
      return `endpoint:${String(r.net)}:${String(r.eid)}`;
    case 'boot-milestone':
      return `milestone:${String(r.name)}`;
    case 'host-boot':
      return 'host-boot';
    default:
      return null;
  }
}

export class EventHub {
  /**
   * Names this hub's numbering in SSE ids (`<epoch>.<id>`): a browser that
   * reconnects to a restarted server with an old Last-Event-ID gets the
   * replay, not the new history's events under numbers it thinks it has seen.
   */
  readonly epoch = randomBytes(4).toString('hex');
  readonly #ctx: ApiContext;
  readonly #now: () => number;
  readonly #historySize: number;
  #nextId = 1;
  #state = new Map<string, ApiEvent>();
  #history: ApiEvent[] = [];
  #listeners = new Set<(ev: ApiEvent) => void>();
  #unsubscribe: Array<() => void> = [];
  #powerSince: number | null = null;

  constructor(ctx: ApiContext, opts: HubOptions = {}) {
    this.#ctx = ctx;
    this.#now = opts.now ?? Date.now;
    this.#historySize = opts.historySize ?? 1000;
  }

  /** Subscribe to every source and seed the current state from each. */
  start(): void {
    const { stack, astlpc, power, endpoints, events } = this.#ctx;

    for (const i of stack.interfaces()) {
      this.record({ kind: i.running ? 'link-up' : 'link-down', iface: i.name });
      for (const eid of i.addrs) this.record({ kind: 'address-added', iface: i.name, eid, net: i.net });
    }
    this.#unsubscribe.push(stack.onEvent((ev) => this.#fromStack(ev)));

    if (astlpc) {
      this.record(astlpcRecord(astlpc.stats()));
      const fn = (ev: Record<string, unknown>): void => void this.record(astlpcRecord(ev));
      astlpc.on('state', fn);
      this.#unsubscribe.push(() => astlpc.off('state', fn));
    }
    if (power) {
      this.record({ kind: 'host-power', state: power.state });
      if (power.stateSince !== undefined) this.#powerSince = power.stateSince;
      const fn = (ev: PowerStateChange): void => void this.record({ kind: 'host-power', state: ev.state });
      power.events.on('state', fn);
      this.#unsubscribe.push(() => power.events.off('state', fn));
      if (power.boot) this.record(bootRecord(power.boot));
      const onBoot = (b: HostBootInfo): void => void this.record(bootRecord(b));
      power.events.on('boot', onBoot);
      this.#unsubscribe.push(() => power.events.off('boot', onBoot));
    }
    if (endpoints) {
      for (const ep of endpoints.list()) this.record({ kind: 'endpoint-assigned', ...ep });
      const fn = (ev: EndpointEvent): void => void this.record({ kind: `endpoint-${ev.action}`, ...ev.endpoint });
      endpoints.on('endpoint', fn);
      this.#unsubscribe.push(() => endpoints.off('endpoint', fn));
    }
    for (const r of events.current()) this.record(r);
    const fn = (r: ReadinessRecord): void => void this.record(r);
    events.on('event', fn);
    this.#unsubscribe.push(() => events.off('event', fn));
  }

  stop(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
    this.#listeners.clear();
  }

  #fromStack(ev: StackEvent): void {
    switch (ev.kind) {
      case 'carrier': {
        const i = this.#ctx.stack.findInterface(ev.iface);
        this.record({ kind: i?.running ? 'link-up' : 'link-down', iface: ev.iface });
        return;
      }
      case 'interface-added':
        this.record({ kind: 'interface-added', iface: ev.iface });
        this.record({ kind: 'link-down', iface: ev.iface });
        return;
      case 'interface-removed':
        this.record({ kind: 'interface-removed', iface: ev.iface });
        return;
      case 'address-added': {
        const net = this.#ctx.stack.findInterface(ev.iface)?.net;
        this.record({ kind: 'address-added', iface: ev.iface, eid: ev.eid, net });
        return;
      }
      case 'address-removed':
        this.record({ kind: 'address-removed', iface: ev.iface, eid: ev.eid });
        return;
    }
  }

  /** Take one record from any source: number it, update the state, notify. */
  record(input: ReadinessRecord): ApiEvent | null {
    if (!input || typeof input.kind !== 'string' || !input.kind) return null;
    const key = stateKey(input);
    const boot = typeof input.boot === 'number' ? input.boot : this.currentBoot;
    if (key) {
      const held = this.#state.get(key);
      // The same state in another boot is news: it says the new boot got there too.
      if (held && held.boot === boot && sameRecord(held, input)) return null;
    }
    const { time, ...fields } = input;
    const ev: ApiEvent = { ...fields, kind: input.kind, id: this.#nextId++, time: this.#stamp(time), boot };
    if (ev.kind === 'host-power') {
      const prev = this.#state.get('host-power');
      if (prev) ev.previous = prev.state;
      this.#powerSince = this.#ctx.power?.stateSince ?? Date.parse(ev.time);
    }
    this.#applyState(key, ev);
    this.#history.push(ev);
    if (this.#history.length > this.#historySize) this.#history.splice(0, this.#history.length - this.#historySize);
    for (const fn of [...this.#listeners]) fn(ev);
    return ev;
  }

  #applyState(key: string | null, ev: ApiEvent): void {
    if (key) this.#state.set(key, ev);
    const dropPrefix = (prefix: string): void => {
      for (const k of [...this.#state.keys()]) if (k.startsWith(prefix)) this.#state.delete(k);
    };
    switch (ev.kind) {
      case 'interface-removed':
        this.#state.delete(`link:${String(ev.iface)}`);
        dropPrefix(`address:${String(ev.iface)}:`);
        break;
      case 'address-removed':
        this.#state.delete(`address:${String(ev.iface)}:${String(ev.eid)}`);
        break;
      case 'endpoint-removed':
        this.#state.delete(`endpoint:${String(ev.net)}:${String(ev.eid)}`);
        break;
      case 'host-reset':
        dropPrefix('milestone:');
        break;
      case 'host-boot':
        // A new boot: nothing an earlier one reached holds any more.
        for (const [k, held] of [...this.#state]) if (k.startsWith('milestone:') && held.boot !== ev.boot) this.#state.delete(k);
        break;
      case 'host-power':
        // Milestones belong to one boot: once the host leaves "on", they no longer hold.
        if (ev.state !== 'on') dropPrefix('milestone:');
        // No boot runs once the host is off: the boot record goes with it.
        if (this.#ctx.power?.boot === null) this.#state.delete('host-boot');
        break;
    }
  }

  #stamp(time: unknown): string {
    if (typeof time === 'number' && Number.isFinite(time)) return new Date(time).toISOString();
    if (typeof time === 'string' && !Number.isNaN(Date.parse(time))) return new Date(Date.parse(time)).toISOString();
    return new Date(this.#now()).toISOString();
  }

  subscribe(fn: (ev: ApiEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The records that hold now, oldest first. */
  current(): ApiEvent[] {
    return [...this.#state.values()].sort((a, b) => a.id - b.id);
  }

  /** The state record in a slot (e.g. "milestone:kernel"), if held. */
  held(key: string): ApiEvent | undefined {
    return this.#state.get(key);
  }

  /** Keys of the held state records starting with `prefix`. */
  heldKeys(prefix: string): string[] {
    return [...this.#state.keys()].filter((k) => k.startsWith(prefix));
  }

  /** The event number in a Last-Event-ID of this hub (`<epoch>.<id>`), or null for another hub's or garbage. */
  parseEventId(lastEventId: unknown): number | null {
    if (typeof lastEventId !== 'string') return null;
    const m = /^([0-9a-f]+)\.(\d{1,15})$/.exec(lastEventId.trim());
    return m && m[1] === this.epoch ? Number(m[2]) : null;
  }

  /** Events after `id` if the history still has all of them, else null. */
  since(id: number): ApiEvent[] | null {
    if (id >= this.#nextId) return null;
    const first = this.#history[0];
    if (id === this.#nextId - 1) return [];
    if (!first || first.id > id + 1) return null;
    return this.#history.filter((e) => e.id > id);
  }

  get lastId(): number {
    return this.#nextId - 1;
  }

  /** Wall-clock ms of the last host power state change, if known. */
  get powerSince(): number | null {
    return this.#ctx.power?.stateSince ?? this.#powerSince;
  }

  /** The id of the host boot in progress; null while none runs or when the launcher does not track boots. */
  get currentBoot(): number | null {
    return this.#ctx.power?.boot?.id ?? null;
  }

  /** Whether the launcher tracks boots (only then can a record be told to be of this boot or an earlier one). */
  get tracksBoots(): boolean {
    return this.#ctx.power?.boot !== undefined;
  }

  /** Whether a held record belongs to the boot in progress (always true when boots are not tracked). */
  ofCurrentBoot(ev: ApiEvent | undefined): boolean {
    return ev !== undefined && (!this.tracksBoots || ev.boot === this.currentBoot);
  }
}

/** The record of a boot beginning; it holds while the boot runs. */
function bootRecord(b: HostBootInfo): ReadinessRecord {
  return { kind: 'host-boot', boot: b.id, reason: b.reason, startedAt: new Date(b.startedAt).toISOString() };
}

/** The fields of an astlpc 'state' event or stats() that describe the channel. */
function astlpcRecord(s: Record<string, unknown>): ReadinessRecord {
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const version = typeof s.version === 'object' && s.version ? num((s.version as Record<string, unknown>).negotiated) : num(s.version);
  const mtu = typeof s.mtu === 'object' && s.mtu ? num((s.mtu as Record<string, unknown>).current) : num(s.mtu);
  return {
    kind: 'astlpc-state',
    state: typeof s.state === 'string' ? s.state : 'unknown',
    carrier: s.carrier === true,
    version,
    mtu,
    lastError: typeof s.lastError === 'string' ? s.lastError : null,
  };
}
