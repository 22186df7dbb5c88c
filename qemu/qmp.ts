/**
 * A QMP (QEMU Machine Protocol) client over a UNIX socket.
 *
 * Protocol, as QEMU speaks it: on connect the server sends a greeting
 * `{"QMP": {"version": ..., "capabilities": [...]}}`; the client must send
 * `qmp_capabilities` before anything else works. Then each command
 * `{"execute": name, "arguments": {...}, "id": X}` gets exactly one reply,
 * `{"return": value, "id": X}` or `{"error": {"class", "desc"}, "id": X}`, and
 * asynchronous events `{"event": NAME, "data": {...}, "timestamp": {...}}`
 * may arrive at any time in between. Every message is one JSON object
 * followed by CRLF.
 *
 * What this client guarantees:
 * - replies are matched by id, not by order, so a reply can never be taken
 *   for another command's;
 * - one connection per client, and QEMU accepts one QMP client per socket:
 *   a second client gets no greeting, which connect() reports as such;
 * - the peer can only hurt itself: a malformed line, an unknown id or a
 *   message of unknown shape is counted and reported ('protocol-error'),
 *   never thrown at the caller; an over-long line closes the connection;
 * - when QEMU exits (or the socket breaks) every pending command rejects
 *   with QmpClosedError and 'close' is emitted once; nothing throws
 *   asynchronously, so a client survives QEMU being killed under it.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.js';

export interface QmpVersion {
  major: number;
  minor: number;
  micro: number;
  package: string;
}

export interface QmpGreeting {
  version: QmpVersion;
  capabilities: string[];
}

export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  /** Seconds since the epoch (QEMU's host clock), with microseconds. */
  timestamp: number;
}

/** QEMU answered a command with an error. */
export class QmpCommandError extends Error {
  constructor(
    readonly command: string,
    /** QEMU's error class: GenericError, CommandNotFound, DeviceNotFound, ... */
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command}: ${errorClass}: ${desc}`);
    this.name = 'QmpCommandError';
  }
}

/** The connection is gone (QEMU exited, the socket broke, or close() was called). */
export class QmpClosedError extends Error {
  constructor(message = 'QMP connection closed') {
    super(message);
    this.name = 'QmpClosedError';
  }
}

/** No reply (or no greeting) in time. */
export class QmpTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QmpTimeoutError';
  }
}

/** The server sent something that is not QMP. */
export class QmpProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QmpProtocolError';
  }
}

export interface QmpConnectOptions {
  /** Greeting + qmp_capabilities must complete within this (default 10 s). */
  timeoutMs?: number;
  /** Default per-command timeout (default 30 s). */
  commandTimeoutMs?: number;
  clock?: Clock;
  /** Longest accepted line; a longer one closes the connection (default 16 MiB). */
  maxLineBytes?: number;
}

export interface QmpStats {
  commands: number;
  events: number;
  protocolErrors: number;
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: TimerHandle | undefined;
}

/**
 * Events: 'event' (QmpEvent), 'protocol-error' (QmpProtocolError),
 * 'close' (Error | undefined: why, if not a clean close by us).
 */
export class QmpClient extends EventEmitter {
  readonly greeting: QmpGreeting;
  readonly #sock: net.Socket;
  readonly #clock: Clock;
  readonly #commandTimeoutMs: number;
  readonly #maxLine: number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #buf = '';
  #closed = false;
  #stats: QmpStats = { commands: 0, events: 0, protocolErrors: 0 };

  private constructor(sock: net.Socket, greeting: QmpGreeting, rest: string, opts: Required<Omit<QmpConnectOptions, 'timeoutMs'>>) {
    super();
    this.#sock = sock;
    this.greeting = greeting;
    this.#clock = opts.clock;
    this.#commandTimeoutMs = opts.commandTimeoutMs;
    this.#maxLine = opts.maxLineBytes;
    this.#buf = rest;
    sock.setEncoding('utf8');
    sock.on('data', (s: string) => this.#onData(s));
    sock.on('error', (e) => this.#shutdown(new QmpClosedError(`QMP connection failed: ${e.message}`)));
    sock.on('close', () => this.#shutdown(new QmpClosedError('QMP connection closed by QEMU')));
  }

  /**
   * Connect to a QMP socket, read the greeting and negotiate capabilities.
   * Rejects with QmpTimeoutError if no greeting arrives (typically: another
   * client holds the socket), or with the socket error (ENOENT, ECONNREFUSED:
   * QEMU is not (yet) listening).
   */
  static connect(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const clock = opts.clock ?? systemClock;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const full = {
      clock,
      commandTimeoutMs: opts.commandTimeoutMs ?? 30_000,
      maxLineBytes: opts.maxLineBytes ?? 16 << 20,
    };
    return new Promise<QmpClient>((resolve, reject) => {
      const sock = net.createConnection({ path });
      let buf = '';
      let settled = false;
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        sock.destroy();
        reject(e);
      };
      const timer = clock.setTimeout(
        () => fail(new QmpTimeoutError(`no QMP greeting on ${path} within ${timeoutMs} ms (is another client connected?)`)),
        timeoutMs,
      );
      const onData = (s: string): void => {
        buf += s;
        if (buf.length > full.maxLineBytes) return fail(new QmpProtocolError('QMP greeting too long'));
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        const rest = buf.slice(nl + 1);
        let greeting: QmpGreeting;
        try {
          greeting = parseGreeting(line);
        } catch (e) {
          return fail(e as Error);
        }
        sock.off('data', onData);
        sock.off('error', fail);
        sock.off('close', onClose);
        const client = new QmpClient(sock, greeting, '', full);
        settled = true;
        // Negotiation is a command like any other; its timeout is the connect timeout's remainder.
        client
          .execute('qmp_capabilities', undefined, { timeoutMs })
          .then(() => {
            timer.cancel();
            resolve(client);
          })
          .catch((e: Error) => {
            timer.cancel();
            client.close();
            reject(e);
          });
        if (rest) client.#onData(rest);
      };
      const onClose = (): void => fail(new QmpClosedError(`QMP socket ${path} closed before the greeting`));
      sock.setEncoding('utf8');
      sock.on('data', onData);
      sock.on('error', fail);
      sock.on('close', onClose);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  stats(): QmpStats {
    return { ...this.#stats };
  }

  /**
   * Run a command; resolves with its `return` value. Rejects with
   * QmpCommandError (QEMU refused it), QmpTimeoutError, or QmpClosedError.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new QmpClosedError(`QMP ${command}: connection already closed`));
    const id = this.#nextId++;
    this.#stats.commands++;
    const msg: Record<string, unknown> = { execute: command, id };
    if (args !== undefined) msg.arguments = args;
    return new Promise<T>((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? this.#commandTimeoutMs;
      const p: Pending = {
        command,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: undefined,
      };
      if (timeoutMs > 0) {
        p.timer = this.#clock.setTimeout(() => {
          // The reply may still come; it is then dropped as an unknown id.
          if (this.#pending.delete(id)) reject(new QmpTimeoutError(`QMP ${command}: no reply within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.#pending.set(id, p);
      this.#sock.write(`${JSON.stringify(msg)}\n`);
    });
  }

  /** Close the connection; pending commands reject with QmpClosedError. */
  close(): void {
    this.#shutdown(undefined);
  }

  #onData(s: string): void {
    if (this.#closed) return;
    this.#buf += s;
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl < 0) break;
      const line = this.#buf.slice(0, nl).trim();
      this.#buf = this.#buf.slice(nl + 1);
      if (line) this.#onLine(line);
      if (this.#closed) return;
    }
    if (this.#buf.length > this.#maxLine) {
      this.#protocolError(`QMP line longer than ${this.#maxLine} bytes; closing`);
      this.#shutdown(new QmpProtocolError('QMP peer sent an over-long line'));
    }
  }

  #protocolError(message: string): void {
    this.#stats.protocolErrors++;
    if (this.listenerCount('protocol-error') > 0) this.emit('protocol-error', new QmpProtocolError(message));
  }

  #onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.#protocolError(`malformed JSON from QMP: ${line.slice(0, 200)}`);
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.#protocolError(`QMP message is not an object: ${line.slice(0, 200)}`);
      return;
    }
    const m = msg as Record<string, unknown>;
    if (typeof m.event === 'string') {
      this.#stats.events++;
      const ts = m.timestamp as { seconds?: unknown; microseconds?: unknown } | undefined;
      const seconds = typeof ts?.seconds === 'number' ? ts.seconds : 0;
      const micro = typeof ts?.microseconds === 'number' ? ts.microseconds : 0;
      const data = typeof m.data === 'object' && m.data !== null && !Array.isArray(m.data) ? (m.data as Record<string, unknown>) : {};
      this.emit('event', { event: m.event, data, timestamp: seconds + micro / 1e6 } satisfies QmpEvent);
      return;
    }
    if ('return' in m || 'error' in m) {
      const id = m.id;
      const p = typeof id === 'number' ? this.#pending.get(id) : undefined;
      if (!p) {
        this.#protocolError(`QMP reply with unknown id ${JSON.stringify(id)}`);
        return;
      }
      this.#pending.delete(id as number);
      p.timer?.cancel();
      if ('error' in m) {
        const err = (typeof m.error === 'object' && m.error !== null ? m.error : {}) as Record<string, unknown>;
        p.reject(
          new QmpCommandError(
            p.command,
            typeof err.class === 'string' ? err.class : 'UnknownError',
            typeof err.desc === 'string' ? err.desc : JSON.stringify(m.error),
          ),
        );
      } else {
        p.resolve(m.return);
      }
      return;
    }
    if ('QMP' in m) {
      this.#protocolError('second QMP greeting on one connection');
      return;
    }
    this.#protocolError(`unrecognised QMP message: ${line.slice(0, 200)}`);
  }

  #shutdown(why: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.destroy();
    const err = why ?? new QmpClosedError();
    for (const p of this.#pending.values()) {
      p.timer?.cancel();
      p.reject(new QmpClosedError(`QMP ${p.command}: ${err.message}`));
    }
    this.#pending.clear();
    this.emit('close', why);
  }
}

function parseGreeting(line: string): QmpGreeting {
  let g: unknown;
  try {
    g = JSON.parse(line);
  } catch {
    throw new QmpProtocolError(`not a QMP greeting (malformed JSON): ${line.slice(0, 200)}`);
  }
  const qmp = (g as { QMP?: { version?: { qemu?: Record<string, unknown>; package?: unknown }; capabilities?: unknown } })?.QMP;
  const v = qmp?.version?.qemu;
  if (!qmp || typeof v?.major !== 'number' || typeof v.minor !== 'number') {
    throw new QmpProtocolError(`not a QMP greeting: ${line.slice(0, 200)}`);
  }
  return {
    version: {
      major: v.major,
      minor: v.minor as number,
      micro: typeof v.micro === 'number' ? v.micro : 0,
      package: typeof qmp.version?.package === 'string' ? qmp.version.package : '',
    },
    capabilities: Array.isArray(qmp.capabilities) ? qmp.capabilities.filter((c): c is string => typeof c === 'string') : [],
  };
}
