/**
 * The drivers' one error class: errno-style, named as the Linux driver they
 * stand in for would return them (codes and numbers from lib/errors.ts's one
 * errno table), so code above reads like code for real hardware.
 */
import { ErrnoError, isCodedError, type Errno } from '../../lib/errors.js';

/** The errnos the drivers return. */
export type DriverErrno = Extract<Errno, 'EINTR' | 'EBADF' | 'EAGAIN' | 'EFAULT' | 'EBUSY' | 'ENODEV' | 'EINVAL' | 'ENXIO'>;

export class DriverError extends ErrnoError<DriverErrno> {}

export function isDriverError(e: unknown, code?: DriverErrno): e is DriverError {
  return isCodedError(e, code, DriverError);
}
