/**
 * In-memory bindings: a loopback (what it sends comes back in) and a pair of
 * bindings joined like a veth pair or a cable between two stacks. Delivery is
 * deferred to a microtask so a receiver that answers at once never re-enters
 * the sender's transmit loop.
 */
import type { BindingMtu, BindingPort, MctpBinding } from '../binding.js';
import { MCTP_BASELINE_MTU } from '../constants.js';

export interface MemoryBindingOptions {
  /** Link-layer address of this end (its length is hwAddrLen). Default: none. */
  hwAddr?: Buffer;
  mtu?: Partial<BindingMtu>;
  kind?: string;
}

/** One end of an in-memory link. */
export class MemoryBinding implements MctpBinding {
  readonly kind: string;
  readonly hwAddr: Buffer;
  readonly mtu: BindingMtu;
  peer: MemoryBinding | null = null;
  #port: BindingPort | null = null;
  #up = false;
  #pending: Array<{ packet: Buffer; from: Buffer }> = [];
  #flushScheduled = false;
  #stats = { txPackets: 0, rxPackets: 0, droppedNoPeer: 0 };

  constructor(opts: MemoryBindingOptions = {}) {
    this.kind = opts.kind ?? 'pair';
    this.hwAddr = opts.hwAddr ?? Buffer.alloc(0);
    this.mtu = {
      initial: opts.mtu?.initial ?? MCTP_BASELINE_MTU,
      min: opts.mtu?.min ?? MCTP_BASELINE_MTU,
      max: opts.mtu?.max ?? 0xffff,
    };
  }

  get hwAddrLen(): number {
    return this.hwAddr.length;
  }

  attach(port: BindingPort): void {
    this.#port = port;
  }

  get isUp(): boolean {
    return this.#up;
  }

  setUp(up: boolean): void {
    this.#up = up;
    this.#updateCarrier();
    if (this.peer && this.peer !== this) this.peer.#updateCarrier();
  }

  /** Carrier needs both ends up, like a cable with a device on each end. */
  #updateCarrier(): void {
    this.#port?.carrier(this.#up && !!this.peer && this.peer.#up);
  }

  transmit(packet: Buffer): boolean {
    const peer = this.peer;
    if (!peer || !peer.#up) {
      this.#stats.droppedNoPeer++;
      return true;
    }
    this.#stats.txPackets++;
    peer.#pending.push({ packet, from: this.hwAddr });
    peer.#scheduleFlush();
    return true;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      const batch = this.#pending;
      this.#pending = [];
      for (const { packet, from } of batch) {
        this.#stats.rxPackets++;
        this.#port?.receive(packet, from.length ? from : undefined);
      }
    });
  }

  stats(): Record<string, unknown> {
    return { ...this.#stats, peer: this.peer ? this.peer.hwAddr.toString('hex') : null };
  }

  close(): void {
    this.setUp(false);
  }
}

/** Two bindings joined back to back. */
export function createBindingPair(a: MemoryBindingOptions = {}, b: MemoryBindingOptions = {}): [MemoryBinding, MemoryBinding] {
  const x = new MemoryBinding(a);
  const y = new MemoryBinding(b);
  x.peer = y;
  y.peer = x;
  return [x, y];
}

/** A loopback binding: every packet sent comes back in on the same interface. */
export function createLoopbackBinding(opts: MemoryBindingOptions = {}): MemoryBinding {
  const lo = new MemoryBinding({ kind: 'loopback', ...opts });
  lo.peer = lo;
  return lo;
}
