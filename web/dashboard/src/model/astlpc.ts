/**
 * The astlpc channel box: GET /mctp/astlpc reduced to what an operator reads
 * (state, negotiated protocol version, MTU, the two status-register flags the
 * host waits on, the last error).
 *
 * DOM-free: also compiled and unit-tested under Node.
 */
import { bool, num, rec, str } from './coerce.js';

export interface AstlpcView {
  readonly state: string;
  readonly carrier: boolean | null;
  readonly version: { readonly negotiated: number | null; readonly min: number | null; readonly max: number | null };
  readonly mtu: number | null;
  readonly payload: number | null;
  /** KCS status register flags (BMC_READY, CHANNEL_ACTIVE). */
  readonly bmcReady: boolean | null;
  readonly channelActive: boolean | null;
  readonly lastError: string | null;
}

export function astlpcView(body: unknown): AstlpcView {
  const b = rec(body);
  const v = rec(b.version);
  const m = rec(b.mtu);
  const s = rec(b.status);
  return {
    state: str(b.state) ?? 'unknown',
    carrier: bool(b.carrier),
    // Some records carry the negotiated version / MTU as a bare number instead of an object.
    version: { negotiated: num(v.negotiated) ?? num(b.version), min: num(v.min), max: num(v.max) },
    mtu: num(m.current) ?? num(b.mtu),
    payload: num(m.payload),
    bmcReady: bool(s.bmcReady),
    channelActive: bool(s.channelActive),
    lastError: str(b.lastError),
  };
}

/** "v3 (supports 1–3)", "v3", "not negotiated". */
export function formatAstlpcVersion(v: AstlpcView['version']): string {
  const range = v.min !== null && v.max !== null ? ` (supports ${v.min}–${v.max})` : '';
  return v.negotiated === null ? `not negotiated${range}` : `v${v.negotiated}${range}`;
}
