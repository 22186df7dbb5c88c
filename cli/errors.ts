/**
 * The CLI's one error class and its catalogue of codes. runCommand
 * (options.ts) turns them into a message and an exit code: ERR_USAGE is 2
 * (and prints the usage), the rest 1. An answer from the API keeps the API's
 * own code in `apiCode`, its HTTP status in `status` and its body in
 * `details`, so callers can switch on what the server said.
 */
import { CodedError, isCodedError, type CodedErrorOptions } from '../lib/errors.js';

export type CliErrorCode =
  /** The command line is wrong: unknown option, missing or extra argument, bad value. */
  | 'ERR_USAGE'
  /** The API could not be located or reached (as opposed to answering with an error). */
  | 'ERR_API_UNREACHABLE'
  /** The API answered with an error status: `status`, `apiCode` (E_…, an errno name, or HTTP_<status>), `details` (the body). */
  | 'ERR_API'
  /** A websocket upgrade was refused (`status`, `details.body`) or answered wrongly. */
  | 'ERR_WS_HANDSHAKE'
  /** The instance's runtime directory is held by another live bmcemu. */
  | 'ERR_INSTANCE_BUSY';

export interface CliErrorOptions extends CodedErrorOptions {
  /** ERR_API, ERR_WS_HANDSHAKE: the HTTP status the server answered with. */
  status?: number;
  /** ERR_API: the coded error of the API's answer. */
  apiCode?: string;
}

export class CliError extends CodedError<CliErrorCode> {
  readonly status: number | undefined;
  readonly apiCode: string | undefined;

  constructor(code: CliErrorCode, message: string, options: CliErrorOptions = {}) {
    const { status, apiCode, ...rest } = options;
    super(code, message, rest);
    this.status = status;
    this.apiCode = apiCode;
  }
}

export function isCliError(e: unknown, code?: CliErrorCode): e is CliError {
  return isCodedError(e, code, CliError);
}

/** A wrong command line: what every command (and the long-running agents) throws for one. */
export function usageError(message: string): CliError {
  return new CliError('ERR_USAGE', message);
}
