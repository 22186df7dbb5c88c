/**
 * The astlpc binding's BMC-mode ports over the firmware drivers, as libmctp's
 * fileio mode sits on /dev/raw-kcsN and /dev/aspeed-lpc-ctrl.
 */
import type { AspeedLpcCtrl } from '../drivers/aspeed-lpc-ctrl.js';
import type { RawKcs } from '../drivers/raw-kcs.js';
import type { AstlpcBmcKcsEvent, AstlpcBmcKcsPort, AstlpcWindowPort } from '../mctp/astlpc/ports.js';

/** How long an ODR write may wait for the host to drain OBF before it fails (the binding retries). */
const ODR_WRITE_TIMEOUT_MS = 1000;

export function rawKcsAstlpcPort(kcs: RawKcs): AstlpcBmcKcsPort {
  return {
    readStatus: () => kcs.readStatus(),
    writeStatus: (v) => kcs.writeStatus(v),
    readData: () => {
      const v = kcs.readData();
      if (v === null) throw new Error(`${kcs.name}: no input byte (EAGAIN)`);
      return v;
    },
    // A blocking write, as libmctp's on /dev/raw-kcsN: it completes when the
    // host has drained OBF, and fails after a bound so the binding never stalls.
    writeData: (v) => (kcs.writeData(v) ? undefined : kcs.writeDataWait(v, { signal: AbortSignal.timeout(ODR_WRITE_TIMEOUT_MS) })),
    subscribe(listener: (e: AstlpcBmcKcsEvent) => void) {
      const onInput = (): void => listener('input');
      const onSpace = (): void => listener('output-space');
      kcs.on('input', onInput);
      kcs.on('obf-clear', onSpace);
      return () => {
        kcs.off('input', onInput);
        kcs.off('obf-clear', onSpace);
      };
    },
  };
}

/** The mapped MCTP window; driver range errors become the RangeError the binding expects. */
export function lpcCtrlWindowPort(lpc: AspeedLpcCtrl): AstlpcWindowPort {
  const wrap = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw new RangeError(e instanceof Error ? e.message : String(e));
    }
  };
  return {
    read: (offset, length) => wrap(() => lpc.read(offset, length)),
    write: (offset, data) => wrap(() => lpc.write(offset, data)),
  };
}
