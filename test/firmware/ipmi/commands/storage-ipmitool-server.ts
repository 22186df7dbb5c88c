/**
 * A stand-in for a BMC that the real ipmitool can talk to: its "dummy"
 * interface (-I dummy, IPMI_DUMMY_SOCK=path) sends requests over a Unix
 * socket as raw structs (x86-64 layout):
 *
 *   request  netfn u8 | lun u8 | cmd u8 | target_cmd u8 | data_len u16 | pad 2 | pointer 8   (16 bytes) + data
 *   response netfn u8 | cmd u8 | seq u8 | lun u8 | ccode u8 | pad 3 | data_len i32 | pad 4 | pointer 8 (24 bytes) + data
 *
 * netfn 3Fh cmd FFh says goodbye. Get Device ID (not this module's command)
 * is answered with what the storage and sensor commands need from it.
 */
import net from 'node:net';
import { CC } from '../../../../firmware/ipmi/completion-codes.js';
import { PRIVILEGE, type IpmiCommand } from '../../../../firmware/ipmi/message.js';

const REQ_HEADER = 16;
const RSP_HEADER = 24;

/** Get Device ID: BMC 20h, device revision bit 7 = 0 (no device SDRs), IPMI 2.0, additional support 8Fh. */
export const DEVICE_ID_RESPONSE = [0x20, 0x01, 0x01, 0x00, 0x02, 0x8f, 0x00, 0x00, 0x00, 0x00, 0x00];

export function ipmitoolDummyServer(socketPath: string, commands: IpmiCommand[]): Promise<net.Server> {
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    let busy = Promise.resolve();
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (buf.length < REQ_HEADER) return;
        const len = buf.readUInt16LE(4);
        if (buf.length < REQ_HEADER + len) return;
        const netfn = buf[0]!;
        const lun = buf[1]!;
        const cmd = buf[2]!;
        const data = Buffer.from(buf.subarray(REQ_HEADER, REQ_HEADER + len));
        buf = buf.subarray(REQ_HEADER + len);
        if (netfn === 0x3f && cmd === 0xff) {
          sock.end();
          return;
        }
        busy = busy.then(async () => {
          let cc: number = CC.INVALID_COMMAND;
          let out: Buffer = Buffer.alloc(0);
          if (netfn === 0x06 && cmd === 0x01) {
            cc = 0;
            out = Buffer.from(DEVICE_ID_RESPONSE);
          } else {
            const c = commands.find((x) => x.netfn === netfn && x.cmd === cmd);
            if (c) {
              const r = await c.handler({ netfn, lun, cmd, data, bus: 'system', privilege: PRIVILEGE.ADMINISTRATOR });
              cc = r.cc;
              out = r.data;
            }
          }
          const h = Buffer.alloc(RSP_HEADER);
          h[0] = netfn | 1;
          h[1] = cmd;
          h[3] = lun;
          h[4] = cc;
          h.writeInt32LE(out.length, 8);
          if (!sock.destroyed) sock.write(Buffer.concat([h, out]));
        });
      }
    });
    sock.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve(server));
  });
}
