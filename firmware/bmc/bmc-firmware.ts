/**
 * The BMC's firmware on one emulated AST2500: the drivers over the SoC's
 * BMC-side registers, and the MCTP stack with the astlpc binding in BMC mode
 * on interface `mctplpc0` and the serial binding on `mctpserial0` — what
 * mctp-demux-daemon (or the kernel bindings) and systemd-networkd set up on
 * an OpenBMC system.
 */
import type { Ast2500Soc } from '../../hw-models/ast2500-soc.js';
import { AspeedLpcCtrl, ASPEED_LPC_CTRL_WINDOW_MEMORY, topOfFwSpace } from '../drivers/aspeed-lpc-ctrl.js';
import { RawKcs } from '../drivers/raw-kcs.js';
import { VuartTty } from '../drivers/vuart-tty.js';
import { ConsoleService } from '../services/console.js';
import { AstlpcBinding, type AstlpcStateEvent } from '../mctp/astlpc/astlpc.js';
import { systemClock, type Clock } from '../mctp/clock.js';
import { SerialBinding } from '../mctp/serial/serial-binding.js';
import { MctpStack } from '../mctp/stack.js';
import { lpcCtrlWindowPort, rawKcsAstlpcPort } from './astlpc-ports.js';

export const ASTLPC_IFNAME = 'mctplpc0';
export const SERIAL_IFNAME = 'mctpserial0';

export interface BmcFirmwareOptions {
  soc: Ast2500Soc;
  /** The BMC's own EID (OpenBMC's default: 8). */
  eid?: number;
  /**
   * Host EID routed over astlpc until the bus owner assigns one dynamically
   * (skiboot's host uses 9). null = no static route.
   */
  hostEid?: number | null;
  /** astlpc MTU, header included; 0/absent = as large as the window allows. */
  mtu?: number;
  clock?: Clock;
}

export class BmcFirmware {
  readonly stack: MctpStack;
  readonly astlpc: AstlpcBinding;
  readonly lpcCtrl: AspeedLpcCtrl;
  readonly rawKcs: RawKcs;
  /** The DSP0253 binding on the UART cabled to the host's ttyS1. */
  readonly serial: SerialBinding;
  /** The host console on the VUART (obmc-console's job). */
  readonly console: ConsoleService;
  readonly eid: number;
  #soc: Ast2500Soc;
  #onUartConnect = (): void => {
    const stream = this.#soc.mctpUart.peerStream;
    if (stream) this.serial.attachStream(stream);
  };
  readonly hostEid: number | null;

  constructor(opts: BmcFirmwareOptions) {
    const clock = opts.clock ?? systemClock;
    this.eid = opts.eid ?? 8;
    this.hostEid = opts.hostEid === undefined ? 9 : opts.hostEid;
    this.#soc = opts.soc;
    this.stack = new MctpStack({ clock });
    this.serial = new SerialBinding();
    this.console = new ConsoleService(new VuartTty(opts.soc.vuart));
    this.lpcCtrl = new AspeedLpcCtrl(opts.soc.lpc);
    this.rawKcs = new RawKcs(opts.soc.mctpKcs);
    // As libmctp's fileio BMC mode: the reserved region sits at the top of the
    // 28-bit LPC FW space, so the MCTP window (its last 1 MiB) is at 0x0FF00000.
    const size = this.lpcCtrl.getSize({ windowType: ASPEED_LPC_CTRL_WINDOW_MEMORY, windowId: 0 });
    this.lpcCtrl.map({ windowType: ASPEED_LPC_CTRL_WINDOW_MEMORY, windowId: 0, addr: topOfFwSpace(size), offset: 0, size });
    this.astlpc = new AstlpcBinding({
      mode: 'bmc',
      kcs: rawKcsAstlpcPort(this.rawKcs),
      window: lpcCtrlWindowPort(this.lpcCtrl),
      windowSize: this.lpcCtrl.windowSize,
      clock,
      ...(opts.mtu ? { mtu: opts.mtu } : {}),
    });
  }

  /** Bring the link up: the binding publishes BMC_READY and waits for the host's Init. */
  start(): void {
    const iface = this.stack.addInterface(ASTLPC_IFNAME, this.astlpc);
    this.stack.addAddress(ASTLPC_IFNAME, this.eid);
    if (this.hostEid !== null) this.stack.addRoute({ min: this.hostEid, dev: ASTLPC_IFNAME });
    iface.setUp(true);
    // The serial link: same EID; its peer gets an EID from the bus owner.
    const serial = this.stack.addInterface(SERIAL_IFNAME, this.serial);
    this.stack.addAddress(SERIAL_IFNAME, this.eid);
    serial.setUp(true);
    this.#soc.mctpUart.on('connect', this.#onUartConnect);
    this.#onUartConnect();
  }

  onAstlpcState(fn: (ev: AstlpcStateEvent) => void): void {
    this.astlpc.on('state', fn);
  }

  async stop(): Promise<void> {
    this.#soc.mctpUart.off('connect', this.#onUartConnect);
    await this.stack.close();
    this.rawKcs.close();
    this.console.close();
  }
}
