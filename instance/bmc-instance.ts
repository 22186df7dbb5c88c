/**
 * One emulated BMC and the host it controls: the composition root. It builds
 * the AST2500 models, the BMC firmware (drivers, MCTP over astlpc and serial,
 * bus owner, console), the status API, and — unless told not to — the QEMU
 * host with the guest agent, and turns what happens into readiness events:
 * host powered, boot milestones from the console, channel up, endpoint
 * assigned, echo answered.
 *
 * The BMC's view of the host follows the host's power: when the host is
 * reset or QEMU exits (power-off, crash), the host's MCTP endpoints are
 * unavailable and the astlpc channel is down at once — not after some
 * timeout, and not "still available" from the boot before — until the new
 * boot brings them back. Every boot has an id (HostPower's), which the API
 * puts on every event.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { Ast2500Soc } from '../hw-models/ast2500-soc.js';
import { BmcFirmware, ASTLPC_IFNAME, SERIAL_IFNAME } from '../firmware/bmc/bmc-firmware.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { ConfigError } from '../lib/errors.js';
import { echoRequest, startEchoResponder, type EchoResponder } from '../firmware/mctp/echo.js';
import type { EndpointInfo as BusOwnerEndpoint, EndpointWaitOptions } from '../firmware/services/bus-owner/bus-owner.js';
import { createApiServer, type ApiServer } from '../firmware/services/api/server.js';
import type { ApiContext, EndpointInfo, HostBootInfo, PowerPart, PowerState } from '../firmware/services/api/context.js';
import { ReadinessEvents } from '../firmware/services/api/readiness-source.js';
import { createX86Host } from '../qemu/x86-host.js';
import type { HostBoot, HostEvent, HostPower, HostPowerState } from '../qemu/host-power.js';
import { MILESTONES } from '../images/guest-init.js';
import { projectDir } from '../lib/project-dir.js';
import { ChardevSocket } from '../transport/chardev-socket.js';
import { IPMI_SOCKET } from '../transport/runtime-files.js';
import type { HostPowerActions } from '../firmware/services/ipmi/ipmi-service.js';
import type { SerialDeviceOptions } from '../transport/serial-device.js';

export interface BmcInstanceOptions {
  runtimeDir: string;
  /**
   * What survives restarts (the SEL, FRU, boot options): absent = kept in
   * memory only, for tests. `bmcemu run` passes the instance's state directory.
   */
  stateDir?: string;
  /** Serve IPMI to the host through QEMU's ipmi-bmc-extern (default true). */
  ipmi?: boolean;
  eid?: number;
  /** The BMC's EID on the serial link (default 20, so the host answers serial requests over serial). */
  serialEid?: number;
  /** astlpc MTU, header included (default: as large as the window allows). */
  mtu?: number;
  /** Run the BMC's MCTP serial binding on this tty or pty instead of the UART (BmcFirmwareOptions.serialDevice). */
  mctpSerial?: SerialDeviceOptions;
  /** Start the QEMU host (default true). */
  host?: boolean;
  /**
   * The host power manager to use instead of building the x86 QEMU host
   * (tests hand in one over a fake QEMU). Ignored with `host: false`.
   */
  hostPower?: HostPower;
  /** Power the host on at start (default true when host). */
  powerOn?: boolean;
  /** Arguments for the guest agent (default: the serial binding on ttyS1 too). */
  guestAgentArgs?: string[];
  /** Run this in the guest (chrooted in the machine root) instead of the guest agent, e.g. an interactive shell for tests. */
  guestCommand?: string;
  api?: { host?: string; port?: number; token?: string } | false;
  clock?: Clock;
  version?: string;
  /** One line of progress for people (image build, QEMU, milestones). */
  log?: (line: string) => void;
}

/** The guest agent's status lines (docs/host-agent.md), as boot milestones. */
const AGENT_LINES: Array<[RegExp, string]> = [
  [/^bmcemu-agent: started/, 'agent-started'],
  [/^bmcemu-agent: astlpc up/, 'agent-astlpc-up'],
  [/^bmcemu-agent: echo ok/, 'agent-echo-ok'],
];

const GUEST_LINES: Array<[string, string]> = [
  [MILESTONES.initStarted, 'init-started'],
  [MILESTONES.modulesLoaded, 'modules-loaded'],
  [MILESTONES.hostRootMounted, 'host-root-mounted'],
];

function powerState(s: HostPowerState): PowerState {
  switch (s) {
    case 'running':
      return 'on';
    case 'starting':
      return 'powering-on';
    case 'stopping':
      return 'powering-off';
    case 'paused':
      return 'paused';
    case 'crashed':
      return 'crashed';
    default:
      return 'off';
  }
}

function bootView(b: HostBoot): HostBootInfo {
  return { id: b.id, reason: b.reason, startedAt: b.startedAt };
}

function endpointView(e: BusOwnerEndpoint): EndpointInfo {
  return { eid: e.eid, net: e.net, iface: e.iface, types: [...e.messageTypes], uuid: e.uuid, connectivity: e.connectivity };
}

export class BmcInstance extends EventEmitter {
  readonly soc: Ast2500Soc;
  readonly fw: BmcFirmware;
  readonly events = new ReadinessEvents();
  readonly host: HostPower | null;
  /** The socket QEMU's ipmi-bmc-extern connects to (null without IPMI). */
  readonly ipmiWire: ChardevSocket | null;
  api: ApiServer | null = null;
  readonly clock: Clock;
  #opts: BmcInstanceOptions;
  #echo: EchoResponder | null = null;
  #stateSince = Date.now();

  constructor(opts: BmcInstanceOptions) {
    super();
    this.#opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.soc = new Ast2500Soc({ runtimeDir: opts.runtimeDir });
    const ipmi = opts.ipmi ?? true;
    this.fw = new BmcFirmware({
      soc: this.soc,
      clock: this.clock,
      ipmi: ipmi && {
        ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}),
        ...(opts.host === false ? {} : { power: this.#powerActions() }),
        log: (line) => this.#log(line),
      },
      serialEid: opts.serialEid ?? 20,
      ...(opts.eid ? { eid: opts.eid } : {}),
      ...(opts.mtu ? { mtu: opts.mtu } : {}),
      ...(opts.mctpSerial ? { serialDevice: opts.mctpSerial } : {}),
    });
    this.ipmiWire = ipmi ? new ChardevSocket({ role: 'server', endpoint: { kind: 'unix', path: path.join(opts.runtimeDir, IPMI_SOCKET) } }) : null;
    this.host =
      opts.host === false
        ? null
        : opts.hostPower ?? createX86Host({
            runtimeDir: opts.runtimeDir,
            console: this.soc.consoleWire,
            guest: { command: this.guestCommand(), onExit: 'shell' },
            ipmi,
            onProgress: (line) => this.#log(line),
          });
  }

  /** What IPMI's Chassis Control and the watchdog may do to the host: the same power paths as the API's. */
  #powerActions(): HostPowerActions {
    const host = (): HostPower => {
      if (!this.host) throw new ConfigError('this instance has no host');
      return this.host;
    };
    return {
      state: () => (this.host && ['running', 'paused', 'starting'].includes(this.host.state) ? 'on' : 'off'),
      on: () => this.powerOn(),
      off: () => host().hardOff(),
      cycle: () => host().cycle(),
      reset: () => host().reset(),
    };
  }

  #log(line: string): void {
    this.#opts.log?.(line);
  }

  /** The command the guest's init runs in the chrooted machine root: Node and this checkout's build. */
  guestCommand(): string {
    if (this.#opts.guestCommand !== undefined) return this.#opts.guestCommand;
    const args = ['guest-agent', ...(this.#opts.guestAgentArgs ?? ['--serial', '/dev/ttyS1'])];
    return [process.execPath, path.join(projectDir(), 'dist', 'cli', 'bmcemu.js'), ...args].join(' ');
  }

  async start(): Promise<void> {
    await this.soc.start();
    this.fw.start();
    if (this.ipmiWire && this.fw.ipmi) {
      await this.ipmiWire.listen();
      this.fw.ipmi.serve(this.ipmiWire);
    }
    this.#echo = startEchoResponder(this.fw.stack);
    this.#wireReadiness();
    if (this.#opts.api !== false) {
      this.api = await createApiServer(this.#apiContext(), { ...(this.#opts.api ?? {}), clock: this.clock });
      await this.api.listen();
    }
    if (this.host && this.#opts.powerOn !== false) await this.powerOn();
  }

  async powerOn(): Promise<void> {
    if (!this.host) throw new ConfigError('this instance has no host (started with host: false)');
    await this.host.powerOn();
  }

  /** Seconds since this boot began (power-on or reset), for milestone timing. */
  #sinceBoot(): number {
    const began = this.host?.boot?.startedAt ?? Date.now();
    return Number(((Date.now() - began) / 1000).toFixed(2));
  }

  /**
   * The host was reset or its QEMU exited: whatever it had set up with us is
   * gone with it. Its endpoints are unavailable (the bus owner first, so the
   * channel's carrier drop cannot call them merely degraded) and the astlpc
   * channel is down until the host's next Init. Set-ups in flight are void;
   * the bus owner sets the endpoints up again when the new boot comes back.
   */
  #hostGone(): void {
    for (const ifname of [ASTLPC_IFNAME, SERIAL_IFNAME]) this.fw.busOwner.linkLost(ifname);
    this.fw.astlpc.hostReset();
  }

  #wireReadiness(): void {
    const ev = this.events;
    this.fw.onAstlpcState((s) => {
      if (s.carrier) ev.record({ kind: 'astlpc', state: 'up', version: s.version, mtu: s.mtu });
    });
    this.fw.busOwner.on('endpoint-added', (e: BusOwnerEndpoint) => {
      ev.record({ kind: 'endpoint-assigned', eid: e.eid, net: e.net, iface: e.iface, uuid: e.uuid });
      this.#log(`host endpoint on ${e.iface} assigned EID ${e.eid}${this.host?.boot ? ` (${this.#sinceBoot()} s after power-on)` : ''}`);
      this.emit('endpoint', e);
    });
    if (!this.host) return;
    const host = this.host;
    host.on('log', (line: string) => this.#log(line));
    host.on('state', ({ to }: { to: HostPowerState }) => {
      this.#stateSince = Date.now();
      if (to === 'starting') this.fw.ipmi?.hostReset('power-on');
      if (to === 'off' || to === 'crashed') this.fw.ipmi?.hostReset('power-off');
      ev.record({ kind: 'host-power', state: powerState(to) });
      if (to !== 'running') ev.hostReset(`host ${to}`);
    });
    host.on('host-event', (e: HostEvent) => {
      // The guest is gone the moment QEMU resets it or exits, whatever the links still say.
      if (e.type === 'reset' || e.type === 'exit') this.#hostGone();
      if (e.type === 'reset') ev.hostReset('reset');
      if (e.type === 'reset') this.fw.ipmi?.hostReset('reset');
    });
    host.console.on('line', ({ text: line }: { text: string }) => {
      for (const [text, name] of GUEST_LINES) {
        if (line.includes(text)) {
          ev.milestone(name, { seconds: this.#sinceBoot() });
          this.#log(`host: ${name} (${this.#sinceBoot()} s)`);
        }
      }
      for (const [re, name] of AGENT_LINES) {
        if (re.test(line)) {
          ev.milestone(name, { seconds: this.#sinceBoot(), line });
          this.#log(`host: ${line.trim()} (${this.#sinceBoot()} s)`);
        }
      }
    });
  }

  #apiContext(): ApiContext {
    const fw = this.fw;
    const busOwner = fw.busOwner;
    const endpoints = new EventEmitter();
    for (const [evName, action] of [
      ['endpoint-added', 'assigned'],
      ['endpoint-changed', 'updated'],
      ['endpoint-removed', 'removed'],
    ] as const) {
      busOwner.on(evName, (e: BusOwnerEndpoint) => endpoints.emit('endpoint', { action, endpoint: endpointView(e) }));
    }
    const ctx: ApiContext = {
      stack: fw.stack,
      astlpc: fw.astlpc,
      hardware: this.soc,
      endpoints: Object.assign(endpoints, { list: () => busOwner.endpoints().map(endpointView) }),
      console: {
        log: () => fw.console.log(),
        onData: (fn) => {
          fw.console.on('data', fn);
          return () => fw.console.off('data', fn);
        },
        write: (data) => fw.console.write(data),
      },
      events: this.events,
      runtimeDir: this.#opts.runtimeDir,
      version: this.#opts.version ?? '0.1.0',
      startedAt: Date.now(),
    };
    if (this.host) ctx.power = this.#powerPart(this.host);
    // The IPMI service is the API's IPMI part as is; the API and its router share this.clock.
    if (fw.ipmi) ctx.ipmi = fw.ipmi;
    return ctx;
  }

  #powerPart(host: HostPower): PowerPart {
    const events = new EventEmitter();
    host.on('state', ({ from, to }: { from: HostPowerState; to: HostPowerState }) =>
      events.emit('state', { state: powerState(to), previous: powerState(from) }),
    );
    host.on('boot', (b: HostBoot) => events.emit('boot', bootView(b)));
    const self = this;
    return {
      get state() {
        return powerState(host.state);
      },
      get boot() {
        return host.boot && bootView(host.boot);
      },
      get stateSince() {
        return self.#stateSince;
      },
      on: () => this.powerOn(),
      off: () => host.hardOff(),
      softOff: async () => {
        await host.softOff({ timeoutMs: 30000 });
      },
      reset: () => host.reset(),
      cycle: () => host.cycle(),
      events,
    };
  }

  /** One mctp-req style echo to an endpoint on the astlpc link. */
  async echo(eid: number, len = 64, timeoutMs = 2000): Promise<{ rttMs: number; bytes: number }> {
    return echoRequest(this.fw.stack, { eid, len, timeoutMs, clock: this.clock });
  }

  /** The first endpoint on the astlpc link, once the bus owner has assigned it (degraded or not). */
  astlpcEndpoint(options: EndpointWaitOptions = {}): Promise<BusOwnerEndpoint> {
    return this.fw.busOwner.waitForEndpoint({ iface: ASTLPC_IFNAME, connectivity: 'any' }, options);
  }

  async stop(): Promise<void> {
    if (this.host) await this.host.close();
    await this.api?.close();
    this.#echo?.close();
    await this.fw.stop();
    await this.ipmiWire?.close();
    await this.soc.close();
  }
}
