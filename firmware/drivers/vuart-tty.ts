/**
 * /dev/ttyVUART0 over the Vuart model: what Linux's 8250_aspeed_vuart plus
 * the 8250 core give userspace — a byte stream both ways — as a Node Duplex.
 * The 8250 part (interrupt handler, throttling, FIFO-load writes) is
 * serial8250-tty.ts; this file is the ASPEED VUART's own part:
 *
 *   probe   (aspeedVuartProbe) host LPC address, SerIRQ and polarity,
 *           VUART enabled, host-TX discard on: the host never stalls while
 *           nothing on the BMC listens
 *   open    (constructing a VuartTty) the 8250 startup, then discard off:
 *           host bytes are now kept
 *   close   (destroy()) interrupts off, discard on again
 */
import {
  GCRA_DISABLE_HOST_TX_DISCARD,
  GCRA_HOST_SIRQ_POLARITY,
  GCRA_VUART_EN,
  GCRB_HOST_SIRQ_MASK,
  GCRB_HOST_SIRQ_SHIFT,
  VUART_ADDRH,
  VUART_ADDRL,
  VUART_GCRA,
  VUART_GCRB,
  type Vuart,
} from '../../hw-models/vuart.js';
import { DriverError } from './errors.js';
import { Serial8250Tty, type Serial8250TtyOptions, type Serial8250TtyStats } from './serial8250-tty.js';

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

export interface VuartTtyOptions extends VuartProbeOptions, Serial8250TtyOptions {
  /** Run aspeedVuartProbe first (default true; false when the VUART is already set up). */
  probe?: boolean;
}

export type VuartTtyStats = Serial8250TtyStats;

export class VuartTty extends Serial8250Tty {
  readonly #vuart: Vuart;

  constructor(vuart: Vuart, options: VuartTtyOptions = {}) {
    if (options.probe !== false) aspeedVuartProbe(vuart, options);
    super(vuart, options, false);
    this.#vuart = vuart;
    // Host TX is kept from now on: someone reads.
    setGcraBits(vuart, GCRA_DISABLE_HOST_TX_DISCARD, true);
    this.start();
  }

  /** Host TX discarded again so the host never stalls. */
  protected override shutdown(): void {
    setGcraBits(this.#vuart, GCRA_DISABLE_HOST_TX_DISCARD, false);
  }
}
