/**
 * `ipmitool raw` as bmcemu speaks it: the arguments it accepts (numbers the
 * way C's strtoul reads them with base 0 — 0x1f hex, 017 octal, 15 decimal —
 * and netfn names), the response bytes as it prints them, and its wording
 * for completion codes and failures.
 */

/** ipmitool's words for the generic completion codes (IPMI v2.0 table 5-2), spelling included. */
const CC_TEXT = new Map<number, string>([
  [0x00, 'Command completed normally'],
  [0xc0, 'Node busy'],
  [0xc1, 'Invalid command'],
  [0xc2, 'Invalid command on LUN'],
  [0xc3, 'Timeout'],
  [0xc4, 'Out of space'],
  [0xc5, 'Reservation cancelled or invalid'],
  [0xc6, 'Request data truncated'],
  [0xc7, 'Request data length invalid'],
  [0xc8, 'Request data field length limit exceeded'],
  [0xc9, 'Parameter out of range'],
  [0xca, 'Cannot return number of requested data bytes'],
  [0xcb, 'Requested sensor, data, or record not found'],
  [0xcc, 'Invalid data field in request'],
  [0xcd, 'Command illegal for specified sensor or record type'],
  [0xce, 'Command response could not be provided'],
  [0xcf, 'Cannot execute duplicated request'],
  [0xd0, 'SDR Repository in update mode'],
  [0xd1, 'Device firmeware in update mode'],
  [0xd2, 'BMC initialization in progress'],
  [0xd3, 'Destination unavailable'],
  [0xd4, 'Insufficient privilege level'],
  [0xd5, 'Command not supported in present state'],
  [0xd6, 'Cannot execute command, command disabled'],
  [0xff, 'Unspecified error'],
]);

/** A completion code as ipmitool words it ("Unknown (0x81)" for codes it has no name for). */
export function ipmitoolCcText(cc: number): string {
  return CC_TEXT.get(cc) ?? `Unknown (0x${cc.toString(16).toUpperCase().padStart(2, '0')})`;
}

/** Netfn names `ipmitool raw` accepts in place of a number (matched without regard to case). */
const NETFN_NAMES: ReadonlyArray<[string, number]> = [
  ['chassis', 0x00],
  ['bridge', 0x02],
  ['sensorevent', 0x04],
  ['application', 0x06],
  ['firmware', 0x08],
  ['storage', 0x0a],
  ['transport', 0x0c],
];

/** Largest request netfn: the field is 6 bits. */
export const MAX_NETFN = 0x3f;
/** Arguments `ipmitool raw` takes at most (netfn, cmd and data together). */
export const MAX_RAW_ARGS = 256;

/** A number as strtoul(s, _, 0) reads it, or null when the whole string is not one. */
export function parseCNumber(s: string): number | null {
  const m = /^\s*\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$/.exec(s);
  if (!m) return null;
  if (m[1] !== undefined) return parseInt(m[1], 16);
  if (m[2] !== undefined) return parseInt(m[2], 8);
  return parseInt(m[3]!, 10);
}

/** One byte argument, or null (ipmitool: 'Given <label> "<s>" is invalid.'). */
export function parseByte(s: string): number | null {
  const n = parseCNumber(s);
  return n !== null && n <= 0xff ? n : null;
}

/** A netfn argument: a name or a number; null when invalid. */
export function parseNetfn(s: string): number | null {
  const named = NETFN_NAMES.find(([name]) => name === s.toLowerCase());
  return named ? named[1] : parseByte(s);
}

/** The response data as `ipmitool raw` prints it: " xx" per byte, 16 to a line, and a newline at the end (alone when there is no data). */
export function formatRawResponse(data: readonly number[]): string {
  let out = '';
  data.forEach((b, i) => {
    if (i % 16 === 0 && i !== 0) out += '\n';
    out += ` ${b.toString(16).padStart(2, '0')}`;
  });
  return `${out}\n`;
}

/** ipmitool's line for a non-zero completion code (channel 0: the BMC itself). */
export function rawFailureLine(r: { netfn: number; lun: number; cmd: number; cc: number }): string {
  const x = (v: number): string => `0x${v.toString(16)}`;
  return `Unable to send RAW command (channel=0x0 netfn=${x(r.netfn)} lun=${x(r.lun)} cmd=${x(r.cmd)} rsp=${x(r.cc)}): ${ipmitoolCcText(r.cc)}`;
}
