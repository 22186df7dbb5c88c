/**
 * The astlpc v3 trailer CRC is the IEEE/zlib CRC-32 every floor shares; it
 * lives in lib/ so persistent state (lib/record-journal.ts) checks records
 * with the same function.
 */
export { CRC32_IS_NATIVE, crc32, crc32Table } from '../../../lib/crc32.js';
