/**
 * A stored 16-byte SEL record (sel-record.ts has the layout) as plain JSON
 * for people and tools: the fields of a system event with the names
 * ipmitool gives its sensor type and event, or the OEM bytes of an OEM
 * record. Decoding never fails: every 16 bytes have a reading.
 */
import { eventDescription, sensorTypeName } from '../event-text.js';
import { EVENT_DIR_DEASSERTION, SEL_RECORD_SIZE, SEL_RECORD_TYPE, recordIdOf, recordTypeOf } from './sel-record.js';

/** SEL timestamps below this count seconds since the BMC started, not since the epoch (IPMI v2.0 §37). */
export const SEL_TIME_INIT_DONE = 0x20000000;
/** "Unspecified" timestamp. */
export const SEL_TIME_UNSPECIFIED = 0xffffffff;

interface Common {
  /** Record ID. */
  id: number;
  recordType: number;
  /** The record's 16 bytes, hex. */
  raw: string;
}

interface Timestamped {
  /** SEL time as stored: seconds (since the epoch from 20000000h on, since BMC start below it). */
  timestamp: number;
  /** The timestamp as ISO 8601 when it is a point in real time; null for pre-init and unspecified stamps. */
  time: string | null;
}

export interface SystemEventEntry extends Common, Timestamped {
  kind: 'system-event';
  generatorId: number;
  evmRev: number;
  sensorType: number;
  /** ipmitool's name for the sensor type ("Temperature", "Watchdog2", "Unknown"). */
  sensorTypeName: string;
  sensorNumber: number;
  /** Event/reading type code (01h threshold, 02h-0Ch generic, 6Fh sensor-specific, 70h-7Fh OEM). */
  eventType: number;
  direction: 'assertion' | 'deassertion';
  eventData: [number, number, number];
  /** Event offset: event data 1 [3:0]. */
  offset: number;
  /** What the event means, in ipmitool's words, or null when ipmitool has none. */
  event: string | null;
}

export interface OemTimestampedEntry extends Common, Timestamped {
  kind: 'oem-timestamped';
  /** Manufacturer ID (IANA), LS byte first in the record. */
  manufacturerId: number;
  /** OEM defined bytes 10-15, hex. */
  oemData: string;
}

export interface OemEntry extends Common {
  kind: 'oem';
  /** OEM defined bytes 3-15, hex. */
  oemData: string;
}

export type DecodedSelEntry = SystemEventEntry | OemTimestampedEntry | OemEntry;

function timeOf(stamp: number): string | null {
  return stamp >= SEL_TIME_INIT_DONE && stamp !== SEL_TIME_UNSPECIFIED ? new Date(stamp * 1000).toISOString() : null;
}

export function decodeSelRecord(record: Buffer): DecodedSelEntry {
  if (record.length !== SEL_RECORD_SIZE) throw new RangeError(`SEL records are ${SEL_RECORD_SIZE} bytes, got ${record.length}`);
  const common: Common = { id: recordIdOf(record), recordType: recordTypeOf(record), raw: record.toString('hex') };
  // As ipmitool reads them: below C0h a system event (only 02h is ever stored), E0h and up OEM without a timestamp.
  if (common.recordType >= SEL_RECORD_TYPE.OEM_NON_TIMESTAMPED_FIRST) return { ...common, kind: 'oem', oemData: record.subarray(3).toString('hex') };
  const timestamp = record.readUInt32LE(3);
  const stamped = { timestamp, time: timeOf(timestamp) };
  if (common.recordType >= SEL_RECORD_TYPE.OEM_TIMESTAMPED_FIRST) {
    return { ...common, ...stamped, kind: 'oem-timestamped', manufacturerId: record.readUIntLE(7, 3), oemData: record.subarray(10).toString('hex') };
  }
  const sensorType = record[10]!;
  const dirType = record[12]!;
  const eventType = dirType & 0x7f;
  const eventData: [number, number, number] = [record[13]!, record[14]!, record[15]!];
  return {
    ...common,
    ...stamped,
    kind: 'system-event',
    generatorId: record.readUInt16LE(7),
    evmRev: record[9]!,
    sensorType,
    sensorTypeName: sensorTypeName(sensorType),
    sensorNumber: record[11]!,
    eventType,
    direction: dirType & EVENT_DIR_DEASSERTION ? 'deassertion' : 'assertion',
    eventData,
    offset: eventData[0] & 0x0f,
    event: eventDescription(sensorType, eventType, eventData[0]),
  };
}
