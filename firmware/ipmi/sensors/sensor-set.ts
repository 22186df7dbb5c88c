/**
 * The BMC's sensors by number, and the scan that samples them on the clock
 * so threshold events are logged when a reading crosses, whether or not
 * anyone asks for the reading.
 */
import type { Clock, TimerHandle } from '../../../lib/clock.js';
import { ConfigError } from '../../../lib/errors.js';
import type { Sensor } from './sensor.js';

export const DEFAULT_SCAN_INTERVAL_MS = 1000;

export class SensorSet {
  readonly #byNumber = new Map<number, Sensor>();
  #timer: TimerHandle | undefined;

  constructor(sensors: Sensor[]) {
    for (const s of sensors) {
      if (!Number.isInteger(s.number) || s.number < 0 || s.number > 0xfe) throw new ConfigError(`sensor ${s.name}: number ${s.number} is not 00h..FEh`);
      const other = this.#byNumber.get(s.number);
      if (other) throw new ConfigError(`sensors ${other.name} and ${s.name} both have number 0x${s.number.toString(16)}`);
      this.#byNumber.set(s.number, s);
    }
  }

  get(number: number): Sensor | undefined {
    return this.#byNumber.get(number);
  }

  /** In sensor-number order (the SDR repository's order). */
  list(): Sensor[] {
    return [...this.#byNumber.values()].sort((a, b) => a.number - b.number);
  }

  /** Sample every sensor once (threshold sensors log what they crossed). */
  scan(): void {
    for (const s of this.list()) s.sample();
  }

  /** Scan now and then every `intervalMs` of `clock` time until stopScanning(). */
  startScanning(clock: Clock, intervalMs = DEFAULT_SCAN_INTERVAL_MS): void {
    if (!(intervalMs > 0)) throw new ConfigError(`sensor scan interval must be > 0 ms, got ${intervalMs}`);
    this.stopScanning();
    const tick = (): void => {
      this.scan();
      this.#timer = clock.setTimeout(tick, intervalMs);
    };
    tick();
  }

  stopScanning(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}
