/**
 * The Watchdog 2 sensor (sensor type 23h, sensor-specific event/reading
 * type 6Fh; IPMI v2.0 table 42-3). The BMC watchdog timer (the App helper's
 * Set/Reset Watchdog Timer) calls timerExpired / preTimeoutInterrupt; each
 * logs a sensor-specific assertion event:
 *
 *   offset 0 timer expired (status only), 1 hard reset, 2 power down,
 *   3 power cycle, 8 timer interrupt
 *   event data 1 = C0h | offset (byte 2 holds a sensor-specific extension)
 *   event data 2 = [7:4] interrupt type, [3:0] timer use at expiration
 *   event data 3 = FFh (unspecified)
 *
 * Its "reading" is the state bit of the last action taken; it has no
 * numeric reading (Sensor Units 1 [7:6] = 11b) and a Compact SDR.
 */
import { BMC_SLAVE_ADDRESS, encodeCompactSensorRecord, type SdrBody } from '../storage/sdr-records.js';
import { Sensor, type SensorIdentity, type SensorReading, type SensorWiring } from './sensor.js';

export const SENSOR_TYPE_WATCHDOG_2 = 0x23;
export const EVENT_READING_TYPE_SENSOR_SPECIFIC = 0x6f;

export const WATCHDOG_OFFSET = {
  TIMER_EXPIRED: 0x0,
  HARD_RESET: 0x1,
  POWER_DOWN: 0x2,
  POWER_CYCLE: 0x3,
  TIMER_INTERRUPT: 0x8,
} as const;

export type WatchdogAction = 'none' | 'hard-reset' | 'power-down' | 'power-cycle';
export type WatchdogInterrupt = 'none' | 'smi' | 'nmi' | 'messaging';

const ACTION_OFFSET: Record<WatchdogAction, number> = {
  none: WATCHDOG_OFFSET.TIMER_EXPIRED,
  'hard-reset': WATCHDOG_OFFSET.HARD_RESET,
  'power-down': WATCHDOG_OFFSET.POWER_DOWN,
  'power-cycle': WATCHDOG_OFFSET.POWER_CYCLE,
};

const INTERRUPT_CODE: Record<WatchdogInterrupt, number> = { none: 0x0, smi: 0x1, nmi: 0x2, messaging: 0x3 };

/** Offsets 0-3 and 8. */
const SUPPORTED = 0x010f;
const SENSOR_SPECIFIC_EXTENSION_IN_BYTE2 = 0xc0;
/** Sensor initialization: init scanning, events, sensor type; events and scanning on. */
const INIT_DISCRETE_SENSOR = 0x67;
/** Capabilities: auto re-arm, no hysteresis, no thresholds, per-state event enables. */
const CAP_DISCRETE = 0x40;
/** Sensor Units 1 [7:6] = 11b: no analog reading. */
const UNITS_NO_ANALOG_READING = 0xc0;

export interface WatchdogExpiry {
  /** What the timer did (Set Watchdog Timer's timeout action). */
  action: WatchdogAction;
  /** Timer use at expiration (1 BIOS FRB2, 2 BIOS/POST, 3 OS load, 4 SMS/OS, 5 OEM). */
  timerUse: number;
  /** Pre-timeout interrupt type configured. */
  interrupt: WatchdogInterrupt;
}

export class Watchdog2Sensor extends Sensor {
  readonly eventReadingType = EVENT_READING_TYPE_SENSOR_SPECIFIC;
  /** The last action's offset bit (the reading). */
  #state = 0;
  /** Every offset asserted since the timer was last (re)started (Get Sensor Event Status). */
  #asserted = 0;

  constructor(id: Omit<SensorIdentity, 'sensorType'>, wiring: SensorWiring = {}) {
    super({ ...id, sensorType: SENSOR_TYPE_WATCHDOG_2 }, wiring, { assertions: SUPPORTED, deassertions: 0 });
  }

  /** The timer ran out and took `action`. */
  timerExpired(e: WatchdogExpiry): void {
    this.#assert(ACTION_OFFSET[e.action], e);
  }

  /** The pre-timeout interrupt fired. */
  preTimeoutInterrupt(e: Omit<WatchdogExpiry, 'action'>): void {
    this.#assert(WATCHDOG_OFFSET.TIMER_INTERRUPT, e);
  }

  /** The timer was (re)started: forget the last action. */
  rearm(): void {
    this.#state = 0;
    this.#asserted = 0;
  }

  eventStatus(): { assertions: number; deassertions: number } {
    return { assertions: this.#asserted, deassertions: 0 };
  }

  sample(): SensorReading {
    return { raw: 0, unavailable: false, state: this.#state };
  }

  sdr(): SdrBody {
    return encodeCompactSensorRecord({
      ownerId: BMC_SLAVE_ADDRESS,
      ownerLun: 0,
      channel: 0,
      sensorNumber: this.number,
      entityId: this.entityId,
      entityInstance: this.entityInstance,
      initialization: INIT_DISCRETE_SENSOR,
      capabilities: CAP_DISCRETE,
      sensorType: this.sensorType,
      eventReadingType: this.eventReadingType,
      assertionMask: SUPPORTED,
      deassertionMask: 0,
      readingMask: SUPPORTED,
      units1: UNITS_NO_ANALOG_READING,
      baseUnit: 0,
      modifierUnit: 0,
      name: this.name,
      shareCount: 1,
      positiveHysteresis: 0,
      negativeHysteresis: 0,
      oem: 0,
    });
  }

  #assert(offset: number, e: { timerUse: number; interrupt: WatchdogInterrupt }): void {
    this.#state = 1 << offset;
    this.#asserted |= 1 << offset;
    const data2 = (INTERRUPT_CODE[e.interrupt] << 4) | (e.timerUse & 0x0f);
    this.logEvent(offset, false, [SENSOR_SPECIFIC_EXTENSION_IN_BYTE2 | offset, data2, 0xff]);
  }
}
