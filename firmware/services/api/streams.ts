/**
 * Bounds on what clients can make the API hold: how many long-lived streams
 * (SSE event streams, console websockets) may be open at once, and how many
 * bytes may wait for one slow client before it is dropped. Every refusal and
 * every drop is counted by kind and reason (for /metrics) and logged through
 * a rate limiter, so a client that keeps trying cannot flood the log either.
 *
 * Why: each stream holds a socket and a subscription, and the server never
 * waits for a client, so an unread stream queues whatever the BMC says. With
 * these bounds a misbehaving client costs at most maxStreams × maxBacklog
 * bytes per kind, and memory returns as soon as it is dropped.
 */
import type { Clock } from '../../../lib/clock.js';
import { ConfigError } from '../../../lib/errors.js';
import { LogRateLimiter } from '../../../lib/rate-limit.js';
import { ApiError } from './errors.js';

export type StreamKind = 'sse' | 'console';
export const STREAM_KINDS: readonly StreamKind[] = ['sse', 'console'];

/** Why a stream was refused or ended by the server: too many open, or a client too slow to take its bytes. */
export type StreamDropReason = 'over-cap' | 'slow-client';
export const STREAM_DROP_REASONS: readonly StreamDropReason[] = ['over-cap', 'slow-client'];

const NAMES: Record<StreamKind, string> = { sse: 'event stream', console: 'console websocket' };

export interface StreamLimits {
  /** SSE streams open at once (default 64). */
  maxSse: number;
  /** Console websockets open at once (default 16). */
  maxConsole: number;
  /** Bytes queued for one SSE client before it is dropped (default 1 MiB). */
  sseMaxBacklogBytes: number;
  /** Bytes queued for one console websocket before it is closed (default 1 MiB). */
  consoleMaxBacklogBytes: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxSse: 64,
  maxConsole: 16,
  sseMaxBacklogBytes: 1 << 20,
  consoleMaxBacklogBytes: 1 << 20,
};

export interface StreamKindStats {
  open: number;
  max: number;
  /** Streams accepted since start. */
  opened: number;
  /** Refused (503 E_TOO_MANY_STREAMS) or ended by the server, by reason. */
  drops: Record<StreamDropReason, number>;
}

export interface ApiConnectionStats {
  /** Connections the HTTP server closed at once because maxConnections were open. */
  refused: number;
  max: number;
}

export interface StreamStats {
  connections: ApiConnectionStats;
  streams: Record<StreamKind, StreamKindStats>;
}

/** A claimed stream slot; release() exactly once when the stream ends (later calls are no-ops). */
export interface StreamSlot {
  release(): void;
}

export function checkStreamLimits(l: StreamLimits): void {
  for (const [name, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new ConfigError(`API ${name} must be a positive integer, not ${v}`);
  }
}

export class StreamRegistry {
  readonly limits: StreamLimits;
  readonly #maxConnections: number;
  readonly #log: LogRateLimiter;
  readonly #kinds: Record<StreamKind, Omit<StreamKindStats, 'max'>>;
  #connectionsRefused = 0;

  constructor(opts: { limits: StreamLimits; maxConnections: number; log: (line: string) => void; clock: Clock }) {
    checkStreamLimits(opts.limits);
    this.limits = { ...opts.limits };
    this.#maxConnections = opts.maxConnections;
    this.#log = new LogRateLimiter(opts.log, { burst: 10, intervalMs: 10_000, clock: opts.clock });
    const zero = (): Omit<StreamKindStats, 'max'> => ({ open: 0, opened: 0, drops: { 'over-cap': 0, 'slow-client': 0 } });
    this.#kinds = { sse: zero(), console: zero() };
  }

  #max(kind: StreamKind): number {
    return kind === 'sse' ? this.limits.maxSse : this.limits.maxConsole;
  }

  maxBacklog(kind: StreamKind): number {
    return kind === 'sse' ? this.limits.sseMaxBacklogBytes : this.limits.consoleMaxBacklogBytes;
  }

  /** Throw 503 E_TOO_MANY_STREAMS if a stream of this kind could not open now (counted). */
  check(kind: StreamKind): void {
    if (this.#kinds[kind].open < this.#max(kind)) return;
    this.#refuse(kind);
  }

  /** Claim a slot, or throw 503 E_TOO_MANY_STREAMS (counted). */
  open(kind: StreamKind): StreamSlot {
    const k = this.#kinds[kind];
    if (k.open >= this.#max(kind)) this.#refuse(kind);
    k.open++;
    k.opened++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        k.open--;
      },
    };
  }

  #refuse(kind: StreamKind): never {
    const max = this.#max(kind);
    this.#kinds[kind].drops['over-cap']++;
    this.#log.log(`api ${kind} over-cap`, `api: refused a ${NAMES[kind]}: ${max} already open`);
    throw new ApiError(503, 'E_TOO_MANY_STREAMS', `too many ${NAMES[kind]}s open (${max}); close one and retry`, { limit: max });
  }

  /** A client was dropped for not taking its bytes (counted and logged). */
  slowClient(kind: StreamKind, queuedBytes: number): void {
    this.#kinds[kind].drops['slow-client']++;
    this.#log.log(
      `api ${kind} slow-client`,
      `api: dropped a ${NAMES[kind]} that was not reading (${queuedBytes} bytes unsent, limit ${this.maxBacklog(kind)})`,
    );
  }

  /** The HTTP server closed a connection over maxConnections. */
  connectionRefused(): void {
    this.#connectionsRefused++;
    this.#log.log('api connections', `api: refused a connection: ${this.#maxConnections} already open`);
  }

  stats(): StreamStats {
    const kind = (k: StreamKind): StreamKindStats => {
      const s = this.#kinds[k];
      return { open: s.open, max: this.#max(k), opened: s.opened, drops: { ...s.drops } };
    };
    return {
      connections: { refused: this.#connectionsRefused, max: this.#maxConnections },
      streams: { sse: kind('sse'), console: kind('console') },
    };
  }

  /** Print pending log summaries (server close). */
  flushLog(): void {
    this.#log.flush();
  }
}
