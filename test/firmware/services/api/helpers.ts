/**
 * Fixtures for the API tests: a real MctpStack ("bmc") joined to a second
 * stack ("host") through createBindingPair, with an echo responder on the
 * host, and small fakes for the optional parts.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock, type Clock } from '../../../../lib/clock.js';
import { IpmiService } from '../../../../firmware/services/ipmi/ipmi-service.js';
import { startEchoResponder, type EchoResponder } from '../../../../firmware/mctp/echo.js';
import { MctpStack } from '../../../../firmware/mctp/stack.js';
import type {
  ApiContext,
  ConsolePart,
  EndpointEvent,
  EndpointInfo,
  EndpointsPart,
  HostBootInfo,
  PowerPart,
  PowerState,
  PowerStateChange,
} from '../../../../firmware/services/api/context.js';
import { ReadinessEvents } from '../../../../firmware/services/api/readiness-source.js';
import { pairedStacks } from '../../mctp/helpers.js';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../../../firmware/services/api/server.js';

export class FakePower implements PowerPart {
  state: PowerState = 'off';
  stateSince?: number;
  /** The boot in progress, as HostPower keeps it: a new one at each power-on and reset, none while off. */
  boot: HostBootInfo | null = null;
  /** Wall clock for boot start times. */
  now: () => number = Date.now;
  readonly events = new EventEmitter();
  calls: string[] = [];
  /** When set, the next action rejects with it. */
  fail: Error | null = null;
  #boots = 0;

  set(state: PowerState): void {
    const previous = this.state;
    this.state = state;
    if (state === 'off' || state === 'crashed') this.boot = null;
    else if (this.boot === null) this.newBoot('power-on');
    this.events.emit('state', { state, previous } satisfies PowerStateChange);
  }

  /** A new boot begins (HostPower: power-on, or QEMU's RESET). */
  newBoot(reason: string): void {
    this.boot = { id: ++this.#boots, reason, startedAt: this.now() };
    this.events.emit('boot', { ...this.boot } satisfies HostBootInfo);
  }

  async #act(name: string, end: PowerState): Promise<void> {
    this.calls.push(name);
    if (this.fail) {
      const e = this.fail;
      this.fail = null;
      throw e;
    }
    this.set(end);
  }

  on = (): Promise<void> => this.#act('on', 'on');
  off = (): Promise<void> => this.#act('off', 'off');
  softOff = (): Promise<void> => this.#act('soft-off', 'off');
  reset = async (): Promise<void> => {
    await this.#act('reset', 'on');
    this.newBoot('reset');
  };
  cycle = (): Promise<void> => this.#act('cycle', 'on');
}

export class FakeConsole implements ConsolePart {
  #log: Buffer[] = [];
  #listeners = new Set<(b: Buffer) => void>();
  written: Buffer[] = [];

  /** The host printed something. */
  emit(text: string | Buffer): void {
    const b = Buffer.isBuffer(text) ? text : Buffer.from(text);
    this.#log.push(b);
    for (const fn of this.#listeners) fn(b);
  }
  log(): Buffer {
    return Buffer.concat(this.#log);
  }
  onData(fn: (b: Buffer) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
  write(data: Buffer): void {
    this.written.push(Buffer.from(data));
  }
  get listeners(): number {
    return this.#listeners.size;
  }
}

export class FakeEndpoints extends EventEmitter implements EndpointsPart {
  #eps = new Map<number, EndpointInfo>();
  list(): EndpointInfo[] {
    return [...this.#eps.values()];
  }
  assign(ep: EndpointInfo): void {
    this.#eps.set(ep.eid, ep);
    this.emit('endpoint', { action: 'assigned', endpoint: ep } satisfies EndpointEvent);
  }
  remove(eid: number): void {
    const ep = this.#eps.get(eid);
    if (!ep) return;
    this.#eps.delete(eid);
    this.emit('endpoint', { action: 'removed', endpoint: ep } satisfies EndpointEvent);
  }
}

export class FakeAstlpc extends EventEmitter {
  s: Record<string, unknown> = {
    kind: 'astlpc',
    mode: 'bmc',
    state: 'waiting-init',
    carrier: false,
    lastError: null,
    version: { negotiated: 0, min: 1, max: 3 },
    mtu: { current: 68, payload: 64 },
    counters: { 'init-ok': 0, 'rx-drop:crc': 2 },
  };
  stats(): Record<string, unknown> {
    return structuredClone(this.s);
  }
  up(): void {
    this.s = { ...this.s, state: 'active', carrier: true, version: { negotiated: 3, min: 1, max: 3 }, mtu: { current: 4100, payload: 4096 } };
    this.emit('state', { mode: 'bmc', state: 'active', carrier: true, version: 3, mtu: 4100, lastError: null });
  }
}

export interface Fixture {
  ctx: ApiContext;
  bmc: MctpStack;
  host: MctpStack;
  responder: EchoResponder;
  events: ReadinessEvents;
  power: FakePower;
  console: FakeConsole;
  endpoints: FakeEndpoints;
  astlpc: FakeAstlpc;
  /** A real IPMI service (no VM link) when the fixture was asked for one. */
  ipmi: IpmiService | null;
  dir: string;
  close(): Promise<void>;
}

/** Two stacks joined by a pair: bmc EID 8 on mctp0, host EID 9; both up, routes both ways. */
export function fixture(
  opts: { clock?: Clock; parts?: boolean; runtimeDir?: boolean; hwAddr?: boolean; ipmi?: boolean; wallClock?: () => number } = {},
): Fixture {
  const { bmc, host } = pairedStacks({
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.hwAddr ? { hwAddrs: [Buffer.from([0x1d]), Buffer.from([0x2e])] as [Buffer, Buffer] } : {}),
  });
  const responder = startEchoResponder(host);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmcemu-api-'));
  const events = new ReadinessEvents();
  const power = new FakePower();
  const con = new FakeConsole();
  const endpoints = new FakeEndpoints();
  const astlpc = new FakeAstlpc();
  const parts = opts.parts ?? true;
  const ipmi = opts.ipmi ? new IpmiService({ clock: opts.clock ?? systemClock, ...(opts.wallClock ? { wallClock: opts.wallClock } : {}) }) : null;
  const ctx: ApiContext = {
    stack: bmc,
    events,
    version: '0.1.0-test',
    startedAt: Date.now(),
    ...(opts.runtimeDir === false ? {} : { runtimeDir: dir }),
    ...(parts ? { power, console: con, endpoints, astlpc, hardware: { snapshot: () => ({ kcs: { str: 0x40 } }) } } : {}),
    ...(ipmi ? { ipmi } : {}),
  };
  return {
    ctx,
    bmc,
    host,
    responder,
    events,
    power,
    console: con,
    endpoints,
    astlpc,
    ipmi,
    dir,
    async close() {
      ipmi?.close();
      responder.close();
      await bmc.close();
      await host.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A server on the fixture; closed (with the stacks) at teardown. */
export async function serve(
  t: { teardown(fn: () => unknown): void },
  f: Fixture,
  opts: ApiServerOptions = {},
): Promise<ApiServer> {
  const server = await createApiServer(f.ctx, opts);
  // The system clock's timers are unref'd; inject() holds no socket, so keep the loop alive for timeouts.
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(async () => {
    clearInterval(keepAlive);
    await server.close();
    await f.close();
  });
  return server;
}

/** Let microtask-deferred deliveries (the in-memory pair) settle. */
export const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
