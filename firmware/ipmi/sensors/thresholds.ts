/**
 * Threshold sensor rules (IPMI v2.0 §36, event/reading type 01h, table 42-2):
 * names, bit masks, event offsets, and the comparison with hysteresis.
 *
 * Lower thresholds assert when the reading is at or below them ("going
 * low") and deassert once it is above the threshold plus the positive-going
 * hysteresis; upper thresholds assert at or above ("going high") and
 * deassert once below the threshold minus the negative-going hysteresis.
 * Comparisons are on raw readings (in signed order for signed sensors).
 */

export type ThresholdName = 'lnc' | 'lcr' | 'lnr' | 'unc' | 'ucr' | 'unr';

export const THRESHOLD_NAMES: readonly ThresholdName[] = ['lnc', 'lcr', 'lnr', 'unc', 'ucr', 'unr'];

/** The bit each threshold has in masks, Get Sensor Reading's status byte and Set/Get Sensor Thresholds. */
export const THRESHOLD_BIT: Record<ThresholdName, number> = { lnc: 0x01, lcr: 0x02, lnr: 0x04, unc: 0x08, ucr: 0x10, unr: 0x20 };

export const ALL_THRESHOLDS_MASK = 0x3f;

/** Event offsets (table 42-2): each threshold has a going-low and a going-high offset. */
export const THRESHOLD_EVENT_OFFSET: Record<ThresholdName, { low: number; high: number }> = {
  lnc: { low: 0x0, high: 0x1 },
  lcr: { low: 0x2, high: 0x3 },
  lnr: { low: 0x4, high: 0x5 },
  unc: { low: 0x6, high: 0x7 },
  ucr: { low: 0x8, high: 0x9 },
  unr: { low: 0xa, high: 0xb },
};

export function isLower(name: ThresholdName): boolean {
  return name === 'lnc' || name === 'lcr' || name === 'lnr';
}

/** The offset a threshold asserts with: going low for lower thresholds, going high for upper ones. */
export function assertingOffset(name: ThresholdName): number {
  const o = THRESHOLD_EVENT_OFFSET[name];
  return isLower(name) ? o.low : o.high;
}

/** Threshold values as numbers in comparison order (raw, sign applied); absent = the sensor has none. */
export type ThresholdValues = Partial<Record<ThresholdName, number>>;

export interface ThresholdChange {
  name: ThresholdName;
  asserted: boolean;
}

/**
 * The threshold states after `reading`, given the states before (a bit mask
 * of asserted thresholds), and the changes in the order events should be
 * logged: assertions from the mildest threshold outwards, deassertions from
 * the most severe inwards.
 */
export function compareThresholds(
  before: number,
  reading: number,
  thresholds: ThresholdValues,
  hysteresis: { positive: number; negative: number },
): { states: number; changes: ThresholdChange[] } {
  let states = before;
  const asserts: ThresholdChange[] = [];
  const deasserts: ThresholdChange[] = [];
  for (const name of THRESHOLD_NAMES) {
    const t = thresholds[name];
    const bit = THRESHOLD_BIT[name];
    if (t === undefined) {
      states &= ~bit;
      continue;
    }
    const was = (before & bit) !== 0;
    let now: boolean;
    if (isLower(name)) now = was ? reading <= t + hysteresis.positive : reading <= t;
    else now = was ? reading >= t - hysteresis.negative : reading >= t;
    if (now === was) continue;
    states = now ? states | bit : states & ~bit;
    (now ? asserts : deasserts).push({ name, asserted: now });
  }
  // THRESHOLD_NAMES runs mild → severe on each side; deassertions are logged severe → mild.
  return { states, changes: [...asserts, ...deasserts.reverse()] };
}
