/**
 * JSON schemas shared by the route groups. Request schemas are strict
 * (unknown fields are a 400, not silently dropped); response schemas
 * document the shape and let extra fields through where a part reports
 * free-form state.
 */
import { errorSchema } from './errors.js';

/** The error responses a route can give, for the OpenAPI document. */
export function errors(...codes: number[]): Record<number, typeof errorSchema> {
  return Object.fromEntries(codes.map((c) => [c, errorSchema]));
}

export const freeObject = { type: 'object', additionalProperties: true } as const;

export const eidSchema = { type: 'integer', minimum: 0, maximum: 255 } as const;
export const netSchema = { type: 'integer', minimum: 0, maximum: 0xffffffff } as const;

export const linkNameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,15}$', description: 'MCTP interface name, e.g. mctplpc0' } },
  additionalProperties: false,
} as const;

export const linkSchema = {
  type: 'object',
  properties: {
    index: { type: 'integer' },
    name: { type: 'string' },
    kind: { type: 'string', description: 'binding kind: astlpc, serial, pair, loopback' },
    hwAddr: { type: 'string', description: 'link-layer address, hex ("" when the medium has none)' },
    net: { type: 'integer' },
    mtu: { type: 'integer' },
    up: { type: 'boolean', description: 'administratively up' },
    carrier: { type: 'boolean' },
    running: { type: 'boolean', description: 'up and carrier: usable for transmit' },
    addrs: { type: 'array', items: { type: 'integer' } },
    txQueueDepth: { type: 'integer' },
    counters: {
      type: 'object',
      properties: {
        rxPackets: { type: 'integer' },
        rxBytes: { type: 'integer' },
        txPackets: { type: 'integer' },
        txBytes: { type: 'integer' },
        rxDropped: { type: 'integer' },
        txDropped: { type: 'integer' },
        rxDrops: { type: 'object', additionalProperties: { type: 'integer' }, description: 'received packets dropped, by reason' },
        txDrops: { type: 'object', additionalProperties: { type: 'integer' }, description: 'queued packets dropped, by reason' },
      },
      additionalProperties: true,
    },
    binding: freeObject,
  },
  additionalProperties: true,
} as const;

export const endpointSchema = {
  type: 'object',
  required: ['eid', 'net', 'iface', 'types', 'uuid', 'connectivity'],
  properties: {
    eid: { type: 'integer' },
    net: { type: 'integer' },
    iface: { type: 'string' },
    types: { type: 'array', items: { type: 'integer' } },
    uuid: { type: ['string', 'null'] },
    connectivity: { type: 'string' },
  },
  additionalProperties: true,
} as const;

export const captureSchema = {
  type: 'object',
  properties: {
    link: { type: 'string' },
    state: { type: 'string', enum: ['running', 'stopped'] },
    full: { type: 'boolean' },
    file: { type: 'string' },
    packets: { type: 'integer' },
    bytes: { type: 'integer' },
    dropped: { type: 'integer' },
    maxBytes: { type: 'integer' },
    startedAt: { type: 'string' },
    stoppedAt: { type: ['string', 'null'] },
  },
} as const;

export const eventSchema = {
  type: 'object',
  required: ['id', 'kind', 'time'],
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string' },
    time: { type: 'string', format: 'date-time' },
    replay: { type: 'boolean' },
    boot: { type: ['integer', 'null'], description: 'id of the host boot in progress when it happened; null while the host was off' },
  },
  additionalProperties: true,
} as const;
