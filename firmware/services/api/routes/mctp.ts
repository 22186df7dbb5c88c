/**
 * The MCTP stack as `mctp link|address|route|neigh` sees it, the bus owner's
 * endpoints, the astlpc channel, and an mctp-req style echo. Lists keep the
 * kernel's dump order (links by index, routes newest first), so the CLI can
 * print them exactly as mctp(1) would.
 */
import type { FastifyPluginAsync } from 'fastify';
import { echoRequest } from '../../../mctp/echo.js';
import { MCTP_MESSAGE_MAXLEN } from '../../../mctp/constants.js';
import type { MctpInterface } from '../../../mctp/interface.js';
import { routeNet } from '../../../mctp/routes.js';
import { notImplemented } from '../errors.js';
import type { RouteDeps } from '../route-deps.js';
import { eidSchema, endpointSchema, errors, freeObject, linkNameParams, linkSchema, netSchema } from '../schemas.js';

/** Largest echo body: a 64 KiB message minus the type byte and the cc de f0 header. */
export const ECHO_MAX_LEN = MCTP_MESSAGE_MAXLEN - 1 - 3;

export function linkView(i: MctpInterface): Record<string, unknown> {
  return { ...i.snapshot(), running: i.running };
}

const listOf = (items: object) => ({ type: 'array', items: { type: 'object', ...items } }) as const;

export const mctpRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { ctx } = deps;
  const { stack } = ctx;

  app.get('/mctp/links', {
    schema: { summary: 'MCTP interfaces with counters and drop reasons (mctp link)', tags: ['mctp'], response: { 200: { type: 'array', items: linkSchema } } },
    handler: async () => stack.interfaces().map(linkView),
  });

  app.get<{ Params: { name: string } }>('/mctp/links/:name', {
    schema: { summary: 'One MCTP interface', tags: ['mctp'], params: linkNameParams, response: { 200: linkSchema, ...errors(400, 404) } },
    handler: async (request) => linkView(stack.interface(request.params.name)),
  });

  app.get('/mctp/addresses', {
    schema: {
      summary: 'Local EIDs (mctp address)',
      tags: ['mctp'],
      response: {
        200: listOf({ properties: { eid: { type: 'integer' }, net: { type: 'integer' }, iface: { type: 'string' } } }),
      },
    },
    handler: async () => stack.interfaces().flatMap((i) => i.addrs.map((eid) => ({ eid, net: i.net, iface: i.name }))),
  });

  app.get('/mctp/routes', {
    schema: {
      summary: 'The route table, newest first (mctp route)',
      tags: ['mctp'],
      response: {
        200: listOf({
          properties: {
            min: { type: 'integer' },
            max: { type: 'integer' },
            type: { type: 'string', enum: ['unicast', 'local'] },
            net: { type: 'integer', description: 'the network the route belongs to' },
            dev: { type: ['string', 'null'], description: 'egress interface of a direct route' },
            gateway: {
              anyOf: [{ type: 'null' }, { type: 'object', properties: { net: { type: 'integer' }, eid: { type: 'integer' } } }],
              description: 'next hop of a gateway route',
            },
            mtu: { type: 'integer', description: 'route MTU, 0 for none' },
          },
        }),
      },
    },
    handler: async () =>
      stack.routes.list().map((r) => ({
        min: r.min,
        max: r.max,
        type: r.type,
        net: routeNet(r),
        dev: r.dev?.name ?? null,
        gateway: r.gateway ? { net: r.gateway.net, eid: r.gateway.eid } : null,
        mtu: r.mtu,
      })),
  });

  app.get('/mctp/neighbours', {
    schema: {
      summary: 'Neighbour table: EID to link-layer address (mctp neigh)',
      tags: ['mctp'],
      response: {
        200: listOf({
          properties: { eid: { type: 'integer' }, net: { type: 'integer' }, iface: { type: 'string' }, lladdr: { type: 'string', description: 'hex' } },
        }),
      },
    },
    handler: async () =>
      stack.interfaces().flatMap((i) => [...i.neighbours].map(([eid, hw]) => ({ eid, net: i.net, iface: i.name, lladdr: hw.toString('hex') }))),
  });

  app.get('/mctp/endpoints', {
    schema: { summary: "The bus owner's endpoints", tags: ['mctp'], response: { 200: { type: 'array', items: endpointSchema }, ...errors(501) } },
    handler: async () => {
      if (!ctx.endpoints) throw notImplemented('the endpoint list', 'no bus owner is wired into this BMC');
      return ctx.endpoints.list();
    },
  });

  app.get('/mctp/astlpc', {
    schema: { summary: 'astlpc channel state, negotiated version and MTU, counters', tags: ['mctp'], response: { 200: freeObject, ...errors(501) } },
    handler: async () => {
      if (!ctx.astlpc) throw notImplemented('astlpc channel state', 'no astlpc binding is wired into this BMC');
      return ctx.astlpc.stats();
    },
  });

  app.post<{ Body: { eid: number; net?: number; len?: number; timeoutMs?: number } }>('/mctp/echo', {
    schema: {
      summary: 'mctp-req compatible echo (type 0x7e, cc de f0 header) to an EID; answers the round-trip time',
      tags: ['mctp'],
      body: {
        type: 'object',
        required: ['eid'],
        properties: {
          eid: eidSchema,
          net: { ...netSchema, description: 'network, 0 or absent for the default' },
          len: { type: 'integer', minimum: 0, maximum: ECHO_MAX_LEN, default: 1, description: 'bytes after the header (byte i is i & 0xff)' },
          timeoutMs: { type: 'integer', minimum: 1, maximum: 60000, default: 1000 },
        },
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: { eid: { type: 'integer' }, net: { type: 'integer' }, bytes: { type: 'integer' }, rttMs: { type: 'number' } },
        },
        ...errors(400, 502, 503, 504),
      },
    },
    handler: async (request) => {
      const { eid, net = 0, len = 1, timeoutMs = 1000 } = request.body;
      const r = await echoRequest(stack, { eid, net, len, timeoutMs, clock: deps.clock });
      return { eid, net: net || stack.defaultNet, bytes: r.bytes, rttMs: r.rttMs };
    },
  });
};
