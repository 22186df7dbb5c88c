/**
 * /dev/raw-kcsN over a KcsChannel model: the semantics of Linux's
 * kcs_bmc_cdev_raw driver, which libmctp's astlpc binding uses on the BMC.
 *
 *   readData()        pread(fd, 1, 0) with O_NONBLOCK: the IDR byte, or null
 *   readDataWait()    blocking pread at offset 0
 *   readStatus()      pread at offset 1: STR (IBF reported set while a byte
 *                     the driver already took from IDR waits to be read)
 *   writeData(v)      pwrite at offset 0 with O_NONBLOCK: false (EBUSY) while OBF
 *   writeDataWait(v)  blocking pwrite at offset 0: waits for OBF to clear
 *   writeStatus(v)    pwrite at offset 1
 *   'input'           POLLIN became true   'obf-clear'   POLLOUT became true
 *
 * Like the kernel driver, the IBF interrupt handler reads IDR at once (the
 * host sees IBF clear promptly) and keeps the byte until it is read, with the
 * IBF interrupt off meanwhile so a second host byte waits in IDR rather than
 * overwriting the kept one. Interrupt work runs as a microtask after the
 * access that raised it, as an interrupt handler runs after the bus cycle, so
 * nothing happens inside the host's register access. Events are hints: always
 * re-read (readData() may return null after an 'input').
 */
import { EventEmitter } from 'node:events';
import { KCS_STR_IBF, KCS_STR_OBF, type KcsChannel } from '../../hw-models/kcs.js';
import { isCodedError } from '../../lib/errors.js';
import { WaitError, waitFor } from '../../lib/wait.js';
import { DriverError } from './errors.js';

export interface RawKcsEvents {
  /** Data is ready for readData() (POLLIN). */
  input: [];
  /** OBF is clear: ODR may be written (POLLOUT). The host consumed ODR, or a status write cleared OBF. */
  'obf-clear': [];
  /** What the kernel would log with dev_warn. */
  warning: [message: string];
}

export interface RawKcsStats {
  bytesRead: number;
  bytesWritten: number;
  /** writeData() calls refused because OBF was still set. */
  busyWrites: number;
  /** Status writes that cleared a set OBF (discarding a byte the host had not read). */
  obfClearingStatusWrites: number;
}

/** A blocked caller's place in line; a writer's carries the byte it will write. */
interface Ticket {
  value?: number;
}

function checkByte(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xff) {
    throw new DriverError('EINVAL', `${what}: ${String(v)} is not a byte (0..255)`);
  }
  return v;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DriverError('EINTR', 'wait aborted');
}

export class RawKcs extends EventEmitter<RawKcsEvents> {
  readonly name: string;
  readonly #kcs: KcsChannel;
  #open = true;
  /** The IBF interrupt is enabled (off while a taken byte waits). */
  #ibfEvents = true;
  /** A byte taken from IDR by the interrupt handler, not yet read. */
  #held: number | null = null;
  #irqQueued = false;
  #obeQueued = false;
  /** Blocked writeDataWait() and readDataWait() callers, first come first served. */
  readonly #writers: Ticket[] = [];
  readonly #readers: Ticket[] = [];
  /** Hands a turn to a ticket: 'read' (ticket, byte), 'written' (ticket), or 'closed' (Error) to all. */
  readonly #handoff = new EventEmitter().setMaxListeners(0);
  #stats: RawKcsStats = { bytesRead: 0, bytesWritten: 0, busyWrites: 0, obfClearingStatusWrites: 0 };
  readonly #onBmcIrq = (): void => this.#queueIbfService();
  readonly #onObfCleared = (): void => this.#queueObeService();

  constructor(kcs: KcsChannel) {
    super();
    this.#kcs = kcs;
    this.name = `raw-kcs${kcs.channel}`;
    kcs.on('bmc-irq', this.#onBmcIrq);
    kcs.on('obf-cleared', this.#onObfCleared);
    // Opening enables the IBF interrupt; a level already high is serviced at once.
    if (kcs.peekStatus() & KCS_STR_IBF) this.#queueIbfService();
  }

  // ---- Interrupt side ----

  #queueIbfService(): void {
    if (this.#irqQueued || !this.#open) return;
    this.#irqQueued = true;
    queueMicrotask(() => {
      this.#irqQueued = false;
      this.#serviceIbf();
    });
  }

  #serviceIbf(): void {
    if (!this.#open || !this.#ibfEvents) return;
    if (!(this.#kcs.peekStatus() & KCS_STR_IBF)) return;
    this.#ibfEvents = false; // back-pressure: the next host byte waits in IDR
    this.#held = this.#kcs.bmcReadIdr();
    // Blocked readers were there first; 'input' only if something is left for others.
    this.#wakeReaders();
    if (this.#held !== null) this.emit('input');
  }

  #queueObeService(): void {
    if (this.#obeQueued || !this.#open) return;
    this.#obeQueued = true;
    queueMicrotask(() => {
      this.#obeQueued = false;
      if (!this.#open) return;
      this.#pumpWriters();
      if (!(this.#kcs.peekStatus() & KCS_STR_OBF)) this.emit('obf-clear');
    });
  }

  // ---- Reading ----

  /** Non-blocking read of the data register: the byte, or null when nothing is there (EAGAIN). */
  readData(): number | null {
    this.#checkOpen();
    let value: number;
    if (this.#held !== null) {
      value = this.#held;
      this.#held = null;
    } else if (this.#kcs.peekStatus() & KCS_STR_IBF) {
      value = this.#kcs.bmcReadIdr();
    } else {
      return null;
    }
    this.#stats.bytesRead++;
    // Re-arm the IBF interrupt; if the host wrote again meanwhile, the level is already high.
    this.#ibfEvents = true;
    if (this.#kcs.peekStatus() & KCS_STR_IBF) this.#queueIbfService();
    return value;
  }

  /** Blocking read of the data register: resolves with the next byte. */
  readDataWait(options: { signal?: AbortSignal } = {}): Promise<number> {
    // Promise APIs report every failure as a rejection, argument errors included.
    if (!this.#open) return Promise.reject(new DriverError('EBADF', `${this.name} is closed`));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#readers.length === 0) {
      const value = this.readData();
      if (value !== null) return Promise.resolve(value);
    }
    const ticket: Ticket = {};
    this.#readers.push(ticket);
    return this.#waitInLine<[Ticket, number]>(this.#readers, ticket, 'read', signal).then(([, value]) => value);
  }

  #wakeReaders(): void {
    while (this.#readers.length > 0) {
      const value = this.readData();
      if (value === null) return;
      this.#handoff.emit('read', this.#readers.shift(), value);
    }
  }

  /**
   * Wait in `queue` until `event` names `ticket`. Leaving the line (abort,
   * close) is immediate, so a byte is never handed to a caller who left.
   */
  async #waitInLine<A extends [Ticket, ...unknown[]]>(queue: Ticket[], ticket: Ticket, event: 'read' | 'written', signal?: AbortSignal): Promise<A> {
    const leave = (): void => {
      const i = queue.indexOf(ticket);
      if (i >= 0) queue.splice(i, 1);
    };
    signal?.addEventListener('abort', leave, { once: true });
    try {
      return await waitFor<A>(this.#handoff, event, (...args) => args[0] === ticket, {
        signal,
        failOn: ['closed'],
        what: `${this.name} ${event === 'read' ? 'input' : 'OBF clear'}`,
      });
    } catch (e) {
      leave();
      if (signal && isCodedError(e, 'ERR_WAIT_ABORTED', WaitError)) throw abortError(signal);
      // 'closed' carries the EBADF every waiter gets.
      throw isCodedError(e, 'ERR_WAIT_FAILED', WaitError) && e.cause instanceof Error ? e.cause : e;
    } finally {
      signal?.removeEventListener('abort', leave);
    }
  }

  /** STR; IBF reads as set while a byte the driver took from IDR is still unread. */
  readStatus(): number {
    this.#checkOpen();
    const str = this.#kcs.bmcReadStr();
    return this.#held !== null ? str | KCS_STR_IBF : str;
  }

  // ---- Writing ----

  /**
   * Non-blocking write of ODR. Returns false (EBUSY/EAGAIN) while OBF is set —
   * or while blocking writers are queued, so bytes keep their order.
   */
  writeData(value: number): boolean {
    this.#checkOpen();
    checkByte(value, `${this.name} data write`);
    if (this.#tryWrite(value)) return true;
    this.#stats.busyWrites++;
    return false;
  }

  #tryWrite(value: number): boolean {
    if (this.#writers.length > 0 || this.#kcs.peekStatus() & KCS_STR_OBF) return false;
    this.#kcs.bmcWriteOdr(value);
    this.#stats.bytesWritten++;
    return true;
  }

  /** Blocking write of ODR: resolves once the byte is in ODR (after OBF cleared). */
  writeDataWait(value: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      this.#checkOpen();
      checkByte(value, `${this.name} data write`);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#tryWrite(value)) return Promise.resolve();
    const ticket: Ticket = { value };
    this.#writers.push(ticket);
    return this.#waitInLine<[Ticket]>(this.#writers, ticket, 'written', signal).then(() => undefined);
  }

  #pumpWriters(): void {
    const writer = this.#writers[0];
    if (!writer || this.#kcs.peekStatus() & KCS_STR_OBF) return;
    this.#writers.shift();
    this.#kcs.bmcWriteOdr(writer.value!);
    this.#stats.bytesWritten++;
    this.#handoff.emit('written', writer);
  }

  /**
   * Write STR. A 0 in bit 0 clears OBF, throwing away a byte the host has not
   * read; the kernel warns on every such write, this driver only when OBF was
   * actually set (libmctp's 0x80 at start-up is deliberate).
   */
  writeStatus(value: number): void {
    this.#checkOpen();
    checkByte(value, `${this.name} status write`);
    if (!(value & KCS_STR_OBF) && this.#kcs.peekStatus() & KCS_STR_OBF) {
      this.#stats.obfClearingStatusWrites++;
      this.emit('warning', `Clearing OBF with status write: 0x${value.toString(16)}`);
    }
    this.#kcs.bmcWriteStr(value);
  }

  /** poll(2): POLLIN / POLLOUT. */
  poll(): { readable: boolean; writable: boolean } {
    this.#checkOpen();
    const str = this.#kcs.peekStatus();
    return {
      readable: this.#held !== null || (str & KCS_STR_IBF) !== 0,
      writable: this.#writers.length === 0 && (str & KCS_STR_OBF) === 0,
    };
  }

  get stats(): Readonly<RawKcsStats> {
    return { ...this.#stats };
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /**
   * release(): stop listening and fail pending waits with EBADF. A byte the
   * interrupt handler had taken is lost, as with the kernel driver.
   */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#kcs.off('bmc-irq', this.#onBmcIrq);
    this.#kcs.off('obf-cleared', this.#onObfCleared);
    this.#writers.length = 0;
    this.#readers.length = 0;
    this.#handoff.emit('closed', new DriverError('EBADF', `${this.name} closed`));
  }

  #checkOpen(): void {
    if (!this.#open) throw new DriverError('EBADF', `${this.name} is closed`);
  }
}
