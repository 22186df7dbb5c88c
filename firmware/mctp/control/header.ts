/**
 * The control message header (DSP0236 §11.1): the message type byte (0x00,
 * IC = 0), then Rq (bit 7), D (bit 6), a reserved bit and the Instance ID
 * (bits 4:0), then the command code. Responses carry the completion code in
 * the next byte.
 */
import { CTRL_D, CTRL_HDR_LEN, CTRL_IID_MASK, CTRL_RQ, MCTP_CTRL_TYPE } from './constants.js';
import { headerError, ok, type ParseResult } from './parse.js';

export interface ControlHeader {
  /** Rq: a request (true) or a response (false). */
  rq: boolean;
  /** D: a datagram, i.e. a request that gets no response. */
  datagram: boolean;
  /** Instance ID, 0..31: matches a response to its request. */
  iid: number;
  command: number;
}

export function encodeControlHeader(h: ControlHeader): Buffer {
  const b = Buffer.alloc(CTRL_HDR_LEN);
  b[0] = MCTP_CTRL_TYPE;
  b[1] = (h.rq ? CTRL_RQ : 0) | (h.datagram ? CTRL_D : 0) | (h.iid & CTRL_IID_MASK);
  b[2] = h.command & 0xff;
  return b;
}

/**
 * Decode the header of a whole control message (type byte first). The
 * reserved bit 5 is ignored, as DSP0236 asks of receivers.
 */
export function decodeControlHeader(msg: Uint8Array): ParseResult<ControlHeader> {
  if (msg.length < 1) return headerError('empty message');
  const type = msg[0]!;
  if (type & 0x80) return headerError('IC bit set: control messages carry no integrity check');
  if (type !== MCTP_CTRL_TYPE) return headerError(`message type 0x${type.toString(16)} is not MCTP control (0x00)`);
  if (msg.length < CTRL_HDR_LEN) return headerError(`${msg.length} bytes is shorter than the ${CTRL_HDR_LEN}-byte control header`);
  const flags = msg[1]!;
  return ok({
    rq: (flags & CTRL_RQ) !== 0,
    datagram: (flags & CTRL_D) !== 0,
    iid: flags & CTRL_IID_MASK,
    command: msg[2]!,
  });
}

/** The Instance ID that follows iid: the global counter mctpd keeps, (iid + 1) & 0x1F. */
export function nextIid(iid: number): number {
  return (iid + 1) & CTRL_IID_MASK;
}
