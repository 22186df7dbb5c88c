/**
 * SEL device commands (IPMI v2.0 §31, Storage netfn 0Ah): request bytes in,
 * response bytes out; the rules live in storage/sel.ts.
 *
 *   40h Get SEL Info              44h Add SEL Entry            48h Get SEL Time
 *   41h Get SEL Allocation Info   45h Partial Add SEL Entry    49h Set SEL Time
 *   42h Reserve SEL               46h Delete SEL Entry
 *   43h Get SEL Entry             47h Clear SEL
 */
import { CC } from '../completion-codes.js';
import { NETFN, PRIVILEGE, fail, ok, type IpmiCommand, type IpmiHandler, type IpmiResponse, type Privilege } from '../message.js';
import { SEL_RECORD_SIZE } from '../storage/sel-record.js';
import { SelPartialAdd } from '../storage/sel-partial-add.js';
import { SEL_VERSION, type SelAddResult, type SystemEventLog } from '../storage/sel.js';

export const SEL_CMD = {
  GET_SEL_INFO: 0x40,
  GET_SEL_ALLOCATION_INFO: 0x41,
  RESERVE_SEL: 0x42,
  GET_SEL_ENTRY: 0x43,
  ADD_SEL_ENTRY: 0x44,
  PARTIAL_ADD_SEL_ENTRY: 0x45,
  DELETE_SEL_ENTRY: 0x46,
  CLEAR_SEL: 0x47,
  GET_SEL_TIME: 0x48,
  SET_SEL_TIME: 0x49,
} as const;

/** Command-specific completion codes of §31. */
export const SEL_CC = {
  /** Add/Partial Add: record type not supported; Partial Add: record length mismatch. */
  RECORD_REJECTED: 0x80,
  /** Cannot execute command, SEL erase in progress (never: clearing is instant here). */
  ERASE_IN_PROGRESS: 0x81,
} as const;

/** Get SEL Info operation support: Delete, Partial Add, Reserve and Get SEL Allocation Info are all supported. */
const OP_SUPPORT = 0x0f;
const OVERFLOW_FLAG = 0x80;
const CLR = Buffer.from('CLR', 'latin1');
const CLEAR_INITIATE = 0xaa;
const CLEAR_GET_STATUS = 0x00;
const ERASURE_COMPLETED = 0x01;

export interface SelCommandDeps {
  sel: SystemEventLog;
}

function u16(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff];
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function addResponse(r: SelAddResult): IpmiResponse {
  if (r.ok) return ok(u16(r.recordId));
  if (r.reason === 'full') return fail(CC.OUT_OF_SPACE);
  if (r.reason === 'bad-type') return fail(SEL_CC.RECORD_REJECTED);
  return fail(CC.UNSPECIFIED);
}

export function selCommands({ sel }: SelCommandDeps): IpmiCommand[] {
  const partial = new SelPartialAdd(sel);

  const getInfo: IpmiHandler = (req) => {
    if (req.data.length !== 0) return fail(CC.DATA_LENGTH_INVALID);
    const i = sel.info();
    return ok([SEL_VERSION, ...u16(i.entries), ...u16(i.freeBytes), ...u32(i.lastAddTs), ...u32(i.lastEraseTs), OP_SUPPORT | (i.overflow ? OVERFLOW_FLAG : 0)]);
  };

  const getAllocationInfo: IpmiHandler = (req) => {
    if (req.data.length !== 0) return fail(CC.DATA_LENGTH_INVALID);
    const free = sel.capacity - Math.min(sel.size, sel.capacity);
    // One allocation unit per record: units, unit size, free units, largest free block, max record size (units).
    return ok([...u16(sel.capacity), ...u16(SEL_RECORD_SIZE), ...u16(free), ...u16(free), 1]);
  };

  const reserve: IpmiHandler = (req) => {
    if (req.data.length !== 0) return fail(CC.DATA_LENGTH_INVALID);
    return ok(u16(sel.reserve()));
  };

  const getEntry: IpmiHandler = (req) => {
    if (req.data.length !== 6) return fail(CC.DATA_LENGTH_INVALID);
    const reservation = req.data.readUInt16LE(0);
    const id = req.data.readUInt16LE(2);
    const offset = req.data[4]!;
    const count = req.data[5]!;
    // The reservation only guards partial reads (§31.5): a whole record read needs none.
    const partialRead = offset !== 0 || count < SEL_RECORD_SIZE;
    if (partialRead && !sel.isReserved(reservation)) return fail(CC.RESERVATION_INVALID);
    if (offset >= SEL_RECORD_SIZE) return fail(CC.PARAMETER_OUT_OF_RANGE);
    const found = sel.get(id);
    if (!found) return fail(CC.NOT_PRESENT);
    const end = count === 0xff ? SEL_RECORD_SIZE : Math.min(SEL_RECORD_SIZE, offset + count);
    return ok(Buffer.concat([Buffer.from(u16(found.nextId)), found.record.subarray(offset, end)]));
  };

  const addEntry: IpmiHandler = (req) => {
    if (req.data.length !== SEL_RECORD_SIZE) return fail(CC.DATA_LENGTH_INVALID);
    return addResponse(sel.add(req.data));
  };

  const partialAdd: IpmiHandler = (req) => {
    if (req.data.length < 6) return fail(CC.DATA_LENGTH_INVALID);
    if (!sel.isReserved(req.data.readUInt16LE(0))) return fail(CC.RESERVATION_INVALID);
    const progress = req.data[5]! & 0x0f;
    if (progress > 1) return fail(CC.INVALID_DATA_FIELD);
    const r = partial.piece(req.data.readUInt16LE(2), req.data[4]!, req.data.subarray(6), progress === 1);
    switch (r.status) {
      case 'in-progress':
        return ok(u16(r.recordId));
      case 'done':
        return addResponse(r.result);
      case 'unknown-record':
        return fail(CC.NOT_PRESENT);
      case 'bad-offset':
        return fail(CC.PARAMETER_OUT_OF_RANGE);
      case 'too-long':
        return fail(CC.DATA_LENGTH_EXCEEDED);
      case 'short':
        return fail(SEL_CC.RECORD_REJECTED);
    }
  };

  const deleteEntry: IpmiHandler = (req) => {
    if (req.data.length !== 4) return fail(CC.DATA_LENGTH_INVALID);
    if (!sel.isReserved(req.data.readUInt16LE(0))) return fail(CC.RESERVATION_INVALID);
    const r = sel.delete(req.data.readUInt16LE(2));
    if (r.ok) return ok(u16(r.recordId));
    return fail(r.reason === 'not-present' ? CC.NOT_PRESENT : CC.UNSPECIFIED);
  };

  const clear: IpmiHandler = (req) => {
    if (req.data.length !== 6) return fail(CC.DATA_LENGTH_INVALID);
    if (!req.data.subarray(2, 5).equals(CLR)) return fail(CC.INVALID_DATA_FIELD);
    const action = req.data[5]!;
    if (action === CLEAR_GET_STATUS) {
      // Erasure is instant; the status query changes nothing, so it does not need the reservation
      // the clear itself cancelled.
      return ok([ERASURE_COMPLETED]);
    }
    if (action !== CLEAR_INITIATE) return fail(CC.INVALID_DATA_FIELD);
    if (!sel.isReserved(req.data.readUInt16LE(0))) return fail(CC.RESERVATION_INVALID);
    return sel.clear() ? ok([ERASURE_COMPLETED]) : fail(CC.UNSPECIFIED);
  };

  const getTime: IpmiHandler = (req) => {
    if (req.data.length !== 0) return fail(CC.DATA_LENGTH_INVALID);
    return ok(u32(sel.now()));
  };

  const setTime: IpmiHandler = (req) => {
    if (req.data.length !== 4) return fail(CC.DATA_LENGTH_INVALID);
    return sel.setTime(req.data.readUInt32LE(0)) ? ok() : fail(CC.UNSPECIFIED);
  };

  const cmd = (code: number, name: string, privilege: Privilege, handler: IpmiHandler): IpmiCommand => ({
    netfn: NETFN.STORAGE,
    cmd: code,
    name,
    owner: 'ipmi/storage-sel',
    privilege,
    handler,
  });

  return [
    cmd(SEL_CMD.GET_SEL_INFO, 'Get SEL Info', PRIVILEGE.USER, getInfo),
    cmd(SEL_CMD.GET_SEL_ALLOCATION_INFO, 'Get SEL Allocation Info', PRIVILEGE.USER, getAllocationInfo),
    cmd(SEL_CMD.RESERVE_SEL, 'Reserve SEL', PRIVILEGE.USER, reserve),
    cmd(SEL_CMD.GET_SEL_ENTRY, 'Get SEL Entry', PRIVILEGE.USER, getEntry),
    cmd(SEL_CMD.ADD_SEL_ENTRY, 'Add SEL Entry', PRIVILEGE.OPERATOR, addEntry),
    cmd(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, 'Partial Add SEL Entry', PRIVILEGE.OPERATOR, partialAdd),
    cmd(SEL_CMD.DELETE_SEL_ENTRY, 'Delete SEL Entry', PRIVILEGE.OPERATOR, deleteEntry),
    cmd(SEL_CMD.CLEAR_SEL, 'Clear SEL', PRIVILEGE.OPERATOR, clear),
    cmd(SEL_CMD.GET_SEL_TIME, 'Get SEL Time', PRIVILEGE.USER, getTime),
    cmd(SEL_CMD.SET_SEL_TIME, 'Set SEL Time', PRIVILEGE.OPERATOR, setTime),
  ];
}
