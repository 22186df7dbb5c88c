/**
 * The 8250 core's tty half, shared by the drivers of the AST2500's
 * 16550-compatible ports (vuart-tty.ts, uart-tty.ts): what the 8250 core gives
 * userspace — a byte stream both ways — as a Node Duplex, with the register
 * work done here.
 *
 *   open    (constructing) FIFOs on and cleared, 8N1, receive and
 *           line-status interrupts on (and modem status, for a port that
 *           follows carrier); the subclass then does its own part and start()s
 *   close   (destroy()) interrupts off, the subclass's shutdown(), pending
 *           writes failed
 *
 * Reading: the interrupt handler empties RBR into the stream. When the stream
 * is full (push() says stop) it throttles — RX interrupts off, as the ASPEED
 * VUART driver does — so bytes wait in the FIFO and then at the far end (a
 * host wire that honours hostTransmitRoom() loses nothing).
 * Writing: bytes go to THR a FIFO-load at a time on each THRE interrupt; a
 * write's callback fires once its last byte is in the FIFO, so a slow far end
 * (setHostReady(false)) pushes back on writers through the usual Writable
 * backpressure.
 */
import { Duplex } from 'node:stream';
import {
  FCR_CLEAR_RCVR,
  FCR_CLEAR_XMIT,
  FCR_ENABLE_FIFO,
  IER_MSI,
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
  LCR_8N1,
  LSR_DR,
  LSR_OE,
  LSR_THRE,
  UART_FCR,
  UART_IER,
  UART_IIR,
  UART_LCR,
  UART_LSR,
  UART_MSR,
  UART_RBR,
  UART_THR,
  type Uart16550,
} from '../../hw-models/uart-16550.js';
import { DriverError } from './errors.js';

export interface Serial8250TtyOptions {
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
}

export interface Serial8250TtyStats {
  rxBytes: number;
  txBytes: number;
  /** Overrun errors the line-status interrupt reported (far-end bytes lost at a full FIFO). */
  overruns: number;
  /** Times reading stopped because the stream's buffer was full. */
  throttles: number;
}

interface PendingChunk {
  data: Buffer;
  offset: number;
  callback: (error?: Error | null) => void;
}

export abstract class Serial8250Tty extends Duplex {
  protected readonly port: Uart16550;
  #ier = 0;
  #started = false;
  #throttled = false;
  #servicing = false;
  #serviceAgain = false;
  #tx: PendingChunk[] = [];
  #stats: Serial8250TtyStats = { rxBytes: 0, txBytes: 0, overruns: 0, throttles: 0 };
  readonly #onIrq = (level: boolean): void => {
    if (level) this.#service();
  };

  /** `modemStatus`: also enable the modem-status interrupt (a port that follows carrier). */
  constructor(port: Uart16550, options: Serial8250TtyOptions, modemStatus: boolean) {
    super({
      allowHalfOpen: true,
      ...(options.readableHighWaterMark !== undefined && { readableHighWaterMark: options.readableHighWaterMark }),
      ...(options.writableHighWaterMark !== undefined && { writableHighWaterMark: options.writableHighWaterMark }),
    });
    this.port = port;
    // startup(): FIFOs on and emptied, 8N1, receive interrupts on.
    port.writeRegister(UART_FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
    port.writeRegister(UART_LCR, LCR_8N1);
    port.on('irq', this.#onIrq);
    this.#setIer(IER_RDI | IER_RLSI | (modemStatus ? IER_MSI : 0));
  }

  /**
   * The subclass's open is done: from here on the interrupt handler runs.
   * (Until then an interrupt only waits, so no hook sees a half-built tty.)
   */
  protected start(): void {
    this.#started = true;
    this.#service();
  }

  /** A modem-status interrupt: `msr` is what reading MSR returned (deltas included). */
  protected onModemStatus(_msr: number): void {}

  /** The subclass's part of close, after interrupts are off. */
  protected shutdown(): void {}

  get stats(): Readonly<Serial8250TtyStats> {
    return { ...this.#stats };
  }

  #setIer(ier: number): void {
    if (ier === this.#ier) return;
    this.#ier = ier;
    this.port.writeRegister(UART_IER, ier);
  }

  /**
   * The interrupt handler (serial8250_handle_irq's shape): service sources in
   * IIR priority order until none is pending. Re-entry (a push() that makes a
   * consumer write or read synchronously) just asks the running loop to go round again.
   */
  #service(): void {
    if (this.destroyed || !this.#started) return;
    if (this.#servicing) {
      this.#serviceAgain = true;
      return;
    }
    this.#servicing = true;
    try {
      do {
        this.#serviceAgain = false;
        for (;;) {
          const id = this.port.readRegister(UART_IIR) & IIR_ID_MASK;
          if (id === IIR_NO_INT) break;
          if (id === IIR_RLSI) this.#lineStatus();
          else if (id === IIR_RDI || id === IIR_RX_TIMEOUT) this.#receive();
          else if (id === IIR_THRI) this.#transmit();
          else if (id === IIR_MSI) this.onModemStatus(this.port.readRegister(UART_MSR));
          if (this.destroyed) return;
        }
      } while (this.#serviceAgain);
    } finally {
      this.#servicing = false;
    }
  }

  #lineStatus(): void {
    const lsr = this.port.readRegister(UART_LSR);
    if (lsr & LSR_OE) this.#stats.overruns++;
  }

  #receive(): void {
    const bytes: number[] = [];
    while (this.port.readRegister(UART_LSR) & LSR_DR) bytes.push(this.port.readRegister(UART_RBR));
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
    if (!(this.port.readRegister(UART_LSR) & LSR_THRE)) return;
    let room = this.port.fifoSize;
    while (room > 0 && this.#tx.length > 0) {
      const chunk = this.#tx[0] as PendingChunk;
      const n = Math.min(room, chunk.data.length - chunk.offset);
      for (let i = 0; i < n; i++) this.port.writeRegister(UART_THR, chunk.data[chunk.offset + i] as number);
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
    this.port.off('irq', this.#onIrq);
    this.#setIer(0);
    this.shutdown();
    const pending = this.#tx.splice(0);
    for (const chunk of pending) chunk.callback(new DriverError('EBADF', `${this.port.name} tty closed`));
    callback(error);
  }
}
