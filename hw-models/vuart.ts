/**
 * AST2500 VUART: two UART front ends joined by their FIFOs, no serial line in
 * between. The BMC side is the 16550-compatible register file every AST2500
 * UART has (uart-16550.ts) plus the VUART's own general control registers;
 * the host side is a 16550 at an LPC I/O address — in this emulator QEMU's
 * own serial device — so here the host side is a byte stream:
 *
 *   hostTransmit(bytes)  bytes the host's UART sent → BMC RX FIFO (RBR)
 *   'host-rx' (Buffer)   bytes the BMC wrote to THR → out to the host
 *
 * On top of the 16550's rules (uart-16550.ts): bytes the host sends while
 * host-TX discard is active or while the VUART is disabled are dropped and
 * counted, and so is BMC output while it is disabled. The modem inputs are
 * fixed (DCD, DSR, CTS asserted): there is no line that could drop them.
 */
import { Uart16550, type Uart16550Counters, type Uart16550Options, type Uart16550Registers, type Uart16550Snapshot } from './uart-16550.js';

// ---- Register offsets (BMC side, after the 16550's) ---------------------------

export const VUART_GCRA = 0x20;
export const VUART_GCRB = 0x24;
export const VUART_ADDRL = 0x28;
export const VUART_ADDRH = 0x2c;

// ---- VUART general control ---------------------------------------------------

/** GCRA: the VUART (its host-side LPC decode) is enabled. */
export const GCRA_VUART_EN = 0x01;
/** GCRA: host SerIRQ polarity (1 = active high). */
export const GCRA_HOST_SIRQ_POLARITY = 0x02;
/** GCRA: when set, host TX is kept; when clear, bytes the host sends are discarded. */
export const GCRA_DISABLE_HOST_TX_DISCARD = 0x20;
/** GCRB: host SerIRQ number in bits 7-4. */
export const GCRB_HOST_SIRQ_MASK = 0xf0;
export const GCRB_HOST_SIRQ_SHIFT = 4;

export interface VuartCounters extends Uart16550Counters {
  /** Host bytes dropped because host-TX discard was active. */
  hostDroppedDiscard: number;
  /** Host bytes dropped because the VUART was disabled. */
  hostDroppedDisabled: number;
  /** BMC bytes dropped on the way out because the VUART was disabled. */
  txDroppedDisabled: number;
}

export interface VuartSnapshot extends Uart16550Snapshot {
  enabled: boolean;
  hostTxDiscard: boolean;
  lpcAddress: number;
  sirq: number;
  sirqActiveHigh: boolean;
  regs: Uart16550Registers & { gcra: number; gcrb: number; addrl: number; addrh: number };
  counters: VuartCounters;
}

export type VuartOptions = Uart16550Options;

export class Vuart extends Uart16550 {
  #gcra = 0;
  #gcrb = 0;
  #addrl = 0;
  #addrh = 0;
  #gated = { hostDroppedDiscard: 0, hostDroppedDisabled: 0, txDroppedDisabled: 0 };

  constructor(options: VuartOptions = {}) {
    super('VUART', options);
  }

  // ---- Derived state ----

  get enabled(): boolean {
    return (this.#gcra & GCRA_VUART_EN) !== 0;
  }

  get hostTxDiscard(): boolean {
    return (this.#gcra & GCRA_DISABLE_HOST_TX_DISCARD) === 0;
  }

  // ---- General control registers ----

  protected override decodesExtra(offset: number): boolean {
    return offset >= VUART_GCRA && offset <= VUART_ADDRH;
  }

  protected override readExtra(offset: number): number {
    if (offset === VUART_GCRA) return this.#gcra;
    if (offset === VUART_GCRB) return this.#gcrb;
    if (offset === VUART_ADDRL) return this.#addrl;
    return this.#addrh;
  }

  protected override writeExtra(offset: number, value: number): void {
    if (offset === VUART_GCRA) this.#gcra = value;
    else if (offset === VUART_GCRB) this.#gcrb = value;
    else if (offset === VUART_ADDRL) this.#addrl = value;
    else this.#addrh = value;
  }

  /** The VUART comes out of reset disabled, with host-TX discard active. */
  protected override resetExtra(): void {
    this.#gcra = 0;
    this.#gcrb = 0;
    this.#addrl = 0;
    this.#addrh = 0;
  }

  // ---- Gating of the host side ----

  /**
   * Infinity while the bytes would be discarded anyway (VUART disabled or
   * discard active): there is no reason for the host to wait then.
   */
  override hostTransmitRoom(): number {
    if (!this.enabled || this.hostTxDiscard) return Number.POSITIVE_INFINITY;
    return super.hostTransmitRoom();
  }

  protected override refuseHostBytes(count: number): boolean {
    if (!this.enabled) this.#gated.hostDroppedDisabled += count;
    else if (this.hostTxDiscard) this.#gated.hostDroppedDiscard += count;
    else return false;
    return true;
  }

  protected override refuseOutput(count: number): boolean {
    if (this.enabled) return false;
    this.#gated.txDroppedDisabled += count;
    return true;
  }

  override get counters(): Readonly<VuartCounters> {
    return { ...super.counters, ...this.#gated };
  }

  override snapshot(): VuartSnapshot {
    const s = super.snapshot();
    return {
      enabled: this.enabled,
      hostTxDiscard: this.hostTxDiscard,
      lpcAddress: (this.#addrh << 8) | this.#addrl,
      sirq: (this.#gcrb & GCRB_HOST_SIRQ_MASK) >> GCRB_HOST_SIRQ_SHIFT,
      sirqActiveHigh: (this.#gcra & GCRA_HOST_SIRQ_POLARITY) !== 0,
      ...s,
      regs: { ...s.regs, gcra: this.#gcra, gcrb: this.#gcrb, addrl: this.#addrl, addrh: this.#addrh },
      counters: this.counters,
    };
  }
}
