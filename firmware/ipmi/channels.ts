/**
 * The BMC's IPMI channels (IPMI v2.0 §6.3): which channel numbers exist,
 * what they are, and how a message is delivered to one (Send Message).
 * Today the only channel is the system interface (0xF); a LAN or IPMB bus
 * adds its own entry. Channel 0xE means "the channel this request came on".
 */
import { CC } from './completion-codes.js';

/** Channel medium types (IPMI v2.0 table 6-3). */
export const CHANNEL_MEDIUM = {
  IPMB: 0x01,
  LAN_802_3: 0x04,
  ASYNC_SERIAL: 0x05,
  SYSTEM_INTERFACE: 0x0c,
} as const;

/** Channel protocol types (IPMI v2.0 table 6-2). */
export const CHANNEL_PROTOCOL = {
  IPMB: 0x01,
  KCS: 0x05,
  SMIC: 0x06,
  BT_10: 0x07,
  BT_15: 0x08,
  TMODE: 0x09,
} as const;

/** Session support (Get Channel Info byte 4 bits 7:6). */
export const SESSION_SUPPORT = {
  SESSIONLESS: 0,
  SINGLE: 1,
  MULTI: 2,
  SESSION_BASED: 3,
} as const;

/** Channel number that means "the channel the request arrived on". */
export const CURRENT_CHANNEL = 0x0e;

/** Interrupt "none/unspecified" in Get Channel Info's system-interface auxiliary bytes. */
export const NO_INTERRUPT = 0xff;

export interface ChannelDelivery {
  /** Channel the message came from. */
  fromChannel: number;
  /** Privilege it carried. */
  privilege: number;
  /** The message data of Send Message (after its channel byte). */
  data: Buffer;
  /** Send Message byte 1 bits 7:6 (0 no tracking, 1 track request, 2 send raw). */
  tracking: number;
}

export interface Channel {
  number: number;
  medium: number;
  protocol: number;
  sessionSupport: number;
  /** Sessions active now (Get Channel Info byte 4 bits 5:0). */
  activeSessions?: () => number;
  /** Get Channel Info bytes 8–9 (system interface: SMS and event buffer interrupt types). */
  auxiliary?: [number, number];
  /** Send Message to this channel: returns the completion code. Absent = the channel takes no messages (0xCC). */
  deliver?: (m: ChannelDelivery) => number;
  /**
   * Get Channel Authentication Capabilities response data (8 bytes) for a
   * channel that runs sessions. Absent = the command is refused (0xCC).
   */
  authCapabilities?: (q: { extended: boolean; privilege: number }) => Buffer;
}

export class ChannelTable {
  readonly #channels = new Map<number, Channel>();

  constructor(channels: Channel[] = []) {
    for (const c of channels) this.add(c);
  }

  add(c: Channel): void {
    if (!Number.isInteger(c.number) || c.number < 0 || c.number > 0x0f || c.number === CURRENT_CHANNEL) {
      throw new RangeError(`IPMI channel number must be 0..0xF except 0xE, got ${c.number}`);
    }
    if (this.#channels.has(c.number)) throw new RangeError(`IPMI channel ${c.number} is already defined`);
    this.#channels.set(c.number, c);
  }

  /** The channel `number` names (0xE resolved to `current`), or undefined when absent. */
  resolve(number: number, current: number | undefined): Channel | undefined {
    const n = number === CURRENT_CHANNEL ? current : number;
    return n === undefined ? undefined : this.#channels.get(n);
  }

  list(): Channel[] {
    return [...this.#channels.values()].sort((a, b) => a.number - b.number);
  }
}

export interface SystemInterfaceChannelOptions {
  /** The interface QEMU shows the guest (default KCS). */
  protocol?: 'kcs' | 'bt';
  /** Where Send Message to channel 0xF puts the message (the receive message queue); false when full. */
  enqueue: (m: { channel: number; privilege: number; data: Buffer }) => boolean;
}

/** The system interface channel (0xF): session-less, messages go to the receive message queue. */
export function systemInterfaceChannel(opts: SystemInterfaceChannelOptions): Channel {
  return {
    number: 0x0f,
    medium: CHANNEL_MEDIUM.SYSTEM_INTERFACE,
    protocol: opts.protocol === 'bt' ? CHANNEL_PROTOCOL.BT_15 : CHANNEL_PROTOCOL.KCS,
    sessionSupport: SESSION_SUPPORT.SESSIONLESS,
    // QEMU assigns the IRQ from its own -device options; the BMC cannot know it.
    auxiliary: [NO_INTERRUPT, NO_INTERRUPT],
    deliver: (m) =>
      opts.enqueue({ channel: m.fromChannel, privilege: m.privilege, data: m.data }) ? CC.OK : CC.OUT_OF_SPACE,
  };
}
