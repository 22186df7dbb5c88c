/**
 * Choosing EIDs for endpoints, as mctpd's allocate_eid does for simple
 * endpoints: the lowest EID of the dynamic range that nothing on the network
 * uses (our own addresses, published endpoints, static reservations).
 */
import { isUnicastEid } from '../../mctp/constants.js';
import { ConfigError } from '../../../lib/errors.js';
import { MctpError, isMctpError } from '../../mctp/errors.js';

export interface EidRange {
  min: number;
  max: number;
}

/** mctpd's default dynamic_eid_range. */
export const DEFAULT_EID_RANGE: Readonly<EidRange> = { min: 8, max: 254 };

export function checkEidRange(r: EidRange): void {
  if (!isUnicastEid(r.min) || !isUnicastEid(r.max) || r.min > r.max) {
    throw new ConfigError(`EID range ${r.min}-${r.max} must be unicast EIDs (8..254), low to high`);
  }
}

/** The lowest EID in `range` for which `taken` is false, or null when every one is taken. */
export function lowestFreeEid(range: EidRange, taken: (eid: number) => boolean): number | null {
  for (let eid = range.min; eid <= range.max; eid++) if (!taken(eid)) return eid;
  return null;
}

const EID_POOL_EXHAUSTED = 'eid-pool-exhausted';

/**
 * Every EID of the dynamic range is in use. mctpd reports EADDRNOTAVAIL
 * ("Ran out of EIDs"); this has always been ENOBUFS here (the API maps it to
 * 503), so it stays ENOBUFS, with `details.reason` for callers that need to
 * tell it apart (isEidPoolExhausted) and the network and range it ran out on.
 */
export function eidPoolExhausted(net: number, range: EidRange): MctpError {
  return new MctpError(
    'ENOBUFS',
    `no free EID in the dynamic range ${range.min}-${range.max} on net ${net}: every one is assigned, local or reserved`,
    { details: { reason: EID_POOL_EXHAUSTED, net, range: { min: range.min, max: range.max } } },
  );
}

export function isEidPoolExhausted(e: unknown): e is MctpError {
  return isMctpError(e, 'ENOBUFS') && e.details?.reason === EID_POOL_EXHAUSTED;
}
