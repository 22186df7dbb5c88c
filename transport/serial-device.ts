/**
 * A real serial device (a USB adapter, a board's UART, or a pty) as a Node
 * Duplex for the MCTP serial binding, through @serialport/stream and its
 * native binding @serialport/bindings-cpp (the npm package ships prebuilt
 * binaries for the common platforms; elsewhere npm builds it with node-gyp).
 * The line is set raw, 8N1, no flow control, at the given rate.
 *
 * A device goes away — the far end of a pty closes, a USB adapter is pulled —
 * and comes back; SerialDeviceKeeper reopens it after each hang-up (and
 * retries a device that cannot be opened yet) with the chardev sockets'
 * backoff, handing out a fresh stream each time, as a getty respawns on a
 * line.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { BindingsError, autoDetect, type BindingInterface } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import { systemClock, type Clock, type TimerHandle } from '../lib/clock.js';
import { ConfigError } from '../lib/errors.js';
import { DEFAULT_RECONNECT, type ReconnectPolicy } from './chardev-socket.js';
import { TransportError } from './errors.js';

/** DSP0253 leaves the rate to the platform; 115200 is the common choice. */
export const DEFAULT_SERIAL_BAUD = 115200;

export interface SerialDeviceOptions {
  path: string;
  baudRate?: number;
}

/**
 * `PATH` or `PATH,BAUD` (what `bmcemu run --mctp-serial` takes), e.g.
 * "/dev/ttyUSB0,115200". Throws ConfigError for an empty path or a rate that
 * is not a positive integer.
 */
export function parseSerialDeviceSpec(spec: string): Required<SerialDeviceOptions> {
  const comma = spec.lastIndexOf(',');
  const devPath = comma < 0 ? spec : spec.slice(0, comma);
  const baudText = comma < 0 ? undefined : spec.slice(comma + 1);
  if (devPath === '') throw new ConfigError(`serial device "${spec}": no path (expected PATH or PATH,BAUD)`);
  const baudRate = baudText === undefined ? DEFAULT_SERIAL_BAUD : Number(baudText);
  checkBaud(baudRate, spec);
  return { path: devPath, baudRate };
}

function checkBaud(baud: number, what: string): void {
  if (!Number.isInteger(baud) || baud <= 0 || baud > 100_000_000) {
    throw new ConfigError(`serial device "${what}": baud rate must be a positive integer (e.g. 115200)`);
  }
}

/** What a Unix port of @serialport/bindings-cpp has that readUnlessHungUp needs. */
interface UnixPort {
  fd: number | null;
  readonly poller: { once(event: 'readable', callback: (err: Error | null) => void): unknown };
  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }>;
}

const fsRead = promisify(fs.read);

/**
 * The port's read, except at end of file. @serialport/bindings-cpp retries a
 * read that returns 0 bytes at once, forever; on Linux that is a tty that has
 * been hung up (the far end of a pty closed, a USB adapter went), so the
 * process would spin at 100% CPU instead of noticing. Here it is an error,
 * which @serialport/stream turns into a disconnect ('close').
 */
async function readUnlessHungUp(port: UnixPort, buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
  for (;;) {
    if (port.fd === null) throw new BindingsError('Port is not open', { canceled: true });
    try {
      const { bytesRead } = await fsRead(port.fd, buffer, offset, length, null);
      if (bytesRead > 0) return { buffer, bytesRead };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw err;
      if (port.fd === null) throw new BindingsError('Port is not open', { canceled: true });
      await new Promise<void>((resolve, reject) => port.poller.once('readable', (e: Error | null) => (e ? reject(e) : resolve())));
      continue;
    }
    throw new Error('the line hung up (end of file)');
  }
}

/** The platform's binding, with readUnlessHungUp on Unix ports. */
function serialBinding(): BindingInterface {
  const base = autoDetect() as BindingInterface;
  if (process.platform === 'win32') return base;
  return {
    list: () => base.list(),
    async open(options) {
      const port = await base.open(options);
      const unix = port as unknown as UnixPort;
      unix.read = (buffer, offset, length) => readUnlessHungUp(unix, buffer, offset, length);
      return port;
    },
  };
}

/**
 * A port that, when destroyed, also closes its descriptor: @serialport/stream
 * only does that on close(), and the binding's owner (the MCTP serial binding)
 * ends a stream it is done with by destroying it.
 */
class SerialDeviceStream extends SerialPortStream {
  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    if (this.isOpen && !this.closing) this.close(() => done(err));
    else done(err);
  }
}

/** Open `path` at `baudRate`; resolves once the port is open (the stream's isOpen is then true). */
export async function openSerialDevice(options: SerialDeviceOptions): Promise<Duplex> {
  const baudRate = options.baudRate ?? DEFAULT_SERIAL_BAUD;
  checkBaud(baudRate, options.path);
  const port = new SerialDeviceStream({ binding: serialBinding(), path: options.path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    port.open((err) => {
      if (!err) return resolve();
      reject(new TransportError('EDEVICE', `cannot open serial device ${options.path}: ${err.message}`, { cause: err, details: { path: options.path } }));
    });
  });
  return port;
}

export interface SerialDeviceKeeperOptions extends SerialDeviceOptions {
  /** Clock for the reopen delays (tests inject ManualClock). */
  clock?: Clock;
  /** Delays between attempts: the chardev sockets' policy by default (100 ms doubling to 5 s). */
  reopen?: Partial<ReconnectPolicy>;
  /** How to open the device (tests); default openSerialDevice. */
  open?: (options: Required<SerialDeviceOptions>) => Promise<Duplex>;
}

export interface SerialDeviceStats {
  path: string;
  baudRate: number;
  /** A stream is open and handed out. */
  open: boolean;
  /** Successful opens. */
  opens: number;
  openFailures: number;
  /** Open streams that ended: the device hung up, or the consumer dropped the stream. */
  closes: number;
  lastError: string | null;
}

/**
 * Keeps a serial device open. Events: 'stream' (Duplex: a freshly opened
 * port, for the consumer to attach), 'open-failed' (Error: an attempt
 * failed; another follows after the backoff delay).
 */
export class SerialDeviceKeeper extends EventEmitter {
  readonly #opts: Required<SerialDeviceOptions>;
  readonly #clock: Clock;
  readonly #policy: ReconnectPolicy;
  readonly #open: (options: Required<SerialDeviceOptions>) => Promise<Duplex>;
  #nextDelay: number;
  #state: 'idle' | 'running' | 'stopped' = 'idle';
  #stream: Duplex | null = null;
  #timer: TimerHandle | null = null;
  readonly #stats = { opens: 0, openFailures: 0, closes: 0, lastError: null as string | null };

  constructor(options: SerialDeviceKeeperOptions) {
    super();
    const baudRate = options.baudRate ?? DEFAULT_SERIAL_BAUD;
    checkBaud(baudRate, options.path);
    if (options.path === '') throw new ConfigError('serial device: empty path');
    this.#opts = { path: options.path, baudRate };
    this.#clock = options.clock ?? systemClock;
    this.#policy = { ...DEFAULT_RECONNECT, ...options.reopen };
    this.#open = options.open ?? openSerialDevice;
    this.#nextDelay = this.#policy.initialDelayMs;
  }

  get path(): string {
    return this.#opts.path;
  }

  get baudRate(): number {
    return this.#opts.baudRate;
  }

  /** The stream handed out last, while it is open. */
  get stream(): Duplex | null {
    return this.#stream;
  }

  stats(): SerialDeviceStats {
    return { ...this.#opts, open: this.#stream !== null, ...this.#stats };
  }

  /** Open the device now (and keep it open from then on). */
  start(): void {
    if (this.#state !== 'idle') throw new TransportError('ESTATE', `serial device keeper for ${this.#opts.path} already ${this.#state}`);
    this.#state = 'running';
    void this.#attempt();
  }

  /** Stop reopening and close the open stream, if any. */
  async stop(): Promise<void> {
    this.#state = 'stopped';
    this.#timer?.cancel();
    this.#timer = null;
    const stream = this.#stream;
    this.#stream = null;
    if (stream && !stream.destroyed) {
      const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
      stream.destroy();
      await closed;
    }
  }

  async #attempt(): Promise<void> {
    this.#timer = null;
    let stream: Duplex;
    try {
      stream = await this.#open(this.#opts);
    } catch (err) {
      this.#stats.openFailures++;
      this.#stats.lastError = err instanceof Error ? err.message : String(err);
      if (this.#state !== 'running') return;
      if (this.listenerCount('open-failed') > 0) this.emit('open-failed', err);
      this.#schedule(this.#nextDelay);
      this.#nextDelay = Math.min(this.#policy.maxDelayMs, this.#nextDelay * this.#policy.factor);
      return;
    }
    if (this.#state !== 'running') {
      stream.destroy();
      return;
    }
    this.#stats.opens++;
    this.#nextDelay = this.#policy.initialDelayMs;
    this.#stream = stream;
    // An 'error' with no listener would crash the process; the consumer sees it too.
    stream.on('error', (err: Error) => (this.#stats.lastError = err.message));
    stream.once('close', () => {
      if (this.#stream !== stream) return;
      this.#stream = null;
      this.#stats.closes++;
      // Not at once: a device that opens and hangs up straight away must not spin.
      if (this.#state === 'running') this.#schedule(this.#policy.initialDelayMs);
    });
    this.emit('stream', stream);
  }

  #schedule(ms: number): void {
    this.#timer = this.#clock.setTimeout(() => void this.#attempt(), ms);
  }
}
