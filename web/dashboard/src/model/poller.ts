/**
 * The dashboard's polling loop, apart from the page so it can be tested with
 * a fake clock and fake fetches:
 *
 * - a pass every POLL_MS while the page is visible, plus one on demand
 *   (`refresh()`: an event arrived, an action settled), coalesced so calls
 *   during a pass ask for one more pass after it, not one each;
 * - the first pass asks GET /status first, to learn which parts the instance
 *   has before asking for them;
 * - a part that answers 501 (no host, no bus owner, no astlpc), or that
 *   /status lists as `features.x: false`, is not an error: it is re-asked
 *   only every ABSENT_RECHECK_MS instead of filling the browser console;
 * - every source is bounded in time (on top of the API client's own limit),
 *   so a hung one is reported and the loop goes on;
 * - a 401 anywhere stops everything for good: nothing can succeed until the
 *   user logs in again;
 * - polled power/status feed the boot panel only while the event stream is
 *   down (`streamLive()` false): when it is live, the stream is newer.
 *
 * Errors are reported per source (the latest message each); what it polls
 * and where the answers go are injected.
 *
 * DOM-free: also compiled and unit-tested under Node.
 */
import { rec } from './coerce.js';

export const POLL_MS = 1000;
export const ABSENT_RECHECK_MS = 30000;
/** Longer than the API client's GET timeout (8 s): normally that one fires first. */
export const SOURCE_TIMEOUT_MS = 10000;

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

type TimerHandle = Parameters<typeof clearTimeout>[0];

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as TimerHandle),
};

/** The GETs a pass makes; each resolves to the parsed body or rejects (with `.status` for HTTP errors). */
export interface PollFetches {
  status(): Promise<unknown>;
  power(): Promise<unknown>;
  links(): Promise<unknown>;
  endpoints(): Promise<unknown>;
  astlpc(): Promise<unknown>;
}

/** Where answers go. Every method is optional. */
export interface PollSinks {
  /** GET /status answered. */
  status?(body: unknown): void;
  /** GET /status failed (not a 401). */
  statusFailed?(err: unknown): void;
  /** GET /host/power answered. */
  power?(body: unknown): void;
  /** The instance has no host (501, or features.power false). */
  noHost?(): void;
  /** Links and the endpoints behind them ([] when the instance has no bus owner). */
  topology?(links: unknown, endpoints: unknown): void;
  /** GET /mctp/astlpc answered; null when the instance has no astlpc channel. */
  astlpc?(body: unknown | null): void;
  /** A polled snapshot for the boot panel: only while the event stream is down. */
  bootSnapshot?(kind: 'status' | 'power', body: unknown): void;
  /** The failing sources and their latest messages, after every change (empty: all well). */
  errors?(failing: ReadonlyMap<string, string>): void;
  /** Polling stopped for good (a 401, or stop()). */
  stopped?(): void;
}

export interface PollerOptions {
  fetches: PollFetches;
  sinks?: PollSinks;
  timers?: Timers;
  /** Whether the page is shown (hidden pages skip the ticks). Default: always. */
  visible?: () => boolean;
  /** Whether the event stream is live. Default: never. */
  streamLive?: () => boolean;
}

/** Parts an instance may lack, as GET /status names them under `features`. */
type Part = 'power' | 'endpoints' | 'astlpc';

/** The HTTP status an error carries (a DashboardRequestError's), or null. */
export function errorStatus(err: unknown): number | null {
  if (typeof err !== 'object' || err === null || !('status' in err)) return null;
  const status = (err as { status: unknown }).status;
  return typeof status === 'number' ? status : null;
}

/** "This part is absent", inside the poller (null is a body a server could send). */
const NONE: unique symbol = Symbol('none');

export class Poller {
  readonly #fetch: PollFetches;
  readonly #sinks: PollSinks;
  readonly #timers: Timers;
  readonly #visible: () => boolean;
  readonly #streamLive: () => boolean;
  readonly #failing = new Map<string, string>();
  readonly #absentUntil = new Map<Part, number>();
  #features: Readonly<Record<string, unknown>> = {};
  #statusSeen = false;
  /** Kept so one failed endpoint poll doesn't empty the drawing for a pass. */
  #lastEndpoints: unknown = [];
  #inFlight: Promise<void> | null = null;
  #again = false;
  #tickTimer: unknown = undefined;
  #started = false;
  #stopped = false;

  constructor(opts: PollerOptions) {
    this.#fetch = opts.fetches;
    this.#sinks = opts.sinks ?? {};
    this.#timers = opts.timers ?? realTimers;
    this.#visible = opts.visible ?? (() => true);
    this.#streamLive = opts.streamLive ?? (() => false);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** The failing sources now, by name. */
  get failing(): ReadonlyMap<string, string> {
    return this.#failing;
  }

  /** Start ticking: a pass now, then one every POLL_MS after each pass ends. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    void this.#tick();
  }

  /** Stop for good: no more passes; what is in flight is ignored when it answers. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#timers.clearTimeout(this.#tickTimer);
    this.#failing.clear();
    this.#sinks.errors?.(this.#failing);
    this.#sinks.stopped?.();
  }

  /**
   * A pass now, coalesced: calls while one is running ask for one more pass
   * after it (a burst of replayed events costs two passes, not twenty).
   */
  refresh(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#inFlight) {
      this.#again = true;
      return this.#inFlight;
    }
    const run = async (): Promise<void> => {
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && !this.#stopped);
    };
    this.#inFlight = run().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async #tick(): Promise<void> {
    if (this.#visible()) await this.refresh();
    if (!this.#stopped) this.#tickTimer = this.#timers.setTimeout(() => void this.#tick(), POLL_MS);
  }

  async #pass(): Promise<void> {
    if (!this.#statusSeen) {
      // The first time, learn the instance's features before asking for parts it may not have.
      await this.#run('status', () => this.#pollStatus());
      this.#statusSeen = !this.#failing.has('status');
      await Promise.all([this.#run('power', () => this.#pollPower()), this.#run('topology', () => this.#pollTopology()), this.#run('astlpc', () => this.#pollAstlpc())]);
      return;
    }
    await Promise.all([
      this.#run('status', () => this.#pollStatus()),
      this.#run('power', () => this.#pollPower()),
      this.#run('topology', () => this.#pollTopology()),
      this.#run('astlpc', () => this.#pollAstlpc()),
    ]);
  }

  /** One source: its error (or its recovery) reported, a 401 stops everything. */
  async #run(name: string, poll: () => Promise<void>): Promise<void> {
    if (this.#stopped) return;
    try {
      await poll();
      if (!this.#stopped && this.#failing.delete(name)) this.#sinks.errors?.(this.#failing);
    } catch (err) {
      if (this.#stopped) return;
      if (errorStatus(err) === 401) {
        this.stop();
        return;
      }
      this.#failing.set(name, err instanceof Error ? err.message : String(err));
      this.#sinks.errors?.(this.#failing);
    }
  }

  /** A fetch bounded by SOURCE_TIMEOUT_MS; a late answer is dropped. Throws once stopped. */
  async #get(what: string, fetch: () => Promise<unknown>): Promise<unknown> {
    let timer: unknown;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = this.#timers.setTimeout(() => reject(new Error(`${what}: no answer in ${SOURCE_TIMEOUT_MS / 1000} s`)), SOURCE_TIMEOUT_MS);
    });
    try {
      const body = await Promise.race([fetch(), timeout]);
      if (this.#stopped) throw new Error('stopped');
      return body;
    } finally {
      this.#timers.clearTimeout(timer);
    }
  }

  #absent(part: Part): boolean {
    return this.#features[part] === false || (this.#absentUntil.get(part) ?? -Infinity) > this.#timers.now();
  }

  /** Runs `fetch`; a 501 marks `part` absent for ABSENT_RECHECK_MS and yields `absent` instead. */
  async #getPart(part: Part, what: string, fetch: () => Promise<unknown>, absent: unknown): Promise<unknown> {
    if (this.#absent(part)) return absent;
    try {
      return await this.#get(what, fetch);
    } catch (err) {
      if (errorStatus(err) !== 501) throw err;
      this.#absentUntil.set(part, this.#timers.now() + ABSENT_RECHECK_MS);
      return absent;
    }
  }

  async #pollStatus(): Promise<void> {
    let body: unknown;
    try {
      body = await this.#get('GET /status', () => this.#fetch.status());
    } catch (err) {
      if (!this.#stopped && errorStatus(err) !== 401) this.#sinks.statusFailed?.(err);
      throw err;
    }
    this.#features = rec(rec(body).features);
    this.#sinks.status?.(body);
    if (!this.#streamLive()) this.#sinks.bootSnapshot?.('status', body);
  }

  async #pollPower(): Promise<void> {
    const body = await this.#getPart('power', 'GET /host/power', () => this.#fetch.power(), NONE);
    if (body === NONE) return this.#sinks.noHost?.();
    this.#sinks.power?.(body);
    if (!this.#streamLive()) this.#sinks.bootSnapshot?.('power', body);
  }

  async #pollTopology(): Promise<void> {
    const [links, eps] = await Promise.allSettled([
      this.#get('GET /mctp/links', () => this.#fetch.links()),
      // No bus owner: no endpoints, an empty list rather than an error.
      this.#getPart('endpoints', 'GET /mctp/endpoints', () => this.#fetch.endpoints(), []),
    ]);
    if (eps.status === 'fulfilled') this.#lastEndpoints = eps.value;
    if (links.status === 'rejected') throw links.reason;
    if (this.#stopped) return;
    this.#sinks.topology?.(links.value, this.#lastEndpoints);
    if (eps.status === 'rejected') throw eps.reason;
  }

  async #pollAstlpc(): Promise<void> {
    const body = await this.#getPart('astlpc', 'GET /mctp/astlpc', () => this.#fetch.astlpc(), NONE);
    this.#sinks.astlpc?.(body === NONE ? null : body);
  }
}
