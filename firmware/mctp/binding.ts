/**
 * The contract between the MCTP core and a physical binding (astlpc, serial,
 * loopback, ...). It plays the part of a Linux net_device: the core owns the
 * interface (addresses, routes, counters, capture) and hands the binding whole
 * MCTP packets (4-byte transport header included); the binding moves them over
 * its medium and hands received packets back.
 *
 * Flow control follows libmctp: transmit() may refuse a packet (return false)
 * while the medium is busy — astlpc has one packet in flight per direction —
 * and the binding calls port.txReady() once it can take another. The core keeps
 * the refused packet at the head of the interface's queue, so nothing is lost.
 */

/** Upcalls the core gives a binding when it is attached to an interface. */
export interface BindingPort {
  /**
   * A packet arrived. `packet` starts at the MCTP transport header.
   * `hwSrc` is the sender's link-layer address (length = hwAddrLen), if known.
   * The core validates everything; a binding need not pre-check the header.
   */
  receive(packet: Buffer, hwSrc?: Buffer): void;
  /** The binding can accept transmit() again after refusing a packet. */
  txReady(): void;
  /**
   * Carrier/link state as the medium sees it (e.g. astlpc CHANNEL_ACTIVE, a
   * serial port open). While down, the core queues nothing new and drops
   * (counts) what it cannot send.
   */
  carrier(up: boolean): void;
  /**
   * The medium negotiated a new MTU (astlpc does, per channel init). In bytes,
   * transport header included, like Linux's dev->mtu.
   */
  mtuChanged(mtu: number): void;
}

export interface BindingMtu {
  /** MTU the interface starts with (header included; 68 = DSP0236 baseline). */
  readonly initial: number;
  readonly min: number;
  readonly max: number;
}

export interface MctpBinding {
  /** Short kind name: "astlpc", "serial", "loopback", "pair". */
  readonly kind: string;
  /** Link-layer address length in bytes (0 for serial and astlpc). */
  readonly hwAddrLen: number;
  /** This end's link-layer address (hwAddrLen bytes; empty when hwAddrLen is 0). */
  readonly hwAddr: Buffer;
  readonly mtu: BindingMtu;
  /** Called once when the core attaches the binding to an interface. */
  attach(port: BindingPort): void;
  /**
   * Interface administratively up/down (mctp link set X up|down). A binding
   * may start or stop its medium here; it reports carrier separately.
   */
  setUp(up: boolean): void;
  /**
   * Send one packet (header included, already within the MTU). `hwDest` is the
   * next hop's link-layer address from the neighbour table or extended
   * addressing, or undefined when none is known (point-to-point media ignore it).
   * Returns false when the medium is busy: the packet was NOT taken, and the
   * binding will call port.txReady() later.
   */
  transmit(packet: Buffer, hwDest?: Buffer): boolean;
  /** Binding-specific counters and state for the status API (plain JSON). */
  stats(): Record<string, unknown>;
  /** Release the medium (close sockets/files, stop timers). */
  close(): Promise<void> | void;
}
