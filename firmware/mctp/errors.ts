/**
 * The MCTP floor's one error class. Its catalogue of codes is the errno set
 * (lib/errors.ts's ERRNO), as the kernel returns them from AF_MCTP calls:
 * `code` is the symbolic name (what tests and callers switch on), `errno` the
 * Linux number, for the CLI and the API. An error that needs more than its
 * errno to be told apart (a control completion code, an exhausted EID pool)
 * says so in `details`.
 */
import { ErrnoError, isCodedError, type Errno } from '../../lib/errors.js';

export { ERRNO, errnoOf, type Errno } from '../../lib/errors.js';

export class MctpError extends ErrnoError {}

/** True when `e` is an MctpError (with the given code, when one is given). */
export function isMctpError(e: unknown, code?: Errno): e is MctpError {
  return isCodedError(e, code, MctpError);
}
