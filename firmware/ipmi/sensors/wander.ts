/**
 * Deterministic readings that move: a slow sine around a nominal value plus
 * a stepwise pseudo-random jitter, both pure functions of the clock time.
 * The same time always gives the same value, so a ManualClock test knows
 * what a sensor reads at every instant, and two runs of an instance agree.
 */

export interface WanderSpec {
  /** Centre of the wander, in the sensor's units. */
  nominal: number;
  /** Peak deviation of the slow sine (0 = none). */
  amplitude: number;
  /** Period of the slow sine in ms. */
  periodMs: number;
  /** Peak jitter added on top (0 = none). */
  jitter?: number;
  /** The jitter holds for this long before taking its next value (default 1000 ms). */
  jitterStepMs?: number;
  /** Distinguishes sensors that share the other parameters (default 0). */
  seed?: number;
}

/** A hash of (seed, step) mapped to [-1, 1] (splitmix32-style mixing). */
export function jitterUnit(seed: number, step: number): number {
  let z = (Math.imul(seed | 0, 0x9e3779b9) ^ Math.imul(step | 0, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  return (z / 0xffffffff) * 2 - 1;
}

export function wanderValue(spec: WanderSpec, tMs: number): number {
  const sine = spec.amplitude === 0 ? 0 : spec.amplitude * Math.sin((2 * Math.PI * tMs) / spec.periodMs);
  const jitter = spec.jitter ? spec.jitter * jitterUnit(spec.seed ?? 0, Math.floor(tMs / (spec.jitterStepMs ?? 1000))) : 0;
  return spec.nominal + sine + jitter;
}
