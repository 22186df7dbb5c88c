/**
 * The LPC window as the guest sees it: BAR2 of the ivshmem PCI device, mapped
 * with mmap(MAP_SHARED) through its sysfs `resource2` file (or any file of at
 * least the window's size, e.g. the window file itself outside a guest).
 *
 * Same contract as WindowFile (transport/window-file.ts), so HostAgent
 * uses either: bounds-checked read (a copy the caller keeps) and write, in
 * window offsets. Every access is one bulk copy (Buffer#copy / TypedArray#set,
 * i.e. memmove): under TCG each guest memory access is emulated, and a copy
 * loop in native code costs far less than byte-wise access from JavaScript.
 * MMIO on a BAR cannot be read with pread (EFAULT on x86), so mapping is the
 * only way in; on the host side, positional I/O on the file is coherent with
 * the mapping (docs/lpc-window.md).
 */
import fs from 'node:fs';
import { checkWindowRange } from '../../transport/window-file.js';
import { loadMmapAddon, type MmapAddon } from './mmap-addon.js';

export interface MappedWindowOptions {
  /** Map read-only (write() then throws). Default false. */
  readOnly?: boolean;
  /** The addon (tests may inject one); default: native/mmap. */
  addon?: MmapAddon;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export class MappedWindow {
  readonly path: string;
  readonly size: number;
  readonly readOnly: boolean;
  readonly #addon: MmapAddon;
  #mapping: ArrayBuffer | null;
  #view: Buffer;

  private constructor(filePath: string, size: number, readOnly: boolean, addon: MmapAddon, mapping: ArrayBuffer) {
    this.path = filePath;
    this.size = size;
    this.readOnly = readOnly;
    this.#addon = addon;
    this.#mapping = mapping;
    this.#view = Buffer.from(mapping, 0, size);
  }

  /**
   * Map the first `size` bytes of `filePath`. A regular file (sysfs resource
   * files are regular files whose size is the BAR size) must be at least that
   * big: touching a page past its end would kill the process with SIGBUS.
   * The descriptor is closed at once; the mapping outlives it.
   */
  static open(filePath: string, size: number, opts: MappedWindowOptions = {}): MappedWindow {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`window size must be a positive integer, got ${size}`);
    const addon = opts.addon ?? loadMmapAddon();
    const readOnly = opts.readOnly ?? false;
    const fd = fs.openSync(filePath, readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR);
    try {
      const st = fs.fstatSync(fd);
      if (st.isFile() && st.size < size) {
        throw new RangeError(`${filePath} is ${st.size} bytes (${hex(st.size)}), smaller than the ${size}-byte (${hex(size)}) window`);
      }
      if (!st.isFile() && !st.isCharacterDevice()) {
        throw new Error(`${filePath} is neither a regular file nor a character device: cannot map it as the LPC window`);
      }
      let mapping: ArrayBuffer;
      try {
        mapping = addon.map(fd, size, 0, !readOnly);
      } catch (err) {
        throw new Error(`cannot map ${filePath} (${size} bytes): ${(err as Error).message}`, { cause: err });
      }
      return new MappedWindow(filePath, size, readOnly, addon, mapping);
    } finally {
      fs.closeSync(fd);
    }
  }

  get closed(): boolean {
    return this.#mapping === null;
  }

  #check(op: string, offset: number, length: number): Buffer {
    if (this.#mapping === null) throw new Error(`window ${op}: ${this.path} is unmapped`);
    checkWindowRange(op, offset, length, this.size);
    return this.#view;
  }

  /** Copy `length` bytes at `offset` out of the window (the peer may rewrite it at any time). */
  read(offset: number, length: number): Buffer {
    const view = this.#check('read', offset, length);
    const out = Buffer.allocUnsafe(length);
    view.copy(out, 0, offset, offset + length);
    return out;
  }

  /** Fill `target` from window offset `offset` (no allocation). */
  readInto(offset: number, target: Uint8Array): void {
    const view = this.#check('read', offset, target.length);
    target.set(view.subarray(offset, offset + target.length));
  }

  /** Copy `data` into the window at `offset`; the peer sees it when this returns. */
  write(offset: number, data: Uint8Array): void {
    const view = this.#check('write', offset, data.length);
    if (this.readOnly) throw new Error(`window write: ${this.path} was mapped read-only`);
    view.set(data, offset);
  }

  /**
   * Unmap. Idempotent. Views obtained earlier become empty rather than
   * dangling (the addon detaches the ArrayBuffer before unmapping).
   */
  close(): void {
    const mapping = this.#mapping;
    if (mapping === null) return;
    this.#mapping = null;
    this.#view = Buffer.alloc(0);
    this.#addon.unmap(mapping);
  }
}
