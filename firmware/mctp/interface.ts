/**
 * An MCTP interface: what a Linux MCTP net_device is to net/mctp. It owns the
 * local EIDs, the network it belongs to, MTU, up/down, the transmit queue,
 * counters and packet capture, and it drives one binding. Received packets go
 * to the stack's input path through `onReceive`.
 */
import type { BindingPort, MctpBinding } from './binding.js';
import { MCTP_HDR_LEN } from './constants.js';
import { newInterfaceCounters, type InterfaceCounters, type RxDropReason, type TxDropReason } from './counters.js';
import { MctpError } from './errors.js';

/** Receives a copy of every packet seen on the interface (pcap writers). */
export interface PacketTap {
  packet(direction: 'in' | 'out', packet: Buffer, hwAddr?: Buffer): void;
}

export interface InterfaceStackHooks {
  onReceive(iface: MctpInterface, packet: Buffer, hwSrc?: Buffer): void;
  onCarrier(iface: MctpInterface, up: boolean): void;
}

interface QueuedPacket {
  packet: Buffer;
  hwDest: Buffer | undefined;
}

/** Linux queues 1000 packets; one maximal message at the baseline MTU needs 1040, so allow two. */
export const DEFAULT_TX_QUEUE_LEN = 2100;

export interface InterfaceOptions {
  net: number;
  txQueueLen?: number;
}

export class MctpInterface {
  readonly index: number;
  readonly name: string;
  readonly binding: MctpBinding;
  readonly counters: InterfaceCounters = newInterfaceCounters();
  /** Local EIDs in the order added; the first is the source EID of outgoing packets. */
  readonly addrs: number[] = [];
  /** Static neighbour table: EID -> link-layer address. */
  readonly neighbours = new Map<number, Buffer>();
  net: number;
  txQueueLen: number;

  #mtu: number;
  #adminUp = false;
  #carrier = false;
  #queue: QueuedPacket[] = [];
  #busy = false;
  #kickScheduled = false;
  #taps = new Set<PacketTap>();
  #hooks: InterfaceStackHooks;

  constructor(index: number, name: string, binding: MctpBinding, opts: InterfaceOptions, hooks: InterfaceStackHooks) {
    this.index = index;
    this.name = name;
    this.binding = binding;
    this.net = opts.net;
    this.txQueueLen = opts.txQueueLen ?? DEFAULT_TX_QUEUE_LEN;
    this.#mtu = binding.mtu.initial;
    this.#hooks = hooks;
    const port: BindingPort = {
      receive: (packet, hwSrc) => this.#receive(packet, hwSrc),
      txReady: () => {
        this.#busy = false;
        this.#scheduleKick();
      },
      carrier: (up) => this.#setCarrier(up),
      mtuChanged: (mtu) => {
        // A binding reports what its medium negotiated; clamp into what the core can fragment to.
        if (Number.isInteger(mtu) && mtu > MCTP_HDR_LEN) this.#mtu = mtu;
      },
    };
    binding.attach(port);
  }

  get mtu(): number {
    return this.#mtu;
  }

  /** mctp link set X mtu N: must lie within what the binding supports. */
  setMtu(mtu: number): void {
    const { min, max } = this.binding.mtu;
    if (!Number.isInteger(mtu) || mtu < min || mtu > max) {
      throw new MctpError('EINVAL', `MTU ${mtu} is outside ${this.name}'s range ${min}..${max}`);
    }
    this.#mtu = mtu;
  }

  get up(): boolean {
    return this.#adminUp;
  }

  get carrier(): boolean {
    return this.#carrier;
  }

  /** Usable for transmit: administratively up and the medium reports carrier. */
  get running(): boolean {
    return this.#adminUp && this.#carrier;
  }

  get hwAddr(): Buffer {
    return this.binding.hwAddr;
  }

  get txQueueDepth(): number {
    return this.#queue.length;
  }

  setUp(up: boolean): void {
    if (up === this.#adminUp) return;
    this.#adminUp = up;
    if (!up) this.#flushQueue('if-down');
    this.binding.setUp(up);
  }

  addTap(tap: PacketTap): void {
    this.#taps.add(tap);
  }

  removeTap(tap: PacketTap): void {
    this.#taps.delete(tap);
  }

  countRxDrop(reason: RxDropReason): void {
    this.counters.rxDropped++;
    this.counters.rxDrops[reason]++;
  }

  countTxDrop(reason: TxDropReason, n = 1): void {
    this.counters.txDropped += n;
    this.counters.txDrops[reason] += n;
  }

  /**
   * Queue the packets of one message for transmission, all or nothing: a
   * message is never half-sent because the queue filled up.
   */
  transmit(packets: Buffer[], hwDest?: Buffer): void {
    if (!this.#adminUp) throw new MctpError('ENETDOWN', `interface ${this.name} is down`);
    if (!this.#carrier) throw new MctpError('ENETDOWN', `interface ${this.name} has no carrier (link not established)`);
    if (this.#queue.length + packets.length > this.txQueueLen) {
      throw new MctpError(
        'ENOBUFS',
        `transmit queue of ${this.name} is full (${this.#queue.length} of ${this.txQueueLen} packets queued, ${packets.length} more needed)`,
      );
    }
    for (const packet of packets) this.#queue.push({ packet, hwDest });
    this.#kick();
  }

  #scheduleKick(): void {
    if (this.#kickScheduled) return;
    this.#kickScheduled = true;
    queueMicrotask(() => {
      this.#kickScheduled = false;
      this.#kick();
    });
  }

  #kick(): void {
    while (!this.#busy && this.#queue.length > 0 && this.running) {
      const head = this.#queue[0]!;
      let accepted: boolean;
      try {
        accepted = this.binding.transmit(head.packet, head.hwDest);
      } catch {
        this.#queue.shift();
        this.countTxDrop('binding-error');
        continue;
      }
      if (!accepted) {
        this.#busy = true;
        return;
      }
      this.#queue.shift();
      this.counters.txPackets++;
      this.counters.txBytes += head.packet.length;
      for (const tap of this.#taps) tap.packet('out', head.packet);
    }
  }

  #receive(packet: Buffer, hwSrc?: Buffer): void {
    this.counters.rxPackets++;
    this.counters.rxBytes += packet.length;
    for (const tap of this.#taps) tap.packet('in', packet, hwSrc);
    if (!this.#adminUp) {
      this.countRxDrop('if-down');
      return;
    }
    this.#hooks.onReceive(this, packet, hwSrc);
  }

  #setCarrier(up: boolean): void {
    if (up === this.#carrier) return;
    this.#carrier = up;
    if (up) {
      // A fresh link has nothing in flight.
      this.#busy = false;
    } else {
      this.#flushQueue('carrier-lost');
    }
    this.#hooks.onCarrier(this, up);
    if (up) this.#scheduleKick();
  }

  #flushQueue(reason: TxDropReason): void {
    if (this.#queue.length) this.countTxDrop(reason, this.#queue.length);
    this.#queue = [];
    this.#busy = false;
  }

  /** Plain JSON for the status API and the CLI. */
  snapshot(): Record<string, unknown> {
    return {
      index: this.index,
      name: this.name,
      kind: this.binding.kind,
      hwAddr: this.hwAddr.toString('hex'),
      net: this.net,
      mtu: this.mtu,
      up: this.up,
      carrier: this.carrier,
      addrs: [...this.addrs],
      txQueueDepth: this.#queue.length,
      counters: structuredClone(this.counters),
      binding: this.binding.stats(),
    };
  }
}
