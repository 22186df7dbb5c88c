/**
 * The astlpc control area and the buffer arithmetic, as pure functions
 * (docs/astlpc.md "Control area layout" to "MTU and tx_size rules").
 * Everything here is big-endian and byte-exact with openbmc/libmctp's
 * `struct mctp_lpcmap_hdr`.
 *
 * Naming: the control area names its buffers from the HOST's point of view —
 * `rx` is the BMC → host buffer, `tx` the host → BMC buffer. `Layout` below
 * keeps those names; each side maps them onto its own Tx/Rx itself.
 *
 * MTU units. libmctp's "MTU" is MCTP payload bytes per packet (header
 * excluded). This project's core uses Linux's dev->mtu: the whole packet,
 * 4-byte transport header included. Every `mtu` argument in this file is in
 * the core's unit (= MCTP_PACKET_SIZE(libmctp mtu) = libmctp mtu + 4), i.e.
 * the largest packet the length prefix may announce.
 */

/** "MCTP" in ASCII. Written by the BMC; never checked by libmctp's host. */
export const ASTLPC_MAGIC = 0x4d435450;
/** negotiated_ver value meaning "no version agreed / channel init failed". */
export const ASTLPC_VER_BAD = 0;
/** Oldest and newest protocol versions this implementation speaks. */
export const ASTLPC_VER_MIN = 1;
export const ASTLPC_VER_CUR = 3;

/** libmctp's LPC_WIN_SIZE: the MCTP window is 1 MiB. */
export const LPC_WIN_SIZE = 1024 * 1024;
/** Buffers may not start below this offset (bytes 0x20..0xFF are reserved). */
export const CONTROL_SIZE = 0x100;
/** Size of the packed header at offset 0. */
export const CONTROL_HEADER_LEN = 32;

/** Field offsets in the control area (docs/astlpc.md "Control area layout"). */
export const CA_MAGIC = 0x00;
export const CA_BMC_VER_MIN = 0x04;
export const CA_BMC_VER_CUR = 0x06;
export const CA_HOST_VER_MIN = 0x08;
export const CA_HOST_VER_CUR = 0x0a;
export const CA_NEGOTIATED_VER = 0x0c;
export const CA_PAD0 = 0x0e;
export const CA_RX_OFFSET = 0x10;
export const CA_RX_SIZE = 0x14;
export const CA_TX_OFFSET = 0x18;
export const CA_TX_SIZE = 0x1c;
/** The four layout words start at CA_RX_OFFSET and take 16 bytes. */
export const CA_LAYOUT_LEN = 16;

/** MCTP transport header length and baseline payload (DSP0236). */
export const MCTP_HDR_LEN = 4;
export const MCTP_BTU = 64;
/** BTU as a packet size (header included): the smallest MTU anyone may use. */
export const ASTLPC_MIN_MTU = MCTP_BTU + MCTP_HDR_LEN;

/** Medium framing around a packet in a buffer (docs/astlpc.md "Packet buffers and layout per version"). */
export const LENGTH_PREFIX_LEN = 4;
export const CRC_TRAILER_LEN = 4;

/** A protocol version the framing functions understand. */
export type AstlpcVersion = 1 | 2 | 3;

export function isAstlpcVersion(v: number): v is AstlpcVersion {
  return v === 1 || v === 2 || v === 3;
}

export interface BufferDesc {
  offset: number;
  size: number;
}

/** Buffer layout in the control area's (host's) naming. */
export interface Layout {
  /** BMC → host packets (the host's Rx, the BMC's Tx). */
  rx: BufferDesc;
  /** Host → BMC packets (the host's Tx, the BMC's Rx). */
  tx: BufferDesc;
}

export interface ControlArea {
  magic: number;
  bmcVerMin: number;
  bmcVerCur: number;
  hostVerMin: number;
  hostVerCur: number;
  negotiatedVer: number;
  pad0: number;
  layout: Layout;
}

/** Decode the 32-byte header. `buf` must hold at least CONTROL_HEADER_LEN bytes. */
export function decodeControlArea(buf: Buffer): ControlArea {
  if (buf.length < CONTROL_HEADER_LEN) throw new RangeError(`control area needs ${CONTROL_HEADER_LEN} bytes, got ${buf.length}`);
  return {
    magic: buf.readUInt32BE(CA_MAGIC),
    bmcVerMin: buf.readUInt16BE(CA_BMC_VER_MIN),
    bmcVerCur: buf.readUInt16BE(CA_BMC_VER_CUR),
    hostVerMin: buf.readUInt16BE(CA_HOST_VER_MIN),
    hostVerCur: buf.readUInt16BE(CA_HOST_VER_CUR),
    negotiatedVer: buf.readUInt16BE(CA_NEGOTIATED_VER),
    pad0: buf.readUInt16BE(CA_PAD0),
    layout: decodeLayout(buf.subarray(CA_RX_OFFSET, CA_RX_OFFSET + CA_LAYOUT_LEN)),
  };
}

/** Encode the whole 32-byte header (what the BMC writes at start: docs/astlpc.md "BMC start"). */
export function encodeControlArea(ca: ControlArea): Buffer {
  const buf = Buffer.alloc(CONTROL_HEADER_LEN);
  buf.writeUInt32BE(ca.magic >>> 0, CA_MAGIC);
  buf.writeUInt16BE(ca.bmcVerMin & 0xffff, CA_BMC_VER_MIN);
  buf.writeUInt16BE(ca.bmcVerCur & 0xffff, CA_BMC_VER_CUR);
  buf.writeUInt16BE(ca.hostVerMin & 0xffff, CA_HOST_VER_MIN);
  buf.writeUInt16BE(ca.hostVerCur & 0xffff, CA_HOST_VER_CUR);
  buf.writeUInt16BE(ca.negotiatedVer & 0xffff, CA_NEGOTIATED_VER);
  buf.writeUInt16BE(ca.pad0 & 0xffff, CA_PAD0);
  encodeLayout(ca.layout).copy(buf, CA_RX_OFFSET);
  return buf;
}

/** Decode the 16 layout bytes (rx_offset, rx_size, tx_offset, tx_size). */
export function decodeLayout(buf: Buffer): Layout {
  return {
    rx: { offset: buf.readUInt32BE(0), size: buf.readUInt32BE(4) },
    tx: { offset: buf.readUInt32BE(8), size: buf.readUInt32BE(12) },
  };
}

/** Encode the 16 layout bytes the BMC writes at 0x10 after negotiation. */
export function encodeLayout(layout: Layout): Buffer {
  const buf = Buffer.alloc(CA_LAYOUT_LEN);
  buf.writeUInt32BE(layout.rx.offset >>> 0, 0);
  buf.writeUInt32BE(layout.rx.size >>> 0, 4);
  buf.writeUInt32BE(layout.tx.offset >>> 0, 8);
  buf.writeUInt32BE(layout.tx.size >>> 0, 12);
  return buf;
}

/** A big-endian u16 field, for the 2-byte writes libmctp does (versions, negotiated_ver). */
export function u16be(value: number): Buffer {
  const buf = Buffer.alloc(2);
  buf.writeUInt16BE(value & 0xffff, 0);
  return buf;
}

/** A big-endian u32 field (the host's rx_size write, the length prefix). */
export function u32be(value: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(value >>> 0, 0);
  return buf;
}

// ---------------------------------------------------------------------------
// Version negotiation (docs/astlpc.md "Version negotiation")

/**
 * libmctp's mctp_astlpc_negotiate_version: 0 (ASTLPC_VER_BAD) when any value is
 * 0, a range is inverted, or the ranges are disjoint; else min(bmcCur, hostCur).
 * The result is never above either side's cur, so it is ≤ ASTLPC_VER_CUR
 * whenever one side is this implementation.
 */
export function negotiateVersion(bmcMin: number, bmcCur: number, hostMin: number, hostCur: number): number {
  if (bmcMin === 0 || bmcCur === 0 || hostMin === 0 || hostCur === 0) return ASTLPC_VER_BAD;
  if (bmcMin > bmcCur || hostMin > hostCur) return ASTLPC_VER_BAD;
  if (hostCur < bmcMin || hostMin > bmcCur) return ASTLPC_VER_BAD;
  return Math.min(bmcCur, hostCur);
}

// ---------------------------------------------------------------------------
// Buffer arithmetic (docs/astlpc.md "Packet buffers and layout per version", "MTU and tx_size rules")

/** Bytes of medium framing per buffer: length prefix, plus the CRC-32 trailer in v3. */
export function mediumOverhead(version: AstlpcVersion): number {
  return version >= 3 ? LENGTH_PREFIX_LEN + CRC_TRAILER_LEN : LENGTH_PREFIX_LEN;
}

/** libmctp packet_size(): buffer bytes needed for a `packetLen`-byte MCTP packet. */
export function packetSize(version: AstlpcVersion, packetLen: number): number {
  return packetLen + mediumOverhead(version);
}

/** libmctp body_size(): the largest MCTP packet (header included) a buffer of `bufferSize` holds. */
export function bodySize(version: AstlpcVersion, bufferSize: number): number {
  return bufferSize - mediumOverhead(version);
}

/** Smallest legal buffer: one BTU packet (72 bytes in v1/v2, 76 in v3). */
export function minBufferSize(version: AstlpcVersion): number {
  return packetSize(version, ASTLPC_MIN_MTU);
}

/**
 * The BMC's buffer size at start (mctp_astlpc_init_bmc): split what is left
 * of the window after the control area in two, trim the payload to a multiple
 * of 16, then cap by the requested MTU. `version` is the BMC's newest version
 * (libmctp always uses ASTLPC_VER_CUR's formulas here). For a 1 MiB window and
 * v3 that is 0x7FF7C (payload 524144); for mtu 68 (libmctp mtu 64) it is 76.
 */
export function bmcInitialBufferSize(version: AstlpcVersion, windowSize: number, mtu?: number): number {
  const half = Math.floor((windowSize - CONTROL_SIZE) / 2);
  const payload = Math.floor((bodySize(version, half) - MCTP_HDR_LEN) / 16) * 16;
  let size = packetSize(version, payload + MCTP_HDR_LEN);
  if (mtu !== undefined && mtu > 0) size = Math.min(size, packetSize(version, mtu));
  return size;
}

/** The BMC's layout at start: BMC → host buffer at 0x100, host → BMC right after it. */
export function bmcInitialLayout(version: AstlpcVersion, windowSize: number, mtu?: number): Layout {
  const size = bmcInitialBufferSize(version, windowSize, mtu);
  return {
    rx: { offset: CONTROL_SIZE, size },
    tx: { offset: CONTROL_SIZE + size, size },
  };
}

/** What a host writes to rx_size for its MTU (v2+): e.g. mtu 32772 → 32780 (v3) / 32776 (v2). */
export function hostRxSize(version: AstlpcVersion, mtu: number): number {
  return packetSize(version, mtu);
}

export interface BmcMtuResult {
  /** Buffer size the BMC writes to both rx_size and tx_size. */
  size: number;
  /** Negotiated MTU in the core's unit (header included). */
  mtu: number;
}

/**
 * The BMC's side of MTU negotiation (mctp_astlpc_negotiate_layout_bmc;
 * docs/astlpc.md "MTU and tx_size rules"):
 * never more than the distance between its own buffers (its original size,
 * so a re-initialising host can grow back), nor its own MTU, nor what the host
 * proposed as rx_size. Sizes are symmetric, so the BMC never advertises a
 * tx_size larger than the host asked for (same section). The caller validates the
 * result (it can only be below the BTU floor if the proposal was).
 */
export function bmcNegotiateMtu(
  version: AstlpcVersion,
  own: Layout,
  proposedRxSize: number,
  mtu?: number,
): BmcMtuResult {
  let limit = Math.abs(own.rx.offset - own.tx.offset);
  if (mtu !== undefined && mtu > 0) limit = Math.min(limit, packetSize(version, mtu));
  const rpkt = Math.min(limit, proposedRxSize);
  const negotiated = bodySize(version, rpkt);
  return { size: packetSize(version, negotiated), mtu: negotiated };
}

// ---------------------------------------------------------------------------
// Layout validation (docs/astlpc.md "Layout validity")

/** Why one buffer descriptor is unusable, in libmctp's check order. */
export type BufferFault =
  /** offset + size does not fit in a u32. */
  | 'overflow'
  /** offset + size runs past the end of the window. */
  | 'window'
  /** smaller than one BTU packet plus framing. */
  | 'btu'
  /** starts inside the control area (below 0x100). */
  | 'control';

/** Why a layout is unusable: the first faulty buffer (rx checked first), or overlap. */
export type LayoutFault = `rx-${BufferFault}` | `tx-${BufferFault}` | 'overlap';

export const LAYOUT_FAULTS: readonly LayoutFault[] = [
  'rx-overflow',
  'rx-window',
  'rx-btu',
  'rx-control',
  'tx-overflow',
  'tx-window',
  'tx-btu',
  'tx-control',
  'overlap',
];

const U32_MAX = 0xffffffff;

/** mctp_astlpc_buffer_validate: null when usable. Values are u32s read from the window. */
export function validateBuffer(version: AstlpcVersion, buf: BufferDesc, windowSize: number): BufferFault | null {
  // JS numbers do not wrap, so the u32 overflow libmctp guards against is explicit.
  if (buf.offset + buf.size > U32_MAX) return 'overflow';
  if (buf.offset + buf.size > windowSize) return 'window';
  if (buf.size < minBufferSize(version)) return 'btu';
  if (buf.offset < CONTROL_SIZE) return 'control';
  return null;
}

/** mctp_astlpc_layout_validate: both buffers usable and disjoint. */
export function validateLayout(version: AstlpcVersion, layout: Layout, windowSize: number): LayoutFault | null {
  const rx = validateBuffer(version, layout.rx, windowSize);
  if (rx) return `rx-${rx}`;
  const tx = validateBuffer(version, layout.tx, windowSize);
  if (tx) return `tx-${tx}`;
  const { rx: a, tx: b } = layout;
  const disjoint = a.offset < b.offset ? a.offset + a.size <= b.offset : b.offset + b.size <= a.offset;
  return disjoint ? null : 'overlap';
}

export function layoutsEqual(a: Layout, b: Layout): boolean {
  return (
    a.rx.offset === b.rx.offset && a.rx.size === b.rx.size && a.tx.offset === b.tx.offset && a.tx.size === b.tx.size
  );
}
