/**
 * Sensor Data Record bodies (IPMI v2.0 §43). Every record is a 5-byte header
 * (record ID, SDR version 51h, record type, length of the rest) that the
 * repository adds (sdr.ts), followed by the body built here. Byte numbers in
 * the comments are the spec's (1-based, header included), so byte 6 is
 * body[0].
 */
import { ConfigError } from '../../../lib/errors.js';

export const SDR_VERSION = 0x51;
export const SDR_HEADER_SIZE = 5;

export const SDR_TYPE = {
  FULL_SENSOR: 0x01,
  COMPACT_SENSOR: 0x02,
  FRU_DEVICE_LOCATOR: 0x11,
  MC_DEVICE_LOCATOR: 0x12,
} as const;

/** The BMC's IPMB slave address (8-bit form): sensor owner, FRU access address, MC locator. */
export const BMC_SLAVE_ADDRESS = 0x20;

/** A record before the repository gives it an ID. */
export interface SdrBody {
  type: number;
  body: Buffer;
}

/** Device/sensor ID string: type/length byte C0h | n (8-bit ASCII + Latin-1), then up to 16 bytes. */
export function encodeIdString(name: string): Buffer {
  const bytes = Buffer.from(name, 'latin1');
  if (bytes.length > 16) throw new ConfigError(`SDR ID strings hold at most 16 characters, "${name}" has ${bytes.length}`);
  if (!/^[\x20-\x7e\xa0-\xff]*$/.test(name)) throw new ConfigError(`SDR ID string "${name}" has characters outside printable Latin-1`);
  return Buffer.concat([Buffer.from([0xc0 | bytes.length]), bytes]);
}

function byte(name: string, v: number, max = 0xff): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new ConfigError(`SDR field ${name} must be 0..${max}, got ${v}`);
  return v;
}

function u16le(v: number): number[] {
  return [v & 0xff, (v >> 8) & 0xff];
}

/** Bytes 6-23 shared by full and compact sensor records. */
export interface SensorRecordCommon {
  /** Byte 6: owner slave address (8-bit form, [0] 0 = IPMB address). */
  ownerId: number;
  /** Byte 7 [1:0]. */
  ownerLun: number;
  /** Byte 7 [7:4]. */
  channel: number;
  /** Byte 8. */
  sensorNumber: number;
  /** Bytes 9-10 (instance [6:0], [7] 1 = logical container). */
  entityId: number;
  entityInstance: number;
  /** Byte 11: sensor initialization. */
  initialization: number;
  /** Byte 12: sensor capabilities. */
  capabilities: number;
  /** Byte 13. */
  sensorType: number;
  /** Byte 14. */
  eventReadingType: number;
  /** Bytes 15-16: assertion event mask (threshold sensors: + lower threshold reading mask in [14:12]). */
  assertionMask: number;
  /** Bytes 17-18: deassertion event mask (threshold sensors: + upper threshold reading mask in [14:12]). */
  deassertionMask: number;
  /** Bytes 19-20: discrete reading mask, or readable (LS byte) and settable (MS byte) threshold masks. */
  readingMask: number;
  /** Byte 21: sensor units 1 (analog data format [7:6], rate [5:3], modifier [2:1], percentage [0]). */
  units1: number;
  /** Byte 22: base unit type code (table 43-15). */
  baseUnit: number;
  /** Byte 23: modifier unit type code. */
  modifierUnit: number;
  /** ID string (≤ 16 characters). */
  name: string;
}

function commonBytes(c: SensorRecordCommon): number[] {
  return [
    byte('owner ID', c.ownerId),
    (byte('channel', c.channel, 0xf) << 4) | byte('owner LUN', c.ownerLun, 3),
    byte('sensor number', c.sensorNumber, 0xfe), // FFh is reserved
    byte('entity ID', c.entityId),
    byte('entity instance', c.entityInstance),
    byte('initialization', c.initialization),
    byte('capabilities', c.capabilities),
    byte('sensor type', c.sensorType),
    byte('event/reading type', c.eventReadingType),
    ...u16le(byte('assertion mask', c.assertionMask, 0xffff)),
    ...u16le(byte('deassertion mask', c.deassertionMask, 0xffff)),
    ...u16le(byte('reading mask', c.readingMask, 0xffff)),
    byte('units 1', c.units1),
    byte('base unit', c.baseUnit),
    byte('modifier unit', c.modifierUnit),
  ];
}

/** Raw threshold values, in the order the record stores them (bytes 37-42). */
export interface RawThresholdBytes {
  unr: number;
  ucr: number;
  unc: number;
  lnr: number;
  lcr: number;
  lnc: number;
}

export interface FullSensorRecord extends SensorRecordCommon {
  /** Byte 24: 00h linear. */
  linearization: number;
  /** Bytes 25-30: M, tolerance, B, accuracy, exponents, direction (sensors/linear.ts encodeFactors). */
  factors: Buffer;
  /** Byte 31: [0] nominal reading given, [1] normal max given, [2] normal min given. */
  analogFlags: number;
  /** Bytes 32-36, raw. */
  nominalReading: number;
  normalMax: number;
  normalMin: number;
  sensorMax: number;
  sensorMin: number;
  /** Bytes 37-42, raw (0 where a threshold does not exist). */
  thresholds: RawThresholdBytes;
  /** Bytes 43-44, raw counts. */
  positiveHysteresis: number;
  negativeHysteresis: number;
  /** Byte 47. */
  oem: number;
}

/** Full Sensor Record (type 01h, table 43-1): 43 bytes + the ID string. */
export function encodeFullSensorRecord(r: FullSensorRecord): SdrBody {
  if (r.factors.length !== 6) throw new ConfigError(`full sensor record factors are 6 bytes, got ${r.factors.length}`);
  const t = r.thresholds;
  const body = Buffer.concat([
    Buffer.from(commonBytes(r)),
    Buffer.from([byte('linearization', r.linearization, 0x7f)]),
    r.factors,
    Buffer.from([
      byte('analog flags', r.analogFlags, 7),
      byte('nominal reading', r.nominalReading),
      byte('normal max', r.normalMax),
      byte('normal min', r.normalMin),
      byte('sensor max', r.sensorMax),
      byte('sensor min', r.sensorMin),
      byte('UNR', t.unr),
      byte('UCR', t.ucr),
      byte('UNC', t.unc),
      byte('LNR', t.lnr),
      byte('LCR', t.lcr),
      byte('LNC', t.lnc),
      byte('positive hysteresis', r.positiveHysteresis),
      byte('negative hysteresis', r.negativeHysteresis),
      0x00,
      0x00,
      byte('OEM', r.oem),
    ]),
    encodeIdString(r.name),
  ]);
  return { type: SDR_TYPE.FULL_SENSOR, body };
}

export interface CompactSensorRecord extends SensorRecordCommon {
  /** Bytes 24-25: record sharing (count [3:0] of byte 24; 1 = not shared). */
  shareCount: number;
  /** Bytes 26-27. */
  positiveHysteresis: number;
  negativeHysteresis: number;
  /** Byte 31. */
  oem: number;
}

/** Compact Sensor Record (type 02h, table 43-2): 27 bytes + the ID string. */
export function encodeCompactSensorRecord(r: CompactSensorRecord): SdrBody {
  const body = Buffer.concat([
    Buffer.from(commonBytes(r)),
    Buffer.from([
      byte('share count', r.shareCount, 0xf),
      0x00,
      byte('positive hysteresis', r.positiveHysteresis),
      byte('negative hysteresis', r.negativeHysteresis),
      0x00,
      0x00,
      0x00,
      byte('OEM', r.oem),
    ]),
    encodeIdString(r.name),
  ]);
  return { type: SDR_TYPE.COMPACT_SENSOR, body };
}

export interface McDeviceLocator {
  /** Byte 6: slave address (8-bit form). */
  slaveAddress: number;
  /** Byte 7 [3:0]. */
  channel: number;
  /** Byte 8: power state notification [7:5] | global initialization [3:0]. */
  powerStateGlobalInit: number;
  /** Byte 9: device capabilities, the same bits as Get Device ID's "additional device support". */
  capabilities: number;
  /** Bytes 13-14. */
  entityId: number;
  entityInstance: number;
  oem: number;
  name: string;
}

/** Management Controller Device Locator (type 12h, table 43-7): 11 bytes + the ID string. */
export function encodeMcDeviceLocator(r: McDeviceLocator): SdrBody {
  const body = Buffer.concat([
    Buffer.from([
      byte('slave address', r.slaveAddress) & 0xfe,
      byte('channel', r.channel, 0xf),
      byte('power state / global init', r.powerStateGlobalInit),
      byte('capabilities', r.capabilities),
      0x00,
      0x00,
      0x00,
      byte('entity ID', r.entityId),
      byte('entity instance', r.entityInstance),
      byte('OEM', r.oem),
    ]),
    encodeIdString(r.name),
  ]);
  return { type: SDR_TYPE.MC_DEVICE_LOCATOR, body };
}

export interface FruDeviceLocator {
  /** Byte 6: access address, the controller that holds the FRU (8-bit form). */
  accessAddress: number;
  /** Byte 7: FRU device ID (logical FRU devices). */
  fruDeviceId: number;
  /** Byte 8: [7] logical, [4:3] access LUN, [2:0] private bus. */
  logical: boolean;
  accessLun: number;
  privateBus: number;
  /** Byte 9 [7:4]. */
  channel: number;
  /** Bytes 11-12: 10h/00h = IPMI FRU inventory behind a management controller. */
  deviceType: number;
  deviceTypeModifier: number;
  /** Bytes 13-14. */
  entityId: number;
  entityInstance: number;
  oem: number;
  name: string;
}

/** FRU Device Locator (type 11h, table 43-8): 11 bytes + the ID string. */
export function encodeFruDeviceLocator(r: FruDeviceLocator): SdrBody {
  const body = Buffer.concat([
    Buffer.from([
      byte('access address', r.accessAddress) & 0xfe,
      byte('FRU device ID', r.fruDeviceId),
      (r.logical ? 0x80 : 0) | (byte('access LUN', r.accessLun, 3) << 3) | byte('private bus', r.privateBus, 7),
      byte('channel', r.channel, 0xf) << 4,
      0x00,
      byte('device type', r.deviceType),
      byte('device type modifier', r.deviceTypeModifier),
      byte('entity ID', r.entityId),
      byte('entity instance', r.entityInstance),
      byte('OEM', r.oem),
    ]),
    encodeIdString(r.name),
  ]);
  return { type: SDR_TYPE.FRU_DEVICE_LOCATOR, body };
}

/** Header + body: what Get SDR returns slices of. */
export function frameSdr(recordId: number, rec: SdrBody): Buffer {
  if (rec.body.length > 0xff) throw new ConfigError(`SDR bodies are at most 255 bytes, got ${rec.body.length}`);
  return Buffer.concat([Buffer.from([...u16le(recordId), SDR_VERSION, rec.type, rec.body.length]), rec.body]);
}
