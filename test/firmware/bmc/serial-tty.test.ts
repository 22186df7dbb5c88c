/** The BMC firmware's serial link runs on the UART's tty: carrier with the line, a fresh tty after each hangup. */
import t from 'tap';
import { Ast2500Soc } from '../../../hw-models/ast2500-soc.js';
import { UART_IER } from '../../../hw-models/uart-16550.js';
import { BmcFirmware, SERIAL_IFNAME } from '../../../firmware/bmc/bmc-firmware.js';
import { shortTempDir } from '../../transport/helpers/util.js';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function bmc(t: { teardown(fn: () => unknown): void }) {
  const soc = new Ast2500Soc({ runtimeDir: shortTempDir(t) });
  const fw = new BmcFirmware({ soc, busOwner: false });
  t.teardown(async () => {
    await fw.stop();
    await soc.close();
  });
  fw.start();
  return { soc, fw };
}

t.test('carrier follows the line through hangups and reopens', async (t) => {
  const { soc, fw } = bmc(t);
  const iface = fw.stack.interface(SERIAL_IFNAME);
  t.equal(iface.carrier, false, 'no host on the line');
  t.equal(soc.uart.readRegister(UART_IER) & 0x08, 0x08, 'a tty is open, waiting for carrier');
  for (let round = 1; round <= 3; round++) {
    soc.uart.setLineConnected(true);
    t.equal(iface.carrier, true, `round ${round}: carrier up`);
    soc.uart.setLineConnected(false);
    await settle();
    t.equal(iface.carrier, false, `round ${round}: carrier down after the hangup`);
  }
  t.match(fw.serial.stats(), { streamsAttached: 4 }, 'one tty per wait for carrier');
  t.equal(soc.uart.listenerCount('irq'), 1, 'exactly one tty holds the UART');
});

t.test('stop closes the tty for good', async (t) => {
  const soc = new Ast2500Soc({ runtimeDir: shortTempDir(t) });
  t.teardown(() => soc.close());
  const fw = new BmcFirmware({ soc, busOwner: false });
  fw.start();
  soc.uart.setLineConnected(true);
  await fw.stop();
  await settle();
  t.equal(soc.uart.listenerCount('irq'), 0, 'no tty left');
  t.equal(soc.uart.readRegister(UART_IER), 0, 'interrupts off');
});

t.test('a stack closed without stop() does not reopen the tty or throw', async (t) => {
  const { soc, fw } = bmc(t);
  await fw.stack.close();
  await settle();
  t.equal(soc.uart.listenerCount('irq'), 0);
});
