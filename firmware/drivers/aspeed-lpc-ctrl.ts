/**
 * /dev/aspeed-lpc-ctrl over the LpcCtrl model: the Linux aspeed-lpc-ctrl
 * driver's two ioctls plus access to the reserved memory.
 *
 *   getSize()  ASPEED_LPC_CTRL_IOCTL_GET_SIZE (memory window 0): region size
 *   map(m)     ASPEED_LPC_CTRL_IOCTL_MAP: program HICR7/HICR8, enable HICR5
 *   read/write the MCTP window (the kernel hands out an mmap() of the whole
 *              region; here offset 0 is the start of the MCTP window, the
 *              region's last 1 MiB, which is where libmctp puts it)
 *
 * map() applies the kernel's checks in the kernel's order and then the ones
 * the HICR8 masks need but the kernel leaves to the caller (power-of-two size,
 * LPC address aligned to the size and inside the 28-bit FW space): a mapping
 * that would not decode as asked fails with EINVAL instead of silently
 * mapping something else.
 */
import {
  HICR5_FW_WINDOW_ENABLE,
  LPC_HICR5,
  LPC_HICR7,
  LPC_HICR8,
  encodeFwWindow,
  topOfFwSpace,
  type LpcCtrl,
} from '../../hw-models/lpc-ctrl.js';
import { isHwModelError } from '../../hw-models/errors.js';
import { DriverError } from './errors.js';

export const ASPEED_LPC_CTRL_WINDOW_FLASH = 1;
export const ASPEED_LPC_CTRL_WINDOW_MEMORY = 2;

/** struct aspeed_lpc_ctrl_mapping (uapi); omitted fields default as libmctp fills them. */
export interface AspeedLpcCtrlMapping {
  windowType?: number;
  windowId?: number;
  flags?: number;
  /** Host LPC firmware-space address. */
  addr: number;
  /** Offset into the reserved region. */
  offset: number;
  size: number;
}

export { topOfFwSpace };

function einval(message: string): DriverError {
  return new DriverError('EINVAL', message);
}

function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

export class AspeedLpcCtrl {
  readonly #lpc: LpcCtrl;

  constructor(lpc: LpcCtrl) {
    this.#lpc = lpc;
  }

  /** Reserved region base (the device tree's memory-region), as the kernel's mem_base. */
  get memBase(): number {
    return this.#lpc.reservedBase;
  }

  /** Size of the MCTP window read()/write() address (1 MiB). */
  get windowSize(): number {
    return this.#lpc.windowSize;
  }

  /** ASPEED_LPC_CTRL_IOCTL_GET_SIZE: only memory window 0 reports a size. */
  getSize(request: { windowType?: number; windowId?: number; flags?: number } = {}): number {
    const { windowType = ASPEED_LPC_CTRL_WINDOW_MEMORY, windowId = 0, flags = 0 } = request;
    if (flags !== 0) throw einval(`GET_SIZE: flags must be 0, got ${String(flags)}`);
    if (windowType !== ASPEED_LPC_CTRL_WINDOW_MEMORY) throw einval('GET_SIZE: flash windows do not report a size');
    if (windowId !== 0) throw einval(`GET_SIZE: only window id 0 exists, got ${String(windowId)}`);
    return this.#lpc.reservedSize;
  }

  /** ASPEED_LPC_CTRL_IOCTL_MAP for the memory window. */
  map(mapping: AspeedLpcCtrlMapping): void {
    const { windowType = ASPEED_LPC_CTRL_WINDOW_MEMORY, windowId = 0, flags = 0, addr, offset, size } = mapping;
    if (flags !== 0) throw einval(`MAP: flags must be 0, got ${String(flags)}`);
    if (!isU32(addr) || !isU32(offset) || !isU32(size)) {
      throw einval('MAP: addr, offset and size must be 32-bit unsigned integers');
    }
    // The kernel's checks, in its order.
    if (size & 0xffff || offset & 0xffff) throw einval('MAP: size and offset must be multiples of 64 KiB');
    if (size !== 0 && offset & (size - 1)) throw einval('MAP: offset must be a multiple of size');
    if (windowType === ASPEED_LPC_CTRL_WINDOW_FLASH) {
      throw new DriverError('ENODEV', 'MAP: this BMC has no host PNOR flash window');
    }
    if (windowType !== ASPEED_LPC_CTRL_WINDOW_MEMORY) throw einval(`MAP: unknown window type ${String(windowType)}`);
    if (windowId !== 0) throw einval(`MAP: only window id 0 exists, got ${String(windowId)}`);
    const regionSize = this.#lpc.reservedSize;
    if (offset + size > regionSize) throw einval('MAP: offset + size runs past the reserved region');
    if (size === 0 || size > regionSize) throw einval('MAP: size must be non-zero and fit the reserved region');
    // The checks the HICR masks need (see the file comment).
    let regs: { hicr7: number; hicr8: number };
    try {
      regs = encodeFwWindow({ ahbAddr: this.#lpc.reservedBase + offset, lpcAddr: addr, size });
    } catch (e) {
      if (isHwModelError(e)) throw einval(`MAP: ${e.message}`);
      throw e;
    }
    this.#lpc.writeRegister(LPC_HICR7, regs.hicr7);
    this.#lpc.writeRegister(LPC_HICR8, regs.hicr8);
    const hicr5 = this.#lpc.readRegister(LPC_HICR5);
    this.#lpc.writeRegister(LPC_HICR5, (hicr5 | HICR5_FW_WINDOW_ENABLE) >>> 0);
  }

  /** Read the MCTP window (offset 0 = its first byte). */
  read(offset: number, length: number): Buffer {
    this.#checkRange(offset, length, 'read');
    return this.#lpc.bmcRead(this.#lpc.windowAhbBase + offset, length);
  }

  /** Write the MCTP window (offset 0 = its first byte). */
  write(offset: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw einval('write: data must be a Buffer or Uint8Array');
    this.#checkRange(offset, data.length, 'write');
    this.#lpc.bmcWrite(this.#lpc.windowAhbBase + offset, data);
  }

  #checkRange(offset: number, length: number, op: string): void {
    const size = this.#lpc.windowSize;
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
      throw einval(`${op}: offset and length must be non-negative integers`);
    }
    if (offset + length > size) {
      throw new DriverError('EFAULT', `${op}: ${offset}+${length} runs past the ${size}-byte MCTP window`);
    }
  }
}
