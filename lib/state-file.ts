/**
 * Whole-file state in an instance's state directory, written so that a crash
 * (kill -9, or power loss) at any instant leaves either the old file or the
 * new one, never a mix:
 *
 *   1. write the new contents to a temporary file in the same directory
 *      (same file system, so the rename below is atomic),
 *   2. fsync it (the data is on disk before the name points at it),
 *   3. rename it over the real name (atomic replace),
 *   4. fsync the directory (the rename itself is on disk).
 *
 * Every file carries a small envelope — magic, the caller's kind tag,
 * payload length and a CRC-32 — so a read tells "never written" (undefined)
 * from "damaged" (StateFileError ERR_STATE_CORRUPT) and never hands half a
 * file to a parser. Temporary files a crash left behind are removed when the
 * directory is next written to (they are never read).
 *
 * The calls are synchronous on purpose: state writes are rare and small, and
 * a handler that acknowledges a change only after the call returns has
 * nothing in flight when the process dies.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from './crc32.js';
import { CodedError, type CodedErrorOptions } from './errors.js';

export type StateFileErrorCode = 'ERR_STATE_CORRUPT' | 'ERR_STATE_KIND';

export class StateFileError extends CodedError<StateFileErrorCode> {
  constructor(code: StateFileErrorCode, message: string, options: CodedErrorOptions = {}) {
    super(code, message, options);
  }
}

const MAGIC = Buffer.from('BMCSTATE', 'latin1');
/** magic(8) + kind(8, NUL-padded ASCII) + payload length(4, LE) + CRC-32 of kind..payload(4, LE). */
const ENVELOPE_HEADER = 24;
const KIND_BYTES = 8;
const TMP_MARK = '.tmp-';

let tmpCounter = 0;

function kindBytes(kind: string): Buffer {
  if (!/^[A-Za-z0-9_.-]{1,8}$/.test(kind)) throw new TypeError(`state file kind must be 1-8 characters [A-Za-z0-9_.-], got ${JSON.stringify(kind)}`);
  const b = Buffer.alloc(KIND_BYTES);
  b.write(kind, 'latin1');
  return b;
}

/** The bytes writeStateFile stores for `payload` of `kind` (exported for tests that damage files). */
export function encodeEnvelope(kind: string, payload: Buffer): Buffer {
  const out = Buffer.alloc(ENVELOPE_HEADER + payload.length);
  MAGIC.copy(out, 0);
  kindBytes(kind).copy(out, 8);
  out.writeUInt32LE(payload.length, 16);
  payload.copy(out, ENVELOPE_HEADER);
  out.writeUInt32LE(crc32(checkedBytes(out)), 20);
  return out;
}

/** What the CRC covers: the kind, the length and the payload. */
function checkedBytes(file: Buffer): Buffer {
  return Buffer.concat([file.subarray(8, 20), file.subarray(ENVELOPE_HEADER)]);
}

/** The payload of an envelope, or a StateFileError saying what is wrong with it. */
export function decodeEnvelope(kind: string, file: Buffer, name = 'state file'): Buffer {
  if (file.length < ENVELOPE_HEADER || !file.subarray(0, 8).equals(MAGIC)) {
    throw new StateFileError('ERR_STATE_CORRUPT', `${name}: not a bmcemu state file (${file.length} bytes, bad magic)`);
  }
  const want = kindBytes(kind);
  if (!file.subarray(8, 16).equals(want)) {
    const got = file.subarray(8, 16).toString('latin1').replace(/\0+$/, '');
    throw new StateFileError('ERR_STATE_KIND', `${name}: holds "${got}" state, expected "${kind}"`);
  }
  const len = file.readUInt32LE(16);
  if (file.length !== ENVELOPE_HEADER + len) {
    throw new StateFileError('ERR_STATE_CORRUPT', `${name}: length field says ${len} payload bytes, file has ${file.length - ENVELOPE_HEADER}`);
  }
  if (crc32(checkedBytes(file)) !== file.readUInt32LE(20)) {
    throw new StateFileError('ERR_STATE_CORRUPT', `${name}: checksum mismatch`);
  }
  return file.subarray(ENVELOPE_HEADER);
}

export interface AtomicWriteOptions {
  /** File mode for a newly created file (default 0o644). */
  mode?: number;
}

/**
 * Replace `file` with `data` atomically and durably (steps 1–4 above). When
 * this returns, a crash of the process or the machine keeps the new contents.
 */
export function writeFileAtomic(file: string, data: Buffer, options: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  const tmp = `${file}${TMP_MARK}${process.pid}-${++tmpCounter}`;
  const fd = fs.openSync(tmp, 'wx', options.mode ?? 0o644);
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

/** Make a directory entry change (create, rename, unlink) durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Remove temporary files an interrupted writeFileAtomic left beside `file`. */
export function removeStaleTemps(file: string): number {
  const dir = path.dirname(file);
  const prefix = path.basename(file) + TMP_MARK;
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    if (n.startsWith(prefix)) {
      fs.rmSync(path.join(dir, n), { force: true });
      removed++;
    }
  }
  return removed;
}

/** Atomically store `payload` as state of `kind` (an envelope around it; see decodeEnvelope). */
export function writeStateFile(file: string, kind: string, payload: Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  removeStaleTemps(file);
  writeFileAtomic(file, encodeEnvelope(kind, payload));
}

/**
 * The payload last stored with writeStateFile, or undefined when the file
 * does not exist. A damaged or foreign file throws StateFileError; other I/O
 * errors (EACCES, EISDIR…) propagate unchanged.
 */
export function readStateFile(file: string, kind: string): Buffer | undefined {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return decodeEnvelope(kind, raw, file);
}
