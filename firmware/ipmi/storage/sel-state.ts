/**
 * What the SEL holds, and the one function that changes it. The live SEL
 * applies each change with applySelOp after persisting it; loading replays
 * the persisted changes through the same function, so memory and disk can
 * only agree.
 */
import { SEL_RECORD_SIZE, recordIdOf } from './sel-record.js';

/** "No SEL entry was ever added / deleted" in Get SEL Info (ipmitool prints "Not Available"). */
export const SEL_NO_TIMESTAMP = 0xffffffff;

export interface SelState {
  /** Stored records, oldest first (Get SEL Entry's order). */
  records: Buffer[];
  /** Where the next record ID search starts (1..FFFEh). */
  nextId: number;
  /** SEL time of the most recent add, or SEL_NO_TIMESTAMP. */
  lastAddTs: number;
  /** SEL time of the most recent delete or clear, or SEL_NO_TIMESTAMP. */
  lastEraseTs: number;
  /** Events were dropped because the SEL was full (cleared by Clear SEL). */
  overflow: boolean;
  /** Set SEL Time's offset from the wall clock, in ms. */
  timeOffsetMs: number;
}

export type SelOp =
  | { op: 'add'; record: Buffer; at: number }
  | { op: 'delete'; recordId: number; at: number }
  | { op: 'clear'; at: number }
  | { op: 'overflow' }
  | { op: 'time'; offsetMs: number }
  /** The whole bookkeeping at once: what a compacted journal starts with. */
  | { op: 'meta'; nextId: number; lastAddTs: number; lastEraseTs: number; overflow: boolean; timeOffsetMs: number };

export function emptySelState(): SelState {
  return { records: [], nextId: 1, lastAddTs: SEL_NO_TIMESTAMP, lastEraseTs: SEL_NO_TIMESTAMP, overflow: false, timeOffsetMs: 0 };
}

export function cloneSelState(s: SelState): SelState {
  return { ...s, records: [...s.records] };
}

/** The record ID after `id` in the 1..FFFEh cycle (0000h and FFFFh are never record IDs). */
export function nextRecordId(id: number): number {
  return id >= 0xfffe || id < 1 ? 1 : id + 1;
}

export function applySelOp(s: SelState, op: SelOp): void {
  switch (op.op) {
    case 'add': {
      if (op.record.length !== SEL_RECORD_SIZE) return;
      const id = recordIdOf(op.record);
      // A replayed add of an ID already present replaces it (never two records with one ID).
      s.records = s.records.filter((r) => recordIdOf(r) !== id);
      s.records.push(op.record);
      s.nextId = nextRecordId(id);
      s.lastAddTs = op.at >>> 0;
      return;
    }
    case 'delete':
      s.records = s.records.filter((r) => recordIdOf(r) !== op.recordId);
      s.lastEraseTs = op.at >>> 0;
      return;
    case 'clear':
      s.records = [];
      s.lastEraseTs = op.at >>> 0;
      s.overflow = false;
      return;
    case 'overflow':
      s.overflow = true;
      return;
    case 'time':
      s.timeOffsetMs = op.offsetMs;
      return;
    case 'meta':
      s.nextId = nextRecordId(op.nextId - 1);
      s.lastAddTs = op.lastAddTs >>> 0;
      s.lastEraseTs = op.lastEraseTs >>> 0;
      s.overflow = op.overflow;
      s.timeOffsetMs = op.timeOffsetMs;
      return;
  }
}

/** The ops that rebuild `s` from nothing (a compacted journal's contents). */
export function selStateAsOps(s: SelState): SelOp[] {
  const ops: SelOp[] = [];
  // Records first (each add moves nextId and lastAddTs), the bookkeeping last so it wins.
  for (const r of s.records) ops.push({ op: 'add', record: r, at: s.lastAddTs });
  ops.push({ op: 'meta', nextId: s.nextId, lastAddTs: s.lastAddTs, lastEraseTs: s.lastEraseTs, overflow: s.overflow, timeOffsetMs: s.timeOffsetMs });
  return ops;
}
