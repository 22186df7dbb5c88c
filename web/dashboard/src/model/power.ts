/**
 * Host power as the panel shows it: the state from GET/POST /host/power and
 * which actions make sense from it.
 *
 * DOM-free: also compiled and unit-tested under Node.
 */
import type { PowerAction } from './api-types.js';
import { arr, num, rec, str } from './coerce.js';

/** The buttons, in the order drawn. */
export const POWER_ACTIONS: readonly PowerAction[] = Object.freeze(['on', 'off', 'soft-off', 'reset', 'cycle']);

/** What the badge says when the API answers 501 (the instance runs without a host). */
export const NO_HOST = 'no host';

export interface PowerView {
  /** The API's state string verbatim ("unknown" when it sent none). */
  readonly state: string;
  readonly uptimeSeconds: number | null;
  /** The actions the server offers; null when it didn't say (then every button is judged by state alone). */
  readonly offered: readonly string[] | null;
}

export function powerView(body: unknown): PowerView {
  const b = rec(body);
  const offered = Array.isArray(b.actions) ? arr(b.actions).filter((a): a is string => typeof a === 'string') : null;
  return { state: str(b.state) ?? 'unknown', uptimeSeconds: num(b.uptimeSeconds), offered };
}

/**
 * Whether a button is worth pressing: "on" from off; the rest from on. In a
 * transitional or unknown state nothing is, rather than queueing an action the
 * server would refuse with 409.
 */
export function actionEnabled(action: string, view: PowerView): boolean {
  if (view.offered !== null && !view.offered.includes(action)) return false;
  if (action === 'on') return view.state === 'off';
  return (POWER_ACTIONS as readonly string[]).includes(action) && view.state === 'on';
}
