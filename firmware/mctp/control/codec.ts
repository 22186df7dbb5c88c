/**
 * Whole control messages: header plus body, for requests and responses. A
 * message here starts with the message type byte, as on the wire after the
 * transport header. Sockets carry the type in the address instead, so
 * `socketPayload` drops it for sendto and `fromSocket` puts back what
 * recvfrom reported.
 */
import { CC, CTRL_HDR_LEN, commandName, isKnownCommand } from './constants.js';
import { decodeControlHeader, encodeControlHeader, type ControlHeader } from './header.js';
import { headerError, lengthError, ok, unsupportedError, type ParseResult } from './parse.js';
import { decodeRequestBody, encodeRequestBody, type RequestDecodeOptions } from './requests.js';
import { decodeResponseBody, encodeResponseBody } from './responses.js';
import type { ControlRequest, ControlResponse } from './types.js';

export type { RequestDecodeOptions } from './requests.js';

export interface DecodedRequest {
  header: ControlHeader;
  request: ControlRequest;
}

export interface DecodedResponse {
  header: ControlHeader;
  cc: number;
  /** Present exactly when cc is SUCCESS. */
  response?: ControlResponse;
}

export function encodeRequest(iid: number, req: ControlRequest, opts: { datagram?: boolean } = {}): Buffer {
  const header = encodeControlHeader({ rq: true, datagram: opts.datagram ?? false, iid, command: req.command });
  return Buffer.concat([header, encodeRequestBody(req)]);
}

/** A successful response (completion code 0). Rq and D are clear; the IID is the request's. */
export function encodeResponse(iid: number, resp: ControlResponse): Buffer {
  const header = encodeControlHeader({ rq: false, datagram: false, iid, command: resp.command });
  return Buffer.concat([header, Buffer.from([CC.Success]), encodeResponseBody(resp)]);
}

/** An error response: the completion code alone, or followed by `extra` where a peer expects it. */
export function encodeErrorResponse(iid: number, command: number, cc: number, extra: Buffer = Buffer.alloc(0)): Buffer {
  const header = encodeControlHeader({ rq: false, datagram: false, iid, command });
  return Buffer.concat([header, Buffer.from([cc]), extra]);
}

/**
 * Decode a request. Rq must be set; D is reported (datagrams get no answer).
 * An unknown command is an 'unsupported' error (answer: CC 0x05).
 */
export function decodeRequest(msg: Uint8Array, opts: RequestDecodeOptions = {}): ParseResult<DecodedRequest> {
  const h = decodeControlHeader(msg);
  if (!h.ok) return h;
  const header = h.value;
  if (!header.rq) return headerError(`${commandName(header.command)} message has Rq = 0: a response, not a request`);
  if (!isKnownCommand(header.command)) return unsupportedError(`${commandName(header.command)} is not supported`);
  const body = Buffer.from(msg.subarray(CTRL_HDR_LEN));
  const r = decodeRequestBody(header.command, body, opts);
  if (!r.ok) return r;
  return ok({ header, request: r.value });
}

/**
 * Decode a response: Rq and D clear, a completion code, and for SUCCESS a
 * body exactly as long as the command's layout.
 */
export function decodeResponse(msg: Uint8Array): ParseResult<DecodedResponse> {
  const h = decodeControlHeader(msg);
  if (!h.ok) return h;
  const header = h.value;
  if (header.rq) return headerError(`${commandName(header.command)} message has Rq = 1: a request, not a response`);
  if (header.datagram) return headerError(`${commandName(header.command)} response has D = 1, which only requests may carry`);
  if (msg.length < CTRL_HDR_LEN + 1) return lengthError(`${commandName(header.command)} response has no completion code`);
  const cc = msg[CTRL_HDR_LEN]!;
  if (cc !== CC.Success) return ok({ header, cc });
  if (!isKnownCommand(header.command)) return unsupportedError(`${commandName(header.command)} is not a command this codec knows`);
  const r = decodeResponseBody(header.command, Buffer.from(msg.subarray(CTRL_HDR_LEN + 1)));
  if (!r.ok) return r;
  return ok({ header, cc, response: r.value });
}

/** The part of a message a socket sends: everything after the type byte. */
export function socketPayload(msg: Buffer): Buffer {
  return msg.subarray(1);
}

/** A whole message from what recvfrom returned: the address's type byte, then the data. */
export function fromSocket(type: number, data: Buffer): Buffer {
  const msg = Buffer.allocUnsafe(data.length + 1);
  msg[0] = type;
  data.copy(msg, 1);
  return msg;
}
