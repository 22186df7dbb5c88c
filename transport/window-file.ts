/**
 * Host-side accessor for the LPC FW window file (docs/lpc-window.md): the
 * regular file, exactly the window's size, that the BMC's lpc-ctrl model
 * creates and QEMU maps into the guest as ivshmem BAR2. File offset = LPC
 * window offset.
 *
 * Node cannot mmap, so this uses positional I/O (pread/pwrite) on one
 * descriptor. On tmpfs those go straight to the same page-cache pages QEMU's
 * MAP_SHARED mapping uses, so they are coherent with the guest and with the
 * BMC side without any flush. This class only opens an existing file: the BMC
 * side owns creation, size and removal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LPC_FW_WINDOW_FILENAME } from './runtime-files.js';
import { ConfigError } from '../lib/errors.js';
import { TransportError } from './errors.js';

/** Size of the MCTP LPC window (libmctp astlpc assumes 1 MiB). */
export const MCTP_WINDOW_SIZE = 1 << 20;

export function windowFilePath(runtimeDir: string): string {
  return path.join(runtimeDir, LPC_FW_WINDOW_FILENAME);
}

export interface WindowFileOpenOptions {
  /** The size the file must have (the window size). */
  size: number;
  /** Open read-only; write() then fails with EREADONLY. */
  readOnly?: boolean;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * The bounds rule every host-side window accessor applies (this file's
 * positional I/O, the guest's mapped BAR): a RangeError naming the access.
 */
export function checkWindowRange(op: string, offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`window ${op}: offset must be a non-negative integer, got ${offset}`);
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`window ${op}: length must be a non-negative integer, got ${length}`);
  }
  if (offset + length > size) {
    throw new RangeError(`window ${op} out of bounds: offset ${hex(offset)} + length ${hex(length)} exceeds window size ${hex(size)}`);
  }
}

export class WindowFile {
  readonly path: string;
  readonly size: number;
  readonly readOnly: boolean;
  #fd: number | null;

  private constructor(filePath: string, fd: number, size: number, readOnly: boolean) {
    this.path = filePath;
    this.#fd = fd;
    this.size = size;
    this.readOnly = readOnly;
  }

  /**
   * Open an existing window file and check it is a regular file of exactly
   * opts.size bytes. Never creates, truncates or extends it: a size mismatch
   * means host and BMC disagree about the window, which must not be papered over.
   */
  static open(filePath: string, opts: WindowFileOpenOptions): WindowFile {
    const { size } = opts;
    if (!Number.isSafeInteger(size) || size <= 0) {
      throw new ConfigError(`window size must be a positive integer, got ${size}`);
    }
    const readOnly = opts.readOnly ?? false;
    // O_NONBLOCK so that a FIFO at this path cannot hang open(); it has no
    // effect on the regular file we expect.
    const flags = (readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR) | fs.constants.O_NONBLOCK;
    const fd = fs.openSync(filePath, flags);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) {
        throw new TransportError('ENOTREG', `window file ${filePath} is not a regular file`);
      }
      if (st.size !== size) {
        throw new TransportError('ESIZE', `window file ${filePath} is ${st.size} bytes (${hex(st.size)}), expected exactly ${size} (${hex(size)})`);
      }
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return new WindowFile(filePath, fd, size, readOnly);
  }

  get closed(): boolean {
    return this.#fd === null;
  }

  #fdOrThrow(): number {
    if (this.#fd === null) throw new TransportError('ECLOSED', `window file ${this.path} is closed`);
    return this.#fd;
  }

  #checkRange(op: string, offset: number, length: number): void {
    checkWindowRange(op, offset, length, this.size);
  }

  /** Read `length` bytes at window offset `offset` into a new Buffer. */
  read(offset: number, length: number): Buffer {
    this.#checkRange('read', offset, length);
    const buf = Buffer.allocUnsafe(length);
    this.readInto(offset, buf);
    return buf;
  }

  /** Fill `target` from window offset `offset` (avoids an allocation in hot loops). */
  readInto(offset: number, target: Uint8Array): void {
    this.#checkRange('read', offset, target.length);
    const fd = this.#fdOrThrow();
    let done = 0;
    while (done < target.length) {
      const n = fs.readSync(fd, target, done, target.length - done, offset + done);
      if (n === 0) {
        // Only possible if someone truncated the file under us.
        throw new TransportError('ESHORT', `window file ${this.path} ended at ${hex(offset + done)}: was it truncated?`);
      }
      done += n;
    }
  }

  /** Write `data` at window offset `offset`. Visible to the other side when this returns. */
  write(offset: number, data: Uint8Array): void {
    this.#checkRange('write', offset, data.length);
    const fd = this.#fdOrThrow();
    if (this.readOnly) throw new TransportError('EREADONLY', `window file ${this.path} was opened read-only`);
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(fd, data, done, data.length - done, offset + done);
    }
  }

  /** Close the descriptor. Idempotent. The file itself stays (the BMC side owns it). */
  close(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    fs.closeSync(fd);
  }
}

/**
 * Create (or reset) a zero-filled window file of exactly `size` bytes. For
 * tests and tools; in a running instance the BMC's lpc-ctrl model does this.
 */
export function createWindowFile(filePath: string, size: number = MCTP_WINDOW_SIZE): void {
  if (!Number.isSafeInteger(size) || size <= 0) throw new ConfigError(`window size must be a positive integer, got ${size}`);
  const fd = fs.openSync(filePath, 'w', 0o600);
  try {
    fs.ftruncateSync(fd, size);
  } finally {
    fs.closeSync(fd);
  }
}
