/**
 * The BMC's IPMI service: its state and counters, every message the router
 * handled (the per-bus log rings, followable by long poll), a raw request
 * as `ipmitool raw` sends one, the SEL decoded and cleared, and FRU device 0
 * parsed.
 *
 * Following the log is a long poll (`?after=SEQ&wait=MS`) rather than an
 * event kind on /events: IPMI traffic comes in bursts of hundreds of
 * messages (an `ipmitool sdr` walk), which would push the readiness records
 * out of the hub's bounded history; the router's own rings and sequence
 * numbers already say what a follower missed.
 */
import { EventEmitter } from 'node:events';
import type { FastifyPluginAsync } from 'fastify';
import { isCodedError } from '../../../../lib/errors.js';
import { WaitError, waitFor } from '../../../../lib/wait.js';
import { describeCompletionCode } from '../../../ipmi/completion-codes.js';
import { PRIVILEGE } from '../../../ipmi/message.js';
import type { MessageLogEntry } from '../../../ipmi/router.js';
import { decodeSelRecord } from '../../../ipmi/storage/sel-decode.js';
import type { IpmiPart } from '../context.js';
import { ApiError, notImplemented } from '../errors.js';
import { fruView, logEntryView } from '../ipmi-view.js';
import type { RouteDeps } from '../route-deps.js';
import { errors, freeObject } from '../schemas.js';

/** The router bus raw requests from the API arrive on. */
export const API_IPMI_BUS = 'api';
/** Request data bytes a raw request may carry: as many as `ipmitool raw` accepts on its command line. */
export const RAW_MAX_DATA = 256;
export const LOG_DEFAULT_LIMIT = 100;
export const LOG_MAX_LIMIT = 1000;
/** Long polls stay well under common client and proxy header timeouts, as /wait does. */
export const LOG_MAX_WAIT_MS = 120000;

const byte = { type: 'integer', minimum: 0, maximum: 255 } as const;

const logEntrySchema = {
  type: 'object',
  properties: {
    seq: { type: 'integer', description: 'position in the router’s message order, shared by every bus' },
    bus: { type: 'string', description: '"system" (the host through QEMU), "api" (raw requests from here), ...' },
    requester: { type: ['string', 'null'] },
    netfn: { type: 'integer' },
    netfnName: { type: ['string', 'null'] },
    cmd: { type: 'integer' },
    name: { type: ['string', 'null'], description: 'the registered command, null when none was' },
    cc: { type: 'integer' },
    ccText: { type: 'string' },
    time: { type: 'string', format: 'date-time' },
    durationMs: { type: 'number' },
  },
} as const;

const selEntrySchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string', enum: ['system-event', 'oem-timestamped', 'oem'] },
    recordType: { type: 'integer' },
    timestamp: { type: 'integer', description: 'SEL seconds as stored (below 0x20000000: since BMC start)' },
    time: { type: ['string', 'null'], description: 'the timestamp as ISO 8601; null for pre-init and unspecified stamps' },
    generatorId: { type: 'integer' },
    evmRev: { type: 'integer' },
    sensorType: { type: 'integer' },
    sensorTypeName: { type: 'string' },
    sensorNumber: { type: 'integer' },
    eventType: { type: 'integer', description: 'event/reading type code' },
    direction: { type: 'string', enum: ['assertion', 'deassertion'] },
    eventData: { type: 'array', items: { type: 'integer' } },
    offset: { type: 'integer' },
    event: { type: ['string', 'null'], description: 'the event in ipmitool’s words, null when it has none' },
    manufacturerId: { type: 'integer' },
    oemData: { type: 'string', description: 'hex' },
    raw: { type: 'string', description: 'the 16 bytes, hex' },
  },
} as const;

const selInfoSchema = {
  type: 'object',
  properties: {
    entries: { type: 'integer' },
    capacity: { type: 'integer' },
    freeBytes: { type: 'integer' },
    lastAddTs: { type: 'integer' },
    lastEraseTs: { type: 'integer' },
    overflow: { type: 'boolean' },
  },
} as const;

const fruField = { type: ['string', 'null'] } as const;
const fruArea = (fields: readonly string[], extra: Record<string, unknown> = {}) =>
  ({
    type: ['object', 'null'],
    properties: {
      offset: { type: 'integer' },
      length: { type: 'integer' },
      checksumOk: { type: 'boolean' },
      ...extra,
      ...Object.fromEntries(fields.map((f) => [f, fruField])),
      custom: { type: 'array', items: { type: 'string' } },
    },
  }) as const;

const fruSchema = {
  type: 'object',
  properties: {
    deviceId: { type: 'integer' },
    size: { type: 'integer' },
    headerOk: { type: 'boolean' },
    problems: { type: 'array', items: { type: 'string' } },
    chassis: fruArea(['partNumber', 'serialNumber'], { type: { type: 'integer', description: 'SMBIOS chassis type' } }),
    board: fruArea(['manufacturer', 'productName', 'serialNumber', 'partNumber', 'fruFileId'], { mfgDate: { type: ['string', 'null'] } }),
    product: fruArea(['manufacturer', 'name', 'partNumber', 'version', 'serialNumber', 'assetTag', 'fruFileId']),
  },
} as const;

interface LogQuery {
  bus?: string;
  after?: number;
  limit?: number;
  wait?: number;
}

export const ipmiRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { ctx } = deps;
  const need = (): IpmiPart => {
    if (!ctx.ipmi) throw notImplemented('IPMI', 'no IPMI service is wired into this BMC');
    return ctx.ipmi;
  };
  // Router times are on the (monotonic) clock; now() minus their age is the wall-clock time.
  const toWall = (clockMs: number): number => deps.now() - (deps.clock.now() - clockMs);

  app.get('/ipmi', {
    schema: {
      summary: 'IPMI service state: router buses, system interface, watchdog, VM connections, SEL',
      tags: ['ipmi'],
      response: { 200: freeObject, ...errors(501) },
    },
    handler: async () => {
      const ipmi = need();
      return { ...ipmi.stats(), lastSeq: ipmi.router.lastSeq };
    },
  });

  app.get<{ Querystring: LogQuery }>('/ipmi/log', {
    schema: {
      summary: 'Messages the router handled, oldest first; follow with after=<lastSeq> and wait=<ms>',
      description:
        'Without `after`: the newest `limit` entries. With `after`: the first `limit` entries with a larger `seq` (`more` says whether others follow). ' +
        'With `wait` > 0 and nothing to return yet, the answer waits up to that long for a new message (long poll). ' +
        'Pass the answer’s `lastSeq` as the next `after`. `missed` is true when a ring dropped entries after `after` before they were read.',
      tags: ['ipmi'],
      querystring: {
        type: 'object',
        properties: {
          bus: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,32}$', description: 'one bus (default: every bus)' },
          after: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
          limit: { type: 'integer', minimum: 1, maximum: LOG_MAX_LIMIT, default: LOG_DEFAULT_LIMIT },
          wait: { type: 'integer', minimum: 0, maximum: LOG_MAX_WAIT_MS, default: 0, description: 'ms to wait for a new message when there is none' },
        },
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: {
            entries: { type: 'array', items: logEntrySchema },
            lastSeq: { type: 'integer' },
            more: { type: 'boolean' },
            missed: { type: 'boolean' },
          },
        },
        ...errors(400, 501, 503),
      },
    },
    handler: async (request, reply) => {
      const { router } = need();
      const { bus, after, limit = LOG_DEFAULT_LIMIT, wait = 0 } = request.query;
      // A position from before a restart (or a typo) must not wait for numbers that will not come for ages.
      const from = after === undefined ? undefined : Math.min(after, router.lastSeq);
      const read = () => {
        const { entries, lost } = router.logSince(from ?? 0, bus);
        const picked = from === undefined ? entries.slice(-limit) : entries.slice(0, limit);
        const more = from !== undefined && entries.length > limit;
        return {
          entries: picked.map((e) => logEntryView(e, toWall)),
          lastSeq: more ? picked[picked.length - 1]!.seq : router.lastSeq,
          more,
          missed: from !== undefined && lost,
        };
      };
      const first = read();
      if (first.entries.length || wait === 0) return first;

      const feed = new EventEmitter();
      const unsubscribe = [
        router.onMessage((e: MessageLogEntry) => {
          if (bus === undefined || e.bus === bus) feed.emit('message');
        }),
        deps.onShutdown(() => feed.emit('shutdown')),
      ];
      const gone = new AbortController();
      const onGone = (): void => gone.abort();
      reply.raw.on('close', onGone);
      try {
        await waitFor(feed, 'message', undefined, { clock: deps.clock, timeoutMs: wait, signal: gone.signal, failOn: ['shutdown'], what: 'an IPMI message' });
        return read();
      } catch (e) {
        if (isCodedError(e, 'ERR_WAIT_TIMEOUT', WaitError)) return read();
        if (isCodedError(e, 'ERR_WAIT_FAILED', WaitError)) throw new ApiError(503, 'E_SHUTTING_DOWN', 'the server is closing');
        if (isCodedError(e, 'ERR_WAIT_ABORTED', WaitError)) return reply;
        throw e;
      } finally {
        for (const u of unsubscribe) u();
        reply.raw.off('close', onGone);
      }
    },
  });

  app.post<{ Body: { netfn: number; cmd: number; data?: number[]; lun?: number } }>('/ipmi/raw', {
    schema: {
      summary: 'Send one request through the router (bus "api", ADMINISTRATOR privilege), as ipmitool raw does; answers its completion code and data',
      description: 'A non-zero completion code is an IPMI answer, not an API error: the status is 200 and `cc` says it.',
      tags: ['ipmi'],
      body: {
        type: 'object',
        required: ['netfn', 'cmd'],
        properties: {
          netfn: { type: 'integer', minimum: 0, maximum: 0x3f, description: 'request network function (6 bits)' },
          cmd: byte,
          data: { type: 'array', items: byte, maxItems: RAW_MAX_DATA, default: [] },
          lun: { type: 'integer', minimum: 0, maximum: 3, default: 0 },
        },
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: {
            netfn: { type: 'integer' },
            cmd: { type: 'integer' },
            lun: { type: 'integer' },
            cc: { type: 'integer' },
            ccText: { type: 'string' },
            data: { type: 'array', items: { type: 'integer' } },
          },
        },
        ...errors(400, 501),
      },
    },
    handler: async (request) => {
      const { router } = need();
      const { netfn, cmd, data = [], lun = 0 } = request.body;
      const res = await router.dispatch({
        netfn,
        cmd,
        lun,
        data: Buffer.from(data),
        bus: API_IPMI_BUS,
        privilege: PRIVILEGE.ADMINISTRATOR,
        requester: request.ip,
      });
      return { netfn, cmd, lun, cc: res.cc, ccText: describeCompletionCode(res.cc), data: [...res.data] };
    },
  });

  app.get('/ipmi/sel', {
    schema: {
      summary: 'The System Event Log, decoded (ipmitool sel list)',
      tags: ['ipmi'],
      response: { 200: { type: 'object', properties: { info: selInfoSchema, entries: { type: 'array', items: selEntrySchema } } }, ...errors(501) },
    },
    handler: async () => {
      const { sel } = need().storage;
      return { info: { ...sel.info(), capacity: sel.capacity }, entries: sel.records().map(decodeSelRecord) };
    },
  });

  app.delete('/ipmi/sel', {
    schema: {
      summary: 'Clear the SEL (ipmitool sel clear); cancels the SEL reservation as Clear SEL does',
      tags: ['ipmi'],
      response: { 200: { type: 'object', properties: { cleared: { type: 'integer' }, info: selInfoSchema } }, ...errors(500, 501) },
    },
    handler: async (request) => {
      const { sel } = need().storage;
      const cleared = sel.info().entries;
      if (!sel.clear()) throw new ApiError(500, 'E_STORAGE', 'the SEL could not be cleared: its journal in the state directory could not be written');
      request.log.info({ cleared }, 'SEL cleared');
      return { cleared, info: { ...sel.info(), capacity: sel.capacity } };
    },
  });

  app.get('/ipmi/fru', {
    schema: { summary: 'FRU device 0, parsed (ipmitool fru print 0), with every format problem listed', tags: ['ipmi'], response: { 200: fruSchema, ...errors(501) } },
    handler: async () => {
      const { fru } = need().storage;
      return fruView(fru.parse(), fru.size);
    },
  });
};
