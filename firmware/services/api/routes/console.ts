/**
 * The host console: the rolling log as text, and a live two-way websocket
 * (binary frames out: bytes from the host; any frame in: bytes typed to the
 * host). The console never waits for a websocket client: one that falls too
 * far behind is disconnected with close code 1013 and can reconnect; if it
 * does not take the close frame within CONSOLE_WS_CLOSE_GRACE_MS either (it
 * is not reading at all) its connection is cut, which frees its backlog.
 * How many consoles may be open, and how far behind one may fall, are the
 * server's stream limits (streams.ts).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TimerHandle } from '../../../../lib/clock.js';
import type { ConsolePart } from '../context.js';
import { ApiError, notImplemented } from '../errors.js';
import type { RouteDeps } from '../route-deps.js';
import { errors } from '../schemas.js';
import type { StreamSlot } from '../streams.js';

/** Bytes queued for one websocket client before it is cut off (the default of the server's consoleMaxBacklogBytes). */
export const CONSOLE_WS_MAX_BACKLOG = 1 << 20;

/** How long a client dropped for falling behind has to take the 1013 close before its connection is cut. */
export const CONSOLE_WS_CLOSE_GRACE_MS = 1000;

/** The websocket, as much of the `ws` API as this file uses. */
interface ConsoleSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Buffer, opts: { binary: boolean }): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
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
      response: { ...errors(400, 426, 501, 503) },
    },
    preValidation: async () => {
      need();
      // Refuse the upgrade (503 E_TOO_MANY_STREAMS) while every console slot is taken.
      deps.streams.check('console');
    },
    handler: async (_request: FastifyRequest, reply: FastifyReply) => {
      reply.header('upgrade', 'websocket');
      throw new ApiError(426, 'E_UPGRADE_REQUIRED', 'this is a websocket endpoint: connect with Upgrade: websocket');
    },
    wsHandler: (socket: ConsoleSocket, request: FastifyRequest<{ Querystring: { replay?: boolean } }>) => {
      const con = need();
      let slot: StreamSlot;
      try {
        slot = deps.streams.open('console');
      } catch {
        // Another upgrade took the last slot since preValidation: refused (and counted) all the same.
        socket.close(1013, 'too many console clients; retry later');
        return;
      }
      const counting = !con.stats;
      const maxBacklog = deps.streams.maxBacklog('console');
      let cut: TimerHandle | null = null;
      const send = (chunk: Buffer): void => {
        if (socket.readyState !== OPEN) return;
        const queued = socket.bufferedAmount;
        if (queued > maxBacklog) {
          deps.streams.slowClient('console', queued);
          socket.close(1013, 'console client too slow; reconnect');
          cut = deps.clock.setTimeout(() => socket.terminate(), CONSOLE_WS_CLOSE_GRACE_MS);
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
        cut?.cancel();
        slot.release();
      };
      socket.on('close', done);
      socket.on('error', done);
    },
  });
};
