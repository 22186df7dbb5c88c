/**
 * Model side of the KCS wire (docs/kcs-wire.md): binds one KCS channel's host
 * port to one byte link (normally a ChardevSocket), turning each request
 * frame into exactly one hostRead()/hostWrite() and each rising OBF into an
 * interrupt frame.
 *
 * Before the model goes away, drain() lets a connected host collect the byte
 * waiting in ODR (the last interrupt: typically the BMC's "going down"
 * status), so a host learns of a shutdown even though the registers do not
 * outlive the model (docs/kcs-wire.md §7 "Model shutdown and restart").
 *
 * Requests are processed synchronously as they are decoded, so a reply always
 * reflects the model's state at the moment its request was processed, and
 * replies leave in request order. Frames produced while one input chunk is
 * processed (replies, and interrupts the BMC raises in reaction) are gathered
 * and written in one go, in the order they were produced: ordering is exactly
 * as if each had been written on its own, with one syscall instead of many.
 *
 * Memory stays bounded whatever the host does. Input: the decoder holds at
 * most a 2-byte partial frame, and one input chunk's replies are written
 * before the next chunk is read. Output: every request is answered, so a host
 * that sends without reading (a SYNC flood) makes replies pile up in the
 * link; the link bounds that queue and drops such a peer (ChardevSocket's
 * `maxQueuedBytes`, counted there as `overflowDisconnects`).
 */
import { EventEmitter } from 'node:events';
import type { KcsHostPort, KcsHostReg } from '../kcs-host-port.js';
import type { ByteLink } from '../../transport/byte-link.js';
import type { Clock } from '../../lib/clock.js';
import { ConfigError, isCodedError } from '../../lib/errors.js';
import { WaitError, waitUntil } from '../../lib/wait.js';
import {
  KCS_STR_OBF,
  KCS_WIRE_FRAME_SIZE,
  KCS_WIRE_VERSION,
  KcsFrameDecoder,
  KcsWireErrorCode,
  KcsWireOp,
  encodeError,
  encodeHello,
  encodeInterrupt,
  encodeReadReply,
  encodeSyncReply,
  encodeWriteAck,
  validateHostFrame,
  type KcsWireErrorCodeValue,
} from '../../transport/kcs-wire/codec.js';

export interface KcsWireServerOptions {
  /** KCS channel number announced in the hello (AST2500: 1..4; 0 = unspecified). */
  channel: number;
  /**
   * After this many malformed frames in a row the server drops the
   * connection: a run of errors almost always means the host lost frame
   * alignment, and only a new connection realigns the stream. 0 = never.
   */
  maxConsecutiveErrors?: number;
}

export const DEFAULT_MAX_CONSECUTIVE_ERRORS = 16;

/** How long drain() gives a connected host to read ODR by default. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 1000;

export interface KcsWireDrainOptions {
  /** Longest wait for the host (default DEFAULT_DRAIN_TIMEOUT_MS). */
  timeoutMs?: number;
  clock?: Clock;
}

export interface KcsWireServerStats {
  channel: number;
  connected: boolean;
  connections: number;
  framesIn: number;
  framesOut: number;
  reads: number;
  writes: number;
  /** SYNC requests answered (session restarts without a new connection). */
  syncs: number;
  /** 0x90 frames sent (on a rising OBF, and after a hello when OBF was already set). */
  interruptsSent: number;
  /** Rising OBF edges while no host was connected (the connect-time 0x90 covers them). */
  interruptsWhileDisconnected: number;
  errorsUnknownOp: number;
  errorsBadReg: number;
  errorsWrongDirection: number;
  /** Bytes of incomplete frames thrown away when a connection ended. */
  partialBytesDiscarded: number;
  /** Connections dropped by the consecutive-error rule. */
  resyncDisconnects: number;
}

export class KcsWireServer {
  readonly #port: KcsHostPort;
  readonly #link: ByteLink;
  readonly #channel: number;
  readonly #maxConsecutiveErrors: number;
  readonly #decoder = new KcsFrameDecoder();
  #consecutiveErrors = 0;
  /** Frames waiting to be written at the end of the current input chunk; null outside one. */
  #batch: Buffer[] | null = null;
  #detached = false;
  /** 'progress' after each input chunk, disconnect and detach: what drain() re-checks on. */
  readonly #progress = new EventEmitter().setMaxListeners(0);

  readonly #stats = {
    connections: 0,
    framesIn: 0,
    framesOut: 0,
    reads: 0,
    writes: 0,
    syncs: 0,
    interruptsSent: 0,
    interruptsWhileDisconnected: 0,
    errorsUnknownOp: 0,
    errorsBadReg: 0,
    errorsWrongDirection: 0,
    partialBytesDiscarded: 0,
    resyncDisconnects: 0,
  };

  readonly #onConnect = (): void => this.#connected();
  readonly #onDisconnect = (): void => this.#disconnected();
  readonly #onData = (chunk: Buffer): void => this.#receive(chunk);
  readonly #onHostIrq = (str: number): void => this.#interrupt(str);

  constructor(port: KcsHostPort, link: ByteLink, opts: KcsWireServerOptions) {
    if (!Number.isInteger(opts.channel) || opts.channel < 0 || opts.channel > 0xff) {
      throw new ConfigError(`KCS wire: channel must be 0..255, got ${opts.channel}`);
    }
    this.#port = port;
    this.#link = link;
    this.#channel = opts.channel;
    this.#maxConsecutiveErrors = opts.maxConsecutiveErrors ?? DEFAULT_MAX_CONSECUTIVE_ERRORS;
    link.on('connect', this.#onConnect);
    link.on('disconnect', this.#onDisconnect);
    link.on('data', this.#onData);
    port.on('host-irq', this.#onHostIrq);
    // Attached to a link that already has a peer: greet it now.
    if (link.connected) this.#connected();
  }

  get channel(): number {
    return this.#channel;
  }

  stats(): KcsWireServerStats {
    return { channel: this.#channel, connected: this.#link.connected, ...this.#stats };
  }

  /**
   * Before the model goes away: give a connected host up to `timeoutMs` to
   * read the byte the BMC left in ODR (OBF set) — the host has been sent its
   * interrupt frame — answering its requests meanwhile. Resolves true once
   * OBF is clear or no host is connected (at once if that holds already),
   * false when the time runs out. Changes nothing itself.
   */
  async drain(opts: KcsWireDrainOptions = {}): Promise<boolean> {
    const drained = (): boolean => this.#detached || !this.#link.connected || (this.#port.peekStatus() & KCS_STR_OBF) === 0;
    try {
      await waitUntil(this.#progress, 'progress', drained, {
        clock: opts.clock,
        timeoutMs: opts.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
        what: 'the host to read ODR',
      });
      return true;
    } catch (e) {
      if (isCodedError(e, 'ERR_WAIT_TIMEOUT', WaitError)) return false;
      throw e;
    }
  }

  /** Stop serving: remove every listener this server added. The link stays as it is. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#link.off('connect', this.#onConnect);
    this.#link.off('disconnect', this.#onDisconnect);
    this.#link.off('data', this.#onData);
    this.#port.off('host-irq', this.#onHostIrq);
    this.#progress.emit('progress');
  }

  #connected(): void {
    this.#stats.connections++;
    this.#decoder.reset();
    this.#consecutiveErrors = 0;
    this.#startSession();
  }

  /** Hello, and the interrupt a newcomer would otherwise have missed. */
  #startSession(): void {
    this.#send(encodeHello(this.#channel, KCS_WIRE_VERSION));
    // A host that (re)connects while OBF is set would otherwise never learn
    // about data the BMC put in ODR while it was away.
    const str = this.#port.peekStatus();
    if (str & KCS_STR_OBF) this.#sendInterrupt(str);
  }

  #disconnected(): void {
    // A partial request is discarded, never completed by the next connection's bytes.
    this.#stats.partialBytesDiscarded += this.#decoder.reset();
    this.#consecutiveErrors = 0;
    this.#progress.emit('progress');
  }

  #interrupt(str: number): void {
    if (!this.#link.connected) {
      this.#stats.interruptsWhileDisconnected++;
      return;
    }
    this.#sendInterrupt(str);
  }

  #sendInterrupt(str: number): void {
    this.#stats.interruptsSent++;
    this.#send(encodeInterrupt(str & 0xff));
  }

  #send(frame: Buffer): void {
    if (this.#batch) {
      this.#batch.push(frame);
      return;
    }
    this.#stats.framesOut++;
    this.#link.write(frame);
  }

  #receive(chunk: Buffer): void {
    const batch: Buffer[] = [];
    this.#batch = batch;
    try {
      this.#decoder.push(chunk, (op, reg, value) => this.#request(op, reg, value));
    } finally {
      this.#batch = null;
      if (batch.length > 0) {
        this.#stats.framesOut += batch.length;
        this.#link.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, batch.length * KCS_WIRE_FRAME_SIZE));
      }
    }
    this.#progress.emit('progress');
  }

  /** One request frame → one reply frame. Returns false to stop decoding (connection dropped). */
  #request(op: number, reg: number, value: number): boolean {
    this.#stats.framesIn++;
    const bad = validateHostFrame(op, reg);
    if (bad !== null) return this.#reject(bad, op);
    this.#consecutiveErrors = 0;
    const r = reg as KcsHostReg;
    if (op === KcsWireOp.READ) {
      this.#stats.reads++;
      this.#send(encodeReadReply(r, this.#port.hostRead(r) & 0xff));
    } else if (op === KcsWireOp.SYNC) {
      // The reply marks the point in the stream where the new session starts;
      // everything the host receives after it belongs to that session.
      this.#stats.syncs++;
      this.#send(encodeSyncReply(value));
      this.#startSession();
    } else {
      this.#stats.writes++;
      this.#send(encodeWriteAck(r, this.#port.hostWrite(r, value) & 0xff));
    }
    return true;
  }

  #reject(code: KcsWireErrorCodeValue, op: number): boolean {
    if (code === KcsWireErrorCode.UNKNOWN_OP) this.#stats.errorsUnknownOp++;
    else if (code === KcsWireErrorCode.BAD_REG) this.#stats.errorsBadReg++;
    else this.#stats.errorsWrongDirection++;
    this.#send(encodeError(code, op));
    this.#consecutiveErrors++;
    if (this.#maxConsecutiveErrors > 0 && this.#consecutiveErrors >= this.#maxConsecutiveErrors) {
      this.#stats.resyncDisconnects++;
      // Flush what this chunk produced (including this error) before hanging up,
      // so the host can see why.
      const batch = this.#batch;
      if (batch && batch.length > 0) {
        this.#stats.framesOut += batch.length;
        this.#link.write(Buffer.concat(batch));
        batch.length = 0;
      }
      this.#link.disconnect();
      return false;
    }
    return true;
  }
}
