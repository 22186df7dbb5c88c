/**
 * The 16-byte SEL record (IPMI v2.0 §32, table 32-1) and the fields of a
 * system event (§29.7, table 29-6). All multi-byte fields are LS byte first.
 *
 *   0-1  record ID                     (0000h and FFFFh are never stored: they mean first/last)
 *   2    record type                   02h system event, C0h-DFh OEM timestamped, E0h-FFh OEM non-timestamped
 *   3-6  timestamp                     seconds (SEL time) — types 02h and C0h-DFh only
 *   7-8  generator ID                  byte 7: [7:1] IPMB slave address or software ID, [0] 1 = software ID;
 *                                      byte 8: [7:4] channel, [1:0] LUN (IPMB only)
 *   9    EvM Rev                       04h (IPMI v1.5/v2.0 event format)
 *   10   sensor type
 *   11   sensor number
 *   12   event dir | event/reading type  [7] 0 = assertion, 1 = deassertion; [6:0] type code
 *   13-15 event data 1-3
 *
 * OEM timestamped records hold a manufacturer ID in bytes 7-9 and OEM data
 * in 10-15; non-timestamped ones hold OEM data in bytes 3-15.
 */

export const SEL_RECORD_SIZE = 16;

/** Record IDs with a meaning of their own in Get/Delete SEL Entry. */
export const SEL_RECORD_ID = {
  FIRST: 0x0000,
  LAST: 0xffff,
} as const;

export const SEL_RECORD_TYPE = {
  SYSTEM_EVENT: 0x02,
  OEM_TIMESTAMPED_FIRST: 0xc0,
  OEM_TIMESTAMPED_LAST: 0xdf,
  OEM_NON_TIMESTAMPED_FIRST: 0xe0,
} as const;

/** Event Message format revision for IPMI v1.5/v2.0 events; 03h is IPMI v1.0's, accepted and logged as 04h. */
export const EVM_REV = 0x04;
export const EVM_REV_IPMI_1_0 = 0x03;

/** Generator ID of events the BMC logs for its own sensors: IPMB slave address 20h, LUN 0, channel 0. */
export const BMC_GENERATOR_ID = 0x0020;

/** Event direction bit in the event dir | type byte. */
export const EVENT_DIR_DEASSERTION = 0x80;

/** A system event (record type 02h) before it has a record ID and a timestamp. */
export interface SystemEvent {
  /** 16-bit generator ID: LS byte = slave address/software ID byte, MS byte = channel/LUN byte. */
  generatorId: number;
  /** Event Message revision as received; stored as 04h. */
  evmRev?: number;
  sensorType: number;
  sensorNumber: number;
  /** [7] direction (1 = deassertion), [6:0] event/reading type code. */
  eventDirType: number;
  /** Event data 1-3; FFh marks an unspecified byte 2 or 3. */
  eventData: readonly [number, number, number];
}

/** Whether records of this type may be stored at all (§32: 02h and C0h-FFh; the rest are reserved). */
export function isValidRecordType(type: number): boolean {
  return type === SEL_RECORD_TYPE.SYSTEM_EVENT || type >= SEL_RECORD_TYPE.OEM_TIMESTAMPED_FIRST;
}

/** Whether the SEL device stamps its time into bytes 3-6 of this type when the record is added. */
export function hasTimestamp(type: number): boolean {
  return type === SEL_RECORD_TYPE.SYSTEM_EVENT || (type >= SEL_RECORD_TYPE.OEM_TIMESTAMPED_FIRST && type <= SEL_RECORD_TYPE.OEM_TIMESTAMPED_LAST);
}

export function recordIdOf(record: Buffer): number {
  return record.readUInt16LE(0);
}

export function recordTypeOf(record: Buffer): number {
  return record[2]!;
}

/** A copy of `record` with its record ID set and, for timestamped types, its timestamp. */
export function stampRecord(record: Buffer, recordId: number, timestamp: number): Buffer {
  const out = Buffer.from(record.subarray(0, SEL_RECORD_SIZE));
  out.writeUInt16LE(recordId, 0);
  if (hasTimestamp(out[2]!)) out.writeUInt32LE(timestamp >>> 0, 3);
  return out;
}

/** The 16 bytes of a system event record (type 02h); record ID and timestamp are filled in by stampRecord. */
export function encodeSystemEvent(ev: SystemEvent): Buffer {
  const r = Buffer.alloc(SEL_RECORD_SIZE);
  r[2] = SEL_RECORD_TYPE.SYSTEM_EVENT;
  r.writeUInt16LE(ev.generatorId & 0xffff, 7);
  r[9] = EVM_REV;
  r[10] = ev.sensorType & 0xff;
  r[11] = ev.sensorNumber & 0xff;
  r[12] = ev.eventDirType & 0xff;
  r[13] = ev.eventData[0] & 0xff;
  r[14] = ev.eventData[1] & 0xff;
  r[15] = ev.eventData[2] & 0xff;
  return r;
}
