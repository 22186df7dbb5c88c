/**
 * The sensors an emulated BMC has out of the box: an inlet temperature with
 * upper thresholds, a fan tachometer with lower thresholds (both wandering
 * deterministically on the clock), and the Watchdog 2 sensor the watchdog
 * timer reports through. Their numbers and names are what ipmitool shows:
 *
 *   01h "Inlet Temp"  temperature (01h), °C,  M=1        UNC 40  UCR 45  UNR 50
 *   02h "Fan 1"       fan (04h),        RPM, M=50       LNR 300 LCR 500 LNC 1000
 *   03h "Watchdog"    watchdog 2 (23h), discrete
 */
import type { Clock } from '../../../lib/clock.js';
import type { SensorEventSink } from './sensor.js';
import { SensorSet } from './sensor-set.js';
import { ThresholdSensor } from './threshold-sensor.js';
import { Watchdog2Sensor } from './watchdog-sensor.js';
import { wanderValue } from './wander.js';

export const SENSOR_TYPE = { TEMPERATURE: 0x01, VOLTAGE: 0x02, CURRENT: 0x03, FAN: 0x04 } as const;
export const UNIT = { DEGREES_C: 0x01, VOLTS: 0x04, RPM: 0x12 } as const;
export const ENTITY = { SYSTEM_BOARD: 0x07, FAN_DEVICE: 0x1d, MANAGEMENT_CONTROLLER_FIRMWARE: 0x2e, AIR_INLET: 0x37 } as const;

export const DEFAULT_SENSOR_NUMBER = { INLET_TEMP: 0x01, FAN_1: 0x02, WATCHDOG: 0x03 } as const;

export interface DefaultSensors {
  set: SensorSet;
  inletTemp: ThresholdSensor;
  fan: ThresholdSensor;
  watchdog: Watchdog2Sensor;
}

export function createDefaultSensors(deps: { clock: Clock; events?: SensorEventSink }): DefaultSensors {
  const wiring = { events: deps.events };
  const inletTemp = new ThresholdSensor({
    ...wiring,
    clock: deps.clock,
    number: DEFAULT_SENSOR_NUMBER.INLET_TEMP,
    name: 'Inlet Temp',
    sensorType: SENSOR_TYPE.TEMPERATURE,
    entityId: ENTITY.AIR_INLET,
    entityInstance: 1,
    baseUnit: UNIT.DEGREES_C,
    factors: { m: 1, b: 0, bExp: 0, rExp: 0, format: 'unsigned', direction: 1 },
    // 24 °C ± 3 over 10 minutes, ±1 °C jitter every 5 s: far from the thresholds unless overridden.
    source: (t) => wanderValue({ nominal: 24, amplitude: 3, periodMs: 600_000, jitter: 1, jitterStepMs: 5000, seed: 1 }, t),
    thresholds: { unc: 40, ucr: 45, unr: 50 },
    hysteresis: { positive: 1, negative: 1 },
    nominal: 24,
    normalMax: 35,
  });
  const fan = new ThresholdSensor({
    ...wiring,
    clock: deps.clock,
    number: DEFAULT_SENSOR_NUMBER.FAN_1,
    name: 'Fan 1',
    sensorType: SENSOR_TYPE.FAN,
    entityId: ENTITY.FAN_DEVICE,
    entityInstance: 1,
    baseUnit: UNIT.RPM,
    // Raw steps of 50 RPM: 0..12750 RPM.
    factors: { m: 50, b: 0, bExp: 0, rExp: 0, format: 'unsigned', direction: 1 },
    source: (t) => wanderValue({ nominal: 4800, amplitude: 300, periodMs: 300_000, jitter: 100, jitterStepMs: 2000, seed: 2 }, t),
    thresholds: { lnr: 300, lcr: 500, lnc: 1000 },
    hysteresis: { positive: 2, negative: 2 },
    nominal: 4800,
    normalMin: 2000,
  });
  const watchdog = new Watchdog2Sensor({ number: DEFAULT_SENSOR_NUMBER.WATCHDOG, name: 'Watchdog', entityId: ENTITY.SYSTEM_BOARD, entityInstance: 1 }, wiring);
  return { set: new SensorSet([inletTemp, fan, watchdog]), inletTemp, fan, watchdog };
}
