/**
 * The output of CodeConstruct's `mctp` tool, line for line, from a stack:
 * `mctp link`, `mctp address`, `mctp route`, `mctp neigh` print what the
 * kernel dumps over netlink, formatted as the tool's printf calls do:
 *
 *   dev <name> index <n> address <lladdr> net <net> mtu <mtu> <up|down>
 *   eid <eid> net <net> dev <ifname>
 *   eid min <a> max <b> net <net> dev <ifname> mtu <mtu>
 *   eid min <a> max <b> net <gw net> gw <gw eid> mtu <mtu>
 *   eid <eid> net <net> dev <ifname> lladdr <lladdr>
 *
 * A link-layer address is "none" when empty, "0x1d" when one byte, and
 * colon-separated hex ("00:11:22") when longer. Where the tool prints an
 * unsigned value with %d (net, mtu), values of 2^31 and more come out
 * negative, as they do from the tool.
 *
 * Routes are listed newest first and include the local routes of the
 * interfaces' own EIDs: the kernel's route dump does not filter them out and
 * the tool prints every RTM_NEWROUTE it gets ("eid min 8 max 8 net 1 dev
 * mctp0 mtu 0" on any system with EID 8). A fixed formatEndpoints listing
 * for a bus owner's endpoints follows the same style.
 */
import { MctpError } from '../../firmware/mctp/errors.js';
import type { MctpInterface } from '../../firmware/mctp/interface.js';
import { routeNet } from '../../firmware/mctp/routes.js';
import type { MctpStack } from '../../firmware/mctp/stack.js';

/** printf("%d") of a 32-bit unsigned value. */
const d = (v: number): string => String(v | 0);
/** printf("%u"). */
const u = (v: number): string => String(v >>> 0);

/** The tool's link-layer address form: none, 0xNN, or aa:bb:cc. */
export function formatLladdr(addr: Uint8Array | undefined): string {
  if (!addr || addr.length === 0) return 'none';
  const bytes = [...addr].map((b) => b.toString(16).padStart(2, '0'));
  return addr.length === 1 ? `0x${bytes[0]}` : bytes.join(':');
}

function byIndex(stack: MctpStack): MctpInterface[] {
  return stack.interfaces().sort((a, b) => a.index - b.index);
}

function only(stack: MctpStack, ifname: string | undefined): MctpInterface[] {
  if (ifname === undefined) return byIndex(stack);
  const i = stack.findInterface(ifname);
  if (!i) throw new MctpError('ENODEV', `invalid device ${ifname}`);
  return [i];
}

// ---- One line each, from plain data (the CLI formats the API's JSON with these) ----

export interface LinkRow {
  name: string;
  index: number;
  hwAddr: Uint8Array;
  net: number;
  mtu: number;
  up: boolean;
}

/** `dev <name> index <n> address <lladdr> net <net> mtu <mtu> <up|down>` */
export function linkLine(l: LinkRow): string {
  return `dev ${l.name} index ${l.index} address ${formatLladdr(l.hwAddr)} net ${d(l.net)} mtu ${d(l.mtu)} ${l.up ? 'up' : 'down'}`;
}

/** `eid <eid> net <net> dev <ifname>` */
export function addressLine(a: { eid: number; net: number; iface: string }): string {
  return `eid ${a.eid} net ${u(a.net)} dev ${a.iface}`;
}

export interface RouteRow {
  min: number;
  max: number;
  net: number;
  dev: string | null;
  gateway: { net: number; eid: number } | null;
  mtu: number;
}

/** `eid min <a> max <b> net <net> dev <if> mtu <m>`, or `... net <gw net> gw <eid> mtu <m>`. */
export function routeLine(r: RouteRow): string {
  if (r.gateway) return `eid min ${r.min} max ${r.max} net ${d(r.gateway.net)} gw ${r.gateway.eid} mtu ${d(r.mtu)}`;
  return `eid min ${r.min} max ${r.max} net ${d(r.net)} dev ${r.dev ?? '???'} mtu ${d(r.mtu)}`;
}

/** `eid <eid> net <net> dev <if> lladdr <lladdr>` */
export function neighbourLine(n: { eid: number; net: number; iface: string; lladdr: Uint8Array }): string {
  return `eid ${n.eid} net ${u(n.net)} dev ${n.iface} lladdr ${formatLladdr(n.lladdr)}`;
}

// ---- Whole listings, from a stack ----

/** `mctp link [show [ifname]]`. */
export function formatLinks(stack: MctpStack, ifname?: string): string[] {
  return only(stack, ifname).map((i) => linkLine({ name: i.name, index: i.index, hwAddr: i.hwAddr, net: i.net, mtu: i.mtu, up: i.up }));
}

/** `mctp address [show [ifname]]`: per interface in index order, addresses in the order added. */
export function formatAddresses(stack: MctpStack, ifname?: string): string[] {
  const out: string[] = [];
  for (const i of only(stack, ifname)) for (const eid of i.addrs) out.push(addressLine({ eid, net: i.net, iface: i.name }));
  return out;
}

/** `mctp route [show]`: every route, newest first, local ones included. */
export function formatRoutes(stack: MctpStack): string[] {
  return stack.routes.list().map((rt) =>
    routeLine({ min: rt.min, max: rt.max, net: routeNet(rt), dev: rt.dev?.name ?? null, gateway: rt.gateway ?? null, mtu: rt.mtu }),
  );
}

/**
 * `mctp neigh [show [dev ifname]]`. The kernel lists neighbours newest first
 * across all interfaces; our stack keeps them per interface, so this is per
 * interface in index order, newest first within each.
 */
export function formatNeighbours(stack: MctpStack, opts: { dev?: string } = {}): string[] {
  const out: string[] = [];
  for (const i of only(stack, opts.dev)) {
    for (const [eid, hw] of [...i.neighbours].reverse()) out.push(neighbourLine({ eid, net: i.net, iface: i.name, lladdr: hw }));
  }
  return out;
}

/** What formatEndpoints needs of an endpoint (a bus owner's EndpointInfo has it). */
export interface EndpointSummary {
  eid: number;
  net: number;
  iface: string;
  hwAddr: Uint8Array;
  connectivity: string;
  messageTypes: readonly number[];
  vdmTypes: ReadonlyArray<{ format: 'pci' | 'iana'; vendorId: number; commandSet: number }>;
  uuid: string | null;
}

const hex2 = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;

/**
 * Our endpoints listing (mctpd publishes these on D-Bus; the tool has no
 * such command), one line each, sorted by net then EID:
 *
 *   eid 9 net 1 dev mctp0 address 0x1d available types 0x00,0x01,0x7e vdm pci:0xccde:0x00f0 uuid 1111...
 */
export function formatEndpoints(endpoints: readonly EndpointSummary[]): string[] {
  return [...endpoints]
    .sort((a, b) => a.net - b.net || a.eid - b.eid)
    .map((e) => {
      const types = e.messageTypes.length ? e.messageTypes.map(hex2).join(',') : 'none';
      const vdm = e.vdmTypes.length
        ? e.vdmTypes
            .map((v) => `${v.format}:0x${v.vendorId.toString(16).padStart(v.format === 'pci' ? 4 : 8, '0')}:0x${v.commandSet.toString(16).padStart(4, '0')}`)
            .join(',')
        : 'none';
      return `eid ${e.eid} net ${u(e.net)} dev ${e.iface} address ${formatLladdr(e.hwAddr)} ${e.connectivity} types ${types} vdm ${vdm} uuid ${e.uuid ?? 'none'}`;
    });
}
