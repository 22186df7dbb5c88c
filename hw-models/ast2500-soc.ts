/**
 * The AST2500 parts of one emulated BMC that a host can reach, and the wires
 * that expose their host side: the LPC controller with its file-backed MCTP
 * firmware window, the four KCS channels (the MCTP channel served on a KCS
 * wire socket), the VUART (the host console) and the UART cabled to the
 * host's second serial port (the MCTP serial link). Firmware sees only the
 * BMC-side registers through drivers; a host sees only the wires.
 */
import path from 'node:path';
import { KcsController, type KcsChannel, type KcsChannelNumber } from './kcs.js';
import { LpcCtrl } from './lpc-ctrl.js';
import { Uart } from './uart.js';
import { Vuart } from './vuart.js';
import { ChardevSocket, type ChardevEndpoint } from '../transport/chardev-socket.js';
import { KcsWireServer } from './wire-servers/kcs-wire-server.js';
import { UartWire } from './wire-servers/uart-wire-server.js';
import { HOST_CONSOLE_SOCKET, KCS_MCTP_SOCKET, LPC_FW_WINDOW_FILENAME, MCTP_SERIAL_SOCKET } from '../transport/runtime-files.js';

export interface Ast2500SocOptions {
  /** The instance's runtime directory (tmpfs): window file and sockets live here. */
  runtimeDir: string;
  /** KCS channel carrying MCTP (skiboot's 0xCA2/0xCA3 is channel 3). */
  mctpKcsChannel?: KcsChannelNumber;
  /** Where the MCTP KCS wire listens (default: UNIX socket `kcs-mctp.sock` in runtimeDir). */
  kcsWireEndpoint?: ChardevEndpoint;
  /** Where the UART wired to the host's second serial port listens (default: `mctp-serial.sock`). */
  mctpUartEndpoint?: ChardevEndpoint;
  /** Where the VUART's host side (the host console, ttyS0) listens (default: `host-console.sock`). */
  consoleEndpoint?: ChardevEndpoint;
}

export class Ast2500Soc {
  readonly runtimeDir: string;
  readonly lpc: LpcCtrl;
  readonly kcs = new KcsController();
  readonly vuart = new Vuart();
  readonly mctpKcs: KcsChannel;
  readonly kcsWire: ChardevSocket;
  readonly kcsWireServer: KcsWireServer;
  /** The BMC UART cabled to the host's second serial port (ttyS1), carrying the MCTP serial binding. */
  readonly uart = new Uart();
  /** The UART's line: the socket QEMU's `-serial chardev:mctp-serial` connects to. */
  readonly mctpSerialWire: ChardevSocket;
  readonly uartWire: UartWire;
  /** The VUART's host side: the host's first serial port (its console). */
  readonly consoleWire: ChardevSocket;
  readonly vuartWire: UartWire;

  constructor(opts: Ast2500SocOptions) {
    this.runtimeDir = opts.runtimeDir;
    this.lpc = new LpcCtrl({ runtimeDir: opts.runtimeDir, fileName: LPC_FW_WINDOW_FILENAME });
    const ch = opts.mctpKcsChannel ?? 3;
    this.mctpKcs = this.kcs.channel(ch);
    this.kcsWire = new ChardevSocket({
      role: 'server',
      endpoint: opts.kcsWireEndpoint ?? { kind: 'unix', path: path.join(opts.runtimeDir, KCS_MCTP_SOCKET) },
    });
    this.kcsWireServer = new KcsWireServer(this.mctpKcs, this.kcsWire, { channel: ch });
    this.mctpSerialWire = new ChardevSocket({
      role: 'server',
      endpoint: opts.mctpUartEndpoint ?? { kind: 'unix', path: path.join(opts.runtimeDir, MCTP_SERIAL_SOCKET) },
    });
    this.uartWire = new UartWire(this.uart, this.mctpSerialWire);
    this.consoleWire = new ChardevSocket({
      role: 'server',
      endpoint: opts.consoleEndpoint ?? { kind: 'unix', path: path.join(opts.runtimeDir, HOST_CONSOLE_SOCKET) },
    });
    this.vuartWire = new UartWire(this.vuart, this.consoleWire);
  }

  get windowFile(): string {
    return path.join(this.runtimeDir, LPC_FW_WINDOW_FILENAME);
  }

  /** Start serving the host-side wires. */
  async start(): Promise<void> {
    await this.kcsWire.listen();
    await this.mctpSerialWire.listen();
    await this.consoleWire.listen();
  }

  async close(): Promise<void> {
    // A host still connected gets to read the BMC's last status update first
    // (docs/kcs-wire.md §7 "Model shutdown and restart").
    await this.kcsWireServer.drain();
    this.kcsWireServer.detach();
    await this.kcsWire.close();
    this.uartWire.detach();
    await this.mctpSerialWire.close();
    this.vuartWire.detach();
    await this.consoleWire.close();
    this.lpc.close();
  }

  snapshot(): Record<string, unknown> {
    return {
      lpc: this.lpc.snapshot(),
      kcs: this.kcs.snapshot(),
      vuart: this.vuart.snapshot(),
      uart: this.uart.snapshot(),
      kcsWire: { ...this.kcsWire.stats(), server: this.kcsWireServer.stats() },
      mctpUart: { ...this.mctpSerialWire.stats(), wire: this.uartWire.stats() },
      console: { ...this.consoleWire.stats(), wire: this.vuartWire.stats() },
    };
  }
}
