/**
 * The MCTP topology view model: the BMC, its links (with their counters and
 * the reasons anything was dropped), and the endpoints reached over each link.
 * Built from GET /mctp/links and GET /mctp/endpoints as received (`unknown`);
 * malformed entries are skipped or shown as unknown, never thrown on.
 *
 * DOM-free: also compiled and unit-tested under Node.
 */
import { arr, bool, isRecord, num, rec, str, uint } from './coerce.js';
import { messageTypeName, nonZeroDrops, type DropReason } from './format.js';

export interface EndpointNode {
  readonly eid: number;
  readonly net: number | null;
  readonly iface: string | null;
  readonly types: readonly number[];
  /** `types` by name, same order ("control", "vendor-defined PCI", "0x42"). */
  readonly typeNames: readonly string[];
  readonly uuid: string | null;
  readonly connectivity: string | null;
}

export interface LinkCountersView {
  readonly rxPackets: number | null;
  readonly rxBytes: number | null;
  readonly txPackets: number | null;
  readonly txBytes: number | null;
}

export interface LinkDropsView {
  /** rxDropped + txDropped (or the sums of the per-reason maps when those totals are missing). */
  readonly total: number | null;
  readonly rx: readonly DropReason[];
  readonly tx: readonly DropReason[];
}

export interface LinkNode {
  readonly name: string;
  readonly kind: string | null;
  readonly mtu: number | null;
  readonly up: boolean | null;
  readonly carrier: boolean | null;
  /** The BMC's own EIDs on this link. */
  readonly bmcEids: readonly number[];
  readonly counters: LinkCountersView;
  readonly drops: LinkDropsView;
  /** Endpoints the bus owner reached over this link, by EID. */
  readonly endpoints: readonly EndpointNode[];
}

export interface BmcEid {
  readonly iface: string;
  readonly eid: number;
}

export interface TopologyView {
  readonly bmcEids: readonly BmcEid[];
  readonly links: readonly LinkNode[];
  /** Endpoints whose link isn't in the link list (a link removed between the two polls). */
  readonly unattached: readonly EndpointNode[];
}

/** One endpoint record (also the shape of endpoint-* events), or null if it has no usable EID. */
export function endpointNode(v: unknown): EndpointNode | null {
  if (!isRecord(v)) return null;
  const eid = uint(v.eid);
  if (eid === null) return null;
  const types: number[] = [];
  for (const t of arr(v.types)) {
    const n = uint(t);
    if (n !== null && !types.includes(n)) types.push(n);
  }
  return {
    eid,
    net: uint(v.net),
    iface: str(v.iface),
    types,
    typeNames: types.map(messageTypeName),
    uuid: str(v.uuid),
    connectivity: str(v.connectivity),
  };
}

const sum = (xs: readonly DropReason[]): number => xs.reduce((a, d) => a + d.count, 0);

function linkDrops(c: Readonly<Record<string, unknown>>): LinkDropsView {
  const rx = nonZeroDrops(c.rxDrops);
  const tx = nonZeroDrops(c.txDrops);
  const rxTotal = num(c.rxDropped) ?? (isRecord(c.rxDrops) ? sum(rx) : null);
  const txTotal = num(c.txDropped) ?? (isRecord(c.txDrops) ? sum(tx) : null);
  const total = rxTotal === null && txTotal === null ? null : (rxTotal ?? 0) + (txTotal ?? 0);
  return { total, rx, tx };
}

function linkNode(v: Readonly<Record<string, unknown>>, name: string): Omit<LinkNode, 'endpoints'> {
  const c = rec(v.counters);
  const bmcEids: number[] = [];
  for (const a of arr(v.addrs)) {
    const eid = uint(a);
    if (eid !== null && !bmcEids.includes(eid)) bmcEids.push(eid);
  }
  return {
    name,
    kind: str(v.kind),
    mtu: num(v.mtu),
    up: bool(v.up),
    carrier: bool(v.carrier),
    bmcEids,
    counters: { rxPackets: num(c.rxPackets), rxBytes: num(c.rxBytes), txPackets: num(c.txPackets), txBytes: num(c.txBytes) },
    drops: linkDrops(c),
  };
}

/** (links, endpoints) as the API sent them → the topology to draw. */
export function topology(links: unknown, endpoints: unknown): TopologyView {
  const eps: EndpointNode[] = [];
  const seen = new Set<string>();
  for (const raw of arr(endpoints)) {
    const ep = endpointNode(raw);
    if (!ep) continue;
    const key = `${ep.net ?? '?'}:${ep.eid}`;
    if (seen.has(key)) continue;
    seen.add(key);
    eps.push(ep);
  }
  eps.sort((a, b) => a.eid - b.eid || (a.net ?? -1) - (b.net ?? -1));

  const nodes: LinkNode[] = [];
  const names = new Set<string>();
  for (const raw of arr(links)) {
    if (!isRecord(raw)) continue;
    const name = str(raw.name);
    // The link name is its identity (data-link): nameless or repeated entries can't be told apart.
    if (name === null || name === '' || names.has(name)) continue;
    names.add(name);
    nodes.push({ ...linkNode(raw, name), endpoints: eps.filter((e) => e.iface === name) });
  }
  return {
    bmcEids: nodes.flatMap((l) => l.bmcEids.map((eid) => ({ iface: l.name, eid }))),
    links: nodes,
    unattached: eps.filter((e) => e.iface === null || !names.has(e.iface)),
  };
}
