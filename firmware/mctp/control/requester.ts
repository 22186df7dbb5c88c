/**
 * Sends control requests and waits for their responses the way mctpd does:
 *
 *  - one socket per request, extended addressing on, tag owner set;
 *  - physical addressing (EID 0, interface index and link-layer address)
 *    for endpoints that have no EID yet, routed addressing otherwise;
 *  - up to 4 sends with the same Instance ID, each waiting 250 ms (a single
 *    send when retries are off, as for recovery polls);
 *  - Instance IDs from one counter, (iid + 1) & 0x1F;
 *  - the first message that comes back decides: too short, another IID or
 *    another command is ENOMSG, a completion code other than SUCCESS is
 *    ECONNREFUSED with the command and code in its details
 *    (completionCodeOf), a body that does not decode is ENOMSG.
 *
 * Requests run one at a time, as in mctpd's single-threaded loop: a bus
 * owner never has more than one request's tags out at once.
 * All waiting is on the injectable clock.
 */
import type { Clock } from '../../../lib/clock.js';
import { ConfigError, isCodedError } from '../../../lib/errors.js';
import { WaitError, delay } from '../../../lib/wait.js';
import { MCTP_NET_ANY, MCTP_OPT_ADDR_EXT, MCTP_TAG_OWNER, SOL_MCTP } from '../constants.js';
import { MctpError, isMctpError } from '../errors.js';
import type { SockaddrMctp, SockaddrMctpExt } from '../sockaddr.js';
import type { MctpSocket, RecvResult } from '../socket.js';
import type { MctpStack } from '../stack.js';
import { decodeResponse, encodeRequest, fromSocket, socketPayload } from './codec.js';
import { CTRL_HDR_LEN, MCTP_CTRL_TYPE, commandName, type CommandCode } from './constants.js';
import { decodeControlHeader, nextIid } from './header.js';
import type { ControlRequest, ResponseFor } from './types.js';

/** mctpd's compiled-in message timeout. */
export const CONTROL_TIMEOUT_MS = 250;
/** mctpd's sends per request: the first and three retries. */
export const CONTROL_MAX_SENDS = 4;

/** Where a request goes: an EID (routed), or a link and link-layer address (physical, to EID 0). */
export type ControlTarget = RoutedTarget | PhysicalTarget;

export interface RoutedTarget {
  eid: number;
  /** Default: the stack's default network. */
  net?: number;
}

export interface PhysicalTarget {
  ifindex: number;
  /** The endpoint's link-layer address; empty (or absent) on links without addresses. */
  hwAddr?: Uint8Array;
}

export function isPhysicalTarget(t: ControlTarget): t is PhysicalTarget {
  return (t as PhysicalTarget).ifindex !== undefined;
}

export function describeTarget(t: ControlTarget): string {
  if (!isPhysicalTarget(t)) return `EID ${t.eid}${t.net ? ` net ${t.net}` : ''}`;
  const hw = t.hwAddr && t.hwAddr.length ? Buffer.from(t.hwAddr).toString('hex') : 'none';
  return `physical address ifindex ${t.ifindex} lladdr ${hw}`;
}

export interface ControlRequesterOptions {
  /** Default: the stack's clock. */
  clock?: Clock;
  timeoutMs?: number;
  maxSends?: number;
  /** The first Instance ID used (default 0). */
  firstIid?: number;
}

export interface RequestOptions {
  /** false: one send only (mctpd's disable_retry, used for recovery polls). Default true. */
  retry?: boolean;
}

export interface ControlRequesterStats {
  requests: number;
  sends: number;
  /** Sends after the first, same Instance ID. */
  retries: number;
  /** Requests that got no response from any send. */
  timeouts: number;
  /** Responses rejected as malformed, another IID or another command (ENOMSG). */
  badResponses: number;
  /** Responses with a completion code other than SUCCESS. */
  refused: number;
  /** Requests that could not be sent (no route, link down, ...). */
  sendErrors: number;
}

/** What an ECONNREFUSED from a request carries: the command and the completion code the endpoint answered with. */
export interface CompletionCodeDetails {
  command: number;
  cc: number;
}

/** The endpoint answered with a completion code other than SUCCESS: ECONNREFUSED, with the code in `details`. */
export function completionCodeError(command: number, cc: number, target: string): MctpError {
  return new MctpError(
    'ECONNREFUSED',
    `${commandName(command)} to ${target} failed with completion code 0x${cc.toString(16).padStart(2, '0')}`,
    { details: { command, cc } },
  );
}

/** The command and completion code of a refused request, or undefined for any other error. */
export function completionCodeOf(e: unknown): CompletionCodeDetails | undefined {
  if (!isMctpError(e, 'ECONNREFUSED')) return undefined;
  const { command, cc } = e.details ?? {};
  return typeof command === 'number' && typeof cc === 'number' ? { command, cc } : undefined;
}

export class ControlRequester {
  readonly stats: ControlRequesterStats = { requests: 0, sends: 0, retries: 0, timeouts: 0, badResponses: 0, refused: 0, sendErrors: 0 };
  readonly timeoutMs: number;
  readonly maxSends: number;

  readonly #stack: MctpStack;
  readonly #clock: Clock;
  #iid: number;
  #tail: Promise<unknown> = Promise.resolve();
  #open = new Set<MctpSocket>();
  /** One per response being waited for; aborting it cancels its timer. */
  #waits = new Set<AbortController>();
  #closed = false;

  constructor(stack: MctpStack, opts: ControlRequesterOptions = {}) {
    this.#stack = stack;
    this.#clock = opts.clock ?? stack.clock;
    this.timeoutMs = opts.timeoutMs ?? CONTROL_TIMEOUT_MS;
    this.maxSends = opts.maxSends ?? CONTROL_MAX_SENDS;
    if (!(this.timeoutMs > 0) || !Number.isInteger(this.maxSends) || this.maxSends < 1) {
      throw new ConfigError(`timeoutMs must be positive and maxSends a positive integer, got ${this.timeoutMs} and ${this.maxSends}`);
    }
    this.#iid = (opts.firstIid ?? 0) & 0x1f;
  }

  /** The Instance ID the next request will use. */
  get iid(): number {
    return this.#iid;
  }

  /** Send `req` to `target` and resolve with its decoded, successful response. */
  request<R extends ControlRequest>(target: ControlTarget, req: R, opts: RequestOptions = {}): Promise<ResponseFor<R['command']>> {
    const run = this.#tail.then(() => this.#exchange(target, req, opts));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Abandon requests in flight (they fail with EBADF) and refuse new ones. */
  close(): void {
    this.#closed = true;
    // Sockets first: their receives fail with EBADF, which is what the waiting requests report.
    for (const s of this.#open) s.close();
    this.#open.clear();
    for (const w of this.#waits) w.abort();
    this.#waits.clear();
  }

  async #exchange<R extends ControlRequest>(target: ControlTarget, req: R, opts: RequestOptions): Promise<ResponseFor<R['command']>> {
    if (this.#closed) throw new MctpError('EBADF', 'control requester is closed');
    this.stats.requests++;
    const iid = this.#iid;
    this.#iid = nextIid(iid);
    const payload = socketPayload(encodeRequest(iid, req));
    const dest: SockaddrMctp | SockaddrMctpExt = isPhysicalTarget(target)
      ? {
          // The interface's own network: the tag key must be on the net the answer arrives on
          // (Linux keys on the egress device's net; our core on the address's, so we say it).
          net: this.#stack.findInterface(target.ifindex)?.net ?? MCTP_NET_ANY,
          // EID 0: the kernel lets the answer come from any EID (Set Endpoint ID's comes from the new one).
          eid: 0,
          type: MCTP_CTRL_TYPE,
          tag: MCTP_TAG_OWNER,
          ifindex: target.ifindex,
          haddr: Buffer.from(target.hwAddr ?? []),
        }
      : { net: target.net ?? MCTP_NET_ANY, eid: target.eid, type: MCTP_CTRL_TYPE, tag: MCTP_TAG_OWNER };
    const where = describeTarget(target);
    const what = `${commandName(req.command)} to ${where}`;

    const sock = this.#stack.socket();
    this.#open.add(sock);
    try {
      sock.setsockopt(SOL_MCTP, MCTP_OPT_ADDR_EXT, 1);
      // One receive for all sends: a late answer to an earlier send is as good as any.
      const pending = sock.recvfrom();
      pending.catch(() => undefined);
      const sends = opts.retry === false ? 1 : this.maxSends;
      let got: RecvResult | undefined;
      for (let i = 0; i < sends && !got; i++) {
        if (i > 0) this.stats.retries++;
        try {
          sock.sendto(payload, dest);
        } catch (e) {
          this.stats.sendErrors++;
          throw e;
        }
        this.stats.sends++;
        got = await this.#wait(pending);
      }
      if (!got) {
        this.stats.timeouts++;
        throw new MctpError('ETIMEDOUT', `${what}: no response after ${sends} attempt${sends === 1 ? '' : 's'} of ${this.timeoutMs} ms`);
      }
      return this.#validate(got, iid, req.command, what, where) as ResponseFor<R['command']>;
    } finally {
      sock.close();
      this.#open.delete(sock);
    }
  }

  /** The response, or undefined after timeoutMs of the clock. */
  async #wait(pending: Promise<RecvResult>): Promise<RecvResult | undefined> {
    const done = new AbortController();
    this.#waits.add(done);
    const timedOut = delay(this.timeoutMs, { clock: this.#clock, signal: done.signal }).then(() => undefined);
    try {
      return await Promise.race([pending, timedOut]);
    } catch (e) {
      // close() ends the timer too; the socket's EBADF is the answer then.
      if (isCodedError(e, 'ERR_WAIT_ABORTED', WaitError)) throw new MctpError('EBADF', 'control requester is closed');
      throw e;
    } finally {
      done.abort();
      this.#waits.delete(done);
    }
  }

  #validate(r: RecvResult, iid: number, command: number, what: string, where: string): ResponseFor<CommandCode> {
    const bad = (why: string): never => {
      this.stats.badResponses++;
      throw new MctpError('ENOMSG', `${what}: ${why}`);
    };
    const msg = fromSocket(r.addr.type, r.data);
    if (r.addr.type !== MCTP_CTRL_TYPE) bad(`response has message type 0x${r.addr.type.toString(16)}, not control`);
    if (msg.length < CTRL_HDR_LEN + 1) bad(`response of ${msg.length - 1} bytes has no completion code`);
    const h = decodeControlHeader(msg);
    if (!h.ok) return bad(h.error.message);
    if (h.value.iid !== iid) bad(`response has Instance ID ${h.value.iid}, expected ${iid}`);
    if (h.value.command !== command) bad(`response is for ${commandName(h.value.command)}`);
    const d = decodeResponse(msg);
    if (!d.ok) return bad(d.error.message);
    if (d.value.cc !== 0) {
      this.stats.refused++;
      throw completionCodeError(command, d.value.cc, where);
    }
    return d.value.response!;
  }
}
