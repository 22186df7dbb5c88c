/**
 * A threshold-based analog sensor (event/reading type 01h): a temperature,
 * a fan tachometer, a voltage. Its value comes from a function of the clock
 * (wander.ts) unless an override pins it; the linear factors (linear.ts)
 * turn values into the raw bytes the SDR, Get Sensor Reading and the events
 * carry, so ipmitool converts them back to the same °C or RPM.
 *
 * Every sample() compares the reading with the thresholds (thresholds.ts)
 * and logs an assertion or deassertion event for each threshold crossed:
 * event data 1 = 50h | offset (trigger reading in byte 2, trigger threshold
 * in byte 3).
 */
import type { Clock } from '../../../lib/clock.js';
import { ConfigError } from '../../../lib/errors.js';
import { BMC_SLAVE_ADDRESS, encodeFullSensorRecord, type SdrBody } from '../storage/sdr-records.js';
import { analogFormatBits, checkFactors, encodeFactors, rawAsNumber, rawToValue, valueToRaw, type LinearFactors } from './linear.js';
import { Sensor, type SensorIdentity, type SensorReading, type SensorWiring } from './sensor.js';
import {
  ALL_THRESHOLDS_MASK,
  THRESHOLD_BIT,
  THRESHOLD_NAMES,
  assertingOffset,
  compareThresholds,
  type ThresholdName,
  type ThresholdValues,
} from './thresholds.js';

export const EVENT_READING_TYPE_THRESHOLD = 0x01;
/** Event data 1 [7:6] = 01b trigger reading in byte 2, [5:4] = 01b trigger threshold in byte 3. */
const THRESHOLD_EVENT_DATA1 = 0x50;

/** Sensor initialization (SDR byte 11): init scanning, events, thresholds, hysteresis, type; events and scanning on. */
const INIT_THRESHOLD_SENSOR = 0x7f;
/** Capabilities (SDR byte 12) [6]: auto re-arm. */
const CAP_AUTO_REARM = 0x40;
/** [5:4] hysteresis readable and settable. */
const CAP_HYSTERESIS_SETTABLE = 0x20;
/** [3:2] thresholds readable (01b) or readable and settable (10b). */
const CAP_THRESHOLDS_READABLE = 0x04;
const CAP_THRESHOLDS_SETTABLE = 0x08;

export interface ThresholdSensorOptions extends SensorIdentity, SensorWiring {
  /** Base unit type code (table 43-15: 01h °C, 12h RPM, 04h V, …). */
  baseUnit: number;
  factors: LinearFactors;
  /** The value at clock time t (ms), in the sensor's units. */
  source: (tMs: number) => number;
  /** Threshold values in the sensor's units; leave out the ones the sensor does not have. */
  thresholds: Partial<Record<ThresholdName, number>>;
  /** Which thresholds Set Sensor Thresholds may change (default: all present). */
  settable?: ThresholdName[];
  /** Hysteresis in raw counts (default 1 each way). */
  hysteresis?: { positive: number; negative: number };
  /** Nominal reading and normal range in the sensor's units (shown by ipmitool sdr get). */
  nominal?: number;
  normalMin?: number;
  normalMax?: number;
  clock: Clock;
}

export class ThresholdSensor extends Sensor {
  readonly eventReadingType = EVENT_READING_TYPE_THRESHOLD;
  readonly baseUnit: number;
  readonly factors: LinearFactors;
  readonly readable: number;
  readonly settable: number;
  readonly #opts: ThresholdSensorOptions;
  readonly #clock: Clock;
  #thresholds: Partial<Record<ThresholdName, number>>;
  #hysteresis: { positive: number; negative: number };
  /** Thresholds currently asserted (THRESHOLD_BIT mask). */
  #states = 0;
  #override: number | undefined;

  constructor(opts: ThresholdSensorOptions) {
    checkFactors(opts.factors);
    const present = THRESHOLD_NAMES.filter((n) => opts.thresholds[n] !== undefined);
    const supported = present.reduce((m, n) => m | (1 << assertingOffset(n)), 0);
    super(opts, opts, { assertions: supported, deassertions: supported });
    this.#opts = opts;
    this.#clock = opts.clock;
    this.baseUnit = opts.baseUnit;
    this.factors = opts.factors;
    this.readable = present.reduce((m, n) => m | THRESHOLD_BIT[n], 0);
    const settable = opts.settable ?? present;
    for (const n of settable) {
      if (opts.thresholds[n] === undefined) throw new ConfigError(`sensor ${opts.name}: threshold ${n} is settable but not present`);
    }
    this.settable = settable.reduce((m, n) => m | THRESHOLD_BIT[n], 0);
    this.#thresholds = {};
    for (const n of present) this.#thresholds[n] = valueToRaw(opts.factors, opts.thresholds[n]!);
    this.#hysteresis = { ...(opts.hysteresis ?? { positive: 1, negative: 1 }) };
  }

  /** Pin the value (in the sensor's units) — a test, or an operator provoking an event; undefined follows the source again. */
  override(value: number | undefined): void {
    this.#override = value;
  }

  /** The value the raw reading stands for right now (what ipmitool will print). */
  value(): number {
    return rawToValue(this.factors, this.#rawNow());
  }

  sample(): SensorReading {
    const raw = this.#rawNow();
    if (this.eventEnables().scanning) {
      const { states, changes } = compareThresholds(this.#states, rawAsNumber(this.factors, raw), this.#comparable(), this.#hysteresis);
      this.#states = states;
      for (const c of changes) {
        const offset = assertingOffset(c.name);
        this.logEvent(offset, !c.asserted, [THRESHOLD_EVENT_DATA1 | offset, raw, this.#thresholds[c.name]!]);
      }
    }
    return { raw, unavailable: false, state: this.#states };
  }

  /**
   * Get Sensor Event Status: the asserting offset of every threshold asserted
   * now. The sensor re-arms itself, so a deasserted threshold has no status.
   */
  eventStatus(): { assertions: number; deassertions: number } {
    const assertions = THRESHOLD_NAMES.reduce((m, n) => (this.#states & THRESHOLD_BIT[n] ? m | (1 << assertingOffset(n)) : m), 0);
    return { assertions, deassertions: 0 };
  }

  /** Raw threshold bytes (Get Sensor Thresholds); absent thresholds are missing. */
  thresholds(): Partial<Record<ThresholdName, number>> {
    return { ...this.#thresholds };
  }

  /**
   * Set Sensor Thresholds: the thresholds in `mask` take the raw values given;
   * 'not-settable' (nothing changes) when the mask names one that is not.
   * The new thresholds are compared at once, so crossing one logs its event now.
   */
  setThresholds(mask: number, raw: Partial<Record<ThresholdName, number>>): 'ok' | 'not-settable' {
    if ((mask & ~ALL_THRESHOLDS_MASK) !== 0 || (mask & ~this.settable) !== 0) return 'not-settable';
    for (const n of THRESHOLD_NAMES) {
      if (mask & THRESHOLD_BIT[n]) this.#thresholds[n] = (raw[n] ?? 0) & 0xff;
    }
    this.sample();
    return 'ok';
  }

  hysteresis(): { positive: number; negative: number } {
    return { ...this.#hysteresis };
  }

  setHysteresis(h: { positive: number; negative: number }): void {
    this.#hysteresis = { positive: h.positive & 0xff, negative: h.negative & 0xff };
  }

  sdr(): SdrBody {
    const f = this.factors;
    const t = this.#thresholds;
    const o = this.#opts;
    const lowerReadable = (['lnc', 'lcr', 'lnr'] as const).reduce((m, n, i) => (t[n] !== undefined ? m | (1 << (12 + i)) : m), 0);
    const upperReadable = (['unc', 'ucr', 'unr'] as const).reduce((m, n, i) => (t[n] !== undefined ? m | (1 << (12 + i)) : m), 0);
    const raw = (v: number | undefined): number => (v === undefined ? 0 : valueToRaw(f, v));
    const [min, max] = f.format === 'twos-complement' ? [0x80, 0x7f] : [0x00, 0xff];
    return encodeFullSensorRecord({
      ownerId: BMC_SLAVE_ADDRESS,
      ownerLun: 0,
      channel: 0,
      sensorNumber: this.number,
      entityId: this.entityId,
      entityInstance: this.entityInstance,
      initialization: INIT_THRESHOLD_SENSOR,
      capabilities: CAP_AUTO_REARM | CAP_HYSTERESIS_SETTABLE | (this.settable ? CAP_THRESHOLDS_SETTABLE : CAP_THRESHOLDS_READABLE),
      sensorType: this.sensorType,
      eventReadingType: this.eventReadingType,
      assertionMask: this.supportedEvents.assertions | lowerReadable,
      deassertionMask: this.supportedEvents.deassertions | upperReadable,
      readingMask: this.readable | (this.settable << 8),
      units1: analogFormatBits(f.format),
      baseUnit: this.baseUnit,
      modifierUnit: 0,
      name: this.name,
      linearization: 0x00,
      factors: encodeFactors(f),
      analogFlags: (o.nominal !== undefined ? 1 : 0) | (o.normalMax !== undefined ? 2 : 0) | (o.normalMin !== undefined ? 4 : 0),
      nominalReading: raw(o.nominal),
      normalMax: raw(o.normalMax),
      normalMin: raw(o.normalMin),
      sensorMax: max,
      sensorMin: min,
      thresholds: { unr: t.unr ?? 0, ucr: t.ucr ?? 0, unc: t.unc ?? 0, lnr: t.lnr ?? 0, lcr: t.lcr ?? 0, lnc: t.lnc ?? 0 },
      positiveHysteresis: this.#hysteresis.positive,
      negativeHysteresis: this.#hysteresis.negative,
      oem: 0,
    });
  }

  #rawNow(): number {
    return valueToRaw(this.factors, this.#override ?? this.#opts.source(this.#clock.now()));
  }

  #comparable(): ThresholdValues {
    const out: ThresholdValues = {};
    for (const n of THRESHOLD_NAMES) {
      const r = this.#thresholds[n];
      if (r !== undefined) out[n] = rawAsNumber(this.factors, r);
    }
    return out;
  }
}
