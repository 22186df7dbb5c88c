/**
 * What the BMC and host ends of an astlpc channel share: the serialized KCS
 * task queue, timers on the injectable clock, bounds-checked window access,
 * buffer ownership (one packet in flight per direction) and the packet
 * Tx/Rx paths (docs/astlpc.md "Packet buffers and layout per version",
 * "Sending a packet", "Receiving a packet").
 *
 * Concurrency model: every KCS access happens inside a task on one promise
 * chain, so operations reach the device in program order even when the port
 * is asynchronous (a socket). KCS events only "kick" a service pass; the pass
 * re-reads STR, so coalesced or spurious events are harmless. transmit() is
 * synchronous (the window is synchronous): it writes the buffer, marks it
 * prepared and kicks a pass that sends Tx Begin when the peer can take it.
 */
import type { BindingPort } from '../binding.js';
import { MctpError, isMctpError } from '../errors.js';
import type { Clock, TimerHandle } from '../../../lib/clock.js';
import { isCodedError } from '../../../lib/errors.js';
import { WaitError, delay } from '../../../lib/wait.js';
import {
  ASTLPC_MIN_MTU,
  type AstlpcVersion,
  type BufferDesc,
  LENGTH_PREFIX_LEN,
  MCTP_HDR_LEN,
  bodySize,
  isAstlpcVersion,
  u32be,
} from './control-area.js';
import { Counters, counterNames as C } from './counters.js';
import {
  ASTLPC_CMD_RX_COMPLETE,
  ASTLPC_CMD_TX_BEGIN,
  KCS_STATUS_BMC_READY,
  KCS_STATUS_CHANNEL_ACTIVE,
} from './kcs-bits.js';
import { bodyReadLength, checkBody, encodeBody, lengthFits } from './packet-buffer.js';
import type { AstlpcWindowPort } from './ports.js';

/** libmctp's buffer states: who owns our Tx buffer / the peer's packet in our Rx buffer. */
export type TxBufferState = 'idle' | 'acquired' | 'prepared' | 'released';
export type RxBufferState = 'idle' | 'released' | 'prepared';

/** A side's own view of the buffers (the BMC flips the control area's names). */
export interface OwnLayout {
  tx: BufferDesc;
  rx: BufferDesc;
}

export interface EndpointConfig {
  window: AstlpcWindowPort;
  windowSize: number;
  /** Requested MTU, header included; 0 = as large as the window allows (BMC only). */
  mtu: number;
  versionMin: AstlpcVersion;
  versionMax: AstlpcVersion;
  clock: Clock;
  /** Re-check interval while a command waits for the peer to drain its data register. */
  commandRetryMs: number;
}

/**
 * Thrown (and counted as internal-bounds) if the binding ever computes an
 * access outside the window: a bug, never the peer's doing. EFAULT, as the
 * kernel answers an access to an address it does not map.
 */
function windowBoundsError(message: string): MctpError {
  return new MctpError('EFAULT', message);
}

function isWindowBoundsError(e: unknown): boolean {
  return isMctpError(e, 'EFAULT');
}

export abstract class AstlpcEndpoint {
  abstract readonly mode: 'bmc' | 'host';
  /** Set by the binding when the core attaches. */
  port: BindingPort | undefined;
  /** Called whenever the channel state, STR view or carrier changes. */
  onStateChange: (() => void) | undefined;

  readonly counters = new Counters();
  lastError: string | null = null;

  /** Negotiated protocol version, 0 while the channel is not up. */
  protected version = 0;
  protected own: OwnLayout | null = null;
  protected txState: TxBufferState = 'idle';
  protected rxState: RxBufferState = 'idle';
  /** Current MTU (header included), as last announced to the core. */
  protected mtu = ASTLPC_MIN_MTU;
  protected carrierUp = false;
  protected running = false;
  /** Bumped on start/stop; tasks and timers from an older epoch do nothing. */
  protected epoch = 0;

  /** The core was refused and is waiting for txReady(). */
  #txBlocked = false;
  #tail: Promise<void> = Promise.resolve();
  #pendingTasks = 0;
  #serviceQueued = false;
  #timers = new Set<TimerHandle>();
  /** One per task sleeping on the clock; aborted (the sleep ends early) on stop. */
  #sleepers = new Set<AbortController>();
  #commandRetry: TimerHandle | undefined;

  constructor(protected readonly cfg: EndpointConfig) {}

  /** Begin operating the medium (interface up). */
  abstract start(): void;
  /** Stop operating the medium (interface down / close). Resolves when the device has been told. */
  abstract stop(): Promise<void>;
  /** Channel state name for stats and events. */
  abstract get state(): string;
  /** STR as this side last wrote (BMC) or read (host) it. */
  abstract get lastStatus(): number;
  /** One pass over the KCS device: read STR, handle at most one command, flush pending commands. */
  protected abstract service(): Promise<void>;
  /** Is the peer's data register free (BMC: OBF clear; host: IBF clear)? Reads STR. */
  protected abstract peerCanAccept(): Promise<boolean>;
  /** Write a command byte to our outgoing data register. */
  protected abstract writeCommand(cmd: number): Promise<void>;

  // -------------------------------------------------------------------------
  // Task queue

  /** True while KCS work is queued or running (tests wait for this to clear). */
  get busy(): boolean {
    return this.#pendingTasks > 0;
  }

  /** True while a task waits on the clock (tests advance a ManualClock then). */
  get sleeping(): boolean {
    return this.#sleepers.size > 0;
  }

  /** Resolves once the task queue is empty. */
  async whenIdle(): Promise<void> {
    while (this.#pendingTasks > 0) await this.#tail;
  }

  /**
   * Run `task` after every task queued before it. `gated` tasks are skipped if
   * the endpoint was stopped or restarted since they were queued.
   */
  protected enqueue(task: () => Promise<void> | void, gated = true): Promise<void> {
    const epoch = this.epoch;
    this.#pendingTasks++;
    const run = async (): Promise<void> => {
      try {
        if (gated && (epoch !== this.epoch || !this.running)) return;
        await task();
      } catch (err) {
        this.taskFailed(err);
      } finally {
        this.#pendingTasks--;
      }
    };
    const p = this.#tail.then(run);
    this.#tail = p;
    return p;
  }

  /** A KCS or window operation threw. Counted; the next event or timer retries. */
  protected taskFailed(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.counters.inc(isWindowBoundsError(err) ? 'internal-bounds' : C.kcsErrors);
    this.lastError = `I/O error: ${msg}`;
    this.emitState();
  }

  /** Schedule a service pass (coalesced: one queued pass re-reads everything). */
  protected kick(): void {
    if (!this.running || this.#serviceQueued) return;
    this.#serviceQueued = true;
    void this.enqueue(async () => {
      this.#serviceQueued = false;
      await this.service();
    });
  }

  // -------------------------------------------------------------------------
  // Timers on the injectable clock

  /** Run fn after ms unless the endpoint stops or restarts first. */
  protected after(ms: number, fn: () => void): TimerHandle {
    const epoch = this.epoch;
    const handle: TimerHandle = this.cfg.clock.setTimeout(() => {
      this.#timers.delete(handle);
      if (epoch === this.epoch && this.running) fn();
    }, ms);
    this.#timers.add(handle);
    return {
      cancel: () => {
        this.#timers.delete(handle);
        handle.cancel();
      },
    };
  }

  /** Wait ms on the clock. Resolves early (caller re-checks the epoch) if the endpoint stops. */
  protected async sleep(ms: number): Promise<void> {
    const wake = new AbortController();
    this.#sleepers.add(wake);
    try {
      await delay(ms, { clock: this.cfg.clock, signal: wake.signal });
    } catch (e) {
      if (!isCodedError(e, 'ERR_WAIT_ABORTED', WaitError)) throw e;
    } finally {
      this.#sleepers.delete(wake);
    }
  }

  /** Cancel every timer and release every sleeper (on stop). */
  protected cancelTimers(): void {
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
    this.#commandRetry = undefined;
    for (const wake of this.#sleepers) wake.abort();
  }

  // -------------------------------------------------------------------------
  // Window access: every offset was validated, this is the last line of defence.

  protected wread(offset: number, length: number): Buffer {
    this.#checkBounds(offset, length);
    return this.cfg.window.read(offset, length);
  }

  protected wwrite(offset: number, data: Buffer): void {
    this.#checkBounds(offset, data.length);
    this.cfg.window.write(offset, data);
  }

  #checkBounds(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw windowBoundsError(`bad window access ${offset}+${length}`);
    }
    if (offset + length > this.cfg.windowSize) {
      throw windowBoundsError(`window access 0x${offset.toString(16)}+${length} beyond 0x${this.cfg.windowSize.toString(16)}`);
    }
  }

  // -------------------------------------------------------------------------
  // Channel up/down and the core upcalls

  protected emitState(): void {
    this.onStateChange?.();
  }

  protected setCarrier(up: boolean): void {
    if (up && !this.running) return;
    if (this.carrierUp === up) return;
    this.carrierUp = up;
    this.port?.carrier(up);
    this.emitState();
  }

  /** Buffers usable: our Tx buffer is ours, our Rx buffer is the peer's to fill. */
  protected channelUp(version: AstlpcVersion, own: OwnLayout, mtu: number): void {
    this.version = version;
    this.own = own;
    this.txState = 'acquired';
    this.rxState = 'released';
    if (mtu !== this.mtu) {
      this.mtu = mtu;
      this.port?.mtuChanged(mtu);
    }
    this.setCarrier(true);
    this.emitState();
    this.#notifyTxReady();
  }

  /** Buffers idle; whatever was in flight is void. */
  protected channelDown(): void {
    this.version = 0;
    this.txState = 'idle';
    this.rxState = 'idle';
    this.setCarrier(false);
    this.emitState();
  }

  #notifyTxReady(): void {
    if (!this.#txBlocked || !this.carrierUp || this.txState !== 'acquired') return;
    this.#txBlocked = false;
    this.port?.txReady();
  }

  // -------------------------------------------------------------------------
  // Transmit (docs/astlpc.md "Sending a packet")

  transmit(packet: Buffer): boolean {
    const own = this.own;
    const version = this.version;
    if (!this.carrierUp || !own || !isAstlpcVersion(version) || this.txState === 'idle') {
      this.#txBlocked = true;
      this.counters.inc(C.txRefusedNoCarrier);
      return false;
    }
    if (this.txState !== 'acquired') {
      // One packet in flight: Rx Complete (0x02) from the peer re-enables Tx.
      this.#txBlocked = true;
      this.counters.inc(C.txRefusedBusy);
      return false;
    }
    if (packet.length < MCTP_HDR_LEN || !lengthFits(version, packet.length, own.tx.size)) {
      // libmctp: -EMSGSIZE, the packet is dropped. The core promised to respect the MTU.
      this.counters.inc(C.txDropLength);
      return true;
    }
    try {
      // Same order as libmctp: length prefix, then packet (+ CRC in v3).
      this.wwrite(own.tx.offset, u32be(packet.length));
      this.wwrite(own.tx.offset + LENGTH_PREFIX_LEN, encodeBody(version, packet));
    } catch (err) {
      this.taskFailed(err);
      return true;
    }
    this.txState = 'prepared';
    this.counters.inc(C.txPackets);
    this.counters.inc(C.txBytes, packet.length);
    this.kick();
    return true;
  }

  /**
   * Send whichever commands are waiting for the peer's data register: Rx
   * Complete first (it unblocks the peer), then Tx Begin. libmctp retries these
   * at the start of each poll; we retry on KCS events and on a short timer.
   */
  protected async flushCommands(): Promise<void> {
    if (this.rxState === 'prepared') {
      if (!(await this.peerCanAccept())) return this.#deferCommands();
      await this.writeCommand(ASTLPC_CMD_RX_COMPLETE);
      this.rxState = 'released';
    }
    if (this.txState === 'prepared') {
      if (!(await this.peerCanAccept())) return this.#deferCommands();
      await this.writeCommand(ASTLPC_CMD_TX_BEGIN);
      this.txState = 'released';
    }
  }

  #deferCommands(): void {
    this.counters.inc(C.cmdDeferred);
    if (this.#commandRetry) return;
    this.#commandRetry = this.after(this.cfg.commandRetryMs, () => {
      this.#commandRetry = undefined;
      this.kick();
    });
  }

  /** Rx Complete from the peer: our Tx buffer is ours again. */
  protected onRxComplete(): void {
    if (this.txState !== 'released') {
      this.counters.inc(C.cmdProtocol);
      return;
    }
    this.txState = 'acquired';
    this.counters.inc(C.txDone);
    this.#notifyTxReady();
  }

  // -------------------------------------------------------------------------
  // Receive (docs/astlpc.md "Receiving a packet", "Hostile-host handling")

  /** Tx Begin from the peer: read, hand back the buffer, then deliver. */
  protected async onTxBegin(): Promise<void> {
    const own = this.own;
    const version = this.version;
    if (!own || !isAstlpcVersion(version) || this.rxState !== 'released') {
      this.counters.inc(C.cmdProtocol);
      return;
    }
    const len = this.wread(own.rx.offset, LENGTH_PREFIX_LEN).readUInt32BE(0);
    if (!lengthFits(version, len, own.rx.size)) {
      // libmctp drops it WITHOUT Rx Complete: the sender stalls, but we keep
      // accepting later Tx Begins (the buffer stays released). [verified D(c)]
      this.counters.inc(C.rxDropLength);
      this.lastError = `peer announced a ${len}-byte packet in a ${own.rx.size}-byte buffer`;
      return;
    }
    // Copy once: the peer can rewrite the window at any time, so check and
    // deliver the same bytes.
    const body = Buffer.from(this.wread(own.rx.offset + LENGTH_PREFIX_LEN, bodyReadLength(version, len)));
    // Rx Complete goes out before the packet is processed (libmctp ae59f4f).
    this.rxState = 'prepared';
    await this.flushCommands();
    const why = checkBody(version, len, body);
    if (why) {
      this.counters.inc(C.rxDrop(why));
      return;
    }
    this.counters.inc(C.rxPackets);
    this.counters.inc(C.rxBytes, len);
    try {
      this.port?.receive(body.subarray(0, len));
    } catch (err) {
      // The core's problem, not the medium's: count it apart from KCS errors.
      this.counters.inc('core-errors');
      this.lastError = `core receive threw: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  // -------------------------------------------------------------------------
  // Observability

  /** MTU in libmctp's unit (payload only). */
  protected get payloadMtu(): number {
    return this.mtu - MCTP_HDR_LEN;
  }

  /** Buffers in unambiguous names (the control area's rx/tx are host-relative). */
  protected layoutStats(): { bmcToHost: BufferDesc; hostToBmc: BufferDesc } | null {
    if (!this.own) return null;
    const { tx, rx } = this.own;
    return this.mode === 'bmc'
      ? { bmcToHost: { ...tx }, hostToBmc: { ...rx } }
      : { bmcToHost: { ...rx }, hostToBmc: { ...tx } };
  }

  stats(): Record<string, unknown> {
    const str = this.lastStatus;
    const version = this.version;
    return {
      kind: 'astlpc',
      mode: this.mode,
      state: this.state,
      running: this.running,
      carrier: this.carrierUp,
      lastError: this.lastError,
      version: {
        negotiated: version,
        min: this.cfg.versionMin,
        max: this.cfg.versionMax,
      },
      mtu: {
        current: this.mtu,
        payload: this.payloadMtu,
        requested: this.cfg.mtu,
        bufferLimit: this.own && isAstlpcVersion(version) ? bodySize(version, this.own.tx.size) : null,
      },
      status: {
        str,
        bmcReady: (str & KCS_STATUS_BMC_READY) !== 0,
        channelActive: (str & KCS_STATUS_CHANNEL_ACTIVE) !== 0,
      },
      buffers: { tx: this.txState, rx: this.rxState },
      layout: this.layoutStats(),
      windowSize: this.cfg.windowSize,
      counters: this.counters.toJSON(),
    };
  }
}
