/**
 * What the console panel says when its websocket will not open. A browser
 * tells a page nothing about a refused websocket upgrade (no status, no
 * body), so after a few failed opens in a row the panel asks the same
 * question over plain HTTP (GET /console/log?tail=1) and reads the answer.
 *
 * DOM-free: also compiled and unit-tested under Node.
 */

export type ConsoleState = 'connected' | 'disconnected' | 'no console';

/** Failed opens in a row before the panel asks over HTTP why (and again every as many after). */
export const PROBE_AFTER_FAILURES = 3;

/** The banner text of a 401, also the console's when its probe got one. */
export const NOT_AUTHORISED = 'not authorised: reload to log in';

export type ProbeOutcome = { readonly ok: true } | { readonly ok: false; readonly status: number; readonly message: string };

export interface ProbeVerdict {
  readonly state: ConsoleState;
  /** The state's title (tooltip). */
  readonly detail: string;
  /** Whether reconnecting can still help. */
  readonly retry: boolean;
}

export function shouldProbe(failuresInARow: number): boolean {
  return failuresInARow > 0 && failuresInARow % PROBE_AFTER_FAILURES === 0;
}

/** The probe's answer → what the console panel shows and whether it keeps trying. */
export function probeVerdict(outcome: ProbeOutcome): ProbeVerdict {
  if (outcome.ok) {
    return {
      state: 'disconnected',
      detail: 'the console websocket does not open although GET /console/log answers (a proxy that does not pass websocket upgrades?)',
      retry: true,
    };
  }
  if (outcome.status === 401) return { state: 'disconnected', detail: NOT_AUTHORISED, retry: false };
  if (outcome.status === 501) return { state: 'no console', detail: 'this instance has no host console', retry: false };
  const status = outcome.status > 0 ? `HTTP ${outcome.status}: ` : '';
  return { state: 'disconnected', detail: `the console websocket does not open; GET /console/log: ${status}${outcome.message}`, retry: true };
}
