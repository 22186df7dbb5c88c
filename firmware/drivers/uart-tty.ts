/**
 * /dev/ttyS<n> over an AST2500 UART model: what Linux's 8250 driver (the
 * AST2500 UARTs are "ns16550a" with reg-shift 2) gives userspace — a byte
 * stream both ways — as a Node Duplex. The 8250 register work is
 * serial8250-tty.ts; this file adds the modem-control lines, as a tty opened
 * without CLOCAL sees them:
 *
 *   open    the 8250 startup with the modem-status interrupt on, DTR and RTS
 *           raised. With carrier (DCD) already up the tty is open at once;
 *           otherwise it is still opening (isOpen false) until DCD rises, and
 *           then emits 'open' — a blocking open(2) returning, in stream terms
 *           (the same signal @serialport/stream gives, so the MCTP serial
 *           binding raises its carrier then)
 *   hangup  DCD falls while open: the tty is hung up — destroyed, 'close'
 *           emitted — and whoever wants the line again opens a new one
 *   close   (destroy()) interrupts off, DTR and RTS dropped (HUPCL)
 *
 * With `clocal: true` the modem lines are ignored: open at once, never hung up.
 * Bytes written before carrier go out on the line as the hardware would send
 * them; bytes received before it are delivered.
 */
import { MCR_DTR, MCR_OUT2, MCR_RTS, MSR_DCD, UART_MCR, UART_MSR } from '../../hw-models/uart-16550.js';
import type { Uart } from '../../hw-models/uart.js';
import { Serial8250Tty, type Serial8250TtyOptions, type Serial8250TtyStats } from './serial8250-tty.js';

export interface UartTtyOptions extends Serial8250TtyOptions {
  /** termios CLOCAL: ignore the modem-control lines (default false: follow carrier). */
  clocal?: boolean;
}

export interface UartTtyStats extends Serial8250TtyStats {
  /** Carrier losses that hung the tty up (0 or 1: a hung-up tty is done). */
  hangups: number;
}

export class UartTty extends Serial8250Tty {
  readonly #clocal: boolean;
  #open: boolean;
  #hangups = 0;

  constructor(uart: Uart, options: UartTtyOptions = {}) {
    const clocal = options.clocal ?? false;
    super(uart, options, !clocal);
    this.#clocal = clocal;
    // uart_port_dtr_rts(): tell the far end we are here (OUT2 gates the interrupt on PC-style boards).
    uart.writeRegister(UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
    // Reading MSR also clears any delta latched before this open.
    this.#open = clocal || (uart.readRegister(UART_MSR) & MSR_DCD) !== 0;
    this.start();
  }

  /** False while waiting for carrier (the open has not returned yet). */
  get isOpen(): boolean {
    return this.#open;
  }

  override get stats(): Readonly<UartTtyStats> {
    return { ...super.stats, hangups: this.#hangups };
  }

  /** uart_handle_dcd_change(): carrier up completes the open; carrier lost hangs up. */
  protected override onModemStatus(msr: number): void {
    if (this.#clocal) return;
    const carrier = (msr & MSR_DCD) !== 0;
    if (carrier && !this.#open) {
      this.#open = true;
      this.emit('open');
    } else if (!carrier && this.#open) {
      this.#open = false;
      this.#hangups++;
      this.destroy();
    }
  }

  /** HUPCL: drop DTR and RTS, so the far end sees us gone. */
  protected override shutdown(): void {
    this.port.writeRegister(UART_MCR, 0);
  }
}
