/**
 * mctp(1)'s output lines from the API's JSON: the JSON shapes, converted to
 * the rows cli/format/mctp-lines.ts formats (one formatter for both the stack
 * and the CLI).
 */
import type { EndpointInfo } from '../../firmware/services/api/context.js';
import { addressLine, formatLladdr as lladdrOf, linkLine, neighbourLine, routeLine } from './mctp-lines.js';

export interface LinkJson {
  index: number;
  name: string;
  hwAddr: string;
  net: number;
  mtu: number;
  up: boolean;
}
export interface AddressJson {
  eid: number;
  net: number;
  iface: string;
}
export interface RouteJson {
  min: number;
  max: number;
  type: string;
  net: number;
  dev: string | null;
  gateway: { net: number; eid: number } | null;
  mtu: number;
}
export interface NeighbourJson {
  eid: number;
  net: number;
  iface: string;
  lladdr: string;
}
/** The API's endpoint record, as the CLI receives it. */
export type EndpointJson = EndpointInfo;

const bytes = (hex: string): Buffer => Buffer.from(hex, 'hex');

/** A link-layer address (hex from the API) as mctp prints it: none, 0xNN for one byte, aa:bb:.. otherwise. */
export function formatLladdr(hex: string): string {
  return lladdrOf(bytes(hex));
}

export function formatLink(l: LinkJson): string {
  return linkLine({ ...l, hwAddr: bytes(l.hwAddr) });
}

export function formatAddress(a: AddressJson): string {
  return addressLine(a);
}

export function formatRoute(r: RouteJson): string {
  return routeLine(r);
}

export function formatNeighbour(n: NeighbourJson): string {
  return neighbourLine({ ...n, lladdr: bytes(n.lladdr) });
}

/** Not an mctp(1) format (mctpd publishes endpoints on D-Bus): the same key-value style. */
export function formatEndpoint(e: EndpointJson): string {
  const types = e.types.length ? e.types.map((t) => `0x${t.toString(16).padStart(2, '0')}`).join(',') : 'none';
  return `eid ${e.eid} net ${e.net} dev ${e.iface} types ${types} uuid ${e.uuid ?? 'none'} connectivity ${e.connectivity}`;
}
