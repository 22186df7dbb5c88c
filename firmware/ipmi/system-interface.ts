/**
 * The BMC side of the host's system interface (the KCS or BT interface QEMU
 * shows the guest): the state IPMI v2.0 keeps per system interface and the
 * SMS_ATN line derived from it. The commands that read and change this state
 * are in commands/messaging.ts; the wire (QEMU's VM protocol) is in
 * vm/connection.ts, which turns this module's signals into control commands.
 *
 * State:
 * - BMC global enables (Set/Get BMC Global Enables): bit 0 receive message
 *   queue interrupt, bit 1 event message buffer full interrupt, bit 2 event
 *   message buffer, bit 3 system event logging, bits 5–7 OEM 0–2. Reset
 *   value xxxx_100xb with bit 0 clear, i.e. 0x08, as the spec asks.
 * - Message flags (Get Message Flags), derived from what is pending: bit 0
 *   receive message available (the queue is not empty), bit 1 event message
 *   buffer full (the buffer holds an event), bit 3 watchdog pre-timeout
 *   interrupt occurred, bits 5–7 OEM 0–2.
 * - The receive message queue (bounded) and the one-event event message buffer.
 *
 * SMS_ATN — why it is modelled exactly: a host driver that sees ATN asks for
 * the flags and fetches what they announce; an ATN left set with nothing to
 * fetch makes it ask forever (the guest driver hangs in its flag loop), an
 * ATN never set leaves messages unread. So ATN is not an independent bit
 * here but a function of the flags, recomputed after every change:
 *   attention = none      when no flag is set,
 *             = attn-irq  when a set flag's interrupt is enabled
 *                         (bit 0 flag: enables bit 0; bit 1 flag: enables bit 1;
 *                          watchdog pre-timeout with a messaging interrupt:
 *                          enables bit 0; OEM flag n: enables bit 5+n),
 *             = attn      otherwise;
 * and a signal is emitted only when that value changes. Enabling or
 * disabling interrupts (global enables bit 0, the bit that also governs the
 * interface's communication interrupts) is its own signal, emitted before
 * the attention it may affect, so the IRQ is enabled by the time ATTN_IRQ
 * arrives.
 */
import { PRIVILEGE, type IpmiRequest, type IpmiResponse } from './message.js';

export const GLOBAL_ENABLES = {
  RECEIVE_MESSAGE_INTERRUPT: 0x01,
  EVENT_BUFFER_FULL_INTERRUPT: 0x02,
  EVENT_BUFFER: 0x04,
  SYSTEM_EVENT_LOGGING: 0x08,
  /** Bit 4 is reserved: Set BMC Global Enables refuses it. */
  RESERVED: 0x10,
  OEM0: 0x20,
  OEM1: 0x40,
  OEM2: 0x80,
} as const;

/** Power-up and system-reset value: SEL logging on, everything else off (xxxx_100xb, bit 0 = 0). */
export const DEFAULT_GLOBAL_ENABLES = GLOBAL_ENABLES.SYSTEM_EVENT_LOGGING;

export const MESSAGE_FLAGS = {
  RECEIVE_MESSAGE_AVAILABLE: 0x01,
  EVENT_BUFFER_FULL: 0x02,
  WATCHDOG_PRETIMEOUT: 0x08,
  OEM0: 0x20,
  OEM1: 0x40,
  OEM2: 0x80,
} as const;

/** Flag bits Clear Message Flags acts on (bits 2 and 4 are reserved). */
export const CLEARABLE_FLAGS = 0xeb;

/** The system interface's channel number. */
export const SYSTEM_INTERFACE_CHANNEL = 0x0f;

/** Event records are 16 bytes, SEL record layout. */
export const EVENT_RECORD_SIZE = 16;

export const DEFAULT_RECEIVE_QUEUE_SIZE = 32;

export type Attention = 'none' | 'attn' | 'attn-irq';

/** What the wire must tell the host side: SMS_ATN changes and interrupt enable changes. */
export type SystemInterfaceSignal = { kind: 'attention'; attention: Attention } | { kind: 'interrupts'; enabled: boolean };

export interface QueuedMessage {
  /** Channel the message came from (Get Message byte 1 bits 3:0). */
  channel: number;
  /** Privilege it carried (Get Message byte 1 bits 7:4; 0 when none applies). */
  privilege: number;
  /** Message data as Get Message returns it after the channel byte. */
  data: Buffer;
}

/** A request as the wire decoded it, before the system interface adds bus, channel and privilege. */
export interface SystemInterfaceMessage {
  netfn: number;
  lun: number;
  cmd: number;
  data: Buffer;
}

export interface SystemInterfaceOptions {
  /** Where requests go (the router's dispatch). */
  dispatch: (req: IpmiRequest) => Promise<IpmiResponse>;
  /** Bus name in requests and router logs (default "system"). */
  bus?: string;
  /** Receive message queue depth (default 32; the spec asks for at least 2). */
  receiveQueueSize?: number;
}

export interface SystemInterfaceStats {
  requests: number;
  messagesQueued: number;
  /** enqueueMessage() refused: the queue was full. */
  messagesRefused: number;
  messagesFetched: number;
  eventsPosted: number;
  /** postEvent() refused: the buffer was full. */
  eventsRefusedFull: number;
  /** postEvent() refused: global enables bit 2 (event message buffer) is off. */
  eventsRefusedDisabled: number;
  eventsFetched: number;
  signalsEmitted: number;
}

export interface SystemInterfaceState {
  globalEnables: number;
  messageFlags: number;
  attention: Attention;
  receiveQueueLength: number;
  eventBufferFull: boolean;
}

export class SystemInterface {
  readonly bus: string;
  readonly #dispatch: (req: IpmiRequest) => Promise<IpmiResponse>;
  readonly #queueSize: number;
  readonly #queue: QueuedMessage[] = [];
  #event: Buffer | null = null;
  #enables: number = DEFAULT_GLOBAL_ENABLES;
  #watchdogPretimeout = false;
  /** The pending pre-timeout was a messaging interrupt (it interrupts under enables bit 0). */
  #watchdogPretimeoutIrq = false;
  #oemFlags = 0;
  /** The attention last signalled (the wire starts with ATN clear). */
  #attention: Attention = 'none';
  readonly #listeners = new Set<(s: SystemInterfaceSignal) => void>();
  readonly #stats: SystemInterfaceStats = {
    requests: 0,
    messagesQueued: 0,
    messagesRefused: 0,
    messagesFetched: 0,
    eventsPosted: 0,
    eventsRefusedFull: 0,
    eventsRefusedDisabled: 0,
    eventsFetched: 0,
    signalsEmitted: 0,
  };

  constructor(opts: SystemInterfaceOptions) {
    this.#dispatch = opts.dispatch;
    this.bus = opts.bus ?? 'system';
    this.#queueSize = opts.receiveQueueSize ?? DEFAULT_RECEIVE_QUEUE_SIZE;
    if (!Number.isInteger(this.#queueSize) || this.#queueSize < 1) {
      throw new RangeError(`system interface: receiveQueueSize must be an integer >= 1, got ${this.#queueSize}`);
    }
  }

  // ------------------------------------------------------------ host side

  /** A request from the host: runs unauthenticated at ADMINISTRATOR on channel 0xF. */
  handleRequest(msg: SystemInterfaceMessage, requester?: string): Promise<IpmiResponse> {
    this.#stats.requests++;
    return this.#dispatch({
      netfn: msg.netfn,
      lun: msg.lun,
      cmd: msg.cmd,
      data: msg.data,
      bus: this.bus,
      privilege: PRIVILEGE.ADMINISTRATOR,
      channel: SYSTEM_INTERFACE_CHANNEL,
      ...(requester === undefined ? {} : { requester }),
    });
  }

  /** Listen for signals; returns the function that stops listening. */
  onSignal(listener: (s: SystemInterfaceSignal) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * What a newly connected wire must be told to match this state: the
   * interrupt enable first (so a following ATTN_IRQ can raise the IRQ), then
   * the attention if it is set (a fresh wire starts with ATN clear).
   */
  signals(): SystemInterfaceSignal[] {
    const out: SystemInterfaceSignal[] = [];
    if (this.#enables & GLOBAL_ENABLES.RECEIVE_MESSAGE_INTERRUPT) out.push({ kind: 'interrupts', enabled: true });
    if (this.#attention !== 'none') out.push({ kind: 'attention', attention: this.#attention });
    return out;
  }

  // ------------------------------------------------------------ state

  get globalEnables(): number {
    return this.#enables;
  }

  /**
   * Set BMC Global Enables. Reserved bit 4 must be 0 (returns false and
   * changes nothing). Bit 0 changes emit the interrupt signal, then the
   * attention is recomputed.
   */
  setGlobalEnables(value: number): boolean {
    if (!Number.isInteger(value) || value < 0 || value > 0xff || value & GLOBAL_ENABLES.RESERVED) return false;
    const before = this.#enables;
    this.#enables = value;
    const irqBefore = (before & GLOBAL_ENABLES.RECEIVE_MESSAGE_INTERRUPT) !== 0;
    const irqAfter = (value & GLOBAL_ENABLES.RECEIVE_MESSAGE_INTERRUPT) !== 0;
    if (irqBefore !== irqAfter) this.#emit({ kind: 'interrupts', enabled: irqAfter });
    this.#update();
    return true;
  }

  get messageFlags(): number {
    let f = this.#oemFlags;
    if (this.#queue.length > 0) f |= MESSAGE_FLAGS.RECEIVE_MESSAGE_AVAILABLE;
    if (this.#event) f |= MESSAGE_FLAGS.EVENT_BUFFER_FULL;
    if (this.#watchdogPretimeout) f |= MESSAGE_FLAGS.WATCHDOG_PRETIMEOUT;
    return f;
  }

  get attention(): Attention {
    return this.#attention;
  }

  /** Whether events should go to the SEL (global enables bit 3): the SEL owner asks. */
  get systemEventLogging(): boolean {
    return (this.#enables & GLOBAL_ENABLES.SYSTEM_EVENT_LOGGING) !== 0;
  }

  /**
   * Clear Message Flags: bit 0 flushes the receive queue, bit 1 empties the
   * event buffer, bit 3 clears the watchdog pre-timeout flag, bits 5–7 the
   * OEM flags. Reserved bits are ignored.
   */
  clearMessageFlags(mask: number): void {
    if (mask & MESSAGE_FLAGS.RECEIVE_MESSAGE_AVAILABLE) this.#queue.length = 0;
    if (mask & MESSAGE_FLAGS.EVENT_BUFFER_FULL) this.#event = null;
    if (mask & MESSAGE_FLAGS.WATCHDOG_PRETIMEOUT) {
      this.#watchdogPretimeout = false;
      this.#watchdogPretimeoutIrq = false;
    }
    this.#oemFlags &= ~(mask & 0xe0);
    this.#update();
  }

  /** Put a message in the receive message queue for the host; false (and counted) when the queue is full. */
  enqueueMessage(msg: QueuedMessage): boolean {
    if (this.#queue.length >= this.#queueSize) {
      this.#stats.messagesRefused++;
      return false;
    }
    this.#queue.push({ channel: msg.channel & 0x0f, privilege: msg.privilege & 0x0f, data: Buffer.from(msg.data) });
    this.#stats.messagesQueued++;
    this.#update();
    return true;
  }

  /** Get Message: the oldest queued message, or undefined when the queue is empty. */
  takeMessage(): QueuedMessage | undefined {
    const m = this.#queue.shift();
    if (m) {
      this.#stats.messagesFetched++;
      this.#update();
    }
    return m;
  }

  /**
   * Put a 16-byte event record in the event message buffer for the host.
   * Refused (false, counted) when global enables bit 2 is off or the buffer
   * already holds an event that the host has not read.
   */
  postEvent(record: Uint8Array): boolean {
    if (record.length !== EVENT_RECORD_SIZE) {
      throw new RangeError(`system interface: an event record is ${EVENT_RECORD_SIZE} bytes, got ${record.length}`);
    }
    if (!(this.#enables & GLOBAL_ENABLES.EVENT_BUFFER)) {
      this.#stats.eventsRefusedDisabled++;
      return false;
    }
    if (this.#event) {
      this.#stats.eventsRefusedFull++;
      return false;
    }
    this.#event = Buffer.from(record);
    this.#stats.eventsPosted++;
    this.#update();
    return true;
  }

  /** Read Event Message Buffer: the event, or undefined when the buffer is empty. */
  takeEvent(): Buffer | undefined {
    const e = this.#event;
    if (!e) return undefined;
    this.#event = null;
    this.#stats.eventsFetched++;
    this.#update();
    return e;
  }

  /**
   * The watchdog's pre-timeout interrupt occurred: message flag bit 3 and
   * ATN. `messagingInterrupt` when its interrupt type is "messaging
   * interrupt" (the system interface's own IRQ, under enables bit 0).
   */
  watchdogPretimeout(messagingInterrupt: boolean): void {
    this.#watchdogPretimeout = true;
    this.#watchdogPretimeoutIrq = this.#watchdogPretimeoutIrq || messagingInterrupt;
    this.#update();
  }

  /** Set or clear OEM message flag 0..2 (bits 5..7). */
  setOemFlag(n: 0 | 1 | 2, on: boolean): void {
    const bit = 0x20 << n;
    this.#oemFlags = on ? this.#oemFlags | bit : this.#oemFlags & ~bit;
    this.#update();
  }

  /**
   * The host was reset or powered up: global enables return to xxxx_100xb
   * with bit 0 clear (OEM bits kept), as the spec asks. Queue and buffer
   * are kept: what was posted for the host is still for the host.
   */
  hostReset(): void {
    this.setGlobalEnables((this.#enables & 0xe0) | DEFAULT_GLOBAL_ENABLES);
  }

  /** The BMC was reset: everything back to power-up state. */
  bmcReset(): void {
    this.#queue.length = 0;
    this.#event = null;
    this.#watchdogPretimeout = false;
    this.#watchdogPretimeoutIrq = false;
    this.#oemFlags = 0;
    this.setGlobalEnables(DEFAULT_GLOBAL_ENABLES);
  }

  state(): SystemInterfaceState {
    return {
      globalEnables: this.#enables,
      messageFlags: this.messageFlags,
      attention: this.#attention,
      receiveQueueLength: this.#queue.length,
      eventBufferFull: this.#event !== null,
    };
  }

  stats(): SystemInterfaceStats {
    return { ...this.#stats };
  }

  // ------------------------------------------------------------ ATN

  #wantedAttention(): Attention {
    const flags = this.messageFlags;
    if (flags === 0) return 'none';
    const en = this.#enables;
    const irq =
      (flags & MESSAGE_FLAGS.RECEIVE_MESSAGE_AVAILABLE && en & GLOBAL_ENABLES.RECEIVE_MESSAGE_INTERRUPT) ||
      (flags & MESSAGE_FLAGS.EVENT_BUFFER_FULL && en & GLOBAL_ENABLES.EVENT_BUFFER_FULL_INTERRUPT) ||
      (this.#watchdogPretimeoutIrq && en & GLOBAL_ENABLES.RECEIVE_MESSAGE_INTERRUPT) ||
      flags & en & 0xe0;
    return irq ? 'attn-irq' : 'attn';
  }

  #update(): void {
    const want = this.#wantedAttention();
    if (want === this.#attention) return;
    this.#attention = want;
    this.#emit({ kind: 'attention', attention: want });
  }

  #emit(s: SystemInterfaceSignal): void {
    this.#stats.signalsEmitted++;
    for (const l of [...this.#listeners]) l(s);
  }
}

/** Get Message's first byte: privilege in bits 7:4, channel in bits 3:0. */
export function messageChannelByte(m: QueuedMessage): number {
  return ((m.privilege & 0x0f) << 4) | (m.channel & 0x0f);
}
