/**
 * MCTP echo, compatible with CodeConstruct's mctp-req / mctp-echo: message
 * type 0x7E (vendor defined, PCI) whose payload starts with the vendor header
 * cc de f0; the responder sends the same payload back to the requester with
 * the tag owner bit cleared. Used for connectivity checks and benchmarks.
 */
import type { Clock } from '../../lib/clock.js';
import { delay } from '../../lib/wait.js';
import { MCTP_ADDR_ANY, MCTP_NET_ANY, MCTP_TAG_OWNER, MCTP_TYPE_VENDOR_PCI } from './constants.js';
import { MctpError } from './errors.js';
import type { MctpSocket } from './socket.js';
import type { MctpStack } from './stack.js';

export const ECHO_TYPE = MCTP_TYPE_VENDOR_PCI;
/** The "Code Construct allocation" vendor-echo header mctp-req puts first. */
export const ECHO_HEADER = Buffer.from([0xcc, 0xde, 0xf0]);

export interface EchoResponderStats {
  echoed: number;
  /** Type 0x7E messages without the cc de f0 header (another vendor's). */
  ignored: number;
  sendErrors: number;
}

export interface EchoResponder {
  readonly stats: Readonly<EchoResponderStats>;
  close(): void;
}

/** Bind (NET_ANY, ADDR_ANY, 0x7E) and echo, as mctp-echo does. */
export function startEchoResponder(stack: MctpStack): EchoResponder {
  const sock = stack.socket();
  sock.bind({ net: MCTP_NET_ANY, eid: MCTP_ADDR_ANY, type: ECHO_TYPE, tag: MCTP_TAG_OWNER });
  const stats: EchoResponderStats = { echoed: 0, ignored: 0, sendErrors: 0 };
  void (async () => {
    for await (const r of sock) {
      if (r.data.length < ECHO_HEADER.length || !r.data.subarray(0, ECHO_HEADER.length).equals(ECHO_HEADER)) {
        stats.ignored++;
        continue;
      }
      try {
        sock.sendto(r.data, { ...r.addr, tag: r.addr.tag & ~MCTP_TAG_OWNER });
        stats.echoed++;
      } catch {
        stats.sendErrors++;
      }
    }
  })();
  return { stats, close: () => sock.close() };
}

export interface EchoRequest {
  net?: number;
  eid: number;
  /** Bytes after the header (default: one byte, as mctp-req's len 1); byte i is i & 0xff. */
  len?: number;
  /** Or explicit data after the header. */
  data?: Buffer;
  timeoutMs?: number;
  clock: Clock;
}

export interface EchoResult {
  rttMs: number;
  bytes: number;
}

/** Receive with a timeout on the injectable clock; closes the socket either way. */
export async function recvWithTimeout<T>(sock: MctpSocket, clock: Clock, timeoutMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  const done = new AbortController();
  let timedOut: MctpError | undefined;
  const expired = delay(timeoutMs, { clock, signal: done.signal }).then((): never => {
    timedOut = new MctpError('ETIMEDOUT', `${what}: no response within ${timeoutMs} ms`);
    // Closing fails the receive still pending in fn, so nothing is left waiting.
    sock.close();
    throw timedOut;
  });
  try {
    return await Promise.race([fn(), expired]);
  } catch (e) {
    // Whichever rejection arrives first, a timeout is reported as one (not as the socket's EBADF).
    throw timedOut ?? e;
  } finally {
    done.abort();
    sock.close();
  }
}

/** One mctp-req exchange: send, wait for the echo, check it is identical. */
export async function echoRequest(stack: MctpStack, req: EchoRequest): Promise<EchoResult> {
  const body = req.data ?? Buffer.from(Array.from({ length: req.len ?? 1 }, (_, i) => i & 0xff));
  const payload = Buffer.concat([ECHO_HEADER, body]);
  const sock = stack.socket();
  const start = req.clock.now();
  const timeoutMs = req.timeoutMs ?? 1000;
  return recvWithTimeout(sock, req.clock, timeoutMs, `echo to EID ${req.eid}`, async () => {
    sock.sendto(payload, { net: req.net ?? MCTP_NET_ANY, eid: req.eid, type: ECHO_TYPE, tag: MCTP_TAG_OWNER });
    for (;;) {
      const r = await sock.recvfrom();
      if (r.addr.eid !== req.eid || r.addr.type !== ECHO_TYPE) continue;
      if (!r.data.equals(payload)) {
        throw new MctpError('ENOMSG', `echo from EID ${req.eid} differs from what was sent (${r.data.length} vs ${payload.length} bytes)`);
      }
      return { rttMs: req.clock.now() - start, bytes: payload.length };
    }
  });
}
