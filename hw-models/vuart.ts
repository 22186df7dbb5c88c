/**
 * AST2500 VUART: two UART front ends joined by their FIFOs, no serial line in
 * between. The BMC side is a 16550-compatible register file (registers 4 bytes
 * apart, as the device tree's reg-shift = 2 says) plus the VUART's own general
 * control registers; the host side is a 16550 at an LPC I/O address — in this
 * emulator QEMU's own serial device — so here the host side is a byte stream:
 *
 *   hostTransmit(bytes)  bytes the host's UART sent → BMC RX FIFO (RBR)
 *   'host-rx' (Buffer)   bytes the BMC wrote to THR → out to the host
 *
 * The host is never stalled and never sees an error: bytes arriving at a full
 * RX FIFO, while host-TX discard is active or while the VUART is disabled are
 * dropped and counted. A host-side wire that wants to lose nothing asks
 * hostTransmitRoom() and waits for 'host-tx-ready' (flow control the guest
 * feels as a slow UART), and calls setHostReady(false) while it cannot take
 * output, which holds bytes in the TX FIFO (the BMC then sees THRE stay low).
 *
 * Simplifications, chosen because nothing on either side can observe them:
 * no baud-rate timing (the TX FIFO drains on the next scheduler turn and a
 * partly filled RX FIFO reports the character-timeout interrupt at once), no
 * parity/framing/break errors, no modem-status interrupts.
 */
import { EventEmitter } from 'node:events';
import { HwModelError, badOffset, checkByte } from './errors.js';

// ---- Register offsets (BMC side) -------------------------------------------

export const VUART_RBR = 0x00; // read, DLAB = 0
export const VUART_THR = 0x00; // write, DLAB = 0
export const VUART_DLL = 0x00; // DLAB = 1
export const VUART_IER = 0x04; // DLAB = 0
export const VUART_DLM = 0x04; // DLAB = 1
export const VUART_IIR = 0x08; // read
export const VUART_FCR = 0x08; // write
export const VUART_LCR = 0x0c;
export const VUART_MCR = 0x10;
export const VUART_LSR = 0x14;
export const VUART_MSR = 0x18;
export const VUART_SCR = 0x1c;
export const VUART_GCRA = 0x20;
export const VUART_GCRB = 0x24;
export const VUART_ADDRL = 0x28;
export const VUART_ADDRH = 0x2c;

// ---- 16550 bits --------------------------------------------------------------

export const IER_RDI = 0x01; // received data available
export const IER_THRI = 0x02; // transmitter holding register empty
export const IER_RLSI = 0x04; // receiver line status
export const IER_MSI = 0x08; // modem status

export const IIR_NO_INT = 0x01;
export const IIR_MSI = 0x00;
export const IIR_THRI = 0x02;
export const IIR_RDI = 0x04;
export const IIR_RLSI = 0x06;
export const IIR_RX_TIMEOUT = 0x0c;
export const IIR_ID_MASK = 0x0f;
export const IIR_FIFOS_ENABLED = 0xc0;

export const FCR_ENABLE_FIFO = 0x01;
export const FCR_CLEAR_RCVR = 0x02;
export const FCR_CLEAR_XMIT = 0x04;
export const FCR_DMA_SELECT = 0x08;
export const FCR_TRIGGER_MASK = 0xc0;

export const LCR_DLAB = 0x80;

export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOP = 0x10;

export const LSR_DR = 0x01;
export const LSR_OE = 0x02;
export const LSR_PE = 0x04;
export const LSR_FE = 0x08;
export const LSR_BI = 0x10;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;
export const LSR_FIFOE = 0x80;

export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;

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

export const VUART_FIFO_SIZE = 16;

/** RX trigger levels for FCR bits 7-6 on a 16-byte FIFO. */
const RX_TRIGGER_LEVELS = [1, 4, 8, 14] as const;

/** When the TX FIFO drains. Structurally compatible with the firmware Clock. */
export interface VuartScheduler {
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

/** Default: drain on the next event-loop turn (setImmediate), like a fast line. */
export const immediateScheduler: VuartScheduler = {
  setTimeout(fn) {
    const handle = setImmediate(fn);
    return { cancel: () => clearImmediate(handle) };
  },
};

export interface VuartEvents {
  /** Bytes the BMC transmitted, now on their way to the host. */
  'host-rx': [bytes: Buffer];
  /** The RX FIFO has room again after being full (or discard/disable lifted). */
  'host-tx-ready': [];
  /** BMC interrupt line level changed (true = asserted). */
  irq: [level: boolean];
  /** Configuration (LCR, MCR, FCR, divisor, GCRA/GCRB, address) or host readiness changed; not per byte or IER toggle. */
  change: [];
}

export interface VuartCounters {
  /** Bytes from the host that landed in the RX FIFO. */
  bytesFromHost: number;
  /** Bytes delivered to the host ('host-rx'). */
  bytesToHost: number;
  /** Host bytes dropped because the RX FIFO was full (LSR.OE set). */
  hostDroppedFull: number;
  /** Host bytes dropped because host-TX discard was active. */
  hostDroppedDiscard: number;
  /** Host bytes dropped because the VUART was disabled. */
  hostDroppedDisabled: number;
  /** BMC bytes dropped on the way out because the VUART was disabled. */
  txDroppedDisabled: number;
  /** BMC THR writes with the TX FIFO already full (byte lost). */
  txOverruns: number;
  /** BMC writes to read-only registers (LSR, MSR), ignored. */
  ignoredWrites: number;
  resets: number;
}

export interface VuartSnapshot {
  enabled: boolean;
  hostTxDiscard: boolean;
  lpcAddress: number;
  sirq: number;
  sirqActiveHigh: boolean;
  regs: {
    ier: number;
    iir: number;
    fcr: number;
    lcr: number;
    mcr: number;
    lsr: number;
    msr: number;
    scr: number;
    dll: number;
    dlm: number;
    gcra: number;
    gcrb: number;
    addrl: number;
    addrh: number;
  };
  rxFifo: number;
  txFifo: number;
  hostReady: boolean;
  irq: boolean;
  counters: VuartCounters;
}

export interface VuartOptions {
  scheduler?: VuartScheduler;
}

function zeroCounters(): VuartCounters {
  return {
    bytesFromHost: 0,
    bytesToHost: 0,
    hostDroppedFull: 0,
    hostDroppedDiscard: 0,
    hostDroppedDisabled: 0,
    txDroppedDisabled: 0,
    txOverruns: 0,
    ignoredWrites: 0,
    resets: 0,
  };
}

export class Vuart extends EventEmitter<VuartEvents> {
  readonly #scheduler: VuartScheduler;
  #rx: number[] = [];
  #tx: number[] = [];
  #ier = 0;
  #fcr = 0;
  #lcr = 0;
  #mcr = 0;
  #scr = 0;
  #dll = 0;
  #dlm = 0;
  #lsrErrors = 0;
  #lastRbr = 0;
  /** The 16550's THRE interrupt source: set when THR empties, cleared by a THR write or an IIR read reporting it. */
  #thrIntPending = false;
  #gcra = 0;
  #gcrb = 0;
  #addrl = 0;
  #addrh = 0;
  #hostReady = true;
  #irq = false;
  #receiving = 0;
  #drain: { cancel(): void } | null = null;
  #counters = zeroCounters();

  constructor(options: VuartOptions = {}) {
    super();
    this.#scheduler = options.scheduler ?? immediateScheduler;
  }

  /** 16550 reset values; the VUART disabled with discard active; FIFOs empty. Counters survive. */
  reset(): void {
    const roomBefore = this.hostTransmitRoom();
    this.#drain?.cancel();
    this.#drain = null;
    this.#rx = [];
    this.#tx = [];
    this.#ier = 0;
    this.#fcr = 0;
    this.#lcr = 0;
    this.#mcr = 0;
    this.#scr = 0;
    this.#dll = 0;
    this.#dlm = 0;
    this.#lsrErrors = 0;
    this.#lastRbr = 0;
    this.#thrIntPending = false;
    this.#gcra = 0;
    this.#gcrb = 0;
    this.#addrl = 0;
    this.#addrh = 0;
    this.#counters.resets++;
    this.#updateIrq();
    this.#reportRoom(roomBefore);
    this.emit('change');
  }

  // ---- Derived state ----

  get enabled(): boolean {
    return (this.#gcra & GCRA_VUART_EN) !== 0;
  }

  get hostTxDiscard(): boolean {
    return (this.#gcra & GCRA_DISABLE_HOST_TX_DISCARD) === 0;
  }

  get irqLevel(): boolean {
    return this.#irq;
  }

  get #fifoEnabled(): boolean {
    return (this.#fcr & FCR_ENABLE_FIFO) !== 0;
  }

  /** 16 bytes with FIFOs enabled, a single holding register without (16450 mode). */
  get #capacity(): number {
    return this.#fifoEnabled ? VUART_FIFO_SIZE : 1;
  }

  get #rxTrigger(): number {
    return this.#fifoEnabled ? RX_TRIGGER_LEVELS[(this.#fcr & FCR_TRIGGER_MASK) >> 6] : 1;
  }

  #lsr(): number {
    let lsr = this.#lsrErrors;
    if (this.#rx.length > 0) lsr |= LSR_DR;
    if (this.#tx.length === 0) lsr |= LSR_THRE | LSR_TEMT;
    return lsr;
  }

  #msr(): number {
    if (!(this.#mcr & MCR_LOOP)) return MSR_DCD | MSR_DSR | MSR_CTS;
    // Loopback wires the modem outputs back to the inputs, as on a 16550.
    let msr = 0;
    if (this.#mcr & MCR_RTS) msr |= MSR_CTS;
    if (this.#mcr & MCR_DTR) msr |= MSR_DSR;
    if (this.#mcr & MCR_OUT1) msr |= MSR_RI;
    if (this.#mcr & MCR_OUT2) msr |= MSR_DCD;
    return msr;
  }

  /** The highest-priority pending interrupt's IIR identification (without side effects). */
  #pendingId(): number {
    if (this.#ier & IER_RLSI && this.#lsrErrors) return IIR_RLSI;
    if (this.#ier & IER_RDI && this.#rx.length > 0) {
      return this.#rx.length >= this.#rxTrigger ? IIR_RDI : IIR_RX_TIMEOUT;
    }
    if (this.#ier & IER_THRI && this.#thrIntPending) return IIR_THRI;
    return IIR_NO_INT;
  }

  #iir(): number {
    return this.#pendingId() | (this.#fifoEnabled ? IIR_FIFOS_ENABLED : 0);
  }

  #updateIrq(): void {
    const level = this.#pendingId() !== IIR_NO_INT;
    if (level === this.#irq) return;
    this.#irq = level;
    this.emit('irq', level);
  }

  // ---- BMC register interface ----

  readRegister(offset: number): number {
    const dlab = (this.#lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case VUART_RBR:
        return dlab ? this.#dll : this.#readRbr();
      case VUART_IER:
        return dlab ? this.#dlm : this.#ier;
      case VUART_IIR: {
        const iir = this.#iir();
        // Reading IIR while it reports THRE is what acknowledges that interrupt.
        if ((iir & IIR_ID_MASK) === IIR_THRI) {
          this.#thrIntPending = false;
          this.#updateIrq();
        }
        return iir;
      }
      case VUART_LCR:
        return this.#lcr;
      case VUART_MCR:
        return this.#mcr;
      case VUART_LSR: {
        const lsr = this.#lsr();
        if (this.#lsrErrors) {
          this.#lsrErrors = 0; // error bits clear on read
          this.#updateIrq();
        }
        return lsr;
      }
      case VUART_MSR:
        return this.#msr();
      case VUART_SCR:
        return this.#scr;
      case VUART_GCRA:
        return this.#gcra;
      case VUART_GCRB:
        return this.#gcrb;
      case VUART_ADDRL:
        return this.#addrl;
      case VUART_ADDRH:
        return this.#addrh;
      default:
        throw badOffset('VUART', offset);
    }
  }

  writeRegister(offset: number, value: number): void {
    if (!this.#decodes(offset)) throw badOffset('VUART', offset);
    const v = checkByte(value, `VUART register 0x${offset.toString(16)}`);
    const dlab = (this.#lcr & LCR_DLAB) !== 0;
    const roomBefore = this.hostTransmitRoom();
    switch (offset) {
      case VUART_THR:
        if (dlab) this.#dll = v;
        else this.#writeThr(v);
        break;
      case VUART_IER:
        if (dlab) this.#dlm = v;
        else this.#writeIer(v);
        break;
      case VUART_FCR:
        this.#writeFcr(v);
        break;
      case VUART_LCR:
        this.#lcr = v;
        break;
      case VUART_MCR:
        this.#mcr = v & 0x1f;
        break;
      case VUART_LSR:
      case VUART_MSR:
        this.#counters.ignoredWrites++;
        return;
      case VUART_SCR:
        this.#scr = v;
        return;
      case VUART_GCRA:
        this.#gcra = v;
        break;
      case VUART_GCRB:
        this.#gcrb = v;
        break;
      case VUART_ADDRL:
        this.#addrl = v;
        break;
      case VUART_ADDRH:
        this.#addrh = v;
        break;
    }
    this.#updateIrq();
    this.#reportRoom(roomBefore);
    // Data and interrupt-enable traffic is the driver's run-time business, not configuration.
    if ((offset !== VUART_THR && offset !== VUART_IER) || dlab) this.emit('change');
  }

  #decodes(offset: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && offset <= VUART_ADDRH && offset % 4 === 0;
  }

  #readRbr(): number {
    const roomBefore = this.hostTransmitRoom();
    const byte = this.#rx.shift();
    if (byte !== undefined) this.#lastRbr = byte;
    this.#updateIrq();
    this.#reportRoom(roomBefore);
    return this.#lastRbr;
  }

  #writeThr(v: number): void {
    this.#thrIntPending = false;
    if (this.#tx.length >= this.#capacity) {
      this.#counters.txOverruns++;
      return;
    }
    this.#tx.push(v);
    this.#scheduleDrain();
  }

  #writeIer(v: number): void {
    const wasThri = (this.#ier & IER_THRI) !== 0;
    this.#ier = v & 0x0f;
    // A 16550 raises THRE at once when the interrupt is enabled with THR already empty.
    if (!wasThri && this.#ier & IER_THRI && this.#tx.length === 0) this.#thrIntPending = true;
  }

  #writeFcr(v: number): void {
    const toggled = ((v ^ this.#fcr) & FCR_ENABLE_FIFO) !== 0;
    this.#fcr = v & (FCR_ENABLE_FIFO | FCR_DMA_SELECT | FCR_TRIGGER_MASK);
    if (toggled || v & FCR_CLEAR_RCVR) this.#rx = [];
    if (toggled || v & FCR_CLEAR_XMIT) {
      if (this.#tx.length > 0) this.#thrIntPending = true;
      this.#tx = [];
    }
  }

  // ---- TX FIFO → host ----

  #scheduleDrain(): void {
    if (this.#drain || !this.#hostReady || this.#tx.length === 0) return;
    this.#drain = this.#scheduler.setTimeout(() => {
      this.#drain = null;
      this.drainToHost();
    }, 0);
  }

  /**
   * Move everything in the TX FIFO out now (the scheduler calls this; tests
   * and wires may too). No-op while the host is not ready.
   */
  drainToHost(): void {
    if (!this.#hostReady || this.#tx.length === 0) return;
    this.#drain?.cancel();
    this.#drain = null;
    const bytes = Buffer.from(this.#tx);
    this.#tx = [];
    this.#thrIntPending = true;
    if (this.#mcr & MCR_LOOP) {
      this.#receive(bytes, false);
    } else if (!this.enabled) {
      this.#counters.txDroppedDisabled += bytes.length;
    } else {
      this.#counters.bytesToHost += bytes.length;
      this.emit('host-rx', bytes);
    }
    this.#updateIrq();
  }

  /** Host-side flow control: while false, BMC output waits in the TX FIFO. */
  setHostReady(ready: boolean): void {
    if (ready === this.#hostReady) return;
    this.#hostReady = ready;
    if (ready) this.#scheduleDrain();
    else {
      this.#drain?.cancel();
      this.#drain = null;
    }
    this.emit('change');
  }

  get hostReady(): boolean {
    return this.#hostReady;
  }

  // ---- Host → RX FIFO ----

  /**
   * How many bytes hostTransmit() would put in the RX FIFO right now.
   * Infinity while the bytes would be discarded anyway (VUART disabled or
   * discard active): there is no reason for the host to wait then.
   */
  hostTransmitRoom(): number {
    if (!this.enabled || this.hostTxDiscard) return Number.POSITIVE_INFINITY;
    return this.#capacity - this.#rx.length;
  }

  /**
   * Bytes the host's UART sent. Returns how many landed in the RX FIFO; the
   * rest were dropped and counted. Never throws for a data condition and never
   * waits: the host must not stall on its console.
   */
  hostTransmit(bytes: Uint8Array): number {
    if (!(bytes instanceof Uint8Array)) {
      throw new HwModelError('ERR_HW_BAD_ARGUMENT', 'hostTransmit takes a Buffer or Uint8Array');
    }
    if (bytes.length === 0) return 0;
    if (!this.enabled) {
      this.#counters.hostDroppedDisabled += bytes.length;
      return 0;
    }
    if (this.hostTxDiscard) {
      this.#counters.hostDroppedDiscard += bytes.length;
      return 0;
    }
    return this.#receive(bytes, true);
  }

  /** Fill the RX FIFO, letting the BMC's interrupt handler drain it between chunks. */
  #receive(bytes: Uint8Array, fromHost: boolean): number {
    let accepted = 0;
    this.#receiving++;
    try {
      while (accepted < bytes.length) {
        const room = this.#capacity - this.#rx.length;
        if (room <= 0) break;
        const take = Math.min(room, bytes.length - accepted);
        for (let i = 0; i < take; i++) this.#rx.push(bytes[accepted + i] as number);
        accepted += take;
        // A driver that services the interrupt synchronously empties the FIFO here.
        this.#updateIrq();
      }
    } finally {
      this.#receiving--;
    }
    if (fromHost) this.#counters.bytesFromHost += accepted;
    const dropped = bytes.length - accepted;
    if (dropped > 0) {
      if (fromHost) this.#counters.hostDroppedFull += dropped;
      else this.#counters.txOverruns += dropped; // loopback bytes lost at a full RX FIFO
      this.#lsrErrors |= LSR_OE;
      this.#updateIrq();
    }
    return accepted;
  }

  #reportRoom(roomBefore: number): void {
    // Inside hostTransmit the caller learns the room from the return value; an
    // event there would invite a re-entrant hostTransmit that reorders bytes.
    if (this.#receiving > 0) return;
    if (roomBefore === 0 && this.hostTransmitRoom() > 0) this.emit('host-tx-ready');
  }

  get counters(): Readonly<VuartCounters> {
    return { ...this.#counters };
  }

  snapshot(): VuartSnapshot {
    return {
      enabled: this.enabled,
      hostTxDiscard: this.hostTxDiscard,
      lpcAddress: (this.#addrh << 8) | this.#addrl,
      sirq: (this.#gcrb & GCRB_HOST_SIRQ_MASK) >> GCRB_HOST_SIRQ_SHIFT,
      sirqActiveHigh: (this.#gcra & GCRA_HOST_SIRQ_POLARITY) !== 0,
      regs: {
        ier: this.#ier,
        iir: this.#iir(),
        fcr: this.#fcr,
        lcr: this.#lcr,
        mcr: this.#mcr,
        lsr: this.#lsr(),
        msr: this.#msr(),
        scr: this.#scr,
        dll: this.#dll,
        dlm: this.#dlm,
        gcra: this.#gcra,
        gcrb: this.#gcrb,
        addrl: this.#addrl,
        addrh: this.#addrh,
      },
      rxFifo: this.#rx.length,
      txFifo: this.#tx.length,
      hostReady: this.#hostReady,
      irq: this.#irq,
      counters: { ...this.#counters },
    };
  }
}
