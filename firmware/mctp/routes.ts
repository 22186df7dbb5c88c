/**
 * The route table, as Linux net/mctp/route.c keeps it: entries cover an EID
 * range on one network and lead either directly out of an interface or via a
 * gateway EID (possibly on another network). The newest entry wins among
 * overlapping ones; lookups follow gateways up to 32 deep, take the smallest
 * MTU on the path, and resolve the next hop's link-layer address from the
 * egress interface's neighbour table.
 */
import { MCTP_ROUTE_MAX_DEPTH, isUnicastEid } from './constants.js';
import { MctpError } from './errors.js';
import type { MctpInterface } from './interface.js';

export interface RouteEntry {
  min: number;
  max: number;
  /** 'local' routes are created for an interface's own EIDs; their output is local input. */
  type: 'unicast' | 'local';
  /** 0 = no route MTU (use the device's). Header included. */
  mtu: number;
  /** Direct routes: the egress interface (its network is the route's network). */
  dev?: MctpInterface;
  /** Gateway routes: the network and EID to route through instead. */
  gateway?: { net: number; eid: number };
  /** Gateway routes carry their own network; direct ones follow their device's. */
  gwRouteNet?: number;
}

export function routeNet(rt: RouteEntry): number {
  return rt.dev ? rt.dev.net : rt.gwRouteNet!;
}

/** The result of a lookup: where a packet to an EID leaves, and with what. */
export interface Dst {
  dev: MctpInterface;
  /** Path MTU, header included. */
  mtu: number;
  /** Source EID: the egress device's first address, or 0 if it has none. */
  saddr: number;
  /** The EID whose link-layer address the packet is sent to (the gateway for gatewayed routes). */
  nexthop: number;
  /** The next hop's link-layer address, when known. */
  hwDest?: Buffer;
  /** Delivery to one of our own EIDs. */
  local: boolean;
}

export class RouteTable {
  #routes: RouteEntry[] = [];

  list(): readonly RouteEntry[] {
    return this.#routes;
  }

  /** Add a route; newest first, exact duplicates (same net, min and max) refused. */
  add(rt: RouteEntry): void {
    this.check(rt);
    this.#routes.unshift(rt);
  }

  /**
   * Throw what add(rt) would throw (EINVAL, EEXIST), changing nothing.
   * `except` names entries the caller is about to remove, which therefore
   * cannot clash (an interface's own local routes when it changes address).
   */
  check(rt: RouteEntry, except: (existing: RouteEntry) => boolean = () => false): void {
    if (!isUnicastEid(rt.min) || !isUnicastEid(rt.max) || rt.max < rt.min) {
      throw new MctpError('EINVAL', `route range ${rt.min}-${rt.max} must be unicast EIDs (8..254), low to high`);
    }
    if (!Number.isInteger(rt.mtu) || rt.mtu < 0 || rt.mtu > 0xffffffff) {
      throw new MctpError('EINVAL', `route MTU ${rt.mtu} is not a valid 32-bit value`);
    }
    if (!!rt.dev === !!rt.gateway) throw new MctpError('EINVAL', 'a route needs exactly one of an interface or a gateway');
    if (rt.gateway && !isUnicastEid(rt.gateway.eid)) {
      throw new MctpError('EINVAL', `gateway EID ${rt.gateway.eid} is not unicast (8..254)`);
    }
    const net = routeNet(rt);
    // One EID may be local on several interfaces (a BMC is EID 8 on every
    // link), so local routes only clash on the same interface.
    const clash = (r: RouteEntry): boolean =>
      !except(r) &&
      routeNet(r) === net &&
      r.min === rt.min &&
      r.max === rt.max &&
      (rt.type !== 'local' || r.type !== 'local' || r.dev === rt.dev);
    if (this.#routes.some(clash)) {
      throw new MctpError('EEXIST', `a route for ${rt.min}-${rt.max} on net ${net} already exists`);
    }
  }

  /** Remove the route matching net/min/max (and type unicast, as RTM_DELROUTE). */
  remove(net: number, min: number, max: number, type: RouteEntry['type'] = 'unicast', dev?: MctpInterface): RouteEntry {
    const i = this.#routes.findIndex(
      (r) => r.type === type && routeNet(r) === net && r.min === min && r.max === max && (dev === undefined || r.dev === dev),
    );
    if (i < 0) throw new MctpError('ENOENT', `no route for ${min}-${max} on net ${net}`);
    return this.#routes.splice(i, 1)[0]!;
  }

  /** Drop every route through an interface (the interface is going away). */
  removeForDevice(dev: MctpInterface): void {
    this.#routes = this.#routes.filter((r) => r.dev !== dev);
  }

  #match(net: number, eid: number): RouteEntry | undefined {
    for (const r of this.#routes) {
      if (routeNet(r) === net && r.min <= eid && eid <= r.max) return r;
    }
    return undefined;
  }

  /** mctp_route_lookup: null when unreachable (no route, a gateway loop, or a gatewayed path without a source EID). */
  lookup(net: number, eid: number): Dst | null {
    let mtu = 0;
    let targetNet = net;
    let target = eid;
    for (let depth = 0; depth < MCTP_ROUTE_MAX_DEPTH; depth++) {
      const rt = this.#match(targetNet, target);
      if (!rt) return null;
      if (rt.mtu) mtu = mtu ? Math.min(mtu, rt.mtu) : rt.mtu;
      if (rt.gateway) {
        targetNet = rt.gateway.net;
        target = rt.gateway.eid;
        continue;
      }
      const dev = rt.dev!;
      mtu = mtu ? Math.min(mtu, dev.mtu) : dev.mtu;
      const saddr = dev.addrs[0];
      // Newest Linux: a direct route may send from EID 0; a gatewayed one may not.
      if (saddr === undefined && depth > 0) return null;
      const dst: Dst = { dev, mtu, saddr: saddr ?? 0, nexthop: target, local: rt.type === 'local' };
      const hw = dev.neighbours.get(target);
      if (hw) dst.hwDest = hw;
      return dst;
    }
    return null;
  }
}
