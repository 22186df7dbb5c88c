/**
 * Errno-style errors for the BMC drivers, named as the Linux driver they stand
 * in for would return them, so code above reads like code for real hardware.
 */

const ERRNO = {
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  EFAULT: 14,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  ENXIO: 6,
} as const;

export type DriverErrno = keyof typeof ERRNO;

export class DriverError extends Error {
  readonly code: DriverErrno;
  readonly errno: number;

  constructor(code: DriverErrno, message: string) {
    super(`${code}: ${message}`);
    this.name = 'DriverError';
    this.code = code;
    this.errno = ERRNO[code];
  }
}

export function isDriverError(e: unknown, code?: DriverErrno): e is DriverError {
  return e instanceof DriverError && (code === undefined || e.code === code);
}
