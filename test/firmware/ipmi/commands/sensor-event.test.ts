import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { SENSOR_CMD, sensorCommands } from '../../../../firmware/ipmi/commands/sensor-event.js';
import { NETFN } from '../../../../firmware/ipmi/message.js';
import { createDefaultSensors } from '../../../../firmware/ipmi/sensors/default-sensors.js';
import { SystemEventLog } from '../../../../firmware/ipmi/storage/sel.js';
import { bytes, call, u32, type CallOptions } from './storage-helpers.js';

const T0S = 1_717_200_000;

function setup(capacity = 64) {
  const clock = new ManualClock();
  const sel = new SystemEventLog({ wallClock: () => T0S * 1000 + clock.now(), capacity });
  const sensors = createDefaultSensors({ clock, events: sel });
  const cmds = sensorCommands({ sensors: sensors.set, events: sel, generatorIdFor: () => 0x0181 });
  const run = (cmd: number, data: number[] = [], opts?: CallOptions) => call(cmds, NETFN.SENSOR_EVENT, cmd, data, opts).then(bytes);
  sensors.inletTemp.override(25);
  sensors.fan.override(4800);
  return { clock, sel, sensors, run };
}

t.test('registers eleven commands on netfn 04h', async (t) => {
  const { sensors, sel } = setup();
  const cmds = sensorCommands({ sensors: sensors.set, events: sel });
  t.same(cmds.map((c) => c.cmd), [0x02, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2b, 0x2d, 0x2f]);
  t.ok(cmds.every((c) => c.netfn === 0x04 && c.owner === 'ipmi/sensor-event'));
});

t.test('Platform Event from the system interface (generator ID in the request) lands in the SEL', async (t) => {
  const { run, sel } = setup();
  t.same(await run(SENSOR_CMD.PLATFORM_EVENT, [0x41, 0x04, 0x01, 0x30, 0x01, 0x57, 0x40, 0x3c]), [0x00]);
  t.same([...sel.records()[0]!], [0x01, 0x00, 0x02, ...u32(T0S), 0x41, 0x00, 0x04, 0x01, 0x30, 0x01, 0x57, 0x40, 0x3c]);
  t.same(await run(SENSOR_CMD.PLATFORM_EVENT, [0x33, 0x03, 0x05, 0x01, 0x6f, 0x00, 0xff, 0xff]), [0x00], 'IPMI v1.0 format accepted');
  t.equal(sel.records()[1]![9], 0x04, '… and logged as EvMRev 04h');
  t.same(await run(SENSOR_CMD.PLATFORM_EVENT, [0x41, 0x05, 0x01, 0x30, 0x01, 0x57, 0x40, 0x3c]), [0xcc], 'unknown EvMRev');
  t.same(await run(SENSOR_CMD.PLATFORM_EVENT, [0x41, 0x04, 0x01, 0x30, 0x01, 0x57, 0x40]), [0xc7], 'system interface needs 8 bytes');
  t.same(await run(SENSOR_CMD.PLATFORM_EVENT, [0x04, 0x01, 0x30, 0x01, 0x57, 0x40, 0x3c], { bus: 'lan' }), [0x00], 'other buses: 7 bytes');
  t.same([...sel.records()[2]!.subarray(7, 9)], [0x81, 0x01], 'generator ID supplied for the bus');
  t.same(await run(SENSOR_CMD.PLATFORM_EVENT, [0x41, 0x04, 0x01, 0x30, 0x01, 0x57, 0x40, 0x3c], { bus: 'lan' }), [0xc7]);
});

t.test('Platform Event into a full SEL: accepted, dropped, overflow flagged', async (t) => {
  const { run, sel } = setup(1);
  await run(SENSOR_CMD.PLATFORM_EVENT, [0x41, 0x04, 0x01, 0x30, 0x01, 0x57, 0x40, 0x3c]);
  t.same(await run(SENSOR_CMD.PLATFORM_EVENT, [0x41, 0x04, 0x01, 0x30, 0x01, 0x57, 0x40, 0x3c]), [0x00]);
  t.equal(sel.size, 1);
  t.equal(sel.info().overflow, true);
});

t.test('Get Sensor Reading: threshold and discrete sensors, exact bytes', async (t) => {
  const { run, sensors } = setup();
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0x01]), [0x00, 25, 0xc0, 0xc0], 'raw 25 (°C), events+scanning on, no threshold crossed');
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0x02]), [0x00, 96, 0xc0, 0xc0], 'raw 96 × 50 = 4800 RPM');
  sensors.inletTemp.override(46);
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0x01]), [0x00, 46, 0xc0, 0xc0 | 0x18], 'at or above UNC and UCR');
  sensors.fan.override(450);
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0x02]), [0x00, 9, 0xc0, 0xc0 | 0x03], 'at or below LNC and LCR');
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0x03]), [0x00, 0x00, 0xc0, 0x00, 0x80], 'watchdog: no state yet');
  sensors.watchdog.timerExpired({ action: 'power-down', timerUse: 4, interrupt: 'none' });
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0x03]), [0x00, 0x00, 0xc0, 0x04, 0x80]);
  sensors.watchdog.preTimeoutInterrupt({ timerUse: 4, interrupt: 'nmi' });
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0x03]), [0x00, 0x00, 0xc0, 0x00, 0x81], 'state 8 in byte 4');
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0x09]), [0xcb], 'no such sensor');
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0xff]), [0xcb]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, []), [0xc7]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0x01, 0x00]), [0xc7]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0x01], { lun: 1 }), [0xcb], 'our sensors are on LUN 0');
});

t.test('reading the sensor is what crosses: events logged on Get Sensor Reading too', async (t) => {
  const { run, sensors, sel } = setup();
  sensors.inletTemp.override(41);
  await run(SENSOR_CMD.GET_SENSOR_READING, [0x01]);
  t.same([...sel.records()[0]!.subarray(10)], [0x01, 0x01, 0x01, 0x57, 41, 40]);
});

t.test('Get/Set Sensor Thresholds', async (t) => {
  const { run, sel } = setup();
  t.same(await run(SENSOR_CMD.GET_SENSOR_THRESHOLDS, [0x01]), [0x00, 0x38, 0, 0, 0, 40, 45, 50]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_THRESHOLDS, [0x02]), [0x00, 0x07, 20, 10, 6, 0, 0, 0], 'fan: LNC 1000, LCR 500, LNR 300 RPM');
  t.same(await run(SENSOR_CMD.SET_SENSOR_THRESHOLDS, [0x01, 0x08, 0, 0, 0, 24, 0, 0]), [0x00], 'UNC → 24 °C');
  t.same(await run(SENSOR_CMD.GET_SENSOR_THRESHOLDS, [0x01]), [0x00, 0x38, 0, 0, 0, 24, 45, 50]);
  t.same([...sel.records()[0]!.subarray(12)], [0x01, 0x57, 25, 24], 'crossing the new threshold is logged at once');
  t.same(await run(SENSOR_CMD.SET_SENSOR_THRESHOLDS, [0x01, 0x01, 5, 0, 0, 0, 0, 0]), [0xcc], 'no LNC on this sensor');
  t.same(await run(SENSOR_CMD.SET_SENSOR_THRESHOLDS, [0x01, 0x48, 0, 0, 0, 24, 0, 0]), [0xcc], 'reserved mask bit');
  t.same(await run(SENSOR_CMD.SET_SENSOR_THRESHOLDS, [0x01, 0x08, 0, 0, 0, 24, 0]), [0xc7]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_THRESHOLDS, [0x03]), [0xcd], 'the watchdog has no thresholds');
  t.same(await run(SENSOR_CMD.SET_SENSOR_THRESHOLDS, [0x03, 0x08, 0, 0, 0, 24, 0, 0]), [0xcd]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_THRESHOLDS, [0x07]), [0xcb]);
});

t.test('Get Sensor Reading Factors and Get/Set Sensor Hysteresis', async (t) => {
  const { run } = setup();
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING_FACTORS, [0x02, 0x60]), [0x00, 0x60, 0x32, 0x00, 0x00, 0x00, 0x01, 0x00]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING_FACTORS, [0x03, 0x00]), [0xcd]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING_FACTORS, [0x02]), [0xc7]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_HYSTERESIS, [0x02, 0xff]), [0x00, 2, 2]);
  t.same(await run(SENSOR_CMD.SET_SENSOR_HYSTERESIS, [0x02, 0xff, 3, 4]), [0x00]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_HYSTERESIS, [0x02, 0xff]), [0x00, 3, 4]);
  t.same(await run(SENSOR_CMD.SET_SENSOR_HYSTERESIS, [0x02, 0xff, 3]), [0xc7]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_HYSTERESIS, [0x03, 0xff]), [0xcd]);
});

t.test('Get/Set Sensor Event Enable, Get Sensor Event Status, Get Sensor Type', async (t) => {
  const { run, sensors, sel } = setup();
  t.same(await run(SENSOR_CMD.GET_SENSOR_EVENT_ENABLE, [0x01]), [0x00, 0xc0, 0x80, 0x0a, 0x80, 0x0a]);
  t.same(await run(SENSOR_CMD.SET_SENSOR_EVENT_ENABLE, [0x01, 0xe0, 0x80, 0x00]), [0x00], 'disable UNC-going-high assertion only');
  t.same(await run(SENSOR_CMD.GET_SENSOR_EVENT_ENABLE, [0x01]), [0x00, 0xc0, 0x00, 0x0a, 0x80, 0x0a]);
  sensors.inletTemp.override(46);
  await run(SENSOR_CMD.GET_SENSOR_READING, [0x01]);
  t.same(sel.records().map((r) => r[13]), [0x59], 'only UCR logged');
  t.same(await run(SENSOR_CMD.GET_SENSOR_EVENT_STATUS, [0x01]), [0x00, 0xc0, 0x80, 0x02, 0x00, 0x00], 'both conditions present');
  t.same(await run(SENSOR_CMD.SET_SENSOR_EVENT_ENABLE, [0x01, 0xd0, 0x80, 0x00]), [0x00], 're-enable it');
  t.same(await run(SENSOR_CMD.SET_SENSOR_EVENT_ENABLE, [0x01, 0x40]), [0x00], 'all event messages off, scanning on');
  t.same(await run(SENSOR_CMD.GET_SENSOR_EVENT_ENABLE, [0x01]), [0x00, 0x40, 0x80, 0x0a, 0x80, 0x0a]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_READING, [0x01]), [0x00, 46, 0x40, 0xd8]);
  t.same(await run(SENSOR_CMD.SET_SENSOR_EVENT_ENABLE, [0x01, 0xf0]), [0xcc], 'action 11b is reserved');
  t.same(await run(SENSOR_CMD.SET_SENSOR_EVENT_ENABLE, [0x01]), [0xc7]);
  t.same(await run(SENSOR_CMD.SET_SENSOR_EVENT_ENABLE, [0x01, 0xc0, 0, 0, 0, 0, 0]), [0xc7]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_TYPE, [0x01]), [0x00, 0x01, 0x01]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_TYPE, [0x03]), [0x00, 0x23, 0x6f]);
  t.same(await run(SENSOR_CMD.GET_SENSOR_TYPE, [0x04]), [0xcb]);
});
