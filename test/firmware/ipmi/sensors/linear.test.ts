import t from 'tap';
import { checkFactors, encodeFactors, rawAsNumber, rawToValue, valueToRaw, type LinearFactors } from '../../../../firmware/ipmi/sensors/linear.js';

const TEMP: LinearFactors = { m: 1, b: 0, bExp: 0, rExp: 0, format: 'unsigned' };
const FAN: LinearFactors = { m: 50, b: 0, bExp: 0, rExp: 0, format: 'unsigned' };

/** ipmitool's sdr_convert_sensor_reading, restated from the SDR bytes (the check that it prints what we mean). */
function ipmitoolConvert(factors: Buffer, analogFormat: number, raw: number): number {
  const tos = (v: number, bits: number) => (v & (1 << (bits - 1)) ? v - (1 << bits) : v);
  const m = tos(factors[0]! | ((factors[1]! & 0xc0) << 2), 10);
  const b = tos(factors[2]! | ((factors[3]! & 0xc0) << 2), 10);
  const k1 = tos(factors[5]! & 0x0f, 4);
  const k2 = tos(factors[5]! >> 4, 4);
  const x = analogFormat === 2 ? (raw & 0x80 ? raw - 256 : raw) : raw;
  return (m * x + b * 10 ** k1) * 10 ** k2;
}

t.test('temperature: 1 °C per count; fan: 50 RPM per count', async (t) => {
  t.equal(rawToValue(TEMP, 25), 25);
  t.equal(valueToRaw(TEMP, 24.4), 24);
  t.equal(valueToRaw(TEMP, -5), 0, 'clamped to the unsigned byte');
  t.equal(valueToRaw(TEMP, 300), 255);
  t.equal(rawToValue(FAN, 96), 4800);
  t.equal(valueToRaw(FAN, 4810), 96);
  t.same([...encodeFactors(TEMP)], [0x01, 0x00, 0x00, 0x00, 0x00, 0x00]);
  t.same([...encodeFactors(FAN)], [0x32, 0x00, 0x00, 0x00, 0x00, 0x00]);
});

t.test('negative and 10-bit M/B, exponents, tolerance, accuracy and direction land in their bits', async (t) => {
  const f: LinearFactors = { m: -300, b: 300, bExp: -2, rExp: -3, format: 'twos-complement', tolerance: 5, accuracy: 0x2ab, accuracyExp: 2, direction: 1 };
  checkFactors(f);
  // M = -300 = 0x2D4 (10 bits): LS D4h, MS 2 bits 10b; B = 300 = 0x12C: LS 2Ch, MS 01b; accuracy 2ABh: LS 6 bits 2Bh, MS 4 bits Ah.
  t.same([...encodeFactors(f)], [0xd4, 0x80 | 5, 0x2c, 0x40 | 0x2b, 0xa0 | (2 << 2) | 1, 0xde]);
  for (const raw of [0, 1, 0x7f, 0x80, 0xff]) {
    t.equal(rawToValue(f, raw), ipmitoolConvert(encodeFactors(f), 2, raw), `raw 0x${raw.toString(16)} converts as ipmitool does`);
  }
  t.equal(rawAsNumber(f, 0xff), -1);
  t.equal(valueToRaw(f, rawToValue(f, 0x90)), 0x90, 'round trip through the value');
  for (const raw of [0, 25, 255]) t.equal(rawToValue(FAN, raw), ipmitoolConvert(encodeFactors(FAN), 0, raw));
});

t.test('factors that do not fit their fields are configuration errors', async (t) => {
  t.throws(() => checkFactors({ ...TEMP, m: 512 }), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => checkFactors({ ...TEMP, m: 0 }), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => checkFactors({ ...TEMP, b: -513 }), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => checkFactors({ ...TEMP, rExp: 8 }), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => checkFactors({ ...TEMP, bExp: -9 }), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => checkFactors({ ...TEMP, tolerance: 64 }), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => checkFactors({ ...TEMP, m: 1.5 }), { code: 'ERR_BAD_CONFIG' });
});
