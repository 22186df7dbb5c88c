/**
 * Request bodies (the bytes after the command code) for every command up to
 * Get Network ID. Layouts are fixed except Routing Information Update, whose
 * entries carry physical addresses as long as the receiving bus's addresses.
 * Reserved bits are written as 0 and ignored on receipt (DSP0236 §7).
 */
import { SmartBuffer } from 'smart-buffer';
import { isUnicastEid } from '../constants.js';
import { AllocateOp, Cmd, commandName, type CommandCode } from './constants.js';
import { BodyReader, fieldError, lengthError, ok, type ParseResult } from './parse.js';
import type { ControlRequest, RequestFor, RoutingUpdateEntry } from './types.js';

export interface RequestDecodeOptions {
  /**
   * Physical address size on the bus the request arrived on (the ingress
   * interface's link-layer address length): Routing Information Update
   * entries carry addresses of that size and nothing says it in the message.
   */
  physAddrLen?: number;
}

interface BodyCodec<K extends CommandCode> {
  encode(req: RequestFor<K>): Buffer;
  decode(body: Buffer, opts: RequestDecodeOptions): ParseResult<RequestFor<K>>;
}

/** A request with no data: anything after the command code is a length error. */
function empty<K extends CommandCode>(command: K): BodyCodec<K> {
  return {
    encode: () => Buffer.alloc(0),
    decode: (body) =>
      body.length === 0
        ? ok({ command } as RequestFor<K>)
        : lengthError(`${commandName(command)} takes no request data, got ${body.length} bytes`),
  };
}

/** The request is exactly `n` bytes. */
function exact(command: number, body: Buffer, n: number): ParseResult<never> | null {
  if (body.length === n) return null;
  return lengthError(`${commandName(command)} request data is ${n} byte${n === 1 ? '' : 's'}, got ${body.length}`);
}

const ENTRY_FIXED_LEN = 3;

const codecs: { [K in CommandCode]: BodyCodec<K> } = {
  [Cmd.SetEndpointId]: {
    encode: (r) => Buffer.from([r.operation & 0x03, r.eid]),
    decode: (body) => exact(Cmd.SetEndpointId, body, 2) ?? ok({ command: Cmd.SetEndpointId, operation: body[0]! & 0x03, eid: body[1]! }),
  },
  [Cmd.GetEndpointId]: empty(Cmd.GetEndpointId),
  [Cmd.GetEndpointUuid]: empty(Cmd.GetEndpointUuid),
  [Cmd.GetVersionSupport]: {
    encode: (r) => Buffer.from([r.messageType]),
    decode: (body) => exact(Cmd.GetVersionSupport, body, 1) ?? ok({ command: Cmd.GetVersionSupport, messageType: body[0]! }),
  },
  [Cmd.GetMessageTypeSupport]: empty(Cmd.GetMessageTypeSupport),
  [Cmd.GetVdmSupport]: {
    encode: (r) => Buffer.from([r.selector]),
    decode: (body) => exact(Cmd.GetVdmSupport, body, 1) ?? ok({ command: Cmd.GetVdmSupport, selector: body[0]! }),
  },
  [Cmd.ResolveEndpointId]: {
    encode: (r) => Buffer.from([r.eid]),
    decode: (body) => exact(Cmd.ResolveEndpointId, body, 1) ?? ok({ command: Cmd.ResolveEndpointId, eid: body[0]! }),
  },
  [Cmd.AllocateEndpointIds]: {
    encode: (r) => Buffer.from([r.operation & 0x03, r.poolSize, r.startEid]),
    decode: (body) => {
      const bad = exact(Cmd.AllocateEndpointIds, body, 3);
      if (bad) return bad;
      const operation = body[0]! & 0x03;
      if (operation > AllocateOp.GetInfo) return fieldError('Allocate Endpoint IDs operation 3 is reserved');
      return ok({ command: Cmd.AllocateEndpointIds, operation, poolSize: body[1]!, startEid: body[2]! });
    },
  },
  [Cmd.RoutingInfoUpdate]: {
    encode: (r) => {
      const sb = new SmartBuffer();
      sb.writeUInt8(r.entries.length);
      for (const e of r.entries) {
        sb.writeUInt8((e.entryType & 0x03) << 6);
        sb.writeUInt8(e.rangeSize);
        sb.writeUInt8(e.firstEid);
        sb.writeBuffer(e.physAddr);
      }
      return sb.toBuffer();
    },
    decode: (body, opts) => {
      const addrLen = opts.physAddrLen ?? 0;
      const rd = new BodyReader(body);
      const count = rd.u8();
      if (count === undefined) return lengthError('Routing Information Update needs an entry count');
      const want = count * (ENTRY_FIXED_LEN + addrLen);
      if (rd.remaining !== want) {
        return lengthError(
          `Routing Information Update: ${count} entries of ${ENTRY_FIXED_LEN + addrLen} bytes need ${want} bytes, got ${rd.remaining}`,
        );
      }
      const entries: RoutingUpdateEntry[] = [];
      for (let i = 0; i < count; i++) {
        const entryType = rd.u8()! >> 6;
        const rangeSize = rd.u8()!;
        const firstEid = rd.u8()!;
        const physAddr = rd.bytes(addrLen)!;
        if (rangeSize === 0) return fieldError(`Routing Information Update entry ${i}: EID range size 0`);
        const last = firstEid + rangeSize - 1;
        if (!isUnicastEid(firstEid) || !isUnicastEid(last)) {
          return fieldError(`Routing Information Update entry ${i}: EIDs ${firstEid}-${last} are not all unicast (8..254)`);
        }
        entries.push({ entryType, rangeSize, firstEid, physAddr });
      }
      return ok({ command: Cmd.RoutingInfoUpdate, entries });
    },
  },
  [Cmd.GetRoutingTableEntries]: {
    encode: (r) => Buffer.from([r.handle]),
    decode: (body) => exact(Cmd.GetRoutingTableEntries, body, 1) ?? ok({ command: Cmd.GetRoutingTableEntries, handle: body[0]! }),
  },
  [Cmd.PrepareEndpointDiscovery]: empty(Cmd.PrepareEndpointDiscovery),
  [Cmd.EndpointDiscovery]: empty(Cmd.EndpointDiscovery),
  [Cmd.DiscoveryNotify]: empty(Cmd.DiscoveryNotify),
  [Cmd.GetNetworkId]: empty(Cmd.GetNetworkId),
};

export function encodeRequestBody(req: ControlRequest): Buffer {
  return (codecs[req.command] as BodyCodec<CommandCode>).encode(req);
}

/** `command` must be a known command code (the caller checks isKnownCommand). */
export function decodeRequestBody(command: CommandCode, body: Buffer, opts: RequestDecodeOptions = {}): ParseResult<ControlRequest> {
  return (codecs[command] as BodyCodec<CommandCode>).decode(body, opts);
}
