/**
 * The astlpc binding's host-mode ports over the host side of the wires: KCS
 * register accesses over the KCS wire (docs/kcs-wire.md) and the LPC window
 * through the window file (docs/lpc-window.md) or any positional accessor —
 * inside a QEMU guest, the mapped ivshmem BAR.
 */
import type { KcsWireClient } from '../transport/kcs-wire/client.js';
import type { AstlpcHostKcsEvent, AstlpcHostKcsPort, AstlpcWindowPort } from '../firmware/mctp/astlpc/ports.js';

/** Host I/O registers of a KCS channel on the wire: 0 = data (ODR/IDR), 1 = status. */
const KCS_DATA = 0;
const KCS_STATUS = 1;

export function kcsWireAstlpcPort(client: KcsWireClient): AstlpcHostKcsPort {
  return {
    readStatus: () => client.read(KCS_STATUS),
    readData: () => client.read(KCS_DATA),
    writeData: async (v) => {
      await client.write(KCS_DATA, v);
    },
    subscribe(listener: (e: AstlpcHostKcsEvent) => void) {
      const onIrq = (): void => listener('irq');
      // A (re)connected wire may carry a changed STR: let the binding look again.
      const onReady = (): void => listener('status');
      client.on('interrupt', onIrq);
      client.on('ready', onReady);
      return () => {
        client.off('interrupt', onIrq);
        client.off('ready', onReady);
      };
    },
  };
}

/** Anything with positional read/write in window offsets (WindowFile, a mapped BAR). */
export interface PositionalWindow {
  read(offset: number, length: number): Buffer;
  write(offset: number, data: Buffer): void;
}

/** `window` is resolved on each access, so the accessor may be opened after the binding is made. */
export function windowAstlpcPort(window: () => PositionalWindow): AstlpcWindowPort {
  return { read: (o, l) => window().read(o, l), write: (o, d) => window().write(o, d) };
}
