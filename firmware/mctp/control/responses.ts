/**
 * Successful response bodies (the bytes after the completion code). A
 * successful response must be exactly as long as its layout says; an error
 * response is the completion code alone (DSP0236 §11.4), and we accept
 * trailing bytes after an error code, as mctpd sends some.
 */
import { SmartBuffer } from 'smart-buffer';
import { MAX_ADDR_LEN } from '../constants.js';
import { Cmd, commandName, VdmFormat, type CommandCode } from './constants.js';
import { BodyReader, fieldError, lengthError, ok, type ParseResult } from './parse.js';
import type { ControlResponse, ResponseFor, RoutingTableEntry, VdmType } from './types.js';

const UUID_LEN = 16;
const ROUTING_ENTRY_FIXED_LEN = 6;

interface BodyCodec<K extends CommandCode> {
  encode(resp: ResponseFor<K>): Buffer;
  decode(body: Buffer): ParseResult<ResponseFor<K>>;
}

function empty<K extends CommandCode>(command: K): BodyCodec<K> {
  return {
    encode: () => Buffer.alloc(0),
    decode: (body) =>
      body.length === 0
        ? ok({ command } as ResponseFor<K>)
        : lengthError(`${commandName(command)} response has no data after the completion code, got ${body.length} bytes`),
  };
}

function exact(command: number, body: Buffer, n: number): ParseResult<never> | null {
  if (body.length === n) return null;
  return lengthError(`${commandName(command)} response data is ${n} bytes after the completion code, got ${body.length}`);
}

/** The vendor ID field's size for a format, or undefined for a format DSP0236 does not define. */
function vidLength(format: number): number | undefined {
  if (format === VdmFormat.Pci) return 2;
  if (format === VdmFormat.Iana) return 4;
  return undefined;
}

const codecs: { [K in CommandCode]: BodyCodec<K> } = {
  [Cmd.SetEndpointId]: {
    encode: (r) => Buffer.from([((r.assignment & 0x03) << 4) | (r.allocation & 0x03), r.eid, r.poolSize]),
    decode: (body) =>
      exact(Cmd.SetEndpointId, body, 3) ??
      ok({ command: Cmd.SetEndpointId, assignment: (body[0]! >> 4) & 0x03, allocation: body[0]! & 0x03, eid: body[1]!, poolSize: body[2]! }),
  },
  [Cmd.GetEndpointId]: {
    encode: (r) => Buffer.from([r.eid, ((r.endpointType & 0x03) << 4) | (r.eidType & 0x03), r.medium]),
    decode: (body) =>
      exact(Cmd.GetEndpointId, body, 3) ??
      ok({ command: Cmd.GetEndpointId, eid: body[0]!, endpointType: (body[1]! >> 4) & 0x03, eidType: body[1]! & 0x03, medium: body[2]! }),
  },
  [Cmd.GetEndpointUuid]: {
    encode: (r) => Buffer.from(r.uuid),
    decode: (body) => exact(Cmd.GetEndpointUuid, body, UUID_LEN) ?? ok({ command: Cmd.GetEndpointUuid, uuid: Buffer.from(body) }),
  },
  [Cmd.GetVersionSupport]: {
    encode: (r) => {
      const sb = SmartBuffer.fromSize(1 + 4 * r.versions.length);
      sb.writeUInt8(r.versions.length);
      for (const v of r.versions) sb.writeUInt32BE(v >>> 0);
      return sb.toBuffer();
    },
    decode: (body) => {
      const rd = new BodyReader(body);
      const count = rd.u8();
      if (count === undefined) return lengthError('Get MCTP Version Support response needs an entry count');
      if (rd.remaining !== count * 4) {
        return lengthError(`Get MCTP Version Support: ${count} entries need ${count * 4} bytes, got ${rd.remaining}`);
      }
      const versions: number[] = [];
      for (let i = 0; i < count; i++) versions.push(rd.u32be()!);
      return ok({ command: Cmd.GetVersionSupport, versions });
    },
  },
  [Cmd.GetMessageTypeSupport]: {
    encode: (r) => Buffer.from([r.types.length, ...r.types]),
    decode: (body) => {
      const rd = new BodyReader(body);
      const count = rd.u8();
      if (count === undefined) return lengthError('Get Message Type Support response needs a type count');
      if (rd.remaining !== count) return lengthError(`Get Message Type Support: count ${count} but ${rd.remaining} type bytes`);
      return ok({ command: Cmd.GetMessageTypeSupport, types: [...rd.rest()] });
    },
  },
  [Cmd.GetVdmSupport]: {
    encode: (r) => {
      const sb = new SmartBuffer();
      sb.writeUInt8(r.nextSelector);
      sb.writeUInt8(r.vdm.format === 'pci' ? VdmFormat.Pci : VdmFormat.Iana);
      if (r.vdm.format === 'pci') sb.writeUInt16BE(r.vdm.vendorId & 0xffff);
      else sb.writeUInt32BE(r.vdm.vendorId >>> 0);
      sb.writeUInt16BE(r.vdm.commandSet & 0xffff);
      return sb.toBuffer();
    },
    decode: (body) => {
      const rd = new BodyReader(body);
      const nextSelector = rd.u8();
      const format = rd.u8();
      if (nextSelector === undefined || format === undefined) {
        return lengthError(`Get Vendor Defined Message Support response of ${body.length} bytes lacks the selector and format`);
      }
      const vlen = vidLength(format);
      if (vlen === undefined) return fieldError(`vendor ID format 0x${format.toString(16)} is neither PCI (0) nor IANA (1)`);
      if (rd.remaining !== vlen + 2) {
        return lengthError(`Get Vendor Defined Message Support: a ${format === VdmFormat.Pci ? 'PCI' : 'IANA'} entry needs ${vlen + 2} bytes after the format, got ${rd.remaining}`);
      }
      const vendorId = vlen === 2 ? rd.u16be()! : rd.u32be()!;
      const vdm: VdmType = { format: format === VdmFormat.Pci ? 'pci' : 'iana', vendorId, commandSet: rd.u16be()! };
      return ok({ command: Cmd.GetVdmSupport, nextSelector, vdm });
    },
  },
  [Cmd.ResolveEndpointId]: {
    encode: (r) => Buffer.concat([Buffer.from([r.bridgeEid]), r.physAddr]),
    decode: (body) => {
      if (body.length < 1) return lengthError('Resolve Endpoint ID response needs the bridge EID');
      if (body.length - 1 > MAX_ADDR_LEN) return lengthError(`Resolve Endpoint ID: a ${body.length - 1}-byte physical address is longer than any link-layer address`);
      return ok({ command: Cmd.ResolveEndpointId, bridgeEid: body[0]!, physAddr: Buffer.from(body.subarray(1)) });
    },
  },
  [Cmd.AllocateEndpointIds]: {
    encode: (r) => Buffer.from([r.status & 0x03, r.poolSize, r.firstEid]),
    decode: (body) =>
      exact(Cmd.AllocateEndpointIds, body, 3) ??
      ok({ command: Cmd.AllocateEndpointIds, status: body[0]! & 0x03, poolSize: body[1]!, firstEid: body[2]! }),
  },
  [Cmd.RoutingInfoUpdate]: empty(Cmd.RoutingInfoUpdate),
  [Cmd.GetRoutingTableEntries]: {
    encode: (r) => {
      const sb = new SmartBuffer();
      sb.writeUInt8(r.nextHandle);
      sb.writeUInt8(r.entries.length);
      for (const e of r.entries) {
        sb.writeUInt8(e.rangeSize);
        sb.writeUInt8(e.startEid);
        sb.writeUInt8(((e.entryType & 0x03) << 6) | (e.static ? 0x20 : 0) | (e.port & 0x1f));
        sb.writeUInt8(e.bindingId);
        sb.writeUInt8(e.mediaType);
        sb.writeUInt8(e.physAddr.length);
        sb.writeBuffer(e.physAddr);
      }
      return sb.toBuffer();
    },
    decode: (body) => {
      const rd = new BodyReader(body);
      const nextHandle = rd.u8();
      const count = rd.u8();
      if (nextHandle === undefined || count === undefined) return lengthError('Get Routing Table Entries response lacks the handle and count');
      const entries: RoutingTableEntry[] = [];
      for (let i = 0; i < count; i++) {
        const fixed = rd.bytes(ROUTING_ENTRY_FIXED_LEN);
        if (!fixed) return lengthError(`Get Routing Table Entries: entry ${i} of ${count} is truncated`);
        const physAddr = rd.bytes(fixed[5]!);
        if (!physAddr) return lengthError(`Get Routing Table Entries: entry ${i} physical address of ${fixed[5]} bytes is truncated`);
        entries.push({
          rangeSize: fixed[0]!,
          startEid: fixed[1]!,
          entryType: fixed[2]! >> 6,
          static: (fixed[2]! & 0x20) !== 0,
          port: fixed[2]! & 0x1f,
          bindingId: fixed[3]!,
          mediaType: fixed[4]!,
          physAddr,
        });
      }
      if (rd.remaining !== 0) return lengthError(`Get Routing Table Entries: ${rd.remaining} bytes after ${count} entries`);
      return ok({ command: Cmd.GetRoutingTableEntries, nextHandle, entries });
    },
  },
  [Cmd.PrepareEndpointDiscovery]: empty(Cmd.PrepareEndpointDiscovery),
  [Cmd.EndpointDiscovery]: empty(Cmd.EndpointDiscovery),
  [Cmd.DiscoveryNotify]: empty(Cmd.DiscoveryNotify),
  [Cmd.GetNetworkId]: {
    encode: (r) => Buffer.from(r.networkId),
    decode: (body) => exact(Cmd.GetNetworkId, body, UUID_LEN) ?? ok({ command: Cmd.GetNetworkId, networkId: Buffer.from(body) }),
  },
};

export function encodeResponseBody(resp: ControlResponse): Buffer {
  return (codecs[resp.command] as BodyCodec<CommandCode>).encode(resp);
}

export function decodeResponseBody(command: CommandCode, body: Buffer): ParseResult<ControlResponse> {
  return (codecs[command] as BodyCodec<CommandCode>).decode(body);
}
