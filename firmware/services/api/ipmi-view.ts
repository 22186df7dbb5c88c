/**
 * The IPMI service's data as the API shows it: router log entries with
 * names and wall-clock times, and the FRU image's areas with named fields
 * (the parser in firmware/ipmi/storage/fru-format.ts keeps them positional).
 */
import { describeCompletionCode } from '../../ipmi/completion-codes.js';
import { netfnName } from '../../ipmi/netfn-names.js';
import type { MessageLogEntry } from '../../ipmi/router.js';
import type { ParsedArea, ParsedField, ParsedFru } from '../../ipmi/storage/fru-format.js';

export interface LogEntryJson {
  seq: number;
  bus: string;
  requester: string | null;
  netfn: number;
  netfnName: string | null;
  cmd: number;
  /** The registered command's name; null when nothing was registered for the key. */
  name: string | null;
  cc: number;
  ccText: string;
  /** Wall-clock time the request reached the router, ISO 8601. */
  time: string;
  durationMs: number;
}

/** `toWall` turns the router's clock time into epoch ms. */
export function logEntryView(e: MessageLogEntry, toWall: (clockMs: number) => number): LogEntryJson {
  return {
    seq: e.seq,
    bus: e.bus,
    requester: e.requester ?? null,
    netfn: e.netfn,
    netfnName: netfnName(e.netfn) ?? null,
    cmd: e.cmd,
    name: e.name ?? null,
    cc: e.cc,
    ccText: describeCompletionCode(e.cc),
    time: new Date(toWall(e.startedAt)).toISOString(),
    durationMs: e.durationMs,
  };
}

/** The area's own fields, by the names the FRU specification gives them, in its order. */
const CHASSIS_FIELDS = ['partNumber', 'serialNumber'] as const;
const BOARD_FIELDS = ['manufacturer', 'productName', 'serialNumber', 'partNumber', 'fruFileId'] as const;
const PRODUCT_FIELDS = ['manufacturer', 'name', 'partNumber', 'version', 'serialNumber', 'assetTag', 'fruFileId'] as const;

/** Named fields (null when the area ended before them), the rest as `custom`. Binary fields are hex, as ipmitool shows them. */
function named(fields: ParsedField[], names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  names.forEach((n, i) => (out[n] = fields[i]?.text ?? null));
  out.custom = fields.slice(names.length).map((f) => f.text);
  return out;
}

function area(a: ParsedArea): Record<string, unknown> {
  return { offset: a.offset, length: a.length, checksumOk: a.checksumOk };
}

export function fruView(p: ParsedFru, size: number): Record<string, unknown> {
  return {
    deviceId: 0,
    size,
    headerOk: p.headerOk,
    problems: p.problems,
    chassis: p.chassis ? { ...area(p.chassis), type: p.chassis.chassisType, ...named(p.chassis.fields, CHASSIS_FIELDS) } : null,
    board: p.board
      ? { ...area(p.board), mfgDate: p.board.mfgDate ? p.board.mfgDate.toISOString() : null, ...named(p.board.fields, BOARD_FIELDS) }
      : null,
    product: p.product ? { ...area(p.product), ...named(p.product.fields, PRODUCT_FIELDS) } : null,
  };
}
