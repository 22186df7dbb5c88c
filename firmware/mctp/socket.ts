/**
 * An AF_MCTP datagram socket with the Linux kernel's semantics
 * (net/mctp/af_mctp.c): bind/connect rules and errnos, the message type taken
 * from the address on send and stripped on receive (as the kernel code does,
 * not as its documentation says), tag ownership and allocation, preallocated
 * tags (SIOCMCTPALLOCTAG/DROPTAG), and extended addressing. Everything
 * beyond the socket itself (routes, binds, tag keys, transmit) it asks of its
 * SocketHost, never of the stack directly.
 */
import {
  MCTP_ADDR_ANY,
  MCTP_ADDR_NULL,
  MCTP_INITIAL_DEFAULT_NET,
  MCTP_MESSAGE_MAXLEN,
  MCTP_NET_ANY,
  MCTP_OPT_ADDR_EXT,
  MCTP_TAG_MASK,
  MCTP_TAG_OWNER,
  MCTP_TAG_PREALLOC,
  MAX_ADDR_LEN,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_TRUNC,
  SOL_MCTP,
  AF_MCTP,
  isByte,
  isU32,
} from './constants.js';
import { MctpError } from './errors.js';
import { peerForKey, type KeyOwner, type TagKey } from './keys.js';
import type { Dst } from './routes.js';
import type { Delivery, SocketHost } from './socket-host.js';
import {
  SOCKADDR_MCTP_EXT_LEN,
  SOCKADDR_MCTP_LEN,
  checkFamilyAndPads,
  isExtAddr,
  parseSockaddr,
  type SockaddrInput,
  type SockaddrMctp,
  type SockaddrMctpExt,
} from './sockaddr.js';

export interface RecvOptions {
  /** MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC; anything else is EOPNOTSUPP. */
  flags?: number;
  /** Receive buffer size; longer messages are truncated (MSG_TRUNC reported). Default: unlimited. */
  maxLength?: number;
}

export interface RecvResult {
  /** The payload after the type byte (up to maxLength bytes). */
  data: Buffer;
  /** The return value of recvmsg: bytes copied, or the full length when MSG_TRUNC was passed. */
  length: number;
  /** msg_flags & MSG_TRUNC: the buffer was shorter than the message. */
  truncated: boolean;
  /** The source address; an extended one (ifindex, haddr) when MCTP_OPT_ADDR_EXT is on. */
  addr: SockaddrMctp | SockaddrMctpExt;
  /**
   * The destination EID the message was addressed to (0 for physical
   * addressing, or one of our EIDs). Not in the AF_MCTP API (it is what
   * IP_PKTINFO gives IP); responders use it to answer the way they were asked.
   */
  dest: number;
}

/** Argument of SIOCMCTPALLOCTAG / SIOCMCTPDROPTAG (v1) and their *2 forms (v2: net and local). */
export interface TagCtl {
  peerAddr: number;
  tag: number;
  flags: number;
  /** v2 only. */
  net?: number;
  /** v2 only; must be ANY or NULL. */
  localAddr?: number;
}

/** Linux's default socket receive buffer (net.core.rmem_default). */
export const DEFAULT_RCVBUF = 212992;

interface Waiter {
  opts: RecvOptions;
  resolve(r: RecvResult): void;
  reject(e: unknown): void;
}

export class MctpSocket implements KeyOwner {
  readonly id: number;
  /** Bytes of queued messages beyond which new ones are dropped (SO_RCVBUF). */
  rcvbuf = DEFAULT_RCVBUF;

  #host: SocketHost;
  #closed = false;
  #bound = false;
  #addrExt = false;
  #connected: { net: number; eid: number; type: number } | null = null;
  #queue: Delivery[] = [];
  #queuedBytes = 0;
  #waiters: Waiter[] = [];

  /** MctpStack.socket() makes sockets, handing each the stack's socket-facing services. */
  constructor(host: SocketHost) {
    this.#host = host;
    this.id = host.openSocket({ receive: (d) => this.#enqueue(d), close: () => this.close() });
  }

  get closed(): boolean {
    return this.#closed;
  }

  #checkOpen(): void {
    if (this.#closed) throw new MctpError('EBADF', 'socket is closed');
  }

  /** bind(2). */
  bind(input: SockaddrInput): void {
    this.#checkOpen();
    const { addr } = parseSockaddr(input);
    checkFamilyAndPads(addr, 'EAFNOSUPPORT');
    if (this.#bound) throw new MctpError('EADDRINUSE', 'socket is already bound');
    const type = addr.type & 0x7f;
    let net = addr.net;
    const local = addr.eid;
    let peer: number | undefined;
    if (this.#connected) {
      const c = this.#connected;
      if (type !== c.type) throw new MctpError('EINVAL', `bind type 0x${type.toString(16)} differs from the connect() type 0x${c.type.toString(16)}`);
      if (net === MCTP_NET_ANY) net = c.net;
      else if (net !== c.net) throw new MctpError('EINVAL', `bind net ${net} differs from the connect() net ${c.net}`);
      peer = c.eid;
    } else if (net === MCTP_NET_ANY && local !== MCTP_ADDR_ANY) {
      // A specific local EID only exists on one network: the default one, resolved now.
      net = this.#host.defaultNet();
    }
    this.#host.addBind(peer === undefined ? { owner: this, net, local, type } : { owner: this, net, local, type, peer });
    this.#bound = true;
  }

  /** connect(2): only a remote-peer filter for a later bind(); sends still need an address. */
  connect(input: SockaddrInput): void {
    this.#checkOpen();
    const { addr, len } = parseSockaddr(input);
    if (len !== SOCKADDR_MCTP_LEN) throw new MctpError('EINVAL', `connect() needs exactly a ${SOCKADDR_MCTP_LEN}-byte sockaddr_mctp (got ${len})`);
    checkFamilyAndPads(addr, 'EAFNOSUPPORT');
    if (addr.tag !== 0) throw new MctpError('EINVAL', 'connect() address must have smctp_tag 0');
    if (addr.type & 0x80) throw new MctpError('EINVAL', 'connect() type must not have the IC bit set');
    if (this.#bound) throw new MctpError('EADDRINUSE', 'socket is already bound; connect() must come first');
    if (this.#connected) throw new MctpError('EADDRINUSE', 'socket is already connected');
    this.#connected = { net: addr.net === MCTP_NET_ANY ? this.#host.defaultNet() : addr.net, eid: addr.eid, type: addr.type };
  }

  /**
   * sendto(2): `payload` is the message after the type byte; the type comes
   * from addr.type. Returns the payload length.
   */
  sendto(payload: Uint8Array, input?: SockaddrInput | null): number {
    this.#checkOpen();
    if (input === undefined || input === null) {
      throw new MctpError('EDESTADDRREQ', 'sendto() needs a destination address (connect() does not set one on AF_MCTP)');
    }
    const { addr, len } = parseSockaddr(input);
    checkFamilyAndPads(addr, 'EINVAL');
    if (addr.tag & ~(MCTP_TAG_MASK | MCTP_TAG_OWNER | MCTP_TAG_PREALLOC)) {
      throw new MctpError('EINVAL', `smctp_tag 0x${addr.tag.toString(16)} has bits other than the tag, TO and PREALLOC`);
    }
    if (addr.tag & MCTP_TAG_PREALLOC && !(addr.tag & MCTP_TAG_OWNER)) {
      throw new MctpError('EINVAL', 'MCTP_TAG_PREALLOC needs MCTP_TAG_OWNER');
    }
    if (payload.length + 1 > MCTP_MESSAGE_MAXLEN) {
      throw new MctpError('EMSGSIZE', `message of ${payload.length + 1} bytes exceeds the ${MCTP_MESSAGE_MAXLEN}-byte MCTP message limit`);
    }
    const routeNet = addr.net === MCTP_NET_ANY ? this.#host.defaultNet() : addr.net;
    const dst = this.#addrExt && len >= SOCKADDR_MCTP_EXT_LEN && isExtAddr(addr) ? this.#extDst(addr) : this.#routeDst(routeNet, addr.eid);
    // As mctp_local_output: tags belong to the egress interface's network,
    // which for extended addressing or a cross-network gateway is not the
    // address's.
    const net = dst.dev.net;

    let key: TagKey | undefined;
    let to = false;
    let tag = addr.tag & MCTP_TAG_MASK;
    if (addr.tag & MCTP_TAG_OWNER) {
      to = true;
      if (addr.tag & MCTP_TAG_PREALLOC) {
        tag = this.#preallocTag(net, addr.eid, tag);
      } else {
        key = this.#host.allocTag(net, dst.saddr, peerForKey(addr.eid), this, false);
        tag = key.tag;
      }
    }
    const message = Buffer.allocUnsafe(payload.length + 1);
    message[0] = addr.type;
    message.set(payload, 1);
    try {
      this.#host.output(dst, addr.eid, to, tag, message);
    } catch (e) {
      // The request never left: its tag must not stay reserved for 6 s.
      if (key) this.#host.releaseTag(key);
      throw e;
    }
    return payload.length;
  }

  #routeDst(net: number, eid: number): Dst {
    const dst = this.#host.lookupRoute(net, eid);
    if (!dst) throw new MctpError('EHOSTUNREACH', `no route to EID ${eid} on net ${net}`);
    return dst;
  }

  /** Direct addressing: the route table is bypassed (the host resolves the interface). */
  #extDst(addr: SockaddrMctpExt): Dst {
    if ((addr.extPad ?? 0) !== 0) throw new MctpError('EINVAL', 'reserved fields of sockaddr_mctp_ext must be zero');
    if (addr.haddr.length > MAX_ADDR_LEN) throw new MctpError('EINVAL', `smctp_halen ${addr.haddr.length} exceeds ${MAX_ADDR_LEN}`);
    return this.#host.extAddrDst(addr.ifindex, addr.eid, addr.haddr);
  }

  /** A preallocated tag (MCTP_TAG_PREALLOC) must have been reserved by SIOCMCTPALLOCTAG. */
  #preallocTag(net: number, dest: number, tag: number): number {
    if (this.#host.findPreallocTag(net, dest, tag)) return tag;
    throw new MctpError('ENOENT', `no preallocated tag ${tag} for EID ${dest} on net ${net} (use SIOCMCTPALLOCTAG first)`);
  }

  /** recvmsg(2), waiting for a message unless MSG_DONTWAIT. */
  recvfrom(opts: RecvOptions = {}): Promise<RecvResult> {
    try {
      this.#checkOpen();
      this.#checkRecvFlags(opts);
      if (this.#queue.length) return Promise.resolve(this.#take(opts));
      if ((opts.flags ?? 0) & MSG_DONTWAIT) throw new MctpError('EAGAIN', 'no message queued (MSG_DONTWAIT)');
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => this.#waiters.push({ opts, resolve, reject }));
  }

  /** Async iteration over incoming messages until the socket closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<RecvResult> {
    for (;;) {
      try {
        yield await this.recvfrom();
      } catch (e) {
        if (this.#closed) return;
        throw e;
      }
    }
  }

  #checkRecvFlags(opts: RecvOptions): void {
    const flags = opts.flags ?? 0;
    if (flags & ~(MSG_DONTWAIT | MSG_TRUNC | MSG_PEEK)) {
      throw new MctpError('EOPNOTSUPP', `recvmsg flags 0x${flags.toString(16)}: only MSG_DONTWAIT, MSG_PEEK and MSG_TRUNC are supported`);
    }
    if (opts.maxLength !== undefined && !(Number.isInteger(opts.maxLength) && opts.maxLength >= 0)) {
      throw new MctpError('EINVAL', 'maxLength must be a non-negative integer');
    }
  }

  #take(opts: RecvOptions): RecvResult {
    const flags = opts.flags ?? 0;
    const d = this.#queue[0]!;
    if (!(flags & MSG_PEEK)) {
      this.#queue.shift();
      this.#queuedBytes -= d.message.length;
    }
    const full = d.message.length - 1;
    const copy = Math.min(full, opts.maxLength ?? full);
    const base: SockaddrMctp = { family: AF_MCTP, net: d.net, eid: d.src, type: d.message[0]!, tag: d.tag & 0x0f };
    const addr: SockaddrMctp | SockaddrMctpExt = this.#addrExt
      ? { ...base, ifindex: d.ifindex, haddr: d.hwSrc ? Buffer.from(d.hwSrc) : Buffer.alloc(0) }
      : base;
    return {
      data: d.message.subarray(1, 1 + copy),
      length: flags & MSG_TRUNC ? full : copy,
      truncated: copy < full,
      addr,
      dest: d.dest,
    };
  }

  /** The host's input path delivering a message (SocketPort.receive); false when it is dropped. */
  #enqueue(d: Delivery): boolean {
    if (this.#closed || this.#queuedBytes >= this.rcvbuf) return false;
    this.#queue.push(d);
    this.#queuedBytes += d.message.length;
    while (this.#waiters.length && this.#queue.length) {
      const w = this.#waiters.shift()!;
      w.resolve(this.#take(w.opts));
    }
    return true;
  }

  setsockopt(level: number, optname: number, value: Uint8Array | number): void {
    this.#checkOpen();
    if (level !== SOL_MCTP) throw new MctpError('EINVAL', `level ${level} is not SOL_MCTP (${SOL_MCTP})`);
    if (optname !== MCTP_OPT_ADDR_EXT) throw new MctpError('ENOPROTOOPT', `unknown SOL_MCTP option ${optname}`);
    let v: number;
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) throw new MctpError('EINVAL', 'option value must be an integer');
      v = value;
    } else {
      if (value.length !== 4) throw new MctpError('EINVAL', `MCTP_OPT_ADDR_EXT takes an int (4 bytes), got ${value.length}`);
      v = Buffer.from(value.buffer, value.byteOffset, 4).readInt32LE(0);
    }
    this.#addrExt = v !== 0;
  }

  getsockopt(level: number, optname: number): number {
    this.#checkOpen();
    if (level !== SOL_MCTP) throw new MctpError('EINVAL', `level ${level} is not SOL_MCTP (${SOL_MCTP})`);
    if (optname !== MCTP_OPT_ADDR_EXT) throw new MctpError('ENOPROTOOPT', `unknown SOL_MCTP option ${optname}`);
    return this.#addrExt ? 1 : 0;
  }

  #checkTagCtl(ctl: TagCtl, v2: boolean): { net: number; peer: number } {
    if (!ctl || !isByte(ctl.peerAddr) || !isByte(ctl.tag) || !Number.isInteger(ctl.flags)) {
      throw new MctpError('EINVAL', 'tag control needs byte peerAddr and tag, integer flags');
    }
    if (ctl.flags !== 0) throw new MctpError('EINVAL', 'tag control flags must be 0');
    let net = MCTP_INITIAL_DEFAULT_NET;
    if (v2) {
      if (!isU32(ctl.net)) throw new MctpError('EINVAL', 'tag control net must be a 32-bit value');
      const local = ctl.localAddr ?? MCTP_ADDR_ANY;
      if (local !== MCTP_ADDR_ANY && local !== MCTP_ADDR_NULL) {
        throw new MctpError('EINVAL', 'tag control local address must be ANY or NULL');
      }
      // As in the kernel, the v2 net is used verbatim (0 makes a key no traffic matches).
      net = ctl.net;
    }
    return { net, peer: peerForKey(ctl.peerAddr) };
  }

  /**
   * SIOCMCTPALLOCTAG(2): reserve a tag to a peer until dropTag() or close.
   * Returns the smctp_tag to send with: tag | MCTP_TAG_OWNER | MCTP_TAG_PREALLOC.
   */
  allocTag(ctl: TagCtl, v2 = false): number {
    this.#checkOpen();
    const { net, peer } = this.#checkTagCtl(ctl, v2);
    if (ctl.tag !== 0) throw new MctpError('EINVAL', 'tag must be 0 on SIOCMCTPALLOCTAG');
    const { tag } = this.#host.allocTag(net, MCTP_ADDR_ANY, peer, this, true);
    return tag | MCTP_TAG_OWNER | MCTP_TAG_PREALLOC;
  }

  /** SIOCMCTPDROPTAG(2): release a tag this socket preallocated. */
  dropTag(ctl: TagCtl, v2 = false): void {
    this.#checkOpen();
    const { net, peer } = this.#checkTagCtl(ctl, v2);
    if ((ctl.tag & ~MCTP_TAG_MASK) !== (MCTP_TAG_OWNER | MCTP_TAG_PREALLOC)) {
      throw new MctpError('EINVAL', 'tag must carry MCTP_TAG_OWNER | MCTP_TAG_PREALLOC, as returned by allocTag');
    }
    const value = ctl.tag & MCTP_TAG_MASK;
    if (!this.#host.dropPreallocTag(this, net, peer, value)) {
      throw new MctpError('EINVAL', `this socket holds no preallocated tag ${value} for that peer on net ${net}`);
    }
  }

  /** close(2): releases binds and keys; pending receives fail with EBADF. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.releaseSocket(this);
    const err = new MctpError('EBADF', 'socket closed');
    for (const w of this.#waiters.splice(0)) w.reject(err);
    this.#queue = [];
    this.#queuedBytes = 0;
  }
}
