/** Calling registered IPMI commands directly, the way the router will (shared by the storage and sensor tests). */
import { PRIVILEGE, type IpmiCommand, type IpmiResponse } from '../../../../firmware/ipmi/message.js';

export interface CallOptions {
  bus?: string;
  lun?: number;
}

/** Run the one command registered for netfn/cmd with `data`; throws if none or several are registered. */
export async function call(cmds: IpmiCommand[], netfn: number, cmd: number, data: number[] | Buffer = [], opts: CallOptions = {}): Promise<IpmiResponse> {
  const found = cmds.filter((c) => c.netfn === netfn && c.cmd === cmd);
  if (found.length !== 1) throw new Error(`${found.length} commands registered for netfn 0x${netfn.toString(16)} cmd 0x${cmd.toString(16)}`);
  return found[0]!.handler({
    netfn,
    lun: opts.lun ?? 0,
    cmd,
    data: Buffer.isBuffer(data) ? data : Buffer.from(data),
    bus: opts.bus ?? 'system',
    privilege: PRIVILEGE.ADMINISTRATOR,
  });
}

/** Response as [cc, ...data] for exact-byte comparisons. */
export function bytes(r: IpmiResponse): number[] {
  return [r.cc, ...r.data];
}

export function u16(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff];
}

export function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
