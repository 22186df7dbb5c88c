/**
 * Sensor/Event commands (IPMI v2.0 §29, §35; netfn 04h) for the BMC's own
 * sensors (LUN 0) and the event receiver:
 *
 *   02h Platform Event (Event Message)   27h Get Sensor Thresholds
 *   23h Get Sensor Reading Factors       28h Set Sensor Event Enable
 *   24h Set Sensor Hysteresis            29h Get Sensor Event Enable
 *   25h Get Sensor Hysteresis            2Bh Get Sensor Event Status
 *   26h Set Sensor Thresholds            2Dh Get Sensor Reading
 *                                        2Fh Get Sensor Type
 */
import { CC } from '../completion-codes.js';
import { NETFN, PRIVILEGE, fail, ok, type IpmiCommand, type IpmiHandler, type IpmiRequest, type Privilege } from '../message.js';
import { encodeFactors } from '../sensors/linear.js';
import type { Sensor } from '../sensors/sensor.js';
import type { SensorSet } from '../sensors/sensor-set.js';
import { ThresholdSensor } from '../sensors/threshold-sensor.js';
import { THRESHOLD_NAMES, type ThresholdName } from '../sensors/thresholds.js';
import { EVM_REV, EVM_REV_IPMI_1_0, type SystemEvent } from '../storage/sel-record.js';

export const SENSOR_CMD = {
  PLATFORM_EVENT: 0x02,
  GET_SENSOR_READING_FACTORS: 0x23,
  SET_SENSOR_HYSTERESIS: 0x24,
  GET_SENSOR_HYSTERESIS: 0x25,
  SET_SENSOR_THRESHOLDS: 0x26,
  GET_SENSOR_THRESHOLDS: 0x27,
  SET_SENSOR_EVENT_ENABLE: 0x28,
  GET_SENSOR_EVENT_ENABLE: 0x29,
  GET_SENSOR_EVENT_STATUS: 0x2b,
  GET_SENSOR_READING: 0x2d,
  GET_SENSOR_TYPE: 0x2f,
} as const;

/** Get Sensor Reading byte 3 / event enable byte 1 flags. */
const FLAG_EVENTS_ENABLED = 0x80;
const FLAG_SCANNING_ENABLED = 0x40;
const FLAG_READING_UNAVAILABLE = 0x20;
/** Bits the spec says read back as 1b: threshold status [7:6], discrete states 8-14 byte [7]. */
const THRESHOLD_STATUS_RESERVED = 0xc0;
const DISCRETE_HIGH_RESERVED = 0x80;

/** Order of threshold bytes in Set/Get Sensor Thresholds: LNC, LCR, LNR, UNC, UCR, UNR. */
const THRESHOLD_ORDER: readonly ThresholdName[] = THRESHOLD_NAMES;

export interface SensorCommandDeps {
  sensors: SensorSet;
  /** Where Platform Event messages go (the SEL). */
  events: { logEvent(ev: SystemEvent): unknown };
  /**
   * Generator ID for a Platform Event from a bus whose request does not
   * carry one (IPMB puts the requester's address there, LAN a remote
   * console software ID). Default: 0081h (software ID 40h, channel 0).
   */
  generatorIdFor?: (req: IpmiRequest) => number;
}

const DEFAULT_REMOTE_GENERATOR_ID = 0x0081;

export function sensorCommands(deps: SensorCommandDeps): IpmiCommand[] {
  const { sensors } = deps;

  /** The sensor a request's first byte names, or the completion code to answer instead. */
  const lookup = (req: IpmiRequest, length: number | [number, number]): Sensor | number => {
    const [lo, hi] = typeof length === 'number' ? [length, length] : length;
    if (req.data.length < lo || req.data.length > hi) return CC.DATA_LENGTH_INVALID;
    // Our sensors all live on LUN 0.
    const s = req.lun === 0 ? sensors.get(req.data[0]!) : undefined;
    return s ?? CC.NOT_PRESENT;
  };
  const thresholdSensor = (req: IpmiRequest, length: number | [number, number]): ThresholdSensor | number => {
    const s = lookup(req, length);
    if (typeof s === 'number') return s;
    return s instanceof ThresholdSensor ? s : CC.ILLEGAL_FOR_SENSOR;
  };

  const platformEvent: IpmiHandler = (req) => {
    // The system interface sends the generator ID first (8 bytes); other buses imply it (7 bytes).
    const fromSystem = req.bus === 'system';
    if (req.data.length !== (fromSystem ? 8 : 7)) return fail(CC.DATA_LENGTH_INVALID);
    const d = fromSystem ? req.data.subarray(1) : req.data;
    const generatorId = fromSystem ? req.data[0]! : (deps.generatorIdFor ?? (() => DEFAULT_REMOTE_GENERATOR_ID))(req);
    const evmRev = d[0]!;
    if (evmRev !== EVM_REV && evmRev !== EVM_REV_IPMI_1_0) return fail(CC.INVALID_DATA_FIELD);
    // A full SEL drops the event and sets the overflow flag; the event itself was received.
    deps.events.logEvent({ generatorId, evmRev, sensorType: d[1]!, sensorNumber: d[2]!, eventDirType: d[3]!, eventData: [d[4]!, d[5]!, d[6]!] });
    return ok();
  };

  const getReading: IpmiHandler = (req) => {
    const s = lookup(req, 1);
    if (typeof s === 'number') return fail(s);
    const r = s.sample();
    const e = s.eventEnables();
    const flags = (e.events ? FLAG_EVENTS_ENABLED : 0) | (e.scanning ? FLAG_SCANNING_ENABLED : 0) | (r.unavailable ? FLAG_READING_UNAVAILABLE : 0);
    if (s instanceof ThresholdSensor) return ok([r.raw, flags, THRESHOLD_STATUS_RESERVED | (r.state & 0x3f)]);
    return ok([r.raw, flags, r.state & 0xff, DISCRETE_HIGH_RESERVED | ((r.state >> 8) & 0x7f)]);
  };

  const getFactors: IpmiHandler = (req) => {
    const s = thresholdSensor(req, 2);
    if (typeof s === 'number') return fail(s);
    // Linear: one set of factors for every reading, so the "next reading" with other factors is none (the request's).
    return ok(Buffer.concat([Buffer.from([req.data[1]!]), encodeFactors(s.factors)]));
  };

  const getThresholds: IpmiHandler = (req) => {
    const s = thresholdSensor(req, 1);
    if (typeof s === 'number') return fail(s);
    const t = s.thresholds();
    return ok([s.readable, ...THRESHOLD_ORDER.map((n) => t[n] ?? 0)]);
  };

  const setThresholds: IpmiHandler = (req) => {
    const s = thresholdSensor(req, 8);
    if (typeof s === 'number') return fail(s);
    const raw: Partial<Record<ThresholdName, number>> = {};
    THRESHOLD_ORDER.forEach((n, i) => (raw[n] = req.data[2 + i]!));
    return s.setThresholds(req.data[1]!, raw) === 'ok' ? ok() : fail(CC.INVALID_DATA_FIELD);
  };

  const getHysteresis: IpmiHandler = (req) => {
    const s = thresholdSensor(req, 2);
    if (typeof s === 'number') return fail(s);
    const h = s.hysteresis();
    return ok([h.positive, h.negative]);
  };

  const setHysteresis: IpmiHandler = (req) => {
    const s = thresholdSensor(req, 4);
    if (typeof s === 'number') return fail(s);
    s.setHysteresis({ positive: req.data[2]!, negative: req.data[3]! });
    return ok();
  };

  const getEventEnable: IpmiHandler = (req) => {
    const s = lookup(req, 1);
    if (typeof s === 'number') return fail(s);
    const e = s.eventEnables();
    return ok([(e.events ? FLAG_EVENTS_ENABLED : 0) | (e.scanning ? FLAG_SCANNING_ENABLED : 0), ...u16(e.assertions), ...u16(e.deassertions)]);
  };

  const setEventEnable: IpmiHandler = (req) => {
    const s = lookup(req, [2, 6]);
    if (typeof s === 'number') return fail(s);
    const b = req.data[1]!;
    const how = (b >> 4) & 0x3; // 00b leave the per-offset enables, 01b enable the selected, 10b disable them
    if (how === 0x3) return fail(CC.INVALID_DATA_FIELD);
    const mask = Buffer.concat([req.data.subarray(2), Buffer.alloc(4)]);
    const assertSel = mask.readUInt16LE(0) & 0x7fff;
    const deassertSel = mask.readUInt16LE(2) & 0x7fff;
    const e = s.eventEnables();
    const apply = (cur: number, sel: number): number => (how === 1 ? cur | sel : how === 2 ? cur & ~sel : cur);
    s.setEventEnables({
      events: (b & FLAG_EVENTS_ENABLED) !== 0,
      scanning: (b & FLAG_SCANNING_ENABLED) !== 0,
      assertions: apply(e.assertions, assertSel),
      deassertions: apply(e.deassertions, deassertSel),
    });
    return ok();
  };

  const getEventStatus: IpmiHandler = (req) => {
    const s = lookup(req, 1);
    if (typeof s === 'number') return fail(s);
    const e = s.eventEnables();
    const st = s.eventStatus();
    return ok([(e.events ? FLAG_EVENTS_ENABLED : 0) | (e.scanning ? FLAG_SCANNING_ENABLED : 0), ...u16(st.assertions), ...u16(st.deassertions)]);
  };

  const getType: IpmiHandler = (req) => {
    const s = lookup(req, 1);
    if (typeof s === 'number') return fail(s);
    return ok([s.sensorType, s.eventReadingType]);
  };

  const cmd = (code: number, name: string, privilege: Privilege, handler: IpmiHandler): IpmiCommand => ({
    netfn: NETFN.SENSOR_EVENT,
    cmd: code,
    name,
    owner: 'ipmi/sensor-event',
    privilege,
    handler,
  });

  return [
    cmd(SENSOR_CMD.PLATFORM_EVENT, 'Platform Event', PRIVILEGE.OPERATOR, platformEvent),
    cmd(SENSOR_CMD.GET_SENSOR_READING_FACTORS, 'Get Sensor Reading Factors', PRIVILEGE.USER, getFactors),
    cmd(SENSOR_CMD.SET_SENSOR_HYSTERESIS, 'Set Sensor Hysteresis', PRIVILEGE.OPERATOR, setHysteresis),
    cmd(SENSOR_CMD.GET_SENSOR_HYSTERESIS, 'Get Sensor Hysteresis', PRIVILEGE.USER, getHysteresis),
    cmd(SENSOR_CMD.SET_SENSOR_THRESHOLDS, 'Set Sensor Thresholds', PRIVILEGE.OPERATOR, setThresholds),
    cmd(SENSOR_CMD.GET_SENSOR_THRESHOLDS, 'Get Sensor Thresholds', PRIVILEGE.USER, getThresholds),
    cmd(SENSOR_CMD.SET_SENSOR_EVENT_ENABLE, 'Set Sensor Event Enable', PRIVILEGE.OPERATOR, setEventEnable),
    cmd(SENSOR_CMD.GET_SENSOR_EVENT_ENABLE, 'Get Sensor Event Enable', PRIVILEGE.USER, getEventEnable),
    cmd(SENSOR_CMD.GET_SENSOR_EVENT_STATUS, 'Get Sensor Event Status', PRIVILEGE.USER, getEventStatus),
    cmd(SENSOR_CMD.GET_SENSOR_READING, 'Get Sensor Reading', PRIVILEGE.USER, getReading),
    cmd(SENSOR_CMD.GET_SENSOR_TYPE, 'Get Sensor Type', PRIVILEGE.USER, getType),
  ];
}

function u16(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff];
}
