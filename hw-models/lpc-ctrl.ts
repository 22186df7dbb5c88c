/**
 * AST2500 LPC2AHB firmware-space window ("lpc-ctrl"): how host LPC firmware
 * cycles reach BMC memory.
 *
 * Three registers in the LPC block decide it:
 *   HICR5 (0x80)  ENFWH (bit 10) and ENL2H (bit 8) enable firmware cycles and
 *                 the LPC-to-AHB bridge; both must be set for the window to work.
 *   HICR7 (0x88)  [31:16] BMC (AHB) address of the window, [15:0] host LPC
 *                 firmware-space address of the window, both >> 16.
 *   HICR8 (0x8C)  [31:16] address bits taken from HICR7 instead of the host
 *                 address; [15:0] LPC address bits [31:16] that pass through
 *                 (the window size in 64 KiB units, minus one).
 *
 * Linux's aspeed-lpc-ctrl programs them as
 *   HICR7 = (mem_base + offset) | (lpc_addr >> 16)
 *   HICR8 = ~(size - 1) | ((size >> 16) - 1)
 *
 * Memory model: the BMC reserves a power-of-two region of its DRAM for the
 * host (the device tree's memory-region); only the region's last `windowSize`
 * bytes (1 MiB, the MCTP window) are backed, by a plain file of exactly that
 * size which QEMU maps with share=on as the host's view. Offset 0 of the file
 * is the first byte of the MCTP window. Everything else in the region is
 * refused and counted, never emulated with private memory, so nothing the
 * host could see is ever silently lost.
 *
 * Note: QEMU maps the file directly, so the guest's accesses through the
 * ivshmem BAR do not pass through hostRead/hostWrite and are not gated by
 * HICR5/7/8. Those accessors serve host emulations in tests and tools, and
 * they keep the register semantics exact.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../lib/errors.js';
import { HwModelError, badOffset, checkU32, checkUint, hex } from './errors.js';
import { LPC_FW_WINDOW_FILENAME } from '../transport/runtime-files.js';

export const LPC_HICR5 = 0x80;
export const LPC_HICR7 = 0x88;
export const LPC_HICR8 = 0x8c;

/** HICR5: enable the LPC-to-AHB bridge. */
export const HICR5_ENL2H = 1 << 8;
/** HICR5: enable LPC firmware-hub cycles. */
export const HICR5_ENFWH = 1 << 10;
/** Both bits Linux sets on a MAP; the window works only when both are set. */
export const HICR5_FW_WINDOW_ENABLE = HICR5_ENFWH | HICR5_ENL2H;

/** The LPC firmware address space is 28 bits wide. */
export const LPC_FW_SPACE_SIZE = 0x1000_0000;
/** HICR7/HICR8 work in 64 KiB units. */
export const LPC_FW_GRANULE = 0x1_0000;
/** libmctp's LPC_WIN_SIZE: the MCTP window is the region's last 1 MiB. */
export const MCTP_WINDOW_SIZE = 0x10_0000;

export const DEFAULT_RESERVED_BASE = 0x9800_0000;
export const DEFAULT_RESERVED_SIZE = 0x20_0000;
export const DEFAULT_WINDOW_FILE = LPC_FW_WINDOW_FILENAME;

function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}

/**
 * Where a region of `size` bytes goes when placed at the top of the 28-bit
 * LPC firmware space, as libmctp and hiomapd compute it: 0x0FFFFFFF & -size.
 */
export function topOfFwSpace(size: number): number {
  return (0x0fff_ffff & -size) >>> 0;
}

export interface FwWindowMapping {
  /** BMC (AHB) address the window maps to. */
  ahbAddr: number;
  /** Host LPC firmware-space address of the window. */
  lpcAddr: number;
  /** Window size in bytes. */
  size: number;
}

/** HICR7 for a mapping (the kernel's formula; the low 16 bits of both addresses drop out). */
export function encodeHicr7(ahbAddr: number, lpcAddr: number): number {
  return ((ahbAddr & 0xffff_0000) | (lpcAddr >>> 16)) >>> 0;
}

/** HICR8 for a window size (the kernel's formula). */
export function encodeHicr8(size: number): number {
  return (~(size - 1) | ((size >>> 16) - 1)) >>> 0;
}

/**
 * Check a mapping the HICR7/HICR8 masks can express, then encode it. The masks
 * only work for a power-of-two size of at least 64 KiB with both addresses
 * naturally aligned to it; anything else would map something other than what
 * was asked for, so it is refused with a message saying which rule failed.
 */
export function encodeFwWindow(mapping: FwWindowMapping): { hicr7: number; hicr8: number } {
  const size = checkUint(mapping.size, LPC_FW_SPACE_SIZE, 'FW window size', 'ERR_HW_BAD_ARGUMENT');
  const ahbAddr = checkUint(mapping.ahbAddr, 0xffff_ffff, 'FW window AHB address', 'ERR_HW_BAD_ARGUMENT');
  const lpcAddr = checkUint(mapping.lpcAddr, LPC_FW_SPACE_SIZE - 1, 'FW window LPC address', 'ERR_HW_BAD_ARGUMENT');
  if (size < LPC_FW_GRANULE || size % LPC_FW_GRANULE !== 0) {
    throw new HwModelError('ERR_HW_BAD_ARGUMENT', `FW window size ${hex(size)} is not a multiple of 64 KiB`);
  }
  if (!isPowerOfTwo(size)) {
    throw new HwModelError('ERR_HW_BAD_ARGUMENT', `FW window size ${hex(size)} is not a power of two`);
  }
  if (ahbAddr % size !== 0) {
    throw new HwModelError('ERR_HW_BAD_ARGUMENT', `FW window AHB address ${hex(ahbAddr)} is not aligned to its size ${hex(size)}`);
  }
  if (lpcAddr % size !== 0) {
    throw new HwModelError('ERR_HW_BAD_ARGUMENT', `FW window LPC address ${hex(lpcAddr)} is not aligned to its size ${hex(size)}`);
  }
  if (lpcAddr + size > LPC_FW_SPACE_SIZE) {
    throw new HwModelError('ERR_HW_BAD_ARGUMENT', `FW window ${hex(lpcAddr)}+${hex(size)} runs past the 28-bit LPC FW space`);
  }
  return { hicr7: encodeHicr7(ahbAddr, lpcAddr), hicr8: encodeHicr8(size) };
}

/** What HICR7/HICR8 say, read back as a mapping (for status; translation uses the masks bit by bit). */
export function decodeFwWindow(hicr7: number, hicr8: number): FwWindowMapping {
  const keep = hicr8 & 0xffff;
  const size = (keep + 1) * LPC_FW_GRANULE;
  const lpcAddr = (hicr7 & 0xffff & ~keep) * LPC_FW_GRANULE;
  const ahbAddr = (hicr7 & hicr8 & 0xffff_0000) >>> 0;
  return { ahbAddr, lpcAddr, size };
}

export type LpcRefusal = 'disabled' | 'unmapped' | 'unbacked';

export interface LpcRefusedAccess {
  op: 'read' | 'write';
  lpcAddr: number;
  length: number;
  reason: LpcRefusal;
}

export interface LpcCtrlEvents {
  /** HICR5/7/8 changed. */
  change: [];
  /** A host access was refused (also counted). */
  refused: [access: LpcRefusedAccess];
}

export interface LpcCtrlCounters {
  hostReads: number;
  hostWrites: number;
  hostBytesRead: number;
  hostBytesWritten: number;
  /** Host accesses while HICR5 ENFWH/ENL2H were not both set. */
  refusedDisabled: number;
  /** Host accesses outside the window HICR7/HICR8 describe. */
  refusedUnmapped: number;
  /** Host accesses that map into BMC memory the model does not back. */
  refusedUnbacked: number;
  /** BMC-side accesses to the reserved region outside the backed window. */
  bmcUnbacked: number;
  resets: number;
}

export interface LpcCtrlSnapshot {
  hicr5: number;
  hicr7: number;
  hicr8: number;
  fwCyclesEnabled: boolean;
  /** The window as HICR7/HICR8 describe it (whether or not enabled). */
  mapping: FwWindowMapping;
  reserved: { base: number; size: number };
  backed: { ahbBase: number; size: number; file: string; lpcAddrWhenRegionAtTop: number };
  counters: LpcCtrlCounters;
}

export interface LpcCtrlOptions {
  /** Directory for the backing file (the instance's runtime directory, ideally tmpfs). Must exist. */
  runtimeDir: string;
  /** File name inside runtimeDir (a plain name, no directories). */
  fileName?: string;
  /** BMC physical address of the reserved region; naturally aligned to its size. */
  reservedBase?: number;
  /** Reserved region size: a power of two, at least the window, at most 256 MiB. */
  reservedSize?: number;
  /** Backed window at the top of the region; power of two, multiple of 64 KiB. */
  windowSize?: number;
}

function zeroCounters(): LpcCtrlCounters {
  return {
    hostReads: 0,
    hostWrites: 0,
    hostBytesRead: 0,
    hostBytesWritten: 0,
    refusedDisabled: 0,
    refusedUnmapped: 0,
    refusedUnbacked: 0,
    bmcUnbacked: 0,
    resets: 0,
  };
}

/**
 * Open (creating if needed) the backing file with no symlink following, check
 * it is a regular file, and give it exactly `size` bytes. An existing file is
 * reused in place — never unlinked or emptied — because a running QEMU may
 * have it mapped, and a new inode or a shrink below its mapping would cut the
 * guest off (or fault it).
 */
function openBackingFile(file: string, size: number): number {
  let existing: fs.Stats | undefined;
  try {
    existing = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (existing?.isSymbolicLink()) {
    throw new HwModelError('ERR_HW_UNSAFE_PATH', `LPC window file ${file} is a symlink; refusing to follow it`);
  }
  if (existing && !existing.isFile()) {
    throw new HwModelError('ERR_HW_UNSAFE_PATH', `LPC window file ${file} exists and is not a regular file`);
  }
  const { O_RDWR, O_CREAT, O_NOFOLLOW } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600);
  } catch (e) {
    // ELOOP: a symlink appeared between the lstat and the open.
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new HwModelError('ERR_HW_UNSAFE_PATH', `LPC window file ${file} is a symlink; refusing to follow it`);
    }
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      throw new HwModelError('ERR_HW_UNSAFE_PATH', `LPC window file ${file} is not a regular file`);
    }
    if (st.size !== size) fs.ftruncateSync(fd, size);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return fd;
}

export class LpcCtrl extends EventEmitter<LpcCtrlEvents> {
  readonly reservedBase: number;
  readonly reservedSize: number;
  readonly windowSize: number;
  /** BMC address of the backed window (the region's last windowSize bytes). */
  readonly windowAhbBase: number;
  readonly filePath: string;
  #fd: number | null;
  #hicr5 = 0;
  #hicr7 = 0;
  #hicr8 = 0;
  #counters = zeroCounters();

  constructor(options: LpcCtrlOptions) {
    super();
    if (!options || typeof options.runtimeDir !== 'string' || options.runtimeDir === '') {
      throw new ConfigError('LpcCtrl needs a runtimeDir');
    }
    const fileName = options.fileName ?? DEFAULT_WINDOW_FILE;
    if (fileName === '' || fileName === '.' || fileName === '..' || fileName.includes('/') || fileName.includes('\0')) {
      throw new ConfigError(`LPC window file name ${JSON.stringify(fileName)} must be a plain file name`);
    }
    const windowSize = options.windowSize ?? MCTP_WINDOW_SIZE;
    const reservedSize = options.reservedSize ?? DEFAULT_RESERVED_SIZE;
    const reservedBase = options.reservedBase ?? DEFAULT_RESERVED_BASE;
    if (!isPowerOfTwo(windowSize) || windowSize < LPC_FW_GRANULE) {
      throw new ConfigError(`window size ${String(windowSize)} must be a power of two of at least 64 KiB`);
    }
    if (!isPowerOfTwo(reservedSize) || reservedSize < windowSize || reservedSize > LPC_FW_SPACE_SIZE) {
      throw new ConfigError(
        `reserved region size ${String(reservedSize)} must be a power of two between the window size (${hex(windowSize)}) and 256 MiB`,
      );
    }
    if (!Number.isInteger(reservedBase) || reservedBase < 0 || reservedBase + reservedSize > 0x1_0000_0000) {
      throw new ConfigError(`reserved region base ${String(reservedBase)} is not a 32-bit address with room for the region`);
    }
    if (reservedBase % reservedSize !== 0) {
      throw new ConfigError(`reserved region base ${hex(reservedBase)} is not naturally aligned to its size ${hex(reservedSize)}`);
    }
    let dirStat: fs.Stats;
    try {
      dirStat = fs.statSync(options.runtimeDir);
    } catch {
      throw new ConfigError(`runtime directory ${options.runtimeDir} does not exist`);
    }
    if (!dirStat.isDirectory()) throw new ConfigError(`runtime directory ${options.runtimeDir} is not a directory`);

    this.reservedBase = reservedBase;
    this.reservedSize = reservedSize;
    this.windowSize = windowSize;
    this.windowAhbBase = reservedBase + reservedSize - windowSize;
    this.filePath = path.join(options.runtimeDir, fileName);
    this.#fd = openBackingFile(this.filePath, windowSize);
  }

  get closed(): boolean {
    return this.#fd === null;
  }

  /** Close the backing file (the file itself stays for QEMU). Idempotent. */
  close(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    fs.closeSync(fd);
  }

  /** Registers to power-on values (window disabled). Memory keeps its contents, as DRAM does. */
  reset(): void {
    this.#hicr5 = 0;
    this.#hicr7 = 0;
    this.#hicr8 = 0;
    this.#counters.resets++;
    this.emit('change');
  }

  // ---- BMC register interface ----

  readRegister(offset: number): number {
    switch (offset) {
      case LPC_HICR5:
        return this.#hicr5;
      case LPC_HICR7:
        return this.#hicr7;
      case LPC_HICR8:
        return this.#hicr8;
      default:
        throw badOffset('lpc-ctrl', offset);
    }
  }

  writeRegister(offset: number, value: number): void {
    if (offset !== LPC_HICR5 && offset !== LPC_HICR7 && offset !== LPC_HICR8) throw badOffset('lpc-ctrl', offset);
    const v = checkU32(value, `lpc-ctrl register ${hex(offset)}`);
    // HICR5 also holds KCS SerIRQ fields on silicon; they are kept but only the window bits act here.
    if (offset === LPC_HICR5) this.#hicr5 = v;
    else if (offset === LPC_HICR7) this.#hicr7 = v;
    else this.#hicr8 = v;
    this.emit('change');
  }

  get fwCyclesEnabled(): boolean {
    return (this.#hicr5 & HICR5_FW_WINDOW_ENABLE) === HICR5_FW_WINDOW_ENABLE;
  }

  /**
   * Translate one host LPC firmware address to a BMC address through
   * HICR7/HICR8, bit by bit as the masks say; null when outside the window.
   */
  translate(lpcAddr: number): number | null {
    if (lpcAddr >= LPC_FW_SPACE_SIZE) return null;
    const hi = lpcAddr >>> 16;
    const keep = this.#hicr8 & 0xffff;
    if ((hi & ~keep & 0xffff) !== (this.#hicr7 & 0xffff & ~keep)) return null;
    const replace = this.#hicr8 >>> 16;
    const ahbHi = (((this.#hicr7 >>> 16) & replace) | (hi & ~replace & 0xffff)) >>> 0;
    return ahbHi * 0x1_0000 + (lpcAddr & 0xffff);
  }

  // ---- Host side: LPC firmware cycles ----

  /** Host firmware-space read; null when refused (counted, 'refused' emitted). */
  hostRead(lpcAddr: number, length: number): Buffer | null {
    this.#checkHostArgs(lpcAddr, length);
    const fileOffset = this.#hostAccess('read', lpcAddr, length);
    if (fileOffset === null) return null;
    this.#counters.hostReads++;
    this.#counters.hostBytesRead += length;
    return this.#readFile(fileOffset, length);
  }

  /** Host firmware-space write; false when refused (counted, 'refused' emitted). */
  hostWrite(lpcAddr: number, data: Uint8Array): boolean {
    if (!(data instanceof Uint8Array)) throw new HwModelError('ERR_HW_BAD_ARGUMENT', 'hostWrite data must be a Buffer or Uint8Array');
    this.#checkHostArgs(lpcAddr, data.length);
    const fileOffset = this.#hostAccess('write', lpcAddr, data.length);
    if (fileOffset === null) return false;
    this.#counters.hostWrites++;
    this.#counters.hostBytesWritten += data.length;
    this.#writeFile(fileOffset, data);
    return true;
  }

  #checkHostArgs(lpcAddr: number, length: number): void {
    this.#checkOpen();
    checkUint(lpcAddr, 0xffff_ffff, 'LPC firmware address', 'ERR_HW_BAD_ARGUMENT');
    checkUint(length, LPC_FW_SPACE_SIZE, 'LPC access length', 'ERR_HW_BAD_ARGUMENT');
  }

  /** The file offset a host access lands at, or null after counting the refusal. */
  #hostAccess(op: 'read' | 'write', lpcAddr: number, length: number): number | null {
    const refuse = (reason: LpcRefusal): null => {
      if (reason === 'disabled') this.#counters.refusedDisabled++;
      else if (reason === 'unmapped') this.#counters.refusedUnmapped++;
      else this.#counters.refusedUnbacked++;
      this.emit('refused', { op, lpcAddr, length, reason });
      return null;
    };
    if (!this.fwCyclesEnabled) return refuse('disabled');
    const first = this.translate(lpcAddr);
    if (first === null) return refuse('unmapped');
    if (length > 0) {
      // The window is contiguous when the masks are consistent; checking that the
      // last byte lands exactly length-1 later refuses anything that would wrap.
      const last = this.translate(lpcAddr + length - 1);
      if (last === null || last - first !== length - 1) return refuse('unmapped');
    }
    if (first < this.windowAhbBase || first + length > this.windowAhbBase + this.windowSize) return refuse('unbacked');
    return first - this.windowAhbBase;
  }

  // ---- BMC side: the reserved memory ----

  /** BMC read of reserved memory at a BMC physical address (only the backed window works). */
  bmcRead(ahbAddr: number, length: number): Buffer {
    const offset = this.#bmcAccess(ahbAddr, length);
    return this.#readFile(offset, length);
  }

  bmcWrite(ahbAddr: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new HwModelError('ERR_HW_BAD_ARGUMENT', 'bmcWrite data must be a Buffer or Uint8Array');
    const offset = this.#bmcAccess(ahbAddr, data.length);
    this.#writeFile(offset, data);
  }

  #bmcAccess(ahbAddr: number, length: number): number {
    this.#checkOpen();
    checkUint(ahbAddr, 0xffff_ffff, 'BMC address', 'ERR_HW_BAD_ARGUMENT');
    checkUint(length, this.reservedSize, 'BMC access length', 'ERR_HW_BAD_ARGUMENT');
    const regionEnd = this.reservedBase + this.reservedSize;
    if (ahbAddr < this.reservedBase || ahbAddr + length > regionEnd) {
      throw new HwModelError(
        'ERR_HW_BAD_ARGUMENT',
        `BMC access ${hex(ahbAddr)}+${hex(length)} is outside the reserved region ${hex(this.reservedBase)}..${hex(regionEnd)}`,
      );
    }
    if (ahbAddr < this.windowAhbBase) {
      this.#counters.bmcUnbacked++;
      throw new HwModelError(
        'ERR_HW_UNBACKED',
        `BMC access ${hex(ahbAddr)}+${hex(length)} is below the backed window at ${hex(this.windowAhbBase)}`,
      );
    }
    return ahbAddr - this.windowAhbBase;
  }

  // ---- Positional I/O on the one descriptor ----

  #checkOpen(): void {
    if (this.#fd === null) throw new HwModelError('ERR_HW_CLOSED', 'lpc-ctrl: backing file is closed');
  }

  #readFile(offset: number, length: number): Buffer {
    const fd = this.#fd as number;
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, buf, done, length - done, offset + done);
      // A short file would be a bug elsewhere (it is sized at open); zeros are what a hole reads as.
      if (n === 0) break;
      done += n;
    }
    return buf;
  }

  #writeFile(offset: number, data: Uint8Array): void {
    const fd = this.#fd as number;
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(fd, data, done, data.length - done, offset + done);
    }
  }

  get counters(): Readonly<LpcCtrlCounters> {
    return { ...this.#counters };
  }

  snapshot(): LpcCtrlSnapshot {
    return {
      hicr5: this.#hicr5,
      hicr7: this.#hicr7,
      hicr8: this.#hicr8,
      fwCyclesEnabled: this.fwCyclesEnabled,
      mapping: decodeFwWindow(this.#hicr7, this.#hicr8),
      reserved: { base: this.reservedBase, size: this.reservedSize },
      backed: {
        ahbBase: this.windowAhbBase,
        size: this.windowSize,
        file: this.filePath,
        lpcAddrWhenRegionAtTop: topOfFwSpace(this.reservedSize) + this.reservedSize - this.windowSize,
      },
      counters: { ...this.#counters },
    };
  }
}
