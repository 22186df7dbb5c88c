/**
 * A BMC stack with any number of links, each to a host stack of its own
 * (in-memory pair bindings), for bus-owner scenarios. Hosts run an
 * endpoint-role control responder unless told not to, and can be restarted
 * (carrier down, a fresh stack on the same cable, carrier up) or rebooted
 * behind a carrier that stays up.
 */
import { ManualClock } from '../../../../lib/clock.js';
import { ControlResponder, ECHO_VDM } from '../../../../firmware/mctp/control/responder.js';
import type { MctpInterface, PacketTap } from '../../../../firmware/mctp/interface.js';
import { createBindingPair, type MemoryBinding } from '../../../../firmware/mctp/loopback/binding.js';
import { MctpStack } from '../../../../firmware/mctp/stack.js';
import { settle } from '../../mctp/control/helpers.js';

export const BMC_HW = 0x10;

export interface HostOptions {
  /** The host's link-layer address; absent: a link without addresses (like astlpc). */
  hw?: number;
  /** An EID the host already has. */
  eid?: number;
  uuid?: string;
  /** Run a control responder (default true). */
  respond?: boolean;
  /** The network of the BMC's interface (default: the default net). */
  bmcNet?: number;
}

export interface Host {
  stack: MctpStack;
  iface: MctpInterface;
  binding: MemoryBinding;
  responder: ControlResponder | null;
  /** Control requests (command codes) that reached the host, with their destination EID. */
  requests: Array<{ cmd: number; dest: number; iid: number }>;
}

export class World {
  readonly clock = new ManualClock();
  readonly bmc = new MctpStack({ clock: this.clock });
  readonly hosts = new Map<string, Host>();
  readonly #opts = new Map<string, HostOptions>();

  /** A BMC interface `ifname` (EID 8) cabled to a new host. Carrier comes up on both ends. */
  link(ifname: string, opts: HostOptions = {}): Host {
    const [a, b] =
      opts.hw !== undefined ? createBindingPair({ hwAddr: Buffer.from([BMC_HW]) }, { hwAddr: Buffer.from([opts.hw]) }) : createBindingPair();
    const bmcIf = this.bmc.addInterface(ifname, a, opts.bmcNet ? { net: opts.bmcNet } : {});
    this.bmc.addAddress(ifname, 8);
    bmcIf.setUp(true);
    this.#opts.set(ifname, opts);
    return this.#host(ifname, b, opts);
  }

  #host(ifname: string, binding: MemoryBinding, opts: HostOptions): Host {
    const stack = new MctpStack({ clock: this.clock });
    const iface = stack.addInterface('mctp0', binding);
    if (opts.eid !== undefined) stack.addAddress('mctp0', opts.eid);
    const responder = opts.respond === false ? null : this.#responder(stack, opts);
    const requests: Host['requests'] = [];
    const tap: PacketTap = {
      packet(dir, p) {
        if (dir === 'in' && p[3]! & 0x80 && p[4] === 0x00 && p[5]! & 0x80) requests.push({ cmd: p[6]!, dest: p[1]!, iid: p[5]! & 0x1f });
      },
    };
    iface.addTap(tap);
    const host: Host = { stack, iface, binding, responder, requests };
    this.hosts.set(ifname, host);
    iface.setUp(true);
    return host;
  }

  host(ifname: string): Host {
    const h = this.hosts.get(ifname);
    if (!h) throw new Error(`no host on ${ifname}`);
    return h;
  }

  /** Power the host off: its stack goes away and the BMC's link loses carrier. */
  async hostDown(ifname: string): Promise<void> {
    const h = this.host(ifname);
    h.responder?.close();
    await h.stack.removeInterface('mctp0');
    await settle();
  }

  /**
   * Reboot the host without the link noticing (a serial line keeps its
   * carrier through a host reset): it forgets its EID and its control
   * responder starts afresh, with the same UUID.
   */
  async hostReboot(ifname: string): Promise<Host> {
    const h = this.host(ifname);
    h.responder?.close();
    h.stack.clearAddresses('mctp0');
    const { eid: _forgotten, ...kept } = this.#opts.get(ifname) ?? {};
    const responder = kept.respond === false ? null : this.#responder(h.stack, kept);
    const rebooted: Host = { ...h, responder };
    this.hosts.set(ifname, rebooted);
    await settle();
    return rebooted;
  }

  #responder(stack: MctpStack, opts: HostOptions): ControlResponder {
    return new ControlResponder(stack, {
      role: 'endpoint',
      ...(opts.uuid ? { uuid: opts.uuid } : {}),
      types: [{ type: 0x01, versions: [0xf1f0f000] }],
      vdm: [ECHO_VDM],
    });
  }

  /** Power it on again: a fresh stack (no EID unless opts.eid) on the same cable. */
  async hostUp(ifname: string, opts: HostOptions = {}): Promise<Host> {
    const old = this.host(ifname);
    // A restarted host keeps its link-layer address and (unless told) its UUID, not its EID.
    const { eid: _forgotten, ...kept } = this.#opts.get(ifname) ?? {};
    const h = this.#host(ifname, old.binding, { ...kept, ...opts });
    await settle();
    return h;
  }
}
