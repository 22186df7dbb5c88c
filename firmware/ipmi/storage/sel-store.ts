/**
 * Where the SEL keeps its state between runs. Two stores:
 *
 * - JournalSelStore: one append-only journal (lib/record-journal.ts) in the
 *   instance's state directory. Each change is one 24-byte entry (+ CRC)
 *   appended before the SEL applies it, so an acknowledged change survives
 *   kill -9 and a kill mid-append loses at most that unacknowledged change.
 *   Clear SEL and compaction replace the journal atomically with the state's
 *   snapshot (its live records and one bookkeeping entry).
 * - MemorySelStore: nothing persists (tests, or an instance without a state dir).
 *
 * Journal entry payload (24 bytes, LE):
 *   [0] op: 1 add, 2 delete, 4 overflow, 5 time offset, 6 meta
 *   add     [2-3] record ID  [4-7] SEL time of the add  [8-23] the 16-byte record
 *   delete  [2-3] record ID  [4-7] SEL time of the delete
 *   time    [8-15] offset from the wall clock in ms (float64)
 *   meta    [2-3] next record ID  [4-7] last add time  [8-11] last erase time
 *           [12] overflow flag  [16-23] time offset in ms (float64)
 * Unknown op codes are skipped (and counted), so a newer writer's journal
 * still loads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RecordJournal, type JournalRecovery } from '../../../lib/record-journal.js';
import { StateFileError } from '../../../lib/state-file.js';
import { SEL_RECORD_SIZE } from './sel-record.js';
import { applySelOp, emptySelState, selStateAsOps, type SelOp, type SelState } from './sel-state.js';

export const SEL_JOURNAL_FILE = 'sel.journal';
const PAYLOAD = 24;
const OP = { add: 1, delete: 2, overflow: 4, time: 5, meta: 6 } as const;

export interface SelLoadReport {
  /** Journal recovery facts (torn tail, bad entries), when a journal was read. */
  journal?: Omit<JournalRecovery, 'entries'>;
  /** Entries with an op code this version does not know. */
  unknownOps: number;
  /** A journal that could not be read at all was moved here and the SEL started empty. */
  quarantined?: string;
}

export interface SelStore {
  load(): { state: SelState; report: SelLoadReport };
  /** Persist one change (never 'clear': that is a snapshot). Throws when it could not be stored. */
  append(op: SelOp): void;
  /** Replace everything persisted with `state` (Clear SEL, compaction). */
  snapshot(state: SelState): void;
  /** Whether the persisted form has grown enough beyond `state` to be worth compacting. */
  wantsCompaction(state: SelState): boolean;
  close(): void;
}

export class MemorySelStore implements SelStore {
  load(): { state: SelState; report: SelLoadReport } {
    return { state: emptySelState(), report: { unknownOps: 0 } };
  }
  append(_op: SelOp): void {}
  snapshot(_state: SelState): void {}
  wantsCompaction(_state: SelState): boolean {
    return false;
  }
  close(): void {}
}

export function encodeSelOp(op: SelOp): Buffer {
  const p = Buffer.alloc(PAYLOAD);
  switch (op.op) {
    case 'add':
      p[0] = OP.add;
      p.writeUInt16LE(op.record.readUInt16LE(0), 2);
      p.writeUInt32LE(op.at >>> 0, 4);
      op.record.copy(p, 8, 0, SEL_RECORD_SIZE);
      break;
    case 'delete':
      p[0] = OP.delete;
      p.writeUInt16LE(op.recordId, 2);
      p.writeUInt32LE(op.at >>> 0, 4);
      break;
    case 'overflow':
      p[0] = OP.overflow;
      break;
    case 'time':
      p[0] = OP.time;
      p.writeDoubleLE(op.offsetMs, 8);
      break;
    case 'meta':
      p[0] = OP.meta;
      p.writeUInt16LE(op.nextId, 2);
      p.writeUInt32LE(op.lastAddTs >>> 0, 4);
      p.writeUInt32LE(op.lastEraseTs >>> 0, 8);
      p[12] = op.overflow ? 1 : 0;
      p.writeDoubleLE(op.timeOffsetMs, 16);
      break;
    case 'clear':
      throw new TypeError('Clear SEL is persisted as a snapshot, not a journal entry');
  }
  return p;
}

export function decodeSelOp(p: Buffer): SelOp | undefined {
  switch (p[0]) {
    case OP.add:
      return { op: 'add', record: Buffer.from(p.subarray(8, 8 + SEL_RECORD_SIZE)), at: p.readUInt32LE(4) };
    case OP.delete:
      return { op: 'delete', recordId: p.readUInt16LE(2), at: p.readUInt32LE(4) };
    case OP.overflow:
      return { op: 'overflow' };
    case OP.time: {
      const offsetMs = p.readDoubleLE(8);
      return Number.isFinite(offsetMs) ? { op: 'time', offsetMs } : undefined;
    }
    case OP.meta: {
      const timeOffsetMs = p.readDoubleLE(16);
      return {
        op: 'meta',
        nextId: p.readUInt16LE(2),
        lastAddTs: p.readUInt32LE(4),
        lastEraseTs: p.readUInt32LE(8),
        overflow: p[12] === 1,
        timeOffsetMs: Number.isFinite(timeOffsetMs) ? timeOffsetMs : 0,
      };
    }
    default:
      return undefined;
  }
}

export interface JournalSelStoreOptions {
  /** fdatasync each change (survives power loss, ~ms per change); default true. kill -9 safety holds either way. */
  syncEachAppend?: boolean;
  /** Wall clock for naming a quarantined journal (default Date.now). */
  now?: () => number;
}

export class JournalSelStore implements SelStore {
  readonly file: string;
  readonly #opts: JournalSelStoreOptions;
  #journal: RecordJournal | undefined;

  constructor(stateDir: string, opts: JournalSelStoreOptions = {}) {
    this.file = path.join(stateDir, SEL_JOURNAL_FILE);
    this.#opts = opts;
  }

  load(): { state: SelState; report: SelLoadReport } {
    const report: SelLoadReport = { unknownOps: 0 };
    const journalOpts = { kind: 'sel', payloadSize: PAYLOAD, syncEachAppend: this.#opts.syncEachAppend ?? true };
    let opened: ReturnType<typeof RecordJournal.open>;
    try {
      opened = RecordJournal.open(this.file, journalOpts);
    } catch (e) {
      if (!(e instanceof StateFileError)) throw e;
      // Unreadable as a whole (bad header, someone else's file): keep it for a person to look at, start empty.
      report.quarantined = `${this.file}.corrupt-${(this.#opts.now ?? Date.now)()}`;
      fs.renameSync(this.file, report.quarantined);
      opened = RecordJournal.open(this.file, journalOpts);
    }
    const { journal, recovery } = opened;
    this.#journal = journal;
    const { entries, ...facts } = recovery;
    report.journal = facts;
    const state = emptySelState();
    for (const p of entries) {
      const op = decodeSelOp(p);
      if (op) applySelOp(state, op);
      else report.unknownOps++;
    }
    return { state, report };
  }

  append(op: SelOp): void {
    this.#open().append(encodeSelOp(op));
  }

  snapshot(state: SelState): void {
    this.#open().rewrite(selStateAsOps(state).map(encodeSelOp));
  }

  wantsCompaction(state: SelState): boolean {
    // Deletes and replaced bookkeeping pile up; rewrite once the journal is twice what the state needs (+ slack).
    return this.#open().entryCount > 2 * (state.records.length + 1) + 64;
  }

  close(): void {
    this.#journal?.close();
    this.#journal = undefined;
  }

  #open(): RecordJournal {
    if (!this.#journal) throw new Error(`SEL store ${this.file} is not loaded`);
    return this.#journal;
  }
}
