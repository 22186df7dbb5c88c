/**
 * The hardware models' one error class and its catalogue of codes, plus the
 * argument checks every model shares. A model throws only for caller bugs (a
 * register offset that does not exist, a value that does not fit the
 * register) and for a bad configuration, which is lib's ConfigError
 * (ERR_BAD_CONFIG) as everywhere else: it never half-applies an access, so
 * state is untouched when one of these is thrown. Things a *host* may
 * legitimately cause at run time (an LPC access outside the window, bytes
 * arriving at a full FIFO) are refused and counted instead.
 */
import { CodedError, ConfigError, isCodedError } from '../lib/errors.js';


export type HwErrorCode =
  /** A register offset this model does not decode. */
  | 'ERR_HW_BAD_OFFSET'
  /** A value that is not an integer in the register's range. */
  | 'ERR_HW_BAD_VALUE'
  /** A bad argument to a non-register API (length, address, buffer). */
  | 'ERR_HW_BAD_ARGUMENT'
  /** A backing-file path that is a symlink or not a regular file. */
  | 'ERR_HW_UNSAFE_PATH'
  /** A BMC-side access to memory the model does not back. */
  | 'ERR_HW_UNBACKED'
  /** The model was closed. */
  | 'ERR_HW_CLOSED';

export class HwModelError extends CodedError<HwErrorCode> {}

export function isHwModelError(e: unknown, code?: HwErrorCode): e is HwModelError {
  return isCodedError(e, code, HwModelError);
}

function describe(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? `0x${v.toString(16)}` : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v;
}

/**
 * An integer in [0, max]; anything else (NaN, fractions, negatives,
 * non-numbers) throws: a HwModelError with `code`, or a ConfigError when the
 * value is a construction option ('ERR_BAD_CONFIG').
 */
export function checkUint(v: unknown, max: number, what: string, code: HwErrorCode | 'ERR_BAD_CONFIG' = 'ERR_HW_BAD_VALUE'): number {
  const fail = (message: string): Error => (code === 'ERR_BAD_CONFIG' ? new ConfigError(message) : new HwModelError(code, message));
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw fail(`${what}: ${describe(v)} is not an integer (0..0x${max.toString(16)})`);
  }
  if (v < 0 || v > max) {
    throw fail(`${what}: ${describe(v)} is outside 0..0x${max.toString(16)}`);
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
