/**
 * The JSON shapes of the status API (/api/v1), as the server documents them.
 * These describe what a well-behaved server sends; the model modules still
 * read responses as `unknown` through coerce.ts, because the page must not
 * break on a server that is older, newer or simply wrong.
 */

/** Host power states the server uses today; others are shown generically. */
export type KnownPowerState = 'off' | 'powering-on' | 'on' | 'powering-off' | 'resetting';
export type PowerAction = 'on' | 'off' | 'soft-off' | 'reset' | 'cycle';

/** The error body of every failing route. */
export interface ApiErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
}

export interface BootMilestone {
  name: string;
  /** Seconds since the host was powered on. */
  seconds: number;
  /** ISO 8601. */
  time: string;
}

/** GET /api/v1/status */
export interface StatusResponse {
  version: string;
  bmc: { startedAt: string; uptimeSeconds: number; pid: number };
  host: {
    power: string | null;
    since: string | null;
    /** Null while the host is not on. */
    uptimeSeconds: number | null;
    /** The current boot's milestones; absent on servers that don't report them. */
    boot?: { milestones: BootMilestone[] };
  };
  mctp: {
    defaultNet: number;
    links: Array<{ name: string; up: boolean; carrier: boolean; addrs: number[] }>;
    astlpc: string | null;
    endpoints: number | null;
  };
  features: Partial<Record<'power' | 'console' | 'hardware' | 'endpoints' | 'astlpc' | 'capture', boolean>> &
    Record<string, boolean>;
}

/** GET/POST /api/v1/host/power */
export interface PowerResponse {
  state: KnownPowerState | string;
  since: string | null;
  uptimeSeconds: number | null;
  actions: PowerAction[];
}

export interface LinkCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  rxDropped: number;
  txDropped: number;
  /** Per-reason drop counts, e.g. {"bad-version": 3}. */
  rxDrops: Record<string, number>;
  txDrops: Record<string, number>;
}

/** One element of GET /api/v1/mctp/links */
export interface LinkInfo {
  index: number;
  name: string;
  /** astlpc | serial | … */
  kind: string;
  hwAddr: string;
  net: number;
  mtu: number;
  up: boolean;
  carrier: boolean;
  running: boolean;
  /** The BMC's own EIDs on this link. */
  addrs: number[];
  txQueueDepth: number;
  counters: LinkCounters;
  /** Binding-specific detail; free-form. */
  binding: Record<string, unknown>;
}

export type Connectivity = 'available' | 'degraded' | 'unavailable' | string;

/** One element of GET /api/v1/mctp/endpoints, and the body of endpoint-* events. */
export interface EndpointInfo {
  eid: number;
  net: number;
  iface: string;
  /** MCTP message types the endpoint supports (DSP0239). */
  types: number[];
  uuid: string | null;
  connectivity: Connectivity;
}

/** GET /api/v1/mctp/astlpc */
export interface AstlpcInfo {
  kind: 'astlpc';
  mode: string;
  state: string;
  running: boolean;
  carrier: boolean;
  lastError: string | null;
  version: { negotiated: number | null; min: number; max: number };
  mtu: { current: number; payload: number; requested?: number; bufferLimit?: number };
  status: { str: number; bmcReady: boolean; channelActive: boolean };
  [field: string]: unknown;
}

/** One record of GET /api/v1/events (SSE `data:`). */
export interface ApiEvent {
  id: number;
  kind: string;
  /** ISO 8601. */
  time: string;
  /** Set on the records replayed to a new subscriber before live events. */
  replay?: boolean;
  [field: string]: unknown;
}
