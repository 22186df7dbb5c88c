/**
 * Linear sensor reading conversion (IPMI v2.0 §36.3):
 *
 *   y = (M × x + B × 10^K1) × 10^K2
 *
 * x is the raw byte (unsigned, or two's complement for signed sensors), y is
 * the value in the sensor's units. M and B are 10-bit two's-complement
 * numbers, K1 ("B exponent") and K2 ("R exponent") 4-bit two's-complement.
 * The same six bytes appear in the Full Sensor Record (bytes 25-30) and in
 * the Get Sensor Reading Factors response:
 *
 *   0  M [7:0]
 *   1  M [9:8] in [7:6] | tolerance [5:0] (in ± half raw counts)
 *   2  B [7:0]
 *   3  B [9:8] in [7:6] | accuracy [5:0] (LS bits)
 *   4  accuracy [9:6] in [7:4] | accuracy exponent [3:2] | sensor direction [1:0]
 *   5  R exponent (K2) [7:4] | B exponent (K1) [3:0]
 */
import { ConfigError } from '../../../lib/errors.js';

/** Analog data format of Sensor Units 1 [7:6] (one's complement is not offered). */
export type AnalogFormat = 'unsigned' | 'twos-complement';

export interface LinearFactors {
  m: number;
  b: number;
  /** K1, the B exponent. */
  bExp: number;
  /** K2, the result (R) exponent. */
  rExp: number;
  format: AnalogFormat;
  /** Tolerance in ± half raw counts (0..63). */
  tolerance?: number;
  /** Accuracy in 1/100 percent units, scaled by 10^accuracyExp (0..1023). */
  accuracy?: number;
  accuracyExp?: number;
  /** 0 unspecified, 1 input, 2 output. */
  direction?: number;
}

function checkRange(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new ConfigError(`sensor factor ${name} must be an integer ${lo}..${hi}, got ${v}`);
}

/** Throws ConfigError for factors that do not fit their SDR fields. */
export function checkFactors(f: LinearFactors): void {
  checkRange('M', f.m, -512, 511);
  if (f.m === 0) throw new ConfigError('sensor factor M must not be 0 (every raw reading would mean the same value)');
  checkRange('B', f.b, -512, 511);
  checkRange('B exponent', f.bExp, -8, 7);
  checkRange('R exponent', f.rExp, -8, 7);
  checkRange('tolerance', f.tolerance ?? 0, 0, 63);
  checkRange('accuracy', f.accuracy ?? 0, 0, 1023);
  checkRange('accuracy exponent', f.accuracyExp ?? 0, 0, 3);
  checkRange('direction', f.direction ?? 0, 0, 2);
}

/** The raw byte as the number the formula uses (sign applied for two's-complement sensors). */
export function rawAsNumber(f: LinearFactors, raw: number): number {
  const x = raw & 0xff;
  return f.format === 'twos-complement' && x >= 0x80 ? x - 0x100 : x;
}

export function rawToValue(f: LinearFactors, raw: number): number {
  return (f.m * rawAsNumber(f, raw) + f.b * 10 ** f.bExp) * 10 ** f.rExp;
}

/** The raw byte whose value is nearest `value`, clamped to what a byte of this format can say. */
export function valueToRaw(f: LinearFactors, value: number): number {
  const x = Math.round((value / 10 ** f.rExp - f.b * 10 ** f.bExp) / f.m);
  const [lo, hi] = f.format === 'twos-complement' ? [-128, 127] : [0, 255];
  return Math.min(hi, Math.max(lo, x)) & 0xff;
}

/** The six factor bytes shared by the Full Sensor Record and Get Sensor Reading Factors. */
export function encodeFactors(f: LinearFactors): Buffer {
  const m = f.m & 0x3ff;
  const b = f.b & 0x3ff;
  const acc = (f.accuracy ?? 0) & 0x3ff;
  return Buffer.from([
    m & 0xff,
    ((m >> 8) << 6) | ((f.tolerance ?? 0) & 0x3f),
    b & 0xff,
    ((b >> 8) << 6) | (acc & 0x3f),
    ((acc >> 6) << 4) | (((f.accuracyExp ?? 0) & 0x3) << 2) | ((f.direction ?? 0) & 0x3),
    ((f.rExp & 0xf) << 4) | (f.bExp & 0xf),
  ]);
}

/** Sensor Units 1 [7:6] for this format (00b unsigned, 10b two's complement). */
export function analogFormatBits(format: AnalogFormat): number {
  return format === 'twos-complement' ? 0x80 : 0x00;
}
