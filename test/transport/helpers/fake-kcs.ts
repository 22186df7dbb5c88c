/**
 * A small but faithful KCS channel for wire tests, so they do not depend on
 * the real model (hw-models/kcs.ts). Host side implements KcsHostPort; the
 * bmc* methods play the BMC firmware (/dev/raw-kcsN semantics).
 *
 * STR bits: 0 OBF, 1 IBF, 3 C/D are hardware-owned; 7..4 and 2 are software.
 */
import { EventEmitter } from 'node:events';
import type { KcsHostPort, KcsHostReg } from '../../../hw-models/kcs-host-port.js';

export const OBF = 0x01;
export const IBF = 0x02;
export const CD = 0x08;
const HW_BITS = OBF | IBF | CD;

export class FakeKcsChannel extends EventEmitter implements KcsHostPort {
  str = 0;
  idr = 0;
  odr = 0;
  /** Every access, in order, for asserting exact side effects. */
  readonly log: string[] = [];

  // ---- host side (KcsHostPort)
  hostRead(reg: KcsHostReg): number {
    if (reg === 0) {
      // Reading ODR clears OBF; the value is whatever ODR holds (stale if OBF was clear).
      this.str &= ~OBF;
      this.log.push(`host read data -> ${this.odr}`);
      return this.odr;
    }
    this.log.push(`host read status -> ${this.str}`);
    return this.str;
  }

  hostWrite(reg: KcsHostReg, value: number): number {
    this.idr = value & 0xff;
    if (reg === 0) this.str = (this.str | IBF) & ~CD;
    else this.str |= IBF | CD;
    this.log.push(`host write ${reg === 0 ? 'data' : 'command'} ${value}`);
    // Lets a test play firmware that reacts within the same access (interrupt ordering).
    this.emit('ibf', reg, value);
    return this.str;
  }

  peekStatus(): number {
    return this.str;
  }

  // ---- BMC side
  bmcReadData(): number {
    this.str &= ~IBF;
    this.log.push(`bmc read data -> ${this.idr}`);
    return this.idr;
  }

  bmcWriteData(value: number): void {
    const rose = (this.str & OBF) === 0;
    this.odr = value & 0xff;
    this.str |= OBF;
    this.log.push(`bmc write data ${value}`);
    if (rose) this.emit('host-irq', this.str);
  }

  /**
   * Software bits take the written value; IBF and C/D are untouched; OBF can
   * be cleared by writing bit 0 as 0 (ASPEED; the kernel warns about it) but
   * never set — a status write never raises the host interrupt.
   */
  bmcWriteStatus(value: number): void {
    const keepObf = value & OBF ? this.str & OBF : 0;
    this.str = (value & ~HW_BITS & 0xff) | (this.str & (IBF | CD)) | keepObf;
    this.log.push(`bmc write status ${value}`);
  }
}
