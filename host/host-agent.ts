/**
 * The host agent: the same MCTP stack in host mode, as a host's firmware or
 * OS runs it (skiboot's driver; a Linux host with an astlpc driver). It
 * drives the astlpc binding over the KCS wire and the LPC window, answers as
 * EID 9 by default and routes the BMC's EID 8 over the link. Inside a QEMU
 * guest the window is the mapped ivshmem BAR and the KCS wire a virtio-serial
 * port; from another process on the host machine, the window file and the
 * KCS wire socket.
 *
 * The KCS wire is either an endpoint (the agent owns a reconnecting chardev
 * client socket; each connection starts with the model's hello) or a ByteLink
 * the caller owns. A ByteLink such as a guest's virtio-serial port has no
 * connection boundary an agent could rely on — the port stays connected to
 * the model when the agent restarts — so the agent starts every session with
 * SYNC (KcsWireClient.resync(), docs/kcs-wire.md §7): at start, whenever the
 * link reports a (re)connection, and after the client dropped the session on
 * a protocol error.
 */
import type { ByteLink } from '../transport/byte-link.js';
import { KcsWireClient } from '../transport/kcs-wire/client.js';
import type { ChardevEndpoint } from '../transport/chardev-socket.js';
import { MCTP_WINDOW_SIZE, WindowFile } from '../transport/window-file.js';
import { AstlpcBinding } from '../firmware/mctp/astlpc/binding.js';
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.js';
import { waitUntil, type WaitOptions } from '../lib/wait.js';
import { MctpStack } from '../firmware/mctp/stack.js';
import { ControlResponder, ECHO_VDM } from '../firmware/mctp/control/responder.js';
import { kcsWireAstlpcPort, windowAstlpcPort, type PositionalWindow } from './astlpc-ports.js';
import { STACK_EVENT, stackEvents } from './stack-events.js';

export const HOST_ASTLPC_IFNAME = 'mctplpc0';

export interface HostAgentOptions {
  /** The KCS wire of the MCTP channel: an endpoint to connect to, or a link the caller owns (and closes). */
  kcs: ChardevEndpoint | ByteLink;
  /**
   * Start each session on the KCS wire with SYNC instead of waiting for the
   * model's hello. Default: true for a ByteLink (a virtio-serial port gets no
   * hello when the agent restarts), false for an endpoint.
   */
  kcsSync?: boolean;
  /** The LPC window: a path to the window file, or an already-open positional accessor. */
  window: string | PositionalWindow;
  windowSize?: number;
  /**
   * A static EID for this host (skiboot's is 9), with a static route to the
   * BMC. Default null: the host starts unaddressed and the BMC's bus owner
   * assigns its EID (Set Endpoint ID), as mctpd does for a Linux host.
   */
  eid?: number | null;
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
  readonly staticEid: number | null;
  readonly bmcEid: number;
  readonly clock: Clock;
  /** The endpoint-role control responder (Get/Set Endpoint ID, message types, UUID, ...). */
  readonly control: ControlResponder;
  #window: PositionalWindow | null = null;
  #windowPath: string | null = null;
  #windowSize: number;
  #ownsWindow: WindowFile | null = null;
  /** The caller's link, when not an endpoint. */
  #link: ByteLink | null = null;
  #sync: SessionSync | null = null;

  constructor(opts: HostAgentOptions) {
    const clock = opts.clock ?? systemClock;
    this.clock = clock;
    const windowSize = opts.windowSize ?? MCTP_WINDOW_SIZE;
    this.staticEid = opts.eid ?? null;
    this.bmcEid = opts.bmcEid ?? 8;
    this.#windowSize = windowSize;
    // A window file is opened at start(): the BMC creates it, possibly later than we start.
    if (typeof opts.window === 'string') this.#windowPath = opts.window;
    else this.#window = opts.window;
    if (isEndpoint(opts.kcs)) {
      this.kcsClient = KcsWireClient.forEndpoint(opts.kcs, { clock });
    } else {
      this.#link = opts.kcs;
      this.kcsClient = new KcsWireClient(opts.kcs, { clock });
    }
    if (opts.kcsSync ?? (this.#link !== null)) {
      if (!this.#link) throw new TypeError('HostAgent: kcsSync needs a ByteLink (an endpoint connection starts with a hello)');
      this.#sync = new SessionSync(this.#link, this.kcsClient, clock);
    }
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
    // The agents run an mctp-echo compatible responder; advertise it as mctpd would a registered VDM.
    // Route back to the BMC at the device MTU: astlpc negotiates far above the 68-byte link minimum.
    this.control = new ControlResponder(this.stack, { role: 'endpoint', vdm: [ECHO_VDM], routeMtu: 'none' });
  }

  /** Our EID on the astlpc link: the static one, the one the bus owner assigned, or null while unassigned. */
  get eid(): number | null {
    return this.stack.findInterface(HOST_ASTLPC_IFNAME)?.addrs[0] ?? this.staticEid;
  }

  /**
   * Resolves with our EID once we have one on the astlpc link (at once for a
   * static EID). `opts` bounds the wait (timeout on this agent's clock unless
   * another is given, abort signal); it rejects with a WaitError then.
   */
  async whenAssigned(opts: WaitOptions = {}): Promise<number> {
    const eid = (): number | undefined => this.stack.findInterface(HOST_ASTLPC_IFNAME)?.addrs[0];
    await waitUntil(stackEvents(this.stack), STACK_EVENT, () => eid() !== undefined, { clock: this.clock, what: `an EID on ${HOST_ASTLPC_IFNAME}`, ...opts });
    return eid()!;
  }

  /**
   * Connect the KCS wire (waiting, with backoff, while the BMC is not there
   * yet) and bring the link up; the binding initialises as soon as it sees
   * BMC_READY.
   */
  async start(): Promise<void> {
    const iface = this.stack.addInterface(HOST_ASTLPC_IFNAME, this.astlpc);
    if (this.staticEid !== null) {
      this.stack.addAddress(HOST_ASTLPC_IFNAME, this.staticEid);
      this.stack.addRoute({ min: this.bmcEid, dev: HOST_ASTLPC_IFNAME });
    }
    // Wire first, so the binding's first look at STR is a real one; if the
    // wire drops later the binding rides it out (I/O errors, then re-init).
    if (this.#sync) this.#sync.start();
    if (this.#link) await this.kcsClient.waitReady();
    else await this.kcsClient.connect();
    if (this.#windowPath && !this.#window) {
      this.#ownsWindow = WindowFile.open(this.#windowPath, { size: this.#windowSize });
      this.#window = this.#ownsWindow;
    }
    iface.setUp(true);
  }

  /** Resolves when the astlpc channel is active (carrier up on the MCTP interface); `opts` as for whenAssigned(). */
  whenLinkUp(opts: WaitOptions = {}): Promise<void> {
    const up = (): boolean => this.stack.findInterface(HOST_ASTLPC_IFNAME)?.carrier ?? false;
    return waitUntil(stackEvents(this.stack), STACK_EVENT, up, { clock: this.clock, what: `carrier on ${HOST_ASTLPC_IFNAME}`, ...opts });
  }

  async stop(): Promise<void> {
    this.control.close();
    this.#sync?.stop();
    await this.stack.close();
    await this.kcsClient.close();
    this.#ownsWindow?.close();
  }
}

function isEndpoint(kcs: ChardevEndpoint | ByteLink): kcs is ChardevEndpoint {
  return typeof (kcs as ByteLink).write !== 'function';
}

/**
 * Keeps a KCS wire session alive on a link without connection boundaries:
 * whenever the link is up but the client has no session, SYNC. The link
 * (re)connecting or the client losing a ready session start an attempt at
 * once; a failed attempt (no SYNC reply in time, a refused hello, a protocol
 * error) is retried with backoff, and until one succeeds every trigger waits
 * for that backoff, so a model the client cannot talk to is not hammered.
 */
class SessionSync {
  static readonly RETRY_MIN_MS = 250;
  static readonly RETRY_MAX_MS = 4000;
  #running = false;
  #timer: TimerHandle | null = null;
  #delay = SessionSync.RETRY_MIN_MS;
  #failing = false;
  /** Bumped per attempt, so a superseded attempt's outcome is ignored. */
  #attempt = 0;
  readonly #kick = (): void => (this.#failing ? this.#retryLater() : this.#syncNow());
  readonly #failed = (): void => {
    this.#failing = true;
    this.#retryLater();
  };

  constructor(
    readonly link: ByteLink,
    readonly client: KcsWireClient,
    readonly clock: Clock,
  ) {}

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.link.on('connect', this.#kick);
    this.client.on('disconnect', this.#kick);
    this.client.on('protocol-error', this.#failed);
    this.#syncNow();
  }

  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = null;
    this.link.off('connect', this.#kick);
    this.client.off('disconnect', this.#kick);
    this.client.off('protocol-error', this.#failed);
  }

  #retryLater(): void {
    if (!this.#running || this.#timer) return;
    const delay = this.#delay;
    this.#delay = Math.min(SessionSync.RETRY_MAX_MS, delay * 2);
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = null;
      this.#syncNow();
    }, delay);
  }

  #syncNow(): void {
    this.#timer?.cancel();
    this.#timer = null;
    // Not connected: the link's next 'connect' calls again.
    if (!this.#running || !this.link.connected || this.client.ready) return;
    const attempt = ++this.#attempt;
    this.client.resync().then(
      () => {
        this.#failing = false;
        this.#delay = SessionSync.RETRY_MIN_MS;
      },
      () => {
        if (attempt === this.#attempt && !this.client.ready) this.#failed();
      },
    );
  }
}
