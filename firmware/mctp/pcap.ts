/**
 * Packet capture in the form `tcpdump -i mctpN` writes on Linux: classic pcap
 * (magic 0xa1b2c3d4, v2.4, host byte order, snaplen 262144) with link type
 * LINUX_SLL (113). Each record is a 16-byte cooked header — packet type
 * (0 to us, 4 outgoing), ARPHRD_MCTP (290), link-layer address length and 8
 * address bytes, protocol ETH_P_MCTP (0x00FA), all big-endian — followed by
 * the MCTP packet from its transport header on. Wireshark 4.2+ decodes it.
 */
import { openSync, writeSync, closeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ARPHRD_MCTP, ETH_P_MCTP } from './constants.js';
import type { PacketTap } from './interface.js';

export const LINKTYPE_LINUX_SLL = 113;
export const PCAP_SNAPLEN = 262144;
const SLL_HDR_LEN = 16;
const PACKET_HOST = 0;
const PACKET_OUTGOING = 4;

/** The 24-byte pcap file header. */
export function pcapFileHeader(): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(0xa1b2c3d4, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8); // thiszone
  b.writeUInt32LE(0, 12); // sigfigs
  b.writeUInt32LE(PCAP_SNAPLEN, 16);
  b.writeUInt32LE(LINKTYPE_LINUX_SLL, 20);
  return b;
}

/**
 * A wall clock in epoch milliseconds with a microsecond fraction, for
 * capture timestamps: Date.now() has whole milliseconds only, which made
 * every record's microsecond field a multiple of 1000. The fraction comes
 * from the monotonic clock, anchored to the wall clock; when the two part by
 * more than a millisecond (the wall clock was stepped) it re-anchors, so the
 * timestamps stay the wall clock's, not a drifting copy of it. Protocol
 * logic keeps its injectable Clock: this is only for stamping what happened.
 */
export function preciseWallClock(sources: { wallMs?: () => number; monoMs?: () => number } = {}): () => number {
  const wallMs = sources.wallMs ?? Date.now;
  const monoMs = sources.monoMs ?? (() => performance.now());
  let anchorWall = wallMs();
  let anchorMono = monoMs();
  return () => {
    const mono = monoMs();
    const wall = wallMs();
    const t = anchorWall + (mono - anchorMono);
    // In step, t is within [wall, wall + 1): Date.now() truncates.
    if (t >= wall - 1 && t < wall + 2) return t;
    anchorWall = wall;
    anchorMono = mono;
    return wall;
  };
}

/** The process's capture clock (see preciseWallClock). */
export const captureClock: () => number = preciseWallClock();

/**
 * One record: pcap record header, SLL header, packet. `timeMs` is wall-clock
 * epoch milliseconds; its fraction becomes the microsecond field.
 */
export function pcapRecord(direction: 'in' | 'out', packet: Buffer, timeMs: number, hwAddr?: Buffer): Buffer {
  const caplen = Math.min(SLL_HDR_LEN + packet.length, PCAP_SNAPLEN);
  const b = Buffer.alloc(16 + caplen);
  // Whole microseconds first (exact in a double until the year 2255), then split.
  const us = Math.round(timeMs * 1000);
  const sec = Math.floor(us / 1e6);
  b.writeUInt32LE(sec >>> 0, 0);
  b.writeUInt32LE(us - sec * 1e6, 4);
  b.writeUInt32LE(caplen, 8);
  b.writeUInt32LE(SLL_HDR_LEN + packet.length, 12);
  const h = b.subarray(16);
  h.writeUInt16BE(direction === 'in' ? PACKET_HOST : PACKET_OUTGOING, 0);
  h.writeUInt16BE(ARPHRD_MCTP, 2);
  const ll = direction === 'in' && hwAddr ? hwAddr.subarray(0, 8) : Buffer.alloc(0);
  h.writeUInt16BE(ll.length, 4);
  h.set(ll, 6);
  h.writeUInt16BE(ETH_P_MCTP, 14);
  packet.copy(h, SLL_HDR_LEN, 0, caplen - SLL_HDR_LEN);
  return b;
}

/**
 * Writes a capture file as packets pass. Writes are synchronous so a capture
 * stopped at any moment is a complete, readable file.
 */
export class PcapWriter implements PacketTap {
  readonly path: string;
  packets = 0;
  bytes = 0;
  #fd: number | null;
  #now: () => number;

  /** `now`: wall-clock epoch milliseconds, fraction kept (default captureClock: microsecond resolution). */
  constructor(path: string, opts: { now?: () => number } = {}) {
    this.path = path;
    this.#now = opts.now ?? captureClock;
    this.#fd = openSync(path, 'w', 0o644);
    writeSync(this.#fd, pcapFileHeader());
  }

  packet(direction: 'in' | 'out', packet: Buffer, hwAddr?: Buffer): void {
    if (this.#fd === null) return;
    const rec = pcapRecord(direction, packet, this.#now(), hwAddr);
    writeSync(this.#fd, rec);
    this.packets++;
    this.bytes += rec.length;
  }

  close(): void {
    if (this.#fd === null) return;
    closeSync(this.#fd);
    this.#fd = null;
  }
}
