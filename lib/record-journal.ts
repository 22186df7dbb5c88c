/**
 * An append-only journal of fixed-size entries, each with its own CRC-32,
 * for state that changes one small step at a time (the IPMI SEL: add one
 * record, delete one, clear) and must survive kill -9 in the middle of a
 * burst without rewriting the whole file per step.
 *
 * File layout (little-endian):
 *
 *   header  magic "BMCJRNL1" (8) | kind (8, NUL-padded) | payload size (4) | CRC-32 of the 20 bytes before (4)
 *   entry   payload (payload size bytes) | CRC-32 of the payload (4)
 *   entry   ...
 *
 * Crash guarantees:
 * - append() returns only after the whole entry was handed to the kernel
 *   (and, with syncEachAppend, to the disk): an entry whose append returned
 *   survives kill -9 (and, synced, power loss);
 * - a kill in the middle of an append leaves at most one partial entry at the
 *   end (a torn tail); open() drops it, keeps every complete entry whose CRC
 *   matches, counts entries whose CRC does not, and rewrites the file clean
 *   (atomically) before anything new is appended after the damage;
 * - rewrite() (compaction) replaces the file atomically (lib/state-file.ts):
 *   a crash leaves the old journal or the new one, never a mix.
 *
 * Entries are written with positional writes at the known end, so a failed
 * write (ENOSPC) is cut back off instead of shifting every later entry.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from './crc32.js';
import { StateFileError, removeStaleTemps, writeFileAtomic } from './state-file.js';

const MAGIC = Buffer.from('BMCJRNL1', 'latin1');
const HEADER_SIZE = 24;
const CRC_SIZE = 4;

export interface RecordJournalOptions {
  /** What the journal holds (1–8 characters), checked on open so one file is never read as another. */
  kind: string;
  /** Bytes per entry payload (the CRC is added on top). */
  payloadSize: number;
  /**
   * fdatasync after every append: entries then survive power loss too, at the
   * cost of a disk flush per entry. Without it an acknowledged entry still
   * survives kill -9 (it is in the kernel's page cache). Default true.
   */
  syncEachAppend?: boolean;
}

export interface JournalRecovery {
  /** Payloads of every intact entry, oldest first. */
  entries: Buffer[];
  /** The file did not exist and was created empty. */
  created: boolean;
  /** Bytes of a partial last entry that were dropped. */
  tornBytes: number;
  /** Complete entries whose CRC did not match (dropped). */
  badEntries: number;
  /** The file was rewritten clean because of the damage above. */
  repaired: boolean;
}

function encodeHeader(kind: string, payloadSize: number): Buffer {
  if (!/^[A-Za-z0-9_.-]{1,8}$/.test(kind)) throw new TypeError(`journal kind must be 1-8 characters [A-Za-z0-9_.-], got ${JSON.stringify(kind)}`);
  if (!Number.isInteger(payloadSize) || payloadSize < 1 || payloadSize > 0xffff) throw new RangeError(`journal payload size ${payloadSize} out of range 1..65535`);
  const h = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(h, 0);
  h.write(kind, 8, 'latin1');
  h.writeUInt32LE(payloadSize, 16);
  h.writeUInt32LE(crc32(h.subarray(0, 20)), 20);
  return h;
}

function encodeEntry(payload: Buffer, payloadSize: number): Buffer {
  if (payload.length !== payloadSize) throw new RangeError(`journal entry payload is ${payload.length} bytes, the journal holds ${payloadSize}`);
  const e = Buffer.alloc(payloadSize + CRC_SIZE);
  payload.copy(e, 0);
  e.writeUInt32LE(crc32(payload), payloadSize);
  return e;
}

export class RecordJournal {
  readonly file: string;
  readonly payloadSize: number;
  readonly #kind: string;
  readonly #sync: boolean;
  #fd: number;
  /** File size up to the end of the last intact entry: where the next entry goes. */
  #size: number;
  #entries: number;

  private constructor(file: string, opts: RecordJournalOptions, fd: number, size: number, entries: number) {
    this.file = file;
    this.payloadSize = opts.payloadSize;
    this.#kind = opts.kind;
    this.#sync = opts.syncEachAppend ?? true;
    this.#fd = fd;
    this.#size = size;
    this.#entries = entries;
  }

  /**
   * Open (or create) the journal and read back every intact entry. A file
   * that is not a journal of this kind and payload size throws StateFileError
   * (ERR_STATE_CORRUPT or ERR_STATE_KIND) and is left untouched.
   */
  static open(file: string, opts: RecordJournalOptions): { journal: RecordJournal; recovery: JournalRecovery } {
    const header = encodeHeader(opts.kind, opts.payloadSize);
    const entrySize = opts.payloadSize + CRC_SIZE;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    removeStaleTemps(file);
    let raw: Buffer | undefined;
    try {
      raw = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const recovery: JournalRecovery = { entries: [], created: raw === undefined, tornBytes: 0, badEntries: 0, repaired: false };
    if (raw === undefined) {
      writeFileAtomic(file, header);
    } else {
      RecordJournal.#checkHeader(file, raw, header, opts);
      const body = raw.length - HEADER_SIZE;
      const whole = Math.floor(body / entrySize);
      recovery.tornBytes = body - whole * entrySize;
      for (let i = 0; i < whole; i++) {
        const at = HEADER_SIZE + i * entrySize;
        const payload = raw.subarray(at, at + opts.payloadSize);
        if (crc32(payload) === raw.readUInt32LE(at + opts.payloadSize)) recovery.entries.push(Buffer.from(payload));
        else recovery.badEntries++;
      }
      if (recovery.tornBytes > 0 || recovery.badEntries > 0) {
        // Never append after damage: the clean file holds exactly the intact entries.
        writeFileAtomic(file, Buffer.concat([header, ...recovery.entries.map((p) => encodeEntry(p, opts.payloadSize))]));
        recovery.repaired = true;
      }
    }
    const fd = fs.openSync(file, 'r+');
    const journal = new RecordJournal(file, opts, fd, HEADER_SIZE + recovery.entries.length * entrySize, recovery.entries.length);
    return { journal, recovery };
  }

  static #checkHeader(file: string, raw: Buffer, want: Buffer, opts: RecordJournalOptions): void {
    if (raw.length < HEADER_SIZE || !raw.subarray(0, 8).equals(MAGIC) || crc32(raw.subarray(0, 20)) !== raw.readUInt32LE(20)) {
      throw new StateFileError('ERR_STATE_CORRUPT', `${file}: not an intact bmcemu journal (bad or truncated header)`);
    }
    if (!raw.subarray(0, HEADER_SIZE).equals(want)) {
      const kind = raw.subarray(8, 16).toString('latin1').replace(/\0+$/, '');
      throw new StateFileError(
        'ERR_STATE_KIND',
        `${file}: journal of "${kind}" with ${raw.readUInt32LE(16)}-byte entries, expected "${opts.kind}" with ${opts.payloadSize}-byte entries`,
      );
    }
  }

  /** Intact entries in the file (appended or kept by the last rewrite). */
  get entryCount(): number {
    return this.#entries;
  }

  /** Append entries with one write; returns when they are in the kernel (synced, with syncEachAppend). */
  append(...payloads: Buffer[]): void {
    if (payloads.length === 0) return;
    this.#assertOpen();
    const buf = Buffer.concat(payloads.map((p) => encodeEntry(p, this.payloadSize)));
    try {
      let off = 0;
      while (off < buf.length) off += fs.writeSync(this.#fd, buf, off, buf.length - off, this.#size + off);
      if (this.#sync) fs.fdatasyncSync(this.#fd);
    } catch (e) {
      // Cut a partial write back off so the next append starts on an entry boundary.
      try {
        fs.ftruncateSync(this.#fd, this.#size);
      } catch {
        /* the reopen-time recovery handles what is left */
      }
      throw e;
    }
    this.#size += buf.length;
    this.#entries += payloads.length;
  }

  /** Replace the whole journal with exactly these entries, atomically (compaction). */
  rewrite(payloads: Buffer[]): void {
    this.#assertOpen();
    const header = encodeHeader(this.#kind, this.payloadSize);
    writeFileAtomic(this.file, Buffer.concat([header, ...payloads.map((p) => encodeEntry(p, this.payloadSize))]));
    // The old descriptor points at the replaced inode; appends must go to the new file.
    fs.closeSync(this.#fd);
    this.#fd = -1;
    this.#fd = fs.openSync(this.file, 'r+');
    this.#size = HEADER_SIZE + payloads.length * (this.payloadSize + CRC_SIZE);
    this.#entries = payloads.length;
  }

  close(): void {
    if (this.#fd < 0) return;
    fs.closeSync(this.#fd);
    this.#fd = -1;
  }

  #assertOpen(): void {
    if (this.#fd < 0) throw new Error(`journal ${this.file} is closed`);
  }
}

/** Size of the journal header and of one entry of `payloadSize` (for tests that tear files at exact offsets). */
export const JOURNAL_LAYOUT = {
  headerSize: HEADER_SIZE,
  entrySize: (payloadSize: number): number => payloadSize + CRC_SIZE,
} as const;
