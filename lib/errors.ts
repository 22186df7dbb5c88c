/**
 * One error model for the whole tree. Every error the project throws on
 * purpose is a `CodedError`: a stable `code` that callers, tests and the API
 * switch on, and a message a person can act on. Each floor keeps its own
 * catalogue of codes (a union type beside its error class), as fastify's
 * lib/errors.js does; this module only holds what they share:
 *
 * - `CodedError` — the base: `code`, `message`, optional `cause` and details;
 * - `ErrnoError` — the kernel-shaped errors (AF_MCTP calls, the Linux driver
 *   stand-ins): `code` is the errno name, `errno` its Linux number, from the
 *   one errno table below;
 * - `ConfigError` — impossible options handed to a constructor or a command
 *   line, rejected the same way everywhere (`ERR_BAD_CONFIG`).
 */

/** Linux errno numbers (asm-generic/errno*.h) for the names the project uses. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EPIPE: 32,
  ENOMSG: 42,
  EPROTO: 71,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENOBUFS: 105,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
} as const;

export type Errno = keyof typeof ERRNO;

export function errnoOf(code: Errno): number {
  return ERRNO[code];
}

export function isErrnoName(code: string): code is Errno {
  return Object.prototype.hasOwnProperty.call(ERRNO, code);
}

export interface CodedErrorOptions {
  cause?: unknown;
  /** Extra facts for a caller or an API body (what a wait last saw, a limit, ...). */
  details?: Record<string, unknown>;
}

export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: C, message: string, options: CodedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }
}

/** True when `e` is a CodedError (of class `cls`, when given) with the given code. */
export function isCodedError<E extends CodedError>(
  e: unknown,
  code?: string,
  cls: abstract new (...args: never[]) => E = CodedError as unknown as abstract new (...args: never[]) => E,
): e is E {
  return e instanceof cls && (code === undefined || (e as CodedError).code === code);
}

/**
 * An errno-style error as a Linux call would return it. The message starts
 * with the errno name, as strerror-style logs do ("EHOSTUNREACH: no route…").
 */
export class ErrnoError<C extends Errno = Errno> extends CodedError<C> {
  readonly errno: number;

  constructor(code: C, message: string, options: CodedErrorOptions = {}) {
    super(code, `${code}: ${message}`, options);
    this.errno = ERRNO[code];
  }
}

/** Options or arguments that describe something impossible; thrown before anything starts. */
export class ConfigError extends CodedError<'ERR_BAD_CONFIG'> {
  constructor(message: string, options: CodedErrorOptions = {}) {
    super('ERR_BAD_CONFIG', message, options);
  }
}
