/**
 * Read-only accessors for untrusted JSON. The API is ours, but the page must
 * survive an older or newer server, a proxy's error page parsed as JSON, or a
 * field that changed type: every model function goes through these instead of
 * trusting a cast, so malformed data degrades to "unknown" rather than a throw.
 *
 * DOM-free: also compiled and unit-tested under Node.
 */

export type JsonRecord = Readonly<Record<string, unknown>>;

const EMPTY: JsonRecord = Object.freeze({});

/** A plain object (not null, not an array). */
export function isRecord(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The object itself, or an empty one: lets callers chain field reads. */
export function rec(v: unknown): JsonRecord {
  return isRecord(v) ? v : EMPTY;
}

/** The array itself, or an empty one. */
export function arr(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A finite number, else null. Numeric strings are refused: a string here means the shape is wrong. */
export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A non-negative safe integer (EIDs, counters, message types), else null. */
export function uint(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/** A string, else null. */
export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** A boolean, else null (so "unknown" stays distinguishable from false). */
export function bool(v: unknown): boolean | null {
  return typeof v === 'boolean' ? v : null;
}

/** Milliseconds since the epoch from an ISO string or an epoch-ms number, else null. */
export function timeMs(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string') return null;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}
