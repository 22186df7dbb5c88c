/**
 * In-memory stand-ins for the astlpc binding's ports, with real hardware
 * semantics, plus a fake core port.
 *
 * FakeKcs is one KCS channel (IDR, ODR, STR) seen from both sides:
 * - host data write: IDR = v, sets IBF, clears C/D     → BMC 'input'
 * - host ODR read: clears OBF                          → BMC 'output-space'
 * - BMC ODR write: ODR = v, sets OBF                   → host 'irq'
 * - BMC IDR read: clears IBF                           → host 'status' (optional)
 * - BMC STR write: keeps IBF and C/D, may clear OBF (bit 0 written 0), never sets it
 * Events can be held back and released later, to force interleavings.
 */
import type { BindingPort } from '../../../../firmware/mctp/binding.js';
import type {
  AstlpcBmcKcsEvent,
  AstlpcBmcKcsPort,
  AstlpcHostKcsEvent,
  AstlpcHostKcsPort,
  AstlpcWindowPort,
  MaybePromise,
} from '../../../../firmware/mctp/astlpc/ports.js';
export { prng } from '../../../helpers/prng.js';

export const STR_OBF = 0x01;
export const STR_IBF = 0x02;
export const STR_CMD_DAT = 0x08;
const HW_BITS = STR_OBF | STR_IBF | STR_CMD_DAT;

const hex = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;

export interface FakeKcsOptions {
  /** Port operations return Promises settled on a later macrotask (like a socket). */
  async?: boolean;
  /** Emit host 'status' when the BMC reads IDR (IBF falls). Default true. */
  hostStatusEvents?: boolean;
}

export class FakeKcs {
  idr = 0;
  odr = 0;
  str = 0;
  /** Register writes and data reads, in order: "bmc:str<-0xc1", "bmc:odr<-0xff", "host:idr<-0x00", ... */
  readonly trace: string[] = [];
  holdBmcEvents = false;
  holdHostEvents = false;
  hostStatusEvents: boolean;
  readonly async: boolean;

  readonly #bmcListeners = new Set<(e: AstlpcBmcKcsEvent) => void>();
  readonly #hostListeners = new Set<(e: AstlpcHostKcsEvent) => void>();
  #heldBmc: AstlpcBmcKcsEvent[] = [];
  #heldHost: AstlpcHostKcsEvent[] = [];

  readonly bmc: AstlpcBmcKcsPort;
  readonly host: AstlpcHostKcsPort;

  constructor(options: FakeKcsOptions = {}) {
    this.async = options.async ?? false;
    this.hostStatusEvents = options.hostStatusEvents ?? true;
    const wrap = <T>(fn: () => T): MaybePromise<T> =>
      this.async ? new Promise<T>((resolve, reject) => setImmediate(() => {
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        }
      })) : fn();
    this.bmc = {
      readStatus: () => wrap(() => this.str),
      writeStatus: (v) => wrap(() => this.bmcWriteStatus(v)),
      readData: () => wrap(() => this.bmcReadData()),
      writeData: (v) => wrap(() => this.bmcWriteData(v)),
      subscribe: (listener) => {
        this.#bmcListeners.add(listener);
        return () => this.#bmcListeners.delete(listener);
      },
    };
    this.host = {
      readStatus: () => wrap(() => this.str),
      readData: () => wrap(() => this.hostReadData()),
      writeData: (v) => wrap(() => this.hostWriteData(v)),
      subscribe: (listener) => {
        this.#hostListeners.add(listener);
        return () => this.#hostListeners.delete(listener);
      },
    };
  }

  get bmcListenerCount(): number {
    return this.#bmcListeners.size;
  }

  get hostListenerCount(): number {
    return this.#hostListeners.size;
  }

  // --- BMC-side register semantics -----------------------------------------

  bmcWriteStatus(v: number): void {
    this.trace.push(`bmc:str<-${hex(v)}`);
    // Software bits from the write; IBF and C/D kept; OBF kept only if written as 1.
    this.str = (v & ~HW_BITS & 0xff) | (this.str & (STR_IBF | STR_CMD_DAT)) | (this.str & v & STR_OBF);
  }

  bmcReadData(): number {
    const v = this.idr;
    this.trace.push(`bmc:idr->${hex(v)}`);
    const had = this.str & STR_IBF;
    this.str &= ~STR_IBF;
    if (had && this.hostStatusEvents) this.#toHost('status');
    return v;
  }

  bmcWriteData(v: number): void {
    this.trace.push(`bmc:odr<-${hex(v)}`);
    this.odr = v & 0xff;
    this.str |= STR_OBF;
    this.#toHost('irq');
  }

  // --- host-side register semantics ----------------------------------------

  hostReadData(): number {
    const v = this.odr;
    this.trace.push(`host:odr->${hex(v)}`);
    const had = this.str & STR_OBF;
    this.str &= ~STR_OBF;
    if (had) this.#toBmc('output-space');
    return v;
  }

  hostWriteData(v: number): void {
    this.trace.push(`host:idr<-${hex(v)}`);
    this.idr = v & 0xff;
    this.str = (this.str | STR_IBF) & ~STR_CMD_DAT;
    this.#toBmc('input');
  }

  // --- event plumbing --------------------------------------------------------

  /**
   * Power-on registers (IDR = ODR = STR = 0): the KCS model of a new BMC
   * process, which shares nothing with its predecessor's but the window.
   */
  powerOn(): void {
    this.trace.push('power-on');
    this.idr = 0;
    this.odr = 0;
    this.str = 0;
  }

  /** Forget the BMC's listeners, as if its process died without cleaning up. */
  dropBmcListeners(): void {
    this.#bmcListeners.clear();
  }

  /** Poke the host binding as if something changed (e.g. a polled driver's tick). */
  pokeHost(): void {
    this.#toHost('status');
  }

  pokeBmc(): void {
    this.#toBmc('input');
  }

  releaseBmcEvents(): void {
    this.holdBmcEvents = false;
    const held = this.#heldBmc;
    this.#heldBmc = [];
    for (const e of held) this.#toBmc(e);
  }

  releaseHostEvents(): void {
    this.holdHostEvents = false;
    const held = this.#heldHost;
    this.#heldHost = [];
    for (const e of held) this.#toHost(e);
  }

  #toBmc(e: AstlpcBmcKcsEvent): void {
    if (this.holdBmcEvents) {
      this.#heldBmc.push(e);
      return;
    }
    for (const l of [...this.#bmcListeners]) l(e);
  }

  #toHost(e: AstlpcHostKcsEvent): void {
    if (this.holdHostEvents) {
      this.#heldHost.push(e);
      return;
    }
    for (const l of [...this.#hostListeners]) l(e);
  }
}

export interface WindowAccess {
  side: string;
  op: 'r' | 'w';
  offset: number;
  length: number;
}

/**
 * A window Buffer shared by both sides. Each side gets a view that logs its
 * accesses; any out-of-bounds access is recorded in `oob` and throws.
 */
export class FakeWindow {
  readonly buf: Buffer;
  readonly log: WindowAccess[] = [];
  readonly oob: WindowAccess[] = [];
  logging = true;

  constructor(readonly size = 1024 * 1024) {
    this.buf = Buffer.alloc(size);
  }

  view(side: string): AstlpcWindowPort {
    return {
      read: (offset, length) => {
        this.#check(side, 'r', offset, length);
        return Buffer.from(this.buf.subarray(offset, offset + length));
      },
      write: (offset, data) => {
        this.#check(side, 'w', offset, data.length);
        data.copy(this.buf, offset);
      },
    };
  }

  /** Accesses by one side, as "w 4@0x14" strings, for trace assertions. */
  accesses(side: string, op?: 'r' | 'w'): string[] {
    return this.log
      .filter((a) => a.side === side && (!op || a.op === op))
      .map((a) => `${a.op} ${a.length}@0x${a.offset.toString(16)}`);
  }

  clearLog(): void {
    this.log.length = 0;
  }

  #check(side: string, op: 'r' | 'w', offset: number, length: number): void {
    const access = { side, op, offset, length };
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      this.oob.push(access);
      throw new RangeError(`window ${op} ${length}@${offset} out of bounds`);
    }
    if (this.logging) this.log.push(access);
  }
}

/** What the MCTP core would see. */
export class FakeBindingPort implements BindingPort {
  readonly received: Buffer[] = [];
  readonly carrierLog: boolean[] = [];
  readonly mtuLog: number[] = [];
  txReadyCount = 0;
  onTxReady: (() => void) | undefined;
  onReceive: ((packet: Buffer) => void) | undefined;

  receive(packet: Buffer): void {
    this.received.push(Buffer.from(packet));
    this.onReceive?.(packet);
  }

  txReady(): void {
    this.txReadyCount++;
    this.onTxReady?.();
  }

  carrier(up: boolean): void {
    this.carrierLog.push(up);
  }

  mtuChanged(mtu: number): void {
    this.mtuLog.push(mtu);
  }

  get carrierUp(): boolean {
    return this.carrierLog.at(-1) ?? false;
  }

  get mtu(): number | undefined {
    return this.mtuLog.at(-1);
  }
}

