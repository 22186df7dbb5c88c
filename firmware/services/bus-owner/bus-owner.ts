/**
 * The MCTP bus owner: what mctpd is on an OpenBMC system in its bus-owner
 * role. When a link gets carrier it sets up the endpoint(s) on it, following
 * mctpd's SetupEndpoint:
 *
 *   1. Get Endpoint ID by physical address (with retries);
 *   2. a reported EID that is free is kept; otherwise an EID is chosen (a
 *      static one configured for that link/address, the one its UUID had
 *      before, or the lowest free one of the dynamic range), a route (and a
 *      neighbour, on links with addresses) is added BEFORE Set Endpoint ID,
 *      and the EID the endpoint reports back is the one used;
 *   3. Get Message Type Support (mandatory: no answer, no endpoint), Get
 *      Vendor Defined Message Support when 0x7E/0x7F is listed, Get
 *      Endpoint UUID (optional);
 *   4. the endpoint is published: 'endpoint-added', endpoints().
 *
 * Recovery is mctpd's Recover(): degraded at once, Get Endpoint ID polls
 * without retry, the first after the message timeout and then every
 * Treclaim/2 − timeout, three in all; an endpoint that never answers is
 * removed with its route. A link that loses carrier marks its endpoints
 * degraded and sets them up again when carrier returns: a restarted endpoint
 * is re-assigned, and one with the same UUID gets its old EID back.
 *
 * A device behind a link can also go away with the link none the wiser (a
 * host reset keeps a serial line's carrier; astlpc has no "host gone"
 * command). Whoever knows — host power control — calls linkLost(): the
 * endpoints behind that link are 'unavailable' at once, and set-ups in
 * flight on it are void. An unavailable endpoint is not polled (it is known
 * to be gone); it becomes available again only by answering a new set-up
 * (carrier up, Discovery Notify, or a caller), so nothing the device said
 * before it went away can make it look present.
 *
 * Everything runs one operation at a time (mctpd is one thread), and every
 * wait is on the injectable clock.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../../../lib/clock.js';
import { ConfigError } from '../../../lib/errors.js';
import { waitFor } from '../../../lib/wait.js';
import { Cmd, SetEidOp } from '../../mctp/control/constants.js';
import { ControlRequester, type PhysicalTarget, type RoutedTarget } from '../../mctp/control/requester.js';
import { ControlResponder } from '../../mctp/control/responder.js';
import type { VdmType } from '../../mctp/control/types.js';
import { formatUuid, isNilUuid } from '../../mctp/control/uuid.js';
import { isUnicastEid } from '../../mctp/constants.js';
import { MctpError, isMctpError } from '../../mctp/errors.js';
import type { MctpInterface } from '../../mctp/interface.js';
import type { MctpStack, StackEvent } from '../../mctp/stack.js';
import { DEFAULT_EID_RANGE, checkEidRange, eidPoolExhausted, isEidPoolExhausted, lowestFreeEid, type EidRange } from './eid-allocation.js';
import { advertisesVdm, queryMessageTypes, queryUuid, queryVdmTypes } from './endpoint-queries.js';

/** DSP0237's Treclaim: how long an EID stays reserved for an endpoint that went quiet. */
export const TRECLAIM_MS = 5000;
/** Get Endpoint ID polls of one recovery (mctpd: MN1_MIN + 1). */
export const RECOVERY_POLLS = 3;

/**
 * mctpd's Available / Degraded, plus 'unavailable': the device behind the
 * link is known to be gone (linkLost) until it answers a set-up again.
 */
export type Connectivity = 'available' | 'degraded' | 'unavailable';

/** How the endpoint's EID was chosen. */
export type EidOrigin = 'reported' | 'dynamic' | 'static' | 'reclaimed';

export interface EndpointInfo {
  eid: number;
  net: number;
  /** The interface (link) the endpoint is on. */
  iface: string;
  /** Its physical (link-layer) address; empty on point-to-point links. */
  hwAddr: Buffer;
  messageTypes: number[];
  vdmTypes: VdmType[];
  /** Text form, or null when the endpoint did not answer Get Endpoint UUID. */
  uuid: string | null;
  connectivity: Connectivity;
  origin: EidOrigin;
  /** Clock times (ms): when it was published, when its state last changed, when it last answered. */
  addedAt: number;
  changedAt: number;
  lastSeenAt: number;
}

export type RemovalReason = 'unreachable' | 'replaced' | 'removed' | 'interface-removed';

export interface StaticAssignment {
  iface: string;
  /** The endpoint's link-layer address; absent or empty on point-to-point links. */
  hwAddr?: Uint8Array;
  eid: number;
}

export interface BusOwnerOptions {
  /** Links this bus owner manages (default: every interface of the stack, now and later). */
  interfaces?: readonly string[];
  /** The dynamic pool (default 8..254, as mctpd). */
  eidRange?: EidRange;
  /** Fixed EIDs per link (and link-layer address); may lie outside the dynamic range. */
  staticAssignments?: readonly StaticAssignment[];
  /**
   * Link-layer addresses to set up when a link gets carrier. Links without
   * addresses (astlpc, serial, a plain pair) have their one peer probed
   * without configuration; on links with addresses only these are.
   */
  peers?: Readonly<Record<string, readonly Uint8Array[]>>;
  /** Control message timeout (mctpd: 250 ms). */
  timeoutMs?: number;
  treclaimMs?: number;
  /** MTU of endpoint routes: the link's minimum (mctpd) or none (the device's). */
  routeMtu?: 'link-min' | 'none';
  /** The bus-owner-role responder to use; default one of our own; false for none. */
  responder?: ControlResponder | false;
  /** UUID our own responder reports. */
  uuid?: string | Uint8Array;
  clock?: Clock;
}

export interface BusOwnerStats {
  /** SetupEndpoint runs (carrier, Discovery Notify or a caller). */
  setups: number;
  setupFailures: number;
  /** Set Endpoint ID exchanges that gave an endpoint its EID. */
  assignments: number;
  poolExhausted: number;
  recoveries: number;
  recovered: number;
  removed: number;
}

export interface SetupFailedEvent {
  iface: string;
  hwAddr: Buffer;
  error: Error;
}

/** Ways to pick endpoints in waitForEndpoint. */
export interface EndpointFilter {
  eid?: number;
  net?: number;
  iface?: string;
  uuid?: string;
  /** Which connectivity counts (default 'available'; 'any': a degraded endpoint too, never an unavailable one). */
  connectivity?: Connectivity | 'any';
}

/** How long waitForEndpoint waits (on the bus owner's clock), and how it is called off. */
export interface EndpointWaitOptions {
  /** No limit when undefined; otherwise rejects with lib's WaitError (ERR_WAIT_TIMEOUT). */
  timeoutMs?: number;
  /** Rejects with WaitError (ERR_WAIT_ABORTED) when aborted. */
  signal?: AbortSignal;
}

interface Peer {
  info: EndpointInfo;
  uuidBytes: Buffer | null;
  routeAdded: boolean;
  neighbourAdded: boolean;
  recovery: { pollsLeft: number; timer: TimerHandle | null } | null;
  removed: boolean;
}

const physKey = (iface: string, hw: Uint8Array): string => `${iface}/${Buffer.from(hw).toString('hex')}`;

function snapshot(p: Peer): EndpointInfo {
  return {
    ...p.info,
    hwAddr: Buffer.from(p.info.hwAddr),
    messageTypes: [...p.info.messageTypes],
    vdmTypes: p.info.vdmTypes.map((v) => ({ ...v })),
  };
}

export class BusOwner extends EventEmitter {
  readonly stats: BusOwnerStats = { setups: 0, setupFailures: 0, assignments: 0, poolExhausted: 0, recoveries: 0, recovered: 0, removed: 0 };
  readonly requester: ControlRequester;
  readonly responder: ControlResponder | null;
  readonly eidRange: Readonly<EidRange>;

  readonly #stack: MctpStack;
  readonly #clock: Clock;
  readonly #managed: ReadonlySet<string> | null;
  readonly #static = new Map<string, number>();
  readonly #peerAddrs: Readonly<Record<string, readonly Uint8Array[]>>;
  readonly #timeoutMs: number;
  readonly #treclaimMs: number;
  readonly #routeMtu: 'link-min' | 'none';
  readonly #ownResponder: boolean;
  readonly #peers = new Set<Peer>();
  /** UUID (text) -> the EID it had, so a returning endpoint gets it back. */
  readonly #uuidEids = new Map<string, { net: number; eid: number }>();
  /** 'endpoint' (EndpointInfo) whenever one is added or changes: what waitForEndpoint listens to. */
  readonly #published = new EventEmitter().setMaxListeners(0);
  #queue: Promise<unknown> = Promise.resolve();
  #unsubscribe: (() => void) | null = null;
  #started = false;
  #stopped = false;
  /** Per link: bumped by linkLost(), so a set-up that began before it cannot publish what it learned. */
  readonly #linkEpochs = new Map<string, number>();

  constructor(stack: MctpStack, opts: BusOwnerOptions = {}) {
    super();
    this.#stack = stack;
    this.#clock = opts.clock ?? stack.clock;
    this.#managed = opts.interfaces ? new Set(opts.interfaces) : null;
    this.eidRange = { ...(opts.eidRange ?? DEFAULT_EID_RANGE) };
    checkEidRange(this.eidRange);
    for (const s of opts.staticAssignments ?? []) {
      if (!isUnicastEid(s.eid)) throw new ConfigError(`static EID ${s.eid} for ${s.iface} is not unicast (8..254)`);
      const key = physKey(s.iface, s.hwAddr ?? Buffer.alloc(0));
      if (this.#static.has(key)) throw new ConfigError(`two static EIDs for ${key}`);
      this.#static.set(key, s.eid);
    }
    this.#peerAddrs = opts.peers ?? {};
    this.#timeoutMs = opts.timeoutMs ?? 250;
    this.#treclaimMs = opts.treclaimMs ?? TRECLAIM_MS;
    this.#routeMtu = opts.routeMtu ?? 'link-min';
    this.requester = new ControlRequester(stack, { clock: this.#clock, timeoutMs: this.#timeoutMs });
    if (opts.responder === false) {
      this.responder = null;
      this.#ownResponder = false;
    } else if (opts.responder) {
      this.responder = opts.responder;
      this.#ownResponder = false;
    } else {
      this.responder = new ControlResponder(stack, {
        role: 'bus-owner',
        ...(opts.uuid !== undefined ? { uuid: opts.uuid } : {}),
        isDynamic: (net, eid) => {
          const p = this.#find(net, eid);
          return !!p && (p.info.origin === 'dynamic' || p.info.origin === 'reclaimed');
        },
      });
      this.#ownResponder = true;
    }
  }

  /** Watch links and set up what is already connected. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#unsubscribe = this.#stack.onEvent((ev) => this.#onStackEvent(ev));
    this.responder?.on('discovery-notify', this.#onDiscoveryNotify);
    for (const iface of this.#stack.interfaces()) if (this.#manages(iface.name) && iface.carrier) this.#linkUp(iface.name);
  }

  /** Stop watching, cancel recoveries and requests in flight; published routes stay. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    this.responder?.off('discovery-notify', this.#onDiscoveryNotify);
    for (const p of this.#peers) this.#cancelRecovery(p);
    this.requester.close();
    if (this.#ownResponder) this.responder?.close();
  }

  /** The published endpoints, oldest first. */
  endpoints(): EndpointInfo[] {
    return [...this.#peers].map(snapshot);
  }

  endpoint(eid: number, net = this.#stack.defaultNet): EndpointInfo | undefined {
    const p = this.#find(net, eid);
    return p ? snapshot(p) : undefined;
  }

  /**
   * Resolves with the first endpoint matching `filter` (available ones only,
   * unless it says otherwise): at once if one is published, else when one is
   * added or changes to match.
   */
  async waitForEndpoint(filter: EndpointFilter = {}, options: EndpointWaitOptions = {}): Promise<EndpointInfo> {
    const connectivity = filter.connectivity ?? 'available';
    const match = (e: EndpointInfo): boolean =>
      (connectivity === 'any' ? e.connectivity !== 'unavailable' : e.connectivity === connectivity) &&
      (filter.eid === undefined || e.eid === filter.eid) &&
      (filter.net === undefined || e.net === filter.net) &&
      (filter.iface === undefined || e.iface === filter.iface) &&
      (filter.uuid === undefined || e.uuid === filter.uuid);
    const now = this.endpoints().find(match);
    if (now) return now;
    const [e] = await waitFor<[EndpointInfo]>(this.#published, 'endpoint', match, {
      clock: this.#clock,
      ...options,
      what: `an endpoint matching ${JSON.stringify(filter)}`,
    });
    return e;
  }

  /** mctpd's SetupEndpoint: keep a free reported EID, else assign one. */
  setupEndpoint(iface: string, hwAddr: Uint8Array = Buffer.alloc(0)): Promise<EndpointInfo> {
    return this.#enqueue(() => this.#setup(iface, Buffer.from(hwAddr), false));
  }

  /** mctpd's AssignEndpoint: always assign (static, remembered or from the pool). */
  assignEndpoint(iface: string, hwAddr: Uint8Array = Buffer.alloc(0)): Promise<EndpointInfo> {
    return this.#enqueue(() => this.#setup(iface, Buffer.from(hwAddr), true));
  }

  /** mctpd's Endpoint1.Recover(): degraded now; polls decide between available and removed. */
  recover(eid: number, net = this.#stack.defaultNet): void {
    const p = this.#find(net, eid);
    if (!p) throw new MctpError('ENOENT', `no endpoint EID ${eid} on net ${net}`);
    this.#startRecovery(p, true);
  }

  /**
   * The device(s) behind `ifname` went away — the host was reset or powered
   * off — whatever the link's carrier says. Its endpoints become
   * 'unavailable' at once (published as 'endpoint-changed'), their recovery
   * polls stop, and set-ups in flight on the link are void: an answer from
   * before the loss cannot bring an endpoint back. They are set up again
   * when the device returns (carrier up, Discovery Notify, setupEndpoint).
   * Routes and EIDs stay: a returning device gets its EID back.
   */
  linkLost(ifname: string): void {
    if (this.#stopped) return;
    this.#linkEpochs.set(ifname, this.#linkEpoch(ifname) + 1);
    for (const p of this.#peers) {
      if (p.info.iface !== ifname) continue;
      this.#cancelRecovery(p);
      this.#setConnectivity(p, 'unavailable');
    }
  }

  /** mctpd's Endpoint1.Remove(): forget the endpoint and remove its route and neighbour. */
  removeEndpoint(eid: number, net = this.#stack.defaultNet): void {
    const p = this.#find(net, eid);
    if (!p) throw new MctpError('ENOENT', `no endpoint EID ${eid} on net ${net}`);
    this.#remove(p, 'removed');
  }

  /**
   * mctpd's Endpoint1.SetMTU: the endpoint route starts at the link's
   * minimum MTU; a caller that knows the endpoint takes more (an astlpc host
   * negotiates up to 32 KiB) raises it. 0 = the device's MTU.
   */
  setEndpointMtu(eid: number, mtu: number, net = this.#stack.defaultNet): void {
    const p = this.#find(net, eid);
    if (!p) throw new MctpError('ENOENT', `no endpoint EID ${eid} on net ${net}`);
    const iface = this.#stack.interface(p.info.iface);
    if (!Number.isInteger(mtu) || mtu < 0 || (mtu !== 0 && mtu < iface.binding.mtu.min)) {
      throw new MctpError('EINVAL', `MTU ${mtu} is below ${iface.name}'s minimum ${iface.binding.mtu.min}`);
    }
    // Replace the route whoever added it, as mctpd's delete-and-add does; from now on it is ours.
    try {
      this.#stack.removeRoute({ min: eid, dev: iface.name });
    } catch (e) {
      if (!isMctpError(e, 'ENOENT')) throw e;
    }
    this.#stack.addRoute({ min: eid, dev: iface.name, mtu });
    p.routeAdded = true;
  }

  // ---- events --------------------------------------------------------------

  #onStackEvent(ev: StackEvent): void {
    if (this.#stopped) return;
    if (ev.kind === 'carrier') {
      if (!this.#manages(ev.iface)) return;
      if (ev.up) this.#linkUp(ev.iface);
      else this.#linkDown(ev.iface);
    } else if (ev.kind === 'interface-removed') {
      for (const p of [...this.#peers]) if (p.info.iface === ev.iface) this.#remove(p, 'interface-removed');
    } else if (ev.kind === 'interface-added') {
      if (this.#manages(ev.iface) && this.#stack.findInterface(ev.iface)?.carrier) this.#linkUp(ev.iface);
    }
  }

  #onDiscoveryNotify = (ev: { iface: string; hwAddr: Buffer }): void => {
    if (!this.#stopped && this.#manages(ev.iface)) this.setupEndpoint(ev.iface, ev.hwAddr).catch(() => undefined);
  };

  #manages(iface: string): boolean {
    return this.#managed === null || this.#managed.has(iface);
  }

  /** Set up every address we know on the link: configured ones, or the one peer, and those we had. */
  #linkUp(ifname: string): void {
    const iface = this.#stack.findInterface(ifname);
    if (!iface) return;
    const addrs = new Map<string, Buffer>();
    const configured = this.#peerAddrs[ifname] ?? (iface.binding.hwAddrLen === 0 ? [Buffer.alloc(0)] : []);
    for (const hw of configured) addrs.set(physKey(ifname, hw), Buffer.from(hw));
    for (const p of this.#peers) if (p.info.iface === ifname) addrs.set(physKey(ifname, p.info.hwAddr), p.info.hwAddr);
    for (const hw of addrs.values()) this.setupEndpoint(ifname, hw).catch(() => undefined);
  }

  #linkDown(ifname: string): void {
    for (const p of this.#peers) {
      if (p.info.iface !== ifname) continue;
      this.#cancelRecovery(p);
      // Known to be gone says more than "link down": it stays unavailable.
      if (p.info.connectivity !== 'unavailable') this.#setConnectivity(p, 'degraded');
    }
  }

  #linkEpoch(ifname: string): number {
    return this.#linkEpochs.get(ifname) ?? 0;
  }

  /** Throws if linkLost() was called on the link since `epoch`: what the set-up learned is from before. */
  #checkNotLost(ifname: string, epoch: number): void {
    if (this.#linkEpoch(ifname) !== epoch) {
      throw new MctpError('EHOSTUNREACH', `set-up on ${ifname} abandoned: the device behind it went away (host reset or power-off) meanwhile`);
    }
  }

  /** Tell listeners, then waiters, that an endpoint was added or changed. */
  #publish(event: 'endpoint-added' | 'endpoint-changed', peer: Peer): void {
    this.emit(event, snapshot(peer));
    this.#published.emit('endpoint', snapshot(peer));
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#stopped) throw new MctpError('EBADF', 'bus owner is stopped');
      return fn();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  // ---- SetupEndpoint -------------------------------------------------------

  async #setup(ifname: string, hw: Buffer, alwaysAssign: boolean): Promise<EndpointInfo> {
    this.stats.setups++;
    try {
      return await this.#setupSteps(ifname, hw, alwaysAssign);
    } catch (e) {
      this.stats.setupFailures++;
      if (isEidPoolExhausted(e)) this.stats.poolExhausted++;
      if (!this.#stopped) {
        const ev: SetupFailedEvent = { iface: ifname, hwAddr: Buffer.from(hw), error: e as Error };
        this.emit('setup-failed', ev);
      }
      throw e;
    }
  }

  async #setupSteps(ifname: string, hw: Buffer, alwaysAssign: boolean): Promise<EndpointInfo> {
    const iface = this.#stack.interface(ifname);
    if (hw.length !== iface.binding.hwAddrLen) {
      throw new MctpError('EINVAL', `${ifname} link-layer addresses are ${iface.binding.hwAddrLen} bytes, got ${hw.length}`);
    }
    const phys: PhysicalTarget = { ifindex: iface.index, hwAddr: hw };
    const existing = this.#byPhys(ifname, hw);
    const epoch = this.#linkEpoch(ifname);
    let reported: number;
    try {
      reported = (await this.requester.request(phys, { command: Cmd.GetEndpointId })).eid;
    } catch (e) {
      this.#checkNotLost(ifname, epoch);
      // A known endpoint that stopped answering gets the recovery treatment, not instant removal.
      if (existing) this.#startRecovery(existing);
      throw e;
    }
    this.#checkNotLost(ifname, epoch);
    const fixed = this.#static.get(physKey(ifname, hw));

    if (existing) {
      if (reported === existing.info.eid && (fixed === undefined || fixed === reported) && !alwaysAssign) {
        if (existing.recovery) this.stats.recovered++;
        this.#cancelRecovery(existing);
        this.#alive(existing);
        return snapshot(existing);
      }
      // Restarted (EID 0) or changed: the same device (by UUID) gets its EID back.
      if (await this.#sameDevice(existing, phys)) {
        this.#checkNotLost(ifname, epoch);
        try {
          await this.#reassign(existing, phys, () => this.#checkNotLost(ifname, epoch));
        } catch (e) {
          this.#checkNotLost(ifname, epoch);
          this.#startRecovery(existing);
          throw e;
        }
        if (existing.recovery) this.stats.recovered++;
        this.#cancelRecovery(existing);
        return snapshot(existing);
      }
      this.#checkNotLost(ifname, epoch);
      this.#remove(existing, 'replaced');
    }

    const net = iface.net;
    const key = physKey(ifname, hw);
    let eid: number;
    let origin: EidOrigin;
    if (fixed !== undefined) {
      if (this.#taken(net, fixed, key)) throw new MctpError('EEXIST', `static EID ${fixed} for ${key} is already in use on net ${net}`);
      eid = fixed;
      origin = 'static';
    } else if (!alwaysAssign && isUnicastEid(reported) && !this.#taken(net, reported, key)) {
      eid = reported;
      origin = 'reported';
    } else {
      const remembered = await this.#rememberedEid(net, key, phys);
      if (remembered !== undefined) {
        eid = remembered;
        origin = 'reclaimed';
      } else {
        const free = lowestFreeEid(this.eidRange, (e) => this.#taken(net, e, key));
        if (free === null) throw eidPoolExhausted(net, this.eidRange);
        eid = free;
        origin = 'dynamic';
      }
    }

    const now = this.#clock.now();
    const peer: Peer = {
      info: {
        eid,
        net,
        iface: ifname,
        hwAddr: Buffer.from(hw),
        messageTypes: [],
        vdmTypes: [],
        uuid: null,
        connectivity: 'available',
        origin,
        addedAt: now,
        changedAt: now,
        lastSeenAt: now,
      },
      uuidBytes: null,
      routeAdded: false,
      neighbourAdded: false,
      recovery: null,
      removed: false,
    };
    // The route goes in before Set Endpoint ID: the endpoint may talk to us as soon as it has its EID.
    this.#route(peer, iface);
    try {
      // AssignEndpoint always sends Set Endpoint ID; SetupEndpoint only when the EID changes.
      if (origin !== 'reported' && (reported !== eid || alwaysAssign)) await this.#setEid(peer, phys);
      await this.#queryProperties(peer);
      this.#checkNotLost(ifname, epoch);
    } catch (e) {
      this.#unroute(peer);
      throw e;
    }
    this.#peers.add(peer);
    this.#rememberUuid(peer);
    this.#publish('endpoint-added', peer);
    return snapshot(peer);
  }

  /**
   * Set Endpoint ID by physical address. As mctpd, "accepted" and "rejected"
   * both tell us the EID the endpoint now has; a different one than we asked
   * for is used if it is free.
   */
  async #setEid(peer: Peer, phys: PhysicalTarget): Promise<void> {
    const r = await this.requester.request(phys, { command: Cmd.SetEndpointId, operation: SetEidOp.Set, eid: peer.info.eid });
    if (!isUnicastEid(r.eid)) {
      throw new MctpError('ECONNREFUSED', `Set Endpoint ID ${peer.info.eid} on ${peer.info.iface}: the endpoint reports invalid EID ${r.eid}`);
    }
    this.stats.assignments++;
    if (r.eid === peer.info.eid) return;
    if (this.#taken(peer.info.net, r.eid, physKey(peer.info.iface, peer.info.hwAddr))) {
      throw new MctpError('EEXIST', `endpoint on ${peer.info.iface} took EID ${r.eid} instead of ${peer.info.eid}, and ${r.eid} is in use`);
    }
    const iface = this.#stack.interface(peer.info.iface);
    this.#unroute(peer);
    peer.info.eid = r.eid;
    this.#route(peer, iface);
  }

  /** Message types (mandatory), vendor-defined sets when advertised, UUID (optional). Routed, by EID. */
  async #queryProperties(peer: Peer): Promise<void> {
    const target: RoutedTarget = { eid: peer.info.eid, net: peer.info.net };
    peer.info.messageTypes = await queryMessageTypes(this.requester, target);
    peer.info.vdmTypes = [];
    if (advertisesVdm(peer.info.messageTypes)) {
      try {
        peer.info.vdmTypes = await queryVdmTypes(this.requester, target);
      } catch {
        // Optional, as in mctpd: a failure leaves the list empty.
      }
    }
    try {
      const uuid = await queryUuid(this.requester, target);
      peer.uuidBytes = uuid;
      peer.info.uuid = formatUuid(uuid);
    } catch {
      peer.uuidBytes = null;
      peer.info.uuid = null;
    }
    peer.info.lastSeenAt = this.#clock.now();
  }

  /** Is the device at this physical address the one we knew? Only a matching, non-nil UUID says so. */
  async #sameDevice(peer: Peer, phys: PhysicalTarget): Promise<boolean> {
    if (!peer.uuidBytes || isNilUuid(peer.uuidBytes)) return false;
    try {
      return (await queryUuid(this.requester, phys)).equals(peer.uuidBytes);
    } catch {
      return false;
    }
  }

  /** Give a returning device its EID back, then refresh what it supports (it may have restarted with other software). */
  async #reassign(peer: Peer, phys: PhysicalTarget, stillCurrent: () => void = () => {}): Promise<void> {
    await this.#setEid(peer, phys);
    await this.#queryProperties(peer);
    stillCurrent();
    this.#rememberUuid(peer);
    peer.info.connectivity = 'available';
    peer.info.changedAt = this.#clock.now();
    this.#publish('endpoint-changed', peer);
  }

  /** The EID this endpoint's UUID had before, if that EID is free; asked only when we remember any. */
  async #rememberedEid(net: number, key: string, phys: PhysicalTarget): Promise<number | undefined> {
    if (this.#uuidEids.size === 0) return undefined;
    let uuid: Buffer;
    try {
      uuid = await queryUuid(this.requester, phys, { retry: false });
    } catch {
      return undefined;
    }
    if (isNilUuid(uuid)) return undefined;
    const was = this.#uuidEids.get(formatUuid(uuid));
    if (!was || was.net !== net || this.#taken(net, was.eid, key)) return undefined;
    return was.eid;
  }

  #rememberUuid(peer: Peer): void {
    if (peer.info.uuid && peer.uuidBytes && !isNilUuid(peer.uuidBytes)) {
      this.#uuidEids.set(peer.info.uuid, { net: peer.info.net, eid: peer.info.eid });
    }
  }

  // ---- recovery ------------------------------------------------------------

  /** `explicit`: a caller asked (Recover()); otherwise an unavailable endpoint is not polled — it is known to be gone. */
  #startRecovery(peer: Peer, explicit = false): void {
    if (peer.recovery || peer.removed || this.#stopped) return;
    if (!explicit && peer.info.connectivity === 'unavailable') return;
    this.stats.recoveries++;
    peer.recovery = { pollsLeft: RECOVERY_POLLS, timer: null };
    this.#setConnectivity(peer, 'degraded');
    this.#schedulePoll(peer, this.#timeoutMs);
  }

  #schedulePoll(peer: Peer, delay: number): void {
    const rec = peer.recovery;
    if (!rec) return;
    rec.timer = this.#clock.setTimeout(() => {
      rec.timer = null;
      this.#enqueue(() => this.#poll(peer)).catch(() => undefined);
    }, delay);
  }

  async #poll(peer: Peer): Promise<void> {
    const rec = peer.recovery;
    if (!rec || peer.removed) return;
    rec.pollsLeft--;
    const phys: PhysicalTarget = { ifindex: this.#stack.interface(peer.info.iface).index, hwAddr: peer.info.hwAddr };
    let eid: number;
    try {
      eid = (await this.requester.request(phys, { command: Cmd.GetEndpointId }, { retry: false })).eid;
    } catch {
      if (peer.recovery !== rec) return;
      if (rec.pollsLeft > 0) this.#schedulePoll(peer, this.#treclaimMs / 2 - this.#timeoutMs);
      else this.#remove(peer, 'unreachable');
      return;
    }
    if (peer.recovery !== rec) return;
    if (eid === peer.info.eid) {
      peer.recovery = null;
      this.stats.recovered++;
      this.#alive(peer);
      return;
    }
    // It answers with another EID: the same device gets its EID back, another one a new EID.
    if (await this.#sameDevice(peer, phys)) {
      try {
        await this.#reassign(peer, phys);
        if (peer.recovery === rec) peer.recovery = null;
        this.stats.recovered++;
      } catch {
        if (peer.recovery !== rec) return;
        if (rec.pollsLeft > 0) this.#schedulePoll(peer, this.#treclaimMs / 2 - this.#timeoutMs);
        else this.#remove(peer, 'unreachable');
      }
      return;
    }
    this.#remove(peer, 'replaced');
    await this.#setup(peer.info.iface, peer.info.hwAddr, true).catch(() => undefined);
  }

  #cancelRecovery(peer: Peer): void {
    peer.recovery?.timer?.cancel();
    peer.recovery = null;
  }

  // ---- bookkeeping ---------------------------------------------------------

  #find(net: number, eid: number): Peer | undefined {
    for (const p of this.#peers) if (p.info.net === net && p.info.eid === eid) return p;
    return undefined;
  }

  #byPhys(iface: string, hw: Uint8Array): Peer | undefined {
    const key = physKey(iface, hw);
    for (const p of this.#peers) if (physKey(p.info.iface, p.info.hwAddr) === key) return p;
    return undefined;
  }

  /** In use on `net`: one of our addresses, another endpoint, or a static EID reserved for another address. */
  #taken(net: number, eid: number, forKey: string): boolean {
    for (const i of this.#stack.interfaces()) if (i.net === net && i.addrs.includes(eid)) return true;
    for (const p of this.#peers) if (p.info.net === net && p.info.eid === eid && physKey(p.info.iface, p.info.hwAddr) !== forKey) return true;
    for (const [key, s] of this.#static) {
      if (s !== eid || key === forKey) continue;
      const iface = this.#stack.findInterface(key.slice(0, key.lastIndexOf('/')));
      if (!iface || iface.net === net) return true;
    }
    return false;
  }

  #alive(peer: Peer): void {
    peer.info.lastSeenAt = this.#clock.now();
    this.#setConnectivity(peer, 'available');
  }

  #setConnectivity(peer: Peer, c: Connectivity): void {
    if (peer.info.connectivity === c) return;
    peer.info.connectivity = c;
    peer.info.changedAt = this.#clock.now();
    if (this.#peers.has(peer)) this.#publish('endpoint-changed', peer);
  }

  /** Route (with the link's minimum MTU, as mctpd) and, on links with addresses, neighbour. Existing entries are left alone. */
  #route(peer: Peer, iface: MctpInterface): void {
    const mtu = this.#routeMtu === 'link-min' ? iface.binding.mtu.min : 0;
    try {
      this.#stack.addRoute({ min: peer.info.eid, dev: iface.name, mtu });
      peer.routeAdded = true;
    } catch (e) {
      if (!isMctpError(e, 'EEXIST')) throw e;
      peer.routeAdded = false;
    }
    peer.neighbourAdded = false;
    if (peer.info.hwAddr.length === 0) return;
    const known = iface.neighbours.get(peer.info.eid);
    if (known?.equals(peer.info.hwAddr)) return;
    if (known) this.#stack.removeNeighbour(iface.name, peer.info.eid);
    this.#stack.addNeighbour(iface.name, peer.info.eid, peer.info.hwAddr);
    peer.neighbourAdded = true;
  }

  #unroute(peer: Peer): void {
    const iface = this.#stack.findInterface(peer.info.iface);
    if (!iface) return;
    if (peer.routeAdded) {
      try {
        this.#stack.removeRoute({ min: peer.info.eid, dev: iface.name });
      } catch {
        // Someone removed it already.
      }
      peer.routeAdded = false;
    }
    if (peer.neighbourAdded && iface.neighbours.has(peer.info.eid)) this.#stack.removeNeighbour(iface.name, peer.info.eid);
    peer.neighbourAdded = false;
  }

  #remove(peer: Peer, reason: RemovalReason): void {
    if (peer.removed) return;
    peer.removed = true;
    this.#cancelRecovery(peer);
    this.#unroute(peer);
    this.#rememberUuid(peer);
    this.#peers.delete(peer);
    this.stats.removed++;
    this.emit('endpoint-removed', { ...snapshot(peer), reason });
  }
}
