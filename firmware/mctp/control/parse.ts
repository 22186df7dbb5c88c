/**
 * Results of decoding control messages. Decoders never throw on the bytes
 * they are given: hostile input comes back as a ParseError naming the
 * completion code a responder would answer with (0x03 for a length that does
 * not fit the command, 0x02 for a field value that is not allowed, 0x05 for a
 * command we do not know).
 */
import { SmartBuffer } from 'smart-buffer';
import { CC } from './constants.js';

export type ParseErrorKind =
  /** Not a control message we can answer at all: wrong type byte, IC set, truncated header, wrong Rq/D. */
  | 'header'
  /** A command code this codec does not know. */
  | 'unsupported'
  | 'length'
  | 'field';

export interface ParseError {
  kind: ParseErrorKind;
  /** The completion code a responder answers with (meaningless for 'header', which gets no answer). */
  cc: number;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ParseError };

export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function headerError(message: string): ParseResult<never> {
  return { ok: false, error: { kind: 'header', cc: CC.InvalidData, message } };
}

export function lengthError(message: string): ParseResult<never> {
  return { ok: false, error: { kind: 'length', cc: CC.InvalidLength, message } };
}

export function fieldError(message: string): ParseResult<never> {
  return { ok: false, error: { kind: 'field', cc: CC.InvalidData, message } };
}

export function unsupportedError(message: string): ParseResult<never> {
  return { ok: false, error: { kind: 'unsupported', cc: CC.UnsupportedCmd, message } };
}

/**
 * A bounds-checked reader over a message body: reads past the end return
 * undefined instead of throwing, so decoders check once and report a length
 * error.
 */
export class BodyReader {
  readonly #sb: SmartBuffer;

  constructor(body: Buffer) {
    this.#sb = SmartBuffer.fromBuffer(body);
  }

  get remaining(): number {
    return this.#sb.remaining();
  }

  u8(): number | undefined {
    return this.#sb.remaining() >= 1 ? this.#sb.readUInt8() : undefined;
  }

  u16be(): number | undefined {
    return this.#sb.remaining() >= 2 ? this.#sb.readUInt16BE() : undefined;
  }

  u32be(): number | undefined {
    return this.#sb.remaining() >= 4 ? this.#sb.readUInt32BE() : undefined;
  }

  bytes(n: number): Buffer | undefined {
    return this.#sb.remaining() >= n ? Buffer.from(this.#sb.readBuffer(n)) : undefined;
  }

  rest(): Buffer {
    return Buffer.from(this.#sb.readBuffer(this.#sb.remaining()));
  }
}
