/**
 * The 16550-compatible register file the AST2500's UARTs and its VUART share:
 * RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR and the divisor latch, 4
 * bytes apart (the device tree's reg-shift = 2), with RX and TX FIFOs, the
 * interrupt line as an event, and a host side that is a byte stream:
 *
 *   hostTransmit(bytes)  bytes from the far end → RX FIFO (RBR)
 *   'host-rx' (Buffer)   bytes the BMC wrote to THR → out to the far end
 *
 * What the far end is differs — the host's LPC UART for the VUART (vuart.ts),
 * a serial line for a physical UART (uart.ts) — and the subclasses add that.
 *
 * The far end is never stalled and never sees an error: bytes arriving at a
 * full RX FIFO are dropped and counted (LSR.OE, an overrun). A host-side wire
 * that wants to lose nothing asks hostTransmitRoom() and waits for
 * 'host-tx-ready' (flow control the far end feels as a slow UART), and calls
 * setHostReady(false) while it cannot take output, which holds bytes in the
 * TX FIFO (the BMC then sees THRE stay low).
 *
 * Simplifications, chosen because nothing on either side can observe them:
 * no baud-rate timing (the TX FIFO drains on the next clock turn and a partly
 * filled RX FIFO reports the character-timeout interrupt at once), no
 * parity/framing/break errors, and loopback (MCR.LOOP) mirrors MCR onto MSR
 * without raising the delta bits, while the receiver stays on the line.
 */
import { EventEmitter } from 'node:events';
import { immediateClock, type Clock } from '../lib/clock.js';
import { ConfigError } from '../lib/errors.js';
import { HwModelError, badOffset, checkByte } from './errors.js';

// ---- Register offsets (BMC side, reg-shift 2) ---------------------------------

export const UART_RBR = 0x00; // read, DLAB = 0
export const UART_THR = 0x00; // write, DLAB = 0
export const UART_DLL = 0x00; // DLAB = 1
export const UART_IER = 0x04; // DLAB = 0
export const UART_DLM = 0x04; // DLAB = 1 (the AST2500 datasheet's DLH)
export const UART_IIR = 0x08; // read
export const UART_FCR = 0x08; // write
export const UART_LCR = 0x0c;
export const UART_MCR = 0x10;
export const UART_LSR = 0x14;
export const UART_MSR = 0x18;
export const UART_SCR = 0x1c;

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
/** 8 data bits, no parity, 1 stop bit. */
export const LCR_8N1 = 0x03;

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

export const MSR_DCTS = 0x01;
export const MSR_DDSR = 0x02;
export const MSR_TERI = 0x04;
export const MSR_DDCD = 0x08;
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;
/** The modem input levels (the upper nibble); the lower one holds their deltas. */
export const MSR_INPUTS = 0xf0;

/** The AST2500's UARTs and VUART have 16-byte FIFOs. */
export const UART_FIFO_SIZE = 16;
const MAX_FIFO_SIZE = 4096;

export interface UartEvents {
  /** Bytes the BMC transmitted, now on their way to the far end. */
  'host-rx': [bytes: Buffer];
  /** The RX FIFO has room again after being full (or a reason to refuse bytes went away). */
  'host-tx-ready': [];
  /** BMC interrupt line level changed (true = asserted). */
  irq: [level: boolean];
  /** Configuration (LCR, MCR, FCR, divisor, model-specific registers), host readiness or the modem inputs changed; not per byte or IER toggle. */
  change: [];
}

export interface Uart16550Counters {
  /** Bytes from the far end that landed in the RX FIFO. */
  bytesFromHost: number;
  /** Bytes delivered to the far end ('host-rx'). */
  bytesToHost: number;
  /** Far-end bytes dropped because the RX FIFO was full (LSR.OE set): receiver overruns. */
  hostDroppedFull: number;
  /** BMC THR writes with the TX FIFO already full (byte lost). */
  txOverruns: number;
  /** BMC writes to read-only registers (LSR, MSR), ignored. */
  ignoredWrites: number;
  resets: number;
}

export interface Uart16550Registers {
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
}

export interface Uart16550Snapshot {
  regs: Uart16550Registers;
  rxFifo: number;
  txFifo: number;
  hostReady: boolean;
  irq: boolean;
  counters: Uart16550Counters;
}

export interface Uart16550Options {
  /**
   * When the TX FIFO drains: a 0 ms timer on this clock (default
   * immediateClock, i.e. the next event-loop turn; tests pass a ManualClock).
   * systemClock would pace output at one FIFO-load per millisecond.
   */
  clock?: Clock;
  /** FIFO depth in bytes (default 16, as on the AST2500). */
  fifoSize?: number;
}

/**
 * What a host-side wire drives (hw-models/wire-servers/uart-wire-server.ts).
 * setLineConnected is there only when the far end is a line that can come and
 * go (a physical UART); the VUART's LPC side is always there.
 */
export type UartHostPort = Pick<Uart16550, 'hostTransmit' | 'hostTransmitRoom' | 'on' | 'off'> & {
  setLineConnected?(connected: boolean): void;
};

function zeroCounters(): Uart16550Counters {
  return { bytesFromHost: 0, bytesToHost: 0, hostDroppedFull: 0, txOverruns: 0, ignoredWrites: 0, resets: 0 };
}

/** RX trigger levels for FCR bits 7-6: 1, 4, 8, 14 on a 16-byte FIFO, scaled for other depths. */
function rxTriggerLevels(size: number): readonly number[] {
  return [1, Math.max(1, size >> 2), Math.max(1, size >> 1), Math.max(1, size - 2)];
}

export class Uart16550 extends EventEmitter<UartEvents> {
  /** The model's name in error messages. */
  readonly name: string;
  /** FIFO depth with FIFOs enabled; the driver knows it from the port type. */
  readonly fifoSize: number;
  readonly #clock: Clock;
  readonly #triggerLevels: readonly number[];
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
  /** Modem input levels from the far end (MSR bits 7-4), outside the chip: reset leaves them. */
  #modemInputs: number;
  /** MSR bits 3-0: changes of the inputs since MSR was last read. */
  #msrDeltas = 0;
  #hostReady = true;
  #irq = false;
  #receiving = 0;
  #drain: { cancel(): void } | null = null;
  #counters = zeroCounters();

  constructor(name: string, options: Uart16550Options & { modemInputs?: number } = {}) {
    super();
    this.name = name;
    const size = options.fifoSize ?? UART_FIFO_SIZE;
    if (!Number.isInteger(size) || size < 1 || size > MAX_FIFO_SIZE) {
      throw new ConfigError(`${name}: FIFO size ${String(size)} is not an integer in 1..${MAX_FIFO_SIZE}`);
    }
    this.fifoSize = size;
    this.#triggerLevels = rxTriggerLevels(size);
    this.#clock = options.clock ?? immediateClock;
    this.#modemInputs = (options.modemInputs ?? MSR_DCD | MSR_DSR | MSR_CTS) & MSR_INPUTS;
  }

  /** 16550 reset values (and the subclass's, via resetExtra); FIFOs empty. Counters survive. */
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
    this.#msrDeltas = 0;
    this.resetExtra();
    this.#counters.resets++;
    this.#updateIrq();
    this.#reportRoom(roomBefore);
    this.emit('change');
  }

  // ---- Subclass hooks -----------------------------------------------------------

  /** Model-specific registers past SCR (the VUART's general control). */
  protected decodesExtra(_offset: number): boolean {
    return false;
  }

  protected readExtra(offset: number): number {
    throw badOffset(this.name, offset);
  }

  protected writeExtra(offset: number, _value: number): void {
    throw badOffset(this.name, offset);
  }

  protected resetExtra(): void {}

  /** True when far-end bytes must not reach the RX FIFO now; the subclass has counted them. */
  protected refuseHostBytes(_count: number): boolean {
    return false;
  }

  /** True when drained TX bytes must not reach the far end now; the subclass has counted them. */
  protected refuseOutput(_count: number): boolean {
    return false;
  }

  /**
   * The far end's modem inputs changed (MSR bits 7-4): the deltas a 16550
   * latches are raised, and with IER.MSI the modem-status interrupt.
   */
  protected setModemInputs(levels: number): void {
    const next = levels & MSR_INPUTS;
    const changed = next ^ this.#modemInputs;
    if (changed === 0) return;
    let delta = 0;
    if (changed & MSR_CTS) delta |= MSR_DCTS;
    if (changed & MSR_DSR) delta |= MSR_DDSR;
    if (changed & MSR_DCD) delta |= MSR_DDCD;
    if (changed & MSR_RI && !(next & MSR_RI)) delta |= MSR_TERI; // trailing edge only
    this.#modemInputs = next;
    // In loopback the chip listens to its own MCR, not the line.
    if (!(this.#mcr & MCR_LOOP)) this.#msrDeltas |= delta;
    this.#updateIrq();
    this.emit('change');
  }

  // ---- Derived state ----

  get irqLevel(): boolean {
    return this.#irq;
  }

  get #fifoEnabled(): boolean {
    return (this.#fcr & FCR_ENABLE_FIFO) !== 0;
  }

  /** The FIFO depth with FIFOs enabled, a single holding register without (16450 mode). */
  get #capacity(): number {
    return this.#fifoEnabled ? this.fifoSize : 1;
  }

  get #rxTrigger(): number {
    return this.#fifoEnabled ? (this.#triggerLevels[(this.#fcr & FCR_TRIGGER_MASK) >> 6] as number) : 1;
  }

  #lsr(): number {
    let lsr = this.#lsrErrors;
    if (this.#rx.length > 0) lsr |= LSR_DR;
    if (this.#tx.length === 0) lsr |= LSR_THRE | LSR_TEMT;
    return lsr;
  }

  #msr(): number {
    if (!(this.#mcr & MCR_LOOP)) return this.#modemInputs | this.#msrDeltas;
    // Loopback wires the modem outputs back to the inputs, as on a 16550.
    let msr = this.#msrDeltas;
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
    if (this.#ier & IER_MSI && this.#msrDeltas) return IIR_MSI;
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
      case UART_RBR:
        return dlab ? this.#dll : this.#readRbr();
      case UART_IER:
        return dlab ? this.#dlm : this.#ier;
      case UART_IIR: {
        const iir = this.#iir();
        // Reading IIR while it reports THRE is what acknowledges that interrupt.
        if ((iir & IIR_ID_MASK) === IIR_THRI) {
          this.#thrIntPending = false;
          this.#updateIrq();
        }
        return iir;
      }
      case UART_LCR:
        return this.#lcr;
      case UART_MCR:
        return this.#mcr;
      case UART_LSR: {
        const lsr = this.#lsr();
        if (this.#lsrErrors) {
          this.#lsrErrors = 0; // error bits clear on read
          this.#updateIrq();
        }
        return lsr;
      }
      case UART_MSR: {
        const msr = this.#msr();
        if (this.#msrDeltas) {
          this.#msrDeltas = 0; // delta bits clear on read, acknowledging the modem-status interrupt
          this.#updateIrq();
        }
        return msr;
      }
      case UART_SCR:
        return this.#scr;
      default:
        if (this.#decodes(offset)) return this.readExtra(offset);
        throw badOffset(this.name, offset);
    }
  }

  writeRegister(offset: number, value: number): void {
    if (!this.#decodes(offset)) throw badOffset(this.name, offset);
    const v = checkByte(value, `${this.name} register 0x${offset.toString(16)}`);
    const dlab = (this.#lcr & LCR_DLAB) !== 0;
    const roomBefore = this.hostTransmitRoom();
    switch (offset) {
      case UART_THR:
        if (dlab) this.#dll = v;
        else this.#writeThr(v);
        break;
      case UART_IER:
        if (dlab) this.#dlm = v;
        else this.#writeIer(v);
        break;
      case UART_FCR:
        this.#writeFcr(v);
        break;
      case UART_LCR:
        this.#lcr = v;
        break;
      case UART_MCR:
        this.#mcr = v & 0x1f;
        break;
      case UART_LSR:
      case UART_MSR:
        this.#counters.ignoredWrites++;
        return;
      case UART_SCR:
        this.#scr = v;
        return;
      default:
        this.writeExtra(offset, v);
    }
    this.#updateIrq();
    this.#reportRoom(roomBefore);
    // Data and interrupt-enable traffic is the driver's run-time business, not configuration.
    if ((offset !== UART_THR && offset !== UART_IER) || dlab) this.emit('change');
  }

  #decodes(offset: number): boolean {
    if (!Number.isInteger(offset) || offset < 0 || offset % 4 !== 0) return false;
    return offset <= UART_SCR || this.decodesExtra(offset);
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

  // ---- TX FIFO → far end ----

  #scheduleDrain(): void {
    if (this.#drain || !this.#hostReady || this.#tx.length === 0) return;
    this.#drain = this.#clock.setTimeout(() => {
      this.#drain = null;
      this.drainToHost();
    }, 0);
  }

  /**
   * Move everything in the TX FIFO out now (the clock calls this; tests
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
    } else if (!this.refuseOutput(bytes.length)) {
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

  // ---- Far end → RX FIFO ----

  /** How many bytes hostTransmit() would put in the RX FIFO right now. */
  hostTransmitRoom(): number {
    return this.#capacity - this.#rx.length;
  }

  /**
   * Bytes from the far end. Returns how many landed in the RX FIFO; the rest
   * were dropped and counted. Never throws for a data condition and never
   * waits: the far end must not stall on us.
   */
  hostTransmit(bytes: Uint8Array): number {
    if (!(bytes instanceof Uint8Array)) {
      throw new HwModelError('ERR_HW_BAD_ARGUMENT', 'hostTransmit takes a Buffer or Uint8Array');
    }
    if (bytes.length === 0) return 0;
    if (this.refuseHostBytes(bytes.length)) return 0;
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

  get counters(): Readonly<Uart16550Counters> {
    return { ...this.#counters };
  }

  snapshot(): Uart16550Snapshot {
    return {
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
      },
      rxFifo: this.#rx.length,
      txFifo: this.#tx.length,
      hostReady: this.#hostReady,
      irq: this.#irq,
      counters: { ...this.counters },
    };
  }
}
