/**
 * The OpenAPI document (built by @fastify/swagger from the routes' own
 * schemas, so it cannot drift from what is validated) at
 * /api/v1/openapi.json, and the same rendered for people at /api/v1/docs.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export async function registerOpenApi(app: FastifyInstance, version: string, withToken: boolean): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'bmcemu status API',
        version,
        description:
          'Status, power, MCTP, IPMI, readiness and console of an emulated AST2500 BMC. Errors are JSON {statusCode, error, code, message}; ' +
          'a part not wired into this BMC answers 501. See docs/api.md.',
      },
      tags: [
        { name: 'status' },
        { name: 'host' },
        { name: 'mctp' },
        { name: 'capture' },
        { name: 'console' },
        { name: 'ipmi' },
        { name: 'readiness' },
        { name: 'metrics' },
      ],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(withToken ? { security: [{ bearer: [] }] } : {}),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/v1/docs' });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
