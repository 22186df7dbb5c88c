/**
 * What Get Routing Table Entries reports, built from a stack's route table
 * and neighbours: one entry per unicast route of a network (local EIDs are
 * not routes to anywhere and are left out), newest first as the table keeps
 * them, paged so that each response fits one baseline-MTU packet.
 */
import { MCTP_BTU } from '../constants.js';
import type { MctpBinding } from '../binding.js';
import { routeNet } from '../routes.js';
import type { MctpStack } from '../stack.js';
import { BindingId, CTRL_HDR_LEN, ROUTING_HANDLE_LAST, RoutingEntryType } from './constants.js';
import type { RoutingTableEntry } from './types.js';

/** DSP0239 binding identifier for a binding kind; astlpc is a vendor (IBM) binding, not DSP0254 KCS. */
export function bindingIdOf(binding: MctpBinding): number {
  switch (binding.kind) {
    case 'serial':
      return BindingId.Serial;
    case 'smbus':
    case 'i2c':
      return BindingId.Smbus;
    default:
      return BindingId.VendorDefined;
  }
}

/** Every routing entry of `net`, newest route first. */
export function routingEntries(stack: MctpStack, net: number, isDynamic: (net: number, eid: number) => boolean): RoutingTableEntry[] {
  const out: RoutingTableEntry[] = [];
  for (const rt of stack.routes.list()) {
    if (rt.type !== 'unicast' || routeNet(rt) !== net) continue;
    const rangeSize = rt.max - rt.min + 1;
    const dynamic = isDynamic(net, rt.min);
    if (rt.dev) {
      const hw = rangeSize === 1 ? rt.dev.neighbours.get(rt.min) : undefined;
      out.push({
        rangeSize,
        startEid: rt.min,
        entryType: rangeSize === 1 ? RoutingEntryType.Endpoint : RoutingEntryType.RangeBehindBridge,
        static: !dynamic,
        port: rt.dev.index & 0x1f,
        bindingId: bindingIdOf(rt.dev.binding),
        mediaType: 0,
        physAddr: hw ? Buffer.from(hw) : Buffer.alloc(0),
      });
      continue;
    }
    // A gateway route: EIDs behind a bridge; the port and address are the bridge's, where known.
    const via = stack.lookupRoute(rt.gateway!.net, rt.gateway!.eid);
    out.push({
      rangeSize,
      startEid: rt.min,
      entryType: RoutingEntryType.RangeBehindBridge,
      static: !dynamic,
      port: via ? via.dev.index & 0x1f : 0,
      bindingId: via ? bindingIdOf(via.dev.binding) : BindingId.VendorDefined,
      mediaType: 0,
      physAddr: via?.hwDest ? Buffer.from(via.hwDest) : Buffer.alloc(0),
    });
  }
  return out;
}

/** Bytes of a response before the entries: type, Rq/D/IID, command, CC, next handle, count. */
const RESPONSE_FIXED = CTRL_HDR_LEN + 3;

export interface RoutingPage {
  entries: RoutingTableEntry[];
  nextHandle: number;
}

/**
 * The page starting at `handle` (an entry index): as many entries as fit in
 * one baseline transmission unit, at least one. Null for a handle past the
 * end (handle 0 of an empty table is an empty last page).
 */
export function routingPage(all: RoutingTableEntry[], handle: number, budget = MCTP_BTU): RoutingPage | null {
  if (handle === 0 && all.length === 0) return { entries: [], nextHandle: ROUTING_HANDLE_LAST };
  if (handle >= all.length || handle === ROUTING_HANDLE_LAST) return null;
  const entries: RoutingTableEntry[] = [];
  let size = RESPONSE_FIXED;
  let i = handle;
  for (; i < all.length; i++) {
    const len = 6 + all[i]!.physAddr.length;
    if (entries.length > 0 && size + len > budget) break;
    entries.push(all[i]!);
    size += len;
  }
  // Handles are entry indexes; 0xFF is reserved for "no more", so a table that long stops paging there.
  const nextHandle = i >= all.length || i >= ROUTING_HANDLE_LAST ? ROUTING_HANDLE_LAST : i;
  return { entries, nextHandle };
}
