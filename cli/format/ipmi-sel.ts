/**
 * `ipmitool sel list` lines from the API's decoded SEL entries
 * (firmware/ipmi/storage/sel-decode.ts names the sensor types and events as
 * ipmitool does). Times are printed in UTC, as `ipmitool -Z` would, and say so.
 *
 *    1 | 12/06/26 | 05:53:15 UTC | Temperature #0x01 | Upper Non-critical going high | Asserted
 */
import type { DecodedSelEntry } from '../../firmware/ipmi/storage/sel-decode.js';

const SEL_TIME_INIT_DONE = 0x20000000;
const SEL_TIME_UNSPECIFIED = 0xffffffff;

const two = (n: number): string => String(n).padStart(2, '0');
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** strftime %x and "%X %Z" in the C locale, in UTC: "12/06/26", "05:53:15 UTC". */
function dateAndTime(stamp: number): [string, string] {
  if (stamp === SEL_TIME_UNSPECIFIED) return ['Unspecified', 'Unspecified'];
  const d = new Date(stamp * 1000);
  return [
    `${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${two(d.getUTCFullYear() % 100)}`,
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC`,
  ];
}

/** The record ID and time columns, with their separators. */
function head(e: DecodedSelEntry): string {
  let s = `${e.id.toString(16).padStart(4)} | `;
  if (e.kind === 'oem') return s;
  if (e.timestamp < SEL_TIME_INIT_DONE) return `${s} Pre-Init  |${String(e.timestamp).padStart(10, '0')}| `;
  const [date, time] = dateAndTime(e.timestamp);
  s += `${date} | ${time} | `;
  return s;
}

export function formatSelLine(e: DecodedSelEntry): string {
  const start = head(e);
  switch (e.kind) {
    case 'oem':
      return `${start}OEM record ${hex2(e.recordType)} | ${e.oemData}`;
    case 'oem-timestamped': {
      // The manufacturer ID's three bytes as they sit in the record, LS first.
      const manf = [0, 8, 16].map((shift) => hex2((e.manufacturerId >> shift) & 0xff)).join('');
      return `${start}OEM record ${hex2(e.recordType)} | ${manf} | ${e.oemData}`;
    }
    case 'system-event': {
      const sensor = `${e.sensorTypeName}${e.sensorNumber !== 0 ? ` #0x${hex2(e.sensorNumber)}` : ''}`;
      return `${start}${sensor} | ${e.event ?? ''} | ${e.direction === 'deassertion' ? 'Deasserted' : 'Asserted'}`;
    }
  }
}
