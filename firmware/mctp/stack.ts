/**
 * One MCTP stack instance: what a Linux network namespace's net/mctp is.
 * Interfaces, local addresses, routes, neighbours, binds and tag keys live
 * here, along with the receive path (validation, forwarding, key and bind
 * matching, reassembly) and the transmit path used by sockets. The BMC and
 * the host agent each run one.
 *
 * Sockets reach the stack only through the SocketHost it hands them (as
 * af_mctp.c reaches route.c through include/net/mctp.h); the stack reaches a
 * socket only through the SocketPort the socket registered.
 */
import type { MctpBinding } from './binding.js';
import { BindTable } from './binds.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import {
  MCTP_ADDR_ANY,
  MCTP_ADDR_NULL,
  MCTP_HDR_LEN,
  MCTP_INITIAL_DEFAULT_NET,
  MCTP_MESSAGE_MAXLEN,
  MCTP_NET_ANY,
  MCTP_VER,
  isByte,
  isU32,
  isUnicastEid,
} from './constants.js';
import { MctpError, isMctpError } from './errors.js';
import { fragmentMessage } from './fragment.js';
import { decodeHeader, MCTP_HDR_FLAG_TO, MCTP_HDR_TAG_MASK } from './header.js';
import { MctpInterface, type InterfaceOptions } from './interface.js';
import { KeyTable, type KeyOwner, type TagKey } from './keys.js';
import { RouteTable, routeNet, type Dst, type RouteEntry } from './routes.js';
import { MctpSocket } from './socket.js';
import type { Delivery, SocketHost, SocketPort } from './socket-host.js';

export interface StackOptions {
  clock?: Clock;
  /** Bound on messages being reassembled at once (all peers together). */
  maxReassemblies?: number;
}

export interface RouteSpec {
  /** First EID of the range. */
  min: number;
  /** Last EID (defaults to min). */
  max?: number;
  /** Direct route: the egress interface name. */
  dev?: string;
  /** Gateway route: the EID to route through (and its net, default: the default net). */
  gateway?: { eid: number; net?: number };
  /** Network of a gateway route (default: the default net). Direct routes use their interface's. */
  net?: number;
  /** Route MTU, 0 or absent for none. */
  mtu?: number;
}

/** Stack-wide counters not tied to one interface. */
export interface StackCounters {
  tagExhausted: number;
  reassemblyTimeouts: number;
  forwarded: number;
}

/** Details of how a packet reached local input, carried to the receiving socket. */
interface InputMeta {
  net: number;
  iface: MctpInterface | undefined;
  hwSrc: Buffer | undefined;
}

export class MctpStack {
  readonly clock: Clock;
  readonly counters: StackCounters = { tagExhausted: 0, reassemblyTimeouts: 0, forwarded: 0 };
  readonly routes = new RouteTable();
  readonly binds = new BindTable();
  readonly keys: KeyTable;

  #defaultNet = MCTP_INITIAL_DEFAULT_NET;
  #ifaces = new Map<number, MctpInterface>();
  #nextIfindex = 1;
  #sockets = new Map<number, SocketPort>();
  #nextSocketId = 1;
  #listeners = new Set<(ev: StackEvent) => void>();

  /**
   * What this stack offers its sockets. A private object rather than public
   * methods: only a socket may transmit, allocate tags or release itself.
   */
  readonly #socketHost: SocketHost = {
    openSocket: (port) => {
      const id = this.#nextSocketId++;
      this.#sockets.set(id, port);
      return id;
    },
    releaseSocket: (owner) => {
      this.keys.removeOwner(owner);
      this.binds.removeOwner(owner);
      this.#sockets.delete(owner.id);
    },
    defaultNet: () => this.#defaultNet,
    addBind: (b) => this.binds.add(b),
    lookupRoute: (net, eid) => this.routes.lookup(net, eid),
    extAddrDst: (ifindex, eid, haddr) => this.#extAddrDst(ifindex, eid, haddr),
    output: (dst, dest, to, tag, message) => this.#output(dst, dest, to, tag, message),
    allocTag: (net, local, peer, owner, manual) => this.#allocTag(net, local, peer, owner, manual),
    releaseTag: (key) => this.keys.remove(key),
    findPreallocTag: (net, dest, tag) => this.keys.findManual(net, dest, tag),
    dropPreallocTag: (owner, net, peer, tag) => this.keys.removeManual(owner, net, peer, tag),
  };

  constructor(opts: StackOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.keys = new KeyTable({
      clock: this.clock,
      maxReassemblies: opts.maxReassemblies ?? 256,
      onReassemblyTimeout: (key) => {
        this.counters.reassemblyTimeouts++;
        key.reasm?.iface?.countRxDrop('reasm-timeout');
      },
    });
  }

  // ---- networks ------------------------------------------------------------

  get defaultNet(): number {
    return this.#defaultNet;
  }

  setDefaultNet(net: number): void {
    if (!isU32(net) || net === MCTP_NET_ANY) throw new MctpError('EINVAL', 'the default network must be a non-zero 32-bit value');
    this.#defaultNet = net;
  }

  /** Subscribe to topology changes (interfaces, addresses, carrier). */
  onEvent(fn: (ev: StackEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #emit(ev: StackEvent): void {
    for (const fn of this.#listeners) fn(ev);
  }

  // ---- interfaces ----------------------------------------------------------

  addInterface(name: string, binding: MctpBinding, opts: Partial<InterfaceOptions> = {}): MctpInterface {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) {
      throw new MctpError('EINVAL', `interface name "${name}" must be 1-15 characters of letters, digits, _ . -`);
    }
    if (this.findInterface(name)) throw new MctpError('EEXIST', `interface ${name} already exists`);
    const net = opts.net ?? this.#defaultNet;
    if (!isU32(net) || net === MCTP_NET_ANY) throw new MctpError('EINVAL', `network ${net} must be a non-zero 32-bit value`);
    const iface = new MctpInterface(this.#nextIfindex++, name, binding, { ...opts, net }, {
      onReceive: (i, pkt, hwSrc) => this.#receive(i, pkt, hwSrc),
      onCarrier: (i, up) => this.#emit({ kind: 'carrier', iface: i.name, up }),
    });
    this.#ifaces.set(iface.index, iface);
    this.#emit({ kind: 'interface-added', iface: name });
    return iface;
  }

  async removeInterface(name: string): Promise<void> {
    const iface = this.interface(name);
    iface.setUp(false);
    this.routes.removeForDevice(iface);
    this.#ifaces.delete(iface.index);
    await iface.binding.close();
    this.#emit({ kind: 'interface-removed', iface: name });
  }

  interfaces(): MctpInterface[] {
    return [...this.#ifaces.values()];
  }

  findInterface(nameOrIndex: string | number): MctpInterface | undefined {
    if (typeof nameOrIndex === 'number') return this.#ifaces.get(nameOrIndex);
    for (const i of this.#ifaces.values()) if (i.name === nameOrIndex) return i;
    return undefined;
  }

  /** Like findInterface, but ENODEV when absent. */
  interface(nameOrIndex: string | number): MctpInterface {
    const i = this.findInterface(nameOrIndex);
    if (!i) throw new MctpError('ENODEV', `no MCTP interface ${nameOrIndex}`);
    return i;
  }

  /** mctp link set X net N: direct and local routes follow their interface. */
  setInterfaceNet(name: string, net: number): void {
    if (!isU32(net) || net === MCTP_NET_ANY) throw new MctpError('EINVAL', `network ${net} must be a non-zero 32-bit value`);
    this.interface(name).net = net;
  }

  // ---- addresses (RTM_NEWADDR / RTM_DELADDR) -------------------------------

  /**
   * An address comes with its local route: both are added, or (EINVAL,
   * EEXIST — e.g. a route to that EID already exists) neither.
   */
  addAddress(ifname: string, eid: number): void {
    const iface = this.interface(ifname);
    if (!isUnicastEid(eid)) throw new MctpError('EINVAL', `EID ${eid} is not unicast (8..254) and cannot be a local address`);
    if (iface.addrs.includes(eid)) throw new MctpError('EEXIST', `EID ${eid} is already assigned to ${ifname}`);
    // The route first: if it is refused, the address was never there.
    this.routes.add(localRoute(iface, eid));
    iface.addrs.push(eid);
    this.#emit({ kind: 'address-added', iface: ifname, eid });
  }

  /** Remove an address and its local route. */
  removeAddress(ifname: string, eid: number): void {
    const iface = this.interface(ifname);
    const i = iface.addrs.indexOf(eid);
    if (i < 0) throw new MctpError('ENOENT', `EID ${eid} is not assigned to ${ifname}`);
    iface.addrs.splice(i, 1);
    try {
      this.routes.remove(iface.net, eid, eid, 'local', iface);
    } catch (e) {
      // An address without its route is the broken state this removal ends; nothing to undo.
      if (!isMctpError(e, 'ENOENT')) throw e;
    }
    this.#emit({ kind: 'address-removed', iface: ifname, eid });
  }

  /** Remove every local address of an interface. */
  clearAddresses(ifname: string): void {
    const iface = this.interface(ifname);
    for (const eid of [...iface.addrs]) this.removeAddress(ifname, eid);
  }

  /**
   * Make `eid` the interface's only address (a Set Endpoint ID re-assigns).
   * All or nothing: if the new address cannot be added (EINVAL, or EEXIST when
   * another route already covers that EID) the old addresses stay as they were.
   */
  replaceAddresses(ifname: string, eid: number): void {
    const iface = this.interface(ifname);
    if (!isUnicastEid(eid)) throw new MctpError('EINVAL', `EID ${eid} is not unicast (8..254) and cannot be a local address`);
    // The interface's own local routes are about to go, so they cannot stand in the way.
    this.routes.check(localRoute(iface, eid), (r) => r.type === 'local' && r.dev === iface);
    this.clearAddresses(ifname);
    this.addAddress(ifname, eid);
  }

  // ---- routes (RTM_NEWROUTE / RTM_DELROUTE) --------------------------------

  addRoute(spec: RouteSpec): void {
    const rt = this.#routeFromSpec(spec);
    if (rt.dev && rt.dev.binding.kind === 'loopback') throw new MctpError('EINVAL', 'routes to a loopback interface are not allowed');
    this.routes.add(rt);
  }

  removeRoute(spec: RouteSpec): void {
    const rt = this.#routeFromSpec(spec);
    this.routes.remove(routeNet(rt), rt.min, rt.max);
  }

  #routeFromSpec(spec: RouteSpec): RouteEntry {
    const max = spec.max ?? spec.min;
    if (!isByte(spec.min) || !isByte(max)) throw new MctpError('EINVAL', 'route EIDs must be 0..255');
    const mtu = spec.mtu ?? 0;
    if (!!spec.dev === !!spec.gateway) throw new MctpError('EINVAL', 'a route needs exactly one of dev or gateway');
    if (spec.dev) return { min: spec.min, max, type: 'unicast', mtu, dev: this.interface(spec.dev) };
    const gwNet = spec.gateway!.net || this.#defaultNet;
    const net = spec.net || this.#defaultNet;
    return { min: spec.min, max, type: 'unicast', mtu, gateway: { net: gwNet, eid: spec.gateway!.eid }, gwRouteNet: net };
  }

  /** mctp_route_lookup. */
  lookupRoute(net: number, eid: number): Dst | null {
    return this.routes.lookup(net, eid);
  }

  // ---- neighbours (RTM_NEWNEIGH / RTM_DELNEIGH) ----------------------------

  addNeighbour(ifname: string, eid: number, hwAddr: Buffer): void {
    const iface = this.interface(ifname);
    if (!isUnicastEid(eid)) throw new MctpError('EINVAL', `neighbour EID ${eid} is not unicast (8..254)`);
    if (hwAddr.length !== iface.binding.hwAddrLen) {
      throw new MctpError('EINVAL', `${ifname} link-layer addresses are ${iface.binding.hwAddrLen} bytes, got ${hwAddr.length}`);
    }
    if (iface.neighbours.has(eid)) throw new MctpError('EEXIST', `a neighbour entry for EID ${eid} on ${ifname} already exists`);
    iface.neighbours.set(eid, Buffer.from(hwAddr));
  }

  removeNeighbour(ifname: string, eid: number): void {
    const iface = this.interface(ifname);
    if (!iface.neighbours.delete(eid)) throw new MctpError('ENOENT', `no neighbour entry for EID ${eid} on ${ifname}`);
  }

  // ---- sockets -------------------------------------------------------------

  socket(): MctpSocket {
    return new MctpSocket(this.#socketHost);
  }

  /** mctp_dst_from_extaddr (see SocketHost.extAddrDst). */
  #extAddrDst(ifindex: number, eid: number, haddr: Uint8Array): Dst {
    const dev = this.findInterface(ifindex);
    if (!dev) throw new MctpError('ENOENT', `no MCTP interface with index ${ifindex}`);
    if (dev.binding.hwAddrLen !== haddr.length) {
      throw new MctpError('EINVAL', `${dev.name} link-layer addresses are ${dev.binding.hwAddrLen} bytes, smctp_halen is ${haddr.length}`);
    }
    const dst: Dst = { dev, mtu: dev.mtu, saddr: dev.addrs[0] ?? 0, nexthop: eid, local: false };
    if (haddr.length) dst.hwDest = Buffer.from(haddr);
    return dst;
  }

  /**
   * The transmit path of sendmsg once the socket has resolved the
   * destination and the tag: fragment to the path MTU and queue, or feed our
   * own input for local destinations.
   */
  #output(dst: Dst, dest: number, to: boolean, tag: number, message: Buffer): void {
    const packets = fragmentMessage(message, { dest, src: dst.saddr, to, tag, mtu: dst.mtu });
    if (dst.local) {
      for (const pkt of packets) this.#input(pkt, { net: dst.dev.net, iface: dst.dev, hwSrc: undefined });
      return;
    }
    dst.dev.transmit(packets, dst.hwDest);
  }

  /** Tag allocation for sockets (see SocketHost.allocTag): EBUSY is counted as tagExhausted. */
  #allocTag(net: number, local: number, peer: number, owner: KeyOwner, manual: boolean): TagKey {
    let tag: number;
    try {
      tag = this.keys.freeTag(net, local, peer);
    } catch (e) {
      this.counters.tagExhausted++;
      throw e;
    }
    return this.keys.add(net, local, peer, tag, owner, manual);
  }

  // ---- receive path --------------------------------------------------------

  /** mctp_pkttype_receive + mctp_route_input: validate, then deliver locally or forward. */
  #receive(iface: MctpInterface, pkt: Buffer, hwSrc?: Buffer): void {
    if (pkt.length < MCTP_HDR_LEN) return iface.countRxDrop('short');
    const ver = pkt[0]!;
    const dest = pkt[1]!;
    const src = pkt[2]!;
    if (ver !== MCTP_VER) return iface.countRxDrop('bad-version');
    if (!isUnicastEid(src) && src !== MCTP_ADDR_NULL) return iface.countRxDrop('bad-src');
    if (!isUnicastEid(dest) && dest !== MCTP_ADDR_NULL && dest !== MCTP_ADDR_ANY) return iface.countRxDrop('bad-dest');

    const meta: InputMeta = { net: iface.net, iface, hwSrc };
    const dst = this.routes.lookup(iface.net, dest);
    if (!dst) {
      // A not-yet-addressed endpoint still gets packets sent to it by physical address.
      if (dest === MCTP_ADDR_NULL) return this.#input(pkt, meta);
      return iface.countRxDrop('no-route');
    }
    if (dst.local) return this.#input(pkt, meta);
    this.#forward(iface, dst, pkt);
  }

  /** A packet for another EID that we have a route to: pass it on unchanged (MCTP bridging). */
  #forward(from: MctpInterface, dst: Dst, pkt: Buffer): void {
    if (pkt.length > dst.mtu) return from.countRxDrop('fwd-too-big');
    try {
      dst.dev.transmit([Buffer.from(pkt)], dst.hwDest);
      this.counters.forwarded++;
    } catch {
      from.countRxDrop('fwd-failed');
    }
  }

  /** mctp_dst_input: tag keys, bind lookup, reassembly, delivery to a socket. */
  #input(pkt: Buffer, meta: InputMeta): void {
    const drop = (reason: Parameters<MctpInterface['countRxDrop']>[0]): void => meta.iface?.countRxDrop(reason);
    if (pkt.length < MCTP_HDR_LEN + 1) return drop('short');
    const h = decodeHeader(pkt);
    if (h.ver !== MCTP_VER) return drop('bad-version');
    const tag = pkt[3]! & (MCTP_HDR_FLAG_TO | MCTP_HDR_TAG_MASK);
    const net = meta.net;
    const body = pkt.subarray(MCTP_HDR_LEN);

    let key = this.keys.lookup(net, h.dest, h.src, tag);

    if (h.som) {
      let owner: KeyOwner | undefined = key?.owner;
      if (!key) {
        // A response to a request sent to NULL/broadcast: any peer may answer.
        owner = this.keys.lookup(net, h.dest, MCTP_ADDR_ANY, tag)?.owner;
      }
      if (!key && !owner && h.to) {
        owner = this.binds.lookup(net, h.dest, h.src, body[0]!)?.owner;
        if (!owner) return drop('no-listener');
      }
      if (!owner) return drop('no-key');

      if (h.eom) {
        this.#deliver(owner, Buffer.from(body), h.src, h.dest, tag, meta);
        if (key) this.keys.done(key);
        return;
      }
      const reasm = { chunks: [Buffer.from(body)], len: body.length, lastSeq: h.seq, iface: meta.iface, hwSrc: meta.hwSrc };
      if (!key) {
        if (this.keys.reassemblies >= this.keys.maxReassemblies) return drop('reasm-limit');
        let created: TagKey;
        try {
          created = this.keys.add(net, h.dest, h.src, tag, owner, false);
        } catch {
          return drop('key-exists');
        }
        this.keys.beginReassembly(created, reasm);
        return;
      }
      if (key.reasm) {
        // Duplicate start: the message in progress and this packet are both lost.
        this.keys.remove(key);
        return drop('reasm-dup-start');
      }
      if (!this.keys.beginReassembly(key, reasm)) return drop('reasm-limit');
      return;
    }

    if (!key) return drop('no-key');
    const r = key.reasm;
    if (!r) return drop('reasm-not-started');
    if (h.seq !== ((r.lastSeq + 1) & 3)) return drop('reasm-seq');
    if (r.len + body.length > MCTP_MESSAGE_MAXLEN) return drop('reasm-too-long');
    r.chunks.push(Buffer.from(body));
    r.len += body.length;
    r.lastSeq = h.seq;
    if (!h.eom) return;
    const message = Buffer.concat(r.chunks, r.len);
    this.keys.done(key);
    this.#deliver(key.owner, message, h.src, h.dest, tag, { ...meta, iface: r.iface ?? meta.iface, hwSrc: r.hwSrc ?? meta.hwSrc });
  }

  #deliver(owner: KeyOwner, message: Buffer, src: number, dest: number, tag: number, meta: InputMeta): void {
    const port = this.#sockets.get(owner.id);
    if (!port) return meta.iface?.countRxDrop('no-listener');
    const d: Delivery = { message, net: meta.net, src, dest, tag, ifindex: meta.iface?.index ?? 0, hwSrc: meta.hwSrc };
    if (!port.receive(d)) meta.iface?.countRxDrop('rcvbuf-full');
  }

  /** Stop timers and close every interface's binding. */
  async close(): Promise<void> {
    for (const port of [...this.#sockets.values()]) port.close();
    this.keys.close();
    for (const i of [...this.#ifaces.values()]) await this.removeInterface(i.name);
  }
}

/** The route that makes an interface's own EID local input. */
function localRoute(dev: MctpInterface, eid: number): RouteEntry {
  return { min: eid, max: eid, type: 'local', mtu: 0, dev };
}

export type StackEvent =
  | { kind: 'interface-added' | 'interface-removed'; iface: string }
  | { kind: 'carrier'; iface: string; up: boolean }
  | { kind: 'address-added' | 'address-removed'; iface: string; eid: number };
