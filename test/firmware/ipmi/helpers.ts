/** Shared fixtures for the IPMI tests. */
import { EventEmitter } from 'node:events';
import type { ByteLink } from '../../../transport/byte-link.js';
import type { HostControl, HostPowerState } from '../../../firmware/ipmi/host-control.js';
import { PRIVILEGE, type IpmiCommand, type IpmiRequest, type Privilege } from '../../../firmware/ipmi/message.js';

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

export function req(
  netfn: number,
  cmd: number,
  data: number[] | Buffer = [],
  opts: { bus?: string; privilege?: Privilege; channel?: number; requester?: string } = {},
): IpmiRequest {
  return {
    netfn,
    lun: 0,
    cmd,
    data: Buffer.isBuffer(data) ? data : Buffer.from(data),
    bus: opts.bus ?? 'system',
    privilege: opts.privilege ?? PRIVILEGE.ADMINISTRATOR,
    channel: opts.channel ?? 0x0f,
    ...(opts.requester === undefined ? {} : { requester: opts.requester }),
  };
}

/** Run a command list's handler for one request directly (no router), checking the length bounds as the router would. */
export async function call(commands: IpmiCommand[], netfn: number, cmd: number, data: number[] | Buffer = [], opts: Parameters<typeof req>[3] = {}) {
  const c = commands.find((x) => x.netfn === netfn && x.cmd === cmd);
  if (!c) throw new Error(`no command ${netfn}/${cmd}`);
  const r = req(netfn, cmd, data, opts);
  if ((c.minLength !== undefined && r.data.length < c.minLength) || (c.maxLength !== undefined && r.data.length > c.maxLength)) {
    return { cc: 0xc7, data: Buffer.alloc(0) };
  }
  return c.handler(r);
}

/** A HostControl that records what it was asked and tracks power. */
export class FakeHost implements HostControl {
  power: HostPowerState = 'on';
  readonly calls: string[] = [];
  failWith: Error | null = null;

  powerState(): HostPowerState {
    return this.power;
  }
  #do(name: string, after?: HostPowerState): void {
    this.calls.push(name);
    if (this.failWith) throw this.failWith;
    if (after) this.power = after;
  }
  powerOn(): void {
    this.#do('powerOn', 'on');
  }
  powerOff(): void {
    this.#do('powerOff', 'off');
  }
  powerCycle(): void {
    this.#do('powerCycle', 'on');
  }
  hardReset(): void {
    this.#do('hardReset');
  }
  diagnosticInterrupt(): void {
    this.#do('diagnosticInterrupt');
  }
  softShutdown(): void {
    this.#do('softShutdown');
  }
}

/**
 * An in-memory ByteLink: the test plays QEMU. `backlog` stands for bytes the
 * transport holds unsent (a peer that does not read).
 */
export class TestLink extends EventEmitter implements ByteLink {
  connected = false;
  readonly written: Buffer[] = [];
  backlog = 0;
  disconnects = 0;

  write(data: Uint8Array): boolean {
    if (!this.connected) return false;
    this.written.push(Buffer.from(data));
    return true;
  }
  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    this.disconnects++;
    this.emit('disconnect');
  }
  /** QEMU attaches. */
  open(): void {
    this.connected = true;
    this.emit('connect');
  }
  /** QEMU sends bytes. */
  feed(bytes: Buffer): void {
    this.emit('data', bytes);
  }
  /** Everything the BMC wrote so far, as one buffer; clears it. */
  take(): Buffer {
    const all = Buffer.concat(this.written);
    this.written.length = 0;
    return all;
  }
}

/** Let promise continuations (handler → router → connection write) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
