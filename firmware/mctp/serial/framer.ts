/**
 * DSP0253 framing, as the Linux mctp-serial driver puts it on the wire:
 *
 *   7E | 01 (revision) | byte count | escaped(packet) | FCS MSB | FCS LSB | 7E
 *
 * - byte count is the unescaped MCTP packet length (transport header included);
 * - inside the packet 0x7E → 7D 5E and 0x7D → 7D 5D;
 * - the FCS (see fcs.ts) covers revision, count and the unescaped packet and is
 *   NOT escaped (Linux and libmctp agree), so 0x7E/0x7D may appear raw there;
 * - every frame carries its own opening and closing flag.
 *
 * The decoder keeps Linux's acceptance rules (revision 1, count ≤ 74, FCS must
 * match, a 0x7E must close the frame) but recovers from garbage faster than
 * the driver does; see SerialFrameDecoder.
 */
import { FCS_INIT, fcs16, fcs16Byte } from './fcs.js';

export const FRAME_FLAG = 0x7e;
export const FRAME_ESCAPE = 0x7d;
/** Escaped bytes go out as (b & ~0x20) and come back as (b | 0x20). */
const ESCAPE_BIT = 0x20;
export const SERIAL_REVISION = 0x01;
/** DSP0236 baseline MTU; the Linux driver's fixed MTU (min = max = 68). */
export const SERIAL_MTU = 68;
/**
 * Largest byte count the receiver accepts. Linux sizes its receive buffer at
 * MTU + 6 and only rejects counts above that, so 69..74-byte packets are still
 * delivered (libmctp would reject them); we mirror Linux and count them.
 */
export const SERIAL_MAX_RX_COUNT = SERIAL_MTU + 6;
/** Framing overhead: flag, revision, count, 2 FCS bytes, flag. */
export const FRAME_OVERHEAD = 6;

export function needsEscape(byte: number): boolean {
  return byte === FRAME_FLAG || byte === FRAME_ESCAPE;
}

/**
 * Length of the next transmit chunk starting at `pos`, with the Linux
 * driver's rule: 0 at the end, 1 for a byte that needs escaping, otherwise
 * the run of bytes up to (not including) the next byte that does. The encoder
 * copies frames in these runs, and the KUnit vectors test it directly.
 */
export function nextChunkLen(data: Uint8Array, pos: number): number {
  if (pos >= data.length) return 0;
  if (needsEscape(data[pos]!)) return 1;
  let end = pos + 1;
  while (end < data.length && !needsEscape(data[end]!)) end++;
  return end - pos;
}

/** Worst-case frame size for a packet of `len` bytes (every byte escaped). */
export function maxFrameLen(len: number): number {
  return FRAME_OVERHEAD + 2 * len;
}

/**
 * Frame one packet. The byte-count field is a single byte, so packets over
 * 255 bytes cannot be framed at all (RangeError); keeping packets within the
 * 68-byte MTU is the binding's job, not the framer's.
 */
export function encodeFrame(packet: Uint8Array): Buffer {
  const len = packet.length;
  if (len > 0xff) throw new RangeError(`serial frame byte count is one byte; packet of ${len} bytes cannot be framed`);

  const out = Buffer.allocUnsafe(maxFrameLen(len));
  out[0] = FRAME_FLAG;
  out[1] = SERIAL_REVISION;
  out[2] = len;
  let o = 3;
  for (let pos = 0, chunk; (chunk = nextChunkLen(packet, pos)) > 0; pos += chunk) {
    if (chunk === 1 && needsEscape(packet[pos]!)) {
      out[o++] = FRAME_ESCAPE;
      out[o++] = packet[pos]! & ~ESCAPE_BIT;
    } else {
      out.set(packet.subarray(pos, pos + chunk), o);
      o += chunk;
    }
  }
  const fcs = fcs16(packet, fcs16(out, FCS_INIT, 1, 3));
  out.writeUInt16BE(fcs, o);
  out[o + 2] = FRAME_FLAG;
  return out.subarray(0, o + 3);
}

/** Why bytes or frames were discarded, one counter per reason. */
export interface SerialDecoderStats {
  /** Frames that passed every check and were delivered. */
  framesOk: number;
  /** Delivered frames with a count of 69..74: above the MTU, accepted as Linux does. */
  oversize: number;
  /** A flag was followed by something other than revision 0x01 (or another flag). */
  badRevision: number;
  /** Byte count above SERIAL_MAX_RX_COUNT. */
  badLength: number;
  /** Well-formed frames with a byte count of 0: nothing to deliver, dropped. */
  emptyFrames: number;
  /** Complete frames whose FCS did not match (Linux rx_crc_errors). */
  fcsErrors: number;
  /** 0x7D followed by anything but 5E/5D (7D 7E is the HDLC abort sequence). */
  escapeErrors: number;
  /** A raw 0x7E arrived before the frame's data was complete: a truncated frame. */
  truncated: number;
  /** The byte after the FCS was not the closing 0x7E. */
  badEndFlag: number;
  /** Bytes skipped while hunting for an opening flag. */
  garbageBytes: number;
}

/** Receive states (a plain object, not an enum, so the file stays erasable TS). */
const RxState = {
  /** Waiting for a flag; anything else is garbage. */
  Hunt: 0,
  /** Flag seen; expecting the revision. More flags are idle fill. */
  Revision: 1,
  Count: 2,
  Data: 3,
  Escape: 4,
  FcsMsb: 5,
  FcsLsb: 6,
  End: 7,
} as const;
type RxState = (typeof RxState)[keyof typeof RxState];

export type PacketHandler = (packet: Buffer) => void;

/**
 * Incremental decoder: push() any chunking of the byte stream, whole packets
 * come out through the handler (each a fresh Buffer the handler may keep).
 * Memory is one 74-byte buffer, whatever the input.
 *
 * Where it goes beyond the Linux driver, it does so only to resynchronise:
 * Linux, after an error, waits for a 0x7E and then wants *another* 0x7E, so a
 * stray flag in garbage or a truncated frame costs it the next good frame.
 * Here a raw 0x7E anywhere a conforming sender could not have put one (in
 * place of the revision, count or data) is taken as the opening flag of the
 * next frame, and a frame that fails at its closing flag is rescanned from its
 * FCS bytes, the only place a raw 0x7E is legal inside a frame.
 */
export class SerialFrameDecoder {
  readonly #onPacket: PacketHandler;
  readonly #rxbuf = Buffer.alloc(SERIAL_MAX_RX_COUNT);
  #state: RxState = RxState.Hunt;
  #count = 0;
  #pos = 0;
  #fcs = 0;
  #fcsMsb = 0;
  #fcsLsb = 0;
  #handlerError: { error: unknown } | undefined;
  readonly #stats: SerialDecoderStats = {
    framesOk: 0,
    oversize: 0,
    badRevision: 0,
    badLength: 0,
    emptyFrames: 0,
    fcsErrors: 0,
    escapeErrors: 0,
    truncated: 0,
    badEndFlag: 0,
    garbageBytes: 0,
  };

  constructor(onPacket: PacketHandler) {
    this.#onPacket = onPacket;
  }

  /**
   * Feed bytes. Malformed input never throws; it is counted. If the handler
   * throws, the rest of the chunk is still decoded and the first such error
   * is rethrown at the end, so the decoder never loses its place.
   */
  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) this.#step(chunk[i]!);
    const failed = this.#handlerError;
    if (failed) {
      this.#handlerError = undefined;
      throw failed.error;
    }
  }

  /**
   * Forget any partial frame (e.g. the stream ended or the link went down) and
   * wait for a fresh opening flag. Returns true if a partial frame was dropped.
   */
  reset(): boolean {
    const partial = this.#state >= RxState.Count;
    if (partial) this.#stats.truncated++;
    this.#state = RxState.Hunt;
    return partial;
  }

  /** True while part of a frame has been consumed. */
  get inFrame(): boolean {
    return this.#state >= RxState.Count;
  }

  get stats(): Readonly<SerialDecoderStats> {
    return { ...this.#stats };
  }

  #step(b: number): void {
    const stats = this.#stats;
    switch (this.#state) {
      case RxState.Hunt:
        if (b === FRAME_FLAG) this.#state = RxState.Revision;
        else stats.garbageBytes++;
        return;

      case RxState.Revision:
        if (b === SERIAL_REVISION) {
          this.#fcs = fcs16Byte(FCS_INIT, b);
          this.#state = RxState.Count;
        } else if (b !== FRAME_FLAG) {
          stats.badRevision++;
          this.#state = RxState.Hunt;
        }
        return;

      case RxState.Count:
        if (b === FRAME_FLAG) {
          // 0x7E can never be a valid count (> 74): it is the next frame's flag.
          stats.truncated++;
          this.#state = RxState.Revision;
        } else if (b > SERIAL_MAX_RX_COUNT) {
          stats.badLength++;
          this.#state = RxState.Hunt;
        } else {
          this.#fcs = fcs16Byte(this.#fcs, b);
          this.#count = b;
          this.#pos = 0;
          // Newer Linux: a zero count goes straight to the trailer.
          this.#state = b === 0 ? RxState.FcsMsb : RxState.Data;
        }
        return;

      case RxState.Data:
        if (b === FRAME_ESCAPE) this.#state = RxState.Escape;
        else if (b === FRAME_FLAG) {
          // A sender escapes every 0x7E in data, so this one opens a new frame.
          stats.truncated++;
          this.#state = RxState.Revision;
        } else this.#store(b);
        return;

      case RxState.Escape:
        if (b === (FRAME_FLAG & ~ESCAPE_BIT) || b === (FRAME_ESCAPE & ~ESCAPE_BIT)) {
          this.#state = RxState.Data;
          this.#store(b | ESCAPE_BIT);
        } else {
          stats.escapeErrors++;
          this.#state = b === FRAME_FLAG ? RxState.Revision : RxState.Hunt;
        }
        return;

      case RxState.FcsMsb:
        this.#fcsMsb = b;
        this.#state = RxState.FcsLsb;
        return;

      case RxState.FcsLsb:
        this.#fcsLsb = b;
        this.#state = RxState.End;
        return;

      case RxState.End:
        if (b === FRAME_FLAG) {
          // The closing flag may double as the next opening flag (or be
          // followed by one): either way the next frame is found.
          this.#state = RxState.Revision;
          this.#finishFrame();
        } else {
          stats.badEndFlag++;
          // The "FCS" may have been the start of the next frame: rescan the
          // trailer. Three bytes from Hunt can never reach End again, so this
          // recursion is one level deep.
          this.#state = RxState.Hunt;
          this.#step(this.#fcsMsb);
          this.#step(this.#fcsLsb);
          this.#step(b);
        }
        return;
    }
  }

  #store(b: number): void {
    this.#fcs = fcs16Byte(this.#fcs, b);
    this.#rxbuf[this.#pos++] = b;
    if (this.#pos === this.#count) this.#state = RxState.FcsMsb;
  }

  #finishFrame(): void {
    const stats = this.#stats;
    const received = (this.#fcsMsb << 8) | this.#fcsLsb;
    if (received !== this.#fcs) {
      stats.fcsErrors++;
      return;
    }
    if (this.#count === 0) {
      // Linux would hand a 0-byte skb to the core, which drops it; no
      // MCTP packet is shorter than its 4-byte header, so drop it here.
      stats.emptyFrames++;
      return;
    }
    stats.framesOk++;
    if (this.#count > SERIAL_MTU) stats.oversize++;
    const packet = Buffer.from(this.#rxbuf.subarray(0, this.#count));
    try {
      this.#onPacket(packet);
    } catch (error) {
      this.#handlerError ??= { error };
    }
  }
}
