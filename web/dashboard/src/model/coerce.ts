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
  if (typeof v !== 'number' || !Number.isFinite(v)) return null;
  return v === 0 ? 0 : v; // -0 is 0: it would print as "-0" in some places
}

/** A non-negative safe integer (EIDs, counters, message types), else null. */
export function uint(v: unknown): number | null {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return null;
  return v === 0 ? 0 : v;
}

/** A string, else null. */
export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** A boolean, else null (so "unknown" stays distinguishable from false). */
export function bool(v: unknown): boolean | null {
  return typeof v === 'boolean' ? v : null;
}

/** The start of an ISO 8601 date-time: what the server's `time`/`since` fields are. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T/;

/**
 * Milliseconds since the epoch from an epoch-ms number or an ISO 8601
 * date-time string, else null. Strict on purpose: Date.parse also takes
 * "5", "May 5" and other guesses, which would turn a malformed field into a
 * plausible-looking time.
 */
export function timeMs(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string' || !ISO_DATE_TIME.test(v)) return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}
