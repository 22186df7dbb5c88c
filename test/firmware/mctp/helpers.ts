/** Test fixtures for the MCTP core: a scriptable binding and packet builders. */
import type { BindingMtu, BindingPort, MctpBinding } from '../../../firmware/mctp/binding.js';
import { ManualClock, type Clock } from '../../../lib/clock.js';
import { MCTP_VER } from '../../../firmware/mctp/constants.js';
import { encodePacket } from '../../../firmware/mctp/header.js';
import { createBindingPair } from '../../../firmware/mctp/loopback/binding.js';
import { MctpStack } from '../../../firmware/mctp/stack.js';
export { prng } from '../../helpers/prng.js';

/** A binding whose wire is the test: it records what is sent and injects what is received. */
export class TestBinding implements MctpBinding {
  readonly kind = 'test';
  readonly hwAddr: Buffer;
  readonly mtu: BindingMtu;
  port!: BindingPort;
  sent: Array<{ packet: Buffer; hwDest: Buffer | undefined }> = [];
  /** When set, transmit() refuses packets (medium busy). */
  busy = false;
  up = false;

  constructor(opts: { mtu?: number; hwAddr?: Buffer } = {}) {
    this.hwAddr = opts.hwAddr ?? Buffer.alloc(0);
    const mtu = opts.mtu ?? 68;
    this.mtu = { initial: mtu, min: 5, max: 65535 };
  }

  get hwAddrLen(): number {
    return this.hwAddr.length;
  }

  attach(port: BindingPort): void {
    this.port = port;
  }

  setUp(up: boolean): void {
    this.up = up;
    this.port.carrier(up);
  }

  transmit(packet: Buffer, hwDest?: Buffer): boolean {
    if (this.busy) return false;
    this.sent.push({ packet, hwDest });
    return true;
  }

  inject(packet: Buffer, hwSrc?: Buffer): void {
    this.port.receive(packet, hwSrc);
  }

  stats(): Record<string, unknown> {
    return { sent: this.sent.length };
  }

  close(): void {}
}

export interface PktSpec {
  ver?: number;
  src?: number;
  dest?: number;
  som?: boolean;
  eom?: boolean;
  seq?: number;
  to?: boolean;
  tag?: number;
}

/** A packet with a header from `h` and the given body (type byte first in a SOM packet). */
export function pkt(h: PktSpec, body: number[] | Buffer = [0]): Buffer {
  return encodePacket(
    {
      ver: h.ver ?? MCTP_VER,
      dest: h.dest ?? 8,
      src: h.src ?? 10,
      som: h.som ?? true,
      eom: h.eom ?? true,
      seq: h.seq ?? 0,
      to: h.to ?? true,
      tag: h.tag ?? 0,
    },
    Buffer.from(body),
  );
}

/** The KUnit route-test set-up: a device with MTU 68 and local EID 8 on the default net. */
export function setup(opts: { mtu?: number; eid?: number | null; net?: number; hwAddr?: Buffer } = {}) {
  const clock = new ManualClock();
  const stack = new MctpStack({ clock });
  const binding = new TestBinding({ mtu: opts.mtu ?? 68, ...(opts.hwAddr ? { hwAddr: opts.hwAddr } : {}) });
  const dev = stack.addInterface('mctptest0', binding, opts.net ? { net: opts.net } : {});
  dev.setUp(true);
  if (opts.eid !== null) stack.addAddress('mctptest0', opts.eid ?? 8);
  return { clock, stack, binding, dev };
}

/** Let deferred deliveries (microtasks) run. */
export const settle = (): Promise<void> => new Promise((r) => setImmediate(r));


/** Two stacks joined by an in-memory link: "bmc" EID 8 and "host" EID 9 on mctp0, routed to each other. */
export function pairedStacks(opts: { mtu?: number; clock?: Clock; hwAddrs?: [Buffer, Buffer] } = {}) {
  const mtu = { initial: opts.mtu ?? 68 };
  const [a, b] = createBindingPair({ mtu, ...(opts.hwAddrs ? { hwAddr: opts.hwAddrs[0] } : {}) }, { mtu, ...(opts.hwAddrs ? { hwAddr: opts.hwAddrs[1] } : {}) });
  const bmc = new MctpStack(opts.clock ? { clock: opts.clock } : {});
  const host = new MctpStack(opts.clock ? { clock: opts.clock } : {});
  bmc.addInterface('mctp0', a).setUp(true);
  host.addInterface('mctp0', b).setUp(true);
  bmc.addAddress('mctp0', 8);
  host.addAddress('mctp0', 9);
  bmc.addRoute({ min: 9, dev: 'mctp0' });
  host.addRoute({ min: 8, dev: 'mctp0' });
  return { bmc, host };
}
