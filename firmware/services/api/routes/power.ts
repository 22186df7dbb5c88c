/** Host power: state, and the actions a BMC offers (on, off, soft-off, reset, cycle). */
import type { FastifyPluginAsync } from 'fastify';
import type { PowerPart } from '../context.js';
import { notImplemented } from '../errors.js';
import type { RouteDeps } from '../route-deps.js';
import { errors } from '../schemas.js';

export const POWER_ACTIONS = ['on', 'off', 'soft-off', 'reset', 'cycle'] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];

const powerSchema = {
  type: 'object',
  properties: {
    state: { type: 'string', description: 'off, powering-on, on, powering-off, resetting (the launcher may add others)' },
    since: { type: ['string', 'null'] },
    uptimeSeconds: { type: ['number', 'null'], description: 'seconds since this boot began (a reset restarts it); null while not on' },
    actions: { type: 'array', items: { type: 'string' } },
  },
} as const;

function run(power: PowerPart, action: PowerAction): Promise<void> {
  switch (action) {
    case 'on':
      return power.on();
    case 'off':
      return power.off();
    case 'soft-off':
      return power.softOff();
    case 'reset':
      return power.reset();
    case 'cycle':
      return power.cycle();
  }
}

export const powerRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { ctx } = deps;
  const need = (): PowerPart => {
    if (!ctx.power) throw notImplemented('host power control', 'no QEMU host launcher is wired into this BMC');
    return ctx.power;
  };
  const view = (power: PowerPart): Record<string, unknown> => {
    const since = deps.hub.powerSince;
    // As GET /status: from the boot when the launcher tracks boots, else from the last power change.
    const upSince = power.boot !== undefined ? (power.boot?.startedAt ?? null) : since;
    return {
      state: power.state,
      since: since === null ? null : new Date(since).toISOString(),
      uptimeSeconds: power.state === 'on' && upSince !== null ? Math.max(0, (deps.now() - upSince) / 1000) : null,
      actions: [...POWER_ACTIONS],
    };
  };

  app.get('/host/power', {
    schema: { summary: 'Host power state', tags: ['host'], response: { 200: powerSchema, ...errors(501) } },
    handler: async () => view(need()),
  });

  app.post<{ Body: { action: PowerAction } }>('/host/power', {
    schema: {
      summary: 'Run a power action; answers when it has completed',
      tags: ['host'],
      body: {
        type: 'object',
        required: ['action'],
        properties: { action: { type: 'string', enum: [...POWER_ACTIONS] } },
        additionalProperties: false,
      },
      response: {
        200: { ...powerSchema, properties: { ...powerSchema.properties, action: { type: 'string' } } },
        ...errors(400, 409, 501, 503, 504),
      },
    },
    handler: async (request) => {
      const power = need();
      const { action } = request.body;
      request.log.info({ action }, 'host power action');
      await run(power, action);
      return { action, ...view(power) };
    },
  });
};
