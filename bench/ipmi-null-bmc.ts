/**
 * The IPMI benchmark's floor: a "BMC" that does nothing but frame. A Node
 * process that decodes VM-protocol requests with bmcemu's codec and answers
 * each at once with completion code 00h and eight zero data bytes, on a UNIX
 * socket and on a loopback TCP port. Measured with the same load generator,
 * it shows what the transport and a Node event loop cost by themselves, so
 * the comparison can tell the BMCs' work from the socket kinds they use
 * (bmcemu serves a UNIX socket, ipmi_sim's VM codec only TCP).
 *
 * Usage (bench/ipmi-bmc-processes.ts starts it): node ipmi-null-bmc.js UNIX_PATH TCP_PORT
 */
import net from 'node:net';
import { VmDecoder, encodeResponse } from '../firmware/ipmi/vm/codec.js';

const DATA = new Uint8Array(8);

function serve(sock: net.Socket): void {
  const decoder = new VmDecoder();
  sock.setNoDelay?.(true);
  sock.on('data', (chunk: Buffer) => {
    for (const f of decoder.decode(chunk)) {
      if (f.kind === 'request') sock.write(encodeResponse({ msgid: f.msgid, netfn: f.netfn, lun: f.lun, cmd: f.cmd, cc: 0, data: DATA }));
    }
  });
  sock.on('error', () => sock.destroy());
}

const [unixPath, port] = process.argv.slice(2);
if (!unixPath || !port) {
  process.stderr.write('usage: ipmi-null-bmc UNIX_PATH TCP_PORT\n');
  process.exit(2);
}
net.createServer(serve).listen(unixPath);
net.createServer(serve).listen(Number(port), '127.0.0.1');
// The parent stops it with SIGTERM; never outlive a parent that died.
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0)).resume();
