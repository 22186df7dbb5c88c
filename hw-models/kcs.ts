/**
 * AST2500 KCS (Keyboard Controller Style) channels 1-4 in the LPC block.
 *
 * Each channel is three 8-bit registers: IDR (host → BMC), ODR (BMC → host)
 * and STR (status). The host sees two LPC I/O ports (data, status/command);
 * the BMC sees the three registers at fixed offsets in the LPC register block.
 * The hardware-owned flags follow the silicon:
 *
 *   host data write    → IDR = v, IBF = 1, C/D = 0   (BMC IRQ when IBF rises)
 *   host command write → IDR = v, IBF = 1, C/D = 1
 *   host data read     → returns ODR, OBF = 0
 *   BMC IDR read       → returns IDR, IBF = 0
 *   BMC ODR write      → ODR = v, OBF = 1            (host IRQ when OBF rises)
 *   BMC STR write      → bits 7-4 and 2 taken from v; IBF and C/D untouched;
 *                        OBF cleared when v bit 0 is 0, never set by a 1
 *
 * The model knows nothing of MCTP or IPMI: what the bits mean to a protocol is
 * the firmware's business.
 */
import { EventEmitter } from 'node:events';
import type { KcsHostPort, KcsHostReg } from './kcs-host-port.js';
import { ConfigError } from '../lib/errors.js';
import { HwModelError, badOffset, checkByte, checkUint, hex } from './errors.js';

// ---- STR bits -------------------------------------------------------------

/** Output Buffer Full: the BMC wrote ODR and the host has not read it yet. */
export const KCS_STR_OBF = 0x01;
/** Input Buffer Full: the host wrote IDR and the BMC has not read it yet. */
export const KCS_STR_IBF = 0x02;
/** Software bit 2 (IPMI: SMS_ATN). */
export const KCS_STR_SMS_ATN = 0x04;
/** Command/Data: 1 when the last host write went to the command port. */
export const KCS_STR_CMD_DAT = 0x08;
/** Software bit 4 (IPMI: OEM1). */
export const KCS_STR_OEM1 = 0x10;
/** Software bit 5 (IPMI: OEM2). */
export const KCS_STR_OEM2 = 0x20;
/** Software bits 7-6 (IPMI: state; libmctp: BMC_READY 0x80, CHANNEL_ACTIVE 0x40). */
export const KCS_STR_STATE_MASK = 0xc0;
/** The bits a BMC STR write sets or clears directly: 7-4 and 2. */
export const KCS_STR_BMC_OWNED = 0xf4;

// ---- Register offsets in the AST2500 LPC block -----------------------------

export const LPC_IDR1 = 0x24;
export const LPC_IDR2 = 0x28;
export const LPC_IDR3 = 0x2c;
export const LPC_ODR1 = 0x30;
export const LPC_ODR2 = 0x34;
export const LPC_ODR3 = 0x38;
export const LPC_STR1 = 0x3c;
export const LPC_STR2 = 0x40;
export const LPC_STR3 = 0x44;
export const LPC_IDR4 = 0x114;
export const LPC_ODR4 = 0x118;
export const LPC_STR4 = 0x11c;

export type KcsChannelNumber = 1 | 2 | 3 | 4;
export const KCS_CHANNEL_NUMBERS: readonly KcsChannelNumber[] = [1, 2, 3, 4];

export interface KcsRegisterOffsets {
  readonly idr: number;
  readonly odr: number;
  readonly str: number;
}

export const KCS_REGISTER_OFFSETS: Readonly<Record<KcsChannelNumber, KcsRegisterOffsets>> = {
  1: { idr: LPC_IDR1, odr: LPC_ODR1, str: LPC_STR1 },
  2: { idr: LPC_IDR2, odr: LPC_ODR2, str: LPC_STR2 },
  3: { idr: LPC_IDR3, odr: LPC_ODR3, str: LPC_STR3 },
  4: { idr: LPC_IDR4, odr: LPC_ODR4, str: LPC_STR4 },
};

// ---- Host LPC I/O addresses ------------------------------------------------

export interface KcsIoAddresses {
  /** Data port: host reads ODR, writes IDR as data. */
  readonly data: number;
  /** Status/command port: host reads STR, writes IDR as a command. */
  readonly status: number;
}

/**
 * Default host I/O ports, as OpenBMC device trees program them on AST2500
 * boards. Channels 1 and 2 answer status at data + 4 (0xCA0/0xCA4,
 * 0xCA8/0xCAC, as device trees give them); channel 3 at data + 1 (the IPMI 0xCA2/0xCA3,
 * which is also skiboot's MCTP channel). Channel 4's address is fully
 * programmable (LADR4) and boards differ (0xCA4, 0x97DE, ...); its common
 * choice 0xCA4 collides with channel 1's status port, so it is not decoded
 * unless configured.
 */
export const KCS_DEFAULT_IO: Readonly<Record<KcsChannelNumber, KcsIoAddresses | null>> = {
  1: { data: 0xca0, status: 0xca4 },
  2: { data: 0xca8, status: 0xcac },
  3: { data: 0xca2, status: 0xca3 },
  4: null,
};

// ---- One channel -------------------------------------------------------------

export type ObfClearCause = 'host-read' | 'status-write' | 'reset';

export interface KcsChannelEvents {
  /** Host interrupt: OBF rose (a BMC ODR write). Carries STR. */
  'host-irq': [str: number];
  /** BMC interrupt: IBF rose (a host IDR write). Carries STR. */
  'bmc-irq': [str: number];
  /**
   * OBF fell. Not an interrupt line — the AST2500 has no OBE interrupt and
   * Linux polls STR for it — but drivers wait on it, so the model says so.
   */
  'obf-cleared': [str: number, cause: ObfClearCause];
  /** IDR, ODR or STR changed (the status API re-reads snapshot()). */
  change: [];
}

export interface KcsCounters {
  hostReads: number;
  hostWrites: number;
  bmcReads: number;
  bmcWrites: number;
  /** Host IDR writes while IBF was still set: IDR overwritten, a byte lost. */
  overrunWrites: number;
  /** BMC ODR writes while OBF was still set: ODR overwritten, a byte lost. */
  odrOverwrites: number;
  /** Host data reads with OBF clear (they return the old ODR). */
  staleOdrReads: number;
  /** BMC IDR reads with IBF clear (they return the old IDR). */
  staleIdrReads: number;
  /** BMC STR writes that cleared OBF. */
  obfClearedByStatusWrite: number;
  /** BMC writes to IDR, which is read-only on the BMC side (ignored). */
  ignoredWrites: number;
  resets: number;
}

export interface KcsChannelSnapshot {
  channel: KcsChannelNumber;
  io: KcsIoAddresses | null;
  idr: number;
  odr: number;
  str: number;
  ibf: boolean;
  obf: boolean;
  commandData: boolean;
  counters: KcsCounters;
}

export interface KcsChannelOptions {
  /** Hardware instance 1-4 (fixes the register offsets). Default 3. */
  channel?: KcsChannelNumber;
  /** Host I/O ports; default from KCS_DEFAULT_IO; null = not decoded. */
  io?: KcsIoAddresses | null;
}

function zeroCounters(): KcsCounters {
  return {
    hostReads: 0,
    hostWrites: 0,
    bmcReads: 0,
    bmcWrites: 0,
    overrunWrites: 0,
    odrOverwrites: 0,
    staleOdrReads: 0,
    staleIdrReads: 0,
    obfClearedByStatusWrite: 0,
    ignoredWrites: 0,
    resets: 0,
  };
}

function checkChannelNumber(n: unknown): KcsChannelNumber {
  if (n !== 1 && n !== 2 && n !== 3 && n !== 4) {
    throw new ConfigError(`KCS channel must be 1..4, got ${String(n)}`);
  }
  return n;
}

function checkIo(io: KcsIoAddresses | null, channel: KcsChannelNumber): KcsIoAddresses | null {
  if (io === null) return null;
  if (typeof io !== 'object') {
    throw new ConfigError(`KCS channel ${channel}: io must be {data, status} or null`);
  }
  const data = checkUint(io.data, 0xffff, `KCS channel ${channel} data port`, 'ERR_BAD_CONFIG');
  const status = checkUint(io.status, 0xffff, `KCS channel ${channel} status port`, 'ERR_BAD_CONFIG');
  if (data === status) {
    throw new ConfigError(`KCS channel ${channel}: data and status ports are both ${hex(data)}`);
  }
  return { data, status };
}

/** A host register index must be exactly 0 or 1. */
function checkHostReg(reg: unknown): KcsHostReg {
  if (reg !== 0 && reg !== 1) {
    throw new HwModelError('ERR_HW_BAD_OFFSET', `KCS host register must be 0 (data) or 1 (status/command), got ${String(reg)}`);
  }
  return reg;
}

export class KcsChannel extends EventEmitter<KcsChannelEvents> implements KcsHostPort {
  readonly channel: KcsChannelNumber;
  readonly offsets: KcsRegisterOffsets;
  readonly io: KcsIoAddresses | null;
  #idr = 0;
  #odr = 0;
  #str = 0;
  #counters = zeroCounters();

  constructor(options: KcsChannelOptions = {}) {
    super();
    this.channel = checkChannelNumber(options.channel ?? 3);
    this.offsets = KCS_REGISTER_OFFSETS[this.channel];
    this.io = checkIo(options.io === undefined ? KCS_DEFAULT_IO[this.channel] : options.io, this.channel);
  }

  /** Power-on state: all three registers 0. Counters survive (they are statistics). */
  reset(): void {
    const hadObf = (this.#str & KCS_STR_OBF) !== 0;
    this.#idr = 0;
    this.#odr = 0;
    this.#str = 0;
    this.#counters.resets++;
    this.emit('change');
    if (hadObf) this.emit('obf-cleared', this.#str, 'reset');
  }

  // ---- Host side (KcsHostPort) ----

  hostRead(reg: KcsHostReg): number {
    checkHostReg(reg);
    this.#counters.hostReads++;
    if (reg === 1) return this.#str;
    const value = this.#odr;
    if (this.#str & KCS_STR_OBF) {
      this.#str &= ~KCS_STR_OBF;
      this.emit('change');
      this.emit('obf-cleared', this.#str, 'host-read');
    } else {
      this.#counters.staleOdrReads++;
    }
    return value;
  }

  hostWrite(reg: KcsHostReg, value: number): number {
    checkHostReg(reg);
    checkByte(value, `KCS${this.channel} host ${reg === 0 ? 'data' : 'command'} write`);
    this.#counters.hostWrites++;
    const ibfWasSet = (this.#str & KCS_STR_IBF) !== 0;
    // Real hardware latches the new byte over the unread one; the BMC sees only the last.
    if (ibfWasSet) this.#counters.overrunWrites++;
    this.#idr = value;
    this.#str |= KCS_STR_IBF;
    if (reg === 1) this.#str |= KCS_STR_CMD_DAT;
    else this.#str &= ~KCS_STR_CMD_DAT;
    const str = this.#str;
    this.emit('change');
    if (!ibfWasSet) this.emit('bmc-irq', str);
    return str;
  }

  peekStatus(): number {
    return this.#str;
  }

  // ---- BMC side ----

  /** Read IDR; clears IBF (the hardware does this on the read itself). */
  bmcReadIdr(): number {
    this.#counters.bmcReads++;
    const value = this.#idr;
    if (this.#str & KCS_STR_IBF) {
      this.#str &= ~KCS_STR_IBF;
      this.emit('change');
    } else {
      this.#counters.staleIdrReads++;
    }
    return value;
  }

  /** Write ODR; sets OBF and raises the host interrupt when OBF rises. */
  bmcWriteOdr(value: number): void {
    checkByte(value, `KCS${this.channel} ODR write`);
    this.#counters.bmcWrites++;
    const obfWasSet = (this.#str & KCS_STR_OBF) !== 0;
    if (obfWasSet) this.#counters.odrOverwrites++;
    this.#odr = value;
    this.#str |= KCS_STR_OBF;
    const str = this.#str;
    this.emit('change');
    if (!obfWasSet) this.emit('host-irq', str);
  }

  bmcReadStr(): number {
    this.#counters.bmcReads++;
    return this.#str;
  }

  /**
   * Write STR. Bits 7-4 and 2 are the BMC's; IBF and C/D belong to the
   * hardware and keep their value; OBF can only be cleared (a written 0 clears
   * it — the raw-kcs driver warns about this — a written 1 leaves it alone).
   */
  bmcWriteStr(value: number): void {
    checkByte(value, `KCS${this.channel} STR write`);
    this.#counters.bmcWrites++;
    const before = this.#str;
    const hardwareBits = before & (KCS_STR_IBF | KCS_STR_CMD_DAT);
    const obf = before & KCS_STR_OBF & value;
    this.#str = (value & KCS_STR_BMC_OWNED) | hardwareBits | obf;
    if (this.#str === before) return;
    this.emit('change');
    if (before & KCS_STR_OBF && !obf) {
      this.#counters.obfClearedByStatusWrite++;
      this.emit('obf-cleared', this.#str, 'status-write');
    }
  }

  // ---- BMC register interface (offsets in the LPC block) ----

  /** True when `offset` is one of this channel's IDR/ODR/STR. */
  decodes(offset: number): boolean {
    return offset === this.offsets.idr || offset === this.offsets.odr || offset === this.offsets.str;
  }

  readRegister(offset: number): number {
    switch (offset) {
      case this.offsets.idr:
        return this.bmcReadIdr();
      case this.offsets.odr:
        // ODR reads back without side effects: only a host read consumes it.
        this.#counters.bmcReads++;
        return this.#odr;
      case this.offsets.str:
        return this.bmcReadStr();
      default:
        throw badOffset(`KCS${this.channel}`, offset);
    }
  }

  writeRegister(offset: number, value: number): void {
    switch (offset) {
      case this.offsets.idr:
        // IDR is written by the host only; a BMC write does nothing on silicon.
        checkByte(value, `KCS${this.channel} IDR write`);
        this.#counters.ignoredWrites++;
        return;
      case this.offsets.odr:
        return this.bmcWriteOdr(value);
      case this.offsets.str:
        return this.bmcWriteStr(value);
      default:
        throw badOffset(`KCS${this.channel}`, offset);
    }
  }

  get counters(): Readonly<KcsCounters> {
    return { ...this.#counters };
  }

  snapshot(): KcsChannelSnapshot {
    const str = this.#str;
    return {
      channel: this.channel,
      io: this.io ? { ...this.io } : null,
      idr: this.#idr,
      odr: this.#odr,
      str,
      ibf: (str & KCS_STR_IBF) !== 0,
      obf: (str & KCS_STR_OBF) !== 0,
      commandData: (str & KCS_STR_CMD_DAT) !== 0,
      counters: { ...this.#counters },
    };
  }
}

// ---- The four channels together --------------------------------------------

export interface KcsControllerEvents {
  'host-irq': [channel: KcsChannelNumber, str: number];
  'bmc-irq': [channel: KcsChannelNumber, str: number];
  'obf-cleared': [channel: KcsChannelNumber, str: number, cause: ObfClearCause];
  change: [channel: KcsChannelNumber];
}

export interface KcsControllerOptions {
  /** Per-channel host I/O ports; a channel left out gets KCS_DEFAULT_IO; null = not decoded. */
  io?: Partial<Record<KcsChannelNumber, KcsIoAddresses | null>>;
}

export interface KcsControllerSnapshot {
  channels: KcsChannelSnapshot[];
  /** Host I/O accesses to ports no channel decodes. */
  unclaimedIo: number;
}

/** Which channel and host register a host I/O port reaches. */
export interface KcsIoDecode {
  channel: KcsChannelNumber;
  reg: KcsHostReg;
}

export class KcsController extends EventEmitter<KcsControllerEvents> {
  readonly #channels: Map<KcsChannelNumber, KcsChannel>;
  readonly #io = new Map<number, KcsIoDecode>();
  #unclaimedIo = 0;

  constructor(options: KcsControllerOptions = {}) {
    super();
    this.#channels = new Map();
    for (const n of KCS_CHANNEL_NUMBERS) {
      const given = options.io?.[n];
      const channel = new KcsChannel({ channel: n, io: given === undefined ? KCS_DEFAULT_IO[n] : given });
      if (channel.io) this.#claim(channel.io.data, { channel: n, reg: 0 });
      if (channel.io) this.#claim(channel.io.status, { channel: n, reg: 1 });
      channel.on('host-irq', (str) => this.emit('host-irq', n, str));
      channel.on('bmc-irq', (str) => this.emit('bmc-irq', n, str));
      channel.on('obf-cleared', (str, cause) => this.emit('obf-cleared', n, str, cause));
      channel.on('change', () => this.emit('change', n));
      this.#channels.set(n, channel);
    }
  }

  #claim(port: number, decode: KcsIoDecode): void {
    const other = this.#io.get(port);
    if (other) {
      throw new ConfigError(
        `KCS I/O port ${hex(port)} claimed by both channel ${other.channel} and channel ${decode.channel}`,
      );
    }
    this.#io.set(port, decode);
  }

  channel(n: KcsChannelNumber): KcsChannel {
    const channel = this.#channels.get(n);
    if (!channel) throw new HwModelError('ERR_HW_BAD_ARGUMENT', `KCS channel must be 1..4, got ${String(n)}`);
    return channel;
  }

  get channels(): KcsChannel[] {
    return [...this.#channels.values()];
  }

  reset(): void {
    for (const channel of this.#channels.values()) channel.reset();
  }

  #channelAt(offset: number): KcsChannel {
    for (const channel of this.#channels.values()) if (channel.decodes(offset)) return channel;
    throw badOffset('KCS', offset);
  }

  readRegister(offset: number): number {
    return this.#channelAt(offset).readRegister(offset);
  }

  writeRegister(offset: number, value: number): void {
    this.#channelAt(offset).writeRegister(offset, value);
  }

  /** Which channel/register a host I/O port reaches, or null. */
  decodeIo(port: number): KcsIoDecode | null {
    return this.#io.get(port) ?? null;
  }

  /** Host LPC I/O read; null (and counted) when no channel decodes the port. */
  hostIoRead(port: number): number | null {
    checkUint(port, 0xffff, 'LPC I/O port', 'ERR_HW_BAD_ARGUMENT');
    const decode = this.#io.get(port);
    if (!decode) {
      this.#unclaimedIo++;
      return null;
    }
    return this.channel(decode.channel).hostRead(decode.reg);
  }

  /** Host LPC I/O write; returns STR afterwards, or null (and counted) when unclaimed. */
  hostIoWrite(port: number, value: number): number | null {
    checkUint(port, 0xffff, 'LPC I/O port', 'ERR_HW_BAD_ARGUMENT');
    checkByte(value, 'LPC I/O write');
    const decode = this.#io.get(port);
    if (!decode) {
      this.#unclaimedIo++;
      return null;
    }
    return this.channel(decode.channel).hostWrite(decode.reg, value);
  }

  snapshot(): KcsControllerSnapshot {
    return { channels: this.channels.map((c) => c.snapshot()), unclaimedIo: this.#unclaimedIo };
  }
}
