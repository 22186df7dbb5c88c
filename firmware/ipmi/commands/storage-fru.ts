/**
 * FRU inventory commands for FRU device 0 (IPMI v2.0 §34, Storage netfn 0Ah):
 *
 *   10h Get FRU Inventory Area Info   11h Read FRU Data   12h Write FRU Data
 */
import { CC } from '../completion-codes.js';
import { NETFN, PRIVILEGE, fail, ok, type IpmiCommand, type IpmiHandler, type Privilege } from '../message.js';
import type { FruInventory } from '../storage/fru.js';

export const FRU_CMD = {
  GET_FRU_INVENTORY_AREA_INFO: 0x10,
  READ_FRU_DATA: 0x11,
  WRITE_FRU_DATA: 0x12,
} as const;

/** Access type byte [0]: 0 = the device is accessed by bytes. */
const ACCESS_BY_BYTES = 0x00;
const FRU_DEVICE_ID = 0x00;

export interface FruCommandDeps {
  fru: FruInventory;
  /**
   * Most bytes one Read FRU Data may return (what fits in a response on the
   * slowest bus); a larger count gets CAh and ipmitool retries smaller.
   * Default 255 (the count field's limit).
   */
  maxReadBytes?: number;
}

export function fruCommands({ fru, maxReadBytes = 0xff }: FruCommandDeps): IpmiCommand[] {
  const getInfo: IpmiHandler = (req) => {
    if (req.data.length !== 1) return fail(CC.DATA_LENGTH_INVALID);
    if (req.data[0] !== FRU_DEVICE_ID) return fail(CC.NOT_PRESENT);
    return ok([fru.size & 0xff, fru.size >> 8, ACCESS_BY_BYTES]);
  };

  const read: IpmiHandler = (req) => {
    if (req.data.length !== 4) return fail(CC.DATA_LENGTH_INVALID);
    if (req.data[0] !== FRU_DEVICE_ID) return fail(CC.NOT_PRESENT);
    const offset = req.data.readUInt16LE(1);
    const count = req.data[3]!;
    if (count > maxReadBytes) return fail(CC.CANNOT_RETURN_BYTES);
    const data = fru.read(offset, count);
    if (!data) return fail(CC.PARAMETER_OUT_OF_RANGE);
    return ok(Buffer.concat([Buffer.from([data.length]), data]));
  };

  const write: IpmiHandler = (req) => {
    if (req.data.length < 3) return fail(CC.DATA_LENGTH_INVALID);
    if (req.data[0] !== FRU_DEVICE_ID) return fail(CC.NOT_PRESENT);
    // The response's count is one byte.
    if (req.data.length - 3 > 0xff) return fail(CC.DATA_LENGTH_EXCEEDED);
    const r = fru.write(req.data.readUInt16LE(1), req.data.subarray(3));
    if (r.ok) return ok([r.written]);
    return fail(r.reason === 'out-of-range' ? CC.PARAMETER_OUT_OF_RANGE : CC.UNSPECIFIED);
  };

  const cmd = (code: number, name: string, privilege: Privilege, handler: IpmiHandler): IpmiCommand => ({
    netfn: NETFN.STORAGE,
    cmd: code,
    name,
    owner: 'ipmi/storage-fru',
    privilege,
    handler,
  });

  return [
    cmd(FRU_CMD.GET_FRU_INVENTORY_AREA_INFO, 'Get FRU Inventory Area Info', PRIVILEGE.USER, getInfo),
    cmd(FRU_CMD.READ_FRU_DATA, 'Read FRU Data', PRIVILEGE.USER, read),
    cmd(FRU_CMD.WRITE_FRU_DATA, 'Write FRU Data', PRIVILEGE.OPERATOR, write),
  ];
}
