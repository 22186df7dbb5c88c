/**
 * Host side of the KCS wire (docs/kcs-wire.md): what a host agent, a test or
 * a benchmark uses to perform LPC I/O on a remote KCS channel.
 *
 * read()/write() return promises and may be pipelined: requests go out in
 * call order and the model answers in the same order, so the oldest
 * outstanding request owns the next reply. The client also checks that each
 * reply echoes the op and register it expects; a mismatch means the stream
 * lost alignment, and the cure is a new connection (or resync() on a
 * transport without connection boundaries).
 *
 * The client never retries a request on its own: a KCS access has side
 * effects (reading ODR clears OBF), so after a disconnect or a timeout the
 * caller is told the outcome is unknown and decides what to do.
 *
 * Events: 'ready' (KcsWireHello) after a valid hello; 'disconnect' when a
 * ready session's connection ends; 'interrupt' (str) on a 0x90 frame;
 * 'protocol-error' (TransportError; the client has already dropped the
 * connection or refused the hello).
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../../lib/clock.js';
import { isCodedError } from '../../lib/errors.js';
import { WaitError, waitFor } from '../../lib/wait.js';
import type { ByteLink } from '../byte-link.js';
import { ChardevSocket, type ChardevEndpoint, type ReconnectPolicy } from '../chardev-socket.js';
import {
  KCS_WIRE_VERSION,
  KcsFrameDecoder,
  KcsWireOp,
  describeFrame,
  encodeFrame,
  encodeSync,
  errorCodeName,
  hex2,
} from './codec.js';
import { TransportError, type TransportErrorCode } from '../errors.js';

export const DEFAULT_KCS_WIRE_TIMEOUT_MS = 1000;

/** The codes the KCS-wire client fails with (the TransportError catalogue's KCS-wire part). */
export type KcsWireClientErrorCode = Extract<
  TransportErrorCode,
  'ENOTCONN' | 'EDISCONNECTED' | 'ETIMEDOUT' | 'EREMOTE' | 'EPROTO' | 'EVERSION' | 'ECHANNEL' | 'ECLOSED'
>;

export interface KcsWireHello {
  version: number;
  channel: number;
}

export interface KcsWireClientOptions {
  /** Clock for reply and hello timeouts (tests inject ManualClock). */
  clock?: Clock;
  /** How long a request may wait for its reply, and a new connection for its hello. */
  timeoutMs?: number;
  /** If set, a hello announcing any other channel is refused (ECHANNEL). */
  expectChannel?: number;
}

export interface KcsWireClientStats {
  ready: boolean;
  requests: number;
  replies: number;
  remoteErrors: number;
  timeouts: number;
  /** Replies that arrived after their request had already timed out (discarded). */
  lateReplies: number;
  /** Requests failed because the connection ended first. */
  failedOnDisconnect: number;
  interrupts: number;
  protocolErrors: number;
  hellos: number;
  /** Completed resync() hunts. */
  syncs: number;
}

interface Pending {
  op: number;
  reg: number;
  deadline: number;
  settled: boolean;
  resolve: (value: number) => void;
  reject: (err: Error) => void;
}

export class KcsWireClient extends EventEmitter {
  readonly #link: ByteLink;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #expectChannel: number | undefined;
  readonly #decoder = new KcsFrameDecoder();
  #ownedLink: ChardevSocket | null = null;
  #hello: KcsWireHello | null = null;
  #detached = false;

  /** Outstanding requests, oldest first; entries before #head are done. */
  #queue: Pending[] = [];
  #head = 0;
  #timer: TimerHandle | null = null;
  #helloTimer: TimerHandle | null = null;
  /** Tells waitReady() callers how the session start ended: 'ready' (hello), or 'refused' (Error). */
  readonly #readiness = new EventEmitter().setMaxListeners(0);
  /** Frames written by calls in the current tick, sent together in a microtask. */
  #out: Buffer[] = [];
  #flushQueued = false;
  /**
   * While resync() hunts for its SYNC reply: the cookie and the last two
   * bytes seen (-1 = none), so the 3-byte pattern is found across chunks.
   */
  #hunt: { cookie: number; prev1: number; prev2: number } | null = null;

  readonly #stats = {
    requests: 0,
    replies: 0,
    remoteErrors: 0,
    timeouts: 0,
    lateReplies: 0,
    failedOnDisconnect: 0,
    interrupts: 0,
    protocolErrors: 0,
    hellos: 0,
    syncs: 0,
  };

  readonly #onConnect = (): void => this.#connected();
  readonly #onDisconnect = (): void => this.#disconnected();
  readonly #onData = (chunk: Buffer): void => this.#receive(chunk);
  readonly #onFrame = (op: number, reg: number, value: number): boolean => this.#frame(op, reg, value);

  constructor(link: ByteLink, opts: KcsWireClientOptions = {}) {
    super();
    this.#link = link;
    this.#clock = opts.clock ?? systemClock;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_KCS_WIRE_TIMEOUT_MS;
    this.#expectChannel = opts.expectChannel;
    link.on('connect', this.#onConnect);
    link.on('disconnect', this.#onDisconnect);
    link.on('data', this.#onData);
    if (link.connected) this.#connected();
  }

  /**
   * A client that owns a chardev client socket to `endpoint` (reconnecting by
   * default). Nothing happens until connect(), so listeners attached in
   * between see everything, including a 0x90 that follows the first hello.
   * close() also closes the socket.
   */
  static forEndpoint(
    endpoint: ChardevEndpoint,
    opts: KcsWireClientOptions & { reconnect?: boolean | Partial<ReconnectPolicy> } = {},
  ): KcsWireClient {
    const link = new ChardevSocket({ endpoint, role: 'client', reconnect: opts.reconnect ?? true, clock: opts.clock });
    const client = new KcsWireClient(link, opts);
    client.#ownedLink = link;
    return client;
  }

  /**
   * forEndpoint() + connect(). Convenient when the caller does not need
   * events from the very first moment (attach 'interrupt' before connect()
   * otherwise).
   */
  static async open(
    endpoint: ChardevEndpoint,
    opts: KcsWireClientOptions & { reconnect?: boolean | Partial<ReconnectPolicy> } = {},
  ): Promise<KcsWireClient> {
    const client = KcsWireClient.forEndpoint(endpoint, opts);
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.close();
      throw err;
    }
  }

  /** For a client made by forEndpoint(): connect the socket and wait for a valid hello. */
  async connect(): Promise<KcsWireHello> {
    const link = this.#ownedLink;
    if (!link) throw new TransportError('ENOTCONN', 'KCS wire: connect() is for clients made by forEndpoint(); this one uses a link it does not own');
    const ready = this.waitReady();
    // If the socket fails first, that error is the one to report.
    ready.catch(() => {});
    await link.connect();
    return ready;
  }

  /** Connected and the model's hello accepted: requests may be sent. */
  get ready(): boolean {
    return this.#hello !== null && this.#link.connected;
  }

  get hello(): KcsWireHello | null {
    return this.#hello;
  }

  /** Requests sent and not yet answered (including timed-out ones whose reply is still due). */
  get outstanding(): number {
    return this.#queue.length - this.#head;
  }

  stats(): KcsWireClientStats {
    return { ready: this.ready, ...this.#stats };
  }

  /**
   * Resolves with the hello once the client is ready (at once if it is).
   * Rejects on a version/channel mismatch, on close, or after timeoutMs of
   * this client's clock if given.
   */
  waitReady(timeoutMs?: number): Promise<KcsWireHello> {
    if (this.#detached) return Promise.reject(new TransportError('ECLOSED', 'KCS wire client is closed'));
    if (this.ready) return Promise.resolve(this.#hello!);
    return waitFor<[KcsWireHello]>(this.#readiness, 'ready', undefined, {
      clock: this.#clock,
      timeoutMs,
      failOn: ['refused'],
      what: 'the model hello',
    }).then(
      ([hello]) => hello,
      (e: unknown) => {
        if (isCodedError(e, 'ERR_WAIT_TIMEOUT', WaitError)) {
          throw new TransportError('ETIMEDOUT', `KCS wire: model not ready within ${timeoutMs} ms`);
        }
        // 'refused' carries the reason (EVERSION, ECHANNEL, ECLOSED).
        throw isCodedError(e, 'ERR_WAIT_FAILED', WaitError) && e.cause instanceof Error ? e.cause : e;
      },
    );
  }

  /** Host LPC read: reg 0 = data (ODR; clears OBF), reg 1 = status (STR; no side effect). */
  read(reg: number): Promise<number> {
    return this.#request(KcsWireOp.READ, reg, 0);
  }

  /** Host LPC write: reg 0 = data, reg 1 = command. Resolves with STR after the write. */
  write(reg: number, value: number): Promise<number> {
    return this.#request(KcsWireOp.WRITE, reg, value);
  }

  #request(op: number, reg: number, value: number): Promise<number> {
    if (reg !== 0 && reg !== 1) {
      return Promise.reject(new RangeError(`KCS wire: register must be 0 (data) or 1 (status/command), got ${reg}`));
    }
    if (!Number.isInteger(value) || value < 0 || value > 0xff) {
      return Promise.reject(new RangeError(`KCS wire: value must be an integer 0..255, got ${value}`));
    }
    if (this.#detached) return Promise.reject(new TransportError('ECLOSED', 'KCS wire client is closed'));
    if (!this.ready) {
      const why = !this.#link.connected
        ? 'no connection to the model'
        : this.#hunt
          ? 'resynchronising, waiting for the SYNC reply'
          : 'connected, waiting for the model hello';
      return Promise.reject(new TransportError('ENOTCONN', `KCS wire: not ready (${why})`));
    }
    this.#stats.requests++;
    // A slot in the pending-reply queue rather than a waitFor: replies, the one
    // shared deadline timer and a disconnect settle slots strictly in request order.
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ op, reg, deadline: this.#clock.now() + this.#timeoutMs, settled: false, resolve, reject });
      this.#out.push(encodeFrame(op, reg, value));
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        queueMicrotask(() => this.#flush());
      }
      this.#armTimer();
    });
  }

  #flush(): void {
    this.#flushQueued = false;
    const out = this.#out;
    if (out.length === 0) return;
    this.#out = [];
    // If the link went down meanwhile, #disconnected() already failed the requests.
    this.#link.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  /**
   * Start a new session on the current stream, for transports without a
   * connection boundary (a guest's virtio-serial port survives a host agent
   * restart, so no hello arrives by itself, and stale bytes from the previous
   * agent may be waiting). Fails whatever is outstanding, sends SYNC with a
   * random cookie, discards everything until the matching SYNC reply, then
   * waits for the hello that follows it. Rejects with ETIMEDOUT after
   * timeoutMs; the hunt then continues, and resync() may be called again.
   */
  resync(): Promise<KcsWireHello> {
    if (this.#detached) return Promise.reject(new TransportError('ECLOSED', 'KCS wire client is closed'));
    if (!this.#link.connected) return Promise.reject(new TransportError('ENOTCONN', 'KCS wire: no connection to the model'));
    this.#failAll('EDISCONNECTED', 'KCS wire: session restarted (resync) before the reply; the request may or may not have been applied');
    this.#out = [];
    this.#helloTimer?.cancel();
    this.#helloTimer = null;
    this.#hello = null;
    const cookie = randomInt(256);
    this.#hunt = { cookie, prev1: -1, prev2: -1 };
    const ready = this.waitReady(this.#timeoutMs);
    this.#link.write(encodeSync(cookie));
    return ready;
  }

  // ------------------------------------------------------------ incoming

  #receive(chunk: Buffer): void {
    const hunt = this.#hunt;
    if (hunt === null) {
      this.#decoder.push(chunk, this.#onFrame);
      return;
    }
    // Byte-wise: stale bytes before the SYNC reply need not be frame-aligned.
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (hunt.prev2 === KcsWireOp.SYNC_REPLY && hunt.prev1 === 0 && b === hunt.cookie) {
        this.#hunt = null;
        this.#stats.syncs++;
        this.#decoder.reset();
        this.#armHelloTimer();
        if (i + 1 < chunk.length) this.#decoder.push(chunk.subarray(i + 1), this.#onFrame);
        return;
      }
      hunt.prev2 = hunt.prev1;
      hunt.prev1 = b;
    }
  }

  #frame(op: number, reg: number, value: number): boolean {
    switch (op) {
      case KcsWireOp.HELLO:
        return this.#onHello(reg, value);
      case KcsWireOp.INTERRUPT:
        if (this.#hello === null) return this.#protocolError(`interrupt frame before the hello`);
        this.#stats.interrupts++;
        this.emit('interrupt', value);
        return true;
      case KcsWireOp.READ_REPLY:
      case KcsWireOp.WRITE_ACK:
      case KcsWireOp.ERROR:
        return this.#onReply(op, reg, value);
      default:
        return this.#protocolError(`unknown frame ${describeFrame({ op, reg, value })} from the model`);
    }
  }

  #onHello(version: number, channel: number): boolean {
    this.#stats.hellos++;
    this.#helloTimer?.cancel();
    this.#helloTimer = null;
    if (this.#hello !== null) {
      // A hello mid-stream: the model side started a new stream (possible on
      // transports without a connection boundary, e.g. a virtio-serial port).
      this.#failAll('EDISCONNECTED', 'KCS wire: the model restarted the stream; the request may or may not have been applied');
      this.#hello = null;
    }
    if (version !== KCS_WIRE_VERSION) {
      return this.#refuseHello(
        new TransportError('EVERSION', `KCS wire: model speaks protocol version ${version}, this client speaks ${KCS_WIRE_VERSION}`),
      );
    }
    if (this.#expectChannel !== undefined && channel !== this.#expectChannel) {
      return this.#refuseHello(
        new TransportError('ECHANNEL', `KCS wire: model serves KCS channel ${channel}, expected ${this.#expectChannel}`),
      );
    }
    const hello = { version, channel };
    this.#hello = hello;
    this.#readiness.emit('ready', hello);
    this.emit('ready', hello);
    return true;
  }

  #refuseHello(err: TransportError): boolean {
    this.#stats.protocolErrors++;
    this.#readiness.emit('refused', err);
    this.emit('protocol-error', err);
    this.#link.disconnect();
    return false;
  }

  #onReply(op: number, reg: number, value: number): boolean {
    const slot = this.#queue[this.#head];
    if (this.#hello === null || slot === undefined) {
      return this.#protocolError(`reply ${describeFrame({ op, reg, value })} with no request outstanding`);
    }
    if (op !== KcsWireOp.ERROR) {
      const expected = slot.op === KcsWireOp.READ ? KcsWireOp.READ_REPLY : KcsWireOp.WRITE_ACK;
      if (op !== expected || reg !== slot.reg) {
        return this.#protocolError(
          `reply ${describeFrame({ op, reg, value })} does not match the oldest request (op ${hex2(slot.op)} reg ${slot.reg})`,
        );
      }
    }
    this.#shift();
    if (slot.settled) {
      this.#stats.lateReplies++;
      return true;
    }
    slot.settled = true;
    if (op === KcsWireOp.ERROR) {
      this.#stats.remoteErrors++;
      slot.reject(
        new TransportError('EREMOTE', `KCS wire: model rejected op ${hex2(value)} reg ${slot.reg}: ${errorCodeName(reg)}`, {
          details: { remoteCode: reg },
        }),
      );
    } else {
      this.#stats.replies++;
      slot.resolve(value);
    }
    return true;
  }

  #shift(): void {
    this.#queue[this.#head] = undefined as unknown as Pending;
    this.#head++;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The stream can no longer be trusted: report, and drop the connection to realign. */
  #protocolError(message: string): boolean {
    this.#stats.protocolErrors++;
    this.emit('protocol-error', new TransportError('EPROTO', `KCS wire: ${message}`));
    this.#link.disconnect();
    return false;
  }

  // ------------------------------------------------------------ timers

  /** One timer at a time, for the earliest deadline still open (deadlines are in request order). */
  #armTimer(): void {
    if (this.#timer !== null) return;
    for (let i = this.#head; i < this.#queue.length; i++) {
      const slot = this.#queue[i]!;
      if (slot.settled) continue;
      this.#timer = this.#clock.setTimeout(
        () => {
          this.#timer = null;
          this.#expire();
        },
        Math.max(0, slot.deadline - this.#clock.now()),
      );
      return;
    }
  }

  #expire(): void {
    const now = this.#clock.now();
    for (let i = this.#head; i < this.#queue.length; i++) {
      const slot = this.#queue[i]!;
      if (slot.settled) continue;
      if (slot.deadline > now) break;
      // The slot stays queued: its reply, if it ever comes, is still next in
      // line and must be consumed to keep later replies matched.
      slot.settled = true;
      this.#stats.timeouts++;
      slot.reject(
        new TransportError(
          'ETIMEDOUT',
          `KCS wire: no reply to ${slot.op === KcsWireOp.READ ? 'read' : 'write'} of reg ${slot.reg} within ${this.#timeoutMs} ms; it may or may not have been applied`,
        ),
      );
    }
    this.#armTimer();
  }

  // ------------------------------------------------------------ link state

  #connected(): void {
    this.#decoder.reset();
    this.#hunt = null;
    this.#hello = null;
    this.#armHelloTimer();
  }

  #armHelloTimer(): void {
    this.#helloTimer?.cancel();
    this.#helloTimer = this.#clock.setTimeout(() => {
      this.#helloTimer = null;
      if (this.#hello === null && this.#link.connected) {
        this.#protocolError(`no hello within ${this.#timeoutMs} ms (of connecting, or of the SYNC reply)`);
      }
    }, this.#timeoutMs);
  }

  #disconnected(): void {
    this.#decoder.reset();
    this.#hunt = null;
    this.#helloTimer?.cancel();
    this.#helloTimer = null;
    this.#out = [];
    const wasReady = this.#hello !== null;
    this.#hello = null;
    this.#failAll('EDISCONNECTED', 'KCS wire: connection to the model lost before the reply; the request may or may not have been applied');
    if (wasReady) this.emit('disconnect');
  }

  #failAll(code: KcsWireClientErrorCode, message: string): void {
    const queue = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    this.#timer?.cancel();
    this.#timer = null;
    for (const slot of queue) {
      if (slot.settled) continue;
      slot.settled = true;
      if (code === 'EDISCONNECTED') this.#stats.failedOnDisconnect++;
      slot.reject(new TransportError(code, message));
    }
  }

  /** Stop using the link: fail what is outstanding, remove listeners, cancel timers. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#hunt = null;
    this.#link.off('connect', this.#onConnect);
    this.#link.off('disconnect', this.#onDisconnect);
    this.#link.off('data', this.#onData);
    this.#helloTimer?.cancel();
    this.#helloTimer = null;
    this.#out = [];
    this.#hello = null;
    this.#failAll('ECLOSED', 'KCS wire client closed before the reply');
    this.#readiness.emit('refused', new TransportError('ECLOSED', 'KCS wire client is closed'));
  }

  /** detach(), and close the socket if open() created it. */
  async close(): Promise<void> {
    this.detach();
    await this.#ownedLink?.close();
  }
}
