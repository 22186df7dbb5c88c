/**
 * The transport floor's one error class and its catalogue of codes: chardev
 * sockets, the LPC window file and the KCS-wire client. Codes are errno-like
 * names (the ones callers and tests have always switched on); where the OS
 * gave the reason (a failed connect), its code is kept and the OS error is
 * the cause.
 */
import { CodedError, isCodedError } from '../lib/errors.js';

/** Why a chardev client could not connect, as the OS said it (ECONNECT: some other reason, see the cause). */
export type ConnectFailureCode =
  | 'ENOENT'
  | 'ECONNREFUSED'
  | 'EACCES'
  | 'EPERM'
  | 'ETIMEDOUT'
  | 'ECONNRESET'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH'
  | 'EADDRNOTAVAIL'
  | 'ENOTSOCK'
  | 'ECONNECT';

export type TransportErrorCode =
  // ---- chardev socket
  /** A UNIX socket path longer than sun_path holds. */
  | 'ENAMETOOLONG'
  /** listen() on a client, connect() on a server. */
  | 'EROLE'
  /** listen() twice, or after close(). */
  | 'ESTATE'
  /** The socket path exists and is not a socket. */
  | 'EEXIST'
  /** Another process listens on the socket path. */
  | 'EADDRINUSE'
  | ConnectFailureCode
  // ---- shared
  /** The socket, file or client was closed. */
  | 'ECLOSED'
  // ---- window file
  /** The window path is not a regular file. */
  | 'ENOTREG'
  /** The window file does not have the window's size. */
  | 'ESIZE'
  /** A read ended early: the file was truncated under us. */
  | 'ESHORT'
  /** write() on a window opened read-only. */
  | 'EREADONLY'
  // ---- serial device
  /** A serial device (tty, pty) could not be opened or set up; the OS error is the cause. */
  | 'EDEVICE'
  // ---- KCS-wire client
  /** No model connected, or connected but its hello (or SYNC reply) has not arrived yet. */
  | 'ENOTCONN'
  /** The connection ended (or the model restarted the stream) before the reply came. */
  | 'EDISCONNECTED'
  /** No reply (or hello) within the timeout. */
  | 'ETIMEDOUT'
  /** The model answered with an error frame; details.remoteCode is its error byte. */
  | 'EREMOTE'
  /** The model sent something this client cannot make sense of. */
  | 'EPROTO'
  /** The hello announced a protocol version this client does not speak. */
  | 'EVERSION'
  /** The hello announced a different KCS channel than expected. */
  | 'ECHANNEL';

export class TransportError extends CodedError<TransportErrorCode> {}

export function isTransportError(e: unknown, code?: TransportErrorCode): e is TransportError {
  return isCodedError(e, code, TransportError);
}

const CONNECT_FAILURES: ReadonlySet<string> = new Set<ConnectFailureCode>([
  'ENOENT',
  'ECONNREFUSED',
  'EACCES',
  'EPERM',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTSOCK',
]);

/** The catalogue's name for an OS connect error: its own code when listed, else ECONNECT. */
export function connectFailureCode(err: unknown): ConnectFailureCode {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && CONNECT_FAILURES.has(code) ? (code as ConnectFailureCode) : 'ECONNECT';
}
