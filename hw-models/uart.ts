/**
 * An AST2500 UART (UART1-UART5 are alike): the 16550-compatible register file
 * of uart-16550.ts on a serial line. Which UART is cabled to which host port
 * is a board decision; here one carries the host's second serial port (its
 * ttyS1, the MCTP serial link).
 *
 * The host side is the line:
 *
 *   hostTransmit(bytes)       bytes from the host's serial port → RX FIFO
 *   'host-rx' (Buffer)        bytes the BMC wrote to THR → out to the host
 *   setLineConnected(bool)    the host end of the cable is there or not
 *
 * A connected line asserts DCD, DSR and CTS (what a null-modem cable to a
 * powered peer shows), a disconnected one drops them; each change latches the
 * MSR delta bits and, with IER.MSI, raises the modem-status interrupt — which
 * is how a tty driver learns of carrier and hangs up when it goes. The line
 * starts disconnected.
 *
 * A real line cannot be held back, so bytes at a full RX FIFO are overruns
 * (dropped, counted, LSR.OE); the wire in front of the model uses
 * hostTransmitRoom()/'host-tx-ready' to feed the FIFO only as fast as the BMC
 * drains it, and setHostReady(false) holds output in the TX FIFO.
 */
import { HwModelError } from './errors.js';
import { MSR_CTS, MSR_DCD, MSR_DSR, Uart16550, type Uart16550Options, type Uart16550Snapshot } from './uart-16550.js';

/** The modem inputs a connected peer drives. */
const LINE_UP = MSR_DCD | MSR_DSR | MSR_CTS;

export type UartOptions = Uart16550Options;

export interface UartSnapshot extends Uart16550Snapshot {
  /** The host end of the line is connected (DCD/DSR/CTS asserted). */
  lineConnected: boolean;
}

export class Uart extends Uart16550 {
  #lineConnected = false;

  constructor(options: UartOptions = {}) {
    super('UART', { ...options, modemInputs: 0 });
  }

  get lineConnected(): boolean {
    return this.#lineConnected;
  }

  /** The host end came (true) or went (false): DCD, DSR and CTS follow. */
  setLineConnected(connected: boolean): void {
    if (typeof connected !== 'boolean') throw new HwModelError('ERR_HW_BAD_ARGUMENT', 'setLineConnected takes a boolean');
    if (connected === this.#lineConnected) return;
    this.#lineConnected = connected;
    this.setModemInputs(connected ? LINE_UP : 0);
  }

  override snapshot(): UartSnapshot {
    return { ...super.snapshot(), lineConnected: this.#lineConnected };
  }
}
