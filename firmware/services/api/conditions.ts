/**
 * Readiness conditions a client can wait on (GET /api/v1/wait, bmcemu wait).
 * Each is evaluated against the live parts (so it is exact, not a replay of
 * old news) and re-evaluated on every hub event. A condition whose part is
 * not wired in answers 501 rather than waiting for something that cannot
 * happen.
 *
 * What the host does is true for one boot only: endpoint:<eid>, astlpc-up
 * and milestone:<name> hold only when the hub's record of it belongs to the
 * boot in progress (when the launcher tracks boots), so a wait that starts
 * right after a reset is not met by what the previous boot did.
 */
import type { ApiContext, EndpointInfo } from './context.js';
import { ApiError, notImplemented } from './errors.js';
import type { EventHub } from './hub.js';

export interface Evaluation {
  met: boolean;
  /** What the condition looked at, for the client (and for a 408's "last seen"). */
  observed: Record<string, unknown>;
}

export interface Condition {
  /** The text as given. */
  text: string;
  /** State-slot prefix of the hub records that concern this condition (for "last event"). */
  relatedKey: string;
  /** Throws a 501 ApiError when the part it needs is missing. */
  check(ctx: ApiContext): void;
  evaluate(ctx: ApiContext, hub: EventHub): Evaluation;
}

/** The condition forms, for error messages and docs. */
export const CONDITION_FORMS = [
  'host-on',
  'host-off',
  'power:<state>',
  'link-up:<ifname>',
  'link-down:<ifname>',
  'address:<eid>',
  'endpoint:<eid>',
  'astlpc-up',
  'milestone:<name>',
] as const;

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

function eidArg(text: string, arg: string): number {
  const n = /^(0x[0-9a-f]+|\d+)$/i.test(arg) ? Number(arg) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 255) throw unknown(text, `"${arg}" is not an EID (0..255)`);
  return n;
}

function unknown(text: string, why?: string): ApiError {
  return new ApiError(400, 'E_BAD_CONDITION', `unknown condition "${text}"${why ? ` (${why})` : ''}; valid forms: ${CONDITION_FORMS.join(', ')}`);
}

const needPower = (ctx: ApiContext): void => {
  if (!ctx.power) throw notImplemented('waiting on host power', 'no host power control is wired into this BMC');
};

function powerCondition(text: string, want: string): Condition {
  return {
    text,
    relatedKey: 'host-power',
    check: needPower,
    evaluate: (ctx) => ({ met: ctx.power!.state === want, observed: { power: ctx.power!.state } }),
  };
}

/** Parse a condition; 400 for anything unknown or malformed. */
export function parseCondition(text: string): Condition {
  const colon = text.indexOf(':');
  const head = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? '' : text.slice(colon + 1);
  const needArg = (): void => {
    if (!arg || !NAME.test(arg)) throw unknown(text, `${head}: needs a name after the colon`);
  };
  switch (head) {
    case 'host-on':
    case 'host-off':
      if (colon >= 0) throw unknown(text);
      return powerCondition(text, head === 'host-on' ? 'on' : 'off');
    case 'power':
      needArg();
      return powerCondition(text, arg);
    case 'link-up':
    case 'link-down': {
      needArg();
      const wantUp = head === 'link-up';
      return {
        text,
        relatedKey: `link:${arg}`,
        check: () => {},
        evaluate: (ctx) => {
          const i = ctx.stack.findInterface(arg);
          if (!i) return { met: !wantUp, observed: { iface: arg, exists: false } };
          return { met: i.running === wantUp, observed: { iface: arg, exists: true, up: i.up, carrier: i.carrier } };
        },
      };
    }
    case 'address': {
      const eid = eidArg(text, arg);
      return {
        text,
        relatedKey: 'address:',
        check: () => {},
        evaluate: (ctx) => {
          const on = ctx.stack.interfaces().filter((i) => i.addrs.includes(eid)).map((i) => i.name);
          return { met: on.length > 0, observed: { eid, ifaces: on } };
        },
      };
    }
    case 'endpoint': {
      const eid = eidArg(text, arg);
      return {
        text,
        relatedKey: 'endpoint:',
        check: (ctx) => {
          if (!ctx.endpoints) throw notImplemented('waiting on endpoints', 'no bus owner (endpoint table) is wired into this BMC');
        },
        evaluate: (ctx, hub) => {
          const list = ctx.endpoints!.list();
          // Assigned, not known to be gone, and (re)confirmed in this boot.
          const holds = (e: EndpointInfo): boolean =>
            e.eid === eid && e.connectivity.toLowerCase() !== 'unavailable' && hub.ofCurrentBoot(hub.held(`endpoint:${e.net}:${e.eid}`));
          return {
            met: list.some(holds),
            observed: { eid, endpoints: list.map((e) => e.eid), connectivity: list.find((e) => e.eid === eid)?.connectivity ?? null, boot: hub.currentBoot },
          };
        },
      };
    }
    case 'astlpc-up':
      if (colon >= 0) throw unknown(text);
      return {
        text,
        relatedKey: 'astlpc',
        check: (ctx) => {
          if (!ctx.astlpc) throw notImplemented('waiting on the astlpc channel', 'no astlpc binding is wired into this BMC');
        },
        evaluate: (ctx, hub) => {
          const s = ctx.astlpc!.stats();
          const met = s.carrier === true && hub.ofCurrentBoot(hub.held('astlpc'));
          return { met, observed: { state: s.state ?? null, carrier: s.carrier === true, boot: hub.currentBoot } };
        },
      };
    case 'milestone':
      needArg();
      return {
        text,
        relatedKey: `milestone:${arg}`,
        check: () => {},
        evaluate: (_ctx, hub) => ({
          met: hub.ofCurrentBoot(hub.held(`milestone:${arg}`)),
          observed: {
            milestone: arg,
            reached: hub
              .heldKeys('milestone:')
              .filter((k) => hub.ofCurrentBoot(hub.held(k)))
              .map((k) => k.slice('milestone:'.length)),
            boot: hub.currentBoot,
          },
        }),
      };
    default:
      throw unknown(text);
  }
}
