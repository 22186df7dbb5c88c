/**
 * FRU inventory device 0: the BMC's own FRU data as a byte-addressed area
 * (IPMI v2.0 §34), seeded from a configurable identity (fru-format.ts) and,
 * once the host has written to it, kept in the instance's state directory.
 *
 * - The area has a fixed size (default 512 bytes) reported by Get FRU
 *   Inventory Area Info; reads and writes address bytes (not words).
 * - Every write replaces the state file atomically before it is
 *   acknowledged (lib/state-file.ts): after kill -9 the image is the one
 *   before or after the write, never a mix.
 * - Writes may break the format (checksums, lengths); they are stored as
 *   written and parse() says what is wrong, as a real EEPROM would.
 * - A persisted image wins over the identity options: it is the device's
 *   content. A damaged or wrong-sized state file is set aside and the image
 *   rebuilt from the identity (loadReport says so).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../../lib/errors.js';
import { StateFileError, readStateFile, writeStateFile } from '../../../lib/state-file.js';
import { buildFru, parseFru, type FruIdentity, type ParsedFru } from './fru-format.js';

export const DEFAULT_FRU_SIZE = 512;
export const FRU_STATE_FILE = 'fru0.bin';
const FRU_STATE_KIND = 'fru';

/** What an emulated board calls itself unless told otherwise. */
export const DEFAULT_FRU_IDENTITY: FruIdentity = {
  board: {
    mfgDate: new Date(Date.UTC(2024, 0, 1)),
    manufacturer: 'bmcemu',
    productName: 'Emulated AST2500 board',
    serialNumber: 'BMCEMU-0001',
    partNumber: 'AST2500-EMU',
    fruFileId: 'bmcemu-fru-v1',
  },
  product: {
    manufacturer: 'bmcemu',
    name: 'Emulated server',
    partNumber: 'EMU-1U',
    version: '1.0',
    serialNumber: 'BMCEMU-SYS-0001',
    assetTag: '',
    fruFileId: 'bmcemu-fru-v1',
  },
};

export interface FruInventoryOptions {
  identity?: FruIdentity;
  /** Inventory area size in bytes (default 512). */
  size?: number;
  /** Directory for fru0.bin; without it writes last until the process ends. */
  stateDir?: string;
  /** Wall clock for naming a set-aside state file (default Date.now). */
  now?: () => number;
}

export interface FruLoadReport {
  source: 'identity' | 'state-file';
  /** A state file that could not be used was moved here. */
  setAside?: string;
  reason?: string;
}

export type FruWriteResult = { ok: true; written: number } | { ok: false; reason: 'out-of-range' | 'store-failed'; error?: unknown };

export class FruInventory {
  readonly size: number;
  readonly loadReport: FruLoadReport;
  readonly #file: string | undefined;
  #image: Buffer;

  constructor(opts: FruInventoryOptions = {}) {
    const size = opts.size ?? DEFAULT_FRU_SIZE;
    if (!Number.isInteger(size) || size < 8 || size > 0xffff) throw new ConfigError(`FRU inventory size must be 8..65535 bytes, got ${size}`);
    this.size = size;
    this.#file = opts.stateDir === undefined ? undefined : path.join(opts.stateDir, FRU_STATE_FILE);
    const seed = (): Buffer => buildFru(opts.identity ?? DEFAULT_FRU_IDENTITY, size);
    if (!this.#file) {
      this.#image = seed();
      this.loadReport = { source: 'identity' };
      return;
    }
    let stored: Buffer | undefined;
    let reason: string | undefined;
    try {
      stored = readStateFile(this.#file, FRU_STATE_KIND);
      if (stored && stored.length !== size) {
        reason = `stored image is ${stored.length} bytes, the inventory area is ${size}`;
        stored = undefined;
      }
    } catch (e) {
      if (!(e instanceof StateFileError)) throw e;
      reason = e.message;
    }
    if (stored) {
      this.#image = Buffer.from(stored);
      this.loadReport = { source: 'state-file' };
      return;
    }
    this.#image = seed();
    this.loadReport = { source: 'identity' };
    if (reason !== undefined) {
      const setAside = `${this.#file}.bad-${(opts.now ?? Date.now)()}`;
      fs.renameSync(this.#file, setAside);
      this.loadReport = { source: 'identity', setAside, reason };
    }
  }

  /** Read FRU Data: up to `count` bytes from `offset` (fewer at the end); undefined when offset is past the end. */
  read(offset: number, count: number): Buffer | undefined {
    if (offset >= this.size) return undefined;
    return Buffer.from(this.#image.subarray(offset, Math.min(this.size, offset + count)));
  }

  /** Write FRU Data: all of `data` at `offset`, persisted before it returns, or nothing. */
  write(offset: number, data: Buffer): FruWriteResult {
    if (offset >= this.size || offset + data.length > this.size) return { ok: false, reason: 'out-of-range' };
    const next = Buffer.from(this.#image);
    data.copy(next, offset);
    if (this.#file) {
      try {
        writeStateFile(this.#file, FRU_STATE_KIND, next);
      } catch (error) {
        return { ok: false, reason: 'store-failed', error };
      }
    }
    this.#image = next;
    return { ok: true, written: data.length };
  }

  /** The whole image (a copy). */
  image(): Buffer {
    return Buffer.from(this.#image);
  }

  /** The image parsed, with every format problem listed. */
  parse(): ParsedFru {
    return parseFru(this.#image);
  }
}
