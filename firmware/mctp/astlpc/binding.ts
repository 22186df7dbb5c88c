/**
 * AstlpcBinding: the IBM "MCTP over LPC" binding for ASPEED BMCs, byte-
 * compatible with openbmc/libmctp's astlpc (protocol v1–v3), in either mode:
 *
 * - 'bmc'  — what mctp-demux-daemon / the kernel binding do on the BMC: owns
 *            the control area, answers Init, publishes BMC_READY / CHANNEL_ACTIVE;
 * - 'host' — what skiboot's driver does: waits for BMC_READY, proposes its
 *            MTU, sends Init, adopts the negotiated layout.
 *
 * It implements the core's MctpBinding contract (firmware/mctp/binding.ts).
 * Packets in and out start at the 4-byte MCTP transport header. MTUs are in
 * the core's unit, header included (Linux dev->mtu): libmctp's MTU + 4.
 *
 * Events: 'state' (AstlpcStateEvent) whenever the channel state, STR view or
 * carrier changes.
 */
import { EventEmitter } from 'node:events';
import type { BindingMtu, BindingPort, MctpBinding } from '../binding.js';
import { type Clock, systemClock } from '../../../lib/clock.js';
import { ConfigError } from '../../../lib/errors.js';
import { BmcEndpoint, type BmcChannelState } from './bmc.js';
import {
  ASTLPC_MIN_MTU,
  ASTLPC_VER_CUR,
  ASTLPC_VER_MIN,
  type AstlpcVersion,
  CONTROL_SIZE,
  LPC_WIN_SIZE,
  bmcInitialBufferSize,
  bmcInitialLayout,
  bodySize,
  isAstlpcVersion,
  minBufferSize,
  validateLayout,
} from './control-area.js';
import type { AstlpcEndpoint } from './endpoint.js';
import { HostEndpoint, type HostChannelState } from './host.js';
import { KCS_STATUS_BMC_READY, KCS_STATUS_CHANNEL_ACTIVE } from './kcs-bits.js';
import type { AstlpcBmcKcsPort, AstlpcHostKcsPort, AstlpcWindowPort } from './ports.js';

/** skiboot's DESIRED_MTU (32768 payload bytes) in the core's unit. */
export const ASTLPC_DEFAULT_HOST_MTU = 32768 + 4;

export interface AstlpcCommonOptions {
  /** The LPC window, from offset 0 of the MCTP window. */
  window: AstlpcWindowPort;
  /** Window size in bytes (default 1 MiB, libmctp's LPC_WIN_SIZE). */
  windowSize?: number;
  /**
   * Requested MTU, header included (libmctp requested_mtu + 4). BMC: 0 or
   * absent = as large as the window allows (libmctp fileio default). Host:
   * default 32772 (skiboot's 32768-byte payload). At least 68 (the BTU).
   */
  mtu?: number;
  /** Protocol versions spoken, default 1..3 (tests narrow it). */
  versions?: { min: number; max: number };
  /** Clock for retry/poll timers (default systemClock). */
  clock?: Clock;
  /** Re-check interval while a command waits for the peer's data register (default 5 ms). */
  commandRetryMs?: number;
}

export interface AstlpcBmcOptions extends AstlpcCommonOptions {
  mode: 'bmc';
  kcs: AstlpcBmcKcsPort;
  /** Longest wait for the host to read the "going down" dummy on restart (default 5000 ms). */
  restartHoldoffMs?: number;
  /**
   * Period of the check that puts back the BMC's control-area fields when a
   * host changed them without an Init (default 250 ms; 0 = only on Init).
   */
  controlAreaCheckMs?: number;
}

export interface AstlpcHostOptions extends AstlpcCommonOptions {
  mode: 'host';
  kcs: AstlpcHostKcsPort;
  /** Drain stale ODR bytes before Init, as skiboot does (default true). */
  drainOdr?: boolean;
  /** Gap between drain reads (default 5 ms, skiboot's). */
  drainIntervalMs?: number;
  /** Most drain reads (default 254, skiboot's). */
  drainMaxReads?: number;
  /** Retry period while the BMC is not ready or init failed (default 1000 ms). */
  retryMs?: number;
  /** Wait for CHANNEL_ACTIVE after Init (default 1000 ms). */
  initTimeoutMs?: number;
}

export type AstlpcOptions = AstlpcBmcOptions | AstlpcHostOptions;

export type AstlpcChannelState = BmcChannelState | HostChannelState;

export interface AstlpcStateEvent {
  mode: 'bmc' | 'host';
  state: AstlpcChannelState;
  /** Negotiated version, 0 while not active. */
  version: number;
  /** Current MTU, header included. */
  mtu: number;
  carrier: boolean;
  bmcReady: boolean;
  channelActive: boolean;
  lastError: string | null;
}

function checkInt(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`astlpc: ${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

export class AstlpcBinding extends EventEmitter implements MctpBinding {
  readonly kind = 'astlpc';
  readonly hwAddrLen = 0;
  readonly hwAddr = Buffer.alloc(0);
  readonly mtu: BindingMtu;
  readonly mode: 'bmc' | 'host';

  readonly #ep: AstlpcEndpoint;
  #up = false;
  #closed = false;
  #lastEvent = '';

  constructor(options: AstlpcOptions) {
    super();
    this.mode = options.mode;
    const windowSize = checkInt('windowSize', options.windowSize ?? LPC_WIN_SIZE, CONTROL_SIZE + 2 * minBufferSize(3), 0xffffffff);
    const versionMin = options.versions?.min ?? ASTLPC_VER_MIN;
    const versionMax = options.versions?.max ?? ASTLPC_VER_CUR;
    if (!isAstlpcVersion(versionMin) || !isAstlpcVersion(versionMax) || versionMin > versionMax) {
      throw new ConfigError(`astlpc: versions must satisfy 1 <= min <= max <= 3, got ${versionMin}..${versionMax}`);
    }
    const clock = options.clock ?? systemClock;
    const commandRetryMs = checkInt('commandRetryMs', options.commandRetryMs ?? 5, 1);
    const common = { window: options.window, windowSize, versionMin, versionMax, clock, commandRetryMs };

    if (options.mode === 'bmc') {
      const mtu = checkMtu(options.mtu ?? 0, true);
      const initial = bmcInitialLayout(versionMax, windowSize, mtu || undefined);
      const fault = validateLayout(versionMax, initial, windowSize);
      if (fault) throw new ConfigError(`astlpc: window of ${windowSize} bytes gives an invalid layout (${fault})`);
      const limit = bmcInitialBufferSize(versionMax, windowSize, mtu || undefined);
      this.mtu = {
        initial: ASTLPC_MIN_MTU,
        min: ASTLPC_MIN_MTU,
        max: largestMtu(versionMin, versionMax, limit, mtu),
      };
      this.#ep = new BmcEndpoint(options.kcs, {
        ...common,
        mtu,
        restartHoldoffMs: checkInt('restartHoldoffMs', options.restartHoldoffMs ?? 5000, 0),
        controlAreaCheckMs: checkInt('controlAreaCheckMs', options.controlAreaCheckMs ?? 250, 0),
      });
    } else {
      const mtu = checkMtu(options.mtu ?? ASTLPC_DEFAULT_HOST_MTU, false);
      this.mtu = { initial: ASTLPC_MIN_MTU, min: ASTLPC_MIN_MTU, max: versionMax >= 2 ? mtu : ASTLPC_MIN_MTU };
      this.#ep = new HostEndpoint(options.kcs, {
        ...common,
        mtu,
        drainOdr: options.drainOdr ?? true,
        drainIntervalMs: checkInt('drainIntervalMs', options.drainIntervalMs ?? 5, 0),
        drainMaxReads: checkInt('drainMaxReads', options.drainMaxReads ?? 254, 0),
        retryMs: checkInt('retryMs', options.retryMs ?? 1000, 1),
        initTimeoutMs: checkInt('initTimeoutMs', options.initTimeoutMs ?? 1000, 1),
      });
    }
    this.#ep.onStateChange = () => this.#emitState();
  }

  attach(port: BindingPort): void {
    this.#ep.port = port;
  }

  /** Interface up: start the medium (BMC: publish and set BMC_READY; host: Init). Down: stop it. */
  setUp(up: boolean): void {
    if (this.#closed || up === this.#up) return;
    this.#up = up;
    if (up) this.#ep.start();
    else void this.#ep.stop();
  }

  transmit(packet: Buffer, _hwDest?: Buffer): boolean {
    return this.#ep.transmit(packet);
  }

  stats(): Record<string, unknown> {
    return { ...this.#ep.stats(), up: this.#up };
  }

  /** BMC: STR 0x00 + dummy (libmctp destroy). Both: timers stopped, KCS unsubscribed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#up = false;
    await this.#ep.stop();
    await this.#ep.whenIdle();
  }

  /**
   * BMC mode: the host was reset or powered off. The channel goes down at
   * once and waits for the next host's Init (BmcEndpoint.hostReset). Host
   * mode: not applicable, nothing happens.
   */
  hostReset(): void {
    if (this.#ep instanceof BmcEndpoint) this.#ep.hostReset();
  }

  /** Channel state name (see BmcChannelState / HostChannelState). */
  get state(): AstlpcChannelState {
    return this.#ep.state as AstlpcChannelState;
  }

  /** KCS work queued or in progress. */
  get busy(): boolean {
    return this.#ep.busy;
  }

  /** KCS work is waiting on the clock (e.g. the host's 5 ms ODR drain gaps). */
  get sleeping(): boolean {
    return this.#ep.sleeping;
  }

  /** Resolves when no KCS work is queued. */
  whenIdle(): Promise<void> {
    return this.#ep.whenIdle();
  }

  /** Current value of one counter (see counters.ts for the names). */
  counter(name: string): number {
    return this.#ep.counters.get(name);
  }

  #emitState(): void {
    const s = this.#ep.stats();
    const str = this.#ep.lastStatus;
    const event: AstlpcStateEvent = {
      mode: this.mode,
      state: this.state,
      version: (s.version as { negotiated: number }).negotiated,
      mtu: (s.mtu as { current: number }).current,
      carrier: s.carrier as boolean,
      bmcReady: (str & KCS_STATUS_BMC_READY) !== 0,
      channelActive: (str & KCS_STATUS_CHANNEL_ACTIVE) !== 0,
      lastError: this.#ep.lastError,
    };
    const key = JSON.stringify(event);
    if (key === this.#lastEvent) return;
    this.#lastEvent = key;
    this.emit('state', event);
  }
}

function checkMtu(mtu: number, zeroMeansMax: boolean): number {
  if (zeroMeansMax && mtu === 0) return 0;
  if (!Number.isSafeInteger(mtu) || mtu < ASTLPC_MIN_MTU || mtu > 0xffffffff) {
    throw new ConfigError(`astlpc: mtu must be an integer >= ${ASTLPC_MIN_MTU} (header included), got ${mtu}`);
  }
  return mtu;
}

/** Largest MTU any allowed version could negotiate from the BMC's buffer-size limit. */
function largestMtu(min: AstlpcVersion, max: AstlpcVersion, limit: number, requested: number): number {
  let best = ASTLPC_MIN_MTU;
  for (let v: number = Math.max(min, 2); v <= max; v++) {
    if (isAstlpcVersion(v)) best = Math.max(best, bodySize(v, limit));
  }
  return requested > 0 ? Math.min(best, Math.max(requested, ASTLPC_MIN_MTU)) : best;
}
