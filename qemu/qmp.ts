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
 * - both directions are bounded: a line from QEMU is at most maxLineBytes,
 *   and commands waiting for QEMU to read them at most maxQueuedBytes — a
 *   QEMU that stops reading (hung, stopped with SIGSTOP) gets its connection
 *   closed (counted as overflowDisconnects) rather than a queue that grows
 *   with every command;
 * - when QEMU exits (or the socket breaks) every pending command rejects
 *   with ERR_QMP_CLOSED and 'close' is emitted once; nothing throws
 *   asynchronously, so a client survives QEMU being killed under it.
 *
 * Errors are QemuError: ERR_QMP_COMMAND (QEMU refused; class and desc in
 * details), ERR_QMP_TIMEOUT, ERR_QMP_CLOSED, ERR_QMP_PROTOCOL.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { systemClock, type Clock } from '../lib/clock.js';
import { ConfigError, isCodedError } from '../lib/errors.js';
import { waitFor } from '../lib/wait.js';
import { checkMsOption, QemuError } from './errors.js';

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

export interface QmpConnectOptions {
  /** The greeting, and then the reply to qmp_capabilities, must each arrive within this (default 10 s). */
  timeoutMs?: number;
  /** Default per-command timeout (default 30 s; 0 = none). */
  commandTimeoutMs?: number;
  clock?: Clock;
  /** Longest accepted line; a longer one closes the connection (default 16 MiB). */
  maxLineBytes?: number;
  /**
   * Bytes of commands that may wait for QEMU to read them (default 1 MiB); a
   * command that would queue more closes the connection. A command into an
   * empty queue always goes out.
   */
  maxQueuedBytes?: number;
}

export const DEFAULT_QMP_MAX_QUEUED_BYTES = 1 << 20;

export interface QmpStats {
  commands: number;
  events: number;
  protocolErrors: number;
  /** Connections closed because QEMU was not reading its commands. */
  overflowDisconnects: number;
}

/** A reply line as QEMU sent it: {"return": ...} or {"error": {...}}, with our id. */
type Reply = Record<string, unknown>;

/**
 * Events: 'event' (QmpEvent), 'protocol-error' (QemuError ERR_QMP_PROTOCOL),
 * 'close' (Error | undefined: why, if not a clean close by us).
 */
export class QmpClient extends EventEmitter {
  readonly greeting: QmpGreeting;
  readonly #sock: net.Socket;
  readonly #clock: Clock;
  readonly #commandTimeoutMs: number;
  readonly #maxLine: number;
  readonly #maxQueued: number;
  /** How far #buf has been searched for a newline: a long line is scanned once, not once per chunk. */
  #scanned = 0;
  /** Ids awaiting a reply, with their command: a reply to any other id is the peer's mistake. */
  readonly #pending = new Map<number, string>();
  /**
   * Where replies are delivered: event `${id}` carries the reply, 'closed' the
   * reason the connection went away. One waitFor per command listens here.
   */
  readonly #replies = new EventEmitter().setMaxListeners(0);
  #nextId = 1;
  #buf = '';
  #closed = false;
  #stats: QmpStats = { commands: 0, events: 0, protocolErrors: 0, overflowDisconnects: 0 };

  private constructor(sock: net.Socket, greeting: QmpGreeting, opts: Required<Omit<QmpConnectOptions, 'timeoutMs'>>) {
    super();
    this.#sock = sock;
    this.greeting = greeting;
    this.#clock = opts.clock;
    this.#commandTimeoutMs = opts.commandTimeoutMs;
    this.#maxLine = opts.maxLineBytes;
    this.#maxQueued = opts.maxQueuedBytes;
    sock.on('data', (s: string) => this.#onData(s));
    sock.on('error', (e) => this.#shutdown(new QemuError('ERR_QMP_CLOSED', `QMP connection failed: ${e.message}`, { cause: e })));
    sock.on('close', () => this.#shutdown(new QemuError('ERR_QMP_CLOSED', 'QMP connection closed by QEMU')));
    // connect() paused the socket after the greeting; bytes behind it were kept.
    sock.resume();
  }

  /**
   * Connect to a QMP socket, read the greeting and negotiate capabilities.
   * Rejects with ERR_QMP_TIMEOUT if no greeting arrives (typically: another
   * client holds the socket), ERR_QMP_PROTOCOL for a greeting that is not
   * QMP, or with the socket error itself (ENOENT, ECONNREFUSED: QEMU is not
   * (yet) listening).
   */
  static async connect(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    checkMsOption('QMP connect timeoutMs', opts.timeoutMs);
    checkMsOption('QMP commandTimeoutMs', opts.commandTimeoutMs);
    for (const name of ['maxLineBytes', 'maxQueuedBytes'] as const) {
      const v = opts[name];
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new ConfigError(`QMP ${name} must be a positive integer, not ${v}`);
    }
    const clock = opts.clock ?? systemClock;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const full = {
      clock,
      commandTimeoutMs: opts.commandTimeoutMs ?? 30_000,
      maxLineBytes: opts.maxLineBytes ?? 16 << 20,
      maxQueuedBytes: opts.maxQueuedBytes ?? DEFAULT_QMP_MAX_QUEUED_BYTES,
    };
    const sock = net.createConnection({ path });
    sock.setEncoding('utf8');
    let buf = '';
    try {
      await waitFor<[string]>(
        sock,
        'data',
        (s) => {
          buf += s;
          if (buf.length > full.maxLineBytes) throw new QemuError('ERR_QMP_PROTOCOL', 'QMP greeting too long');
          if (!buf.includes('\n')) return false;
          // Hold what follows the greeting until the client's reader is attached.
          sock.pause();
          return true;
        },
        { clock, timeoutMs, failOn: ['error', 'close'], what: `the QMP greeting on ${path}` },
      );
    } catch (e) {
      sock.destroy();
      throw greetingFailure(e, path, timeoutMs);
    }
    const nl = buf.indexOf('\n');
    let greeting: QmpGreeting;
    try {
      greeting = parseGreeting(buf.slice(0, nl));
    } catch (e) {
      sock.destroy();
      throw e;
    }
    const client = new QmpClient(sock, greeting, full);
    // Negotiation is a command like any other, with the connect timeout.
    const negotiated = client.execute('qmp_capabilities', undefined, { timeoutMs });
    const rest = buf.slice(nl + 1);
    if (rest) client.#onData(rest);
    try {
      await negotiated;
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  stats(): QmpStats {
    return { ...this.#stats };
  }

  /**
   * Run a command; resolves with its `return` value. Rejects with QemuError
   * ERR_QMP_COMMAND (QEMU refused it), ERR_QMP_TIMEOUT or ERR_QMP_CLOSED.
   */
  async execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.#closed) throw new QemuError('ERR_QMP_CLOSED', `QMP ${command}: connection already closed`);
    const id = this.#nextId++;
    this.#stats.commands++;
    const msg: Record<string, unknown> = { execute: command, id };
    if (args !== undefined) msg.arguments = args;
    const timeoutMs = opts.timeoutMs ?? this.#commandTimeoutMs;
    const replied = waitFor<[Reply]>(this.#replies, String(id), undefined, {
      clock: this.#clock,
      ...(timeoutMs > 0 ? { timeoutMs } : {}),
      failOn: ['closed'],
      what: `the reply to QMP ${command}`,
    });
    this.#pending.set(id, command);
    this.#send(`${JSON.stringify(msg)}\n`);
    let reply: Reply;
    try {
      [reply] = await replied;
    } catch (e) {
      // A reply that still comes is then dropped as an unknown id.
      this.#pending.delete(id);
      throw commandFailure(command, e, timeoutMs);
    }
    if ('error' in reply) {
      const err = (typeof reply.error === 'object' && reply.error !== null ? reply.error : {}) as Record<string, unknown>;
      /** QEMU's error class: GenericError, CommandNotFound, DeviceNotFound, ... */
      const errorClass = typeof err.class === 'string' ? err.class : 'UnknownError';
      const desc = typeof err.desc === 'string' ? err.desc : JSON.stringify(reply.error);
      throw new QemuError('ERR_QMP_COMMAND', `QMP ${command}: ${errorClass}: ${desc}`, { details: { command, errorClass, desc } });
    }
    return reply.return as T;
  }

  /** Write one command line, unless QEMU has stopped reading: then the connection is closed instead. */
  #send(line: string): void {
    const queued = this.#sock.writableLength;
    const n = Buffer.byteLength(line);
    if (queued > 0 && queued + n > this.#maxQueued) {
      this.#stats.overflowDisconnects++;
      this.#shutdown(
        new QemuError('ERR_QMP_CLOSED', `QEMU is not reading QMP commands (${queued} bytes unsent, limit ${this.#maxQueued}); connection closed`),
      );
      return;
    }
    this.#sock.write(line);
  }

  /** Close the connection; pending commands reject with ERR_QMP_CLOSED. */
  close(): void {
    this.#shutdown(undefined);
  }

  #onData(s: string): void {
    if (this.#closed) return;
    this.#buf += s;
    for (;;) {
      const nl = this.#buf.indexOf('\n', this.#scanned);
      if (nl < 0) {
        this.#scanned = this.#buf.length;
        break;
      }
      const line = this.#buf.slice(0, nl).trim();
      this.#buf = this.#buf.slice(nl + 1);
      this.#scanned = 0;
      if (line) this.#onLine(line);
      if (this.#closed) return;
    }
    if (this.#buf.length > this.#maxLine) {
      this.#protocolError(`QMP line longer than ${this.#maxLine} bytes; closing`);
      this.#shutdown(new QemuError('ERR_QMP_PROTOCOL', 'QMP peer sent an over-long line'));
    }
  }

  #protocolError(message: string): void {
    this.#stats.protocolErrors++;
    if (this.listenerCount('protocol-error') > 0) this.emit('protocol-error', new QemuError('ERR_QMP_PROTOCOL', message));
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
      if (typeof id !== 'number' || !this.#pending.delete(id)) {
        this.#protocolError(`QMP reply with unknown id ${JSON.stringify(id)}`);
        return;
      }
      this.#replies.emit(String(id), m);
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
    this.#pending.clear();
    this.#replies.emit('closed', why ?? new QemuError('ERR_QMP_CLOSED', 'QMP connection closed'));
    this.emit('close', why);
  }
}

/** What a failed greeting wait means: a timeout, a socket error (kept as is), or an early close. */
function greetingFailure(e: unknown, path: string, timeoutMs: number): unknown {
  if (isCodedError(e, 'ERR_WAIT_TIMEOUT')) {
    return new QemuError('ERR_QMP_TIMEOUT', `no QMP greeting on ${path} within ${timeoutMs} ms (is another client connected?)`);
  }
  if (isCodedError(e, 'ERR_WAIT_FAILED')) {
    const cause = (e as Error).cause;
    if (cause instanceof Error) return cause;
    return new QemuError('ERR_QMP_CLOSED', `QMP socket ${path} closed before the greeting`);
  }
  return e;
}

/** What a failed reply wait means for the caller of execute(). */
function commandFailure(command: string, e: unknown, timeoutMs: number): unknown {
  if (isCodedError(e, 'ERR_WAIT_TIMEOUT')) return new QemuError('ERR_QMP_TIMEOUT', `QMP ${command}: no reply within ${timeoutMs} ms`);
  if (isCodedError(e, 'ERR_WAIT_FAILED')) {
    const why = (e as Error).cause as Error;
    return new QemuError('ERR_QMP_CLOSED', `QMP ${command}: ${why.message}`, { cause: why });
  }
  return e;
}

function parseGreeting(line: string): QmpGreeting {
  let g: unknown;
  try {
    g = JSON.parse(line);
  } catch {
    throw new QemuError('ERR_QMP_PROTOCOL', `not a QMP greeting (malformed JSON): ${line.slice(0, 200)}`);
  }
  const qmp = (g as { QMP?: { version?: { qemu?: Record<string, unknown>; package?: unknown }; capabilities?: unknown } })?.QMP;
  const v = qmp?.version?.qemu;
  if (!qmp || typeof v?.major !== 'number' || typeof v.minor !== 'number') {
    throw new QemuError('ERR_QMP_PROTOCOL', `not a QMP greeting: ${line.slice(0, 200)}`);
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
