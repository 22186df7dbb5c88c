/** GET /metrics: Prometheus text exposition 0.0.4 (see ../metrics.ts). */
import type { FastifyPluginAsync } from 'fastify';
import { METRICS_CONTENT_TYPE, renderMetrics } from '../metrics.js';
import type { RouteDeps } from '../route-deps.js';

export const metricsRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  app.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics (text exposition format 0.0.4)',
      tags: ['metrics'],
      produces: ['text/plain'],
      response: { 200: { type: 'string' } },
    },
    handler: async (_request, reply) =>
      reply.type(METRICS_CONTENT_TYPE).send(
        renderMetrics({ ctx: deps.ctx, now: deps.now, startedAt: deps.startedAt, consoleBytes: deps.consoleBytes, streams: deps.streams.stats() }),
      ),
  });
};
