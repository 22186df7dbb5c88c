/**
 * Errno-style errors, as the kernel returns them from AF_MCTP calls, with a
 * message a person can act on. `code` is the symbolic name (what tests and
 * callers switch on); `errno` the Linux number, for the CLI and the API.
 */

const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOMSG: 42,
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

export class MctpError extends Error {
  readonly code: Errno;
  readonly errno: number;

  constructor(code: Errno, message: string) {
    super(`${code}: ${message}`);
    this.name = 'MctpError';
    this.code = code;
    this.errno = ERRNO[code];
  }
}

export function errnoOf(code: Errno): number {
  return ERRNO[code];
}

/** True when `e` is an MctpError with the given code. */
export function isMctpError(e: unknown, code?: Errno): e is MctpError {
  return e instanceof MctpError && (code === undefined || e.code === code);
}
