/**
 * What every sensor the BMC owns shares: its number and name, its reading,
 * the event enables that Set/Get Sensor Event Enable work on, and the way an
 * event reaches the SEL. Threshold and discrete sensors differ only in how a
 * reading and its states come about (threshold-sensor.ts, watchdog-sensor.ts).
 */
import type { SdrBody } from '../storage/sdr-records.js';
import { BMC_GENERATOR_ID, EVENT_DIR_DEASSERTION, type SystemEvent } from '../storage/sel-record.js';

/** Where sensor events go (the SEL's logEvent). */
export interface SensorEventSink {
  logEvent(ev: SystemEvent): unknown;
}

export interface SensorReading {
  /** The raw reading byte (0 for sensors without a numeric reading). */
  raw: number;
  /** Get Sensor Reading byte 3 [5]: the reading is not valid (yet). */
  unavailable: boolean;
  /** Threshold sensors: comparison status bits [5:0]; discrete sensors: asserted state bits 0-14. */
  state: number;
}

export interface EventEnables {
  /** All event messages from this sensor enabled. */
  events: boolean;
  /** Sensor scanning enabled (a sensor that is not scanned neither compares nor logs). */
  scanning: boolean;
  /** Offsets (bits 0-14) whose assertion is logged. */
  assertions: number;
  /** Offsets whose deassertion is logged. */
  deassertions: number;
}

export interface SensorIdentity {
  /** Sensor number (00h-FEh; FFh is reserved). */
  number: number;
  /** ID string (≤ 16 characters). */
  name: string;
  sensorType: number;
  entityId: number;
  entityInstance: number;
}

export interface SensorWiring {
  /** Where events go; without one the sensor reads but never logs. */
  events?: SensorEventSink;
  /** Generator ID stamped into its events (default 0020h: the BMC, LUN 0). */
  generatorId?: number;
}

export abstract class Sensor {
  readonly number: number;
  readonly name: string;
  readonly sensorType: number;
  readonly entityId: number;
  readonly entityInstance: number;
  abstract readonly eventReadingType: number;
  /** Offsets this sensor can log at all (its SDR's event masks). */
  readonly supportedEvents: { assertions: number; deassertions: number };
  readonly #sink: SensorEventSink | undefined;
  readonly #generatorId: number;
  #enables: EventEnables;

  constructor(id: SensorIdentity, wiring: SensorWiring, supported: { assertions: number; deassertions: number }) {
    this.number = id.number;
    this.name = id.name;
    this.sensorType = id.sensorType;
    this.entityId = id.entityId;
    this.entityInstance = id.entityInstance;
    this.#sink = wiring.events;
    this.#generatorId = wiring.generatorId ?? BMC_GENERATOR_ID;
    this.supportedEvents = { ...supported };
    this.#enables = { events: true, scanning: true, ...supported };
  }

  /** The current reading (threshold sensors compare and log here). */
  abstract sample(): SensorReading;

  /** This sensor's SDR body (its current thresholds included). */
  abstract sdr(): SdrBody;

  eventEnables(): EventEnables {
    return { ...this.#enables };
  }

  /** Set Sensor Event Enable; offsets the sensor cannot log stay disabled. */
  setEventEnables(change: Partial<EventEnables>): void {
    const s = this.supportedEvents;
    const next = { ...this.#enables, ...change };
    next.assertions &= s.assertions;
    next.deassertions &= s.deassertions;
    this.#enables = next;
  }

  /** Get Sensor Event Status: offsets whose assertion / deassertion event condition is present. */
  abstract eventStatus(): { assertions: number; deassertions: number };

  /** Log one event if the enables allow it; true when it was handed to the sink. */
  protected logEvent(offset: number, deassertion: boolean, eventData: readonly [number, number, number]): boolean {
    const bit = 1 << offset;
    const e = this.#enables;
    if (!this.#sink || !e.events || !e.scanning) return false;
    if (((deassertion ? e.deassertions : e.assertions) & bit) === 0) return false;
    this.#sink.logEvent({
      generatorId: this.#generatorId,
      sensorType: this.sensorType,
      sensorNumber: this.number,
      eventDirType: (deassertion ? EVENT_DIR_DEASSERTION : 0) | this.eventReadingType,
      eventData,
    });
    return true;
  }
}
