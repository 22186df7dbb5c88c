/**
 * Numbers from Linux's include/uapi/linux/mctp.h and include/net/mctp.h, and
 * DSP0236. Kept identical so code and tests read like the kernel's.
 */

export const AF_MCTP = 45;
export const SOL_MCTP = 285;
export const ETH_P_MCTP = 0x00fa;
export const ARPHRD_MCTP = 290;

export const MCTP_NET_ANY = 0;
/** The network a new interface joins, as in Linux (MCTP_INITIAL_DEFAULT_NET). */
export const MCTP_INITIAL_DEFAULT_NET = 1;

export const MCTP_ADDR_NULL = 0x00;
export const MCTP_ADDR_ANY = 0xff;

export const MCTP_TAG_MASK = 0x07;
export const MCTP_TAG_OWNER = 0x08;
export const MCTP_TAG_PREALLOC = 0x10;

export const MCTP_OPT_ADDR_EXT = 1;

/** Transport header version this stack speaks (DSP0236 1.x); the whole byte is compared. */
export const MCTP_VER = 1;
export const MCTP_HDR_LEN = 4;
/** Baseline transmission unit: 64 bytes of payload, 68 with the header. */
export const MCTP_BTU = 64;
export const MCTP_BASELINE_MTU = MCTP_BTU + MCTP_HDR_LEN;

/** Largest message reassembled (type byte included, headers excluded), as Linux's mctp_message_maxlen. */
export const MCTP_MESSAGE_MAXLEN = 64 * 1024;
/** Lifetime of tag keys and reassembly contexts (Linux mctp_key_lifetime = 6 * HZ). */
export const MCTP_KEY_LIFETIME_MS = 6000;
/** Gateway recursion limit in route lookup (Linux MCTP_ROUTE_MAX_DEPTH... 32). */
export const MCTP_ROUTE_MAX_DEPTH = 32;
/** Longest link-layer address (MAX_ADDR_LEN). */
export const MAX_ADDR_LEN = 32;

/** recvmsg flags (Linux values). */
export const MSG_OOB = 0x01;
export const MSG_PEEK = 0x02;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;

/** Message types (DSP0239). */
export const MCTP_TYPE_CONTROL = 0x00;
export const MCTP_TYPE_PLDM = 0x01;
export const MCTP_TYPE_NCSI = 0x02;
export const MCTP_TYPE_ETHERNET = 0x03;
export const MCTP_TYPE_NVME = 0x04;
export const MCTP_TYPE_SPDM = 0x05;
export const MCTP_TYPE_SECURED = 0x06;
export const MCTP_TYPE_VENDOR_PCI = 0x7e;
export const MCTP_TYPE_VENDOR_IANA = 0x7f;
/** Integrity-check bit of the message type byte. */
export const MCTP_TYPE_IC = 0x80;

/** EIDs 8..254 are unicast; 0 is null, 255 broadcast, 1..7 reserved. */
export function isUnicastEid(eid: number): boolean {
  return eid >= 8 && eid <= 254;
}

/** An integer in [0, 255]. */
export function isByte(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xff;
}

/** An integer in [0, 2^32). */
export function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}
