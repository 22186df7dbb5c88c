/**
 * FCS-16 for DSP0253 serial framing.
 *
 * The algorithm is RFC1662's table-driven CRC-CCITT (reflected polynomial
 * 0x8408) started at 0xFFFF — but, unlike RFC1662, the Linux mctp-serial
 * driver, libmctp and mctp-rs neither complement the result nor send it LSB
 * first. Interoperating with them matters more than the letter of RFC1662, so
 * this is CRC-16/MCRF4XX: no final xor, and the framer sends it MSB first.
 * Check value: fcs16("123456789") = 0x6F91 (X.25 with the xor would be 0x906E).
 */

/** Initial FCS value (Linux FCS_INIT; early 5.15 kernels wrongly used 0). */
export const FCS_INIT = 0xffff;

const REFLECTED_POLY = 0x8408;

/** Per-byte remainders, built once at module load (Node has no CRC-16). */
const FCS_TABLE: Uint16Array = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? (crc >>> 1) ^ REFLECTED_POLY : crc >>> 1;
    }
    table[byte] = crc;
  }
  return table;
})();

/** Fold one byte into a running FCS. */
export function fcs16Byte(fcs: number, byte: number): number {
  return (fcs >>> 8) ^ FCS_TABLE[(fcs ^ byte) & 0xff]!;
}

/** Fold `data[start, end)` into a running FCS (defaults: all of it, from FCS_INIT). */
export function fcs16(data: Uint8Array, fcs: number = FCS_INIT, start = 0, end: number = data.length): number {
  for (let i = start; i < end; i++) {
    fcs = (fcs >>> 8) ^ FCS_TABLE[(fcs ^ data[i]!) & 0xff]!;
  }
  return fcs;
}
