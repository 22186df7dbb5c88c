/**
 * MCTP serial binding (DSP0253) over any Node Duplex byte stream: the VUART
 * tty driver's stream, a node:net socket to a QEMU serial chardev, a pty, or a
 * real device through @serialport/stream (transport/serial-device.ts).
 *
 * It behaves like the Linux mctp-serial line discipline: no link-layer
 * address, MTU fixed at 68, oversize transmits dropped (tx_dropped), FCS
 * failures counted as rx_crc_errors + rx_dropped. What a tty gives Linux for
 * free is done here by hand: stream backpressure becomes transmit() refusals
 * plus port.txReady(), and the stream's life becomes carrier.
 */
import type { Duplex } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { BindingMtu, BindingPort, MctpBinding } from '../binding.js';
import { SERIAL_MTU, SerialFrameDecoder, encodeFrame } from './framer.js';

export interface SerialBindingOptions {
  /** Stream to attach at once; more can be attached later with attachStream(). */
  stream?: Duplex;
}

/** Properties that tell whether a stream is still being opened. */
interface MaybeOpening {
  /** node:net Socket before 'connect'. */
  connecting?: boolean;
  /** @serialport/stream before 'open'. */
  isOpen?: boolean;
}

interface TxCounters {
  txPackets: number;
  txBytes: number;
  txFrameBytes: number;
  /** Packets over the 68-byte MTU (Linux tx_dropped). */
  txDropped: number;
  /** Packets handed over with no open stream or the interface down: dropped. */
  txNoCarrier: number;
  /** transmit() calls refused while waiting for 'drain'. */
  txRefused: number;
  /** Times the stream's write() asked us to wait. */
  txBackpressure: number;
}

interface RxCounters {
  rxPackets: number;
  rxBytes: number;
  rxStreamBytes: number;
  /** Bytes that arrived while the interface was administratively down. */
  rxBytesWhileDown: number;
  /** Packets decoded before the core attached: nowhere to deliver them. */
  rxNoPort: number;
  /** port.receive() threw; counted so one bad packet cannot kill the stream. */
  rxHandlerErrors: number;
}

export class SerialBinding implements MctpBinding {
  readonly kind = 'serial';
  readonly hwAddrLen = 0;
  readonly hwAddr = Buffer.alloc(0);
  readonly mtu: BindingMtu = { initial: SERIAL_MTU, min: SERIAL_MTU, max: SERIAL_MTU };

  #port: BindingPort | undefined;
  #stream: Duplex | undefined;
  /** Removes the listeners of the current stream (not its error counter). */
  #unlisten: (() => void) | undefined;
  #carrier = false;
  // Interfaces start up unless told otherwise: a core that never calls
  // setUp() must not find its serial link silently deaf.
  #adminUp = true;
  #closed = false;
  /** write() returned false; refuse transmits until 'drain'. */
  #txBlocked = false;
  /** A transmit was refused, so the core is waiting for txReady(). */
  #txReadyOwed = false;
  #streamsAttached = 0;
  #streamErrors = 0;
  #lastError: string | undefined;
  readonly #tx: TxCounters = {
    txPackets: 0,
    txBytes: 0,
    txFrameBytes: 0,
    txDropped: 0,
    txNoCarrier: 0,
    txRefused: 0,
    txBackpressure: 0,
  };
  readonly #rx: RxCounters = {
    rxPackets: 0,
    rxBytes: 0,
    rxStreamBytes: 0,
    rxBytesWhileDown: 0,
    rxNoPort: 0,
    rxHandlerErrors: 0,
  };
  readonly #decoder = new SerialFrameDecoder((packet) => this.#deliver(packet));

  constructor(options: SerialBindingOptions = {}) {
    if (options.stream) this.attachStream(options.stream);
  }

  /** True while a stream is attached and open. */
  get carrier(): boolean {
    return this.#carrier;
  }

  attach(port: BindingPort): void {
    this.#port = port;
    port.carrier(this.#carrier);
  }

  setUp(up: boolean): void {
    if (up === this.#adminUp) return;
    this.#adminUp = up;
    // Linux ignores tty input while the netdev is down; a frame half-seen
    // before the change is not worth keeping either way.
    this.#decoder.reset();
  }

  /**
   * Use `stream` as the medium from now on (e.g. after a chardev socket
   * reconnects). The binding owns it: a stream it replaces, or one that ends,
   * closes or errors, is destroyed. Carrier goes up once the stream is open.
   */
  attachStream(stream: Duplex): void {
    if (this.#closed) throw new Error('SerialBinding: attachStream() after close()');
    if (stream === this.#stream) return;
    this.#dropStream();
    if (stream.destroyed || !stream.writable) {
      stream.destroy();
      return;
    }

    this.#stream = stream;
    this.#streamsAttached++;
    this.#txBlocked = false;
    this.#decoder.reset();

    // Counting errors stays for the stream's whole life, even after it is
    // replaced: an 'error' with no listener would crash the process.
    stream.on('error', (err: Error) => {
      this.#streamErrors++;
      this.#lastError = err.message;
      if (stream === this.#stream) this.#dropStream();
    });
    const onData = (chunk: Buffer | string) => this.#onData(chunk);
    const onDrain = () => this.#onDrain();
    const onGone = () => {
      if (stream === this.#stream) this.#dropStream();
    };
    const onOpen = () => {
      if (stream === this.#stream) this.#setCarrier(true);
    };
    stream.on('data', onData);
    stream.on('drain', onDrain);
    stream.on('end', onGone);
    stream.on('close', onGone);
    stream.on('connect', onOpen);
    stream.on('open', onOpen);
    this.#unlisten = () => {
      stream.off('data', onData);
      stream.off('drain', onDrain);
      stream.off('end', onGone);
      stream.off('close', onGone);
      stream.off('connect', onOpen);
      stream.off('open', onOpen);
    };

    if (!isOpening(stream)) this.#setCarrier(true);
  }

  transmit(packet: Buffer): boolean {
    const tx = this.#tx;
    if (packet.length > SERIAL_MTU) {
      tx.txDropped++;
      return true;
    }
    const stream = this.#stream;
    if (!stream || !this.#carrier || !this.#adminUp) {
      tx.txNoCarrier++;
      return true;
    }
    if (this.#txBlocked) {
      tx.txRefused++;
      this.#txReadyOwed = true;
      return false;
    }
    const frame = encodeFrame(packet);
    tx.txPackets++;
    tx.txBytes += packet.length;
    tx.txFrameBytes += frame.length;
    // write() returning false still took this frame; it only asks us to stop.
    if (!stream.write(frame)) {
      tx.txBackpressure++;
      this.#txBlocked = true;
    }
    return true;
  }

  stats(): Record<string, unknown> {
    const decoder = this.#decoder.stats;
    return {
      kind: this.kind,
      carrier: this.#carrier,
      adminUp: this.#adminUp,
      txBlocked: this.#txBlocked,
      streamsAttached: this.#streamsAttached,
      streamErrors: this.#streamErrors,
      lastError: this.#lastError ?? null,
      ...this.#tx,
      ...this.#rx,
      // Linux's names for what its driver counts.
      rxCrcErrors: decoder.fcsErrors,
      rxDropped: decoder.fcsErrors + decoder.emptyFrames + this.#rx.rxNoPort,
      decoder,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const stream = this.#stream;
    this.#dropStream();
    if (stream) await finished(stream).catch(() => undefined);
  }

  #onData(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    this.#rx.rxStreamBytes += bytes.length;
    if (!this.#adminUp) {
      this.#rx.rxBytesWhileDown += bytes.length;
      return;
    }
    try {
      this.#decoder.push(bytes);
    } catch (err) {
      // Only port.receive() can throw here; the decoder has already finished
      // the chunk, so record the failure and keep the link running.
      this.#rx.rxHandlerErrors++;
      this.#lastError = err instanceof Error ? err.message : String(err);
    }
  }

  #deliver(packet: Buffer): void {
    if (!this.#port) {
      this.#rx.rxNoPort++;
      return;
    }
    this.#rx.rxPackets++;
    this.#rx.rxBytes += packet.length;
    this.#port.receive(packet);
  }

  #onDrain(): void {
    this.#txBlocked = false;
    if (this.#txReadyOwed) {
      this.#txReadyOwed = false;
      this.#port?.txReady();
    }
  }

  /** Stop using the current stream (if any) and destroy it; carrier goes down. */
  #dropStream(): void {
    const stream = this.#stream;
    if (!stream) return;
    this.#stream = undefined;
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#txBlocked = false;
    this.#decoder.reset();
    stream.destroy();
    this.#setCarrier(false);
  }

  #setCarrier(up: boolean): void {
    if (up === this.#carrier) return;
    this.#carrier = up;
    this.#port?.carrier(up);
    // A refused packet is waiting in the core; on a fresh link it can go.
    if (up && this.#txReadyOwed) {
      this.#txReadyOwed = false;
      this.#port?.txReady();
    }
  }
}

function isOpening(stream: Duplex): boolean {
  const s = stream as Duplex & MaybeOpening;
  return s.connecting === true || s.isOpen === false;
}
