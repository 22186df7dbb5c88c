/**
 * bind() entries and the kernel's lookup order for incoming requests
 * (mctp_lookup_bind): from the most to the least specific match —
 *   1. local == dest and peer == src
 *   2. local == ANY  and peer == src
 *   3. local == dest, no peer
 *   4. local == ANY,  no peer, a specific net
 *   5. local == ANY,  no peer, NET_ANY
 * Steps 1–4 need the bind's net to equal the packet's; only step 5 accepts
 * NET_ANY. Every step needs the bind type to equal the message type & 0x7f.
 * Within a step the earliest bind wins.
 */
import { MCTP_ADDR_ANY, MCTP_NET_ANY } from './constants.js';
import { MctpError } from './errors.js';
import type { KeyOwner } from './keys.js';

export interface BindEntry {
  owner: KeyOwner;
  net: number;
  local: number;
  /** Message type, IC bit masked off. */
  type: number;
  /** From connect(): only accept requests from this EID. */
  peer?: number;
}

export class BindTable {
  #binds: BindEntry[] = [];

  list(): readonly BindEntry[] {
    return this.#binds;
  }

  /** Add, refusing an exact duplicate (same type, local, net and peer) with EADDRINUSE. */
  add(b: BindEntry): void {
    const dup = this.#binds.find((o) => o.type === b.type && o.local === b.local && o.net === b.net && o.peer === b.peer);
    if (dup) {
      const peer = b.peer === undefined ? '' : ` peer ${b.peer}`;
      throw new MctpError(
        'EADDRINUSE',
        `type 0x${b.type.toString(16)} on EID ${b.local === MCTP_ADDR_ANY ? 'ANY' : b.local} net ${b.net === MCTP_NET_ANY ? 'ANY' : b.net}${peer} is already bound by another socket`,
      );
    }
    this.#binds.push(b);
  }

  removeOwner(owner: KeyOwner): void {
    this.#binds = this.#binds.filter((b) => b.owner !== owner);
  }

  lookup(net: number, dest: number, src: number, msgType: number): BindEntry | undefined {
    const type = msgType & 0x7f;
    const steps: Array<(b: BindEntry) => boolean> = [
      (b) => b.net === net && b.local === dest && b.peer === src,
      (b) => b.net === net && b.local === MCTP_ADDR_ANY && b.peer === src,
      (b) => b.net === net && b.local === dest && b.peer === undefined,
      (b) => b.net === net && b.local === MCTP_ADDR_ANY && b.peer === undefined,
      (b) => b.net === MCTP_NET_ANY && b.local === MCTP_ADDR_ANY && b.peer === undefined,
    ];
    for (const step of steps) {
      for (const b of this.#binds) {
        if (b.type !== type) continue;
        // Steps 1-4 never match a NET_ANY bind (net === net excludes it as packets have a real net).
        if (step(b)) return b;
      }
    }
    return undefined;
  }
}
