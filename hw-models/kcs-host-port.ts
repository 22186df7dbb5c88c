/**
 * The host-side view of one KCS channel: what an LPC I/O access from the host
 * does. The KCS model implements it; the KCS wire server drives it on behalf of
 * a remote host (a QEMU guest, or a test process). Kept in its own file so the
 * wire layer depends on this contract, not on the model's internals.
 */
import type { EventEmitter } from 'node:events';

/** Register index on the host side: 0 = data (ODR on read, IDR on write), 1 = status/command. */
export type KcsHostReg = 0 | 1;

export interface KcsHostPort extends EventEmitter {
  /** Host I/O read: reg 0 reads ODR (and clears OBF), reg 1 reads STR. */
  hostRead(reg: KcsHostReg): number;
  /**
   * Host I/O write: reg 0 writes IDR as data (sets IBF, clears C/D),
   * reg 1 writes IDR as a command (sets IBF and C/D). Returns STR afterwards.
   */
  hostWrite(reg: KcsHostReg, value: number): number;
  /** Current STR without side effects. */
  peekStatus(): number;
  /**
   * Emits 'host-irq' (str: number) whenever the BMC side raises the host
   * interrupt: OBF going from 0 to 1 (an ODR write by the BMC).
   */
  on(event: 'host-irq', listener: (str: number) => void): this;
}
