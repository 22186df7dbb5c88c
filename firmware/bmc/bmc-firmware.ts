/**
 * The BMC's firmware on one emulated AST2500: the drivers over the SoC's
 * BMC-side registers, and the MCTP stack with the astlpc binding in BMC mode
 * on interface `mctplpc0` and the serial binding on `mctpserial0` over the
 * UART's tty — what mctp-demux-daemon (or the kernel bindings) and
 * systemd-networkd set up on an OpenBMC system. Given a serial device (a real
 * tty or a pty), the serial binding runs on that instead of the UART.
 */
import type { Ast2500Soc } from '../../hw-models/ast2500-soc.js';
import { AspeedLpcCtrl, ASPEED_LPC_CTRL_WINDOW_MEMORY, topOfFwSpace } from '../drivers/aspeed-lpc-ctrl.js';
import { RawKcs } from '../drivers/raw-kcs.js';
import { UartTty } from '../drivers/uart-tty.js';
import { VuartTty } from '../drivers/vuart-tty.js';
import { ConsoleService } from '../services/console/console-service.js';
import { IpmiService, type IpmiServiceOptions } from '../services/ipmi/ipmi-service.js';
import { BusOwner } from '../services/bus-owner/bus-owner.js';
import { ControlResponder, ECHO_VDM } from '../mctp/control/responder.js';
import { AstlpcBinding, type AstlpcStateEvent } from '../mctp/astlpc/binding.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { SerialBinding } from '../mctp/serial/binding.js';
import { SerialDeviceKeeper, type SerialDeviceOptions, type SerialDeviceStats } from '../../transport/serial-device.js';
import type { UartTtyStats } from '../drivers/uart-tty.js';
import { MctpStack } from '../mctp/stack.js';
import { lpcCtrlWindowPort, rawKcsAstlpcPort } from './astlpc-ports.js';

export const ASTLPC_IFNAME = 'mctplpc0';
export const SERIAL_IFNAME = 'mctpserial0';

export interface BmcFirmwareOptions {
  soc: Ast2500Soc;
  /** The BMC's own EID (OpenBMC's default: 8). */
  eid?: number;
  /**
   * The BMC's EID on the serial link (default: the same as `eid`). MCTP routes
   * by destination EID, so a host that is on both links answers the BMC over
   * whichever link leads to the EID it answers: a distinct serial EID makes
   * replies to serial requests come back over serial.
   */
  serialEid?: number;
  /**
   * A static route to a host EID over astlpc, for hosts that neither answer
   * MCTP control nor need assigning (skiboot's host is EID 9 by fiat).
   * Default: none — the bus owner assigns the host's EID.
   */
  hostEid?: number | null;
  /** Run the bus owner on every link (default true). */
  busOwner?: boolean;
  /** astlpc MTU, header included; 0/absent = as large as the window allows. */
  mtu?: number;
  /** The IPMI service (ipmid's role); false for none. The composition serves it on QEMU's ipmi-bmc-extern link. */
  ipmi?: Omit<IpmiServiceOptions, 'clock'> | false;
  /**
   * Run the serial binding on this device (a real tty or a pty, at its baud
   * rate) instead of the UART's tty; it is reopened after every hang-up.
   * Default: none (the UART cabled to the emulated host's ttyS1).
   */
  serialDevice?: SerialDeviceOptions | null;
  clock?: Clock;
}

/** What carries the serial binding, for status and diagnostics. */
export type SerialLinkStats = { kind: 'uart'; tty: UartTtyStats | null } | { kind: 'device'; device: SerialDeviceStats };

export class BmcFirmware {
  readonly stack: MctpStack;
  readonly astlpc: AstlpcBinding;
  readonly lpcCtrl: AspeedLpcCtrl;
  readonly rawKcs: RawKcs;
  /** The DSP0253 binding on the UART cabled to the host's ttyS1. */
  readonly serial: SerialBinding;
  /** The host console on the VUART (obmc-console's job). */
  readonly console: ConsoleService;
  /** mctpd's role: assigns EIDs to the endpoints on our links. */
  readonly busOwner: BusOwner;
  /** ipmid's role: the IPMI router and the BMC's commands (null when built without IPMI). */
  readonly ipmi: IpmiService | null;
  readonly #runBusOwner: boolean;
  readonly eid: number;
  readonly serialEid: number;
  #soc: Ast2500Soc;
  #serialRunning = false;
  /** The UART's tty while one is open (the UART path). */
  #serialTty: UartTty | null = null;
  /** The serial device, when the binding runs on one instead of the UART. */
  readonly serialDevice: SerialDeviceKeeper | null;
  readonly hostEid: number | null;

  constructor(opts: BmcFirmwareOptions) {
    const clock = opts.clock ?? systemClock;
    this.eid = opts.eid ?? 8;
    this.serialEid = opts.serialEid ?? this.eid;
    this.hostEid = opts.hostEid ?? null;
    this.#runBusOwner = opts.busOwner ?? true;
    this.#soc = opts.soc;
    this.stack = new MctpStack({ clock });
    this.serial = new SerialBinding();
    this.serialDevice = opts.serialDevice ? new SerialDeviceKeeper({ ...opts.serialDevice, clock }) : null;
    this.console = new ConsoleService(new VuartTty(opts.soc.vuart));
    this.ipmi = opts.ipmi === false || opts.ipmi === undefined ? null : new IpmiService({ ...opts.ipmi, clock });
    // The bus-owner responder advertises the echo service (mctp-echo's VDM set).
    const responder = new ControlResponder(this.stack, { role: 'bus-owner', vdm: [ECHO_VDM] });
    // Endpoint routes use the device MTU: astlpc negotiates far above the 68-byte link minimum.
    this.busOwner = new BusOwner(this.stack, { clock, responder, routeMtu: 'none' });
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

  /**
   * Bring the link up: the binding publishes BMC_READY and waits for the
   * host's Init — after announcing the end of a predecessor's channel if the
   * window still holds one (a restarted bmcemu: docs/astlpc.md "BMC restart
   * across processes").
   */
  start(): void {
    const iface = this.stack.addInterface(ASTLPC_IFNAME, this.astlpc);
    this.stack.addAddress(ASTLPC_IFNAME, this.eid);
    if (this.hostEid !== null) this.stack.addRoute({ min: this.hostEid, dev: ASTLPC_IFNAME });
    iface.setUp(true);
    // The serial link: same EID; its peer gets an EID from the bus owner.
    const serial = this.stack.addInterface(SERIAL_IFNAME, this.serial);
    this.stack.addAddress(SERIAL_IFNAME, this.serialEid);
    serial.setUp(true);
    this.#serialRunning = true;
    if (this.serialDevice) this.#startSerialDevice(this.serialDevice);
    else this.#openSerialTty();
    if (this.#runBusOwner) this.busOwner.start();
  }

  serialLinkStats(): SerialLinkStats {
    if (this.serialDevice) return { kind: 'device', device: this.serialDevice.stats() };
    return { kind: 'uart', tty: this.#serialTty?.stats ?? null };
  }

  /** Each time the device (re)opens, the binding gets the new stream; a hang-up drops carrier until then. */
  #startSerialDevice(device: SerialDeviceKeeper): void {
    device.on('stream', (stream) => {
      try {
        this.serial.attachStream(stream);
      } catch {
        // The binding was closed under us: nobody wants the line.
        stream.destroy();
        void device.stop();
      }
    });
    device.start();
  }

  /**
   * Open the UART's tty and give it to the serial binding, as the console
   * service is given the VUART's. The tty is open (and the binding's carrier
   * up) while the host's end of the line is connected; a hangup closes it and
   * a new one is opened to wait for the next connection, as a getty respawns.
   */
  #openSerialTty = (): void => {
    if (!this.#serialRunning) return;
    const tty = new UartTty(this.#soc.uart);
    try {
      this.serial.attachStream(tty);
    } catch {
      // The binding was closed under us (its stack closed without stop()): nobody wants the line.
      this.#serialRunning = false;
      tty.destroy();
      return;
    }
    this.#serialTty = tty;
    tty.once('close', this.#openSerialTty);
  };

  onAstlpcState(fn: (ev: AstlpcStateEvent) => void): void {
    this.astlpc.on('state', fn);
  }

  /**
   * Closing the stack closes the astlpc binding, which announces going down
   * (STR 0x00 + dummy) before this resolves; the SoC's close then gives a
   * connected host the time to read it before the KCS wire goes
   * (docs/astlpc.md "BMC restart across processes").
   */
  async stop(): Promise<void> {
    this.#serialRunning = false;
    this.busOwner.stop();
    await this.serialDevice?.stop();
    await this.stack.close();
    this.rawKcs.close();
    this.console.close();
    this.ipmi?.close();
  }
}
