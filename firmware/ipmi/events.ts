/**
 * Events the BMC itself generates (watchdog expiry today), in the fields of
 * a SEL system event record (IPMI v2.0 §32.1) minus what the SEL adds
 * (record id, timestamp). The SEL owner turns them into records; until it
 * exists the composition can log them.
 */

/** Generator ID of the BMC: slave address 0x20, channel 0, LUN 0 (LS byte first on the wire: 20 00). */
export const BMC_GENERATOR_ID = 0x0020;

/** Event Message Revision for IPMI v2.0 / v1.5. */
export const EVM_REV = 0x04;

/** Sensor type codes used here (IPMI v2.0 table 42-3). */
export const SENSOR_TYPE = {
  WATCHDOG_2: 0x23,
} as const;

/** Event/reading type code for sensor-specific offsets. */
export const EVENT_TYPE_SENSOR_SPECIFIC = 0x6f;

export interface IpmiSensorEvent {
  generatorId: number;
  sensorType: number;
  sensorNumber: number;
  /** Bit 7: 1 = deassertion; bits 6:0 event/reading type. */
  eventDirType: number;
  eventData: [number, number, number];
  /**
   * Whether the event should be logged to the SEL (the watchdog's "don't
   * log" bit clears it). Global enables bit 3 is the SEL owner's to apply.
   */
  log: boolean;
}

/** The 9 bytes of a platform event message after the record header: generator, EvMRev, type, number, dir/type, data 1–3. */
export function eventMessageBytes(e: IpmiSensorEvent): Buffer {
  return Buffer.from([
    e.generatorId & 0xff,
    (e.generatorId >> 8) & 0xff,
    EVM_REV,
    e.sensorType,
    e.sensorNumber,
    e.eventDirType,
    ...e.eventData,
  ]);
}
