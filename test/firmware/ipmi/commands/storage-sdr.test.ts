import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { SENSOR_CMD, sensorCommands } from '../../../../firmware/ipmi/commands/sensor-event.js';
import { SDR_CMD, sdrCommands } from '../../../../firmware/ipmi/commands/storage-sdr.js';
import { NETFN, type IpmiCommand } from '../../../../firmware/ipmi/message.js';
import { createDefaultSensors } from '../../../../firmware/ipmi/sensors/default-sensors.js';
import { bmcLocatorRecords } from '../../../../firmware/ipmi/storage/sdr-locators.js';
import { encodeIdString } from '../../../../firmware/ipmi/storage/sdr-records.js';
import { SdrRepository } from '../../../../firmware/ipmi/storage/sdr.js';
import { SystemEventLog } from '../../../../firmware/ipmi/storage/sel.js';
import { bytes, call, u16, u32 } from './storage-helpers.js';

const BUILT = 1_700_000_000;

function setup(maxReadBytes?: number) {
  const clock = new ManualClock();
  const sel = new SystemEventLog({ wallClock: () => BUILT * 1000 + clock.now() });
  const sensors = createDefaultSensors({ clock, events: sel });
  const sdr = new SdrRepository({ sources: [...sensors.set.list(), ...bmcLocatorRecords()], wallClock: () => BUILT * 1000, reservationSeed: 0x41 });
  const cmds = [...sdrCommands({ sdr, maxReadBytes }), ...sensorCommands({ sensors: sensors.set, events: sel })];
  const run = (netfn: number, cmd: number, data: number[] = []) => call(cmds, netfn, cmd, data).then(bytes);
  sensors.inletTemp.override(25);
  sensors.fan.override(4800);
  return { sdr, sensors, cmds, run };
}

t.test('Get SDR Repository Info / Allocation Info / Reserve: exact bytes', async (t) => {
  const { run, sdr } = setup();
  // Records: temp 58 B (4 units), fan 55 B (4), watchdog 40 B (3), MC locator 19 B (2), FRU locator 27 B (2) = 15 units.
  t.equal(sdr.usedUnits(), 15);
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR_REPOSITORY_INFO), [0x00, 0x51, 0x05, 0x00, ...u16(2048 - 15 * 16), ...u32(BUILT), 0xff, 0xff, 0xff, 0xff, 0x03]);
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR_REPOSITORY_ALLOCATION_INFO), [0x00, ...u16(128), ...u16(16), ...u16(113), ...u16(113), 0x04]);
  t.same(await run(NETFN.STORAGE, SDR_CMD.RESERVE_SDR_REPOSITORY), [0x00, 0x42, 0x00]);
  t.same(await run(NETFN.STORAGE, SDR_CMD.RESERVE_SDR_REPOSITORY), [0x00, 0x43, 0x00]);
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR_REPOSITORY_INFO, [1]), [0xc7]);
  t.same(await run(NETFN.STORAGE, SDR_CMD.RESERVE_SDR_REPOSITORY, [1]), [0xc7]);
});

t.test('Get SDR: header, body in pieces, next IDs, first/last', async (t) => {
  const { run, sdr } = setup();
  const res = u16(sdr.reserve());
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x00, 0x00, 0, 5]), [0x00, 0x02, 0x00, 0x01, 0x00, 0x51, 0x01, 53], 'first: record 1 full sensor, 53 bytes follow');
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x01, 0x00, 5, 3]), [0x00, 0x02, 0x00, 0x20, 0x00, 0x01], 'owner 20h, LUN 0, sensor 01h');
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x04, 0x00, 0, 0xff]), [0x00, 0x05, 0x00, 0x04, 0x00, 0x51, 0x12, 14, 0x20, 0x00, 0x00, 0x8f, 0, 0, 0, 0x06, 0x01, 0x00, ...encodeIdString('BMC')]);
  t.same((await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [0, 0, 0xff, 0xff, 0, 5])).slice(0, 7), [0x00, 0xff, 0xff, 0x05, 0x00, 0x51, 0x11], 'last: the FRU locator, next FFFFh');
  const fru = await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [0, 0, 0x05, 0x00, 0, 0xff]);
  t.same(fru.slice(3, 19), [0x05, 0x00, 0x51, 0x11, 22, 0x20, 0x00, 0x80, 0x00, 0x00, 0x10, 0x00, 0x07, 0x01, 0x00, 0xcb], 'logical FRU 0 at 20h, type 10h');
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x01, 0x00, 53, 0xff]), [0x00, 0x02, 0x00, ...Buffer.from(' Temp', 'latin1')], 'FFh reads to the end');
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x01, 0x00, 57, 9]), [0x00, 0x02, 0x00, 0x70], 'reads stop at the record end');
});

t.test('Get SDR: hostile IDs, offsets, lengths, reservations', async (t) => {
  const { run, sdr } = setup(16);
  const res = u16(sdr.reserve());
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x06, 0x00, 0, 5]), [0xcb]);
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0xfe, 0xff, 0, 5]), [0xcb]);
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x01, 0x00, 58, 1]), [0xc9], 'offset at the record end');
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x01, 0x00, 0xff, 1]), [0xc9]);
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x01, 0x00, 5, 17]), [0xca], 'more than this bus can carry');
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x01, 0x00, 0, 0xff]), [0xca], 'a whole record too');
  t.same((await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x01, 0x00, 5, 16])).length, 3 + 16);
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [0, 0, 0x01, 0x00, 5, 4]), [0xc5], 'a non-zero offset needs the reservation');
  sdr.reserve();
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x01, 0x00, 5, 4]), [0xc5], 'a newer reservation cancels it');
  t.same((await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x01, 0x00, 0, 5]))[0], 0x00, 'offset 0 needs none');
  t.same(await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...res, 0x01, 0x00, 0]), [0xc7]);
  const empty = new SdrRepository({ sources: [] });
  t.same(bytes(await call(sdrCommands({ sdr: empty }), NETFN.STORAGE, SDR_CMD.GET_SDR, [0, 0, 0, 0, 0, 5])), [0xcb]);
});

/**
 * What `ipmitool sdr list` does on the system interface, restated: walk the
 * repository (header, then the body in pieces, shrinking on CAh, renewing
 * the reservation on C5h), then for every full sensor read the sensor and
 * convert with the record's own factors.
 */
async function ipmitoolSdrList(cmds: IpmiCommand[]): Promise<string[]> {
  const run = (netfn: number, cmd: number, data: number[]) => call(cmds, netfn, cmd, data);
  const reserve = async () => (await run(NETFN.STORAGE, SDR_CMD.RESERVE_SDR_REPOSITORY, [])).data.readUInt16LE(0);
  let reservation = await reserve();
  let maxRead = 0xfe;
  const lines: string[] = [];
  let next = 0;
  while (next !== 0xffff) {
    const h = await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...u16(reservation), ...u16(next), 0, 5]);
    if (h.cc !== 0) throw new Error(`header cc ${h.cc}`);
    const id = next === 0 ? h.data.readUInt16LE(2) : next;
    next = h.data.readUInt16LE(0);
    const type = h.data[5]!;
    const len = h.data[6]!;
    const body = Buffer.alloc(len);
    for (let i = 0; i < len; ) {
      const n = Math.min(len - i, maxRead);
      const r = await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [...u16(reservation), ...u16(id), i + 5, n]);
      if (r.cc === 0xca) {
        maxRead = n - 1;
        continue;
      }
      if (r.cc === 0xc5) {
        reservation = await reserve();
        continue;
      }
      if (r.cc !== 0) throw new Error(`body cc ${r.cc}`);
      r.data.copy(body, i, 2);
      i += n;
    }
    const nameAt = type === 0x01 ? 42 : type === 0x02 ? 26 : 10;
    const name = body.subarray(nameAt + 1, nameAt + 1 + (body[nameAt]! & 0x1f)).toString('latin1');
    if (type !== 0x01 && type !== 0x02) {
      lines.push(`${name} | locator 0x${type.toString(16)}`);
      continue;
    }
    const reading = await run(NETFN.SENSOR_EVENT, SENSOR_CMD.GET_SENSOR_READING, [body[2]!]);
    if (type === 0x02) {
      lines.push(`${name} | 0x${reading.data[0]!.toString(16).padStart(2, '0')} | ok`);
      continue;
    }
    const tos = (v: number, bits: number) => (v & (1 << (bits - 1)) ? v - (1 << bits) : v);
    const m = tos(body[19]! | ((body[20]! & 0xc0) << 2), 10);
    const b = tos(body[21]! | ((body[22]! & 0xc0) << 2), 10);
    const k1 = tos(body[24]! & 0xf, 4);
    const k2 = tos(body[24]! >> 4, 4);
    const value = (m * reading.data[0]! + b * 10 ** k1) * 10 ** k2;
    const unit = ({ 1: 'degrees C', 18: 'RPM' } as Record<number, string>)[body[16]!];
    const s = reading.data[2]!;
    const status = s & 0x24 ? 'nr' : s & 0x12 ? 'cr' : s & 0x09 ? 'nc' : 'ok';
    lines.push(`${name} | ${value} ${unit} | ${status}`);
  }
  return lines;
}

t.test('an ipmitool-style walk sees every record and converts readings to °C and RPM', async (t) => {
  const { cmds, sensors } = setup(20);
  t.same(await ipmitoolSdrList(cmds), ['Inlet Temp | 25 degrees C | ok', 'Fan 1 | 4800 RPM | ok', 'Watchdog | 0x00 | ok', 'BMC | locator 0x12', 'Builtin FRU | locator 0x11']);
  sensors.inletTemp.override(47);
  sensors.fan.override(400);
  t.same((await ipmitoolSdrList(cmds)).slice(0, 2), ['Inlet Temp | 47 degrees C | cr', 'Fan 1 | 400 RPM | cr']);
});

t.test('Set Sensor Thresholds shows in the Full Sensor Record', async (t) => {
  const { run } = setup();
  await run(NETFN.SENSOR_EVENT, SENSOR_CMD.SET_SENSOR_THRESHOLDS, [0x01, 0x08, 0, 0, 0, 38, 0, 0]);
  t.same((await run(NETFN.STORAGE, SDR_CMD.GET_SDR, [0, 0, 0x01, 0x00, 0, 0xff])).slice(3 + 36, 3 + 42), [50, 45, 38, 0, 0, 0]);
});

t.test('the space Get SDR Repository Info reports (counted once) is what the records take after a threshold change', async (t) => {
  const { run, sdr } = setup();
  await run(NETFN.SENSOR_EVENT, SENSOR_CMD.SET_SENSOR_THRESHOLDS, [0x01, 0x38, 0, 0, 0, 30, 35, 40]);
  let units = 0;
  for (let id = 1; id <= sdr.count; id++) units += Math.ceil(sdr.get(id)!.record.length / 16);
  t.equal(sdr.usedUnits(), units);
  t.same((await run(NETFN.STORAGE, SDR_CMD.GET_SDR_REPOSITORY_INFO)).slice(4, 6), u16(2048 - units * 16));
});

t.test('repository limits are configuration errors', async (t) => {
  const big = { type: 0x01, body: Buffer.alloc(60) };
  t.throws(() => new SdrRepository({ sources: [big] }), { code: 'ERR_BAD_CONFIG', message: /65 bytes/ });
  t.throws(() => new SdrRepository({ sources: bmcLocatorRecords(), capacityBytes: 32 }), { code: 'ERR_BAD_CONFIG', message: /need 64 bytes/ });
  t.throws(() => new SdrRepository({ sources: [], capacityBytes: 100 }), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => encodeIdString('seventeen chars!!'), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => encodeIdString('bad\nname'), { code: 'ERR_BAD_CONFIG' });
});
