/**
 * The 4-byte MCTP transport header (DSP0236 §8.1; Linux struct mctp_hdr):
 *   byte 0: reserved (7:4) | header version (3:0)
 *   byte 1: destination EID
 *   byte 2: source EID
 *   byte 3: SOM (7) | EOM (6) | packet sequence (5:4) | TO (3) | tag (2:0)
 */
import { MCTP_HDR_LEN } from './constants.js';

export const MCTP_HDR_FLAG_SOM = 0x80;
export const MCTP_HDR_FLAG_EOM = 0x40;
export const MCTP_HDR_SEQ_SHIFT = 4;
export const MCTP_HDR_SEQ_MASK = 0x03;
export const MCTP_HDR_FLAG_TO = 0x08;
export const MCTP_HDR_TAG_MASK = 0x07;

export interface MctpHeader {
  /** The whole version byte (the kernel compares all of it with 1). */
  ver: number;
  dest: number;
  src: number;
  som: boolean;
  eom: boolean;
  seq: number;
  /** Tag owner bit. */
  to: boolean;
  tag: number;
}

/** Decode a header; the caller guarantees at least 4 bytes. */
export function decodeHeader(pkt: Buffer): MctpHeader {
  const fst = pkt[3]!;
  return {
    ver: pkt[0]!,
    dest: pkt[1]!,
    src: pkt[2]!,
    som: (fst & MCTP_HDR_FLAG_SOM) !== 0,
    eom: (fst & MCTP_HDR_FLAG_EOM) !== 0,
    seq: (fst >> MCTP_HDR_SEQ_SHIFT) & MCTP_HDR_SEQ_MASK,
    to: (fst & MCTP_HDR_FLAG_TO) !== 0,
    tag: fst & MCTP_HDR_TAG_MASK,
  };
}

/** The flags/sequence/tag byte. */
export function flagsSeqTag(h: Pick<MctpHeader, 'som' | 'eom' | 'seq' | 'to' | 'tag'>): number {
  return (
    (h.som ? MCTP_HDR_FLAG_SOM : 0) |
    (h.eom ? MCTP_HDR_FLAG_EOM : 0) |
    ((h.seq & MCTP_HDR_SEQ_MASK) << MCTP_HDR_SEQ_SHIFT) |
    (h.to ? MCTP_HDR_FLAG_TO : 0) |
    (h.tag & MCTP_HDR_TAG_MASK)
  );
}

/** Write a header into the first 4 bytes of `out`. */
export function writeHeader(out: Buffer, h: MctpHeader): void {
  out[0] = h.ver;
  out[1] = h.dest;
  out[2] = h.src;
  out[3] = flagsSeqTag(h);
}

/** A packet: header followed by `body` (which, in a SOM packet, starts with the type byte). */
export function encodePacket(h: MctpHeader, body: Uint8Array): Buffer {
  const pkt = Buffer.allocUnsafe(MCTP_HDR_LEN + body.length);
  writeHeader(pkt, h);
  pkt.set(body, MCTP_HDR_LEN);
  return pkt;
}

/** Human-readable one-liner, as tcpdump-ish logs show it. */
export function formatHeader(h: MctpHeader): string {
  const flags = `${h.som ? 'S' : '-'}${h.eom ? 'E' : '-'}`;
  return `ver ${h.ver} ${h.src} -> ${h.dest} ${flags} seq ${h.seq} ${h.to ? 'TO' : 'to'} tag ${h.tag}`;
}
