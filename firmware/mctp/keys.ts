/**
 * Tag keys (Linux struct mctp_sk_key): they route responses back to the
 * socket that sent a request, and hold the state of a message being
 * reassembled. A key is (net, local EID, peer EID, tag incl. TO); local and
 * peer may be ANY. Tags are allocated per (net, local, peer): 8 values, the
 * lowest free, EBUSY when none; keys live 6 s unless manually allocated.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { MCTP_ADDR_ANY, MCTP_ADDR_NULL, MCTP_KEY_LIFETIME_MS, MCTP_TAG_OWNER } from './constants.js';
import { MctpError } from './errors.js';
import type { MctpInterface } from './interface.js';

/** Who a key delivers to (a socket); kept abstract so keys don't depend on sockets. */
export interface KeyOwner {
  readonly id: number;
}

export interface Reassembly {
  chunks: Buffer[];
  /** Bytes so far, type byte included, headers excluded. */
  len: number;
  lastSeq: number;
  /** Where the first fragment arrived; timeouts are counted there. */
  iface: MctpInterface | undefined;
  hwSrc: Buffer | undefined;
}

export class TagKey {
  valid = true;
  reasm: Reassembly | null = null;

  constructor(
    readonly net: number,
    readonly local: number,
    readonly peer: number,
    /** Tag value plus the TO bit, as it appears in incoming packets. */
    readonly tag: number,
    readonly owner: KeyOwner,
    readonly manual: boolean,
    /** Infinity for manual keys, which never expire. */
    readonly expiresAt: number,
  ) {}
}

function addrMatches(keyAddr: number, addr: number): boolean {
  return keyAddr === addr || keyAddr === MCTP_ADDR_ANY;
}

/** NULL and broadcast peers become ANY: responses may come from any EID. */
export function peerForKey(eid: number): number {
  return eid === MCTP_ADDR_NULL ? MCTP_ADDR_ANY : eid;
}

export interface KeyTableOptions {
  clock: Clock;
  /** Called for a key that expired holding a partial message. */
  onReassemblyTimeout(key: TagKey): void;
  /** Bound on concurrent reassemblies, so hostile input cannot grow memory. */
  maxReassemblies: number;
}

export class KeyTable {
  #keys = new Set<TagKey>();
  #opts: KeyTableOptions;
  #sweep: TimerHandle | null = null;
  #sweepAt = Infinity;
  #reassemblies = 0;

  constructor(opts: KeyTableOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Keys currently reassembling a message. */
  get reassemblies(): number {
    return this.#reassemblies;
  }

  get maxReassemblies(): number {
    return this.#opts.maxReassemblies;
  }

  all(): TagKey[] {
    this.#expire();
    return [...this.#keys];
  }

  #live(k: TagKey): boolean {
    return k.valid && k.expiresAt > this.#opts.clock.now();
  }

  /**
   * mctp_lookup_key: same net, key local matches dest (or is ANY), key peer
   * equals `peer` exactly, tag equal including TO.
   */
  lookup(net: number, local: number, peer: number, tag: number): TagKey | undefined {
    for (const k of this.#keys) {
      if (k.net === net && k.peer === peer && k.tag === tag && addrMatches(k.local, local) && this.#live(k)) return k;
    }
    return undefined;
  }

  /** mctp_alloc_local_tag's scan: the lowest tag free for (net, local, peer). */
  freeTag(net: number, local: number, peer: number): number {
    let tagbits = 0xff;
    for (const k of this.#keys) {
      if (k.net !== net || !this.#live(k)) continue;
      // Keys of received requests carry TO and never conflict with our own tags.
      if (k.tag & MCTP_TAG_OWNER) continue;
      if (peer !== MCTP_ADDR_ANY && !addrMatches(k.peer, peer)) continue;
      if (local !== MCTP_ADDR_ANY && !addrMatches(k.local, local)) continue;
      tagbits &= ~(1 << (k.tag & 7));
    }
    if (!tagbits) {
      throw new MctpError('EBUSY', `all 8 tags to EID ${peer === MCTP_ADDR_ANY ? 'ANY' : peer} on net ${net} are in use`);
    }
    for (let t = 0; t < 8; t++) if (tagbits & (1 << t)) return t;
    /* c8 ignore next */
    throw new Error('unreachable');
  }

  /** Create and insert a key; a live key with the same tuple is EEXIST. */
  add(net: number, local: number, peer: number, tag: number, owner: KeyOwner, manual: boolean): TagKey {
    for (const k of this.#keys) {
      if (k.net === net && k.local === local && k.peer === peer && k.tag === tag && this.#live(k)) {
        throw new MctpError('EEXIST', `a key for net ${net} local ${local} peer ${peer} tag ${tag} already exists`);
      }
    }
    const expiresAt = manual ? Infinity : this.#opts.clock.now() + MCTP_KEY_LIFETIME_MS;
    const key = new TagKey(net, local, peer, tag, owner, manual, expiresAt);
    this.#keys.add(key);
    this.#scheduleSweep(expiresAt);
    return key;
  }

  /** Start or drop reassembly bookkeeping, keeping the memory bound. */
  beginReassembly(key: TagKey, r: Reassembly): boolean {
    if (!key.reasm && this.#reassemblies >= this.#opts.maxReassemblies) return false;
    if (!key.reasm) this.#reassemblies++;
    key.reasm = r;
    return true;
  }

  clearReassembly(key: TagKey): void {
    if (key.reasm) this.#reassemblies--;
    key.reasm = null;
  }

  remove(key: TagKey): void {
    if (!this.#keys.delete(key)) return;
    key.valid = false;
    this.clearReassembly(key);
  }

  /**
   * __mctp_key_done_in: a message completed on this key. Ordinary keys are
   * released; manual (preallocated) keys stay, with their reassembly reset.
   */
  done(key: TagKey): void {
    if (key.manual) this.clearReassembly(key);
    else this.remove(key);
  }

  /** mctp_lookup_prealloc_tag: a manual key for (net, tag) whose peer is `dest` or ANY, whoever owns it. */
  findManual(net: number, dest: number, tag: number): TagKey | undefined {
    return this.all().find((k) => k.manual && k.net === net && k.tag === tag && (k.peer === dest || k.peer === MCTP_ADDR_ANY));
  }

  /** Remove `owner`'s manual keys for (net, peer, tag); false when it held none. */
  removeManual(owner: KeyOwner, net: number, peer: number, tag: number): boolean {
    let found = false;
    for (const k of this.all()) {
      if (k.owner === owner && k.manual && k.net === net && k.peer === peer && k.tag === tag) {
        this.remove(k);
        found = true;
      }
    }
    return found;
  }

  removeOwner(owner: KeyOwner): void {
    for (const k of this.#keys) if (k.owner === owner) this.remove(k);
  }

  #scheduleSweep(at: number): void {
    if (at === Infinity || at >= this.#sweepAt) return;
    this.#sweep?.cancel();
    this.#sweepAt = at;
    this.#sweep = this.#opts.clock.setTimeout(() => {
      this.#sweep = null;
      this.#sweepAt = Infinity;
      this.#expire();
    }, at - this.#opts.clock.now());
  }

  /** Remove expired keys (counting abandoned reassemblies) and re-arm for the next expiry. */
  #expire(): void {
    const now = this.#opts.clock.now();
    let next = Infinity;
    for (const k of this.#keys) {
      if (k.expiresAt <= now) {
        if (k.reasm) this.#opts.onReassemblyTimeout(k);
        this.remove(k);
      } else if (k.expiresAt < next) {
        next = k.expiresAt;
      }
    }
    this.#scheduleSweep(next);
  }

  /** Stop the sweep timer (stack shutdown). */
  close(): void {
    this.#sweep?.cancel();
    this.#sweep = null;
    this.#sweepAt = Infinity;
  }
}
