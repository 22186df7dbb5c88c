/**
 * mctp(1)'s output lines, from the API's JSON (CodeConstruct/mctp src/mctp.c,
 * see docs/reference linux-mctp.md §2.1). The control engineer's
 * firmware/mctp/format.ts may replace this once it lands.
 */

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
export interface EndpointJson {
  eid: number;
  net: number;
  iface: string;
  types: number[];
  uuid: string | null;
  connectivity: string;
}

/** A link-layer address as mctp prints it: none, 0xNN for one byte, aa:bb:.. otherwise. */
export function formatLladdr(hex: string): string {
  const bytes = hex.match(/../g) ?? [];
  if (bytes.length === 0) return 'none';
  if (bytes.length === 1) return `0x${bytes[0]}`;
  return bytes.join(':');
}

/** `dev <name> index <n> address <hex|none> net <net> mtu <mtu> <up|down>` */
export function formatLink(l: LinkJson): string {
  return `dev ${l.name} index ${l.index} address ${formatLladdr(l.hwAddr)} net ${l.net} mtu ${l.mtu} ${l.up ? 'up' : 'down'}`;
}

/** `eid <eid> net <net> dev <ifname>` */
export function formatAddress(a: AddressJson): string {
  return `eid ${a.eid} net ${a.net} dev ${a.iface}`;
}

/**
 * `eid min <a> max <b> net <n> dev <if> mtu <m>`, or for a gateway route
 * `eid min <a> max <b> net <n> gw <eid> mtu <m>` where mctp prints the
 * gateway's network.
 */
export function formatRoute(r: RouteJson): string {
  const head = `eid min ${r.min} max ${r.max}`;
  if (r.gateway) return `${head} net ${r.gateway.net} gw ${r.gateway.eid} mtu ${r.mtu}`;
  return `${head} net ${r.net} dev ${r.dev ?? '???'} mtu ${r.mtu}`;
}

/** `eid <eid> net <net> dev <if> lladdr <hex|0xNN|none>` */
export function formatNeighbour(n: NeighbourJson): string {
  return `eid ${n.eid} net ${n.net} dev ${n.iface} lladdr ${formatLladdr(n.lladdr)}`;
}

/** Not an mctp(1) format (mctpd publishes endpoints on D-Bus): the same key-value style. */
export function formatEndpoint(e: EndpointJson): string {
  const types = e.types.length ? e.types.map((t) => `0x${t.toString(16).padStart(2, '0')}`).join(',') : 'none';
  return `eid ${e.eid} net ${e.net} dev ${e.iface} types ${types} uuid ${e.uuid ?? 'none'} connectivity ${e.connectivity}`;
}
