/**
 * The MCTP control responder: what mctpd's listener is to a Linux system.
 * One per stack (the BMC and the host agent each run one); it binds
 * (NET_ANY, ADDR_ANY, type 0) and answers control requests in one of two
 * roles:
 *
 *  - 'endpoint' (the host agent): accepts Set Endpoint ID from a bus owner,
 *    taking the new EID on the ingress interface and routing back to the
 *    bus owner;
 *  - 'bus-owner' (the BMC): refuses Set Endpoint ID, ignores discovery
 *    requests, takes Discovery Notify and reports itself as a bus owner.
 *
 * Completion codes follow DSP0236 and mctpd (docs/mctp-control.md has the
 * table): an unknown command is 0x05, a length that does not fit is 0x03, a
 * field value not allowed is 0x02; datagrams (D = 1) and responses (Rq = 0)
 * get no answer, and nothing a peer sends can make the responder throw.
 */
import { EventEmitter } from 'node:events';
import { MCTP_ADDR_ANY, MCTP_NET_ANY, MCTP_OPT_ADDR_EXT, MCTP_TAG_OWNER, MCTP_TYPE_VENDOR_IANA, MCTP_TYPE_VENDOR_PCI, SOL_MCTP, isByte, isUnicastEid } from '../constants.js';
import { MctpError, isMctpError } from '../errors.js';
import type { MctpInterface } from '../interface.js';
import type { SockaddrMctp, SockaddrMctpExt } from '../sockaddr.js';
import type { MctpSocket, RecvResult } from '../socket.js';
import type { MctpStack } from '../stack.js';
import { decodeRequest, encodeErrorResponse, encodeResponse, fromSocket, socketPayload } from './codec.js';
import {
  AllocateOp,
  AllocateStatus,
  CC,
  Cmd,
  CONTROL_VERSIONS,
  EidType,
  EndpointType,
  MCTP_CTRL_TYPE,
  SetEidAllocation,
  SetEidAssignment,
  SetEidOp,
  VDM_SELECTOR_LAST,
  VERSION_TYPE_BASE,
} from './constants.js';
import { decodeControlHeader } from './header.js';
import { routingEntries, routingPage } from './routing-entries.js';
import type { ControlRequest, ControlResponse, RequestFor, VdmType } from './types.js';
import { randomUuidBytes, toUuidBytes } from './uuid.js';

export type ControlRole = 'endpoint' | 'bus-owner';

/** A message type this stack handles, with the versions Get MCTP Version Support reports for it. */
export interface MessageTypeSupport {
  type: number;
  /** 32-bit version entries, e.g. 0xF1F3F100 for 1.3.1. */
  versions: readonly number[];
}

export interface ControlResponderOptions {
  role: ControlRole;
  /** Get Endpoint UUID answer; default: a random UUID, fixed for this responder's life. */
  uuid?: string | Uint8Array;
  /** Get Network ID answer; default: a random UUID, fixed for this responder's life. */
  networkId?: string | Uint8Array;
  /** Message types besides control (0x00, always supported), as RegisterTypeSupport would add them. */
  types?: readonly MessageTypeSupport[];
  /** Vendor-defined message sets; any PCI one adds type 0x7E, any IANA one 0x7F. */
  vdm?: readonly VdmType[];
  /**
   * Endpoint discovery (Prepare for Endpoint Discovery, Endpoint Discovery,
   * Set Endpoint ID "set discovered"). mctpd supports it only on PCIe VDM
   * links, so the default is off, as for every binding this project has.
   */
  discovery?: boolean;
  /**
   * MTU of the route added back to the bus owner after Set Endpoint ID:
   * 'link-min' (the link's minimum, as mctpd does) or 'none' (the device's).
   */
  routeMtu?: 'link-min' | 'none';
  /** Whether a route was assigned dynamically, for Get Routing Table Entries (default: only the routes this responder added). */
  isDynamic?: (net: number, eid: number) => boolean;
}

export interface ControlResponderStats {
  /** Requests that reached a command handler. */
  requests: number;
  /** Responses sent. */
  responses: number;
  /** Answered with 0x05 (a command unknown, or not supported in this role). */
  unsupported: number;
  /** Answered with 0x03. */
  badLength: number;
  /** Answered with 0x02 by the decoder (a field value the layout does not allow). */
  badData: number;
  /** Requests with D = 1: no response, no action. */
  datagrams: number;
  /** Messages with Rq = 0 arriving as requests: ignored. */
  responsesIgnored: number;
  /** Not a control message we can parse at all (type byte, IC bit, truncated header): dropped. */
  malformed: number;
  /** Requests deliberately left unanswered (discovery in the bus-owner role, already discovered). */
  ignored: number;
  /** Set Endpoint ID requests that changed our EID. */
  eidAssignments: number;
  sendErrors: number;
  /** Exceptions caught while handling a request (a bug, never a crash). */
  internalErrors: number;
}

export type DiscoveryState = 'unsupported' | 'undiscovered' | 'discovered';

/** Emitted as 'eid-assigned' after Set Endpoint ID took effect. */
export interface EidAssignedEvent {
  iface: string;
  eid: number;
  /** The addresses the interface had before. */
  previous: number[];
  /** The requester: its EID and link-layer address on the interface. */
  busOwner: { eid: number; hwAddr: Buffer };
}

/** Emitted as 'discovery-notify' (bus-owner role): an endpoint asks to be discovered. */
export interface DiscoveryNotifyEvent {
  iface: string;
  ifindex: number;
  eid: number;
  hwAddr: Buffer;
}

/** The vendor-defined set of CodeConstruct's mctp-echo (type 0x7E, header cc de f0): our convention for advertising echo. */
export const ECHO_VDM: VdmType = { format: 'pci', vendorId: 0xccde, commandSet: 0x00f0 };

const ENDPOINT_ONLY: ReadonlySet<number> = new Set([Cmd.SetEndpointId]);
const BUS_OWNER_ONLY: ReadonlySet<number> = new Set([Cmd.DiscoveryNotify, Cmd.AllocateEndpointIds]);
/** Neither role is a bridge, so neither keeps routing information a bus owner could update. */
const NEVER: ReadonlySet<number> = new Set([Cmd.RoutingInfoUpdate]);
/** mctpd answers these by physical addressing whatever the requester's EID. */
const ALWAYS_PHYSICAL: ReadonlySet<number> = new Set([Cmd.GetEndpointId, Cmd.PrepareEndpointDiscovery, Cmd.EndpointDiscovery]);

/** A message to send, how, and what to do once it is sent. */
interface Reply {
  reply: Buffer;
  physical?: boolean;
  after?: () => void;
}
/** What a handler decided: a reply, or nothing (with the reason, for whoever reads the code). */
type Outcome = Reply | { ignore: string };

/** Where the bus owner was recorded after Set Endpoint ID, so a later one can undo it. */
interface PeerEntry {
  net: number;
  eid: number;
  routeAdded: boolean;
  neighbourAdded: boolean;
}

export class ControlResponder extends EventEmitter {
  readonly role: ControlRole;
  readonly uuid: Buffer;
  readonly networkId: Buffer;
  readonly stats: ControlResponderStats = {
    requests: 0,
    responses: 0,
    unsupported: 0,
    badLength: 0,
    badData: 0,
    datagrams: 0,
    responsesIgnored: 0,
    malformed: 0,
    ignored: 0,
    eidAssignments: 0,
    sendErrors: 0,
    internalErrors: 0,
  };

  readonly #stack: MctpStack;
  readonly #sock: MctpSocket;
  readonly #types = new Map<number, readonly number[]>();
  readonly #vdm: VdmType[] = [];
  readonly #discovery: boolean;
  readonly #discovered = new Map<number, boolean>();
  readonly #peers = new Map<number, PeerEntry>();
  readonly #routeMtu: 'link-min' | 'none';
  readonly #isDynamic: ((net: number, eid: number) => boolean) | undefined;
  #closed = false;

  constructor(stack: MctpStack, opts: ControlResponderOptions) {
    super();
    this.#stack = stack;
    this.role = opts.role;
    this.uuid = opts.uuid === undefined ? randomUuidBytes() : toUuidBytes(opts.uuid);
    this.networkId = opts.networkId === undefined ? randomUuidBytes() : toUuidBytes(opts.networkId);
    this.#discovery = opts.discovery ?? false;
    this.#routeMtu = opts.routeMtu ?? 'link-min';
    this.#isDynamic = opts.isDynamic;
    this.#types.set(MCTP_CTRL_TYPE, CONTROL_VERSIONS);
    for (const t of opts.types ?? []) this.registerType(t.type, t.versions);
    for (const v of opts.vdm ?? []) this.registerVdm(v);

    this.#sock = stack.socket();
    try {
      // Extended addressing: every request reports its ingress interface and
      // link-layer source, so an answer can go back by physical address.
      this.#sock.setsockopt(SOL_MCTP, MCTP_OPT_ADDR_EXT, 1);
      this.#sock.bind({ net: MCTP_NET_ANY, eid: MCTP_ADDR_ANY, type: MCTP_CTRL_TYPE, tag: MCTP_TAG_OWNER });
    } catch (e) {
      // Another responder holds the control bind (EADDRINUSE): one per stack.
      this.#sock.close();
      throw e;
    }
    this.#serve().catch(() => {
      this.stats.internalErrors++;
    });
  }

  /** RegisterTypeSupport: 0x00 is built in, 0x7E/0x7F follow from registerVdm, duplicates are EEXIST. */
  registerType(type: number, versions: readonly number[]): void {
    if (!isByte(type) || type & 0x80) throw new MctpError('EINVAL', `message type ${type} must be 0..0x7f`);
    if (type === MCTP_TYPE_VENDOR_PCI || type === MCTP_TYPE_VENDOR_IANA) {
      throw new MctpError('EINVAL', 'vendor-defined types 0x7e/0x7f are advertised through registerVdm');
    }
    if (this.#types.has(type)) throw new MctpError('EEXIST', `message type 0x${type.toString(16)} is already registered`);
    if (!versions.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
      throw new MctpError('EINVAL', 'version entries are 32-bit values such as 0xF1F3F100');
    }
    this.#types.set(type, [...versions]);
  }

  unregisterType(type: number): void {
    if (type === MCTP_CTRL_TYPE || !this.#types.delete(type)) throw new MctpError('ENOENT', `message type 0x${type.toString(16)} is not registered`);
  }

  /** RegisterVDMTypeSupport: duplicates (same format, vendor and command set) are EEXIST. */
  registerVdm(vdm: VdmType): void {
    const max = vdm.format === 'pci' ? 0xffff : 0xffffffff;
    if (!(vdm.format === 'pci' || vdm.format === 'iana') || !Number.isInteger(vdm.vendorId) || vdm.vendorId < 0 || vdm.vendorId > max) {
      throw new MctpError('EINVAL', `vendor ID ${vdm.vendorId} does not fit the ${vdm.format} format`);
    }
    if (!Number.isInteger(vdm.commandSet) || vdm.commandSet < 0 || vdm.commandSet > 0xffff) {
      throw new MctpError('EINVAL', 'command set type is 16 bits');
    }
    if (this.#vdm.some((v) => v.format === vdm.format && v.vendorId === vdm.vendorId && v.commandSet === vdm.commandSet)) {
      throw new MctpError('EEXIST', 'that vendor-defined message set is already registered');
    }
    this.#vdm.push({ ...vdm });
  }

  /** What Get Message Type Support reports: control first, registered types, then 0x7E/0x7F. */
  messageTypes(): number[] {
    const types = [...this.#types.keys()];
    if (this.#vdm.some((v) => v.format === 'pci')) types.push(MCTP_TYPE_VENDOR_PCI);
    if (this.#vdm.some((v) => v.format === 'iana')) types.push(MCTP_TYPE_VENDOR_IANA);
    return types;
  }

  discoveryState(ifname: string): DiscoveryState {
    if (!this.#discovery) return 'unsupported';
    const iface = this.#stack.findInterface(ifname);
    return iface && this.#discovered.get(iface.index) ? 'discovered' : 'undiscovered';
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
  }

  // ---- receive loop --------------------------------------------------------

  async #serve(): Promise<void> {
    for await (const r of this.#sock) {
      try {
        this.#handle(r);
      } catch {
        // A bug in a handler must not stop the responder for everyone else.
        this.stats.internalErrors++;
      }
    }
  }

  #handle(r: RecvResult): void {
    const addr = r.addr as SockaddrMctpExt;
    const msg = fromSocket(addr.type, r.data);
    const h = decodeControlHeader(msg);
    if (!h.ok) {
      this.stats.malformed++;
      return;
    }
    const header = h.value;
    if (!header.rq) {
      this.stats.responsesIgnored++;
      return;
    }
    if (header.datagram) {
      this.stats.datagrams++;
      return;
    }
    const iface = this.#stack.findInterface(addr.ifindex);
    if (!this.#supports(header.command)) {
      this.stats.unsupported++;
      this.#send(addr, encodeErrorResponse(header.iid, header.command, CC.UnsupportedCmd), ALWAYS_PHYSICAL.has(header.command));
      return;
    }
    const d = decodeRequest(msg, { physAddrLen: iface?.binding.hwAddrLen ?? 0 });
    if (!d.ok) {
      const e = d.error;
      if (e.kind === 'unsupported') this.stats.unsupported++;
      else if (e.kind === 'length') this.stats.badLength++;
      else this.stats.badData++;
      this.#send(addr, encodeErrorResponse(header.iid, header.command, e.cc), ALWAYS_PHYSICAL.has(header.command));
      return;
    }
    this.stats.requests++;
    const out = this.#dispatch(d.value.request, header.iid, addr, iface);
    if ('ignore' in out) {
      this.stats.ignored++;
      return;
    }
    this.#send(addr, out.reply, out.physical ?? false);
    out.after?.();
  }

  #supports(command: number): boolean {
    if (NEVER.has(command)) return false;
    if (this.role === 'bus-owner') return !ENDPOINT_ONLY.has(command);
    return !BUS_OWNER_ONLY.has(command);
  }

  /**
   * Answer by EID when we can route to the requester; by physical address
   * (ingress interface and link-layer source, as mctpd's reply_message_phys)
   * when asked to, when the requester has no EID, or when no route leads back.
   */
  #send(to: SockaddrMctpExt, msg: Buffer, physical: boolean): void {
    const tag = to.tag & ~MCTP_TAG_OWNER;
    const routable = to.eid !== 0 && this.#stack.lookupRoute(to.net, to.eid) !== null;
    const dest: SockaddrMctp | SockaddrMctpExt =
      physical || !routable
        ? { net: to.net, eid: to.eid, type: MCTP_CTRL_TYPE, tag, ifindex: to.ifindex, haddr: to.haddr }
        : { net: to.net, eid: to.eid, type: MCTP_CTRL_TYPE, tag };
    try {
      this.#sock.sendto(socketPayload(msg), dest);
      this.stats.responses++;
    } catch {
      this.stats.sendErrors++;
    }
  }

  // ---- commands ------------------------------------------------------------

  #dispatch(req: ControlRequest, iid: number, from: SockaddrMctpExt, iface: MctpInterface | undefined): Outcome {
    const ok = (resp: ControlResponse, physical = false): Reply => ({ reply: encodeResponse(iid, resp), physical });
    const fail = (cc: number, physical = false, extra?: Buffer): Reply => ({
      reply: encodeErrorResponse(iid, req.command, cc, extra),
      physical,
    });
    switch (req.command) {
      case Cmd.SetEndpointId:
        return this.#setEndpointId(req, iid, from, iface);
      case Cmd.GetEndpointId:
        return ok(
          {
            command: Cmd.GetEndpointId,
            eid: iface?.addrs[0] ?? 0,
            // As mctpd: "static EID, matching the current one", plus the bus-owner type in that role.
            endpointType: this.role === 'bus-owner' ? EndpointType.BusOwnerBridge : EndpointType.Simple,
            eidType: EidType.StaticMatching,
            medium: 0,
          },
          true,
        );
      case Cmd.GetEndpointUuid:
        return ok({ command: Cmd.GetEndpointUuid, uuid: this.uuid });
      case Cmd.GetVersionSupport: {
        const type = req.messageType === VERSION_TYPE_BASE ? MCTP_CTRL_TYPE : req.messageType;
        const versions = this.#types.get(type);
        if (!versions) return fail(CC.VersionTypeUnsupported);
        return ok({ command: Cmd.GetVersionSupport, versions: [...versions] });
      }
      case Cmd.GetMessageTypeSupport:
        return ok({ command: Cmd.GetMessageTypeSupport, types: this.messageTypes() });
      case Cmd.GetVdmSupport: {
        const vdm = this.#vdm[req.selector];
        if (!vdm) return fail(CC.InvalidData);
        const last = req.selector === this.#vdm.length - 1;
        return ok({ command: Cmd.GetVdmSupport, nextSelector: last ? VDM_SELECTOR_LAST : req.selector + 1, vdm: { ...vdm } });
      }
      case Cmd.ResolveEndpointId:
        return this.#resolve(req, from, fail, ok);
      case Cmd.AllocateEndpointIds:
        // Bus-owner role only: we are the top-most bus owner, so no one else hands us a pool.
        return ok({
          command: Cmd.AllocateEndpointIds,
          status: req.operation === AllocateOp.GetInfo ? AllocateStatus.Accepted : AllocateStatus.Rejected,
          poolSize: 0,
          firstEid: 0,
        });
      case Cmd.GetRoutingTableEntries: {
        const net = iface?.net ?? from.net;
        const isDynamic = this.#isDynamic ?? ((n: number, eid: number) => [...this.#peers.values()].some((p) => p.net === n && p.eid === eid));
        const page = routingPage(routingEntries(this.#stack, net, isDynamic), req.handle);
        if (!page) return fail(CC.InvalidData);
        return ok({ command: Cmd.GetRoutingTableEntries, nextHandle: page.nextHandle, entries: page.entries });
      }
      case Cmd.PrepareEndpointDiscovery:
        if (this.role === 'bus-owner') return { ignore: 'Prepare for Endpoint Discovery in the bus-owner role' };
        if (!this.#discovery) return fail(CC.UnsupportedCmd, true);
        if (iface) this.#discovered.set(iface.index, false);
        return ok({ command: Cmd.PrepareEndpointDiscovery }, true);
      case Cmd.EndpointDiscovery:
        if (this.role === 'bus-owner') return { ignore: 'Endpoint Discovery in the bus-owner role' };
        if (!this.#discovery) return fail(CC.InvalidData);
        if (iface && this.#discovered.get(iface.index)) return { ignore: 'already discovered' };
        return ok({ command: Cmd.EndpointDiscovery }, true);
      case Cmd.DiscoveryNotify: {
        const ev: DiscoveryNotifyEvent = {
          iface: iface?.name ?? '',
          ifindex: from.ifindex,
          eid: from.eid,
          hwAddr: Buffer.from(from.haddr),
        };
        return { ...ok({ command: Cmd.DiscoveryNotify }), after: () => this.emit('discovery-notify', ev) };
      }
      case Cmd.GetNetworkId:
        return ok({ command: Cmd.GetNetworkId, networkId: this.networkId });
      case Cmd.RoutingInfoUpdate:
        // Refused before dispatch (#supports); kept so every command has its answer here.
        return fail(CC.UnsupportedCmd);
    }
  }

  /**
   * Resolve Endpoint ID from the route table: the EID to send through (the
   * target itself when it is directly reachable, else its gateway) and that
   * hop's link-layer address. Unknown targets get CC ERROR with a zero bridge
   * EID, the 4-byte answer mctpd gives.
   */
  #resolve(
    req: RequestFor<typeof Cmd.ResolveEndpointId>,
    from: SockaddrMctpExt,
    fail: (cc: number, physical?: boolean, extra?: Buffer) => Outcome,
    ok: (resp: ControlResponse) => Outcome,
  ): Outcome {
    const dst = isUnicastEid(req.eid) ? this.#stack.lookupRoute(from.net, req.eid) : null;
    if (!dst) return fail(CC.Error, false, Buffer.from([0]));
    if (dst.local) return ok({ command: Cmd.ResolveEndpointId, bridgeEid: req.eid, physAddr: Buffer.alloc(0) });
    return ok({ command: Cmd.ResolveEndpointId, bridgeEid: dst.nexthop, physAddr: dst.hwDest ? Buffer.from(dst.hwDest) : Buffer.alloc(0) });
  }

  /**
   * Set Endpoint ID in the endpoint role, as mctpd: a bad EID is 0x02; Set
   * and Force forget what this interface knew (its addresses and the bus
   * owner recorded last time), take the new EID, route back to the requester
   * and accept; Set Discovered rejects (keeping the EID); Reset is 0x02.
   */
  #setEndpointId(req: RequestFor<typeof Cmd.SetEndpointId>, iid: number, from: SockaddrMctpExt, iface: MctpInterface | undefined): Outcome {
    const fail = (cc: number): Outcome => ({ reply: encodeErrorResponse(iid, req.command, cc) });
    if (req.eid < 8 || req.eid === 0xff) return fail(CC.InvalidData);
    if (!iface) return fail(CC.NotReady);
    switch (req.operation) {
      case SetEidOp.Set:
      case SetEidOp.Force:
        break;
      case SetEidOp.SetDiscovered:
        if (!this.#discovery) return fail(CC.InvalidData);
        this.#discovered.set(iface.index, true);
        return {
          reply: encodeResponse(iid, {
            command: Cmd.SetEndpointId,
            assignment: SetEidAssignment.Rejected,
            allocation: SetEidAllocation.NoPool,
            eid: req.eid,
            poolSize: 0,
          }),
        };
      default:
        return fail(CC.InvalidData);
    }
    // Our own EID cannot be the one the requester already uses.
    if (req.eid === from.eid) return fail(CC.InvalidData);

    const previous = [...iface.addrs];
    // A route we added to a previous bus owner at the very EID we are now
    // given is stale (that EID is about to be ours), and would block the address.
    if (this.#peers.get(iface.index)?.eid === req.eid) this.#forgetPeer(iface);
    try {
      // Address and local route change together or not at all: on failure
      // (another route covers that EID) we keep the EID we had and answer from it.
      this.#stack.replaceAddresses(iface.name, req.eid);
    } catch {
      return fail(CC.NotReady);
    }
    this.#forgetPeer(iface);
    this.#recordPeer(iface, from);
    if (this.#discovery) this.#discovered.set(iface.index, true);
    this.stats.eidAssignments++;
    const ev: EidAssignedEvent = {
      iface: iface.name,
      eid: req.eid,
      previous,
      busOwner: { eid: from.eid, hwAddr: Buffer.from(from.haddr) },
    };
    return {
      reply: encodeResponse(iid, {
        command: Cmd.SetEndpointId,
        assignment: SetEidAssignment.Accepted,
        allocation: SetEidAllocation.NoPool,
        eid: req.eid,
        poolSize: 0,
      }),
      after: () => this.emit('eid-assigned', ev),
    };
  }

  /** Route (and neighbour, on links with addresses) back to the bus owner; existing entries are kept, as mctpd ignores EEXIST. */
  #recordPeer(iface: MctpInterface, from: SockaddrMctpExt): void {
    if (!isUnicastEid(from.eid)) return;
    const entry: PeerEntry = { net: iface.net, eid: from.eid, routeAdded: false, neighbourAdded: false };
    const mtu = this.#routeMtu === 'link-min' ? iface.binding.mtu.min : 0;
    try {
      this.#stack.addRoute({ min: from.eid, dev: iface.name, mtu });
      entry.routeAdded = true;
    } catch (e) {
      if (!isMctpError(e, 'EEXIST')) throw e;
    }
    if (from.haddr.length > 0 && from.haddr.length === iface.binding.hwAddrLen) {
      const known = iface.neighbours.get(from.eid);
      if (known && !known.equals(from.haddr)) this.#stack.removeNeighbour(iface.name, from.eid);
      if (!known || !known.equals(from.haddr)) {
        this.#stack.addNeighbour(iface.name, from.eid, from.haddr);
        entry.neighbourAdded = true;
      }
    }
    this.#peers.set(iface.index, entry);
  }

  #forgetPeer(iface: MctpInterface): void {
    const p = this.#peers.get(iface.index);
    if (!p) return;
    this.#peers.delete(iface.index);
    if (p.routeAdded) {
      try {
        this.#stack.removeRoute({ min: p.eid, dev: iface.name });
      } catch {
        // Removed by someone else meanwhile: nothing to undo.
      }
    }
    if (p.neighbourAdded && iface.neighbours.has(p.eid)) this.#stack.removeNeighbour(iface.name, p.eid);
  }
}
