/** Small test utilities for the wire tests. */
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ManualClock } from '../../../lib/clock.js';
import type { ByteLink } from '../../../transport/byte-link.js';

/** A fresh temp dir, short enough for UNIX socket paths (tap's testdir can be long). */
export function shortTempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bw-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Wait until pred() holds, yielding to real I/O between checks. If a
 * ManualClock is given, it is advanced by `step` ms per round, so backoff and
 * protocol timers fire without any real sleeping for them.
 */
export async function until(
  pred: () => boolean,
  opts: { clock?: ManualClock; step?: number; limitMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.limitMs ?? 5000);
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}`);
    if (opts.clock) opts.clock.advance(opts.step ?? 10);
    await tick();
    await new Promise((r) => setTimeout(r, 1));
  }
}

export async function nextEvent<T = unknown>(em: EventEmitter, name: string): Promise<T> {
  const [v] = await once(em, name);
  return v as T;
}

/**
 * One end of an in-memory ByteLink pair. Delivery is synchronous, optionally
 * one byte per 'data' event to exercise frame reassembly.
 */
export class MemoryLink extends EventEmitter implements ByteLink {
  peer: MemoryLink | null = null;
  connected = false;
  splitBytes = false;
  readonly sent: Buffer[] = [];
  /** While both ends are being told about a new connection, writes wait here (as on a socket, 'connect' comes before data). */
  held: Buffer[] | null = null;

  write(data: Uint8Array): boolean {
    if (!this.connected || !this.peer) return false;
    const buf = Buffer.from(data);
    this.sent.push(buf);
    if (this.held) {
      this.held.push(buf);
      return true;
    }
    this.deliver(buf);
    return true;
  }

  deliver(buf: Buffer): void {
    const peer = this.peer!;
    if (this.splitBytes) for (const b of buf) peer.emit('data', Buffer.of(b));
    else peer.emit('data', buf);
  }

  disconnect(): void {
    if (!this.connected) return;
    const peer = this.peer!;
    this.connected = false;
    peer.connected = false;
    this.emit('disconnect');
    peer.emit('disconnect');
  }

  /** All bytes this end has sent, as one buffer. */
  sentBytes(): Buffer {
    return Buffer.concat(this.sent);
  }
}

export function memoryLinkPair(): { a: MemoryLink; b: MemoryLink; connect(): void } {
  const a = new MemoryLink();
  const b = new MemoryLink();
  a.peer = b;
  b.peer = a;
  return {
    a,
    b,
    connect() {
      a.connected = true;
      b.connected = true;
      a.held = [];
      b.held = [];
      a.emit('connect');
      b.emit('connect');
      for (const end of [a, b]) {
        const held = end.held!;
        end.held = null;
        for (const buf of held) if (end.connected) end.deliver(buf);
      }
    },
  };
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
