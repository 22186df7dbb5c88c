/**
 * The host end of an astlpc channel (libmctp MCTP_BINDING_ASTLPC_MODE_HOST,
 * as skiboot drives it).
 *
 *   down ──start──► starting ──(drain ODR; STR.BMC_READY?)──► init-sent | bmc-not-ready | failed
 *   bmc-not-ready ──KCS event / retry timer──► starting
 *   init-sent ──dummy with CHANNEL_ACTIVE──► active (or failed: bad version/layout)
 *   init-sent ──no CHANNEL_ACTIVE within initTimeoutMs──► failed ──retry timer──► starting
 *   active ──BMC_READY falls──► bmc-not-ready;  ──BMC_READY rises──► init-sent
 *   active ──CHANNEL_ACTIVE falls (BMC_READY still set)──► init-sent (re-Init)
 *
 * Differences from libmctp's host, all in the direction of robustness, are
 * listed in docs/astlpc.md; none changes a byte on the wire.
 */
import {
  ASTLPC_MIN_MTU,
  type AstlpcVersion,
  CA_HOST_VER_CUR,
  CA_HOST_VER_MIN,
  CA_RX_SIZE,
  CONTROL_HEADER_LEN,
  bodySize,
  decodeControlArea,
  hostRxSize,
  isAstlpcVersion,
  negotiateVersion,
  u16be,
  u32be,
  validateLayout,
} from './control-area.js';
import { type InitFailure, counterNames as C } from './counters.js';
import { AstlpcEndpoint, type EndpointConfig } from './endpoint.js';
import {
  ASTLPC_CMD_DUMMY,
  ASTLPC_CMD_INITIALISE,
  ASTLPC_CMD_RX_COMPLETE,
  ASTLPC_CMD_TX_BEGIN,
  KCS_STATUS_BMC_READY,
  KCS_STATUS_CHANNEL_ACTIVE,
  KCS_STATUS_IBF,
  KCS_STATUS_OBF,
  commandName,
} from './kcs-bits.js';
import type { AstlpcHostKcsPort, Unsubscribe } from './ports.js';

export type HostChannelState =
  | 'down'
  /** Draining ODR / reading the BMC's header before Init. */
  | 'starting'
  /** STR.BMC_READY is clear: the BMC binding is not running. Retries on KCS events and a timer. */
  | 'bmc-not-ready'
  /** Init (0x00) sent; waiting for a dummy with CHANNEL_ACTIVE. */
  | 'init-sent'
  | 'active'
  /** Negotiation failed (see lastError / counters); retried on a timer and when BMC_READY rises. */
  | 'failed';

export interface HostEndpointConfig extends EndpointConfig {
  /** skiboot drains stale ODR bytes before init (docs/astlpc.md "The stale dummy"). */
  drainOdr: boolean;
  drainIntervalMs: number;
  drainMaxReads: number;
  /** Retry period while the BMC is not ready or the last init failed. */
  retryMs: number;
  /** How long to wait for CHANNEL_ACTIVE after Init before calling it failed. */
  initTimeoutMs: number;
}

export class HostEndpoint extends AstlpcEndpoint {
  readonly mode = 'host' as const;
  #state: HostChannelState = 'down';
  /** STR as last read; BMC_READY / CHANNEL_ACTIVE edges are computed against it. */
  #lastStr = 0;
  #unsubscribe: Unsubscribe | undefined;
  #retry: { cancel(): void } | undefined;
  #initTimer: { cancel(): void } | undefined;
  /** The pending Init went out over a header that looked scribbled on. */
  #initOverBadHeader = false;
  /** The one quick re-Init after a rejected blind Init was spent (reset when the channel comes up). */
  #quickRetrySpent = false;

  constructor(
    private readonly kcs: AstlpcHostKcsPort,
    private readonly hcfg: HostEndpointConfig,
  ) {
    super(hcfg);
  }

  get state(): HostChannelState {
    return this.#state;
  }

  get lastStatus(): number {
    return this.#lastStr;
  }

  #setState(state: HostChannelState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emitState();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.epoch++;
    this.#setState('starting');
    this.#unsubscribe = this.kcs.subscribe(() => this.kick());
    void this.enqueue(() => this.#attemptInit(true));
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.epoch++;
    this.cancelTimers();
    this.#retry = undefined;
    this.#initTimer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    // The host has no "goodbye" in the protocol: the BMC learns of a new host from its Init.
    this.channelDown();
    this.#setState('down');
    await this.whenIdle();
  }

  // -------------------------------------------------------------------------
  // Initialisation (docs/astlpc.md "Host init")

  async #attemptInit(drain: boolean): Promise<void> {
    this.#retry?.cancel();
    this.#retry = undefined;
    this.#setState('starting');
    if (drain && this.hcfg.drainOdr) {
      await this.#drainOdr();
      if (!this.running) return;
    }
    const str = await this.kcs.readStatus();
    this.#lastStr = str;
    if (!(str & KCS_STATUS_BMC_READY)) {
      // libmctp returns -EHOSTDOWN here and leaves the retry to its caller.
      this.counters.inc(C.bmcNotReady);
      this.lastError = 'BMC not ready: STR.BMC_READY (0x80) is clear';
      this.channelDown();
      this.#setState('bmc-not-ready');
      this.#armRetry();
      return;
    }
    await this.#sendInit();
  }

  /** skiboot: read ODR while OBF, 5 ms apart, at most 254 reads — discards stale dummies. */
  async #drainOdr(): Promise<void> {
    for (let reads = 0; reads < this.hcfg.drainMaxReads; reads++) {
      const str = await this.kcs.readStatus();
      if (!(str & KCS_STATUS_OBF)) return;
      await this.kcs.readData();
      this.counters.inc(C.odrDrained);
      await this.sleep(this.hcfg.drainIntervalMs);
      if (!this.running) return;
    }
  }

  /**
   * mctp_astlpc_init_host from step 2: negotiate locally, write our fields,
   * Init. Unlike libmctp's host, a header that looks scribbled on (a version
   * range no BMC publishes, an invalid layout) does not stop us: we send Init
   * anyway, with our proposal, and let the BMC put its fields back
   * (docs/astlpc.md "Control-area repair"). Only a well-formed version range
   * that does not meet ours means a BMC we cannot talk to.
   */
  async #sendInit(): Promise<void> {
    this.channelDown();
    const hdr = decodeControlArea(this.wread(0, CONTROL_HEADER_LEN));
    const { versionMin, versionMax, windowSize, mtu } = this.cfg;
    const negotiated = negotiateVersion(hdr.bmcVerMin, hdr.bmcVerCur, versionMin, versionMax);
    let version: AstlpcVersion = versionMax;
    let scribbled: string | null = null;
    if (isAstlpcVersion(negotiated)) {
      version = negotiated;
    } else {
      const wellFormed = hdr.bmcVerMin >= 1 && hdr.bmcVerMin <= hdr.bmcVerCur;
      if (wellFormed) {
        return this.#fail('version', `no common version: BMC ${hdr.bmcVerMin}..${hdr.bmcVerCur}, host ${versionMin}..${versionMax}`);
      }
      // Propose as for our newest version; the BMC publishes what it chose.
      scribbled = `BMC versions ${hdr.bmcVerMin}..${hdr.bmcVerCur}`;
    }
    if (version >= 2) {
      const wanted = hostRxSize(version, mtu);
      let rxSize = wanted;
      const fault = validateLayout(version, hdr.layout, windowSize);
      if (fault) {
        // No layout to fit a proposal into: ask for our MTU; the BMC caps it.
        scribbled ??= `BMC layout ${fault}`;
      } else {
        // libmctp's host proposes packet_size(mtu) as is and fails (-EINVAL) if
        // that overlaps the BMC's Tx buffer, e.g. a 32 KiB host against an
        // mtu-64 BMC. The BMC would cap the proposal at exactly that room anyway
        // (its limit is the distance between its buffers), so we cap it here and
        // negotiate instead of failing.
        const { rx, tx } = hdr.layout;
        const room = rx.offset < tx.offset ? tx.offset - rx.offset : windowSize - rx.offset;
        rxSize = Math.min(wanted, room);
        if (rxSize < wanted) this.counters.inc(C.rxSizeCapped);
        const proposed = { rx: { offset: hdr.layout.rx.offset, size: rxSize }, tx: hdr.layout.tx };
        const proposedFault = validateLayout(version, proposed, windowSize);
        if (proposedFault) {
          return this.#fail(`layout:${proposedFault}`, `MTU ${mtu} does not fit the BMC's layout: ${proposedFault}`);
        }
      }
      // Only the 4 bytes of rx_size: the offsets are the BMC's.
      this.wwrite(CA_RX_SIZE, u32be(rxSize));
    }
    if (scribbled) {
      this.counters.inc(C.initOverBadHeader);
      this.lastError = `BMC header looked scribbled on (${scribbled}); sent Init anyway for the BMC to repair it`;
    }
    this.#initOverBadHeader = scribbled !== null;
    this.wwrite(CA_HOST_VER_MIN, u16be(versionMin));
    this.wwrite(CA_HOST_VER_CUR, u16be(versionMax));
    this.#setState('init-sent');
    this.#initTimer?.cancel();
    this.#initTimer = this.after(this.hcfg.initTimeoutMs, () => {
      this.#initTimer = undefined;
      if (this.#state !== 'init-sent') return;
      void this.enqueue(() =>
        this.#fail('timeout', `no CHANNEL_ACTIVE within ${this.hcfg.initTimeoutMs} ms of Init (BMC rejected it or is stuck)`),
      );
    });
    // Unconditional write, no IBF check (docs/astlpc.md "KCS status bits and commands").
    await this.kcs.writeData(ASTLPC_CMD_INITIALISE);
    this.counters.inc(C.initSent);
  }

  /** mctp_astlpc_finalise_channel: adopt the BMC's published version and layout. */
  async #finalise(): Promise<void> {
    this.#initTimer?.cancel();
    this.#initTimer = undefined;
    const hdr = decodeControlArea(this.wread(0, CONTROL_HEADER_LEN));
    const version = hdr.negotiatedVer;
    const { versionMin, versionMax, windowSize } = this.cfg;
    if (!isAstlpcVersion(version) || version < versionMin || version > versionMax) {
      return this.#fail('negotiated-version', `BMC published negotiated_ver ${version}, host speaks ${versionMin}..${versionMax}`);
    }
    const fault = validateLayout(version, hdr.layout, windowSize);
    if (fault) return this.#fail(`layout:${fault}`, `BMC's negotiated layout invalid: ${fault}`);
    let mtu = ASTLPC_MIN_MTU;
    if (version >= 2) {
      // libmctp takes body_size(tx_size) as is; a BMC advertising more than we
      // asked for overflows libmctp's host (docs/astlpc.md
      // "MTU and tx_size rules"). We never exceed our own MTU.
      mtu = Math.min(bodySize(version, hdr.layout.tx.size), this.cfg.mtu);
    }
    this.counters.inc(C.initOk);
    this.lastError = null;
    this.#initOverBadHeader = false;
    this.#quickRetrySpent = false;
    this.#setState('active');
    this.channelUp(version, { tx: { ...hdr.layout.tx }, rx: { ...hdr.layout.rx } }, mtu);
  }

  #fail(why: InitFailure, message: string): void {
    this.#initTimer?.cancel();
    this.#initTimer = undefined;
    this.counters.inc(C.initFailed(why));
    this.lastError = `channel init failed (${why}): ${message}`;
    this.channelDown();
    this.#setState('failed');
    this.#armRetry();
  }

  /**
   * An I/O error while initialising (typically: the KCS wire is not connected
   * yet) must not leave the host stuck in 'starting', where KCS events are
   * ignored: treat it like a BMC that is not ready, so the next KCS event
   * (e.g. the wire's hello) or the retry timer tries again.
   */
  protected override taskFailed(err: unknown): void {
    super.taskFailed(err);
    if (this.running && this.#state === 'starting') {
      this.channelDown();
      this.#setState('bmc-not-ready');
      this.#armRetry();
    }
  }

  #armRetry(): void {
    if (this.#retry) return;
    this.#retry = this.after(this.hcfg.retryMs, () => {
      this.#retry = undefined;
      if (this.#state === 'bmc-not-ready' || this.#state === 'failed') void this.enqueue(() => this.#attemptInit(true));
    });
  }

  // -------------------------------------------------------------------------
  // Polling (docs/astlpc.md "Host on a dummy")

  protected async service(): Promise<void> {
    switch (this.#state) {
      case 'down':
      case 'starting':
        return;
      case 'bmc-not-ready':
        // Something changed on the KCS (most likely the BMC's init dummy): try again.
        return this.#attemptInit(true);
      default:
        break;
    }
    const str = await this.kcs.readStatus();
    if (str & KCS_STATUS_OBF) {
      const cmd = await this.kcs.readData();
      await this.#handle(cmd, str);
    }
    if (this.#state === 'active') await this.flushCommands();
  }

  protected async peerCanAccept(): Promise<boolean> {
    return !((await this.kcs.readStatus()) & KCS_STATUS_IBF);
  }

  protected async writeCommand(cmd: number): Promise<void> {
    await this.kcs.writeData(cmd);
  }

  async #handle(cmd: number, str: number): Promise<void> {
    switch (cmd) {
      case ASTLPC_CMD_DUMMY:
        this.counters.inc(C.cmdReceived(commandName(cmd)));
        return this.#updateChannel(str, true);
      case ASTLPC_CMD_TX_BEGIN:
      case ASTLPC_CMD_RX_COMPLETE:
        this.counters.inc(C.cmdReceived(commandName(cmd)));
        if (this.#state !== 'active') {
          // Before CHANNEL_ACTIVE only 0x00/0xFF are meaningful (docs/astlpc.md "Host on a dummy").
          this.counters.inc(C.cmdBeforeInit);
        } else if (cmd === ASTLPC_CMD_TX_BEGIN) {
          await this.onTxBegin();
        } else {
          this.onRxComplete();
        }
        break;
      default:
        // Including 0x00: Initialise only goes host → BMC.
        this.counters.inc(C.cmdUnknown);
        this.lastError = `unknown KCS command ${commandName(cmd)} from BMC`;
        break;
    }
    // libmctp re-checks STR after every command ("silent loss of bmc-ready").
    await this.#updateChannel(str, false);
  }

  /** mctp_astlpc_update_channel, on the STR read that went with the command. */
  async #updateChannel(str: number, isDummy: boolean): Promise<void> {
    const changed = this.#lastStr ^ str;
    this.#lastStr = str;
    this.emitState();
    if (changed & KCS_STATUS_BMC_READY) {
      if (str & KCS_STATUS_BMC_READY) {
        // The BMC (re)started: initialise again, as libmctp does.
        return this.#sendInit();
      }
      this.counters.inc(C.bmcReadyLost);
      this.lastError = 'BMC went away (STR.BMC_READY cleared)';
      this.channelDown();
      this.#setState('bmc-not-ready');
      this.#armRetry();
      return;
    }
    if (!(str & KCS_STATUS_BMC_READY)) return;
    switch (this.#state) {
      case 'init-sent':
        // Only a dummy answers Init. Without CHANNEL_ACTIVE it is the stale
        // dummy of the BMC's own init, or a rejection: keep waiting, the init
        // timer decides (libmctp fails here with -EINVAL: docs/astlpc.md "The stale dummy").
        if (!isDummy) return;
        if (str & KCS_STATUS_CHANNEL_ACTIVE) return this.#finalise();
        if (this.#initOverBadHeader && !this.#quickRetrySpent) {
          // The BMC answered an Init we sent over a scribbled header without
          // CHANNEL_ACTIVE: it has refused it and (ours) put its fields back.
          // Try once more at once, with what it now publishes, rather than
          // after the init timeout and the retry period.
          this.#quickRetrySpent = true;
          this.counters.inc(C.initQuickRetry);
          return this.#sendInit();
        }
        this.counters.inc(C.staleDummy);
        return;
      case 'active':
        if (!(str & KCS_STATUS_CHANNEL_ACTIVE)) {
          // The BMC dropped the channel but kept BMC_READY (a quick BMC
          // restart: docs/astlpc.md "Restart semantics"). libmctp's host stays
          // dead; we re-initialise.
          this.counters.inc(C.channelLost);
          return this.#sendInit();
        }
        // A dummy while active only comes from a completed (re)negotiation:
        // adopt its layout and reset buffer ownership.
        if (isDummy) return this.#finalise();
        return;
      default:
        return;
    }
  }
}
