/**
 * A minimal WebSocket client (RFC 6455) for `bmcemu console`: Node 20 has no
 * WebSocket global without a flag, and `ws` is only a transitive dependency
 * of @fastify/websocket here. It speaks just what the console needs: one
 * connection, text/binary messages, ping/pong, close. Drop it for the global
 * WebSocket once the project requires Node 22.
 */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { CliError } from './errors.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
/** Largest message accepted from the server (the console sends its whole log at most). */
const MAX_MESSAGE = 64 * 1024 * 1024;

/** The server answered the upgrade with an ordinary response: ERR_WS_HANDSHAKE with its status and body. */
function handshakeRefused(status: number, body: string): CliError {
  let msg = `websocket upgrade refused: HTTP ${status}`;
  try {
    const b = JSON.parse(body) as { message?: string };
    if (b.message) msg += ` ${b.message}`;
  } catch {
    /* not JSON */
  }
  return new CliError('ERR_WS_HANDSHAKE', msg, { status, details: { body } });
}

export interface WsClientEvents {
  message: [data: Buffer, binary: boolean];
  close: [code: number, reason: string];
  error: [err: Error];
}

export class WsClient extends EventEmitter<WsClientEvents> {
  #socket: Duplex;
  #buf: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #fragOp = 0;
  #closeSent = false;
  #closed = false;

  private constructor(socket: Duplex, head: Buffer) {
    super();
    this.#socket = socket;
    socket.on('data', (b: Buffer) => this.#onData(b));
    socket.on('close', () => this.#finish(1006, 'connection lost'));
    socket.on('error', (e: Error) => this.emit('error', e));
    // Bytes that came with the 101 answer: handle them once the caller of
    // connect() has had its turn to add 'message' listeners.
    if (head.length) setImmediate(() => this.#onData(head));
  }

  static connect(url: string, opts: { headers?: Record<string, string> } = {}): Promise<WsClient> {
    const u = new URL(url.replace(/^ws/, 'http'));
    const key = randomBytes(16).toString('base64');
    const expected = createHash('sha1').update(key + GUID).digest('base64');
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port,
        path: u.pathname + u.search,
        // A connection of its own: an upgraded (or refused) socket must never go back to a pool.
        agent: false,
        headers: {
          ...opts.headers,
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-key': key,
          'sec-websocket-version': '13',
        },
      });
      req.on('upgrade', (res, socket, head) => {
        if (res.headers['sec-websocket-accept'] !== expected) {
          socket.destroy();
          reject(new CliError('ERR_WS_HANDSHAKE', 'websocket upgrade: the server answered with a wrong Sec-WebSocket-Accept'));
          return;
        }
        resolve(new WsClient(socket, head));
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => reject(handshakeRefused(res.statusCode ?? 0, body)));
      });
      req.on('error', reject);
      req.end();
    });
  }

  send(data: Buffer | string): void {
    const binary = typeof data !== 'string';
    this.#frame(binary ? OP_BINARY : OP_TEXT, binary ? data : Buffer.from(data));
  }

  close(code = 1000, reason = ''): void {
    if (this.#closeSent || this.#closed) return;
    const r = Buffer.from(reason);
    const payload = Buffer.alloc(2 + r.length);
    payload.writeUInt16BE(code, 0);
    r.copy(payload, 2);
    this.#frame(OP_CLOSE, payload);
    this.#closeSent = true;
  }

  /** Client frames are always masked (RFC 6455 §5.3). */
  #frame(op: number, payload: Buffer): void {
    if (this.#closed) return;
    const len = payload.length;
    const hlen = len < 126 ? 2 : len < 65536 ? 4 : 10;
    const frame = Buffer.alloc(hlen + 4 + len);
    frame[0] = 0x80 | op;
    if (len < 126) frame[1] = 0x80 | len;
    else if (len < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(len), 2);
    }
    const mask = randomBytes(4);
    mask.copy(frame, hlen);
    for (let i = 0; i < len; i++) frame[hlen + 4 + i] = payload[i]! ^ mask[i & 3]!;
    this.#socket.write(frame);
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const op = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE)) return this.#fail(1009, 'message too big');
        len = Number(big);
        off = 10;
      }
      const maskOff = off;
      if (masked) off += 4;
      if (b.length < off + len) return;
      const payload = Buffer.from(b.subarray(off, off + len));
      if (masked) for (let i = 0; i < len; i++) payload[i]! ^= b[maskOff + (i & 3)]!;
      this.#buf = b.subarray(off + len);
      this.#onFrame(fin, op, payload);
      if (this.#closed) return;
    }
  }

  #onFrame(fin: boolean, op: number, payload: Buffer): void {
    switch (op) {
      case OP_PING:
        this.#frame(OP_PONG, payload);
        return;
      case OP_PONG:
        return;
      case OP_CLOSE: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.subarray(2).toString('utf8');
        if (!this.#closeSent) {
          this.#frame(OP_CLOSE, payload.subarray(0, 2));
          this.#closeSent = true;
        }
        this.#finish(code, reason);
        this.#socket.end();
        return;
      }
      case OP_TEXT:
      case OP_BINARY:
      case OP_CONT: {
        if (op !== OP_CONT) this.#fragOp = op;
        this.#fragments.push(payload);
        if (!fin) return;
        const data = Buffer.concat(this.#fragments);
        this.#fragments = [];
        this.emit('message', data, this.#fragOp === OP_BINARY);
        return;
      }
      default:
        this.#fail(1002, `unknown opcode ${op}`);
    }
  }

  #fail(code: number, reason: string): void {
    this.close(code, reason);
    this.#socket.end();
    this.#finish(code, reason);
  }

  #finish(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close', code, reason);
  }
}
