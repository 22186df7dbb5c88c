/**
 * Numbers of the MCTP control protocol (DMTF DSP0236 §11-12, message type
 * 0x00): the header bits, command codes, completion codes and the field
 * values each command uses. Named as the specification names them.
 */

/** Message type of control messages; the IC bit must be 0. */
export const MCTP_CTRL_TYPE = 0x00;

/** Byte 1 of a control message: Rq (request), D (datagram), Instance ID. */
export const CTRL_RQ = 0x80;
export const CTRL_D = 0x40;
export const CTRL_IID_MASK = 0x1f;

/** Type byte, Rq/D/IID byte, command code. */
export const CTRL_HDR_LEN = 3;

/** Command codes DSP0236 defines up to Get Network ID. */
export const Cmd = {
  SetEndpointId: 0x01,
  GetEndpointId: 0x02,
  GetEndpointUuid: 0x03,
  GetVersionSupport: 0x04,
  GetMessageTypeSupport: 0x05,
  GetVdmSupport: 0x06,
  ResolveEndpointId: 0x07,
  AllocateEndpointIds: 0x08,
  RoutingInfoUpdate: 0x09,
  GetRoutingTableEntries: 0x0a,
  PrepareEndpointDiscovery: 0x0b,
  EndpointDiscovery: 0x0c,
  DiscoveryNotify: 0x0d,
  GetNetworkId: 0x0e,
} as const;
export type CommandCode = (typeof Cmd)[keyof typeof Cmd];

const NAMES: Record<number, string> = {
  [Cmd.SetEndpointId]: 'Set Endpoint ID',
  [Cmd.GetEndpointId]: 'Get Endpoint ID',
  [Cmd.GetEndpointUuid]: 'Get Endpoint UUID',
  [Cmd.GetVersionSupport]: 'Get MCTP Version Support',
  [Cmd.GetMessageTypeSupport]: 'Get Message Type Support',
  [Cmd.GetVdmSupport]: 'Get Vendor Defined Message Support',
  [Cmd.ResolveEndpointId]: 'Resolve Endpoint ID',
  [Cmd.AllocateEndpointIds]: 'Allocate Endpoint IDs',
  [Cmd.RoutingInfoUpdate]: 'Routing Information Update',
  [Cmd.GetRoutingTableEntries]: 'Get Routing Table Entries',
  [Cmd.PrepareEndpointDiscovery]: 'Prepare for Endpoint Discovery',
  [Cmd.EndpointDiscovery]: 'Endpoint Discovery',
  [Cmd.DiscoveryNotify]: 'Discovery Notify',
  [Cmd.GetNetworkId]: 'Get Network ID',
};

export function isKnownCommand(code: number): code is CommandCode {
  return NAMES[code] !== undefined;
}

/** "Get Endpoint ID", or "command 0x42" for codes this codec does not know. */
export function commandName(code: number): string {
  return NAMES[code] ?? `command 0x${code.toString(16).padStart(2, '0')}`;
}

/** Completion codes (generic ones, plus the command-specific one we use). */
export const CC = {
  Success: 0x00,
  Error: 0x01,
  InvalidData: 0x02,
  InvalidLength: 0x03,
  NotReady: 0x04,
  UnsupportedCmd: 0x05,
  /** Get MCTP Version Support: message type number not supported. */
  VersionTypeUnsupported: 0x80,
} as const;

/** Set Endpoint ID request, operation (bits 1:0). */
export const SetEidOp = { Set: 0, Force: 1, Reset: 2, SetDiscovered: 3 } as const;
/** Set Endpoint ID response, EID assignment status (bits 5:4). */
export const SetEidAssignment = { Accepted: 0, Rejected: 1 } as const;
/** Set Endpoint ID response, endpoint ID allocation status (bits 1:0). */
export const SetEidAllocation = { NoPool: 0, PoolRequired: 1, PoolReceived: 2 } as const;

/** Get Endpoint ID response, endpoint type (bits 5:4). */
export const EndpointType = { Simple: 0, BusOwnerBridge: 1 } as const;
/** Get Endpoint ID response, endpoint ID type (bits 1:0). */
export const EidType = { Dynamic: 0, StaticSupported: 1, StaticMatching: 2, StaticNotMatching: 3 } as const;

/** Allocate Endpoint IDs request, operation (bits 1:0); 3 is reserved. */
export const AllocateOp = { Allocate: 0, Force: 1, GetInfo: 2 } as const;
/** Allocate Endpoint IDs response, allocation status (bits 1:0). */
export const AllocateStatus = { Accepted: 0, Rejected: 1 } as const;

/** Get Vendor Defined Message Support: vendor ID formats and the "no more sets" selector. */
export const VdmFormat = { Pci: 0x00, Iana: 0x01 } as const;
export const VDM_SELECTOR_LAST = 0xff;

/** Routing table entry type (bits 7:6 of the entry type/port byte). */
export const RoutingEntryType = {
  /** One endpoint that is not a bridge. */
  Endpoint: 0,
  /** A bridge and the EIDs behind it; the range starts with the bridge's own EID. */
  BridgeAndRange: 1,
  /** One endpoint that is a bridge. */
  Bridge: 2,
  /** EIDs behind a bridge, the bridge's own EID not included. */
  RangeBehindBridge: 3,
} as const;
/** Get Routing Table Entries: the "no more entries" handle. */
export const ROUTING_HANDLE_LAST = 0xff;

/** Physical transport binding identifiers (DSP0239). */
export const BindingId = {
  Smbus: 0x01,
  PcieVdm: 0x02,
  Usb: 0x03,
  Kcs: 0x04,
  Serial: 0x05,
  I3c: 0x06,
  VendorDefined: 0xff,
} as const;

/**
 * Versions of the control protocol we report, as mctpd does: 1.0, 1.1, 1.2
 * and 1.3.1, each {major, minor, update, alpha} in BCD with 0xF nibbles.
 */
export const CONTROL_VERSIONS: readonly number[] = [0xf1f0ff00, 0xf1f1ff00, 0xf1f2ff00, 0xf1f3f100];

/** Version query for "the base specification"; answered like the control type. */
export const VERSION_TYPE_BASE = 0xff;
