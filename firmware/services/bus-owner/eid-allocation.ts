/**
 * Choosing EIDs for endpoints, as mctpd's allocate_eid does for simple
 * endpoints: the lowest EID of the dynamic range that nothing on the network
 * uses (our own addresses, published endpoints, static reservations).
 */
import { isUnicastEid } from '../../mctp/constants.js';
import { MctpError } from '../../mctp/errors.js';

export interface EidRange {
  min: number;
  max: number;
}

/** mctpd's default dynamic_eid_range. */
export const DEFAULT_EID_RANGE: Readonly<EidRange> = { min: 8, max: 254 };

export function checkEidRange(r: EidRange): void {
  if (!isUnicastEid(r.min) || !isUnicastEid(r.max) || r.min > r.max) {
    throw new MctpError('EINVAL', `EID range ${r.min}-${r.max} must be unicast EIDs (8..254), low to high`);
  }
}

/** The lowest EID in `range` for which `taken` is false, or null when every one is taken. */
export function lowestFreeEid(range: EidRange, taken: (eid: number) => boolean): number | null {
  for (let eid = range.min; eid <= range.max; eid++) if (!taken(eid)) return eid;
  return null;
}

/**
 * Every EID of the dynamic range is in use. mctpd reports EADDRNOTAVAIL
 * ("Ran out of EIDs"); the core's errno set has no such code yet, so this is
 * ENOBUFS with its own class for callers that need to tell it apart.
 */
export class EidPoolExhaustedError extends MctpError {
  readonly net: number;
  readonly range: EidRange;

  constructor(net: number, range: EidRange) {
    super('ENOBUFS', `no free EID in the dynamic range ${range.min}-${range.max} on net ${net}: every one is assigned, local or reserved`);
    this.name = 'EidPoolExhaustedError';
    this.net = net;
    this.range = { ...range };
  }
}
