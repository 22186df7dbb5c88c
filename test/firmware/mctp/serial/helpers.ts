/** Shared test fixtures for the serial binding tests (not a test file itself). */
import { Duplex } from 'node:stream';
import type { BindingPort, MctpBinding } from '../../../../firmware/mctp/binding.js';
import { prng } from '../../../helpers/prng.js';
export { prng };


export function randInt(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

/** Random bytes with the two special values over-represented, to exercise escaping. */
export function randomPacket(rand: () => number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    const r = rand();
    b[i] = r < 0.1 ? 0x7e : r < 0.2 ? 0x7d : Math.floor(rand() * 256);
  }
  return b;
}

/** Split `data` into chunks of random length 1..maxChunk. */
export function randomChunks(rand: () => number, data: Buffer, maxChunk: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let pos = 0; pos < data.length; ) {
    const n = randInt(rand, 1, maxChunk);
    chunks.push(data.subarray(pos, pos + n));
    pos += n;
  }
  return chunks;
}

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Two Duplex ends of an in-memory byte pipe: what one writes, the other reads. */
export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
    });
  ends.push(make(() => ends[1]!), make(() => ends[0]!));
  return [ends[0]!, ends[1]!];
}

/**
 * A Duplex whose writes complete only when the test says so, so write()
 * returns false (highWaterMark 1) and 'drain' comes on release().
 */
export class StallingStream extends Duplex {
  readonly written: Buffer[] = [];
  #pending: Array<() => void> = [];

  constructor() {
    super({ writableHighWaterMark: 1, read() {} });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written.push(Buffer.from(chunk));
    this.#pending.push(() => cb());
  }

  /** Complete every write accepted so far. */
  release(): number {
    const pending = this.#pending;
    this.#pending = [];
    for (const done of pending) done();
    return pending.length;
  }
}

/**
 * A stand-in for the MCTP core's side of one interface: it queues packets and
 * transmits them head first, keeping a refused packet until txReady(), as the
 * binding contract says the core does.
 */
export class CoreLikePort implements BindingPort {
  readonly received: Buffer[] = [];
  readonly carrierLog: boolean[] = [];
  readonly mtuLog: number[] = [];
  readonly queue: Buffer[] = [];
  txReadyCalls = 0;
  refusals = 0;
  onReceive: ((packet: Buffer) => void) | undefined;

  constructor(readonly binding: MctpBinding) {
    binding.attach(this);
  }

  send(...packets: Buffer[]): void {
    this.queue.push(...packets);
    this.pump();
  }

  pump(): void {
    while (this.queue.length > 0) {
      if (!this.binding.transmit(this.queue[0]!)) {
        this.refusals++;
        return;
      }
      this.queue.shift();
    }
  }

  receive(packet: Buffer): void {
    this.received.push(packet);
    this.onReceive?.(packet);
  }

  txReady(): void {
    this.txReadyCalls++;
    this.pump();
  }

  carrier(up: boolean): void {
    this.carrierLog.push(up);
  }

  mtuChanged(mtu: number): void {
    this.mtuLog.push(mtu);
  }
}

export const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
