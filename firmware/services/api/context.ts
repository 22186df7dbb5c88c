/**
 * What the status API needs from the rest of bmcemu, and nothing more. The
 * API does not import the bus owner, the QEMU launcher or the console service
 * (they change under it): the lead adapts the real objects to these shapes.
 * Every part but the MCTP stack is optional; a route whose part is missing
 * answers 501 with a "not implemented yet" reason instead of pretending.
 */
import type { MctpStack } from '../../mctp/stack.js';
import type { IpmiRouter } from '../../ipmi/router.js';
import type { FruInventory } from '../../ipmi/storage/fru.js';
import type { SystemEventLog } from '../../ipmi/storage/sel.js';

/** The subset of EventEmitter the API uses; a real EventEmitter satisfies it. */
export interface Emits<Name extends string, T> {
  on(event: Name, listener: (ev: T) => void): unknown;
  off(event: Name, listener: (ev: T) => void): unknown;
}

/** The astlpc binding (AstlpcBinding satisfies it as is). */
export interface AstlpcPart extends Emits<'state', Record<string, unknown>> {
  /** Plain-JSON channel state and counters (AstlpcBinding.stats()). */
  stats(): Record<string, unknown>;
}

/** The hardware models (Ast2500Soc satisfies it as is). */
export interface HardwarePart {
  snapshot(): Record<string, unknown>;
}

/** One endpoint the bus owner knows, as mctpd publishes it. */
export interface EndpointInfo {
  eid: number;
  net: number;
  /** Interface the endpoint is reached through. */
  iface: string;
  /** Supported MCTP message types (Get Message Type Support), e.g. [0, 0x7e]. */
  types: number[];
  /** Endpoint UUID as a string, or null when it did not answer Get Endpoint UUID. */
  uuid: string | null;
  /**
   * mctpd's Connectivity property, "Available" or "Degraded" (any case), or
   * "unavailable": the host behind the link was reset or powered off and
   * has not answered since.
   */
  connectivity: string;
}

export interface EndpointEvent {
  action: 'assigned' | 'updated' | 'removed';
  endpoint: EndpointInfo;
}

/** The bus owner's endpoint table. */
export interface EndpointsPart extends Emits<'endpoint', EndpointEvent> {
  list(): EndpointInfo[];
}

/**
 * Host power states as the API reports them. The launcher may use more; the
 * API passes any string through, and the conditions host-on / host-off test
 * for exactly "on" / "off".
 */
export type PowerState = 'off' | 'powering-on' | 'on' | 'powering-off' | 'resetting' | (string & {});

export interface PowerStateChange {
  state: PowerState;
  previous?: PowerState;
}

/**
 * One boot of the host: from a power-on or a reset until the next reset or
 * until it is off. Ids increase for the life of the BMC, so a record stamped
 * with one is known to belong to that boot.
 */
export interface HostBootInfo {
  id: number;
  /** What began it: "power-on" or "reset" (a launcher may add others). */
  reason: string;
  /** Wall-clock ms the boot began (host uptime is measured from it). */
  startedAt: number;
}

/** Host power control (the QEMU launcher, adapted). Each action resolves when it is done. */
export interface PowerPart {
  readonly state: PowerState;
  /** Wall-clock ms of the last state change, when known (without `boot`, host uptime is measured from it). */
  readonly stateSince?: number;
  /**
   * The boot in progress, null while none runs (host off). Absent: the
   * launcher does not track boots; then events carry no boot id and waits
   * cannot tell one boot's records from another's.
   */
  readonly boot?: HostBootInfo | null;
  on(): Promise<void>;
  off(): Promise<void>;
  softOff(): Promise<void>;
  reset(): Promise<void>;
  cycle(): Promise<void>;
  /** 'state' on every change; 'boot' when a boot begins (only from launchers that track boots). */
  readonly events: Emits<'state', PowerStateChange> & Emits<'boot', HostBootInfo>;
}

/** The host console (VUART / ttyS0 service). */
export interface ConsolePart {
  /** The rolling log, oldest byte first. */
  log(): Buffer;
  /** Live bytes from the host; returns an unsubscribe function. Must never block the host. */
  onData(listener: (chunk: Buffer) => void): () => void;
  /** Bytes typed into the host's console. */
  write(data: Buffer): void;
  /** Byte counters for /metrics; when absent the API counts what passes through it. */
  stats?(): { fromHostBytes: number; toHostBytes: number };
}

/**
 * A readiness record as the lead emits it: `kind` plus fields. The API adds
 * `id` and `time` (or keeps a `time` given as epoch ms or ISO 8601).
 * Kinds with a meaning to the API: `boot-milestone` {name}, `host-reset`,
 * and every kind the API derives itself (see docs/api.md): those are
 * de-duplicated, so re-emitting them here is harmless. The API stamps every
 * record with the current boot's id (`boot`) unless the record has one.
 */
export interface ReadinessRecord {
  kind: string;
  time?: number | string;
  [field: string]: unknown;
}

/** The lead's readiness source: live records plus the records currently true. */
export interface ReadinessPart extends Emits<'event', ReadinessRecord> {
  /** Records describing conditions that hold now (e.g. milestones already reached). */
  current(): ReadinessRecord[];
}

/**
 * The BMC's IPMI service (IpmiService satisfies it as is). Log entries are
 * stamped on the router's clock: the API turns them into wall-clock times
 * with its own clock, so the two must be the same (the instance passes one).
 */
export interface IpmiPart {
  router: Pick<IpmiRouter, 'dispatch' | 'logSince' | 'onMessage' | 'counters' | 'busStats' | 'lastSeq'>;
  storage: {
    sel: Pick<SystemEventLog, 'records' | 'info' | 'clear' | 'capacity'>;
    fru: Pick<FruInventory, 'parse' | 'size'>;
  };
  /** Plain-JSON state and counters of the router, system interface, watchdog, VM connections, SEL. */
  stats(): Record<string, unknown>;
}

export interface ApiContext {
  /** The BMC's MCTP stack: links, addresses, routes, neighbours, counters, sockets, capture taps. */
  stack: MctpStack;
  astlpc?: AstlpcPart;
  hardware?: HardwarePart;
  endpoints?: EndpointsPart;
  power?: PowerPart;
  console?: ConsolePart;
  ipmi?: IpmiPart;
  /** Boot milestones and other records only the lead knows (readiness-source.ts has a ready-made one). */
  events: ReadinessPart;
  /** The instance's runtime directory: api.json and pcap files go here. Absent: no api.json, capture answers 501. */
  runtimeDir?: string;
  /** bmcemu version string. */
  version: string;
  /** Wall-clock ms the BMC started (default: when the API server was created). */
  startedAt?: number;
}
