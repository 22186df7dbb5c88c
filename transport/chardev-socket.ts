/**
 * A byte-stream endpoint with the behaviour of a QEMU `-chardev socket`:
 * UNIX or TCP, server (listen) or client (connect, with reconnect/backoff),
 * one peer at a time, surviving any number of disconnects and reconnects.
 *
 * Why this exists rather than bare net.Server/net.Socket: every wire the host
 * sees (KCS wire, VUART, IPMI VM protocol) needs the same lifecycle rules —
 * a QEMU that reconnects, a host agent that restarts, a second client that
 * must not steal the line, no stale socket file after a crash, counters for
 * the status API — and getting them right once is cheaper than four times.
 *
 * Output is bounded per connection: bytes the peer has not taken yet wait in
 * the socket's queue (its writableLength), and a write that would take the
 * queue past `maxQueuedBytes` disconnects the peer instead — a peer that
 * sends but never reads (a KCS-wire host flooding SYNC, a console client that
 * stopped) would otherwise grow this process without bound, since every wire
 * here answers or forwards whatever comes. The drop is counted
 * (`overflowDisconnects`), announced ('overflow'), and the queued memory goes
 * with the destroyed socket.
 *
 * Events: 'connect' (a peer attached), 'disconnect' (it went away, exactly
 * once per 'connect'), 'data' (Buffer from the peer), 'refused' (a second peer
 * was turned away), 'overflow' (ChardevOverflow: the peer was disconnected
 * for not reading; 'disconnect' follows), 'socket-error' (Error; non-fatal,
 * only emitted when someone listens, always counted).
 */
import { EventEmitter, once } from 'node:events';
import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.js';
import { ConfigError, isCodedError } from '../lib/errors.js';
import { WaitError, waitFor } from '../lib/wait.js';
import type { ByteLink } from './byte-link.js';
import { TransportError, connectFailureCode } from './errors.js';

export type ChardevEndpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host?: string; port: number };

export interface ReconnectPolicy {
  /** Delay before the first retry after a failure or a disconnect. */
  initialDelayMs: number;
  /** Ceiling for the delay between retries. */
  maxDelayMs: number;
  /** Multiplier applied after each consecutive failure. */
  factor: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialDelayMs: 100, maxDelayMs: 5000, factor: 2 };

/**
 * Default bound on bytes queued for one peer. The wires carry register
 * accesses, console bytes and MCTP frames: a peer that reads lags by a few
 * KiB at most, so 1 MiB unread means it has stopped reading.
 */
export const DEFAULT_MAX_QUEUED_BYTES = 1 << 20;

/** What 'overflow' carries. */
export interface ChardevOverflow {
  endpoint: string;
  /** Bytes the peer had not taken when it was dropped. */
  queuedBytes: number;
  /** The write that did not fit. */
  writeBytes: number;
  maxQueuedBytes: number;
}

export interface ChardevSocketOptions {
  endpoint: ChardevEndpoint;
  role: 'server' | 'client';
  /**
   * Client role only. true (default) = DEFAULT_RECONNECT; false = no retries
   * (connect() rejects on the first failure; after a disconnect the client
   * stays down until connect() is called again); or a policy.
   */
  reconnect?: boolean | Partial<ReconnectPolicy>;
  /** Clock for reconnect backoff timers (tests inject ManualClock). */
  clock?: Clock;
  /** TCP only: disable Nagle (default true; register accesses are latency-bound). */
  noDelay?: boolean;
  /**
   * Bytes that may wait for the peer to read them (default
   * DEFAULT_MAX_QUEUED_BYTES). A write that would queue more disconnects the
   * peer. A single write into an empty queue always goes through.
   */
  maxQueuedBytes?: number;
}

export interface ChardevStats {
  endpoint: string;
  role: 'server' | 'client';
  connected: boolean;
  bytesIn: number;
  bytesOut: number;
  /** Bytes passed to write() while no peer was attached. */
  bytesDropped: number;
  writesDropped: number;
  /** Peers attached (server: accepted; client: successful connects). */
  connections: number;
  disconnects: number;
  /** Server: extra peers turned away while one was attached. */
  refused: number;
  /** Socket-level errors (ECONNRESET, EPIPE, failed connects, ...). */
  errors: number;
  /** Client: connection attempts and how many failed. */
  connectAttempts: number;
  connectFailures: number;
  /** Server (UNIX): stale socket files removed before listening. */
  staleSocketsRemoved: number;
  /** Bytes written that the current peer has not taken yet (0 without a peer). */
  queuedBytes: number;
  /** The most ever queued for one peer. */
  peakQueuedBytes: number;
  /** The bound on queuedBytes. */
  maxQueuedBytes: number;
  /** Peers disconnected because their queue would have passed the bound. */
  overflowDisconnects: number;
  /** Bytes thrown away with them (their queue and the write that did not fit). */
  overflowBytesDiscarded: number;
}

/** sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL. */
const UNIX_PATH_MAX = 107;

type State = 'idle' | 'open' | 'closing' | 'closed';

export function describeEndpoint(ep: ChardevEndpoint): string {
  return ep.kind === 'unix' ? `unix:${ep.path}` : `tcp:${ep.host ?? '127.0.0.1'}:${ep.port}`;
}

export class ChardevSocket extends EventEmitter implements ByteLink {
  readonly role: 'server' | 'client';
  readonly #endpoint: ChardevEndpoint;
  readonly #clock: Clock;
  readonly #reconnect: ReconnectPolicy | null;
  readonly #noDelay: boolean;
  readonly #maxQueued: number;

  #state: State = 'idle';
  #closing: Promise<void> | null = null;
  #server: net.Server | null = null;
  #peer: net.Socket | null = null;
  /** Client: the attempt in progress, if any. */
  #attempt: net.Socket | null = null;
  #retryTimer: TimerHandle | null = null;
  #nextDelay: number;
  /** Tells connect() callers how the attempt they wait for ended: 'attached', or 'failed' (Error). */
  readonly #outcome = new EventEmitter().setMaxListeners(0);
  /** Every socket we created or accepted and that has not closed yet: close() waits for all. */
  readonly #sockets = new Set<net.Socket>();
  /** Identity of the UNIX socket file we bound, so close() never unlinks someone else's. */
  #boundIno: number | null = null;
  #boundPort: number | null = null;

  readonly #stats = {
    bytesIn: 0,
    bytesOut: 0,
    bytesDropped: 0,
    writesDropped: 0,
    connections: 0,
    disconnects: 0,
    refused: 0,
    errors: 0,
    connectAttempts: 0,
    connectFailures: 0,
    staleSocketsRemoved: 0,
    peakQueuedBytes: 0,
    overflowDisconnects: 0,
    overflowBytesDiscarded: 0,
  };

  constructor(opts: ChardevSocketOptions) {
    super();
    this.role = opts.role;
    this.#endpoint = { ...opts.endpoint };
    this.#clock = opts.clock ?? systemClock;
    this.#noDelay = opts.noDelay ?? true;
    this.#maxQueued = opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    if (!Number.isSafeInteger(this.#maxQueued) || this.#maxQueued < 1) {
      throw new ConfigError(`chardev socket: maxQueuedBytes must be a positive integer, not ${opts.maxQueuedBytes}`);
    }
    const rc = opts.reconnect ?? true;
    this.#reconnect = rc === false ? null : rc === true ? { ...DEFAULT_RECONNECT } : { ...DEFAULT_RECONNECT, ...rc };
    this.#nextDelay = this.#reconnect?.initialDelayMs ?? 0;
    if (this.#endpoint.kind === 'unix' && Buffer.byteLength(this.#endpoint.path) > UNIX_PATH_MAX) {
      throw new TransportError('ENAMETOOLONG', `UNIX socket path is longer than ${UNIX_PATH_MAX} bytes: ${this.#endpoint.path}`);
    }
  }

  /** The endpoint, with the real port once a TCP server listens on port 0. */
  get endpoint(): ChardevEndpoint {
    if (this.#endpoint.kind === 'tcp' && this.#boundPort !== null) {
      return { ...this.#endpoint, port: this.#boundPort };
    }
    return { ...this.#endpoint };
  }

  describe(): string {
    return describeEndpoint(this.endpoint);
  }

  /**
   * The current peer's socket, for a consumer that wants the stream itself
   * (the MCTP serial binding uses its backpressure). Reads stay visible
   * through 'data' as well.
   */
  get peerStream(): net.Socket | null {
    return this.#peer;
  }

  get connected(): boolean {
    return this.#peer !== null && !this.#peer.destroyed;
  }

  get listening(): boolean {
    return this.#server?.listening ?? false;
  }

  /** Bytes written that the current peer has not taken yet. */
  get queuedBytes(): number {
    const peer = this.#peer;
    return peer === null || peer.destroyed ? 0 : peer.writableLength;
  }

  stats(): ChardevStats {
    return {
      endpoint: this.describe(),
      role: this.role,
      connected: this.connected,
      ...this.#stats,
      queuedBytes: this.queuedBytes,
      maxQueuedBytes: this.#maxQueued,
    };
  }

  // ---------------------------------------------------------------- server

  /** Server role: bind and listen. Resolves once listening. */
  async listen(): Promise<void> {
    if (this.role !== 'server') throw new TransportError('EROLE', 'listen() is for the server role; use connect()');
    if (this.#state !== 'idle') throw new TransportError('ESTATE', `listen() in state ${this.#state}`);
    this.#state = 'open';
    try {
      if (this.#endpoint.kind === 'unix') await this.#clearStaleUnixSocket(this.#endpoint.path);
      const server = net.createServer({ allowHalfOpen: false }, (sock) => this.#onConnection(sock));
      const ep = this.#endpoint;
      server.listen(ep.kind === 'unix' ? { path: ep.path } : { host: ep.host ?? '127.0.0.1', port: ep.port });
      // once() rejects with the server's 'error' (EADDRINUSE, EACCES, ...) if that comes first.
      await once(server, 'listening');
      server.on('error', (err) => this.#socketError(err));
      this.#server = server;
      if (this.#endpoint.kind === 'unix') {
        this.#boundIno = (await lstat(this.#endpoint.path)).ino;
      } else {
        const addr = server.address();
        if (addr && typeof addr === 'object') this.#boundPort = addr.port;
      }
      if (this.#state !== 'open') {
        // close() was called while we were binding.
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await this.#unlinkOwnSocket();
        throw new TransportError('ECLOSED', 'closed while listening');
      }
    } catch (err) {
      if (this.#state === 'open') this.#state = 'idle';
      throw err;
    }
  }

  /**
   * A UNIX path may hold a socket left by a crashed instance. Remove it only
   * if it is a socket and nobody answers on it; never touch anything else.
   */
  async #clearStaleUnixSocket(path: string): Promise<void> {
    let st;
    try {
      st = await lstat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (!st.isSocket()) {
      throw new TransportError('EEXIST', `refusing to replace ${path}: it exists and is not a socket`);
    }
    if (await probeUnixSocket(path)) {
      throw new TransportError('EADDRINUSE', `${path} is in use: another process is listening on it`);
    }
    await unlink(path);
    this.#stats.staleSocketsRemoved++;
  }

  #onConnection(sock: net.Socket): void {
    this.#track(sock);
    if (this.#peer !== null || this.#state !== 'open') {
      // One peer at a time, like a QEMU chardev: the newcomer is closed at once
      // so it cannot interleave bytes with the peer already on the line.
      this.#stats.refused++;
      sock.on('error', () => {});
      sock.destroy();
      this.emit('refused');
      return;
    }
    this.#attachPeer(sock);
  }

  // ---------------------------------------------------------------- client

  /**
   * Client role: start connecting. Resolves at the next successful connect (at
   * once if connected). With reconnect disabled, rejects if that attempt fails;
   * with reconnect enabled, keeps retrying with backoff until close().
   */
  connect(): Promise<void> {
    if (this.role !== 'client') {
      return Promise.reject(new TransportError('EROLE', 'connect() is for the client role; use listen()'));
    }
    if (this.#state === 'closing' || this.#state === 'closed') {
      return Promise.reject(new TransportError('ECLOSED', 'connect() after close()'));
    }
    this.#state = 'open';
    if (this.connected) return Promise.resolve();
    const attached = waitFor(this.#outcome, 'attached', undefined, { failOn: ['failed'], what: `a connection to ${this.describe()}` }).then(
      () => undefined,
      (e: unknown) => {
        // 'failed' carries the reason (TransportError): that is what the caller gets.
        throw isCodedError(e, 'ERR_WAIT_FAILED', WaitError) && e.cause instanceof Error ? e.cause : e;
      },
    );
    if (this.#attempt === null && this.#retryTimer === null) this.#startAttempt();
    return attached;
  }

  #startAttempt(): void {
    const ep = this.#endpoint;
    this.#stats.connectAttempts++;
    const sock =
      ep.kind === 'unix'
        ? net.createConnection({ path: ep.path })
        : net.createConnection({ host: ep.host ?? '127.0.0.1', port: ep.port });
    this.#attempt = sock;
    this.#track(sock);
    const onError = (err: Error) => {
      if (this.#attempt !== sock) return;
      this.#attempt = null;
      this.#stats.connectFailures++;
      this.#socketError(err);
      sock.destroy();
      if (this.#state !== 'open') return;
      if (this.#reconnect) {
        this.#scheduleRetry();
      } else {
        this.#connectFailed(
          new TransportError(connectFailureCode(err), `cannot connect to ${this.describe()}: ${err.message}`, { cause: err }),
        );
      }
    };
    sock.once('error', onError);
    sock.once('connect', () => {
      sock.off('error', onError);
      if (this.#attempt !== sock) return;
      this.#attempt = null;
      if (this.#state !== 'open') {
        sock.destroy();
        return;
      }
      if (this.#reconnect) this.#nextDelay = this.#reconnect.initialDelayMs;
      this.#attachPeer(sock);
      this.#outcome.emit('attached');
    });
  }

  #scheduleRetry(): void {
    if (!this.#reconnect || this.#retryTimer !== null || this.#state !== 'open') return;
    const delay = this.#nextDelay;
    this.#nextDelay = Math.min(this.#reconnect.maxDelayMs, Math.max(1, delay * this.#reconnect.factor));
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = null;
      if (this.#state === 'open' && this.#peer === null && this.#attempt === null) this.#startAttempt();
    }, delay);
  }

  #connectFailed(err: Error): void {
    this.#outcome.emit('failed', err);
  }

  // ---------------------------------------------------------------- peer

  #attachPeer(sock: net.Socket): void {
    this.#peer = sock;
    this.#stats.connections++;
    if (this.#endpoint.kind === 'tcp' && this.#noDelay) sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => {
      if (this.#peer !== sock) return;
      this.#stats.bytesIn += chunk.length;
      this.emit('data', chunk);
    });
    sock.on('error', (err) => this.#socketError(err));
    sock.once('close', () => this.#peerGone(sock));
    this.emit('connect');
  }

  /** Single exit path for a peer, however it left; emits 'disconnect' once. */
  #peerGone(sock: net.Socket): void {
    if (this.#peer !== sock) return;
    this.#peer = null;
    this.#stats.disconnects++;
    this.emit('disconnect');
    if (this.role === 'client' && this.#state === 'open') this.#scheduleRetry();
  }

  /** Drop the current peer. A server keeps listening; a client reconnects per its policy. */
  disconnect(): void {
    const peer = this.#peer;
    if (!peer) return;
    peer.destroy();
    this.#peerGone(peer);
  }

  write(data: Uint8Array): boolean {
    const peer = this.#peer;
    if (peer === null || peer.destroyed || !peer.writable) {
      this.#stats.bytesDropped += data.length;
      this.#stats.writesDropped++;
      return false;
    }
    const queued = peer.writableLength;
    if (queued > 0 && queued + data.length > this.#maxQueued) {
      this.#overflow(peer, queued, data.length);
      return false;
    }
    peer.write(data);
    this.#stats.bytesOut += data.length;
    if (peer.writableLength > this.#stats.peakQueuedBytes) this.#stats.peakQueuedBytes = peer.writableLength;
    return true;
  }

  /**
   * The peer is not reading: destroy its socket, which frees what was queued
   * for it. 'disconnect' follows from the socket's 'close' as for any lost
   * peer, not from inside this write, so the writer (a wire server in the
   * middle of a reply, a model raising an interrupt) is never re-entered.
   */
  #overflow(peer: net.Socket, queued: number, writeBytes: number): void {
    this.#stats.overflowDisconnects++;
    this.#stats.overflowBytesDiscarded += queued + writeBytes;
    peer.destroy();
    if (this.listenerCount('overflow') > 0) {
      this.emit('overflow', { endpoint: this.describe(), queuedBytes: queued, writeBytes, maxQueuedBytes: this.#maxQueued } satisfies ChardevOverflow);
    }
  }

  #track(sock: net.Socket): void {
    this.#sockets.add(sock);
    sock.once('close', () => this.#sockets.delete(sock));
  }

  #socketError(err: Error): void {
    this.#stats.errors++;
    if (this.listenerCount('socket-error') > 0) this.emit('socket-error', err);
  }

  // ---------------------------------------------------------------- close

  /** Stop listening/connecting, drop the peer, remove our socket file. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    this.#state = 'closing';
    this.#retryTimer?.cancel();
    this.#retryTimer = null;
    this.#connectFailed(new TransportError('ECLOSED', `${this.describe()} closed`));
    this.disconnect();
    this.#attempt = null;
    const closed: Promise<void>[] = [];
    for (const sock of this.#sockets) {
      closed.push(waitFor(sock, 'close').then(() => undefined));
      sock.on('error', () => {});
      sock.destroy();
    }
    const server = this.#server;
    this.#server = null;
    if (server) closed.push(new Promise<void>((resolve) => server.close(() => resolve())));
    await Promise.all(closed);
    await this.#unlinkOwnSocket();
    this.#state = 'closed';
  }

  /**
   * libuv already unlinks a UNIX server's path when the server closes; this
   * covers the cases where it does not (e.g. close() racing listen()). The
   * inode check keeps us from removing a socket someone else bound since.
   */
  async #unlinkOwnSocket(): Promise<void> {
    if (this.#endpoint.kind !== 'unix' || this.#boundIno === null) return;
    const path = this.#endpoint.path;
    try {
      const st = await lstat(path);
      if (st.isSocket() && st.ino === this.#boundIno) await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.#boundIno = null;
  }
}

/** True if something accepts connections on the UNIX socket at path. */
export function probeUnixSocket(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    const done = (result: boolean | Error) => {
      s.removeAllListeners('connect');
      s.removeAllListeners('error');
      s.on('error', () => {});
      s.once('close', () => (result instanceof Error ? reject(result) : resolve(result)));
      s.destroy();
    };
    s.once('connect', () => done(true));
    s.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') done(false);
      // A full backlog means someone is listening.
      else if (err.code === 'EAGAIN') done(true);
      else done(err);
    });
  });
}
