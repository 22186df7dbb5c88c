/** Fixtures for control-protocol tests: two stacks joined by an in-memory link, and time helpers. */
import { ManualClock } from '../../../../lib/clock.js';
import { MCTP_OPT_ADDR_EXT, MCTP_TAG_OWNER, MSG_DONTWAIT, SOL_MCTP } from '../../../../firmware/mctp/constants.js';
import { fromSocket, socketPayload } from '../../../../firmware/mctp/control/codec.js';
import { createBindingPair, type MemoryBinding } from '../../../../firmware/mctp/loopback/binding.js';
import type { MctpInterface } from '../../../../firmware/mctp/interface.js';
import type { MctpSocket, RecvResult } from '../../../../firmware/mctp/socket.js';
import { MctpStack } from '../../../../firmware/mctp/stack.js';

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Let every deferred delivery (microtasks, then one macrotask turn) run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Advance the clock ms milliseconds, 1 ms at a time, letting async work run after each step. */
export async function runFor(clock: ManualClock, ms: number, step = 1): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    await settle(1);
  }
}

/** Advance 1 ms at a time until cond() holds; the elapsed clock time, or throws after maxMs. */
export async function runUntil(clock: ManualClock, cond: () => boolean, maxMs = 60_000): Promise<number> {
  const start = clock.now();
  await settle();
  while (!cond()) {
    if (clock.now() - start >= maxMs) throw new Error(`condition not met within ${maxMs} ms of clock time`);
    clock.advance(1);
    await settle(1);
  }
  return clock.now() - start;
}

/** Settle a promise while advancing the clock (for requests that wait on timers). */
export async function drive<T>(clock: ManualClock, p: Promise<T>, maxMs = 60_000): Promise<T> {
  let done = false;
  const watched = p.finally(() => {
    done = true;
  });
  watched.catch(() => undefined);
  await runUntil(clock, () => done, maxMs);
  return watched;
}

export interface LinkedStacks {
  clock: ManualClock;
  bmc: MctpStack;
  host: MctpStack;
  bmcIf: MctpInterface;
  hostIf: MctpInterface;
  bmcBinding: MemoryBinding;
  hostBinding: MemoryBinding;
}

/**
 * A BMC stack (EID 8 on mctp0) and a host stack (no EID yet) joined by a
 * pair binding; with `hw`, link-layer addresses 0x10 (BMC) and 0x1d (host).
 */
export function linkedStacks(opts: { hw?: boolean; clock?: ManualClock; bmcEid?: number | null; hostEid?: number | null } = {}): LinkedStacks {
  const clock = opts.clock ?? new ManualClock();
  const [a, b] = opts.hw ? createBindingPair({ hwAddr: Buffer.from([0x10]) }, { hwAddr: Buffer.from([0x1d]) }) : createBindingPair();
  const bmc = new MctpStack({ clock });
  const host = new MctpStack({ clock });
  const bmcIf = bmc.addInterface('mctp0', a);
  const hostIf = host.addInterface('mctp0', b);
  if (opts.bmcEid !== null) bmc.addAddress('mctp0', opts.bmcEid ?? 8);
  if (opts.hostEid !== undefined && opts.hostEid !== null) host.addAddress('mctp0', opts.hostEid);
  bmcIf.setUp(true);
  hostIf.setUp(true);
  return { clock, bmc, host, bmcIf, hostIf, bmcBinding: a, hostBinding: b };
}

/** A socket that sends raw control messages and reads raw answers, with extended addressing. */
export function rawControlSocket(stack: MctpStack): MctpSocket {
  const s = stack.socket();
  s.setsockopt(SOL_MCTP, MCTP_OPT_ADDR_EXT, 1);
  return s;
}

export interface AskTarget {
  eid?: number;
  ifindex?: number;
  haddr?: Buffer;
}

/**
 * Send a whole control message (type byte first) as a request from a fresh
 * socket and return the whole answer (type byte first), or null when none
 * came. A socket per request, as mctpd does: a request to EID 0 holds its
 * tag (peer ANY) until the socket closes, as in Linux.
 */
export async function ask(stack: MctpStack, to: AskTarget, msg: Buffer | string): Promise<Buffer | null> {
  return (await askFull(stack, to, msg))?.msg ?? null;
}

/** As ask(), with the answer's source address. */
export async function askFull(stack: MctpStack, to: AskTarget, msg: Buffer | string): Promise<{ msg: Buffer; addr: RecvResult['addr'] } | null> {
  const sock = rawControlSocket(stack);
  try {
    return await askOn(sock, to, msg);
  } finally {
    sock.close();
  }
}

async function askOn(sock: MctpSocket, to: AskTarget, msg: Buffer | string): Promise<{ msg: Buffer; addr: RecvResult['addr'] } | null> {
  const m = typeof msg === 'string' ? hex(msg) : msg;
  const addr =
    to.ifindex !== undefined
      ? { net: 0, eid: to.eid ?? 0, type: m[0]!, tag: MCTP_TAG_OWNER, ifindex: to.ifindex, haddr: to.haddr ?? Buffer.alloc(0) }
      : { net: 0, eid: to.eid ?? 0, type: m[0]!, tag: MCTP_TAG_OWNER };
  sock.sendto(socketPayload(m), addr);
  await settle();
  try {
    const r = await sock.recvfrom({ flags: MSG_DONTWAIT });
    return { msg: fromSocket(r.addr.type, r.data), addr: r.addr };
  } catch {
    return null;
  }
}
