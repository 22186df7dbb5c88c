/**
 * CRC-32, the IEEE/zlib one (the astlpc v3 packet trailer, docs/astlpc.md "CRC";
 * the state files' per-record checks) —
 * reflected polynomial 0xEDB88320, init 0xFFFFFFFF, final xor 0xFFFFFFFF;
 * check value crc32("123456789") = 0xCBF43926.
 *
 * Node's zlib.crc32 computes exactly this, but it only exists from Node
 * 20.15 / 22.2 and package.json allows any Node ≥ 20, so older runtimes get a
 * small table-driven version with identical results.
 */
import * as zlib from 'node:zlib';

const REFLECTED_POLY = 0xedb88320;

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ REFLECTED_POLY : crc >>> 1;
    table[byte] = crc >>> 0;
  }
  return table;
})();

/** Table-driven CRC-32 (exported so tests can compare it with zlib's). */
export function crc32Table(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ data[i]!) & 0xff]!;
  return (crc ^ 0xffffffff) >>> 0;
}

type Crc32Fn = (data: Uint8Array) => number;

// Looked up at run time: the type declarations have crc32 even where the runtime does not.
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** True when Node's own zlib.crc32 is used. */
export const CRC32_IS_NATIVE = typeof nativeCrc32 === 'function';

/** CRC-32 of `data` as an unsigned 32-bit number. */
export const crc32: Crc32Fn = CRC32_IS_NATIVE
  ? (data) => nativeCrc32!(data) >>> 0
  : crc32Table;
