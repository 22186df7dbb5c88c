/**
 * Per-reason event counters for the status API. Names are stable strings,
 * grouped with ':' (e.g. "init-failed:layout:rx-window", "rx-drop:crc"), so
 * the API can show them as they are and tests can assert on them.
 */
import type { LayoutFault } from './control-area.js';
import type { RxDropReason } from './packet-buffer.js';

/** Why a channel initialisation failed (either side). */
export type InitFailure =
  | 'version'
  | `layout:${LayoutFault}`
  | 'mtu'
  /** Host: the BMC published a negotiated_ver outside 1..3 or outside our range. */
  | 'negotiated-version'
  /** Host: CHANNEL_ACTIVE never came after Init. */
  | 'timeout';

export const counterNames = {
  initReceived: 'init-received',
  initSent: 'init-sent',
  initOk: 'init-ok',
  initFailed: (why: InitFailure) => `init-failed:${why}`,
  rxPackets: 'rx-packets',
  rxBytes: 'rx-bytes',
  /** Length prefix larger than the buffer: dropped WITHOUT Rx Complete (libmctp). */
  rxDropLength: 'rx-drop:length',
  rxDrop: (why: RxDropReason) => `rx-drop:${why}`,
  txPackets: 'tx-packets',
  txBytes: 'tx-bytes',
  txDone: 'tx-done',
  txRefusedBusy: 'tx-refused:busy',
  txRefusedNoCarrier: 'tx-refused:no-carrier',
  txDropLength: 'tx-drop:length',
  cmdReceived: (name: string) => `cmd:${name}`,
  cmdUnknown: 'cmd-drop:unknown',
  /** Tx Begin / Rx Complete before the channel is up. */
  cmdBeforeInit: 'cmd-drop:before-init',
  /** Tx Begin while our Rx buffer is not released, Rx Complete while nothing is in flight. */
  cmdProtocol: 'cmd-drop:protocol',
  cmdDeferred: 'cmd-deferred',
  kcsErrors: 'kcs-errors',
  /** BMC: the host scribbled over BMC-owned control-area fields (or negotiated_ver); restored. */
  controlAreaRestored: 'control-area-restored',
  /** BMC: the periodic check found an rx_size no host could propose (left without Init); reset. */
  controlAreaRxSizeReset: 'control-area-rx-size-reset',
  /** BMC: the host did not consume the "going down" dummy within the hold-off. */
  restartHoldoffExpired: 'restart-holdoff-expired',
  /** Host: STR had no BMC_READY when we wanted to initialise. */
  bmcNotReady: 'bmc-not-ready',
  bmcReadyLost: 'bmc-ready-lost',
  /** Host: CHANNEL_ACTIVE dropped while BMC_READY stayed set; we re-initialise. */
  channelLost: 'channel-lost',
  /** Host: a dummy that did not complete our Init (docs/astlpc.md "The stale dummy"). */
  staleDummy: 'stale-dummy',
  odrDrained: 'odr-drained',
  /** Host: the BMC's versions or layout looked scribbled on; Init sent anyway for the BMC to repair them. */
  initOverBadHeader: 'init-over-bad-header',
  /** Host: such an Init was refused; sent once more at once with what the BMC then published. */
  initQuickRetry: 'init-quick-retry',
  /** Host: our rx_size proposal was capped to the room the BMC's layout leaves. */
  rxSizeCapped: 'rx-size-capped',
} as const;

export class Counters {
  readonly #map = new Map<string, number>();

  inc(name: string, by = 1): void {
    this.#map.set(name, (this.#map.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.#map.get(name) ?? 0;
  }

  /** Plain object, keys sorted, only counters that moved. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of [...this.#map.keys()].sort()) out[key] = this.#map.get(key)!;
    return out;
  }
}
