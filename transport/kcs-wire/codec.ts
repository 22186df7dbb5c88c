/**
 * KCS wire protocol v1: the byte format that carries host-side KCS register
 * accesses from a host (a QEMU guest's agent, a test process) to a KCS model,
 * and the model's replies and interrupts back. Specified in docs/kcs-wire.md;
 * this module is only the codec (frame layout, op/error numbers, validation),
 * shared by the model side (kcs-wire-server.ts) and the host side
 * (kcs-wire-client.ts).
 *
 * Every frame, in both directions, is exactly three bytes: [op, reg, value].
 * Frames are delimited by position alone (bytes 3k..3k+2 of a connection are
 * frame k), never by content, so a receiver never hunts for a frame start and
 * a malformed frame costs exactly three bytes.
 */

export const KCS_WIRE_VERSION = 1;
export const KCS_WIRE_FRAME_SIZE = 3;

/** Op codes. Host→model ops have bit 7 clear; model→host ops have it set. */
export const KcsWireOp = {
  /** host→model: read a host register. [0x01, reg, 0] → 0x81 (or 0xEE). */
  READ: 0x01,
  /** host→model: write a host register. [0x02, reg, value] → 0x82 (or 0xEE). */
  WRITE: 0x02,
  /**
   * host→model: restart the session on a stream without connection
   * boundaries (virtio-serial). [0x03, 0, cookie] → [0x83, 0, cookie], then a
   * hello, then 0x90 if OBF is set. No register side effects.
   */
  SYNC: 0x03,
  /** model→host: first frame of every connection. [0x80, version, channel]. */
  HELLO: 0x80,
  /** model→host: reply to READ. [0x81, reg, value read]. */
  READ_REPLY: 0x81,
  /** model→host: reply to WRITE. [0x82, reg, STR after the write]. */
  WRITE_ACK: 0x82,
  /** model→host: reply to SYNC. [0x83, 0, cookie]. */
  SYNC_REPLY: 0x83,
  /** model→host: unsolicited, OBF rose (host interrupt). [0x90, 0, STR]. */
  INTERRUPT: 0x90,
  /** model→host: reply to a malformed request. [0xEE, error code, offending op]. */
  ERROR: 0xee,
} as const;
export type KcsWireOpCode = (typeof KcsWireOp)[keyof typeof KcsWireOp];

/** Error codes carried in byte 1 of an ERROR frame. */
export const KcsWireErrorCode = {
  /** Byte 0 is not an op this protocol version defines. */
  UNKNOWN_OP: 0x01,
  /** READ/WRITE with reg > 1. */
  BAD_REG: 0x02,
  /** The host sent an op that only the model may send (0x80, 0x81, 0x82, 0x83, 0x90, 0xEE). */
  WRONG_DIRECTION: 0x03,
} as const;
export type KcsWireErrorCodeValue = (typeof KcsWireErrorCode)[keyof typeof KcsWireErrorCode];

/** Host register index: 0 = data (ODR on read, IDR on write), 1 = status (read) / command (write). */
export const KCS_REG_DATA = 0;
export const KCS_REG_STATUS = 1;

/** Host-visible STR bits the wire layer itself relies on (the model owns the rest). */
export const KCS_STR_OBF = 0x01;
export const KCS_STR_IBF = 0x02;
export const KCS_STR_CMD_DATA = 0x08;

export interface KcsFrame {
  op: number;
  reg: number;
  value: number;
}

const MODEL_TO_HOST_OPS: ReadonlySet<number> = new Set([
  KcsWireOp.HELLO,
  KcsWireOp.READ_REPLY,
  KcsWireOp.WRITE_ACK,
  KcsWireOp.SYNC_REPLY,
  KcsWireOp.INTERRUPT,
  KcsWireOp.ERROR,
]);

export function isModelToHostOp(op: number): boolean {
  return MODEL_TO_HOST_OPS.has(op);
}

function checkByte(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) {
    throw new RangeError(`KCS wire: ${name} must be an integer 0..255, got ${v}`);
  }
}

/** Build one frame. Throws RangeError for a field outside 0..255 (a caller bug, never wire input). */
export function encodeFrame(op: number, reg: number, value: number): Buffer {
  checkByte('op', op);
  checkByte('reg', reg);
  checkByte('value', value);
  const b = Buffer.allocUnsafe(KCS_WIRE_FRAME_SIZE);
  b[0] = op;
  b[1] = reg;
  b[2] = value;
  return b;
}

export const encodeHello = (channel: number, version: number = KCS_WIRE_VERSION): Buffer =>
  encodeFrame(KcsWireOp.HELLO, version, channel);
export const encodeRead = (reg: number): Buffer => encodeFrame(KcsWireOp.READ, reg, 0);
export const encodeWrite = (reg: number, value: number): Buffer => encodeFrame(KcsWireOp.WRITE, reg, value);
export const encodeSync = (cookie: number): Buffer => encodeFrame(KcsWireOp.SYNC, 0, cookie);
export const encodeSyncReply = (cookie: number): Buffer => encodeFrame(KcsWireOp.SYNC_REPLY, 0, cookie);
export const encodeReadReply = (reg: number, value: number): Buffer =>
  encodeFrame(KcsWireOp.READ_REPLY, reg, value);
export const encodeWriteAck = (reg: number, str: number): Buffer => encodeFrame(KcsWireOp.WRITE_ACK, reg, str);
export const encodeInterrupt = (str: number): Buffer => encodeFrame(KcsWireOp.INTERRUPT, 0, str);
export const encodeError = (code: KcsWireErrorCodeValue, offendingOp: number): Buffer =>
  encodeFrame(KcsWireOp.ERROR, code, offendingOp);

/**
 * What is wrong with a frame received by the model, or null if it is a valid
 * request. Order of checks is part of the spec: direction, then op, then reg.
 * Reserved bytes (value of READ, reg of SYNC) are sent as 0 and deliberately
 * not checked.
 */
export function validateHostFrame(op: number, reg: number): KcsWireErrorCodeValue | null {
  if (isModelToHostOp(op)) return KcsWireErrorCode.WRONG_DIRECTION;
  if (op === KcsWireOp.SYNC) return null;
  if (op !== KcsWireOp.READ && op !== KcsWireOp.WRITE) return KcsWireErrorCode.UNKNOWN_OP;
  if (reg > 1) return KcsWireErrorCode.BAD_REG;
  return null;
}

export function errorCodeName(code: number): string {
  switch (code) {
    case KcsWireErrorCode.UNKNOWN_OP:
      return 'unknown op';
    case KcsWireErrorCode.BAD_REG:
      return 'register out of range';
    case KcsWireErrorCode.WRONG_DIRECTION:
      return 'model-to-host op sent by the host';
    default:
      return `error 0x${code.toString(16).padStart(2, '0')}`;
  }
}

export const hex2 = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;

export function describeFrame(f: KcsFrame): string {
  return `[${hex2(f.op)} ${hex2(f.reg)} ${hex2(f.value)}]`;
}

/**
 * Splits a byte stream into 3-byte frames. A stream may split frames anywhere
 * (one byte per read is legal), so a partial frame is carried over to the next
 * push(). Allocation-free per frame: the callback gets the three bytes.
 */
export class KcsFrameDecoder {
  readonly #partial = Buffer.alloc(KCS_WIRE_FRAME_SIZE);
  #have = 0;
  #frames = 0;

  /** Bytes of an incomplete frame held over from earlier pushes (0..2). */
  get pendingBytes(): number {
    return this.#have;
  }

  /** Complete frames decoded since construction. */
  get frames(): number {
    return this.#frames;
  }

  /**
   * Feed bytes; onFrame runs for each complete frame in stream order. If
   * onFrame returns false, decoding stops and everything not yet decoded
   * (rest of this chunk and any partial frame) is discarded — used when the
   * receiver drops the connection mid-chunk.
   */
  push(chunk: Uint8Array, onFrame: (op: number, reg: number, value: number) => boolean | void): void {
    let i = 0;
    const n = chunk.length;
    // Finish a frame started by an earlier chunk.
    while (this.#have > 0 && i < n) {
      this.#partial[this.#have++] = chunk[i++]!;
      if (this.#have === KCS_WIRE_FRAME_SIZE) {
        this.#have = 0;
        this.#frames++;
        if (onFrame(this.#partial[0]!, this.#partial[1]!, this.#partial[2]!) === false) {
          this.reset();
          return;
        }
      }
    }
    // Whole frames straight from the chunk.
    while (n - i >= KCS_WIRE_FRAME_SIZE) {
      const op = chunk[i]!;
      const reg = chunk[i + 1]!;
      const value = chunk[i + 2]!;
      i += KCS_WIRE_FRAME_SIZE;
      this.#frames++;
      if (onFrame(op, reg, value) === false) {
        this.reset();
        return;
      }
    }
    // Keep the tail for next time.
    while (i < n) this.#partial[this.#have++] = chunk[i++]!;
  }

  /** Drop any partial frame (connection boundary). Returns how many bytes were dropped. */
  reset(): number {
    const dropped = this.#have;
    this.#have = 0;
    return dropped;
  }
}

/** Convenience for tests and tools: decode a buffer into frame objects (keeps the partial tail). */
export function decodeFrames(decoder: KcsFrameDecoder, chunk: Uint8Array): KcsFrame[] {
  const out: KcsFrame[] = [];
  decoder.push(chunk, (op, reg, value) => {
    out.push({ op, reg, value });
  });
  return out;
}
