/**
 * The host agent: the same MCTP stack in host mode, as a host's firmware or
 * OS runs it (skiboot's driver; a Linux host with an astlpc driver). It
 * drives the astlpc binding over the KCS wire and the LPC window, answers as
 * EID 9 by default and routes the BMC's EID 8 over the link. Inside a QEMU
 * guest the window is the mapped ivshmem BAR and the KCS wire a virtio-serial
 * port; from another process on the host machine, the window file and the
 * KCS wire socket.
 */
import { KcsWireClient } from '../../hw-models/wire/kcs-wire-client.js';
import type { ChardevEndpoint } from '../../hw-models/wire/chardev-socket.js';
import { MCTP_WINDOW_SIZE, WindowFile } from '../../hw-models/wire/window-file.js';
import { AstlpcBinding } from '../mctp/astlpc/astlpc.js';
import { systemClock, type Clock } from '../mctp/clock.js';
import { MctpStack } from '../mctp/stack.js';
import { kcsWireAstlpcPort, windowAstlpcPort, type PositionalWindow } from './astlpc-ports.js';

export const HOST_ASTLPC_IFNAME = 'mctplpc0';

export interface HostAgentOptions {
  /** The KCS wire of the MCTP channel. */
  kcs: ChardevEndpoint;
  /** The LPC window: a path to the window file, or an already-open positional accessor. */
  window: string | PositionalWindow;
  windowSize?: number;
  /** This host's EID until a bus owner assigns one (skiboot: 9). */
  eid?: number;
  /** The BMC's EID (OpenBMC: 8). */
  bmcEid?: number;
  /** astlpc MTU to propose, header included (default: skiboot's 32768 + 4). */
  mtu?: number;
  clock?: Clock;
}

export class HostAgent {
  readonly stack: MctpStack;
  readonly astlpc: AstlpcBinding;
  readonly kcsClient: KcsWireClient;
  readonly eid: number;
  readonly bmcEid: number;
  #window: PositionalWindow | null = null;
  #windowPath: string | null = null;
  #windowSize: number;
  #ownsWindow: WindowFile | null = null;

  constructor(opts: HostAgentOptions) {
    const clock = opts.clock ?? systemClock;
    const windowSize = opts.windowSize ?? MCTP_WINDOW_SIZE;
    this.eid = opts.eid ?? 9;
    this.bmcEid = opts.bmcEid ?? 8;
    this.#windowSize = windowSize;
    // A window file is opened at start(): the BMC creates it, possibly later than we start.
    if (typeof opts.window === 'string') this.#windowPath = opts.window;
    else this.#window = opts.window;
    this.kcsClient = KcsWireClient.forEndpoint(opts.kcs, { clock });
    this.stack = new MctpStack({ clock });
    this.astlpc = new AstlpcBinding({
      mode: 'host',
      kcs: kcsWireAstlpcPort(this.kcsClient),
      window: windowAstlpcPort(() => {
        if (!this.#window) throw new RangeError('LPC window not open yet');
        return this.#window;
      }),
      windowSize,
      clock,
      ...(opts.mtu ? { mtu: opts.mtu } : {}),
    });
  }

  /**
   * Connect the KCS wire (waiting, with backoff, while the BMC is not there
   * yet) and bring the link up; the binding initialises as soon as it sees
   * BMC_READY.
   */
  async start(): Promise<void> {
    const iface = this.stack.addInterface(HOST_ASTLPC_IFNAME, this.astlpc);
    this.stack.addAddress(HOST_ASTLPC_IFNAME, this.eid);
    this.stack.addRoute({ min: this.bmcEid, dev: HOST_ASTLPC_IFNAME });
    // Wire first, so the binding's first look at STR is a real one; if the
    // wire drops later the binding rides it out (I/O errors, then re-init).
    await this.kcsClient.connect();
    if (this.#windowPath && !this.#window) {
      this.#ownsWindow = WindowFile.open(this.#windowPath, { size: this.#windowSize });
      this.#window = this.#ownsWindow;
    }
    iface.setUp(true);
  }

  /** Resolves when the astlpc channel is active (carrier up on the MCTP interface). */
  whenLinkUp(): Promise<void> {
    if (this.stack.findInterface(HOST_ASTLPC_IFNAME)?.carrier) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.stack.onEvent((ev) => {
        if (ev.kind === 'carrier' && ev.iface === HOST_ASTLPC_IFNAME && ev.up) {
          off();
          resolve();
        }
      });
    });
  }

  async stop(): Promise<void> {
    await this.stack.close();
    await this.kcsClient.close();
    this.#ownsWindow?.close();
  }
}
