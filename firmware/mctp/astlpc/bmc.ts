/**
 * The BMC end of an astlpc channel (libmctp MCTP_BINDING_ASTLPC_MODE_BMC).
 *
 *   down ──start──► [restarting] ──host consumed the dummy──► ready
 *   ready/active/failed ──Init(0x00)──► active | failed
 *   any ──stop──► down  (STR 0x00 + dummy: BMC_READY and CHANNEL_ACTIVE drop)
 *
 * "restarting" answers the restart races (docs/astlpc.md "Restart
 * semantics", "BMC restart across processes"): if a host may still believe
 * in an old channel — we announced going down, STR still shows BMC_READY /
 * CHANNEL_ACTIVE from a previous instance, a previous instance's "going
 * down" dummy is still unread in ODR, or the window holds a previous BMC's
 * control area (a new process: the KCS registers start from zero, the window
 * does not) — we announce the end of that channel (STR 0x00 + dummy) and
 * keep BMC_READY low until the host has read the dummy (OBF clear), so it
 * sees BMC_READY fall and then rise, and re-initialises as libmctp's host
 * does only then. A hold-off timer bounds the wait for a host that is not
 * running at all.
 *
 * Everything the host wrote into the window is validated before use, and
 * the fields that are the BMC's are put back whenever a host changed them:
 * on every Init, and by a periodic check (docs/astlpc.md "Hostile-host
 * handling", "Control-area repair").
 */
import {
  ASTLPC_MAGIC,
  ASTLPC_MIN_MTU,
  ASTLPC_VER_BAD,
  CA_BMC_VER_CUR,
  CA_BMC_VER_MIN,
  CA_MAGIC,
  CA_NEGOTIATED_VER,
  CA_RX_OFFSET,
  CA_RX_SIZE,
  CA_TX_OFFSET,
  CA_TX_SIZE,
  CONTROL_HEADER_LEN,
  type ControlArea,
  type Layout,
  bmcInitialLayout,
  bmcNegotiateMtu,
  decodeControlArea,
  encodeControlArea,
  encodeLayout,
  isAstlpcVersion,
  negotiateVersion,
  u16be,
  u32be,
  validateLayout,
} from './control-area.js';
import { type InitFailure, counterNames as C } from './counters.js';
import { AstlpcEndpoint, type EndpointConfig, type OwnLayout } from './endpoint.js';
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
import type { AstlpcBmcKcsPort, Unsubscribe } from './ports.js';

export type BmcChannelState =
  /** Not running (interface down, or closed). STR shows 0x00 once we have announced it. */
  | 'down'
  /** Announced going down; waiting for the host to read the dummy before BMC_READY. */
  | 'restarting'
  /** BMC_READY set, waiting for the host's Init. */
  | 'ready'
  /** BMC_READY | CHANNEL_ACTIVE: negotiated, packets flow. */
  | 'active'
  /** The last Init failed (STR 0x81, negotiated_ver 0); a new Init may succeed. */
  | 'failed';

export interface BmcEndpointConfig extends EndpointConfig {
  /** Longest wait for the host to consume the "going down" dummy before re-init anyway. */
  restartHoldoffMs: number;
  /** Period of the control-area check that puts back BMC-owned fields a host changed; 0 = off. */
  controlAreaCheckMs: number;
}

/** STR values the BMC writes (docs/astlpc.md "KCS status bits and commands", status update). */
const STATUS_DOWN = 0x00;
/** BMC init: BMC_READY with OBF explicitly 0, so a stale OBF cannot block the dummy. */
const STATUS_READY = KCS_STATUS_BMC_READY;
/** Channel init result; bit 0 set = "preserve OBF" (a STR write can clear OBF, never set it). */
const STATUS_ACTIVE = KCS_STATUS_BMC_READY | KCS_STATUS_CHANNEL_ACTIVE | KCS_STATUS_OBF;
const STATUS_INIT_FAILED = KCS_STATUS_BMC_READY | KCS_STATUS_OBF;

function flipToOwn(layout: Layout): OwnLayout {
  // Control area names are the host's: its rx is our tx.
  return { tx: { ...layout.rx }, rx: { ...layout.tx } };
}

export class BmcEndpoint extends AstlpcEndpoint {
  readonly mode = 'bmc' as const;
  #state: BmcChannelState = 'down';
  /** STR as we last wrote it. */
  #str = STATUS_DOWN;
  /** Layout at start: offsets never change; sizes are the negotiation limit. */
  readonly #initialLayout: Layout;
  /** What we last published in the control area: the layout and negotiated_ver. */
  #published: { layout: Layout; negotiatedVer: number };
  /** We told the host we are going away and it may not have seen it yet. */
  #announcedDown = false;
  #unsubscribe: Unsubscribe | undefined;
  #holdoff: { cancel(): void } | undefined;
  #areaCheck: { cancel(): void } | undefined;

  constructor(
    private readonly kcs: AstlpcBmcKcsPort,
    private readonly bcfg: BmcEndpointConfig,
  ) {
    super(bcfg);
    this.#initialLayout = bmcInitialLayout(bcfg.versionMax, bcfg.windowSize, bcfg.mtu || undefined);
    this.own = flipToOwn(this.#initialLayout);
    this.#published = { layout: this.#initialLayout, negotiatedVer: ASTLPC_VER_BAD };
  }

  get state(): BmcChannelState {
    return this.#state;
  }

  get lastStatus(): number {
    return this.#str;
  }

  /** The layout the BMC publishes at start (control-area naming). */
  get initialLayout(): Layout {
    return { rx: { ...this.#initialLayout.rx }, tx: { ...this.#initialLayout.tx } };
  }

  #setState(state: BmcChannelState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emitState();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.epoch++;
    this.#unsubscribe = this.kcs.subscribe(() => this.kick());
    void this.enqueue(() => this.#boot());
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.epoch++;
    this.cancelTimers();
    this.#holdoff = undefined;
    this.#areaCheck = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.channelDown();
    this.#setState('down');
    // mctp_astlpc_destroy: STR 0x00 then the dummy, so the host sees BMC_READY
    // and CHANNEL_ACTIVE drop. Not gated: it must run even though we stopped.
    await this.enqueue(async () => {
      await this.#setStatus(STATUS_DOWN);
      this.#announcedDown = true;
    }, false);
  }

  async #boot(): Promise<void> {
    const str = await this.kcs.readStatus();
    // The window outlives a BMC process, the KCS registers do not: a previous
    // BMC's control area means a host may still believe in its channel even
    // though STR now reads 0 (docs/astlpc.md "BMC restart across processes").
    const predecessor = decodeControlArea(this.wread(0, CONTROL_HEADER_LEN)).magic === ASTLPC_MAGIC;
    if (!this.#announcedDown && (predecessor || str & (KCS_STATUS_BMC_READY | KCS_STATUS_CHANNEL_ACTIVE))) {
      // Announce that channel's end first, or the host would miss the restart
      // (docs/astlpc.md "Restart semantics"). The old control area stays as it
      // is meanwhile: a libmctp host re-reads negotiated_ver on this dummy.
      await this.#setStatus(STATUS_DOWN);
      this.#announcedDown = true;
    }
    // OBF still set with BMC_READY clear: a predecessor's "going down" dummy
    // the host has not read yet. Hold too, or the host would never see the fall.
    if (this.#announcedDown || str & KCS_STATUS_OBF) {
      this.#setState('restarting');
      this.#holdoff = this.after(this.bcfg.restartHoldoffMs, () => {
        this.#holdoff = undefined;
        if (this.#state !== 'restarting') return;
        this.counters.inc(C.restartHoldoffExpired);
        void this.enqueue(() => this.#init());
      });
      // The host may have read the dummy already (e.g. while we were down).
      this.kick();
      return;
    }
    await this.#init();
  }

  /** mctp_astlpc_init_bmc (docs/astlpc.md "BMC start"): publish the header, then STR 0x80 + dummy. */
  async #init(): Promise<void> {
    if (this.#state !== 'down' && this.#state !== 'restarting') return;
    this.#holdoff?.cancel();
    this.#holdoff = undefined;
    const header: ControlArea = {
      magic: ASTLPC_MAGIC,
      bmcVerMin: this.cfg.versionMin,
      bmcVerCur: this.cfg.versionMax,
      hostVerMin: 0,
      hostVerCur: 0,
      negotiatedVer: ASTLPC_VER_BAD,
      pad0: 0,
      layout: this.#initialLayout,
    };
    this.wwrite(0, encodeControlArea(header));
    this.#published = { layout: this.#initialLayout, negotiatedVer: ASTLPC_VER_BAD };
    this.own = flipToOwn(this.#initialLayout);
    this.channelDown();
    this.#announcedDown = false;
    await this.#setStatus(STATUS_READY);
    this.#setState('ready');
    this.#armAreaCheck();
    // A host that started first may already have written its Init.
    this.kick();
  }

  /** mctp_astlpc_kcs_set_status: STR first, then the dummy that interrupts the host (c84fd56). */
  async #setStatus(value: number): Promise<void> {
    await this.kcs.writeStatus(value);
    this.#str = value;
    await this.kcs.writeData(ASTLPC_CMD_DUMMY);
    this.emitState();
  }

  protected async service(): Promise<void> {
    if (this.#state === 'down') return;
    const str = await this.kcs.readStatus();
    if (this.#state === 'restarting') {
      // Leave any Init in IDR: it is handled right after we become ready.
      if (!(str & KCS_STATUS_OBF)) await this.#init();
      return;
    }
    if (str & KCS_STATUS_IBF) {
      const cmd = await this.kcs.readData();
      await this.#handle(cmd);
    }
    await this.flushCommands();
  }

  protected async peerCanAccept(): Promise<boolean> {
    return !((await this.kcs.readStatus()) & KCS_STATUS_OBF);
  }

  protected async writeCommand(cmd: number): Promise<void> {
    await this.kcs.writeData(cmd);
  }

  async #handle(cmd: number): Promise<void> {
    switch (cmd) {
      case ASTLPC_CMD_INITIALISE:
        this.counters.inc(C.cmdReceived(commandName(cmd)));
        return this.#initChannel();
      case ASTLPC_CMD_DUMMY:
        // Only the BMC sends dummies; libmctp's BMC ignores one from the host too.
        this.counters.inc(C.cmdReceived(commandName(cmd)));
        return;
      case ASTLPC_CMD_TX_BEGIN:
      case ASTLPC_CMD_RX_COMPLETE:
        this.counters.inc(C.cmdReceived(commandName(cmd)));
        if (this.#state !== 'active') {
          // Before a successful Init only 0x00 and 0xFF mean anything (docs/astlpc.md "Hostile-host handling").
          this.counters.inc(C.cmdBeforeInit);
          return;
        }
        if (cmd === ASTLPC_CMD_TX_BEGIN) return this.onTxBegin();
        return this.onRxComplete();
      default:
        this.counters.inc(C.cmdUnknown);
        this.lastError = `unknown KCS command ${commandName(cmd)} from host`;
        return;
    }
  }

  /**
   * mctp_astlpc_init_channel (docs/astlpc.md "BMC on Init"): negotiate version and
   * layout from what the host wrote, publish the result, STR 0xC1 / 0x81 + dummy.
   */
  async #initChannel(): Promise<void> {
    this.counters.inc(C.initReceived);
    // A fresh Init voids whatever was in flight in either direction.
    this.channelDown();

    const hdr = decodeControlArea(this.wread(0, CONTROL_HEADER_LEN));
    // Only the host versions and rx_size are the host's: whatever else it
    // changed is put back before anything is negotiated, so the Init is judged
    // on what the host may propose (docs/astlpc.md "Control-area repair").
    if (this.#repairBmcFields(hdr)) this.counters.inc(C.controlAreaRestored);
    const published = this.#published.layout;

    const negotiated = negotiateVersion(this.cfg.versionMin, this.cfg.versionMax, hdr.hostVerMin, hdr.hostVerCur);
    let failure: InitFailure | null = null;
    let detail = '';
    let layout: Layout | null = null;
    let mtu: number = ASTLPC_MIN_MTU;
    if (!isAstlpcVersion(negotiated)) {
      failure = 'version';
      detail = `host versions ${hdr.hostVerMin}..${hdr.hostVerCur}, BMC ${this.cfg.versionMin}..${this.cfg.versionMax}`;
    } else if (negotiated === 1) {
      // v1 has no size negotiation (the host never writes rx_size: what is
      // there is a leftover of another session), so a v1 session gets the
      // layout the BMC started with, and the spec's MTU, the BTU
      // (docs/astlpc.md "Packet buffers and layout per version").
      layout = this.#initialLayout;
      this.wwrite(CA_RX_OFFSET, encodeLayout(layout));
    } else {
      // The host's proposal: its rx_size with our offsets and our tx_size.
      const proposal: Layout = { rx: { offset: published.rx.offset, size: hdr.layout.rx.size }, tx: { ...published.tx } };
      const fault = validateLayout(negotiated, proposal, this.cfg.windowSize);
      if (fault) {
        failure = `layout:${fault}`;
        detail = `host-proposed layout ${describe(proposal)}: ${fault}`;
      } else {
        const result = bmcNegotiateMtu(negotiated, this.#initialLayout, hdr.layout.rx.size, this.cfg.mtu || undefined);
        const pending: Layout = {
          rx: { offset: this.#initialLayout.rx.offset, size: result.size },
          tx: { offset: this.#initialLayout.tx.offset, size: result.size },
        };
        const pendingFault = validateLayout(negotiated, pending, this.cfg.windowSize);
        if (pendingFault) {
          failure = 'mtu';
          detail = `negotiated layout ${describe(pending)}: ${pendingFault}`;
        } else {
          // Our own offsets, symmetric sizes, never above the proposal
          // (docs/astlpc.md "Hostile-host handling", "MTU and tx_size rules").
          this.wwrite(CA_RX_OFFSET, encodeLayout(pending));
          layout = pending;
          mtu = result.mtu;
        }
      }
    }

    if (failure || !layout || !isAstlpcVersion(negotiated)) {
      // Deviation from libmctp, which leaves a host's bad values in place: the
      // layout we started with goes back, so a well-behaved host's next Init can succeed.
      this.wwrite(CA_RX_OFFSET, encodeLayout(this.#initialLayout));
      this.wwrite(CA_NEGOTIATED_VER, u16be(ASTLPC_VER_BAD));
      this.#published = { layout: this.#initialLayout, negotiatedVer: ASTLPC_VER_BAD };
      const why: InitFailure = failure ?? 'mtu';
      this.counters.inc(C.initFailed(why));
      this.lastError = `channel init failed (${why}): ${detail}`;
      this.#setState('failed');
      await this.#setStatus(STATUS_INIT_FAILED);
      return;
    }

    this.wwrite(CA_NEGOTIATED_VER, u16be(negotiated));
    this.#published = { layout, negotiatedVer: negotiated };
    this.counters.inc(C.initOk);
    this.lastError = null;
    await this.#setStatus(STATUS_ACTIVE);
    if (!this.running) return;
    this.#setState('active');
    this.channelUp(negotiated, flipToOwn(layout), mtu);
  }

  /**
   * The host was reset or powered off (host power control says so; astlpc
   * itself has no "host going away" command). Its side of the channel is
   * gone with it: the channel is down at once (carrier off, buffers void)
   * and STR keeps BMC_READY without CHANNEL_ACTIVE, so the next host finds
   * a BMC waiting for its Init. No dummy: nobody is there to be interrupted,
   * and the rebooted host's driver reads STR when it starts. A no-op unless
   * a host had initialised the channel (active or failed).
   */
  hostReset(): void {
    if (!this.running || (this.#state !== 'active' && this.#state !== 'failed')) return;
    this.channelDown();
    this.#setState('ready');
    void this.enqueue(async () => {
      // A new host may have sent its Init in the meantime: its answer stands.
      if (this.#state !== 'ready') return;
      await this.kcs.writeStatus(STATUS_READY);
      this.#str = STATUS_READY;
      this.emitState();
    });
  }

  /**
   * Put back what a host may not write — magic, the BMC's versions, both
   * offsets and tx_size — where it differs from what we published. Each
   * field is written on its own, so a host's concurrent writes to its own
   * fields (versions, rx_size) are never overwritten. True if anything was.
   */
  #repairBmcFields(hdr: ControlArea): boolean {
    let repaired = false;
    if (hdr.magic !== ASTLPC_MAGIC || hdr.bmcVerMin !== this.cfg.versionMin || hdr.bmcVerCur !== this.cfg.versionMax) {
      const fields = Buffer.alloc(CA_BMC_VER_CUR + 2 - CA_MAGIC);
      fields.writeUInt32BE(ASTLPC_MAGIC, CA_MAGIC);
      fields.writeUInt16BE(this.cfg.versionMin, CA_BMC_VER_MIN);
      fields.writeUInt16BE(this.cfg.versionMax, CA_BMC_VER_CUR);
      this.wwrite(CA_MAGIC, fields);
      repaired = true;
    }
    const pub = this.#published.layout;
    const words: Array<[number, number, number]> = [
      [CA_RX_OFFSET, hdr.layout.rx.offset, pub.rx.offset],
      [CA_TX_OFFSET, hdr.layout.tx.offset, pub.tx.offset],
      [CA_TX_SIZE, hdr.layout.tx.size, pub.tx.size],
    ];
    for (const [offset, seen, ours] of words) {
      if (seen === ours) continue;
      this.wwrite(offset, u32be(ours));
      repaired = true;
    }
    return repaired;
  }

  /**
   * The periodic control-area check (docs/astlpc.md "Control-area repair"):
   * a host may scribble over the header without ever sending Init, and a
   * libmctp host validates the BMC's fields before it proposes — it would
   * never send the Init that repairs them. So besides the BMC-owned fields,
   * negotiated_ver goes back to what we published, and an rx_size no host
   * could have proposed (the layout with it is invalid) to our published
   * size. A valid rx_size is left alone: a host may be about to send Init.
   */
  #checkControlArea(): void {
    if (this.#state !== 'ready' && this.#state !== 'active' && this.#state !== 'failed') return;
    const hdr = decodeControlArea(this.wread(0, CONTROL_HEADER_LEN));
    let repaired = this.#repairBmcFields(hdr);
    if (hdr.negotiatedVer !== this.#published.negotiatedVer) {
      this.wwrite(CA_NEGOTIATED_VER, u16be(this.#published.negotiatedVer));
      repaired = true;
    }
    if (repaired) this.counters.inc(C.controlAreaRestored);
    const pub = this.#published.layout;
    // Judged by the oldest version we speak, whose buffers may be the smallest.
    const proposal: Layout = { rx: { offset: pub.rx.offset, size: hdr.layout.rx.size }, tx: pub.tx };
    if (validateLayout(this.cfg.versionMin, proposal, this.cfg.windowSize)) {
      this.wwrite(CA_RX_SIZE, u32be(pub.rx.size));
      this.counters.inc(C.controlAreaRxSizeReset);
    }
  }

  #armAreaCheck(): void {
    if (this.bcfg.controlAreaCheckMs <= 0 || this.#areaCheck) return;
    this.#areaCheck = this.after(this.bcfg.controlAreaCheckMs, () => {
      this.#areaCheck = undefined;
      void this.enqueue(() => this.#checkControlArea());
      this.#armAreaCheck();
    });
  }
}

function describe(layout: Layout): string {
  const hex = (n: number): string => `0x${n.toString(16)}`;
  return `rx={${hex(layout.rx.offset)},${hex(layout.rx.size)}} tx={${hex(layout.tx.offset)},${hex(layout.tx.size)}}`;
}
