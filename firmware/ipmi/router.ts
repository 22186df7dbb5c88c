/**
 * The one place every IPMI request goes through, whatever bus it came on.
 *
 * Handlers register per (netfn, cmd); group-extension commands (netfn 0x2C)
 * are keyed also by their defining body (first data byte), OEM/group
 * commands (netfn 0x2E, and 0x30–0x3E when the command says so) by their
 * IANA enterprise number (first three data bytes, LS first). A key can be
 * registered once: a second registrant is refused at registration, naming
 * both, so no handler silently shadows another.
 *
 * `dispatch(req)` always resolves (never rejects) with the response; the
 * bus that called it sends the response back to its requester itself. The
 * router answers on its own, without running the handler: C1 for nothing
 * registered, C7 for a length outside the command's bounds (or a group/OEM
 * request too short to carry its key), D4 below the command's privilege, C0
 * over the bus's in-flight limit. A handler that throws gets FF, one that
 * never answers gets C3 after `handlerTimeoutMs` on the clock (default 3 s,
 * under QEMU's own 4 s so the host always hears from the BMC first), and a
 * response with more data than the bus can carry becomes CA.
 *
 * Every message is visible: a bounded log ring per bus whose entries carry
 * one sequence number across all buses (so a reader can follow with "what
 * came after N" and learn when a ring dropped entries it had not read), a
 * listener per message, and counters per (bus, netfn, cmd, cc) and per bus as
 * plain data for the metrics exporter.
 */
import { systemClock, type Clock } from '../../lib/clock.js';
import { CodedError, ConfigError } from '../../lib/errors.js';
import { CC, describeCompletionCode } from './completion-codes.js';
import { NETFN, fail, type IpmiCommand, type IpmiRequest, type IpmiResponse } from './message.js';

export const DEFAULT_HANDLER_TIMEOUT_MS = 3000;
export const DEFAULT_MAX_IN_FLIGHT = 4;
export const DEFAULT_LOG_SIZE = 256;

/** First request netfn whose commands may be keyed by IANA (controller-specific OEM netfns 0x30–0x3F). */
const OEM_NETFN_FIRST = 0x30;

export type IpmiRouterErrorCode = 'ERR_IPMI_DUPLICATE_COMMAND';

export class IpmiRouterError extends CodedError<IpmiRouterErrorCode> {}

export interface BusOptions {
  /** Requests of this bus being handled at once; more are answered C0 (default 4). */
  maxInFlight?: number;
  /** Largest response data the bus can carry; larger responses become CA (default: no limit). */
  maxResponseData?: number;
  /** Entries kept in the bus's log ring (default 256). */
  logSize?: number;
}

export interface RouterOptions {
  clock?: Clock;
  /** How long a handler may take before the requester gets C3 (default 3000 ms). */
  handlerTimeoutMs?: number;
  /** Settings for buses not configured with configureBus(). */
  defaultBus?: BusOptions;
  /** One line for people per handler failure, timeout or late completion. */
  log?: (line: string) => void;
}

export interface MessageLogEntry {
  /** Position in the router's message order, from 1, shared by every bus. */
  seq: number;
  bus: string;
  requester: string | undefined;
  netfn: number;
  cmd: number;
  /** The registered command's name, if one matched. */
  name: string | undefined;
  cc: number;
  /** Clock time the request reached the router. */
  startedAt: number;
  durationMs: number;
}

export interface CommandCounter {
  bus: string;
  netfn: number;
  cmd: number;
  cc: number;
  /** The registered command's name ('' when none matched). */
  name: string;
  count: number;
}

export interface BusStats {
  bus: string;
  inFlight: number;
  maxInFlight: number;
  requests: number;
  /** Answered C0: over the in-flight limit. */
  busy: number;
  /** Answered C3: the handler did not answer in time. */
  timeouts: number;
  /** Answered FF: the handler threw, rejected or returned something that is not a response. */
  handlerErrors: number;
  /** Handlers that settled after their requester had been answered C3. */
  lateCompletions: number;
  /** Answered CA: the response did not fit the bus. */
  oversizeResponses: number;
}

export interface RegisteredCommand {
  netfn: number;
  cmd: number;
  name: string;
  owner: string;
  groupBody: number | undefined;
  iana: number | undefined;
}

interface Bus {
  name: string;
  maxInFlight: number;
  maxResponseData: number;
  log: MessageLogEntry[];
  logSize: number;
  logNext: number;
  /** seq of the newest entry the ring has dropped (0: none yet). */
  droppedSeq: number;
  stats: Omit<BusStats, 'bus' | 'maxInFlight'>;
}

interface Lookup {
  command: IpmiCommand | undefined;
  /** Bytes a router-made error response starts with (the group body or IANA), as the request carried them. */
  prefix: Buffer;
  /** Answer C7: the request is too short to carry its group body or IANA. */
  tooShort: boolean;
}

const hex = (v: number, w = 2): string => `0x${v.toString(16).padStart(w, '0')}`;

function describeKey(c: { netfn: number; cmd: number; groupBody?: number | undefined; iana?: number | undefined }): string {
  let s = `netfn ${hex(c.netfn)} cmd ${hex(c.cmd)}`;
  if (c.groupBody !== undefined) s += ` body ${hex(c.groupBody)}`;
  if (c.iana !== undefined) s += ` IANA ${c.iana}`;
  return s;
}

function isByte(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xff;
}

function isResponse(r: unknown): r is IpmiResponse {
  return typeof r === 'object' && r !== null && isByte((r as IpmiResponse).cc) && Buffer.isBuffer((r as IpmiResponse).data);
}

export class IpmiRouter {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #defaultBus: Required<BusOptions>;
  readonly #log: (line: string) => void;
  readonly #commands = new Map<string, IpmiCommand>();
  /** netfn 0x30–0x3E: `${netfn}:${cmd}` → whether that pair is keyed plainly or by IANA. */
  readonly #oemKeying = new Map<string, 'plain' | 'iana'>();
  readonly #buses = new Map<string, Bus>();
  readonly #counters = new Map<string, CommandCounter>();
  readonly #listeners = new Set<(entry: MessageLogEntry) => void>();
  #seq = 0;

  constructor(opts: RouterOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#timeoutMs = opts.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
    if (!(this.#timeoutMs > 0)) throw new ConfigError(`IPMI router: handlerTimeoutMs must be > 0, got ${this.#timeoutMs}`);
    this.#defaultBus = checkBusOptions('default', {
      maxInFlight: DEFAULT_MAX_IN_FLIGHT,
      maxResponseData: Infinity,
      logSize: DEFAULT_LOG_SIZE,
      ...opts.defaultBus,
    });
    this.#log = opts.log ?? (() => {});
  }

  /** Set a bus's limits (before or after its first request; the log is kept). */
  configureBus(name: string, opts: BusOptions): void {
    const o = checkBusOptions(name, { ...this.#defaultBus, ...opts });
    const bus = this.#bus(name);
    bus.maxInFlight = o.maxInFlight;
    bus.maxResponseData = o.maxResponseData;
    if (o.logSize !== bus.logSize) {
      const all = this.logOf(name);
      const dropped = all.slice(0, Math.max(0, all.length - o.logSize));
      if (dropped.length) bus.droppedSeq = Math.max(bus.droppedSeq, dropped[dropped.length - 1]!.seq);
      bus.log = all.slice(-o.logSize);
      bus.logSize = o.logSize;
      bus.logNext = bus.log.length % o.logSize;
    }
  }

  /** Register one command or a module's list; throws IpmiRouterError on a key already taken. */
  register(commands: IpmiCommand | readonly IpmiCommand[]): void {
    const list = Array.isArray(commands) ? commands : [commands as IpmiCommand];
    for (const c of list) this.#registerOne(c);
  }

  #registerOne(c: IpmiCommand): void {
    if (!isByte(c.netfn) || c.netfn > 0x3f || (c.netfn & 1) !== 0) {
      throw new ConfigError(`IPMI command "${c.name}": netfn must be an even request netfn 0x00..0x3e, got ${c.netfn}`);
    }
    if (!isByte(c.cmd)) throw new ConfigError(`IPMI command "${c.name}": cmd must be 0..255, got ${c.cmd}`);
    if (c.minLength !== undefined && c.maxLength !== undefined && c.minLength > c.maxLength) {
      throw new ConfigError(`IPMI command "${c.name}": minLength ${c.minLength} > maxLength ${c.maxLength}`);
    }
    const isGroup = c.netfn === NETFN.GROUP_EXTENSION;
    const isOemGroup = c.netfn === NETFN.OEM_GROUP;
    const isOem = c.netfn >= OEM_NETFN_FIRST;
    if (isGroup !== (c.groupBody !== undefined)) {
      throw new ConfigError(`IPMI command "${c.name}": groupBody is required for netfn 0x2c and meaningless elsewhere`);
    }
    if (c.groupBody !== undefined && !isByte(c.groupBody)) {
      throw new ConfigError(`IPMI command "${c.name}": groupBody must be 0..255, got ${c.groupBody}`);
    }
    if (isOemGroup && c.iana === undefined) throw new ConfigError(`IPMI command "${c.name}": netfn 0x2e commands are keyed by IANA`);
    if (c.iana !== undefined && !isOemGroup && !isOem) {
      throw new ConfigError(`IPMI command "${c.name}": only netfn 0x2e and 0x30..0x3e commands are keyed by IANA`);
    }
    if (c.iana !== undefined && (!Number.isInteger(c.iana) || c.iana < 0 || c.iana > 0xffffff)) {
      throw new ConfigError(`IPMI command "${c.name}": IANA must be 0..0xffffff, got ${c.iana}`);
    }
    if (isOem) {
      // A plain handler and an IANA-keyed one for the same netfn/cmd would
      // shadow each other: which one a request reaches would depend on its bytes.
      const pair = `${c.netfn}:${c.cmd}`;
      const want = c.iana === undefined ? 'plain' : 'iana';
      const have = this.#oemKeying.get(pair);
      if (have !== undefined && have !== want) {
        const other = [...this.#commands.values()].find((o) => o.netfn === c.netfn && o.cmd === c.cmd)!;
        throw new IpmiRouterError(
          'ERR_IPMI_DUPLICATE_COMMAND',
          `IPMI ${describeKey(c)}: "${c.name}" (${c.owner}) cannot be registered ${want === 'plain' ? 'without' : 'by'} IANA: ` +
            `"${other.name}" (${other.owner}) already has ${describeKey(other)}`,
          { details: { key: describeKey(c), registered: other.owner, refused: c.owner } },
        );
      }
    }
    const key = commandKey(c.netfn, c.cmd, c.groupBody, c.iana);
    const existing = this.#commands.get(key);
    if (existing) {
      throw new IpmiRouterError(
        'ERR_IPMI_DUPLICATE_COMMAND',
        `IPMI ${describeKey(c)} is already registered by ${existing.owner} ("${existing.name}"); ` +
          `${c.owner} ("${c.name}") cannot register it too`,
        { details: { key: describeKey(c), registered: existing.owner, refused: c.owner } },
      );
    }
    this.#commands.set(key, c);
    if (isOem) this.#oemKeying.set(`${c.netfn}:${c.cmd}`, c.iana === undefined ? 'plain' : 'iana');
  }

  /** What is registered, for the API and for people. */
  registered(): RegisteredCommand[] {
    return [...this.#commands.values()]
      .map((c) => ({ netfn: c.netfn, cmd: c.cmd, name: c.name, owner: c.owner, groupBody: c.groupBody, iana: c.iana }))
      .sort((a, b) => a.netfn - b.netfn || a.cmd - b.cmd || (a.groupBody ?? a.iana ?? 0) - (b.groupBody ?? b.iana ?? 0));
  }

  #lookup(req: IpmiRequest): Lookup {
    const none = Buffer.alloc(0);
    if (req.netfn === NETFN.GROUP_EXTENSION) {
      if (req.data.length < 1) return { command: undefined, prefix: none, tooShort: true };
      const body = req.data[0]!;
      return { command: this.#commands.get(commandKey(req.netfn, req.cmd, body, undefined)), prefix: req.data.subarray(0, 1), tooShort: false };
    }
    const byIana = (): Lookup => {
      if (req.data.length < 3) return { command: undefined, prefix: none, tooShort: true };
      const iana = req.data.readUIntLE(0, 3);
      return { command: this.#commands.get(commandKey(req.netfn, req.cmd, undefined, iana)), prefix: req.data.subarray(0, 3), tooShort: false };
    };
    if (req.netfn === NETFN.OEM_GROUP) return byIana();
    if (req.netfn >= OEM_NETFN_FIRST && this.#oemKeying.get(`${req.netfn}:${req.cmd}`) === 'iana') return byIana();
    return { command: this.#commands.get(commandKey(req.netfn, req.cmd, undefined, undefined)), prefix: none, tooShort: false };
  }

  /** Handle one request; always resolves, with the response the bus must send back. */
  async dispatch(req: IpmiRequest): Promise<IpmiResponse> {
    const bus = this.#bus(req.bus);
    const startedAt = this.#clock.now();
    bus.stats.requests++;
    const finish = (res: IpmiResponse, name: string | undefined): IpmiResponse => {
      this.#record(bus, req, res.cc, name, startedAt);
      return res;
    };

    if (!isByte(req.netfn) || (req.netfn & 1) !== 0 || !isByte(req.cmd) || !Buffer.isBuffer(req.data)) {
      // A response netfn (odd) or garbage is no command of ours.
      return finish(fail(CC.INVALID_COMMAND), undefined);
    }
    const { command, prefix, tooShort } = this.#lookup(req);
    const refuse = (cc: number): IpmiResponse => finish({ cc, data: Buffer.from(prefix) }, command?.name);
    if (tooShort) return refuse(CC.DATA_LENGTH_INVALID);
    if (!command) return refuse(CC.INVALID_COMMAND);
    if (req.privilege < command.privilege) return refuse(CC.INSUFFICIENT_PRIVILEGE);
    const len = req.data.length;
    if ((command.minLength !== undefined && len < command.minLength) || (command.maxLength !== undefined && len > command.maxLength)) {
      return refuse(CC.DATA_LENGTH_INVALID);
    }
    if (bus.stats.inFlight >= bus.maxInFlight) {
      bus.stats.busy++;
      return refuse(CC.BUSY);
    }

    bus.stats.inFlight++;
    let res: IpmiResponse;
    try {
      res = await this.#runWithTimeout(bus, command, req);
    } finally {
      bus.stats.inFlight--;
    }
    if (res.cc === CC.OK && res.data.length > bus.maxResponseData) {
      bus.stats.oversizeResponses++;
      this.#log(`ipmi: ${command.name} on ${bus.name}: ${res.data.length}-byte response exceeds the bus's ${bus.maxResponseData}: answered CA`);
      res = { cc: CC.CANNOT_RETURN_BYTES, data: Buffer.from(prefix) };
    } else if (res.data.length > bus.maxResponseData) {
      res = { cc: res.cc, data: Buffer.from(prefix) };
    }
    return finish(res, command.name);
  }

  #runWithTimeout(bus: Bus, command: IpmiCommand, req: IpmiRequest): Promise<IpmiResponse> {
    const prefix = (): Buffer => this.#lookup(req).prefix;
    return new Promise<IpmiResponse>((resolve) => {
      let answered = false;
      const timer = this.#clock.setTimeout(() => {
        if (answered) return;
        answered = true;
        bus.stats.timeouts++;
        this.#log(`ipmi: ${command.name} (${command.owner}) on ${bus.name} did not answer within ${this.#timeoutMs} ms: answered C3`);
        resolve({ cc: CC.TIMEOUT, data: Buffer.from(prefix()) });
      }, this.#timeoutMs);
      const settle = (outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): void => {
        if (answered) {
          bus.stats.lateCompletions++;
          this.#log(`ipmi: ${command.name} (${command.owner}) on ${bus.name} completed after its requester got C3`);
          return;
        }
        answered = true;
        timer.cancel();
        if (outcome.ok && isResponse(outcome.value)) {
          resolve(outcome.value);
          return;
        }
        bus.stats.handlerErrors++;
        const why = outcome.ok
          ? 'returned something that is not a response'
          : `threw: ${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)}`;
        this.#log(`ipmi: ${command.name} (${command.owner}) on ${bus.name} ${why}: answered FF`);
        resolve({ cc: CC.UNSPECIFIED, data: Buffer.from(prefix()) });
      };
      try {
        Promise.resolve(command.handler(req)).then(
          (value) => settle({ ok: true, value }),
          (error: unknown) => settle({ ok: false, error }),
        );
      } catch (error) {
        settle({ ok: false, error });
      }
    });
  }

  #bus(name: string): Bus {
    let bus = this.#buses.get(name);
    if (!bus) {
      bus = {
        name,
        maxInFlight: this.#defaultBus.maxInFlight,
        maxResponseData: this.#defaultBus.maxResponseData,
        log: [],
        logSize: this.#defaultBus.logSize,
        logNext: 0,
        droppedSeq: 0,
        stats: { inFlight: 0, requests: 0, busy: 0, timeouts: 0, handlerErrors: 0, lateCompletions: 0, oversizeResponses: 0 },
      };
      this.#buses.set(name, bus);
    }
    return bus;
  }

  #record(bus: Bus, req: IpmiRequest, cc: number, name: string | undefined, startedAt: number): void {
    const netfn = isByte(req.netfn) ? req.netfn : 0xff;
    const cmd = isByte(req.cmd) ? req.cmd : 0xff;
    const entry: MessageLogEntry = {
      seq: ++this.#seq,
      bus: bus.name,
      requester: req.requester,
      netfn,
      cmd,
      name,
      cc,
      startedAt,
      durationMs: this.#clock.now() - startedAt,
    };
    if (bus.log.length < bus.logSize) bus.log.push(entry);
    else {
      bus.droppedSeq = bus.log[bus.logNext]!.seq;
      bus.log[bus.logNext] = entry;
    }
    bus.logNext = (bus.logNext + 1) % bus.logSize;
    // Keys are bounded by construction: the buses the composition made x 32
    // request netfns x 256 cmds x the few completion codes each can end with.
    const key = `${bus.name}:${netfn}:${cmd}:${cc}`;
    const c = this.#counters.get(key);
    if (c) c.count++;
    else this.#counters.set(key, { bus: bus.name, netfn, cmd, cc, name: name ?? '', count: 1 });
    for (const fn of [...this.#listeners]) {
      try {
        fn(entry);
      } catch (e) {
        // A watcher's failure must not reach the requester's answer.
        this.#log(`ipmi: a message listener threw: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** Call `fn` with every message's log entry once it is answered; returns the unsubscribe. */
  onMessage(fn: (entry: MessageLogEntry) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** seq of the newest message (0 before the first). */
  get lastSeq(): number {
    return this.#seq;
  }

  /**
   * Entries with seq > `after` of one bus (every bus when undefined), oldest
   * first, and whether a ring already dropped some of them before they were read.
   */
  logSince(after: number, bus?: string): { entries: MessageLogEntry[]; lost: boolean } {
    const buses = bus === undefined ? [...this.#buses.keys()] : this.#buses.has(bus) ? [bus] : [];
    const entries = buses.flatMap((b) => this.logOf(b).filter((e) => e.seq > after)).sort((a, b) => a.seq - b.seq);
    const lost = buses.some((b) => this.#buses.get(b)!.droppedSeq > after);
    return { entries, lost };
  }

  /** A bus's log, oldest first. */
  logOf(bus: string): MessageLogEntry[] {
    const b = this.#buses.get(bus);
    if (!b) return [];
    if (b.log.length < b.logSize) return [...b.log];
    return [...b.log.slice(b.logNext), ...b.log.slice(0, b.logNext)];
  }

  /** Counters per (bus, netfn, cmd, cc), for Prometheus. */
  counters(): CommandCounter[] {
    return [...this.#counters.values()]
      .map((c) => ({ ...c }))
      .sort((a, b) => (a.bus < b.bus ? -1 : a.bus > b.bus ? 1 : 0) || a.netfn - b.netfn || a.cmd - b.cmd || a.cc - b.cc);
  }

  busStats(): BusStats[] {
    return [...this.#buses.values()].map((b) => ({ bus: b.name, maxInFlight: b.maxInFlight, ...b.stats }));
  }
}

function commandKey(netfn: number, cmd: number, groupBody: number | undefined, iana: number | undefined): string {
  if (groupBody !== undefined) return `${netfn}:${cmd}:g${groupBody}`;
  if (iana !== undefined) return `${netfn}:${cmd}:i${iana}`;
  return `${netfn}:${cmd}`;
}

function checkBusOptions(name: string, o: Required<BusOptions>): Required<BusOptions> {
  if (!Number.isInteger(o.maxInFlight) || o.maxInFlight < 1) {
    throw new ConfigError(`IPMI bus ${name}: maxInFlight must be an integer >= 1, got ${o.maxInFlight}`);
  }
  if (!(o.maxResponseData >= 0)) throw new ConfigError(`IPMI bus ${name}: maxResponseData must be >= 0, got ${o.maxResponseData}`);
  if (!Number.isInteger(o.logSize) || o.logSize < 1) throw new ConfigError(`IPMI bus ${name}: logSize must be an integer >= 1, got ${o.logSize}`);
  return o;
}

/** One line for a log entry, as people read it. */
export function formatLogEntry(e: MessageLogEntry): string {
  const what = e.name ?? 'unregistered';
  return `${e.bus}${e.requester ? `/${e.requester}` : ''} ${hex(e.netfn)}/${hex(e.cmd)} ${what} -> ${hex(e.cc)} (${describeCompletionCode(e.cc)}) ${e.durationMs} ms`;
}
