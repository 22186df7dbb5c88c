/**
 * /dev/ttyVUART0 over the Vuart model: what Linux's 8250_aspeed_vuart plus
 * the 8250 core give userspace — a byte stream both ways — as a Node Duplex.
 *
 *   probe   (aspeedVuartProbe) host LPC address, SerIRQ and polarity,
 *           VUART enabled, host-TX discard on: the host never stalls while
 *           nothing on the BMC listens
 *   open    (constructing a VuartTty) FIFOs on and cleared, 8N1, RX and
 *           line-status interrupts on, discard off: host bytes are now kept
 *   close   (destroy()) interrupts off, discard on again
 *
 * Reading: the interrupt handler empties RBR into the stream. When the stream
 * is full (push() says stop) it throttles — RX interrupts off, as the ASPEED
 * driver does — so bytes wait in the 16-byte FIFO and then at the host (a
 * host wire that honours hostTransmitRoom() loses nothing).
 * Writing: bytes go to THR a FIFO-load at a time on each THRE interrupt; a
 * write's callback fires once its last byte is in the FIFO, so a slow host
 * (setHostReady(false)) pushes back on writers through the usual Writable
 * backpressure.
 */
import { Duplex } from 'node:stream';
import {
  FCR_CLEAR_RCVR,
  FCR_CLEAR_XMIT,
  FCR_ENABLE_FIFO,
  GCRA_DISABLE_HOST_TX_DISCARD,
  GCRA_HOST_SIRQ_POLARITY,
  GCRA_VUART_EN,
  GCRB_HOST_SIRQ_MASK,
  GCRB_HOST_SIRQ_SHIFT,
  IER_RDI,
  IER_RLSI,
  IER_THRI,
  IIR_ID_MASK,
  IIR_MSI,
  IIR_NO_INT,
  IIR_RDI,
  IIR_RLSI,
  IIR_RX_TIMEOUT,
  IIR_THRI,
  LSR_DR,
  LSR_OE,
  LSR_THRE,
  VUART_ADDRH,
  VUART_ADDRL,
  VUART_FCR,
  VUART_FIFO_SIZE,
  VUART_GCRA,
  VUART_GCRB,
  VUART_IER,
  VUART_IIR,
  VUART_LCR,
  VUART_LSR,
  VUART_MSR,
  VUART_RBR,
  VUART_THR,
  type Vuart,
} from '../../hw-models/vuart.js';
import { DriverError } from './errors.js';

export const DEFAULT_VUART_LPC_ADDRESS = 0x3f8;
export const DEFAULT_VUART_SIRQ = 4;

export interface VuartProbeOptions {
  /** Host LPC I/O address of the host-side UART (default 0x3F8). */
  lpcAddress?: number;
  /** Host SerIRQ number 0..15 (default 4). */
  sirq?: number;
  /** Host SerIRQ polarity (default 'low', the kernel's default). */
  sirqPolarity?: 'low' | 'high';
}

const LCR_8N1 = 0x03;

function setGcraBits(vuart: Vuart, mask: number, on: boolean): void {
  const gcra = vuart.readRegister(VUART_GCRA);
  vuart.writeRegister(VUART_GCRA, on ? gcra | mask : gcra & ~mask & 0xff);
}

/** What the kernel driver's probe does: place the host-side UART and enable the VUART, discarding host TX. */
export function aspeedVuartProbe(vuart: Vuart, options: VuartProbeOptions = {}): void {
  const { lpcAddress = DEFAULT_VUART_LPC_ADDRESS, sirq = DEFAULT_VUART_SIRQ, sirqPolarity = 'low' } = options;
  if (!Number.isInteger(lpcAddress) || lpcAddress < 0 || lpcAddress > 0xffff) {
    throw new DriverError('EINVAL', `VUART LPC address ${String(lpcAddress)} is not 0..0xFFFF`);
  }
  if (!Number.isInteger(sirq) || sirq < 0 || sirq > 15) {
    throw new DriverError('EINVAL', `VUART SerIRQ ${String(sirq)} is not 0..15`);
  }
  if (sirqPolarity !== 'low' && sirqPolarity !== 'high') {
    throw new DriverError('EINVAL', `VUART SerIRQ polarity must be 'low' or 'high'`);
  }
  vuart.writeRegister(VUART_ADDRH, lpcAddress >> 8);
  vuart.writeRegister(VUART_ADDRL, lpcAddress & 0xff);
  const gcrb = vuart.readRegister(VUART_GCRB);
  vuart.writeRegister(VUART_GCRB, (gcrb & ~GCRB_HOST_SIRQ_MASK & 0xff) | (sirq << GCRB_HOST_SIRQ_SHIFT));
  setGcraBits(vuart, GCRA_HOST_SIRQ_POLARITY, sirqPolarity === 'high');
  setGcraBits(vuart, GCRA_VUART_EN, true);
  setGcraBits(vuart, GCRA_DISABLE_HOST_TX_DISCARD, false);
}

export interface VuartTtyOptions extends VuartProbeOptions {
  /** Run aspeedVuartProbe first (default true; false when the VUART is already set up). */
  probe?: boolean;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
}

export interface VuartTtyStats {
  rxBytes: number;
  txBytes: number;
  /** Overrun errors the line-status interrupt reported (host bytes lost at a full FIFO). */
  overruns: number;
  /** Times reading stopped because the stream's buffer was full. */
  throttles: number;
}

interface PendingChunk {
  data: Buffer;
  offset: number;
  callback: (error?: Error | null) => void;
}

export class VuartTty extends Duplex {
  readonly #vuart: Vuart;
  #ier = 0;
  #throttled = false;
  #servicing = false;
  #serviceAgain = false;
  #tx: PendingChunk[] = [];
  #stats: VuartTtyStats = { rxBytes: 0, txBytes: 0, overruns: 0, throttles: 0 };
  readonly #onIrq = (level: boolean): void => {
    if (level) this.#service();
  };

  constructor(vuart: Vuart, options: VuartTtyOptions = {}) {
    super({
      allowHalfOpen: true,
      ...(options.readableHighWaterMark !== undefined && { readableHighWaterMark: options.readableHighWaterMark }),
      ...(options.writableHighWaterMark !== undefined && { writableHighWaterMark: options.writableHighWaterMark }),
    });
    this.#vuart = vuart;
    if (options.probe !== false) aspeedVuartProbe(vuart, options);
    // startup(): FIFOs on and emptied, 8N1, receive interrupts on, then keep host TX.
    vuart.writeRegister(VUART_FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
    vuart.writeRegister(VUART_LCR, LCR_8N1);
    vuart.on('irq', this.#onIrq);
    this.#setIer(IER_RDI | IER_RLSI);
    setGcraBits(vuart, GCRA_DISABLE_HOST_TX_DISCARD, true);
    this.#service();
  }

  get stats(): Readonly<VuartTtyStats> {
    return { ...this.#stats };
  }

  #setIer(ier: number): void {
    if (ier === this.#ier) return;
    this.#ier = ier;
    this.#vuart.writeRegister(VUART_IER, ier);
  }

  /**
   * The interrupt handler (serial8250_handle_irq's shape): service sources in
   * IIR priority order until none is pending. Re-entry (a push() that makes a
   * consumer write or read synchronously) just asks the running loop to go round again.
   */
  #service(): void {
    if (this.destroyed) return;
    if (this.#servicing) {
      this.#serviceAgain = true;
      return;
    }
    this.#servicing = true;
    try {
      do {
        this.#serviceAgain = false;
        for (;;) {
          const id = this.#vuart.readRegister(VUART_IIR) & IIR_ID_MASK;
          if (id === IIR_NO_INT) break;
          if (id === IIR_RLSI) this.#lineStatus();
          else if (id === IIR_RDI || id === IIR_RX_TIMEOUT) this.#receive();
          else if (id === IIR_THRI) this.#transmit();
          else if (id === IIR_MSI) this.#vuart.readRegister(VUART_MSR);
          if (this.destroyed) return;
        }
      } while (this.#serviceAgain);
    } finally {
      this.#servicing = false;
    }
  }

  #lineStatus(): void {
    const lsr = this.#vuart.readRegister(VUART_LSR);
    if (lsr & LSR_OE) this.#stats.overruns++;
  }

  #receive(): void {
    const bytes: number[] = [];
    while (this.#vuart.readRegister(VUART_LSR) & LSR_DR) bytes.push(this.#vuart.readRegister(VUART_RBR));
    if (bytes.length === 0) return;
    this.#stats.rxBytes += bytes.length;
    if (!this.push(Buffer.from(bytes))) this.#throttle();
  }

  #throttle(): void {
    if (this.#throttled) return;
    this.#throttled = true;
    this.#stats.throttles++;
    this.#setIer(this.#ier & ~(IER_RDI | IER_RLSI));
  }

  override _read(): void {
    if (!this.#throttled || this.destroyed) return;
    this.#throttled = false;
    this.#setIer(this.#ier | IER_RDI | IER_RLSI);
    this.#service();
  }

  #transmit(): void {
    if (!(this.#vuart.readRegister(VUART_LSR) & LSR_THRE)) return;
    let room = VUART_FIFO_SIZE;
    while (room > 0 && this.#tx.length > 0) {
      const chunk = this.#tx[0] as PendingChunk;
      const n = Math.min(room, chunk.data.length - chunk.offset);
      for (let i = 0; i < n; i++) this.#vuart.writeRegister(VUART_THR, chunk.data[chunk.offset + i] as number);
      chunk.offset += n;
      room -= n;
      this.#stats.txBytes += n;
      if (chunk.offset === chunk.data.length) {
        this.#tx.shift();
        chunk.callback();
      }
    }
    // Nothing left: stop the THRE interrupt, as the 8250 core's stop_tx does.
    if (this.#tx.length === 0) this.#setIer(this.#ier & ~IER_THRI);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (chunk.length === 0) {
      callback();
      return;
    }
    this.#tx.push({ data: chunk, offset: 0, callback });
    // Enabling THRI with THR empty raises the interrupt at once; otherwise the next drain does.
    this.#setIer(this.#ier | IER_THRI);
    this.#service();
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Every byte is in the FIFO by now (all write callbacks ran); the FIFO drains on its own.
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#vuart.off('irq', this.#onIrq);
    // shutdown(): interrupts off, host TX discarded again so the host never stalls.
    this.#setIer(0);
    setGcraBits(this.#vuart, GCRA_DISABLE_HOST_TX_DISCARD, false);
    const pending = this.#tx.splice(0);
    for (const chunk of pending) chunk.callback(new DriverError('EBADF', 'VUART tty closed'));
    callback(error);
  }
}
