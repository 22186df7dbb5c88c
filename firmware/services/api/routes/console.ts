/**
 * The host console: the rolling log as text, and a live two-way websocket
 * (binary frames out: bytes from the host; any frame in: bytes typed to the
 * host). The console never waits for a websocket client: one that falls too
 * far behind is disconnected with close code 1013 and can reconnect.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsolePart } from '../context.js';
import { ApiError, notImplemented } from '../errors.js';
import type { RouteDeps } from '../route-deps.js';
import { errors } from '../schemas.js';

/** Bytes queued for one websocket client before it is cut off. */
export const CONSOLE_WS_MAX_BACKLOG = 1 << 20;

/** The websocket, as much of the `ws` API as this file uses. */
interface ConsoleSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Buffer, opts: { binary: boolean }): void;
  close(code?: number, reason?: string): void;
  on(event: 'message', fn: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): void;
  on(event: 'close' | 'error', fn: () => void): void;
}

const OPEN = 1;

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

export const consoleRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { ctx } = deps;
  const need = (): ConsolePart => {
    if (!ctx.console) throw notImplemented('the host console', 'no console service is wired into this BMC');
    return ctx.console;
  };

  app.get<{ Querystring: { tail?: number } }>('/console/log', {
    schema: {
      summary: 'The rolling console log (raw bytes as text)',
      tags: ['console'],
      querystring: {
        type: 'object',
        properties: { tail: { type: 'integer', minimum: 1, description: 'only the last N bytes' } },
        additionalProperties: false,
      },
      produces: ['text/plain'],
      response: { 200: { type: 'string' }, ...errors(400, 501) },
    },
    handler: async (request, reply) => {
      const log = need().log();
      const { tail } = request.query;
      const out = tail !== undefined && tail < log.length ? log.subarray(log.length - tail) : log;
      return reply.type('text/plain; charset=utf-8').send(out);
    },
  });

  app.route<{ Querystring: { replay?: boolean } }>({
    method: 'GET',
    url: '/console/ws',
    schema: {
      summary: 'Live two-way console over a websocket (upgrade required); ?replay=true sends the rolling log first',
      tags: ['console'],
      querystring: {
        type: 'object',
        properties: { replay: { type: 'boolean', default: false } },
        additionalProperties: false,
      },
      response: { ...errors(400, 426, 501) },
    },
    preValidation: async () => {
      need();
    },
    handler: async (_request: FastifyRequest, reply: FastifyReply) => {
      reply.header('upgrade', 'websocket');
      throw new ApiError(426, 'E_UPGRADE_REQUIRED', 'this is a websocket endpoint: connect with Upgrade: websocket');
    },
    wsHandler: (socket: ConsoleSocket, request: FastifyRequest<{ Querystring: { replay?: boolean } }>) => {
      const con = need();
      const counting = !con.stats;
      const send = (chunk: Buffer): void => {
        if (socket.readyState !== OPEN) return;
        if (socket.bufferedAmount > CONSOLE_WS_MAX_BACKLOG) {
          socket.close(1013, 'console client too slow; reconnect');
          return;
        }
        socket.send(chunk, { binary: true });
      };
      // Subscribing and taking the log in the same turn: no byte is lost or doubled between them.
      const unsubscribe = con.onData(send);
      if (request.query.replay) {
        const log = con.log();
        if (log.length) send(log);
      }
      socket.on('message', (data) => {
        const buf = toBuffer(data);
        if (!buf.length) return;
        con.write(buf);
        if (counting) deps.consoleBytes.toHostBytes += buf.length;
      });
      const stopShutdown = deps.onShutdown(() => socket.close(1001, 'server closing'));
      const done = (): void => {
        unsubscribe();
        stopShutdown();
      };
      socket.on('close', done);
      socket.on('error', done);
    },
  });
};
