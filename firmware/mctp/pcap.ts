/**
 * Packet capture in the form `tcpdump -i mctpN` writes on Linux: classic pcap
 * (magic 0xa1b2c3d4, v2.4, host byte order, snaplen 262144) with link type
 * LINUX_SLL (113). Each record is a 16-byte cooked header — packet type
 * (0 to us, 4 outgoing), ARPHRD_MCTP (290), link-layer address length and 8
 * address bytes, protocol ETH_P_MCTP (0x00FA), all big-endian — followed by
 * the MCTP packet from its transport header on. Wireshark 4.2+ decodes it.
 */
import { openSync, writeSync, closeSync } from 'node:fs';
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

/** One record: pcap record header, SLL header, packet. `timeMs` is wall-clock milliseconds. */
export function pcapRecord(direction: 'in' | 'out', packet: Buffer, timeMs: number, hwAddr?: Buffer): Buffer {
  const caplen = Math.min(SLL_HDR_LEN + packet.length, PCAP_SNAPLEN);
  const b = Buffer.alloc(16 + caplen);
  const sec = Math.floor(timeMs / 1000);
  b.writeUInt32LE(sec >>> 0, 0);
  b.writeUInt32LE(Math.floor((timeMs - sec * 1000) * 1000), 4);
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

  constructor(path: string, opts: { now?: () => number } = {}) {
    this.path = path;
    this.#now = opts.now ?? Date.now;
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
