/**
 * Packet captures on MCTP links, at most one running per link, written as
 * pcap files (firmware/mctp/pcap.ts) in the runtime directory. The runtime
 * directory is usually tmpfs, i.e. memory, so every capture has a byte bound:
 * once the file would pass it, further packets are counted and not written,
 * and the file stays a complete, readable capture.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { MctpInterface, PacketTap } from '../../mctp/interface.js';
import { PCAP_SNAPLEN, PcapWriter } from '../../mctp/pcap.js';
import type { MctpStack } from '../../mctp/stack.js';
import { captureFileName } from '../../../transport/runtime-files.js';
import { ApiError, notImplemented } from './errors.js';

export const PCAP_FILE_HEADER_LEN = 24;
export const DEFAULT_CAPTURE_MAX_BYTES = 16 * 1024 * 1024;

export interface CaptureInfo {
  link: string;
  state: 'running' | 'stopped';
  /** The byte bound was reached: later packets were counted in `dropped`, not written. */
  full: boolean;
  file: string;
  packets: number;
  /** File size in bytes (header included). */
  bytes: number;
  dropped: number;
  maxBytes: number;
  startedAt: string;
  stoppedAt: string | null;
}

class BoundedCapture implements PacketTap {
  readonly writer: PcapWriter;
  readonly iface: MctpInterface;
  readonly maxBytes: number;
  readonly startedAt: string;
  stoppedAt: string | null = null;
  dropped = 0;
  full = false;

  constructor(iface: MctpInterface, file: string, maxBytes: number, now: () => number, packetTime: (() => number) | undefined) {
    this.iface = iface;
    this.maxBytes = maxBytes;
    this.writer = new PcapWriter(file, packetTime ? { now: packetTime } : {});
    this.startedAt = new Date(now()).toISOString();
  }

  packet(direction: 'in' | 'out', packet: Buffer, hwAddr?: Buffer): void {
    // Record header (16) + SLL header (16) + packet, capped at the snap length.
    const size = 16 + Math.min(16 + packet.length, PCAP_SNAPLEN);
    if (this.size + size > this.maxBytes) {
      this.full = true;
      this.dropped++;
      return;
    }
    this.writer.packet(direction, packet, hwAddr);
  }

  get size(): number {
    return PCAP_FILE_HEADER_LEN + this.writer.bytes;
  }

  get running(): boolean {
    return this.stoppedAt === null;
  }

  info(): CaptureInfo {
    return {
      link: this.iface.name,
      state: this.running ? 'running' : 'stopped',
      full: this.full,
      file: this.writer.path,
      packets: this.writer.packets,
      bytes: this.size,
      dropped: this.dropped,
      maxBytes: this.maxBytes,
      startedAt: this.startedAt,
      stoppedAt: this.stoppedAt,
    };
  }
}

export interface CaptureManagerOptions {
  dir: string | undefined;
  /** Largest capture a client may ask for, and the default. */
  maxBytes: number;
  /** Wall clock, epoch ms: when captures start and stop. */
  now: () => number;
  /**
   * Packet timestamps, epoch ms with the fraction kept (default the pcap
   * writer's microsecond wall clock, captureClock; `now` is usually Date.now,
   * whole milliseconds, too coarse to tell packets of one exchange apart).
   */
  packetTime?: () => number;
}

export class CaptureManager {
  readonly #stack: MctpStack;
  readonly #opts: CaptureManagerOptions;
  #captures = new Map<string, BoundedCapture>();

  constructor(stack: MctpStack, opts: CaptureManagerOptions) {
    this.#stack = stack;
    this.#opts = opts;
  }

  #dir(): string {
    if (!this.#opts.dir) throw notImplemented('packet capture', 'no runtime directory (where pcap files go) is wired into this BMC');
    return this.#opts.dir;
  }

  /** Interface names are [A-Za-z0-9_.-]; with the prefix no name can leave the directory. */
  fileFor(link: string): string {
    return path.join(this.#dir(), captureFileName(link));
  }

  start(link: string, maxBytes?: number): CaptureInfo {
    const dir = this.#dir();
    const iface = this.#stack.interface(link);
    const bound = maxBytes ?? this.#opts.maxBytes;
    if (bound > this.#opts.maxBytes) {
      throw new ApiError(400, 'E_VALIDATION', `maxBytes ${bound} exceeds this server's capture limit of ${this.#opts.maxBytes} bytes`);
    }
    if (bound < PCAP_FILE_HEADER_LEN) throw new ApiError(400, 'E_VALIDATION', `maxBytes must be at least ${PCAP_FILE_HEADER_LEN} (the pcap header)`);
    const held = this.#captures.get(link);
    if (held?.running) throw new ApiError(409, 'E_CAPTURE_RUNNING', `a capture is already running on ${link}; stop it first`);
    fs.mkdirSync(dir, { recursive: true });
    const cap = new BoundedCapture(iface, this.fileFor(link), bound, this.#opts.now, this.#opts.packetTime);
    iface.addTap(cap);
    this.#captures.set(link, cap);
    return cap.info();
  }

  stop(link: string): CaptureInfo {
    this.#dir();
    const cap = this.#captures.get(link);
    if (!cap?.running) {
      this.#stack.interface(link);
      throw new ApiError(409, 'E_CAPTURE_NOT_RUNNING', `no capture is running on ${link}`);
    }
    this.#finish(cap);
    return cap.info();
  }

  #finish(cap: BoundedCapture): void {
    cap.iface.removeTap(cap);
    cap.writer.close();
    cap.stoppedAt = new Date(this.#opts.now()).toISOString();
  }

  info(link: string): CaptureInfo | undefined {
    return this.#captures.get(link)?.info();
  }

  list(): CaptureInfo[] {
    return [...this.#captures.values()].map((c) => c.info());
  }

  /**
   * The file to download and how much of it is complete: a running capture is
   * read only up to the last whole record written.
   */
  download(link: string): { file: string; length: number } {
    const file = this.fileFor(link);
    const cap = this.#captures.get(link);
    if (cap) return { file, length: cap.size };
    try {
      return { file, length: fs.statSync(file).size };
    } catch {
      throw new ApiError(404, 'E_NO_CAPTURE', `no capture has been made on ${link}; start one with POST .../capture {"action":"start"}`);
    }
  }

  /** Stop every running capture (the server is closing); the files stay. */
  closeAll(): void {
    for (const cap of this.#captures.values()) if (cap.running) this.#finish(cap);
  }
}
