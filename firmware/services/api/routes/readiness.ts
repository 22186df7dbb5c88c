/**
 * Readiness without sleeps: the event stream (SSE), the records that hold
 * now, and a long-poll wait for one condition.
 */
import { EventEmitter } from 'node:events';
import type { FastifyPluginAsync } from 'fastify';
import { isCodedError } from '../../../../lib/errors.js';
import { WaitError, waitFor } from '../../../../lib/wait.js';
import { CONDITION_FORMS, parseCondition, type Evaluation } from '../conditions.js';
import { ApiError } from '../errors.js';
import type { ApiEvent } from '../hub.js';
import type { RouteDeps } from '../route-deps.js';
import { errors, eventSchema } from '../schemas.js';
import { openSse } from '../sse.js';

export const WAIT_DEFAULT_TIMEOUT_MS = 30000;
/** Long polls stay well under common client and proxy header timeouts (undici: 300 s). */
export const WAIT_MAX_TIMEOUT_MS = 120000;

export const readinessRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { ctx, hub } = deps;

  app.get('/events', {
    schema: {
      summary: 'Server-sent events (text/event-stream): the records that hold now (replay: true), then live events',
      description:
        'Each event is `id: <epoch>.N` and `data: {json}` with `kind`, `time`, `id` N and `boot` (the host boot it happened in). ' +
        'A reconnect with Last-Event-ID gets the events it missed when the server still has them, else the replay of the current state.',
      tags: ['readiness'],
      produces: ['text/event-stream'],
      headers: { type: 'object', properties: { 'last-event-id': { type: 'string' } } },
      response: { 200: { description: 'an endless text/event-stream', type: 'string' }, ...errors(503) },
    },
    handler: async (request, reply) => {
      const lastId = hub.parseEventId(request.headers['last-event-id']);
      // Over the cap: 503 E_TOO_MANY_STREAMS, answered as any error (nothing is hijacked yet).
      const slot = deps.streams.open('sse');
      reply.hijack();
      const unsubscribe: Array<() => void> = [slot.release];
      const stream = openSse(reply.raw, {
        keepAliveMs: deps.sseKeepAliveMs,
        idPrefix: hub.epoch,
        maxBacklogBytes: deps.streams.maxBacklog('sse'),
        onSlowClient: (queued) => deps.streams.slowClient('sse', queued),
        onClose: () => unsubscribe.forEach((u) => u()),
      });
      // Catch-up and subscription happen in the same turn: nothing falls between them.
      const missed = lastId !== null && lastId > 0 ? hub.since(lastId) : null;
      if (missed) {
        for (const ev of missed) stream.send(ev);
      } else {
        for (const ev of hub.current()) stream.send({ ...ev, replay: true });
      }
      unsubscribe.push(hub.subscribe((ev) => stream.send(ev)));
      unsubscribe.push(deps.onShutdown(() => stream.close()));
    },
  });

  app.get('/readiness', {
    schema: {
      summary: 'The records that hold now (what /events replays on connect), as JSON',
      tags: ['readiness'],
      response: {
        200: {
          type: 'object',
          properties: {
            lastEventId: { type: 'integer' },
            boot: { type: ['integer', 'null'], description: 'the id of the host boot in progress; null while none runs' },
            conditions: { type: 'array', items: { type: 'string' } },
            records: { type: 'array', items: eventSchema },
          },
        },
      },
    },
    handler: async () => ({ lastEventId: hub.lastId, boot: hub.currentBoot, conditions: [...CONDITION_FORMS], records: hub.current() }),
  });

  app.get<{ Querystring: { condition: string; timeoutMs?: number } }>('/wait', {
    schema: {
      summary: 'Long-poll until a condition holds (200), or 408 with what was last seen',
      description:
        `Conditions: ${CONDITION_FORMS.join(', ')}. endpoint:, astlpc-up and milestone: hold only for what happened in the host boot in progress ` +
        '(a reset or power-off voids them); `boot` says which boot that was.',
      tags: ['readiness'],
      querystring: {
        type: 'object',
        required: ['condition'],
        properties: {
          condition: { type: 'string', minLength: 1, maxLength: 128 },
          timeoutMs: { type: 'integer', minimum: 0, maximum: WAIT_MAX_TIMEOUT_MS, default: WAIT_DEFAULT_TIMEOUT_MS },
        },
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: {
            condition: { type: 'string' },
            met: { type: 'boolean' },
            waitedMs: { type: 'number' },
            boot: { type: ['integer', 'null'], description: 'the host boot in progress when the condition was met' },
            observed: { type: 'object', additionalProperties: true },
          },
        },
        ...errors(400, 408, 501, 503),
      },
    },
    handler: async (request, reply) => {
      const { condition: text, timeoutMs = WAIT_DEFAULT_TIMEOUT_MS } = request.query;
      const cond = parseCondition(text);
      cond.check(ctx);
      const start = deps.clock.now();
      const first = cond.evaluate(ctx, hub);
      if (first.met) return { condition: text, met: true, waitedMs: 0, boot: hub.currentBoot, observed: first.observed };
      const heldEvent = (): ApiEvent | null => hub.current().filter((e) => related(e, cond.relatedKey)).pop() ?? null;
      const timeoutError = (last: Evaluation, lastEvent: ApiEvent | null): ApiError =>
        new ApiError(408, 'E_WAIT_TIMEOUT', `condition ${text} did not hold within ${timeoutMs} ms`, {
          condition: text,
          waitedMs: deps.clock.now() - start,
          lastSeen: last.observed,
          lastEvent,
        });
      // timeoutMs=0 means "check once": answer now rather than after a zero-length timer.
      if (timeoutMs === 0) throw timeoutError(first, heldEvent());

      // One emitter for what the wait listens to: hub events, and the server shutting down.
      const feed = new EventEmitter();
      const unsubscribe = [hub.subscribe((ev) => feed.emit('event', ev)), deps.onShutdown(() => feed.emit('shutdown'))];
      // The client gave up: stop listening (the reply goes nowhere).
      const gone = new AbortController();
      const onGone = (): void => gone.abort();
      reply.raw.on('close', onGone);
      let last: Evaluation = first;
      let lastEvent = heldEvent();
      try {
        await waitFor<[ApiEvent]>(
          feed,
          'event',
          (ev) => {
            if (related(ev, cond.relatedKey)) lastEvent = ev;
            last = cond.evaluate(ctx, hub);
            return last.met;
          },
          { clock: deps.clock, timeoutMs, signal: gone.signal, failOn: ['shutdown'], what: `condition ${text}` },
        );
        return { condition: text, met: true, waitedMs: deps.clock.now() - start, boot: hub.currentBoot, observed: last.observed };
      } catch (e) {
        if (isCodedError(e, 'ERR_WAIT_TIMEOUT', WaitError)) throw timeoutError(last, lastEvent);
        if (isCodedError(e, 'ERR_WAIT_FAILED', WaitError)) throw new ApiError(503, 'E_SHUTTING_DOWN', `the server is closing; ${text} was not met`);
        if (isCodedError(e, 'ERR_WAIT_ABORTED', WaitError)) return reply;
        throw e;
      } finally {
        for (const u of unsubscribe) u();
        reply.raw.off('close', onGone);
      }
    },
  });
};

/** Whether an event concerns the state slot (or slot prefix) a condition watches. */
function related(ev: ApiEvent, key: string): boolean {
  const k =
    ev.kind === 'host-power'
      ? 'host-power'
      : ev.kind === 'link-up' || ev.kind === 'link-down'
        ? `link:${String(ev.iface)}`
        : ev.kind.startsWith('address-')
          ? `address:${String(ev.iface)}:${String(ev.eid)}`
          : ev.kind.startsWith('endpoint-')
            ? `endpoint:${String(ev.net)}:${String(ev.eid)}`
            : ev.kind === 'astlpc-state'
              ? 'astlpc'
              : ev.kind === 'boot-milestone'
                ? `milestone:${String(ev.name)}`
                : '';
  if (k === '') return false;
  // Keys ending in ':' name a family (any address, any endpoint); others one slot.
  return key.endsWith(':') ? k.startsWith(key) : k === key;
}
