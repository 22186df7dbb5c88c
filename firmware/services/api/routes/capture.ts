/** Packet capture per link: start/stop, list, and download of the pcap file. */
import fs from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import type { RouteDeps } from '../route-deps.js';
import { captureSchema, errors, linkNameParams } from '../schemas.js';

export const captureRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { captures } = deps;

  app.get('/mctp/captures', {
    schema: { summary: 'Captures made since the server started', tags: ['capture'], response: { 200: { type: 'array', items: captureSchema }, ...errors(501) } },
    handler: async () => captures.list(),
  });

  app.post<{ Params: { name: string }; Body: { action: 'start' | 'stop'; maxBytes?: number } }>('/mctp/links/:name/capture', {
    schema: {
      summary: 'Start or stop the capture on a link (one per link; pcap, LINUX_SLL, as tcpdump -i mctpN writes)',
      tags: ['capture'],
      params: linkNameParams,
      body: {
        type: 'object',
        required: ['action'],
        properties: {
          action: { type: 'string', enum: ['start', 'stop'] },
          maxBytes: { type: 'integer', minimum: 24, description: 'bound on the file size (default and ceiling: the server limit)' },
        },
        additionalProperties: false,
      },
      response: { 200: captureSchema, ...errors(400, 404, 409, 501) },
    },
    handler: async (request) => {
      const { name } = request.params;
      const { action, maxBytes } = request.body;
      return action === 'start' ? captures.start(name, maxBytes) : captures.stop(name);
    },
  });

  app.get<{ Params: { name: string } }>('/mctp/links/:name/capture', {
    schema: {
      summary: "Download the link's capture (a running one up to its last complete packet)",
      tags: ['capture'],
      params: linkNameParams,
      produces: ['application/vnd.tcpdump.pcap'],
      response: { 200: { description: 'pcap file', type: 'string', format: 'binary' }, ...errors(404, 501) },
    },
    handler: async (request, reply) => {
      const { name } = request.params;
      const { file, length } = captures.download(name);
      reply
        .type('application/vnd.tcpdump.pcap')
        .header('content-disposition', `attachment; filename="${name}.pcap"`)
        .header('content-length', length);
      return reply.send(fs.createReadStream(file, { start: 0, end: Math.max(0, length - 1) }));
    },
  });
};
