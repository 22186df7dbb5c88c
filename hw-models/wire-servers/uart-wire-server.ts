/**
 * The host side of a 16550-style UART on a byte-stream wire (a QEMU serial
 * chardev): what the guest's serial port sends lands in the model's RX FIFO
 * as fast as the BMC drains it, and what the BMC writes to THR goes out to
 * the guest. Both the VUART (the host console) and the UART carrying the MCTP
 * serial link use it; for a UART on a line (one with setLineConnected), a peer
 * attaching or leaving is the far end of the cable coming and going, which
 * the BMC sees as DCD/DSR/CTS.
 *
 * The guest must never stall on a BMC that reads slowly or not at all, so
 * bytes wait in a bounded backlog here; past it they are dropped and counted
 * (a real UART would drop them at its 16-byte FIFO). A BMC driver that keeps
 * reading loses nothing.
 *
 * The other way, what the BMC sends goes straight to the link; the link
 * bounds what waits for a slow peer (ChardevSocket drops a peer that stops
 * reading), and bytes it refuses — no peer, or a peer just dropped — are
 * counted here as droppedToHost, as a UART with no cable loses them.
 */
import type { UartHostPort } from '../uart-16550.js';
import type { ByteLink } from '../../transport/byte-link.js';
import { ConfigError } from '../../lib/errors.js';

export const DEFAULT_UART_BACKLOG = 256 * 1024;

export interface UartWireStats {
  bytesFromHost: number;
  /** Reads from the wire that brought them (bytes per chunk shows how the far end batches). */
  chunksFromHost: number;
  bytesToHost: number;
  /** Host bytes dropped because the backlog was full. */
  droppedBacklog: number;
  /** BMC bytes the link refused (no peer attached). */
  droppedToHost: number;
  /** The most the backlog has held after feeding the FIFO: how far the BMC's driver fell behind. */
  backlogPeak: number;
}

export class UartWire {
  readonly #port: UartHostPort;
  readonly #link: ByteLink;
  readonly #limit: number;
  #backlog: Buffer[] = [];
  #backlogBytes = 0;
  #stats: UartWireStats = { bytesFromHost: 0, chunksFromHost: 0, bytesToHost: 0, droppedBacklog: 0, droppedToHost: 0, backlogPeak: 0 };
  readonly #onData = (chunk: Buffer): void => this.#fromHost(chunk);
  readonly #onReady = (): void => this.#pump();
  readonly #onConnect = (): void => this.#port.setLineConnected?.(true);
  readonly #onDisconnect = (): void => this.#port.setLineConnected?.(false);
  readonly #onHostRx = (bytes: Buffer): void => {
    this.#stats.bytesToHost += bytes.length;
    if (!this.#link.write(bytes)) this.#stats.droppedToHost += bytes.length;
  };

  constructor(port: UartHostPort, link: ByteLink, opts: { backlogBytes?: number } = {}) {
    this.#port = port;
    this.#link = link;
    this.#limit = opts.backlogBytes ?? DEFAULT_UART_BACKLOG;
    // Host bytes reach the FIFO through the backlog, so 0 would drop them all.
    if (!Number.isSafeInteger(this.#limit) || this.#limit < 1) {
      throw new ConfigError(`UART wire: backlogBytes must be a positive integer, not ${opts.backlogBytes}`);
    }
    link.on('data', this.#onData);
    link.on('connect', this.#onConnect);
    link.on('disconnect', this.#onDisconnect);
    port.on('host-tx-ready', this.#onReady);
    port.on('host-rx', this.#onHostRx);
    port.setLineConnected?.(link.connected);
  }

  stats(): UartWireStats & { backlogBytes: number } {
    return { ...this.#stats, backlogBytes: this.#backlogBytes };
  }

  #fromHost(chunk: Buffer): void {
    this.#stats.bytesFromHost += chunk.length;
    this.#stats.chunksFromHost++;
    const room = this.#limit - this.#backlogBytes;
    if (chunk.length > room) {
      this.#stats.droppedBacklog += chunk.length - room;
      chunk = chunk.subarray(0, room);
    }
    if (chunk.length === 0) return;
    this.#backlog.push(chunk);
    this.#backlogBytes += chunk.length;
    this.#pump();
    if (this.#backlogBytes > this.#stats.backlogPeak) this.#stats.backlogPeak = this.#backlogBytes;
  }

  /** Feed the RX FIFO as far as it has room; 'host-tx-ready' calls again. */
  #pump(): void {
    while (this.#backlog.length) {
      const room = this.#port.hostTransmitRoom();
      if (room === 0) return;
      const head = this.#backlog[0]!;
      const n = this.#port.hostTransmit(head.subarray(0, room));
      if (n === 0) {
        // The model refused them (a disabled or discarding VUART) and counted the drop; don't spin on it.
        this.#backlog = [];
        this.#backlogBytes = 0;
        return;
      }
      this.#backlogBytes -= n;
      if (n === head.length) this.#backlog.shift();
      else this.#backlog[0] = head.subarray(n);
    }
  }

  detach(): void {
    this.#link.off('data', this.#onData);
    this.#link.off('connect', this.#onConnect);
    this.#link.off('disconnect', this.#onDisconnect);
    this.#port.off('host-tx-ready', this.#onReady);
    this.#port.off('host-rx', this.#onHostRx);
  }
}
