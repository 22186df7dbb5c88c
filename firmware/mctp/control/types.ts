/**
 * Control requests and responses as plain objects, one interface per
 * command, keyed by command code in CommandTypes so that a requester's
 * answer has the type that goes with its question.
 */
import type { Cmd, CommandCode } from './constants.js';

type C = typeof Cmd;

/** A vendor-defined message set (Get Vendor Defined Message Support). */
export interface VdmType {
  /** PCI vendor ID (16 bits) or IANA enterprise number (32 bits). */
  format: 'pci' | 'iana';
  vendorId: number;
  /** Vendor-defined command set type, 16 bits. */
  commandSet: number;
}

/** One entry of a Routing Information Update request. */
export interface RoutingUpdateEntry {
  /** RoutingEntryType (bits 7:6 of the first byte). */
  entryType: number;
  rangeSize: number;
  firstEid: number;
  /** Physical address on the receiver's bus; its length is the binding's address size. */
  physAddr: Buffer;
}

/** One entry of a Get Routing Table Entries response. */
export interface RoutingTableEntry {
  rangeSize: number;
  startEid: number;
  /** RoutingEntryType (bits 7:6). */
  entryType: number;
  /** Bit 5: the entry was configured statically rather than assigned dynamically. */
  static: boolean;
  /** Bits 4:0: the port (bus) the EIDs are reached through. */
  port: number;
  /** BindingId (DSP0239). */
  bindingId: number;
  /** Physical media type identifier (DSP0239); 0 = unspecified. */
  mediaType: number;
  physAddr: Buffer;
}

export interface SetEndpointIdRequest {
  command: C['SetEndpointId'];
  /** SetEidOp. */
  operation: number;
  eid: number;
}
export interface SetEndpointIdResponse {
  command: C['SetEndpointId'];
  /** SetEidAssignment (bits 5:4 of the status byte). */
  assignment: number;
  /** SetEidAllocation (bits 1:0 of the status byte). */
  allocation: number;
  eid: number;
  poolSize: number;
}

export interface GetEndpointIdRequest {
  command: C['GetEndpointId'];
}
export interface GetEndpointIdResponse {
  command: C['GetEndpointId'];
  /** 0 when the endpoint has none yet. */
  eid: number;
  /** EndpointType (bits 5:4). */
  endpointType: number;
  /** EidType (bits 1:0). */
  eidType: number;
  /** Medium-specific information. */
  medium: number;
}

export interface GetEndpointUuidRequest {
  command: C['GetEndpointUuid'];
}
export interface GetEndpointUuidResponse {
  command: C['GetEndpointUuid'];
  /** 16 bytes. */
  uuid: Buffer;
}

export interface GetVersionSupportRequest {
  command: C['GetVersionSupport'];
  /** Message type, or 0xFF for the base specification. */
  messageType: number;
}
export interface GetVersionSupportResponse {
  command: C['GetVersionSupport'];
  /** Version entries as 32-bit values, e.g. 0xF1F3F100 = 1.3.1. */
  versions: number[];
}

export interface GetMessageTypeSupportRequest {
  command: C['GetMessageTypeSupport'];
}
export interface GetMessageTypeSupportResponse {
  command: C['GetMessageTypeSupport'];
  types: number[];
}

export interface GetVdmSupportRequest {
  command: C['GetVdmSupport'];
  selector: number;
}
export interface GetVdmSupportResponse {
  command: C['GetVdmSupport'];
  /** The selector to ask for next, or VDM_SELECTOR_LAST. */
  nextSelector: number;
  vdm: VdmType;
}

export interface ResolveEndpointIdRequest {
  command: C['ResolveEndpointId'];
  eid: number;
}
export interface ResolveEndpointIdResponse {
  command: C['ResolveEndpointId'];
  /** The bridge to send through, or the target itself when it is on the same bus. */
  bridgeEid: number;
  /** Physical address of bridgeEid (the rest of the message). */
  physAddr: Buffer;
}

export interface AllocateEndpointIdsRequest {
  command: C['AllocateEndpointIds'];
  /** AllocateOp. */
  operation: number;
  poolSize: number;
  startEid: number;
}
export interface AllocateEndpointIdsResponse {
  command: C['AllocateEndpointIds'];
  /** AllocateStatus. */
  status: number;
  poolSize: number;
  firstEid: number;
}

export interface RoutingInfoUpdateRequest {
  command: C['RoutingInfoUpdate'];
  entries: RoutingUpdateEntry[];
}
export interface RoutingInfoUpdateResponse {
  command: C['RoutingInfoUpdate'];
}

export interface GetRoutingTableEntriesRequest {
  command: C['GetRoutingTableEntries'];
  /** 0 for the first entries, then the previous response's nextHandle. */
  handle: number;
}
export interface GetRoutingTableEntriesResponse {
  command: C['GetRoutingTableEntries'];
  /** ROUTING_HANDLE_LAST when these were the last entries. */
  nextHandle: number;
  entries: RoutingTableEntry[];
}

export interface PrepareEndpointDiscoveryRequest {
  command: C['PrepareEndpointDiscovery'];
}
export interface PrepareEndpointDiscoveryResponse {
  command: C['PrepareEndpointDiscovery'];
}

export interface EndpointDiscoveryRequest {
  command: C['EndpointDiscovery'];
}
export interface EndpointDiscoveryResponse {
  command: C['EndpointDiscovery'];
}

export interface DiscoveryNotifyRequest {
  command: C['DiscoveryNotify'];
}
export interface DiscoveryNotifyResponse {
  command: C['DiscoveryNotify'];
}

export interface GetNetworkIdRequest {
  command: C['GetNetworkId'];
}
export interface GetNetworkIdResponse {
  command: C['GetNetworkId'];
  /** 16 bytes (a UUID). */
  networkId: Buffer;
}

export interface CommandTypes {
  [0x01]: { request: SetEndpointIdRequest; response: SetEndpointIdResponse };
  [0x02]: { request: GetEndpointIdRequest; response: GetEndpointIdResponse };
  [0x03]: { request: GetEndpointUuidRequest; response: GetEndpointUuidResponse };
  [0x04]: { request: GetVersionSupportRequest; response: GetVersionSupportResponse };
  [0x05]: { request: GetMessageTypeSupportRequest; response: GetMessageTypeSupportResponse };
  [0x06]: { request: GetVdmSupportRequest; response: GetVdmSupportResponse };
  [0x07]: { request: ResolveEndpointIdRequest; response: ResolveEndpointIdResponse };
  [0x08]: { request: AllocateEndpointIdsRequest; response: AllocateEndpointIdsResponse };
  [0x09]: { request: RoutingInfoUpdateRequest; response: RoutingInfoUpdateResponse };
  [0x0a]: { request: GetRoutingTableEntriesRequest; response: GetRoutingTableEntriesResponse };
  [0x0b]: { request: PrepareEndpointDiscoveryRequest; response: PrepareEndpointDiscoveryResponse };
  [0x0c]: { request: EndpointDiscoveryRequest; response: EndpointDiscoveryResponse };
  [0x0d]: { request: DiscoveryNotifyRequest; response: DiscoveryNotifyResponse };
  [0x0e]: { request: GetNetworkIdRequest; response: GetNetworkIdResponse };
}

export type RequestFor<K extends CommandCode> = CommandTypes[K]['request'];
export type ResponseFor<K extends CommandCode> = CommandTypes[K]['response'];
export type ControlRequest = RequestFor<CommandCode>;
export type ControlResponse = ResponseFor<CommandCode>;
