/** BMC and host status, and the hardware models' state. */
import type { FastifyPluginAsync } from 'fastify';
import { notImplemented } from '../errors.js';
import type { RouteDeps } from '../route-deps.js';
import { errors, freeObject } from '../schemas.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export const statusRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { ctx } = deps;

  app.get('/', {
    schema: {
      summary: 'API index',
      tags: ['status'],
      response: {
        200: {
          type: 'object',
          properties: { name: { type: 'string' }, version: { type: 'string' }, openapi: { type: 'string' }, docs: { type: 'string' } },
        },
      },
    },
    handler: async () => ({ name: 'bmcemu', version: ctx.version, openapi: '/api/v1/openapi.json', docs: '/api/v1/docs' }),
  });

  app.get('/status', {
    schema: {
      summary: 'BMC and host status: version, uptimes, host power state, links, which parts are wired in',
      tags: ['status'],
      response: {
        200: {
          type: 'object',
          properties: {
            version: { type: 'string' },
            bmc: {
              type: 'object',
              properties: { startedAt: { type: 'string' }, uptimeSeconds: { type: 'number' }, pid: { type: 'integer' } },
            },
            host: {
              type: 'object',
              properties: {
                power: { type: ['string', 'null'] },
                since: { type: ['string', 'null'] },
                uptimeSeconds: {
                  type: ['number', 'null'],
                  description: 'seconds since this boot began (power-on or reset; a reset restarts it); null while not on',
                },
                boot: {
                  type: 'object',
                  description: 'the boot in progress and the milestones it has reached, oldest first (cleared by a reset or power-off)',
                  properties: {
                    id: {
                      type: ['integer', 'null'],
                      description: 'boot id: 1 for the first boot of this BMC, one more for each power-on or reset; null while no boot runs',
                    },
                    startedAt: { type: ['string', 'null'], description: 'when this boot began' },
                    reason: { type: ['string', 'null'], description: 'what began it: power-on or reset' },
                    milestones: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: {
                          name: { type: 'string' },
                          seconds: { type: ['number', 'null'], description: 'seconds since this boot began (power-on or reset), when the source timed it' },
                          time: { type: 'string' },
                        },
                      },
                    },
                  },
                },
              },
            },
            mctp: {
              type: 'object',
              properties: {
                defaultNet: { type: 'integer' },
                links: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: { name: { type: 'string' }, up: { type: 'boolean' }, carrier: { type: 'boolean' }, addrs: { type: 'array', items: { type: 'integer' } } },
                  },
                },
                astlpc: { type: ['string', 'null'], description: 'astlpc channel state' },
                endpoints: { type: ['integer', 'null'] },
                endpointsUnavailable: {
                  type: ['integer', 'null'],
                  description: 'of those, how many are unavailable: the host behind them was reset or is off, and they have not answered since',
                },
              },
            },
            features: { type: 'object', additionalProperties: { type: 'boolean' } },
          },
        },
      },
    },
    handler: async () => {
      const now = deps.now();
      const power = ctx.power?.state ?? null;
      const since = ctx.power ? deps.hub.powerSince : null;
      const boot = ctx.power?.boot ?? null;
      // Uptime counts from the boot (a reset restarts it) when the launcher tracks boots, else from the last power change.
      const upSince = ctx.power?.boot !== undefined ? (boot?.startedAt ?? null) : since;
      const astlpcState = ctx.astlpc?.stats().state;
      const endpoints = ctx.endpoints?.list();
      return {
        version: ctx.version,
        bmc: { startedAt: iso(deps.startedAt), uptimeSeconds: Math.max(0, (now - deps.startedAt) / 1000), pid: process.pid },
        host: {
          power,
          since: iso(since),
          uptimeSeconds: power === 'on' && upSince !== null ? Math.max(0, (now - upSince) / 1000) : null,
          boot: {
            id: boot?.id ?? null,
            startedAt: iso(boot?.startedAt ?? null),
            reason: boot?.reason ?? null,
            milestones: deps.hub
              .current()
              .filter((r) => r.kind === 'boot-milestone' && deps.hub.ofCurrentBoot(r))
              .map((r) => ({ name: String(r.name), seconds: typeof r.seconds === 'number' ? r.seconds : null, time: r.time })),
          },
        },
        mctp: {
          defaultNet: ctx.stack.defaultNet,
          links: ctx.stack.interfaces().map((i) => ({ name: i.name, up: i.up, carrier: i.carrier, addrs: [...i.addrs] })),
          astlpc: typeof astlpcState === 'string' ? astlpcState : null,
          endpoints: endpoints ? endpoints.length : null,
          endpointsUnavailable: endpoints ? endpoints.filter((e) => e.connectivity.toLowerCase() === 'unavailable').length : null,
        },
        features: {
          power: !!ctx.power,
          console: !!ctx.console,
          hardware: !!ctx.hardware,
          endpoints: !!ctx.endpoints,
          astlpc: !!ctx.astlpc,
          capture: !!ctx.runtimeDir,
          ipmi: !!ctx.ipmi,
        },
      };
    },
  });

  app.get('/hardware', {
    schema: {
      summary: "The AST2500 models' state (LPC, KCS, VUART, wires)",
      tags: ['status'],
      response: { 200: freeObject, ...errors(501) },
    },
    handler: async () => {
      if (!ctx.hardware) throw notImplemented('hardware state', 'no hardware models are wired into this BMC');
      return ctx.hardware.snapshot();
    },
  });
};
