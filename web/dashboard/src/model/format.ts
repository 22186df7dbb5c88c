/**
 * Human-readable text for numbers the API reports. Every function takes
 * `unknown` and returns a string: a wrong-typed or missing value renders as
 * "–" instead of "NaN" or a throw that would blank a whole panel.
 *
 * DOM-free: also compiled and unit-tested under Node.
 */
import { isRecord, num, uint } from './coerce.js';

/** What a value we can't show renders as. */
export const UNKNOWN = '–';

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** 167 → "167 B", 1536 → "1.5 KiB", 32772 → "32 KiB"; binary units because link MTUs and windows are. */
export function formatBytes(v: unknown): string {
  const n = num(v);
  if (n === null || n < 0) return UNKNOWN;
  if (n < 1024) return `${Math.round(n)} B`;
  let value = n;
  let unit = -1;
  while (unit < BYTE_UNITS.length - 1 && value >= 1024) {
    value /= 1024;
    unit++;
  }
  // Past EiB keep the unit and let the number grow (in scientific form once absurd).
  const text = value >= 1e6 ? value.toPrecision(3) : value < 10 ? value.toFixed(1) : value.toFixed(0);
  return `${text} ${BYTE_UNITS[unit]}`;
}

/** A plain integer count ("7"), or "–". Counters stay digits so they can be read and compared as text. */
export function formatCount(v: unknown): string {
  const n = num(v);
  if (n === null || n < 0) return UNKNOWN;
  return Number.isSafeInteger(n) ? String(n) : n.toPrecision(6);
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * Durations at the precision that matters for each scale:
 * 8.2 → "8.2 s", 185 → "3 m 05 s", 3720 → "1 h 02 m", 90000 → "1 d 01 h".
 */
export function formatDuration(v: unknown): string {
  const s = num(v);
  if (s === null || s < 0) return UNKNOWN;
  const tenths = Math.round(s * 10) / 10;
  if (tenths < 60) return `${tenths.toFixed(1)} s`;
  const whole = Math.floor(tenths); // 59.96 s is "1 m 00 s", not "0 m 59 s"
  if (whole < 3600) return `${Math.floor(whole / 60)} m ${pad2(whole % 60)} s`;
  if (whole < 86400) return `${Math.floor(whole / 3600)} h ${pad2(Math.floor((whole % 3600) / 60))} m`;
  const days = Math.floor(whole / 86400);
  const dayText = Number.isSafeInteger(days) ? String(days) : days.toPrecision(3);
  return `${dayText} d ${pad2(Math.floor((whole % 86400) / 3600))} h`;
}

/** MCTP message type names (DSP0239 table 1). */
const MESSAGE_TYPES: ReadonlyMap<number, string> = new Map([
  [0x00, 'control'],
  [0x01, 'PLDM'],
  [0x02, 'NC-SI'],
  [0x03, 'Ethernet'],
  [0x04, 'NVMe-MI'],
  [0x05, 'SPDM'],
  [0x06, 'secured messages'],
  [0x7e, 'vendor-defined PCI'],
  [0x7f, 'vendor-defined IANA'],
]);

/** 0 → "control", 0x7e → "vendor-defined PCI", 0x42 → "0x42", garbage → "?". */
export function messageTypeName(v: unknown): string {
  const t = uint(v);
  if (t === null) return '?';
  return MESSAGE_TYPES.get(t) ?? `0x${t.toString(16).padStart(2, '0')}`;
}

export interface DropReason {
  reason: string;
  count: number;
}

/**
 * The non-zero entries of a per-reason drop map ({"bad-version": 3, "short": 0}),
 * largest first: the reasons worth showing. Non-numeric counts are skipped.
 */
export function nonZeroDrops(v: unknown): DropReason[] {
  if (!isRecord(v)) return [];
  const out: DropReason[] = [];
  for (const [reason, raw] of Object.entries(v)) {
    const count = num(raw);
    if (count !== null && count > 0) out.push({ reason, count });
  }
  return out.sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}
