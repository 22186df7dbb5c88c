/**
 * A ByteLink over a character device: inside the guest, the virtio-serial
 * port that carries the KCS wire (/dev/vportNpM); in tests, a pty or FIFOs.
 *
 * How it reads, and why:
 * - Node can only wait for readiness on descriptors libuv classifies as
 *   pipes, sockets or ttys. A virtio port is a plain character device
 *   ('FILE' to libuv): `new net.Socket({ fd })` throws ERR_INVALID_FD_TYPE
 *   and tty.ReadStream refuses it.
 * - A blocking read(2) on the libuv threadpool (fs.read, fs streams) would be
 *   event-driven, but a read parked in the kernel cannot be cancelled, and
 *   libuv joins its threads at exit: process.exit() then hangs until the
 *   BMC happens to send a byte (seen here with a pty). The port would stay
 *   open and a restarted agent would get EBUSY.
 * - So the device is opened O_NONBLOCK and polled with readSync on the main
 *   thread, adaptively: on every event-loop turn for `spinMs` (0.5 ms) after
 *   a write or a read (a reply to a register access is usually back by
 *   then), every `activeMs` (1 ms) for `activeWindowMs` (200 ms) after that,
 *   then backing off to `idleMaxMs` (100 ms) while the line is quiet.
 *   Closing is immediate. Measured in the x86 guest under TCG: an idle agent
 *   costs QEMU 3.8% of a host core at 100 ms (12% at 20 ms, 2% at 250 ms,
 *   0.3% with no agent); BMC-initiated traffic on an idle line waits up to
 *   `idleMaxMs` for its first poll.
 *
 * Connection state follows virtio_console: while QEMU's chardev for the port
 * is disconnected (the BMC is down or restarting) read(2) returns 0 (end of
 * file) rather than EAGAIN. That emits 'disconnect'; polling continues with
 * backoff (50 ms .. 1 s) and the first bytes afterwards emit 'connect' before
 * their 'data' (the KCS wire model speaks first on a new connection). A tty
 * whose other side hung up (EIO) is treated the same way. The port itself
 * stays open throughout: a virtio port admits one opener (EBUSY), and its
 * stream has no connection boundaries, so starting a session is the
 * protocol's job (KcsWireClient.resync()).
 *
 * Writes are written at once if the device takes them, else queued (EAGAIN:
 * the virtqueue is full) and retried on the next poll, in order. While the
 * link is disconnected, write() refuses (drops and counts) rather than
 * letting stale bytes reach the next connection.
 *
 * disconnect() cannot drop the peer of a device; it restarts the session
 * instead: 'disconnect' then, on the next tick, 'connect', so a protocol that
 * lost alignment gets a fresh start (KCS wire: SYNC).
 *
 * The poll timers are ordinary (ref'd) Node timers, not the protocol clock:
 * polling is this transport's I/O, and an open link keeps the process alive
 * the way an open socket does.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { ByteLink } from '../../transport/byte-link.js';

export interface CharDevicePolling {
  /** Poll on every event-loop turn for this long after the last byte in or out (default 0.5 ms). */
  spinMs: number;
  /** Poll interval while active (default 1 ms). */
  activeMs: number;
  /** How long after the last byte in or out the link stays active (default 200 ms). */
  activeWindowMs: number;
  /** Longest poll interval when idle (default 100 ms). */
  idleMaxMs: number;
  /** Poll interval while the host side is disconnected: doubles from min to max (default 50 .. 1000 ms). */
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

export const DEFAULT_CHAR_DEVICE_POLLING: CharDevicePolling = {
  spinMs: 0.5,
  activeMs: 1,
  activeWindowMs: 200,
  idleMaxMs: 100,
  reconnectMinMs: 50,
  reconnectMaxMs: 1000,
};

export interface CharDeviceLinkOptions {
  /** The device to open read-write (a virtio port, a pty slave). */
  path?: string;
  /** Or separate paths to read from and write to (two FIFOs in tests). */
  readPath?: string;
  writePath?: string;
  polling?: Partial<CharDevicePolling>;
  /** Largest single read (default 64 KiB). */
  readSize?: number;
}

export interface CharDeviceLinkStats {
  path: string;
  connected: boolean;
  open: boolean;
  bytesIn: number;
  bytesOut: number;
  /** read(2) calls that returned data. */
  reads: number;
  /** Poll rounds (each one read(2) at least). */
  polls: number;
  writes: number;
  /** Bytes refused by write() because the link was disconnected or closed. */
  bytesDropped: number;
  writesDropped: number;
  /** Reads that found the host side gone (end of file, EIO). */
  hangups: number;
  /** Writes the device could not take at once (queued and retried). */
  writeBlocked: number;
  readErrors: number;
  writeErrors: number;
  connects: number;
  disconnects: number;
  lastError: string | null;
}

const isEagain = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
};

export class CharDeviceLink extends EventEmitter implements ByteLink {
  readonly path: string;
  readonly #poll: CharDevicePolling;
  readonly #readFd: number;
  readonly #writeFd: number;
  readonly #buf: Buffer;
  #connected = true;
  #closed = false;
  #timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  #timerDue = Infinity;
  #timerIsImmediate = false;
  /** Clock time of the last byte in or out. */
  #lastActivity: number;
  #idleDelay: number;
  #reconnectDelay: number;
  /** Bytes the device has not taken yet, oldest first. */
  #queue: Buffer[] = [];
  #sessionRestart: NodeJS.Timeout | null = null;
  readonly #stats = {
    bytesIn: 0,
    bytesOut: 0,
    reads: 0,
    polls: 0,
    writes: 0,
    bytesDropped: 0,
    writesDropped: 0,
    hangups: 0,
    writeBlocked: 0,
    readErrors: 0,
    writeErrors: 0,
    connects: 0,
    disconnects: 0,
    lastError: null as string | null,
  };

  /** Open the device (O_NONBLOCK, O_NOCTTY) and start polling it. */
  constructor(opts: CharDeviceLinkOptions) {
    super();
    this.#poll = { ...DEFAULT_CHAR_DEVICE_POLLING, ...opts.polling };
    this.#idleDelay = this.#poll.activeMs;
    this.#reconnectDelay = this.#poll.reconnectMinMs;
    this.#lastActivity = performance.now();
    this.#buf = Buffer.allocUnsafe(opts.readSize ?? 65536);
    const { O_RDWR, O_RDONLY, O_WRONLY, O_NOCTTY, O_NONBLOCK } = fs.constants;
    if (opts.path !== undefined) {
      this.path = opts.path;
      this.#readFd = this.#writeFd = fs.openSync(opts.path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    } else if (opts.readPath !== undefined && opts.writePath !== undefined) {
      this.path = `${opts.readPath} + ${opts.writePath}`;
      this.#readFd = fs.openSync(opts.readPath, O_RDONLY | O_NOCTTY | O_NONBLOCK);
      try {
        this.#writeFd = fs.openSync(opts.writePath, O_WRONLY | O_NOCTTY | O_NONBLOCK);
      } catch (err) {
        fs.closeSync(this.#readFd);
        throw err;
      }
    } else {
      throw new TypeError('CharDeviceLink needs path, or readPath and writePath');
    }
    // The first poll is on the next tick, so listeners attached now see everything.
    this.#schedule(0);
  }

  /** True while the port is open and the host side is not known to be gone. */
  get connected(): boolean {
    return this.#connected && !this.#closed;
  }

  stats(): CharDeviceLinkStats {
    return { path: this.path, connected: this.connected, open: !this.#closed, ...this.#stats };
  }

  // ------------------------------------------------------------ polling

  /** Poll after `ms` (0: on the next event-loop turn), unless a poll is already due sooner. */
  #schedule(ms: number): void {
    if (this.#closed) return;
    const due = performance.now() + ms;
    if (this.#timer && this.#timerDue <= due) return;
    this.#cancelPoll();
    this.#timerDue = due;
    const fire = (): void => {
      this.#timer = null;
      this.#timerDue = Infinity;
      this.#pollNow();
    };
    this.#timerIsImmediate = ms <= 0;
    this.#timer = ms <= 0 ? setImmediate(fire) : setTimeout(fire, ms);
  }

  #cancelPoll(): void {
    const timer = this.#timer;
    if (!timer) return;
    this.#timer = null;
    this.#timerDue = Infinity;
    if (this.#timerIsImmediate) clearImmediate(timer as NodeJS.Immediate);
    else clearTimeout(timer as NodeJS.Timeout);
  }

  #pollNow(): void {
    if (this.#closed) return;
    this.#stats.polls++;
    this.#flush();
    // Drain what is there, a bounded number of reads per round so a flood cannot starve the loop.
    for (let i = 0; i < 16 && !this.#closed; i++) {
      let n: number;
      try {
        n = fs.readSync(this.#readFd, this.#buf, 0, this.#buf.length, null);
      } catch (err) {
        if (isEagain(err)) break;
        this.#stats.readErrors++;
        // EIO: a tty whose other side hung up. Anything else: treat it alike and keep trying.
        this.#hangup(`read: ${(err as Error).message}`);
        return;
      }
      if (n === 0) {
        this.#hangup('end of file: the host side of the port is not connected');
        return;
      }
      this.#stats.reads++;
      this.#stats.bytesIn += n;
      this.#lastActivity = performance.now();
      this.#reconnectDelay = this.#poll.reconnectMinMs;
      if (!this.#connected) this.#setConnected(true);
      // Copy out: the read buffer is reused and listeners may keep the chunk.
      this.emit('data', Buffer.from(this.#buf.subarray(0, n)));
    }
    this.#schedule(this.#nextDelay());
  }

  /** Next turn right after activity, short while active, growing to idleMaxMs once the line has been quiet. */
  #nextDelay(): number {
    const quiet = performance.now() - this.#lastActivity;
    if (quiet < this.#poll.spinMs) return 0;
    if (quiet < this.#poll.activeWindowMs) {
      this.#idleDelay = this.#poll.activeMs;
    } else {
      this.#idleDelay = Math.min(this.#poll.idleMaxMs, this.#idleDelay * 2);
    }
    return this.#idleDelay;
  }

  #hangup(why: string): void {
    this.#stats.hangups++;
    this.#stats.lastError = why;
    if (this.#connected) this.#setConnected(false);
    const delay = this.#reconnectDelay;
    this.#reconnectDelay = Math.min(this.#poll.reconnectMaxMs, delay * 2);
    this.#schedule(delay);
  }

  #setConnected(up: boolean): void {
    this.#connected = up;
    if (up) {
      this.#stats.connects++;
      this.emit('connect');
    } else {
      this.#queue = [];
      this.#stats.disconnects++;
      this.emit('disconnect');
    }
  }

  // ------------------------------------------------------------ writing

  write(data: Uint8Array): boolean {
    if (!this.connected) {
      this.#stats.bytesDropped += data.length;
      this.#stats.writesDropped++;
      return false;
    }
    if (data.length === 0) return true;
    this.#stats.writes++;
    this.#queue.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.#flush();
    // A reply is due: look for it from the next event-loop turn on.
    this.#lastActivity = performance.now();
    this.#schedule(0);
    return true;
  }

  /** Write queued bytes until the device pushes back; what remains waits for the next poll. */
  #flush(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      // Coalesce: whole frames in one write(2) where possible.
      const chunk = this.#queue.length === 1 ? this.#queue[0]! : Buffer.concat(this.#queue);
      this.#queue = [chunk];
      let n: number;
      try {
        n = fs.writeSync(this.#writeFd, chunk, 0, chunk.length, null);
      } catch (err) {
        if (isEagain(err)) {
          this.#stats.writeBlocked++;
          return;
        }
        this.#stats.writeErrors++;
        this.#stats.lastError = `write: ${(err as Error).message}`;
        this.#stats.bytesDropped += chunk.length;
        this.#queue = [];
        return;
      }
      this.#stats.bytesOut += n;
      if (n < chunk.length) this.#queue[0] = chunk.subarray(n);
      else this.#queue = [];
    }
  }

  // ------------------------------------------------------------ session / close

  /** Restart the session: 'disconnect', then 'connect' on the next tick unless the host side went away meanwhile. */
  disconnect(): void {
    if (!this.connected) return;
    const hangupsAtRestart = this.#stats.hangups;
    this.#setConnected(false);
    if (this.#sessionRestart) clearTimeout(this.#sessionRestart);
    this.#sessionRestart = setTimeout(() => {
      this.#sessionRestart = null;
      if (!this.#closed && !this.#connected && this.#stats.hangups === hangupsAtRestart) this.#setConnected(true);
    }, 0);
  }

  /** Stop polling and close the device (at once: nothing is parked in the kernel). Idempotent. */
  close(): void {
    if (this.#closed) return;
    const wasConnected = this.#connected;
    this.#closed = true;
    this.#cancelPoll();
    if (this.#sessionRestart) clearTimeout(this.#sessionRestart);
    this.#queue = [];
    fs.closeSync(this.#readFd);
    if (this.#writeFd !== this.#readFd) fs.closeSync(this.#writeFd);
    if (wasConnected) {
      this.#stats.disconnects++;
      this.emit('disconnect');
    }
  }
}
