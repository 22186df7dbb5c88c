/**
 * Connects a BMC-mode and a host-mode AstlpcBinding through FakeKcs and a
 * shared FakeWindow, each attached to a FakeBindingPort, on a ManualClock.
 * settle() runs both until neither has KCS work left, advancing the clock
 * only while the remaining work is waiting on it.
 */
import { ManualClock } from '../../../../lib/clock.js';
import {
  AstlpcBinding,
  type AstlpcBmcOptions,
  type AstlpcHostOptions,
} from '../../../../firmware/mctp/astlpc/binding.js';
import { FakeBindingPort, FakeKcs, type FakeKcsOptions, FakeWindow } from './fakes.js';

export interface HarnessOptions extends FakeKcsOptions {
  windowSize?: number;
}

type Extra<T> = Partial<Omit<T, 'mode' | 'kcs' | 'window' | 'clock'>>;

export class Harness {
  readonly clock = new ManualClock();
  readonly kcs: FakeKcs;
  readonly window: FakeWindow;
  bmcPort = new FakeBindingPort();
  hostPort = new FakeBindingPort();
  bmc: AstlpcBinding | undefined;
  host: AstlpcBinding | undefined;
  readonly #all: AstlpcBinding[] = [];
  /** Other parties settle() waits for (e.g. a libmctp-like host). */
  readonly #extra: Array<{ readonly busy: boolean }> = [];

  constructor(options: HarnessOptions = {}) {
    this.kcs = new FakeKcs(options);
    this.window = new FakeWindow(options.windowSize);
  }

  makeBmc(options: Extra<AstlpcBmcOptions> = {}): AstlpcBinding {
    const b = new AstlpcBinding({
      mode: 'bmc',
      kcs: this.kcs.bmc,
      window: this.window.view('bmc'),
      windowSize: this.window.size,
      clock: this.clock,
      ...options,
    });
    this.bmcPort = new FakeBindingPort();
    b.attach(this.bmcPort);
    this.bmc = b;
    this.#all.push(b);
    return b;
  }

  makeHost(options: Extra<AstlpcHostOptions> = {}): AstlpcBinding {
    const b = new AstlpcBinding({
      mode: 'host',
      kcs: this.kcs.host,
      window: this.window.view('host'),
      windowSize: this.window.size,
      clock: this.clock,
      ...options,
    });
    this.hostPort = new FakeBindingPort();
    b.attach(this.hostPort);
    this.host = b;
    this.#all.push(b);
    return b;
  }

  /** Let settle() also wait while `party` is busy (it never sleeps on the clock). */
  track(party: { readonly busy: boolean }): void {
    this.#extra.push(party);
  }

  /** Run until no binding (or tracked party) has queued KCS work. */
  async settle(maxIterations = 200_000): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < maxIterations; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const busy = this.#all.filter((b) => b.busy);
      const extraBusy = this.#extra.some((p) => p.busy);
      if (busy.length === 0 && !extraBusy) {
        // Two quiet ticks in a row: nothing left in flight.
        if (++quiet >= 2) return;
        continue;
      }
      quiet = 0;
      if (!extraBusy && busy.every((b) => b.sleeping)) this.clock.advance(1);
    }
    throw new Error('astlpc harness did not settle');
  }

  /** Advance the clock ms milliseconds, one at a time, settling after each. */
  async advance(ms: number): Promise<void> {
    for (let i = 0; i < ms; i++) {
      this.clock.advance(1);
      await this.settle();
    }
  }

  /** BMC first, then host; both active. */
  async up(bmc: Extra<AstlpcBmcOptions> = {}, host: Extra<AstlpcHostOptions> = {}): Promise<void> {
    this.makeBmc(bmc).setUp(true);
    await this.settle();
    this.makeHost(host).setUp(true);
    await this.settle();
  }

  /** Transmit every packet in order, waiting for the sender's txReady whenever it refuses. */
  async sendAll(from: AstlpcBinding, packets: Buffer[]): Promise<void> {
    for (const packet of packets) {
      let tries = 0;
      while (!from.transmit(packet)) {
        if (++tries > 1000) throw new Error('transmit never accepted');
        await this.settle();
      }
    }
    await this.settle();
  }

  async closeAll(): Promise<void> {
    for (const b of this.#all) await b.close();
  }
}

/**
 * Split a message into MCTP packets of at most `mtu` bytes (header included),
 * with SOM/EOM, a running sequence number and tag 0 owner bit set.
 */
export function packetise(message: Buffer, mtu: number, dest = 9, src = 8): Buffer[] {
  const chunk = mtu - 4;
  const packets: Buffer[] = [];
  let seq = 0;
  for (let pos = 0; pos < message.length || pos === 0; pos += chunk) {
    const part = message.subarray(pos, pos + chunk);
    const som = pos === 0 ? 0x80 : 0;
    const eom = pos + chunk >= message.length ? 0x40 : 0;
    const hdr = Buffer.from([0x01, dest, src, som | eom | (seq << 4) | 0x08]);
    packets.push(Buffer.concat([hdr, part]));
    seq = (seq + 1) & 3;
    if (message.length === 0) break;
  }
  return packets;
}

/** Reassemble payloads of packets (no checks beyond order). */
export function reassemble(packets: Buffer[]): Buffer {
  return Buffer.concat(packets.map((p) => p.subarray(4)));
}

/** A message of `len` bytes with a recognisable pattern. */
export function pattern(len: number, seed = 1): Buffer {
  const buf = Buffer.alloc(len);
  for (let i = 0; i < len; i++) buf[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return buf;
}
