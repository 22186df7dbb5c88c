/**
 * The guest console's other end, across QEMU restarts. Either a ByteLink
 * handed in (e.g. the BMC's VUART wire), which is only tapped, or a chardev
 * socket server this module runs itself at the path of the machine's first
 * serial chardev, which QEMU connects to as a client. Either way every byte
 * the guest prints is fed to the ConsoleLog, and what a person types goes
 * back over the same link.
 *
 * The served socket lives as long as the wire, not as long as one QEMU: a
 * power cycle reconnects to the same listener, so nothing printed between
 * QEMU's start and the first `cont` is lost.
 */
import { systemClock } from '../lib/clock.js';
import { waitUntil } from '../lib/wait.js';
import type { ByteLink } from '../transport/byte-link.js';
import { ChardevSocket } from '../transport/chardev-socket.js';
import type { MachineSpec } from './cmdline.js';
import type { ConsoleLog } from './console-log.js';

export class ConsoleWire {
  readonly #log: ConsoleLog;
  readonly #given: ByteLink | undefined;
  #link: ByteLink | undefined;
  #served: ChardevSocket | undefined;
  #servedPath: string | undefined;

  /** `given`: a link to tap instead of serving the console chardev. */
  constructor(log: ConsoleLog, given?: ByteLink) {
    this.#log = log;
    this.#given = given;
    if (given) this.#attach(given);
  }

  /** The link the console runs over (undefined until serve() found a console chardev). */
  get link(): ByteLink | undefined {
    return this.#link;
  }

  get connected(): boolean {
    return this.#link?.connected ?? false;
  }

  #attach(link: ByteLink): void {
    this.#link = link;
    link.on('data', (b: Buffer) => this.#log.feed(b));
  }

  /**
   * Listen where `spec`'s first serial port connects, unless a link was
   * handed in or the socket already listens there. A spec whose console
   * path changed gets a new listener.
   */
  async serve(spec: MachineSpec): Promise<void> {
    if (this.#given) return;
    const id = spec.serials[0];
    const dev = spec.chardevs.find((c) => c.id === id);
    if (!dev) return;
    if (this.#served && this.#servedPath === dev.path) return;
    if (this.#served) await this.#served.close();
    const sock = new ChardevSocket({ role: 'server', endpoint: { kind: 'unix', path: dev.path } });
    sock.on('socket-error', () => {}); // counted in its stats; a QEMU going away is normal
    await sock.listen();
    this.#served = sock;
    this.#servedPath = dev.path;
    this.#attach(sock);
  }

  /** What a person types. False if no peer is connected. */
  write(data: string | Uint8Array): boolean {
    return this.#link?.write(typeof data === 'string' ? Buffer.from(data) : data) ?? false;
  }

  /**
   * True once the peer (QEMU's console chardev) is connected; false after
   * `ms` of real time, or when `signal` aborts (QEMU exited), without it.
   */
  async waitConnected(ms: number, signal?: AbortSignal): Promise<boolean> {
    const link = this.#link;
    if (!link) return true;
    try {
      await waitUntil(link, 'connect', () => link.connected, {
        clock: systemClock,
        timeoutMs: ms,
        ...(signal ? { signal } : {}),
        what: 'the console chardev to connect',
      });
    } catch {
      return link.connected;
    }
    return true;
  }

  /** Stop serving the console socket (a handed-in link is left alone). */
  async close(): Promise<void> {
    const served = this.#served;
    this.#served = undefined;
    this.#servedPath = undefined;
    if (served) await served.close();
  }
}
