/**
 * SDR repository commands (IPMI v2.0 §33, Storage netfn 0Ah):
 *
 *   20h Get SDR Repository Info   22h Reserve SDR Repository
 *   21h Get SDR Repository Allocation Info   23h Get SDR
 *
 * ipmitool reads each record as a 5-byte header (offset 0) and then the body
 * from offset 5 in pieces, shrinking the piece on CAh; both kinds of read go
 * through Get SDR below.
 */
import { CC } from '../completion-codes.js';
import { NETFN, PRIVILEGE, fail, ok, type IpmiCommand, type IpmiHandler, type Privilege } from '../message.js';
import { SDR_VERSION } from '../storage/sdr-records.js';
import { SDR_ALLOCATION_UNIT, SDR_MAX_RECORD_SIZE, type SdrRepository } from '../storage/sdr.js';

export const SDR_CMD = {
  GET_SDR_REPOSITORY_INFO: 0x20,
  GET_SDR_REPOSITORY_ALLOCATION_INFO: 0x21,
  RESERVE_SDR_REPOSITORY: 0x22,
  GET_SDR: 0x23,
} as const;

/** Operation support: Reserve SDR Repository (02h) and Get SDR Repository Allocation Info (01h); no updates. */
const SDR_OP_SUPPORT = 0x03;
const READ_ENTIRE_RECORD = 0xff;

export interface SdrCommandDeps {
  sdr: SdrRepository;
  /**
   * Most record bytes one Get SDR may return (what fits in a response on the
   * slowest bus); larger requests get CAh and ipmitool retries smaller.
   * Default 255.
   */
  maxReadBytes?: number;
}

function u16(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff];
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export function sdrCommands({ sdr, maxReadBytes = 0xff }: SdrCommandDeps): IpmiCommand[] {
  const getInfo: IpmiHandler = (req) => {
    if (req.data.length !== 0) return fail(CC.DATA_LENGTH_INVALID);
    const i = sdr.info();
    return ok([SDR_VERSION, ...u16(i.count), ...u16(i.freeBytes), ...u32(i.lastAddTs), ...u32(i.lastEraseTs), SDR_OP_SUPPORT]);
  };

  const getAllocationInfo: IpmiHandler = (req) => {
    if (req.data.length !== 0) return fail(CC.DATA_LENGTH_INVALID);
    const free = sdr.capacityUnits - sdr.usedUnits();
    return ok([...u16(sdr.capacityUnits), ...u16(SDR_ALLOCATION_UNIT), ...u16(free), ...u16(free), Math.ceil(SDR_MAX_RECORD_SIZE / SDR_ALLOCATION_UNIT)]);
  };

  const reserve: IpmiHandler = (req) => {
    if (req.data.length !== 0) return fail(CC.DATA_LENGTH_INVALID);
    return ok(u16(sdr.reserve()));
  };

  const getSdr: IpmiHandler = (req) => {
    if (req.data.length !== 6) return fail(CC.DATA_LENGTH_INVALID);
    const reservation = req.data.readUInt16LE(0);
    const id = req.data.readUInt16LE(2);
    const offset = req.data[4]!;
    const count = req.data[5]!;
    // §33.12: the reservation is only required for reads at a non-zero offset.
    if (offset !== 0 && !sdr.isReserved(reservation)) return fail(CC.RESERVATION_INVALID);
    const found = sdr.get(id);
    if (!found) return fail(CC.NOT_PRESENT);
    const rec = found.record;
    if (offset >= rec.length) return fail(CC.PARAMETER_OUT_OF_RANGE);
    const end = count === READ_ENTIRE_RECORD ? rec.length : Math.min(rec.length, offset + count);
    if (end - offset > maxReadBytes) return fail(CC.CANNOT_RETURN_BYTES);
    return ok(Buffer.concat([Buffer.from(u16(found.nextId)), rec.subarray(offset, end)]));
  };

  const cmd = (code: number, name: string, privilege: Privilege, handler: IpmiHandler): IpmiCommand => ({
    netfn: NETFN.STORAGE,
    cmd: code,
    name,
    owner: 'ipmi/storage-sdr',
    privilege,
    handler,
  });

  return [
    cmd(SDR_CMD.GET_SDR_REPOSITORY_INFO, 'Get SDR Repository Info', PRIVILEGE.USER, getInfo),
    cmd(SDR_CMD.GET_SDR_REPOSITORY_ALLOCATION_INFO, 'Get SDR Repository Allocation Info', PRIVILEGE.USER, getAllocationInfo),
    cmd(SDR_CMD.RESERVE_SDR_REPOSITORY, 'Reserve SDR Repository', PRIVILEGE.USER, reserve),
    cmd(SDR_CMD.GET_SDR, 'Get SDR', PRIVILEGE.USER, getSdr),
  ];
}
