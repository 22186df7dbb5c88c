/**
 * Discovery Notify (DSP0236 control command 0x0D), the endpoint's side. On a
 * bus without presence detection — a serial line: the bus owner's UART had
 * "carrier" long before this endpoint ran, and its first probe went
 * unanswered — an endpoint that has no EID tells the bus owner it is there,
 * physically addressed (it knows no EID to send to), so the bus owner
 * discovers it and assigns it one.
 *
 * The schedule is the guest agent's: one Notify at start() and one every
 * DISCOVERY_NOTIFY_INTERVAL_MS after, each a single send (no retries: the
 * next interval is the retry), whatever the bus owner answers, until the
 * interface has an EID. It also ends on stop() or when the interface goes
 * away. All timing is on the injectable clock.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../../../lib/clock.js';
import { ConfigError } from '../../../lib/errors.js';
import type { MctpStack } from '../stack.js';
import { Cmd } from './constants.js';
import { ControlRequester } from './requester.js';

/** Between two Notifies while the bus owner has not assigned us an EID. */
export const DISCOVERY_NOTIFY_INTERVAL_MS = 2000;

export interface DiscoveryNotifierOptions {
  /** The interface to announce ourselves on. */
  ifname: string;
  /** Default: the stack's clock. */
  clock?: Clock;
  intervalMs?: number;
}

export interface DiscoveryNotifierStats {
  /** Notifies sent. */
  sent: number;
  /** Notifies the bus owner answered with success. */
  acknowledged: number;
  /** Notifies that could not be sent, went unanswered or were refused. */
  failed: number;
}

/** Why the notifier stopped: the interface got an EID, stop() was called, or the interface was removed. */
export type DiscoveryNotifyEnd = 'assigned' | 'stopped' | 'interface-removed';

/**
 * Emits 'sent' (the count so far) after each Notify leaves, and 'done'
 * (DiscoveryNotifyEnd) once, when it stops for good.
 */
export class DiscoveryNotifier extends EventEmitter {
  readonly stats: DiscoveryNotifierStats = { sent: 0, acknowledged: 0, failed: 0 };
  readonly ifname: string;
  readonly intervalMs: number;
  readonly #stack: MctpStack;
  readonly #clock: Clock;
  #requester: ControlRequester | null = null;
  #timer: TimerHandle | null = null;
  #unsubscribe: (() => void) | null = null;
  #started = false;
  #end: DiscoveryNotifyEnd | null = null;

  constructor(stack: MctpStack, opts: DiscoveryNotifierOptions) {
    super();
    this.#stack = stack;
    this.#clock = opts.clock ?? stack.clock;
    this.ifname = opts.ifname;
    this.intervalMs = opts.intervalMs ?? DISCOVERY_NOTIFY_INTERVAL_MS;
    if (!(this.intervalMs > 0)) throw new ConfigError(`Discovery Notify interval must be positive, got ${this.intervalMs}`);
  }

  /** Still announcing. */
  get running(): boolean {
    return this.#started && this.#end === null;
  }

  /** Why it stopped, or null while it has not. */
  get end(): DiscoveryNotifyEnd | null {
    return this.#end;
  }

  /** Send the first Notify now (none if the interface already has an EID). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#requester = new ControlRequester(this.#stack, { clock: this.#clock });
    // An assignment between two Notifies ends the schedule at once rather than at the next tick.
    this.#unsubscribe = this.#stack.onEvent((ev) => {
      if (ev.iface !== this.ifname) return;
      if (ev.kind === 'address-added') this.#finish('assigned');
      else if (ev.kind === 'interface-removed') this.#finish('interface-removed');
    });
    this.#tick();
  }

  stop(): void {
    if (!this.#started) this.#started = true;
    this.#finish('stopped');
  }

  #tick(): void {
    this.#timer = null;
    if (this.#end !== null) return;
    const iface = this.#stack.findInterface(this.ifname);
    if (!iface) return this.#finish('interface-removed');
    if (iface.addrs.length > 0) return this.#finish('assigned');
    this.stats.sent++;
    this.#requester!.request({ ifindex: iface.index }, { command: Cmd.DiscoveryNotify }, { retry: false }).then(
      () => {
        if (this.#end === null) this.stats.acknowledged++;
      },
      () => {
        if (this.#end === null) this.stats.failed++;
      },
    );
    this.emit('sent', this.stats.sent);
    // Paced from the send, not from the answer: the interval is the retry.
    if (this.#end === null) this.#timer = this.#clock.setTimeout(() => this.#tick(), this.intervalMs);
  }

  #finish(end: DiscoveryNotifyEnd): void {
    if (this.#end !== null) return;
    this.#end = end;
    this.#timer?.cancel();
    this.#timer = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#requester?.close();
    this.#requester = null;
    this.emit('done', end);
  }
}
