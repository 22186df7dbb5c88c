/**
 * The MCTP serial binding between the BMC firmware and a host over the BMC's
 * UART socket (what QEMU's ttyS1 chardev connects to): 64 KiB messages each
 * way, framed as DSP0253 at MTU 68, and a host that reconnects.
 */
import net from 'node:net';
import t from 'tap';
import { Ast2500Soc } from '../../hw-models/ast2500-soc.js';
import { BmcFirmware, SERIAL_IFNAME } from '../../firmware/bmc/bmc-firmware.js';
import { MCTP_TAG_OWNER } from '../../firmware/mctp/constants.js';
import { echoRequest, startEchoResponder } from '../../firmware/mctp/echo.js';
import { systemClock } from '../../lib/clock.js';
import { SerialBinding } from '../../firmware/mctp/serial/binding.js';
import { MctpStack } from '../../firmware/mctp/stack.js';
import { shortTempDir, until } from '../transport/helpers/util.js';

t.test('serial binding over the BMC UART socket', async (t) => {
  const dir = shortTempDir(t);
  const soc = new Ast2500Soc({ runtimeDir: dir });
  await soc.start();
  const fw = new BmcFirmware({ soc, busOwner: false });
  fw.start();
  fw.stack.addRoute({ min: 10, dev: SERIAL_IFNAME });
  const bmcEcho = startEchoResponder(fw.stack);
  t.teardown(async () => {
    bmcEcho.close();
    await fw.stop();
    await soc.close();
  });

  const host = new MctpStack();
  const binding = new SerialBinding();
  host.addInterface('mctpserial0', binding).setUp(true);
  host.addAddress('mctpserial0', 10);
  host.addRoute({ min: 8, dev: 'mctpserial0' });
  const hostEcho = startEchoResponder(host);
  t.teardown(() => host.close());
  const uartPath = soc.mctpSerialWire.endpoint.kind === 'unix' ? soc.mctpSerialWire.endpoint.path : '';
  const connect = (): net.Socket => {
    const s = net.createConnection({ path: uartPath });
    binding.attachStream(s);
    return s;
  };
  let sock = connect();
  await until(() => fw.stack.interface(SERIAL_IFNAME).carrier && host.interface('mctpserial0').carrier, { what: 'serial carrier' });

  const big = Buffer.alloc(65535 - 3, 0x7e); // every byte needs escaping
  t.ok((await echoRequest(host, { eid: 8, data: big, clock: systemClock, timeoutMs: 10000 })).bytes === 65535, 'host -> BMC -> host, 64 KiB');
  const s = fw.stack.socket();
  const msg = Buffer.from(Array.from({ length: 65535 }, (_, i) => i & 0xff));
  msg.set([0xcc, 0xde, 0xf0]);
  s.sendto(msg, { net: 1, eid: 10, type: 0x7e, tag: MCTP_TAG_OWNER });
  const back = await s.recvfrom();
  t.ok(back.data.equals(msg), 'BMC -> host -> BMC, 64 KiB');
  s.close();
  t.equal(fw.stack.interface(SERIAL_IFNAME).mtu, 68, 'serial MTU is the baseline');
  t.equal(hostEcho.stats.echoed, 1);

  // The host side goes away and comes back (QEMU reconnects its chardev).
  sock.destroy();
  await until(() => !fw.stack.interface(SERIAL_IFNAME).carrier, { what: 'carrier down' });
  sock = connect();
  await until(() => fw.stack.interface(SERIAL_IFNAME).carrier, { what: 'carrier back' });
  t.ok((await echoRequest(host, { eid: 8, len: 500, clock: systemClock })).bytes === 503, 'echo after reconnect');
  sock.destroy();
});
