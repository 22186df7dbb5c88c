/**
 * The status API server factory: builds the Fastify instance from an
 * ApiContext, enforces the listen policy (loopback, or a bearer token), and
 * on listen writes `api.json` into the runtime directory so the CLI can find
 * the instance (removed again on close).
 *
 * It also bounds what clients can make it hold: at most maxConnections open
 * connections (more are closed on accept), at most so many SSE streams and
 * console websockets (more get 503 E_TOO_MANY_STREAMS), and at most so many
 * bytes queued for one slow stream client (streams.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Clock } from '../../../lib/clock.js';
import { ConfigError } from '../../../lib/errors.js';
import { API_JSON } from '../../../transport/runtime-files.js';
import { checkListenPolicy, installAuth } from './auth.js';
import { CaptureManager, DEFAULT_CAPTURE_MAX_BYTES } from './capture.js';
import type { ApiContext } from './context.js';
import { dashboardRoutes, type DashboardAssets } from './dashboard.js';
import { installErrorHandlers } from './errors.js';
import { EventHub } from './hub.js';
import { DEFAULT_STREAM_LIMITS, StreamRegistry, checkStreamLimits, type StreamLimits, type StreamStats } from './streams.js';
import { registerOpenApi } from './openapi.js';
import type { RouteDeps } from './route-deps.js';
import { captureRoutes } from './routes/capture.js';
import { consoleRoutes } from './routes/console.js';
import { ipmiRoutes } from './routes/ipmi.js';
import { metricsRoutes } from './routes/metrics.js';
import { mctpRoutes } from './routes/mctp.js';
import { powerRoutes } from './routes/power.js';
import { readinessRoutes } from './routes/readiness.js';
import { statusRoutes } from './routes/status.js';

export const API_PREFIX = '/api/v1';

export interface ApiServerOptions {
  /** Address to listen on (default 127.0.0.1). Anything but loopback requires `token`. */
  host?: string;
  /** TCP port (default 0: any free port; api.json says which). */
  port?: number;
  /** Bearer token required on every request when set (at least 16 characters). */
  token?: string;
  /** The project's pino logger, or true/false for Fastify's own (default false). */
  logger?: FastifyBaseLogger | boolean;
  /** Clock for the API's own timeouts (waits, echo). Default: the stack's clock. */
  clock?: Clock;
  /** Wall clock, epoch ms. Default Date.now. */
  now?: () => number;
  /** Ceiling and default for a capture file's size (default 16 MiB). */
  captureMaxBytes?: number;
  /** Comment lines on idle SSE streams (default 15000 ms; 0 = none). */
  sseKeepAliveMs?: number;
  /** Where the web dashboard's files are (default: this checkout's), or false to serve none. */
  dashboard?: DashboardAssets | false;
  /** Connections open at once (default 256); the server closes more as they are accepted. */
  maxConnections?: number;
  /** Caps on SSE streams and console websockets, and on one slow client's backlog (defaults: DEFAULT_STREAM_LIMITS). */
  streams?: Partial<StreamLimits>;
}

export const DEFAULT_MAX_CONNECTIONS = 256;

export interface ApiAddress {
  /** What a client on this machine connects to (a wildcard listen becomes loopback). */
  url: string;
  host: string;
  port: number;
}

/** What api.json holds. The token is deliberately not in it. */
export interface ApiJson extends ApiAddress {
  pid: number;
  version: string;
  auth: 'bearer' | 'none';
  startedAt: string;
}

export interface ApiServer {
  readonly app: FastifyInstance;
  readonly hub: EventHub;
  /** Open streams, refusals and drops (also in /metrics). */
  streamStats(): StreamStats;
  readonly address: ApiAddress | null;
  listen(): Promise<ApiAddress>;
  close(): Promise<void>;
}

function clientUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** Write then rename, so a CLI polling for the file never reads half of it. */
function writeApiJson(dir: string, content: ApiJson): string {
  const file = path.join(dir, API_JSON);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}

/** Remove api.json only if it is still ours (another instance may have taken the directory over). */
function removeApiJson(file: string, url: string): void {
  try {
    const held = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ApiJson>;
    if (held.pid === process.pid && held.url === url) fs.rmSync(file);
  } catch {
    /* gone or unreadable: nothing of ours to remove */
  }
}

export async function createApiServer(ctx: ApiContext, opts: ApiServerOptions = {}): Promise<ApiServer> {
  const host = opts.host ?? '127.0.0.1';
  checkListenPolicy(host, opts.token);
  const now = opts.now ?? Date.now;
  const clock = opts.clock ?? ctx.stack.clock;
  const maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!Number.isSafeInteger(maxConnections) || maxConnections < 1) {
    throw new ConfigError(`API maxConnections must be a positive integer, not ${opts.maxConnections}`);
  }
  const streamLimits = { ...DEFAULT_STREAM_LIMITS, ...opts.streams };
  checkStreamLimits(streamLimits);

  const logger = opts.logger ?? false;
  const app = Fastify({
    ...(typeof logger === 'object' ? { loggerInstance: logger } : { logger }),
    // Strict request validation: unknown fields are a 400 rather than silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    // Open SSE streams and long polls are ended by the shutdown hooks first; nothing else should hold close() up.
    forceCloseConnections: true,
  });

  // Node closes a connection accepted over the cap at once and says 'drop'.
  app.server.maxConnections = maxConnections;
  const streams = new StreamRegistry({ limits: streamLimits, maxConnections, clock, log: (line) => app.log.warn(line) });
  app.server.on('drop', () => streams.connectionRefused());

  const hub = new EventHub(ctx, { now });
  const captures = new CaptureManager(ctx.stack, {
    dir: ctx.runtimeDir,
    maxBytes: opts.captureMaxBytes ?? DEFAULT_CAPTURE_MAX_BYTES,
    now,
  });
  const shutdown = new Set<() => void>();
  const consoleBytes = { fromHostBytes: 0, toHostBytes: 0 };
  const deps: RouteDeps = {
    ctx,
    hub,
    captures,
    clock,
    now,
    startedAt: ctx.startedAt ?? now(),
    consoleBytes,
    sseKeepAliveMs: opts.sseKeepAliveMs ?? 15000,
    streams,
    onShutdown(fn) {
      shutdown.add(fn);
      return () => shutdown.delete(fn);
    },
  };

  installErrorHandlers(app);
  // Every answer: never let a browser guess a type (the console log is text the guest controls).
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });
  // Before @fastify/websocket's own preClose (which closes sockets without a
  // code): ours ends SSE streams and long polls and closes consoles with 1001.
  app.addHook('preClose', async () => {
    for (const fn of [...shutdown]) fn();
    shutdown.clear();
  });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  // After the websocket plugin: its onRequest hook marks upgrade requests, so a
  // refused upgrade (401) still has its socket closed.
  await installAuth(app, { listenHost: host, ...(opts.token ? { token: opts.token } : {}) });
  await registerOpenApi(app, ctx.version, !!opts.token);
  for (const plugin of [statusRoutes, powerRoutes, mctpRoutes, captureRoutes, consoleRoutes, readinessRoutes, ipmiRoutes]) {
    await app.register(plugin, { ...deps, prefix: API_PREFIX });
  }
  await app.register(metricsRoutes, deps);
  if (opts.dashboard !== false) await app.register(dashboardRoutes, opts.dashboard ? { assets: opts.dashboard } : {});

  hub.start();
  const stopCounting = ctx.console && !ctx.console.stats ? ctx.console.onData((c) => (consoleBytes.fromHostBytes += c.length)) : null;

  let address: ApiAddress | null = null;
  let apiJson: string | null = null;

  app.addHook('onClose', async () => {
    captures.closeAll();
    hub.stop();
    streams.flushLog();
    stopCounting?.();
    if (apiJson && address) removeApiJson(apiJson, address.url);
  });

  try {
    await app.ready();
  } catch (e) {
    await app.close();
    throw e;
  }

  return {
    app,
    hub,
    streamStats: () => streams.stats(),
    get address() {
      return address;
    },
    async listen() {
      checkListenPolicy(host, opts.token);
      await app.listen({ host, port: opts.port ?? 0 });
      const a = app.server.address();
      const port = a && typeof a === 'object' ? a.port : (opts.port ?? 0);
      address = { url: clientUrl(host, port), host, port };
      if (ctx.runtimeDir) {
        apiJson = writeApiJson(ctx.runtimeDir, {
          ...address,
          pid: process.pid,
          version: ctx.version,
          auth: opts.token ? 'bearer' : 'none',
          startedAt: new Date(deps.startedAt).toISOString(),
        });
      }
      return address;
    },
    close: () => app.close(),
  };
}
