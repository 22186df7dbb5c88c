import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { createDefaultSensors } from '../../../../firmware/ipmi/sensors/default-sensors.js';
import { SensorSet } from '../../../../firmware/ipmi/sensors/sensor-set.js';
import { ThresholdSensor, type ThresholdSensorOptions } from '../../../../firmware/ipmi/sensors/threshold-sensor.js';
import { SystemEventLog } from '../../../../firmware/ipmi/storage/sel.js';

const T0 = Date.UTC(2024, 5, 1);

function rig(opts: Partial<ThresholdSensorOptions> = {}, value?: (t: number) => number) {
  const clock = new ManualClock();
  const sel = new SystemEventLog({ wallClock: () => T0 + clock.now() });
  let v = 30;
  const sensor = new ThresholdSensor({
    clock,
    events: sel,
    number: 0x10,
    name: 'CPU Temp',
    sensorType: 0x01,
    entityId: 0x03,
    entityInstance: 1,
    baseUnit: 0x01,
    factors: { m: 1, b: 0, bExp: 0, rExp: 0, format: 'unsigned' },
    source: value ?? (() => v),
    thresholds: { lnc: 10, lcr: 5, lnr: 2, unc: 70, ucr: 80, unr: 90 },
    hysteresis: { positive: 2, negative: 2 },
    ...opts,
  });
  /** [dir|type, data1, data2, data3] of every logged event, oldest first. */
  const events = () => sel.records().map((r) => [r[12]!, r[13]!, r[14]!, r[15]!]);
  return { clock, sel, sensor, events, set: (x: number) => (v = x) };
}

t.test('crossing upward logs assertions with reading and threshold; back down logs deassertions', async (t) => {
  const { sensor, events, set } = rig();
  t.same(sensor.sample(), { raw: 30, unavailable: false, state: 0 });
  set(72);
  t.equal(sensor.sample().state, 0x08);
  t.same(events(), [[0x01, 0x57, 72, 70]], 'UNC going high (offset 7) asserted, reading 72, threshold 70');
  set(91);
  t.equal(sensor.sample().state, 0x38);
  t.same(events().slice(1), [
    [0x01, 0x59, 91, 80],
    [0x01, 0x5b, 91, 90],
  ]);
  set(89);
  t.equal(sensor.sample().state, 0x38, 'hysteresis: still ≥ 90-2');
  set(87);
  t.equal(sensor.sample().state, 0x18);
  t.same(events().at(-1), [0x81, 0x5b, 87, 90], 'UNR going high deasserted');
  set(30);
  sensor.sample();
  t.same(events().slice(-2), [
    [0x81, 0x59, 30, 80],
    [0x81, 0x57, 30, 70],
  ], 'deassertions from the most severe inwards');
  set(1);
  sensor.sample();
  t.same(events().slice(-3), [
    [0x01, 0x50, 1, 10],
    [0x01, 0x52, 1, 5],
    [0x01, 0x54, 1, 2],
  ], 'lower thresholds assert going low (offsets 0, 2, 4)');
  t.same(sensor.eventStatus(), { assertions: 0x0015, deassertions: 0 }, 'status: the lower thresholds asserted now');
});

t.test('events carry the BMC generator ID, EvMRev 04h, sensor type and number, SEL time', async (t) => {
  const { sensor, sel, clock, set } = rig();
  clock.advance(7000);
  set(75);
  sensor.sample();
  const r = sel.records()[0]!;
  t.same([...r], [0x01, 0x00, 0x02, ...u32(T0 / 1000 + 7), 0x20, 0x00, 0x04, 0x01, 0x10, 0x01, 0x57, 75, 70]);
});

t.test('readings wander on the clock; scanning logs crossings without anyone reading', async (t) => {
  // A ramp: 0 °C at t=0, +1 °C per second.
  const { sensor, sel, clock } = rig({ thresholds: { unc: 5 } }, (ms) => ms / 1000);
  const set = new SensorSet([sensor]);
  set.startScanning(clock, 1000);
  clock.advance(4000);
  t.equal(sel.size, 0);
  clock.advance(1000);
  t.equal(sel.size, 1, 'logged at the scan that saw 5 °C');
  t.equal(sel.records()[0]!.readUInt32LE(3), T0 / 1000 + 5);
  set.stopScanning();
  clock.advance(10_000);
  t.equal(clock.pending, 0, 'no timer left');
  t.equal(sensor.value(), 15);
});

t.test('override pins the value; scanning disabled neither compares nor logs', async (t) => {
  const { sensor, sel } = rig();
  sensor.override(95);
  t.equal(sensor.value(), 95);
  sensor.setEventEnables({ scanning: false });
  t.equal(sensor.sample().state, 0);
  t.equal(sel.size, 0);
  sensor.setEventEnables({ scanning: true });
  t.equal(sensor.sample().state, 0x38);
  t.equal(sel.size, 3);
  sensor.override(undefined);
  t.equal(sensor.value(), 30);
});

t.test('event enables gate logging per offset and globally; states still change', async (t) => {
  const { sensor, events, set } = rig();
  sensor.setEventEnables({ assertions: 0x0200, deassertions: 0 }); // only UCR going high (offset 9) asserts
  set(85);
  sensor.sample();
  t.same(events(), [[0x01, 0x59, 85, 80]]);
  sensor.setEventEnables({ events: false, assertions: 0xffff, deassertions: 0xffff });
  t.same(sensor.eventEnables(), { events: false, scanning: true, assertions: 0x0a95, deassertions: 0x0a95 }, 'unsupported offsets stay off');
  set(95);
  t.equal(sensor.sample().state, 0x38);
  t.equal(events().length, 1);
});

t.test('thresholds: raw values, settable mask, setting re-compares at once', async (t) => {
  const { sensor, events, set } = rig({ settable: ['unc', 'ucr'] });
  t.same(sensor.thresholds(), { lnc: 10, lcr: 5, lnr: 2, unc: 70, ucr: 80, unr: 90 });
  t.equal(sensor.readable, 0x3f);
  t.equal(sensor.settable, 0x18);
  set(60);
  t.equal(sensor.setThresholds(0x08, { unc: 55 }), 'ok');
  t.same(events(), [[0x01, 0x57, 60, 55]], 'the new UNC is crossed right away');
  t.equal(sensor.setThresholds(0x20, { unr: 10 }), 'not-settable');
  t.equal(sensor.setThresholds(0x40, {}), 'not-settable');
  t.same(sensor.thresholds().unr, 90);
  t.throws(() => rig({ thresholds: { unc: 1 }, settable: ['ucr'] }), { code: 'ERR_BAD_CONFIG' });
});

t.test('full SDR: ipmitool-relevant bytes of the default temperature sensor', async (t) => {
  const clock = new ManualClock();
  const { inletTemp, fan, watchdog } = createDefaultSensors({ clock });
  const body = inletTemp.sdr();
  t.equal(body.type, 0x01);
  t.same([...body.body.subarray(0, 18)], [
    0x20, 0x00, 0x01, 0x37, 0x01, // owner 20h, LUN 0, sensor 01h, air inlet #1
    0x7f, 0x68, 0x01, 0x01, // init, capabilities, temperature, threshold
    0x80, 0x0a, // assertion: UNC/UCR/UNR going high (offsets 7, 9, B); lower reading mask empty
    0x80, 0x7a, // deassertion events + upper readable UNC/UCR/UNR (bits 12-14)
    0x38, 0x38, // readable, settable: UNC UCR UNR
    0x00, 0x01, 0x00, // unsigned, degrees C
  ]);
  t.same([...body.body.subarray(18, 25)], [0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00], 'linear, M=1, B=0, direction input');
  t.same([...body.body.subarray(31, 39)], [50, 45, 40, 0, 0, 0, 1, 1], 'UNR UCR UNC LNR LCR LNC, hysteresis');
  t.same(body.body.subarray(42).toString('latin1'), '\xcaInlet Temp');
  t.equal(body.body.length, 43 + 10);
  const fanBody = fan.sdr().body;
  t.same([...fanBody.subarray(9, 14)], [0x15, 0x70, 0x15, 0x00, 0x07], 'fan: LNC/LCR/LNR going low + lower readable mask; no upper');
  t.equal(fanBody[16], 0x12, 'RPM');
  t.equal(fanBody[19], 50, 'M=50');
  t.equal(watchdog.sdr().type, 0x02);
});

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
