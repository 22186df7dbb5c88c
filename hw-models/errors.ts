/**
 * Coded errors for the hardware models, plus the argument checks every model
 * shares. A model throws only for caller bugs (a register offset that does not
 * exist, a value that does not fit the register, a bad configuration): it never
 * half-applies an access, so state is untouched when one of these is thrown.
 * Things a *host* may legitimately cause at run time (an LPC access outside the
 * window, bytes arriving at a full FIFO) are refused and counted instead.
 */

export type HwErrorCode =
  /** A register offset this model does not decode. */
  | 'ERR_HW_BAD_OFFSET'
  /** A value that is not an integer in the register's range. */
  | 'ERR_HW_BAD_VALUE'
  /** A bad argument to a non-register API (length, address, buffer). */
  | 'ERR_HW_BAD_ARGUMENT'
  /** Construction options that describe impossible hardware. */
  | 'ERR_HW_BAD_CONFIG'
  /** A backing-file path that is a symlink or not a regular file. */
  | 'ERR_HW_UNSAFE_PATH'
  /** A BMC-side access to memory the model does not back. */
  | 'ERR_HW_UNBACKED'
  /** The model was closed. */
  | 'ERR_HW_CLOSED';

export class HwModelError extends Error {
  readonly code: HwErrorCode;

  constructor(code: HwErrorCode, message: string) {
    super(message);
    this.name = 'HwModelError';
    this.code = code;
  }
}

export function isHwModelError(e: unknown, code?: HwErrorCode): e is HwModelError {
  return e instanceof HwModelError && (code === undefined || e.code === code);
}

function describe(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? `0x${v.toString(16)}` : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v;
}

/** An integer in [0, max]; anything else (NaN, fractions, negatives, non-numbers) throws. */
export function checkUint(v: unknown, max: number, what: string, code: HwErrorCode = 'ERR_HW_BAD_VALUE'): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new HwModelError(code, `${what}: ${describe(v)} is not an integer (0..0x${max.toString(16)})`);
  }
  if (v < 0 || v > max) {
    throw new HwModelError(code, `${what}: ${describe(v)} is outside 0..0x${max.toString(16)}`);
  }
  return v;
}

/** A register value for an 8-bit register. */
export function checkByte(v: unknown, what: string): number {
  return checkUint(v, 0xff, what);
}

/** A register value for a 32-bit register. */
export function checkU32(v: unknown, what: string): number {
  return checkUint(v, 0xffffffff, what);
}

/** A register offset, reported with the model's name when it is not decoded. */
export function badOffset(model: string, offset: unknown): HwModelError {
  return new HwModelError('ERR_HW_BAD_OFFSET', `${model}: no register at offset ${describe(offset)}`);
}

export function hex(v: number, width = 0): string {
  return `0x${(v >>> 0).toString(16).toUpperCase().padStart(width, '0')}`;
}
