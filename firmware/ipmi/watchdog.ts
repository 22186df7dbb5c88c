/**
 * The BMC watchdog timer (IPMI v2.0 §27) as a state machine on the
 * injectable Clock. The commands that drive it (Set/Get/Reset Watchdog
 * Timer) are in commands/watchdog.ts.
 *
 * - The countdown is in 100 ms units. It runs from the initial countdown;
 *   when it reaches the pre-timeout interval (seconds) the pre-timeout
 *   interrupt fires once, when it reaches 0 the timer stops, the expiration
 *   flag of the timer use is set and the timeout action runs.
 * - Set stops the timer, unless "don't stop" is set: then a running timer
 *   restarts from the new countdown at once (pre-timeout re-armed) and a
 *   stopped one stays stopped.
 * - Reset starts or restarts from the initial countdown; before any Set
 *   since BMC start or the last host reset/power-up it is refused (the
 *   command answers 0x80, and skiboot then sends Set again).
 * - Pre-timeout interrupt: message flag bit 3 through the system interface
 *   (with its IRQ for the messaging-interrupt type), plus an NMI for the
 *   NMI/diagnostic type; SMI has no equivalent in QEMU, the flag still says
 *   it happened.
 * - Every pre-timeout and timeout produces a Watchdog 2 sensor event
 *   (type 0x23, sensor-specific 0x6F): data 1 = 0xC0 | offset (0 expired,
 *   1 hard reset, 2 power down, 3 power cycle, 8 timer interrupt), data 2 =
 *   interrupt type << 4 | timer use, data 3 = 0xFF; marked not-for-the-SEL
 *   when "don't log" is set.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { BMC_GENERATOR_ID, EVENT_TYPE_SENSOR_SPECIFIC, SENSOR_TYPE, type IpmiSensorEvent } from './events.js';
import { runHostAction, type HostAction, type HostControl } from './host-control.js';

export const TIMER_USE = { FRB2: 1, POST: 2, OS_LOAD: 3, SMS_OS: 4, OEM: 5 } as const;
export const TIMEOUT_ACTION = { NONE: 0, HARD_RESET: 1, POWER_DOWN: 2, POWER_CYCLE: 3 } as const;
export const PRETIMEOUT_INTERRUPT = { NONE: 0, SMI: 1, NMI: 2, MESSAGING: 3 } as const;

/** Watchdog 2 sensor-specific offsets. */
export const WATCHDOG_OFFSET = { EXPIRED: 0x00, HARD_RESET: 0x01, POWER_DOWN: 0x02, POWER_CYCLE: 0x03, TIMER_INTERRUPT: 0x08 } as const;

/** Timer use expiration flag bits that exist (1..5); the others are reserved. */
export const EXPIRATION_FLAGS_MASK = 0x3e;

/** Milliseconds per countdown unit. */
export const COUNT_MS = 100;

export interface WatchdogSettings {
  /** 1..5 (TIMER_USE). */
  timerUse: number;
  dontLog: boolean;
  /** 0..3 (TIMEOUT_ACTION). */
  timeoutAction: number;
  /** 0..3 (PRETIMEOUT_INTERRUPT). */
  pretimeoutInterrupt: number;
  /** Seconds before expiry the pre-timeout interrupt fires. */
  pretimeoutInterval: number;
  /** Initial countdown in 100 ms units. */
  initialCountdown: number;
}

export interface WatchdogState extends WatchdogSettings {
  initialized: boolean;
  running: boolean;
  /** Timer use expiration flags (bit n = use n expired). */
  expirationFlags: number;
  /** Present countdown in 100 ms units. */
  presentCountdown: number;
}

export interface WatchdogEvent extends IpmiSensorEvent {
  kind: 'pretimeout' | 'timeout';
  timerUse: number;
  /** The timeout action taken (timeouts) or the interrupt type (pre-timeouts). */
  action: number;
}

export interface WatchdogOptions {
  clock: Clock;
  host: HostControl;
  /** Where the pre-timeout flag goes (the system interface). */
  systemInterface?: { watchdogPretimeout(messagingInterrupt: boolean): void };
  /** Pre-timeouts and timeouts, for the SEL. */
  onEvent?: (e: WatchdogEvent) => void;
  /** The watchdog sensor's number in the SDR (default 0). */
  sensorNumber?: number;
  log?: (line: string) => void;
}

export interface WatchdogStats {
  sets: number;
  resets: number;
  refusedResets: number;
  pretimeouts: number;
  timeouts: number;
  actionErrors: number;
}

const ACTION_FOR: Record<number, HostAction | undefined> = {
  [TIMEOUT_ACTION.NONE]: undefined,
  [TIMEOUT_ACTION.HARD_RESET]: 'hardReset',
  [TIMEOUT_ACTION.POWER_DOWN]: 'powerOff',
  [TIMEOUT_ACTION.POWER_CYCLE]: 'powerCycle',
};

const DEFAULT_SETTINGS: WatchdogSettings = {
  timerUse: 0,
  dontLog: false,
  timeoutAction: TIMEOUT_ACTION.NONE,
  pretimeoutInterrupt: PRETIMEOUT_INTERRUPT.NONE,
  pretimeoutInterval: 0,
  initialCountdown: 0,
};

export class Watchdog {
  readonly #clock: Clock;
  readonly #host: HostControl;
  readonly #si: WatchdogOptions['systemInterface'];
  readonly #onEvent: (e: WatchdogEvent) => void;
  readonly #sensorNumber: number;
  readonly #log: (line: string) => void;
  #settings: WatchdogSettings = { ...DEFAULT_SETTINGS };
  #initialized = false;
  #running = false;
  #expirationFlags = 0;
  /** While running: clock time and countdown at the (re)start. */
  #startAt = 0;
  #startCount = 0;
  /** While stopped: the countdown shown. */
  #stoppedCount = 0;
  #preTimer: TimerHandle | null = null;
  #expiryTimer: TimerHandle | null = null;
  readonly #stats: WatchdogStats = { sets: 0, resets: 0, refusedResets: 0, pretimeouts: 0, timeouts: 0, actionErrors: 0 };

  constructor(opts: WatchdogOptions) {
    this.#clock = opts.clock;
    this.#host = opts.host;
    this.#si = opts.systemInterface;
    this.#onEvent = opts.onEvent ?? (() => {});
    this.#sensorNumber = opts.sensorNumber ?? 0;
    this.#log = opts.log ?? (() => {});
  }

  stats(): WatchdogStats {
    return { ...this.#stats };
  }

  state(): WatchdogState {
    return {
      ...this.#settings,
      initialized: this.#initialized,
      running: this.#running,
      expirationFlags: this.#expirationFlags,
      presentCountdown: this.#presentCountdown(),
    };
  }

  #presentCountdown(): number {
    if (!this.#running) return this.#stoppedCount;
    const elapsed = Math.floor((this.#clock.now() - this.#startAt) / COUNT_MS);
    return Math.max(0, this.#startCount - elapsed);
  }

  /**
   * Set Watchdog Timer. `settings` must already be valid (the command checks
   * them); `clearExpiration` clears those expiration flags.
   */
  set(settings: WatchdogSettings, dontStop: boolean, clearExpiration: number): void {
    this.#stats.sets++;
    this.#settings = { ...settings };
    this.#initialized = true;
    this.#expirationFlags &= ~(clearExpiration & EXPIRATION_FLAGS_MASK);
    if (dontStop && this.#running) {
      this.#start(settings.initialCountdown);
    } else {
      this.#stop(settings.initialCountdown);
    }
  }

  /** Reset Watchdog Timer: false when the timer was never set (the command answers 0x80). */
  reset(): boolean {
    if (!this.#initialized) {
      this.#stats.refusedResets++;
      return false;
    }
    this.#stats.resets++;
    this.#start(this.#settings.initialCountdown);
    return true;
  }

  /**
   * The host was reset or powered up: the timer stops and needs a new Set
   * before Reset (expiration flags are kept: they tell the next boot what
   * happened).
   */
  hostReset(): void {
    this.#stop(this.#settings.initialCountdown);
    this.#initialized = false;
  }

  /** The BMC was reset: back to power-up state. */
  bmcReset(): void {
    this.#stop(0);
    this.#settings = { ...DEFAULT_SETTINGS };
    this.#initialized = false;
    this.#expirationFlags = 0;
  }

  #cancelTimers(): void {
    this.#preTimer?.cancel();
    this.#expiryTimer?.cancel();
    this.#preTimer = null;
    this.#expiryTimer = null;
  }

  #stop(shown: number): void {
    this.#cancelTimers();
    this.#running = false;
    this.#stoppedCount = shown;
  }

  #start(count: number): void {
    this.#cancelTimers();
    this.#running = true;
    this.#startAt = this.#clock.now();
    this.#startCount = count;
    const s = this.#settings;
    if (s.pretimeoutInterrupt !== PRETIMEOUT_INTERRUPT.NONE) {
      // Created before the expiry timer, so with an interval >= the countdown
      // the pre-timeout still comes first.
      const at = Math.max(0, count - s.pretimeoutInterval * 10) * COUNT_MS;
      this.#preTimer = this.#clock.setTimeout(() => this.#pretimeout(), at);
    }
    this.#expiryTimer = this.#clock.setTimeout(() => this.#expire(), count * COUNT_MS);
  }

  #pretimeout(): void {
    this.#preTimer = null;
    this.#stats.pretimeouts++;
    const s = this.#settings;
    this.#si?.watchdogPretimeout(s.pretimeoutInterrupt === PRETIMEOUT_INTERRUPT.MESSAGING);
    if (s.pretimeoutInterrupt === PRETIMEOUT_INTERRUPT.NMI) this.#act('diagnosticInterrupt');
    this.#event('pretimeout', WATCHDOG_OFFSET.TIMER_INTERRUPT, s.pretimeoutInterrupt);
  }

  #expire(): void {
    this.#expiryTimer = null;
    this.#stats.timeouts++;
    const s = this.#settings;
    this.#running = false;
    this.#stoppedCount = 0;
    this.#expirationFlags |= (1 << s.timerUse) & EXPIRATION_FLAGS_MASK;
    this.#log(`ipmi watchdog: expired (use ${s.timerUse}, action ${s.timeoutAction})`);
    // The event first: an action such as a hard reset may make the
    // composition reset this watchdog (hostReset) from inside the call.
    this.#event('timeout', s.timeoutAction, s.timeoutAction);
    const action = ACTION_FOR[s.timeoutAction];
    if (action) this.#act(action);
  }

  #act(action: HostAction): void {
    runHostAction(this.#host, action, (a, e) => {
      this.#stats.actionErrors++;
      this.#log(`ipmi watchdog: ${a} failed: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  #event(kind: WatchdogEvent['kind'], offset: number, action: number): void {
    const s = this.#settings;
    this.#onEvent({
      kind,
      timerUse: s.timerUse,
      action,
      generatorId: BMC_GENERATOR_ID,
      sensorType: SENSOR_TYPE.WATCHDOG_2,
      sensorNumber: this.#sensorNumber,
      eventDirType: EVENT_TYPE_SENSOR_SPECIFIC,
      eventData: [0xc0 | offset, ((s.pretimeoutInterrupt & 0x0f) << 4) | (s.timerUse & 0x0f), 0xff],
      log: !s.dontLog,
    });
  }
}
