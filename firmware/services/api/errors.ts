/**
 * Coded API errors. Every error response has the same JSON shape
 * ({statusCode, error, code, message, ...details}); clients switch on `code`.
 * MctpError keeps its errno name as the code (EHOSTUNREACH, ETIMEDOUT, ...)
 * and its Linux number as `errno`, so the CLI reports what mctp-req would.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CodedError, type Errno } from '../../../lib/errors.js';
import { MctpError } from '../../mctp/errors.js';

/** The API's own codes (errors from the parts underneath keep theirs: errno names for MCTP). */
export type ApiErrorCode =
  | 'E_VALIDATION'
  | 'E_BAD_REQUEST'
  | 'E_BAD_CONDITION'
  | 'E_UNAUTHORIZED'
  | 'E_BAD_HOST'
  | 'E_CROSS_ORIGIN'
  | 'E_LOGIN_FORM'
  | 'E_NOT_FOUND'
  | 'E_NO_CAPTURE'
  | 'E_CAPTURE_RUNNING'
  | 'E_CAPTURE_NOT_RUNNING'
  | 'E_WAIT_TIMEOUT'
  | 'E_UPGRADE_REQUIRED'
  | 'E_NOT_IMPLEMENTED'
  | 'E_DASHBOARD_NOT_BUILT'
  | 'E_SHUTTING_DOWN'
  | 'E_TOO_MANY_STREAMS'
  | 'E_STORAGE'
  | 'E_INTERNAL';

export class ApiError extends CodedError<ApiErrorCode> {
  /** The HTTP status of the response. `details` are extra fields merged into its body (e.g. what a wait last saw). */
  readonly statusCode: number;

  constructor(statusCode: number, code: ApiErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? {} : { details });
    this.statusCode = statusCode;
  }
}

/** The answer when an optional part of the context was not wired in. */
export function notImplemented(what: string, why: string): ApiError {
  return new ApiError(501, 'E_NOT_IMPLEMENTED', `${what} is not implemented yet: ${why}`);
}

/** How an errno maps onto HTTP: the caller's fault (4xx), or the BMC's/the peer's (5xx). */
const ERRNO_STATUS: Partial<Record<Errno, number>> = {
  EINVAL: 400,
  EMSGSIZE: 400,
  EPERM: 403,
  EACCES: 403,
  ENOENT: 404,
  ENODEV: 404,
  EEXIST: 409,
  EADDRINUSE: 409,
  EBUSY: 409,
  EOPNOTSUPP: 501,
  EPROTONOSUPPORT: 501,
  ENOMSG: 502,
  ECONNREFUSED: 502,
  EHOSTUNREACH: 503,
  ENETDOWN: 503,
  ENOBUFS: 503,
  EAGAIN: 503,
  ETIMEDOUT: 504,
};

/** HTTP status for an errno name (also used for coded errors from other parts, e.g. the launcher). */
export function statusForErrno(code: string): number | undefined {
  return ERRNO_STATUS[code as Errno];
}

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
  errno?: number;
  [detail: string]: unknown;
}

function body(statusCode: number, code: string, message: string, extra?: Record<string, unknown>): ErrorBody {
  return { ...extra, statusCode, error: STATUS_CODES[statusCode] ?? 'Error', code, message };
}

/** Ajv's message, plus the detail a person needs to fix the request (which field, which values). */
function validationMessage(message: string, first: unknown): string {
  const v = first as { keyword?: string; params?: Record<string, unknown> } | undefined;
  if (v?.keyword === 'additionalProperties' && v.params?.additionalProperty) return `${message}: "${String(v.params.additionalProperty)}"`;
  if (v?.keyword === 'enum' && Array.isArray(v.params?.allowedValues)) return `${message}: ${v.params.allowedValues.join(', ')}`;
  return message;
}

/** Turn anything thrown by a handler (or by Fastify itself) into a status and a coded body. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof ApiError) return body(err.statusCode, err.code, err.message, err.details);
  if (err instanceof MctpError) {
    return body(statusForErrno(err.code) ?? 500, err.code, err.message, { errno: err.errno });
  }
  const e = err as Partial<FastifyError> & { code?: unknown };
  if (e && Array.isArray(e.validation)) {
    return body(400, 'E_VALIDATION', validationMessage(e.message ?? 'invalid request', e.validation[0]));
  }
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own client errors: bad JSON, unsupported media type, body too large...
    return body(e.statusCode, 'E_BAD_REQUEST', e.message ?? 'bad request', typeof e.code === 'string' ? { cause: e.code } : undefined);
  }
  // Errors from parts (the launcher, the bus owner) that carry an errno-style code.
  if (e && typeof e.code === 'string') {
    const status = statusForErrno(e.code);
    if (status) return body(status, e.code, e.message ?? e.code);
  }
  return body(500, 'E_INTERNAL', err instanceof Error ? err.message : String(err));
}

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const b = toErrorBody(err);
  return reply.code(b.statusCode).type('application/json; charset=utf-8').send(b);
}

/** Error and not-found handlers for the whole server. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const b = toErrorBody(err);
    if (b.statusCode >= 500 && b.statusCode !== 501) request.log.error({ err }, 'request failed');
    return reply.code(b.statusCode).type('application/json; charset=utf-8').send(b);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(404)
      .type('application/json; charset=utf-8')
      .send(body(404, 'E_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}

/** JSON schema of the error body, for the OpenAPI document. */
export const errorSchema = {
  type: 'object',
  required: ['statusCode', 'error', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    code: { type: 'string', description: 'E_* for API errors, the errno name (e.g. EHOSTUNREACH) for MCTP errors' },
    message: { type: 'string' },
    errno: { type: 'integer', description: 'Linux errno, for MCTP errors' },
  },
  additionalProperties: true,
} as const;
