/**
 * System boot options (IPMI v2.0 §28.12–28.13, table 28-14): the parameter
 * store behind Get/Set System Boot Options, with the spec's rules for the
 * boot flag valid bit. The commands are in commands/boot-options.ts.
 *
 * Parameters kept (data as Get returns it after the version and selector bytes):
 *   0 set in progress      [state]           volatile; 0 complete, 1 in progress, 2 commit write
 *   1 service partition    [selector]
 *   2 service partition scan [bits 1:0]
 *   3 valid bit clearing   [bits 4:0]        1 = do NOT clear the valid bit on: bit 0 power
 *                                            button/wake, bit 1 reset button/soft reset, bit 2
 *                                            watchdog reset, bit 3 the 60 s timeout, bit 4 PEF
 *   4 boot info acknowledge [00, ack bits 4:0]  Set takes [write mask, data]; starts 00, volatile
 *   5 boot flags           [5 bytes]         byte 1 bit 7 valid, bit 6 persistent, bit 5 EFI
 *   6 boot initiator info  [9 bytes]         volatile
 *   7 boot initiator mailbox, 5 blocks of 16 bytes: Get [block, 16 bytes] (set selector = block)
 *
 * The valid bit: set by whoever writes param 5; cleared 60 s later unless a
 * Chassis Control arrives (each one restarts the 60 s) or param 3 bit 3
 * says not to; cleared by the host events of param 3 unless their bit is
 * set. Parameters 1, 2, 3, 5 and 7 persist through the injected
 * persistence (the composition keeps them in the state directory).
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';

export const BOOT_PARAM = {
  SET_IN_PROGRESS: 0,
  SERVICE_PARTITION_SELECTOR: 1,
  SERVICE_PARTITION_SCAN: 2,
  VALID_BIT_CLEARING: 3,
  BOOT_INFO_ACK: 4,
  BOOT_FLAGS: 5,
  BOOT_INITIATOR_INFO: 6,
  BOOT_INITIATOR_MAILBOX: 7,
} as const;

/** Completion codes of Get/Set System Boot Options. */
export const CC_BOOT = {
  PARAMETER_NOT_SUPPORTED: 0x80,
  /** Set "set in progress" while it already is. */
  SET_IN_PROGRESS_ACTIVE: 0x81,
  READ_ONLY_PARAMETER: 0x82,
} as const;

export const SET_IN_PROGRESS = { COMPLETE: 0, IN_PROGRESS: 1, COMMIT_WRITE: 2 } as const;

/** Param 3 bits: 1 = do not clear the valid bit on this event. */
export const VALID_BIT_KEEP = {
  POWER_BUTTON: 0x01,
  SOFT_RESET: 0x02,
  WATCHDOG: 0x04,
  TIMEOUT: 0x08,
  PEF: 0x10,
} as const;

/** Boot flags byte 1 bits. */
export const BOOT_FLAG = { VALID: 0x80, PERSISTENT: 0x40, EFI: 0x20 } as const;

/** Boot device selector (boot flags byte 2 bits 5:2). */
export const BOOT_DEVICE = {
  NONE: 0x0,
  PXE: 0x1,
  DISK: 0x2,
  DISK_SAFE: 0x3,
  DIAGNOSTIC: 0x4,
  CDROM: 0x5,
  BIOS_SETUP: 0x6,
  REMOTE_FLOPPY: 0x7,
  REMOTE_CDROM: 0x8,
  REMOTE_PRIMARY_MEDIA: 0x9,
  REMOTE_DISK: 0xb,
  FLOPPY: 0xf,
} as const;

export const VALID_BIT_TIMEOUT_MS = 60_000;
export const MAILBOX_BLOCKS = 5;
export const MAILBOX_BLOCK_SIZE = 16;

/** Host events that may clear the valid bit (param 3). */
export type BootHostEvent = 'power-button' | 'soft-reset' | 'watchdog' | 'pef';

const KEEP_BIT: Record<BootHostEvent, number> = {
  'power-button': VALID_BIT_KEEP.POWER_BUTTON,
  'soft-reset': VALID_BIT_KEEP.SOFT_RESET,
  watchdog: VALID_BIT_KEEP.WATCHDOG,
  pef: VALID_BIT_KEEP.PEF,
};

export interface BootOptionsPersistence {
  load(): object | undefined;
  save(obj: object): void;
}

export interface BootOptionsOptions {
  clock: Clock;
  persistence?: BootOptionsPersistence;
  log?: (line: string) => void;
}

/** What persists, as saved. */
interface Stored {
  version: 1;
  servicePartitionSelector: number;
  servicePartitionScan: number;
  validBitClearing: number;
  bootFlags: number[];
  mailbox: number[][];
  /** Parameters marked invalid/locked (bit n = parameter n). */
  invalid: number;
}

export type GetResult = { cc: number } | { data: Buffer };

function isByteArray(v: unknown, len: number): v is number[] {
  return Array.isArray(v) && v.length === len && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 0xff);
}

function isByteValue(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xff;
}

function parseStored(o: object): Stored | null {
  const s = o as Partial<Stored>;
  if (s.version !== 1) return null;
  if (!isByteValue(s.servicePartitionSelector) || !isByteValue(s.servicePartitionScan) || !isByteValue(s.validBitClearing)) return null;
  if (!isByteArray(s.bootFlags, 5)) return null;
  if (!Array.isArray(s.mailbox) || s.mailbox.length !== MAILBOX_BLOCKS || !s.mailbox.every((b) => isByteArray(b, MAILBOX_BLOCK_SIZE))) return null;
  if (!isByteValue(s.invalid)) return null;
  return s as Stored;
}

export class BootOptions {
  readonly #clock: Clock;
  readonly #persistence: BootOptionsPersistence | undefined;
  readonly #log: (line: string) => void;
  #setInProgress: number = SET_IN_PROGRESS.COMPLETE;
  #servicePartitionSelector = 0;
  #servicePartitionScan = 0;
  #validBitClearing = 0;
  #ack = 0;
  #bootFlags = Buffer.alloc(5);
  #initiatorInfo = Buffer.alloc(9);
  #mailbox = Buffer.alloc(MAILBOX_BLOCKS * MAILBOX_BLOCK_SIZE);
  /** Parameters marked invalid/locked by Set with bit 7 (Get reports it back). */
  #invalid = 0;
  #validTimer: TimerHandle | null = null;

  constructor(opts: BootOptionsOptions) {
    this.#clock = opts.clock;
    this.#persistence = opts.persistence;
    this.#log = opts.log ?? (() => {});
    this.#load();
  }

  #load(): void {
    let raw: object | undefined;
    try {
      raw = this.#persistence?.load();
    } catch (e) {
      this.#log(`ipmi boot options: cannot load saved state (${e instanceof Error ? e.message : String(e)}); using defaults`);
      return;
    }
    if (raw === undefined) return;
    const s = typeof raw === 'object' && raw !== null ? parseStored(raw) : null;
    if (!s) {
      this.#log('ipmi boot options: saved state is not valid; using defaults');
      return;
    }
    this.#servicePartitionSelector = s.servicePartitionSelector;
    this.#servicePartitionScan = s.servicePartitionScan & 0x03;
    this.#validBitClearing = s.validBitClearing & 0x1f;
    this.#bootFlags = Buffer.from(s.bootFlags);
    this.#mailbox = Buffer.concat(s.mailbox.map((b) => Buffer.from(b)));
    this.#invalid = s.invalid;
    // A fresh 60 s window: the one that was running went with the old process.
    if (this.valid) this.#armValidTimer();
  }

  #save(): void {
    if (!this.#persistence) return;
    const s: Stored = {
      version: 1,
      servicePartitionSelector: this.#servicePartitionSelector,
      servicePartitionScan: this.#servicePartitionScan,
      validBitClearing: this.#validBitClearing,
      bootFlags: [...this.#bootFlags],
      mailbox: Array.from({ length: MAILBOX_BLOCKS }, (_, i) => [...this.#mailbox.subarray(i * MAILBOX_BLOCK_SIZE, (i + 1) * MAILBOX_BLOCK_SIZE)]),
      invalid: this.#invalid,
    };
    try {
      this.#persistence.save(s);
    } catch (e) {
      this.#log(`ipmi boot options: cannot save state (${e instanceof Error ? e.message : String(e)})`);
    }
  }

  /** The boot flags valid bit. */
  get valid(): boolean {
    return (this.#bootFlags[0]! & BOOT_FLAG.VALID) !== 0;
  }

  /** Param 5 as stored (5 bytes). */
  get bootFlags(): Buffer {
    return Buffer.from(this.#bootFlags);
  }

  /** Get System Boot Options: the parameter's data (after version and selector bytes), or a completion code. */
  get(param: number, setSelector: number): GetResult {
    switch (param) {
      case BOOT_PARAM.SET_IN_PROGRESS:
        return { data: Buffer.of(this.#setInProgress) };
      case BOOT_PARAM.SERVICE_PARTITION_SELECTOR:
        return { data: Buffer.of(this.#servicePartitionSelector) };
      case BOOT_PARAM.SERVICE_PARTITION_SCAN:
        return { data: Buffer.of(this.#servicePartitionScan) };
      case BOOT_PARAM.VALID_BIT_CLEARING:
        return { data: Buffer.of(this.#validBitClearing) };
      case BOOT_PARAM.BOOT_INFO_ACK:
        // The write mask is write-only and reads as 00.
        return { data: Buffer.of(0x00, this.#ack) };
      case BOOT_PARAM.BOOT_FLAGS:
        return { data: Buffer.from(this.#bootFlags) };
      case BOOT_PARAM.BOOT_INITIATOR_INFO:
        return { data: Buffer.from(this.#initiatorInfo) };
      case BOOT_PARAM.BOOT_INITIATOR_MAILBOX: {
        if (setSelector >= MAILBOX_BLOCKS) return { cc: 0xc9 };
        const at = setSelector * MAILBOX_BLOCK_SIZE;
        return { data: Buffer.concat([Buffer.of(setSelector), this.#mailbox.subarray(at, at + MAILBOX_BLOCK_SIZE)]) };
      }
      default:
        return { cc: CC_BOOT.PARAMETER_NOT_SUPPORTED };
    }
  }

  /** Whether Get should report the parameter as invalid/locked (selector byte bit 7). */
  isMarkedInvalid(param: number): boolean {
    return param < 8 && (this.#invalid & (1 << param)) !== 0;
  }

  /**
   * Set System Boot Options: `data` is what follows the selector byte.
   * Returns the completion code (0 when applied).
   */
  set(param: number, data: Buffer, markInvalid: boolean): number {
    const exact = (n: number): boolean => data.length === n;
    let persist = true;
    switch (param) {
      case BOOT_PARAM.SET_IN_PROGRESS: {
        if (!exact(1)) return 0xc7;
        const v = data[0]! & 0x03;
        if (v === 3) return 0xcc;
        if (v === SET_IN_PROGRESS.IN_PROGRESS && this.#setInProgress === SET_IN_PROGRESS.IN_PROGRESS) {
          return CC_BOOT.SET_IN_PROGRESS_ACTIVE;
        }
        // Writes take effect at once, so "commit write" has nothing left to do: it completes the set.
        this.#setInProgress = v === SET_IN_PROGRESS.IN_PROGRESS ? v : SET_IN_PROGRESS.COMPLETE;
        persist = false;
        break;
      }
      case BOOT_PARAM.SERVICE_PARTITION_SELECTOR:
        if (!exact(1)) return 0xc7;
        this.#servicePartitionSelector = data[0]!;
        break;
      case BOOT_PARAM.SERVICE_PARTITION_SCAN:
        if (!exact(1)) return 0xc7;
        this.#servicePartitionScan = data[0]! & 0x03;
        break;
      case BOOT_PARAM.VALID_BIT_CLEARING:
        if (!exact(1)) return 0xc7;
        this.#validBitClearing = data[0]! & 0x1f;
        if (this.#validBitClearing & VALID_BIT_KEEP.TIMEOUT) this.#cancelValidTimer();
        else if (this.valid && !this.#validTimer) this.#armValidTimer();
        break;
      case BOOT_PARAM.BOOT_INFO_ACK: {
        if (!exact(2)) return 0xc7;
        const mask = data[0]!;
        this.#ack = ((this.#ack & ~mask) | (data[1]! & mask)) & 0x1f;
        persist = false;
        break;
      }
      case BOOT_PARAM.BOOT_FLAGS: {
        if (!exact(5)) return 0xc7;
        const wasValid = this.valid;
        this.#bootFlags = Buffer.from(data);
        if (!this.valid) this.#cancelValidTimer();
        else if (!wasValid || !this.#validTimer) this.#armValidTimer();
        break;
      }
      case BOOT_PARAM.BOOT_INITIATOR_INFO:
        if (!exact(9)) return 0xc7;
        this.#initiatorInfo = Buffer.from(data);
        persist = false;
        break;
      case BOOT_PARAM.BOOT_INITIATOR_MAILBOX: {
        if (data.length < 2 || data.length > 1 + MAILBOX_BLOCK_SIZE) return 0xc7;
        const block = data[0]!;
        if (block >= MAILBOX_BLOCKS) return 0xc9;
        data.copy(this.#mailbox, block * MAILBOX_BLOCK_SIZE, 1);
        break;
      }
      default:
        return CC_BOOT.PARAMETER_NOT_SUPPORTED;
    }
    const before = this.#invalid;
    this.#invalid = markInvalid ? this.#invalid | (1 << param) : this.#invalid & ~(1 << param);
    if (persist || before !== this.#invalid) this.#save();
    return 0;
  }

  /** A Chassis Control command arrived: the 60 s valid-bit window starts over. */
  chassisControlReceived(): void {
    if (this.#validTimer) this.#armValidTimer();
  }

  /** A host event that clears the valid bit unless param 3 says to keep it. */
  hostEvent(event: BootHostEvent): void {
    if (this.valid && !(this.#validBitClearing & KEEP_BIT[event])) this.#clearValid(event);
  }

  /**
   * What a BIOS does when it boots: take the flags if they are valid and,
   * unless they are persistent, clear the valid bit. Returns the 5 bytes, or
   * null when no valid flags are set.
   */
  consumeBootFlags(): Buffer | null {
    if (!this.valid) return null;
    const flags = Buffer.from(this.#bootFlags);
    if (!(flags[0]! & BOOT_FLAG.PERSISTENT)) this.#clearValid('boot');
    return flags;
  }

  /** The BMC was reset: volatile parameters back to their power-up values. */
  bmcReset(): void {
    this.#setInProgress = SET_IN_PROGRESS.COMPLETE;
    this.#ack = 0;
    this.#initiatorInfo = Buffer.alloc(9);
  }

  /** Stop the 60 s timer (the BMC is shutting down). */
  close(): void {
    this.#cancelValidTimer();
  }

  #armValidTimer(): void {
    this.#cancelValidTimer();
    if (this.#validBitClearing & VALID_BIT_KEEP.TIMEOUT) return;
    this.#validTimer = this.#clock.setTimeout(() => {
      this.#validTimer = null;
      this.#clearValid('60 s without Chassis Control');
    }, VALID_BIT_TIMEOUT_MS);
  }

  #cancelValidTimer(): void {
    this.#validTimer?.cancel();
    this.#validTimer = null;
  }

  #clearValid(why: string): void {
    this.#cancelValidTimer();
    if (!this.valid) return;
    this.#bootFlags[0] = this.#bootFlags[0]! & ~BOOT_FLAG.VALID;
    this.#log(`ipmi boot options: boot flags valid bit cleared (${why})`);
    this.#save();
  }
}
