/**
 * struct sockaddr_mctp (12 bytes) and struct sockaddr_mctp_ext (52 bytes), in
 * object form for TypeScript callers and in their exact binary layout for
 * callers that hold raw structs (the CLI, tests of the kernel's length rules).
 *
 *   sockaddr_mctp:     family u16 @0, pad0 u16 @2, network u32 @4, addr u8 @8,
 *                      type u8 @9, tag u8 @10, pad1 u8 @11        (host order)
 *   sockaddr_mctp_ext: base @0, ifindex i32 @12, halen u8 @16, pad[3] @17,
 *                      haddr[32] @20
 */
import { AF_MCTP, MAX_ADDR_LEN, isByte, isU32 } from './constants.js';
import { MctpError } from './errors.js';

export const SOCKADDR_MCTP_LEN = 12;
export const SOCKADDR_MCTP_EXT_LEN = 52;

export interface SockaddrMctp {
  /** Defaults to AF_MCTP. */
  family?: number;
  /** smctp_network; MCTP_NET_ANY (0) means the default network. */
  net: number;
  /** smctp_addr: the EID. */
  eid: number;
  /** smctp_type: message type (IC bit included on receive). */
  type: number;
  /** smctp_tag: tag value, MCTP_TAG_OWNER, MCTP_TAG_PREALLOC. */
  tag: number;
  /** Reserved fields; must be zero where the kernel checks them. */
  pad0?: number;
  pad1?: number;
}

/** Extended address: adds the interface and link-layer address (MCTP_OPT_ADDR_EXT). */
export interface SockaddrMctpExt extends SockaddrMctp {
  ifindex: number;
  /** Link-layer address; its length is smctp_halen. */
  haddr: Buffer;
  /** The three reserved bytes after halen; must be zero. */
  extPad?: number;
}

/** What socket calls accept: an address object, or the raw struct bytes. */
export type SockaddrInput = SockaddrMctp | SockaddrMctpExt | Uint8Array;

export interface ParsedSockaddr {
  addr: SockaddrMctp | SockaddrMctpExt;
  /** The address length the kernel would see (msg_namelen / addrlen). */
  len: number;
}

export function isExtAddr(a: SockaddrMctp | SockaddrMctpExt): a is SockaddrMctpExt {
  return (a as SockaddrMctpExt).ifindex !== undefined;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new MctpError('EINVAL', what);
}

/** Turn any accepted form into an address object plus its length, checking value ranges. */
export function parseSockaddr(input: SockaddrInput): ParsedSockaddr {
  if (input instanceof Uint8Array) return decodeSockaddr(input);
  if (input === null || typeof input !== 'object') throw new MctpError('EINVAL', 'address must be an object or a sockaddr_mctp buffer');
  const a = input;
  check(a.family === undefined || (Number.isInteger(a.family) && a.family >= 0 && a.family <= 0xffff), 'smctp_family must be a 16-bit integer');
  check(isU32(a.net), `smctp_network must be a 32-bit unsigned integer (got ${String(a.net)})`);
  check(isByte(a.eid), `smctp_addr must be an EID 0..255 (got ${String(a.eid)})`);
  check(isByte(a.type), `smctp_type must be 0..255 (got ${String(a.type)})`);
  check(isByte(a.tag), `smctp_tag must be 0..255 (got ${String(a.tag)})`);
  check(a.pad0 === undefined || Number.isInteger(a.pad0), 'pad0 must be an integer');
  check(a.pad1 === undefined || Number.isInteger(a.pad1), 'pad1 must be an integer');
  if (isExtAddr(a)) {
    check(Number.isInteger(a.ifindex) && a.ifindex >= -0x80000000 && a.ifindex <= 0x7fffffff, 'smctp_ifindex must be a 32-bit integer');
    check(a.haddr instanceof Uint8Array, 'smctp_haddr must be a Buffer');
    return { addr: a, len: SOCKADDR_MCTP_EXT_LEN };
  }
  return { addr: a, len: SOCKADDR_MCTP_LEN };
}

/** Decode the raw struct. Shorter than 12 bytes is EINVAL, as for every AF_MCTP call. */
export function decodeSockaddr(buf: Uint8Array): ParsedSockaddr {
  if (buf.length < SOCKADDR_MCTP_LEN) {
    throw new MctpError('EINVAL', `address length ${buf.length} is shorter than sockaddr_mctp (${SOCKADDR_MCTP_LEN})`);
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const base: SockaddrMctp = {
    family: b.readUInt16LE(0),
    pad0: b.readUInt16LE(2),
    net: b.readUInt32LE(4),
    eid: b[8]!,
    type: b[9]!,
    tag: b[10]!,
    pad1: b[11]!,
  };
  if (b.length < SOCKADDR_MCTP_EXT_LEN) return { addr: base, len: b.length };
  const halen = b[16]!;
  const ext: SockaddrMctpExt = {
    ...base,
    ifindex: b.readInt32LE(12),
    extPad: b[17]! | b[18]! | b[19]!,
    // halen > 32 is kept visible (as a longer haddr) so the caller can reject it with EINVAL.
    haddr: halen <= MAX_ADDR_LEN ? Buffer.from(b.subarray(20, 20 + halen)) : Buffer.alloc(halen),
  };
  return { addr: ext, len: b.length };
}

/** Encode to the raw struct (12 bytes, or 52 for an extended address). */
export function encodeSockaddr(a: SockaddrMctp | SockaddrMctpExt): Buffer {
  const ext = isExtAddr(a);
  const b = Buffer.alloc(ext ? SOCKADDR_MCTP_EXT_LEN : SOCKADDR_MCTP_LEN);
  b.writeUInt16LE(a.family ?? AF_MCTP, 0);
  b.writeUInt16LE(a.pad0 ?? 0, 2);
  b.writeUInt32LE(a.net, 4);
  b[8] = a.eid;
  b[9] = a.type;
  b[10] = a.tag;
  b[11] = a.pad1 ?? 0;
  if (ext) {
    if (a.haddr.length > MAX_ADDR_LEN) throw new MctpError('EINVAL', `link-layer address longer than ${MAX_ADDR_LEN} bytes`);
    b.writeInt32LE(a.ifindex, 12);
    b[16] = a.haddr.length;
    b.set(a.haddr, 20);
  }
  return b;
}

/** The fields every call checks the same way: family and the reserved pads. */
export function checkFamilyAndPads(a: SockaddrMctp, badFamily: 'EINVAL' | 'EAFNOSUPPORT'): void {
  if ((a.family ?? AF_MCTP) !== AF_MCTP) {
    throw new MctpError(badFamily, `address family ${a.family} is not AF_MCTP (${AF_MCTP})`);
  }
  if ((a.pad0 ?? 0) !== 0 || (a.pad1 ?? 0) !== 0) {
    throw new MctpError('EINVAL', 'reserved fields of sockaddr_mctp must be zero');
  }
}
