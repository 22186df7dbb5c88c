/**
 * The System Event Log device (IPMI v2.0 §31): a bounded list of 16-byte
 * records with record IDs, SEL time, a reservation and persistence.
 *
 * Rules it keeps (the command handlers in commands/storage-sel.ts only
 * translate bytes):
 * - capacity is counted in records (one 16-byte allocation unit each); a
 *   record that does not fit is refused and sets the overflow flag, which
 *   only Clear SEL resets;
 * - record IDs run 1..FFFEh in order of addition, wrap, and skip IDs still
 *   in use; 0000h/FFFFh address the first/last record;
 * - records of type 02h and C0h-DFh get the SEL time stamped in when added;
 *   types 00h-01h and 03h-BFh are refused;
 * - the reservation is cancelled by a new Reserve SEL, by Clear SEL and by
 *   every record added (so a clear can never wipe an event the clearer has
 *   not seen). Delete SEL Entry does not cancel it: record IDs here are never
 *   renumbered, so a delete cannot make another request address the wrong
 *   record, and ipmitool's `sel delete 3 4` sends both deletes under one
 *   reservation;
 * - SEL time = injected wall clock + the offset Set SEL Time left, in whole
 *   seconds; the offset persists with the log;
 * - every change is persisted before it is applied (sel-store.ts), so what a
 *   command acknowledged survives kill -9.
 */
import { EventEmitter } from 'node:events';
import { ConfigError } from '../../../lib/errors.js';
import { Reservation } from './reservation.js';
import {
  EVM_REV,
  EVM_REV_IPMI_1_0,
  SEL_RECORD_ID,
  SEL_RECORD_SIZE,
  encodeSystemEvent,
  isValidRecordType,
  recordIdOf,
  stampRecord,
  type SystemEvent,
} from './sel-record.js';
import { applySelOp, cloneSelState, nextRecordId, type SelOp, type SelState } from './sel-state.js';
import { MemorySelStore, type SelLoadReport, type SelStore } from './sel-store.js';

export const SEL_VERSION = 0x51;
export const DEFAULT_SEL_CAPACITY = 1024;
const MAX_CAPACITY = 0xfffe;

export interface SelOptions {
  /** Maximum number of records (default 1024). */
  capacity?: number;
  /** Persistence (default: memory only). */
  store?: SelStore;
  /** Wall clock in ms since the Unix epoch (default Date.now). SEL time is this plus Set SEL Time's offset. */
  wallClock?: () => number;
  /** First reservation ID minus one (tests pin it). */
  reservationSeed?: number;
}

export type SelAddResult =
  | { ok: true; recordId: number; record: Buffer }
  | { ok: false; reason: 'full' | 'bad-type' | 'store-failed'; error?: unknown };

export type SelDeleteResult = { ok: true; recordId: number } | { ok: false; reason: 'not-present' | 'store-failed'; error?: unknown };

export interface SelInfo {
  entries: number;
  freeBytes: number;
  lastAddTs: number;
  lastEraseTs: number;
  overflow: boolean;
}

export interface SelCounters {
  /** Records refused because the SEL was full (each also sets the overflow flag). */
  dropped: number;
  /** Changes that could not be persisted (refused, state unchanged). */
  storeErrors: number;
  /** Compactions that failed (the change itself was already stored). */
  compactionErrors: number;
}

export interface SelEvents {
  add: [record: Buffer];
  delete: [recordId: number];
  clear: [];
}

export class SystemEventLog extends EventEmitter<SelEvents> {
  readonly capacity: number;
  readonly loadReport: SelLoadReport;
  readonly counters: SelCounters = { dropped: 0, storeErrors: 0, compactionErrors: 0 };
  readonly #store: SelStore;
  readonly #wallClock: () => number;
  readonly #reservation: Reservation;
  #state: SelState;

  constructor(opts: SelOptions = {}) {
    super();
    const capacity = opts.capacity ?? DEFAULT_SEL_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
      throw new ConfigError(`SEL capacity must be 1..${MAX_CAPACITY} records, got ${capacity}`);
    }
    this.capacity = capacity;
    this.#store = opts.store ?? new MemorySelStore();
    this.#wallClock = opts.wallClock ?? Date.now;
    this.#reservation = new Reservation(opts.reservationSeed);
    const { state, report } = this.#store.load();
    this.#state = state;
    this.loadReport = report;
    // A journal written with a larger capacity keeps its records; nothing new fits until some go.
  }

  // --- reading ---------------------------------------------------------------

  get size(): number {
    return this.#state.records.length;
  }

  /** The stored records, oldest first (copies). */
  records(): Buffer[] {
    return this.#state.records.map((r) => Buffer.from(r));
  }

  info(): SelInfo {
    const s = this.#state;
    const free = Math.max(0, this.capacity - s.records.length) * SEL_RECORD_SIZE;
    return { entries: s.records.length, freeBytes: Math.min(free, 0xffff), lastAddTs: s.lastAddTs, lastEraseTs: s.lastEraseTs, overflow: s.overflow };
  }

  /**
   * The record `id` addresses (0000h first, FFFFh last) and the ID of the one
   * after it (FFFFh after the last), or undefined when there is none.
   */
  get(id: number): { record: Buffer; nextId: number } | undefined {
    const recs = this.#state.records;
    const i = this.#indexOf(id);
    if (i < 0) return undefined;
    const next = i + 1 < recs.length ? recordIdOf(recs[i + 1]!) : SEL_RECORD_ID.LAST;
    return { record: Buffer.from(recs[i]!), nextId: next };
  }

  // --- time ----------------------------------------------------------------------

  /** SEL time: seconds since the epoch as the SEL counts them (u32). */
  now(): number {
    return Math.floor((this.#wallClock() + this.#state.timeOffsetMs) / 1000) >>> 0;
  }

  /** Set SEL Time: from now on now() counts from `seconds`. False when it could not be persisted. */
  setTime(seconds: number): boolean {
    const offsetMs = (seconds >>> 0) * 1000 - this.#wallClock();
    return this.#commit({ op: 'time', offsetMs });
  }

  // --- reservation ------------------------------------------------------------------

  reserve(): number {
    return this.#reservation.reserve();
  }

  isReserved(id: number): boolean {
    return this.#reservation.isValid(id);
  }

  // --- changes --------------------------------------------------------------------

  /**
   * Add SEL Entry: store a 16-byte record (its record ID field is ignored; a
   * new one is assigned and, for timestamped types, the SEL time stamped in).
   */
  add(record: Buffer): SelAddResult {
    if (record.length !== SEL_RECORD_SIZE) throw new RangeError(`SEL records are ${SEL_RECORD_SIZE} bytes, got ${record.length}`);
    if (!isValidRecordType(record[2]!)) return { ok: false, reason: 'bad-type' };
    if (this.#state.records.length >= this.capacity) {
      this.counters.dropped++;
      if (!this.#state.overflow) this.#commit({ op: 'overflow' });
      return { ok: false, reason: 'full' };
    }
    const now = this.now();
    const stamped = stampRecord(record, this.#findFreeId(), now);
    const error = this.#tryCommit({ op: 'add', record: stamped, at: now });
    if (error !== undefined) return { ok: false, reason: 'store-failed', error };
    this.emit('add', Buffer.from(stamped));
    return { ok: true, recordId: recordIdOf(stamped), record: Buffer.from(stamped) };
  }

  /**
   * Log a system event (type 02h): what Platform Event and the BMC's own
   * sensors use. EvMRev 03h (IPMI v1.0) is logged as 04h.
   */
  logEvent(ev: SystemEvent): SelAddResult {
    const rev = ev.evmRev ?? EVM_REV;
    if (rev !== EVM_REV && rev !== EVM_REV_IPMI_1_0) throw new RangeError(`EvMRev 0x${rev.toString(16)} is not an IPMI event format`);
    return this.add(encodeSystemEvent(ev));
  }

  /** The next ID add() will assign (Partial Add SEL Entry hands it out before the record is complete). */
  peekNextId(): number {
    return this.#findFreeId();
  }

  /** Delete SEL Entry: `id` may be 0000h (first) or FFFFh (last); the result names the record deleted. */
  delete(id: number): SelDeleteResult {
    const i = this.#indexOf(id);
    if (i < 0) return { ok: false, reason: 'not-present' };
    const recordId = recordIdOf(this.#state.records[i]!);
    const error = this.#tryCommit({ op: 'delete', recordId, at: this.now() });
    if (error !== undefined) return { ok: false, reason: 'store-failed', error };
    this.emit('delete', recordId);
    return { ok: true, recordId };
  }

  /** Clear SEL: every record goes, the overflow flag resets. False when it could not be persisted. */
  clear(): boolean {
    const ok = this.#commit({ op: 'clear', at: this.now() });
    if (ok) this.emit('clear');
    return ok;
  }

  close(): void {
    this.#store.close();
  }

  // --- internals ----------------------------------------------------------------

  #indexOf(id: number): number {
    const recs = this.#state.records;
    if (recs.length === 0) return -1;
    if (id === SEL_RECORD_ID.FIRST) return 0;
    if (id === SEL_RECORD_ID.LAST) return recs.length - 1;
    return recs.findIndex((r) => recordIdOf(r) === id);
  }

  #findFreeId(): number {
    const used = new Set(this.#state.records.map(recordIdOf));
    let id = this.#state.nextId;
    while (used.has(id)) id = nextRecordId(id);
    return id;
  }

  #commit(op: SelOp): boolean {
    return this.#tryCommit(op) === undefined;
  }

  /** Persist, then apply; undefined on success, the store's error otherwise (state unchanged). */
  #tryCommit(op: SelOp): unknown {
    try {
      if (op.op === 'clear') {
        const next = cloneSelState(this.#state);
        applySelOp(next, op);
        this.#store.snapshot(next);
        this.#state = next;
      } else {
        this.#store.append(op);
        applySelOp(this.#state, op);
      }
    } catch (e) {
      this.counters.storeErrors++;
      return e ?? new Error('SEL store failed');
    }
    if (op.op === 'add' || op.op === 'clear') this.#reservation.cancel();
    if (op.op !== 'clear' && this.#store.wantsCompaction(this.#state)) {
      try {
        this.#store.snapshot(this.#state);
      } catch {
        this.counters.compactionErrors++;
      }
    }
    return undefined;
  }
}
