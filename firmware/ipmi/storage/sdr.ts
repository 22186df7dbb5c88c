/**
 * The SDR repository (IPMI v2.0 §33): the BMC's sensor and locator records,
 * numbered 1..n in the order given, read back with Get SDR in pieces.
 *
 * The repository is read-only from the outside (no Add/Delete/Clear SDR):
 * its records are the BMC's own, regenerated on every read so a threshold
 * changed with Set Sensor Thresholds shows in the Full Sensor Record too.
 * The reservation (shared rules: reservation.ts) is therefore only ever
 * cancelled by a new Reserve SDR Repository.
 */
import { ConfigError } from '../../../lib/errors.js';
import { Reservation } from './reservation.js';
import { SDR_HEADER_SIZE, frameSdr, type SdrBody } from './sdr-records.js';

export const SDR_ALLOCATION_UNIT = 16;
/** The largest record the repository takes: a Full Sensor Record with a 16-character name. */
export const SDR_MAX_RECORD_SIZE = 64;
export const DEFAULT_SDR_CAPACITY_BYTES = 2048;

/** A record the repository asks for afresh on every read (a sensor), or a fixed one (a locator). */
export type SdrSource = { sdr(): SdrBody } | SdrBody;

export interface SdrRepositoryOptions {
  sources: SdrSource[];
  /** Space the repository reports, in bytes (a multiple of 16; default 2048). */
  capacityBytes?: number;
  /** Wall clock in ms (default Date.now): the "most recent addition" time is when the repository was built. */
  wallClock?: () => number;
  reservationSeed?: number;
}

export interface SdrRepositoryInfo {
  count: number;
  freeBytes: number;
  lastAddTs: number;
  lastEraseTs: number;
}

function bodyOf(s: SdrSource): SdrBody {
  return 'sdr' in s ? s.sdr() : s;
}

function unitsFor(bytes: number): number {
  return Math.ceil(bytes / SDR_ALLOCATION_UNIT);
}

export class SdrRepository {
  readonly capacityUnits: number;
  readonly builtAt: number;
  readonly #sources: SdrSource[];
  readonly #reservation: Reservation;
  /**
   * Allocation units the records take, counted once: a record's values change
   * (thresholds) but never its length (type and name are fixed), and Get SDR
   * Repository Info would otherwise rebuild every record on every call.
   */
  readonly #usedUnits: number;

  constructor(opts: SdrRepositoryOptions) {
    if (opts.sources.length > 0xfffe) throw new ConfigError(`an SDR repository holds at most 65534 records, got ${opts.sources.length}`);
    const capacity = opts.capacityBytes ?? DEFAULT_SDR_CAPACITY_BYTES;
    if (!Number.isInteger(capacity) || capacity <= 0 || capacity % SDR_ALLOCATION_UNIT !== 0 || capacity / SDR_ALLOCATION_UNIT > 0xfffe) {
      throw new ConfigError(`SDR capacity must be a positive multiple of ${SDR_ALLOCATION_UNIT} bytes below 1 MiB, got ${capacity}`);
    }
    this.#sources = [...opts.sources];
    this.capacityUnits = capacity / SDR_ALLOCATION_UNIT;
    this.builtAt = Math.floor((opts.wallClock ?? Date.now)() / 1000) >>> 0;
    this.#reservation = new Reservation(opts.reservationSeed);
    let used = 0;
    this.#sources.forEach((s, i) => {
      const len = SDR_HEADER_SIZE + bodyOf(s).body.length;
      if (len > SDR_MAX_RECORD_SIZE) throw new ConfigError(`SDR record ${i + 1} is ${len} bytes, more than ${SDR_MAX_RECORD_SIZE}`);
      used += unitsFor(len);
    });
    if (used > this.capacityUnits) throw new ConfigError(`SDR records need ${used * SDR_ALLOCATION_UNIT} bytes, the repository has ${capacity}`);
    this.#usedUnits = used;
  }

  get count(): number {
    return this.#sources.length;
  }

  usedUnits(): number {
    return this.#usedUnits;
  }

  info(): SdrRepositoryInfo {
    const free = (this.capacityUnits - this.usedUnits()) * SDR_ALLOCATION_UNIT;
    // FFFFh means "unspecified" and FFFEh "64 KiB - 2 or more" in this field.
    return { count: this.count, freeBytes: Math.min(free, 0xfffe), lastAddTs: this.builtAt, lastEraseTs: 0xffffffff };
  }

  /**
   * The whole record (header included) that `id` addresses — 0000h is the
   * first, FFFFh the last — and the ID of the next (FFFFh after the last).
   */
  get(id: number): { record: Buffer; nextId: number } | undefined {
    const n = this.#sources.length;
    if (n === 0) return undefined;
    const index = id === 0x0000 ? 0 : id === 0xffff ? n - 1 : id - 1;
    if (index < 0 || index >= n) return undefined;
    const recordId = index + 1;
    return { record: frameSdr(recordId, bodyOf(this.#sources[index]!)), nextId: recordId < n ? recordId + 1 : 0xffff };
  }

  reserve(): number {
    return this.#reservation.reserve();
  }

  isReserved(id: number): boolean {
    return this.#reservation.isValid(id);
  }
}
