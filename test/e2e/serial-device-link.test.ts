/**
 * The BMC's MCTP serial binding on a real tty instead of the UART model
 * (`bmcemu run --mctp-serial PATH,BAUD`): a pty made by socat at 115200 baud,
 * relayed to a UNIX socket where a host's serial binding listens (the same
 * socket path a QEMU chardev takes). Messages both ways, the cable pulled
 * (the pty hangs up), and the BMC reopening the device when it is back.
 */
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { Ast2500Soc } from '../../hw-models/ast2500-soc.js';
import { BmcFirmware, SERIAL_IFNAME } from '../../firmware/bmc/bmc-firmware.js';
import { MCTP_TAG_OWNER } from '../../firmware/mctp/constants.js';
import { echoRequest, startEchoResponder } from '../../firmware/mctp/echo.js';
import { SerialBinding } from '../../firmware/mctp/serial/binding.js';
import { MctpStack } from '../../firmware/mctp/stack.js';
import { systemClock } from '../../lib/clock.js';
import { SOCAT_MISSING, haveSocat, startSocat } from '../transport/helpers/socat.js';
import { shortTempDir, until } from '../transport/helpers/util.js';

t.test('serial binding on a pty through @serialport/stream', { skip: haveSocat() ? false : SOCAT_MISSING }, async (t) => {
  const dir = shortTempDir(t);
  const ttyPath = path.join(dir, 'bmc-tty');
  const hostSock = path.join(dir, 'host.sock');

  // The host: a serial binding on whatever connection comes in.
  const host = new MctpStack();
  const hostBinding = new SerialBinding();
  host.addInterface('mctpserial0', hostBinding).setUp(true);
  host.addAddress('mctpserial0', 10);
  host.addRoute({ min: 8, dev: 'mctpserial0' });
  const hostEcho = startEchoResponder(host);
  t.teardown(() => host.close());
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    hostBinding.attachStream(s);
  });
  await new Promise<void>((r) => server.listen(hostSock, r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));

  let cable = await startSocat(ttyPath, `UNIX-CONNECT:${hostSock}`);
  t.teardown(() => cable.stop());

  const soc = new Ast2500Soc({ runtimeDir: dir });
  await soc.start();
  const fw = new BmcFirmware({ soc, busOwner: false, serialDevice: { path: ttyPath, baudRate: 115200 } });
  fw.start();
  fw.stack.addRoute({ min: 10, dev: SERIAL_IFNAME });
  const bmcEcho = startEchoResponder(fw.stack);
  t.teardown(async () => {
    bmcEcho.close();
    await fw.stop();
    await soc.close();
  });
  const bmcIface = fw.stack.interface(SERIAL_IFNAME);
  await until(() => bmcIface.carrier && host.interface('mctpserial0').carrier, { what: 'carrier on both ends' });
  t.equal(soc.uart.listenerCount('irq'), 0, 'the UART model is not in the path');

  t.equal((await echoRequest(host, { eid: 8, len: 1000, clock: systemClock, timeoutMs: 10000 })).bytes, 1003, 'host -> BMC -> host');
  const s = fw.stack.socket();
  const msg = Buffer.from(Array.from({ length: 65535 }, (_, i) => (i * 7) & 0xff));
  msg.set([0xcc, 0xde, 0xf0]);
  s.sendto(msg, { net: 1, eid: 10, type: 0x7e, tag: MCTP_TAG_OWNER });
  t.ok((await s.recvfrom()).data.equals(msg), 'BMC -> host -> BMC, 64 KiB intact');
  s.close();
  t.equal(hostEcho.stats.echoed, 1);

  // The cable is pulled: the pty hangs up, the BMC's carrier goes.
  await cable.stop();
  await until(() => !bmcIface.carrier, { what: 'BMC carrier down after the hang-up' });
  t.match(fw.serialLinkStats(), { kind: 'device', device: { open: false, closes: 1 } });

  // ... and put back: the BMC reopens the same path.
  cable = await startSocat(ttyPath, `UNIX-CONNECT:${hostSock}`);
  await until(() => bmcIface.carrier && connections === 2 && host.interface('mctpserial0').carrier, { what: 'carrier back', limitMs: 15000 });
  t.equal((await echoRequest(host, { eid: 8, len: 500, clock: systemClock, timeoutMs: 10000 })).bytes, 503, 'echo after the reopen');
  t.match(fw.serialLinkStats(), { kind: 'device', device: { path: ttyPath, baudRate: 115200, open: true, opens: 2, closes: 1 } });
});
