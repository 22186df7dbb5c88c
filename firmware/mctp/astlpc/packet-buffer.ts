/**
 * One packet in one buffer (docs/astlpc.md "Packet buffers and layout per version"):
 *
 *   buf+0          u32 BE  length of the MCTP packet (header + payload), CRC excluded
 *   buf+4          length bytes: the packet exactly as on the wire
 *   buf+4+length   u32 BE  CRC-32 of those length bytes (v3 only)
 *
 * Pure helpers; the endpoint does the window accesses in libmctp's order.
 */
import { type AstlpcVersion, CRC_TRAILER_LEN, MCTP_HDR_LEN, bodySize } from './control-area.js';
import { crc32 } from '../../../lib/crc32.js';

/** The only transport-header version astlpc accepts (whole byte 0 is compared, as libmctp does). */
export const MCTP_HDR_VERSION_1 = 0x01;

/** Bytes after the length prefix that a receiver reads for a `len`-byte packet. */
export function bodyReadLength(version: AstlpcVersion, len: number): number {
  return version >= 3 ? len + CRC_TRAILER_LEN : len;
}

/** What goes at buf+4: the packet, plus its big-endian CRC-32 in v3. */
export function encodeBody(version: AstlpcVersion, packet: Buffer): Buffer {
  if (version < 3) return packet;
  const out = Buffer.allocUnsafe(packet.length + CRC_TRAILER_LEN);
  packet.copy(out, 0);
  out.writeUInt32BE(crc32(packet), packet.length);
  return out;
}

/**
 * May a receiver with a `bufferSize`-byte Rx buffer read a packet of `len`
 * bytes? libmctp checks `len > body_size(rx.size)` and `len > pkt_size`; for
 * the sizes libmctp negotiates the two limits coincide, and the buffer bound
 * is what keeps every read inside the validated buffer.
 */
export function lengthFits(version: AstlpcVersion, len: number, bufferSize: number): boolean {
  return len <= bodySize(version, bufferSize);
}

/** Why a packet read from a buffer is dropped (after Rx Complete was sent). */
export type RxDropReason =
  /** Shorter than the 4-byte MCTP transport header. */
  | 'short'
  /** Transport header byte 0 is not 1. */
  | 'hdr-version'
  /** v3 trailer does not match the packet. */
  | 'crc';

/**
 * Check a received body (`len` packet bytes, plus the trailer in v3), in
 * libmctp's order: header version first, then CRC.
 */
export function checkBody(version: AstlpcVersion, len: number, body: Buffer): RxDropReason | null {
  if (len < MCTP_HDR_LEN) return 'short';
  if (body[0] !== MCTP_HDR_VERSION_1) return 'hdr-version';
  if (version >= 3) {
    const stored = body.readUInt32BE(len);
    if (crc32(body.subarray(0, len)) !== stored) return 'crc';
  }
  return null;
}
