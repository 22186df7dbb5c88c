/**
 * The OpenIPMI "VM" protocol as QEMU's `ipmi-bmc-extern` speaks it
 * (docs/ipmi.md, "VM protocol"): the byte-wise streaming decoder for what
 * QEMU sends and the encoders for what the BMC sends. Only framing lives
 * here; what a frame means is the connection's business.
 *
 * Framing: a frame is every byte since the previous terminator — 0xA0 ends
 * an IPMI message, 0xA1 a control command; there is no start marker. The
 * bytes 0xA0, 0xA1 and 0xAA inside a frame travel as 0xAA, byte | 0x10.
 *
 * The decoder never throws on input and never holds more than
 * VM_MAX_FRAME_BYTES: a frame that would grow past it is discarded up to the
 * next terminator, and every discarded frame is counted under one reason.
 */

export const VM_MSG_TERMINATOR = 0xa0;
export const VM_CMD_TERMINATOR = 0xa1;
export const VM_ESCAPE = 0xaa;

/**
 * Largest unescaped frame kept. QEMU's own messages are at most 300 bytes
 * plus msgid and checksum (302); anything larger is hostile or out of step.
 */
export const VM_MAX_FRAME_BYTES = 512;

/**
 * Most response data bytes QEMU accepts: its receive buffer holds 302
 * unescaped bytes, of which msgid, netfn/lun, cmd, cc and checksum take five.
 */
export const VM_MAX_RESPONSE_DATA = 297;

/** Control command opcodes, both directions (the first byte of an 0xA1 frame). */
export const VM_CMD = {
  /** BMC→QEMU: clear SMS_ATN. */
  NOATTN: 0x00,
  /** BMC→QEMU: set SMS_ATN without an interrupt. */
  ATTN: 0x01,
  /** BMC→QEMU: set SMS_ATN and raise the interface IRQ (if QEMU has IRQs enabled). */
  ATTN_IRQ: 0x02,
  /** BMC→QEMU: power the machine off (QEMU exits). */
  POWEROFF: 0x03,
  /** BMC→QEMU: reset the machine. QEMU→BMC: "the VM was reset" (QEMU 7.2/10.2 never send it). */
  RESET: 0x04,
  /** BMC→QEMU: allow the interface to raise its IRQ. */
  ENABLE_IRQ: 0x05,
  /** BMC→QEMU: stop the interface raising its IRQ. */
  DISABLE_IRQ: 0x06,
  /** BMC→QEMU: NMI (x86) / system reset of all threads (powernv). */
  SEND_NMI: 0x07,
  /** QEMU→BMC: capability bits follow (VM_CAPS). */
  CAPABILITIES: 0x08,
  /** BMC→QEMU: ACPI power button (undefined behaviour on powernv: docs/ipmi.md). */
  GRACEFUL_SHUTDOWN: 0x09,
  /** QEMU→BMC: protocol version follows (1). */
  VERSION: 0xff,
} as const;

/** Capability bits in QEMU's CAPABILITIES command (QEMU 7.2/10.2 send 0x3F). */
export const VM_CAPS = {
  POWER: 0x01,
  RESET: 0x02,
  IRQ: 0x04,
  NMI: 0x08,
  ATTN: 0x10,
  GRACEFUL_SHUTDOWN: 0x20,
} as const;

export const VM_PROTOCOL_VERSION = 1;

export interface VmRequestFrame {
  kind: 'request';
  /** QEMU's opaque message id: echoed unchanged in the response. */
  msgid: number;
  netfn: number;
  lun: number;
  cmd: number;
  /** Request data after the command byte (checksum removed). */
  data: Buffer;
}

export interface VmControlFrame {
  kind: 'control';
  op: number;
  /** Bytes after the opcode (VERSION's version, CAPABILITIES' bits). */
  args: Buffer;
}

export type VmFrame = VmRequestFrame | VmControlFrame;

/** Why a frame was dropped. */
export const VM_DROP_REASONS = [
  /** Message frame whose bytes (checksum included) do not sum to 0 mod 256. */
  'bad-checksum',
  /** Message frame under 4 bytes (msgid, netfn/lun, cmd, checksum). */
  'too-short',
  /** Terminator with nothing before it. */
  'empty',
  /** The frame ended right after an escape byte. */
  'escape-at-end',
  /** An escape followed by a byte that is not an escaped 0xA0/0xA1/0xAA. */
  'bad-escape',
  /** The frame grew past VM_MAX_FRAME_BYTES; discarded up to the next terminator. */
  'oversize',
] as const;
export type VmDropReason = (typeof VM_DROP_REASONS)[number];

export interface VmDecoderStats {
  bytesIn: number;
  requests: number;
  controls: number;
  dropped: Record<VmDropReason, number>;
  /** Bytes thrown away with dropped frames (and on reset()). */
  bytesDiscarded: number;
}

function zeroDrops(): Record<VmDropReason, number> {
  return Object.fromEntries(VM_DROP_REASONS.map((r) => [r, 0])) as Record<VmDropReason, number>;
}

/** Streaming decoder: feed it any chunks, get whole frames back. */
export class VmDecoder {
  readonly #buf = Buffer.alloc(VM_MAX_FRAME_BYTES);
  #len = 0;
  #escape = false;
  /** The current frame is already lost (oversize or bad escape); skip to the next terminator. */
  #discarding: VmDropReason | null = null;
  #discardedBytes = 0;
  readonly #stats: VmDecoderStats = { bytesIn: 0, requests: 0, controls: 0, dropped: zeroDrops(), bytesDiscarded: 0 };

  stats(): VmDecoderStats {
    return { ...this.#stats, dropped: { ...this.#stats.dropped } };
  }

  /** Bytes of the unfinished frame held right now (never above VM_MAX_FRAME_BYTES). */
  get pending(): number {
    return this.#len;
  }

  /** Forget any partial frame (a new connection starts clean). */
  reset(): void {
    this.#stats.bytesDiscarded += this.#len + this.#discardedBytes + (this.#escape ? 1 : 0);
    this.#len = 0;
    this.#escape = false;
    this.#discarding = null;
    this.#discardedBytes = 0;
  }

  decode(chunk: Uint8Array): VmFrame[] {
    const out: VmFrame[] = [];
    this.#stats.bytesIn += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === VM_MSG_TERMINATOR || b === VM_CMD_TERMINATOR) {
        const frame = this.#finish(b);
        if (frame) out.push(frame);
        continue;
      }
      if (this.#discarding) {
        this.#discardedBytes++;
        continue;
      }
      if (b === VM_ESCAPE && !this.#escape) {
        this.#escape = true;
        continue;
      }
      let v = b;
      if (this.#escape) {
        this.#escape = false;
        // Only the three special bytes are ever escaped (as B0, B1, BA);
        // anything else means the stream is not what the peer meant to send.
        if (b !== (VM_MSG_TERMINATOR | 0x10) && b !== (VM_CMD_TERMINATOR | 0x10) && b !== (VM_ESCAPE | 0x10)) {
          this.#startDiscard('bad-escape', 2);
          continue;
        }
        v = b & ~0x10;
      }
      if (this.#len === VM_MAX_FRAME_BYTES) {
        this.#startDiscard('oversize', 1);
        continue;
      }
      this.#buf[this.#len++] = v;
    }
    return out;
  }

  #startDiscard(reason: VmDropReason, bytes: number): void {
    this.#discarding = reason;
    this.#discardedBytes += this.#len + bytes;
    this.#len = 0;
  }

  #drop(reason: VmDropReason, bytes: number): null {
    this.#stats.dropped[reason]++;
    this.#stats.bytesDiscarded += bytes;
    return null;
  }

  #finish(terminator: number): VmFrame | null {
    const len = this.#len;
    const escape = this.#escape;
    const discarding = this.#discarding;
    const discarded = this.#discardedBytes;
    this.#len = 0;
    this.#escape = false;
    this.#discarding = null;
    this.#discardedBytes = 0;
    if (discarding) return this.#drop(discarding, discarded);
    if (escape) return this.#drop('escape-at-end', len + 1);
    if (len === 0) return this.#drop('empty', 0);
    const bytes = Buffer.from(this.#buf.subarray(0, len));
    if (terminator === VM_CMD_TERMINATOR) {
      this.#stats.controls++;
      return { kind: 'control', op: bytes[0]!, args: bytes.subarray(1) };
    }
    if (len < 4) return this.#drop('too-short', len);
    if (checksum(bytes) !== 0) return this.#drop('bad-checksum', len);
    this.#stats.requests++;
    return {
      kind: 'request',
      msgid: bytes[0]!,
      netfn: bytes[1]! >> 2,
      lun: bytes[1]! & 3,
      cmd: bytes[2]!,
      data: bytes.subarray(3, len - 1),
    };
  }
}

/** Sum of the bytes mod 256 (0 for a frame whose checksum is right). */
export function checksum(bytes: Uint8Array): number {
  let s = 0;
  for (const b of bytes) s = (s + b) & 0xff;
  return s;
}

/** The two's-complement checksum byte that makes `bytes` plus itself sum to 0. */
export function checksumByte(bytes: Uint8Array): number {
  return (0x100 - checksum(bytes)) & 0xff;
}

/** Escape a raw frame and append its terminator. */
export function escapeFrame(raw: Uint8Array, terminator: number): Buffer {
  let special = 0;
  for (const b of raw) if (b === VM_MSG_TERMINATOR || b === VM_CMD_TERMINATOR || b === VM_ESCAPE) special++;
  const out = Buffer.allocUnsafe(raw.length + special + 1);
  let o = 0;
  for (const b of raw) {
    if (b === VM_MSG_TERMINATOR || b === VM_CMD_TERMINATOR || b === VM_ESCAPE) {
      out[o++] = VM_ESCAPE;
      out[o++] = b | 0x10;
    } else {
      out[o++] = b;
    }
  }
  out[o] = terminator;
  return out;
}

function checkField(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`VM codec: ${name} must be an integer 0..${max}, got ${v}`);
  }
}

export interface VmResponseFields {
  msgid: number;
  /** The request's netfn (even); the encoder sets the response bit. */
  netfn: number;
  lun: number;
  cmd: number;
  cc: number;
  data?: Uint8Array;
}

/**
 * A response frame: msgid, (netfn|1)<<2 | lun, cmd, cc, data…, checksum,
 * escaped, then 0xA0. Throws RangeError for impossible fields (a caller bug,
 * never wire input).
 */
export function encodeResponse(r: VmResponseFields): Buffer {
  checkField('msgid', r.msgid, 0xff);
  checkField('netfn', r.netfn, 0x3f);
  checkField('lun', r.lun, 3);
  checkField('cmd', r.cmd, 0xff);
  checkField('cc', r.cc, 0xff);
  const data = r.data ?? new Uint8Array(0);
  const raw = Buffer.allocUnsafe(5 + data.length);
  raw[0] = r.msgid;
  raw[1] = ((r.netfn | 1) << 2) | r.lun;
  raw[2] = r.cmd;
  raw[3] = r.cc;
  raw.set(data, 4);
  raw[raw.length - 1] = checksumByte(raw.subarray(0, raw.length - 1));
  return escapeFrame(raw, VM_MSG_TERMINATOR);
}

export interface VmRequestFields {
  msgid: number;
  netfn: number;
  lun?: number;
  cmd: number;
  data?: Uint8Array;
}

/** A request frame as QEMU sends it (for tests and host-side tools). */
export function encodeRequest(r: VmRequestFields): Buffer {
  checkField('msgid', r.msgid, 0xff);
  checkField('netfn', r.netfn, 0x3f);
  checkField('lun', r.lun ?? 0, 3);
  checkField('cmd', r.cmd, 0xff);
  const data = r.data ?? new Uint8Array(0);
  const raw = Buffer.allocUnsafe(4 + data.length);
  raw[0] = r.msgid;
  raw[1] = (r.netfn << 2) | (r.lun ?? 0);
  raw[2] = r.cmd;
  raw.set(data, 3);
  raw[raw.length - 1] = checksumByte(raw.subarray(0, raw.length - 1));
  return escapeFrame(raw, VM_MSG_TERMINATOR);
}

/** A control command: opcode, optional argument bytes, escaped, then 0xA1. */
export function encodeControl(op: number, args: Uint8Array | number[] = []): Buffer {
  checkField('op', op, 0xff);
  const a = Uint8Array.from(args);
  for (const b of a) checkField('argument byte', b, 0xff);
  const raw = Buffer.allocUnsafe(1 + a.length);
  raw[0] = op;
  raw.set(a, 1);
  return escapeFrame(raw, VM_CMD_TERMINATOR);
}

/** A decoded response frame (what QEMU would parse); for tests of the encoder and connection. */
export interface VmResponseFrame {
  msgid: number;
  netfn: number;
  lun: number;
  cmd: number;
  cc: number;
  data: Buffer;
}

/**
 * Parse the unescaped bytes of a response frame the way QEMU checks them:
 * at least 5 bytes and a zero checksum. Returns null otherwise.
 */
export function parseResponse(raw: Buffer): VmResponseFrame | null {
  if (raw.length < 5 || checksum(raw) !== 0) return null;
  return {
    msgid: raw[0]!,
    netfn: raw[1]! >> 2,
    lun: raw[1]! & 3,
    cmd: raw[2]!,
    cc: raw[3]!,
    data: raw.subarray(4, raw.length - 1),
  };
}

/** Split a BMC→QEMU byte stream into unescaped frames (a test-side QEMU). */
export function splitFrames(stream: Uint8Array): Array<{ terminator: number; raw: Buffer }> {
  const out: Array<{ terminator: number; raw: Buffer }> = [];
  let cur: number[] = [];
  let esc = false;
  for (const b of stream) {
    if (b === VM_MSG_TERMINATOR || b === VM_CMD_TERMINATOR) {
      out.push({ terminator: b, raw: Buffer.from(cur) });
      cur = [];
      esc = false;
    } else if (b === VM_ESCAPE) {
      esc = true;
    } else {
      cur.push(esc ? b & ~0x10 : b);
      esc = false;
    }
  }
  return out;
}
