/**
 * The contract between an AF_MCTP socket and the network stack it lives in:
 * the seam Linux draws through include/net/mctp.h between net/mctp/af_mctp.c
 * (socket calls: address checks, tag ownership, the receive queue) and
 * net/mctp/route.c (routes, binds, tag keys, fragmentation, input).
 *
 * socket.ts depends only on this file, never on the stack, so the dependency
 * runs one way: the stack creates sockets and gives each a SocketHost; a
 * socket gives the stack a SocketPort to deliver received messages through.
 */
import type { BindEntry } from './binds.js';
import type { KeyOwner, TagKey } from './keys.js';
import type { Dst } from './routes.js';

/** A complete message handed to a socket by the input path. */
export interface Delivery {
  /** Type byte followed by the payload. */
  message: Buffer;
  net: number;
  src: number;
  /** Received tag value plus the TO bit. */
  tag: number;
  /** Destination EID of the packet (0 when sent by physical addressing). */
  dest: number;
  ifindex: number;
  hwSrc: Buffer | undefined;
}

/** Upcalls a socket gives its host when it opens: how the input path reaches it. */
export interface SocketPort {
  /**
   * sock_queue_rcv_skb: queue one complete received message. False when it
   * was dropped (the receive buffer is full, or the socket is closed); the
   * host counts the drop.
   */
  receive(d: Delivery): boolean;
  /** Close the socket because the host is shutting down (as close(2) would). */
  close(): void;
}

/** The services a socket needs from its network stack. */
export interface SocketHost {
  // ---- lifetime ------------------------------------------------------------

  /** Register a new socket; returns its id, unique within the host. Messages for it then arrive through `port`. */
  openSocket(port: SocketPort): number;

  /** The socket is closing: drop its binds and tag keys, and deliver nothing more to it. */
  releaseSocket(owner: KeyOwner): void;

  // ---- addressing ----------------------------------------------------------

  /** The network MCTP_NET_ANY stands for (mctp_default_net), as it is now. */
  defaultNet(): number;

  /** Add a bind for incoming requests; EADDRINUSE when an identical one (type, local, net, peer) exists. */
  addBind(b: BindEntry): void;

  // ---- transmit ------------------------------------------------------------

  /** mctp_route_lookup: where a message to (net, eid) leaves, or null when unreachable. */
  lookupRoute(net: number, eid: number): Dst | null;

  /**
   * mctp_dst_from_extaddr: direct addressing, bypassing the route table — out
   * of interface `ifindex` to link-layer address `haddr`, from the
   * interface's first EID. ENOENT when no interface has that index, EINVAL
   * when haddr's length is not the interface's link-layer address length.
   */
  extAddrDst(ifindex: number, eid: number, haddr: Uint8Array): Dst;

  /**
   * The rest of mctp_local_output once the socket has resolved destination
   * and tag: fragment `message` (type byte first) to the path MTU and queue
   * it on the egress interface, or feed it to local input when `dst` is one of
   * our own EIDs. Throws (ENETDOWN, ENOBUFS, ...) when it cannot be queued;
   * then no part of it was sent.
   */
  output(dst: Dst, dest: number, to: boolean, tag: number, message: Buffer): void;

  // ---- tags ----------------------------------------------------------------

  /**
   * mctp_alloc_local_tag / mctp_alloc_flow_tag: reserve the lowest tag free
   * for (net, local, peer) and return its key, owned by `owner`. A manual key
   * (SIOCMCTPALLOCTAG) never expires; others live 6 s or until a response
   * completes on them. EBUSY when all 8 tags are taken, counted in the
   * stack's tagExhausted counter.
   */
  allocTag(net: number, local: number, peer: number, owner: KeyOwner, manual: boolean): TagKey;

  /** Release a key early (a request that never left must not hold its tag for 6 s). */
  releaseTag(key: TagKey): void;

  /** mctp_lookup_prealloc_tag: a preallocated key for (net, tag) whose peer is `dest` or ANY. */
  findPreallocTag(net: number, dest: number, tag: number): TagKey | undefined;

  /** SIOCMCTPDROPTAG: release `owner`'s preallocated keys for (net, peer, tag); false when it held none. */
  dropPreallocTag(owner: KeyOwner, net: number, peer: number, tag: number): boolean;
}
