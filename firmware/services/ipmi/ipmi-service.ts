/**
 * The BMC's IPMI service (ipmid's role): one router fed by the host's system
 * interface — QEMU's ipmi-bmc-extern over the OpenIPMI "VM" protocol — with
 * the BMC's commands registered on it: App (device identity, watchdog,
 * messaging, channels), Chassis (power through the host's power actions,
 * boot options), Storage (SEL, SDR, FRU) and Sensor/Event. SEL, FRU and boot
 * options persist in the instance's state directory. docs/ipmi.md describes
 * the protocol and the commands; this module only composes them.
 */
import path from 'node:path';
import fs from 'node:fs';
import type { Clock } from '../../../lib/clock.js';
import { readStateFile, writeStateFile } from '../../../lib/state-file.js';
import type { ByteLink } from '../../../transport/byte-link.js';
import { BootOptions, type BootOptionsPersistence } from '../../ipmi/boot-options.js';
import { ChannelTable, systemInterfaceChannel } from '../../ipmi/channels.js';
import { AcpiPowerState, appCommands, DEVICE_SUPPORT, uuidToIpmiGuid, type DeviceIdentity } from '../../ipmi/commands/app.js';
import { bootOptionsCommands } from '../../ipmi/commands/boot-options.js';
import { channelCommands } from '../../ipmi/commands/channels.js';
import { chassisCommands } from '../../ipmi/commands/chassis.js';
import { messagingCommands } from '../../ipmi/commands/messaging.js';
import { createStorageAndSensors, type StorageAndSensors } from '../../ipmi/commands/storage-and-sensors.js';
import { watchdogCommands } from '../../ipmi/commands/watchdog.js';
import type { HostControl, HostPowerState } from '../../ipmi/host-control.js';
import type { IpmiRequest, IpmiResponse } from '../../ipmi/message.js';
import { IpmiRouter } from '../../ipmi/router.js';
import { DEFAULT_SENSOR_NUMBER } from '../../ipmi/sensors/default-sensors.js';
import type { WatchdogAction, WatchdogInterrupt } from '../../ipmi/sensors/watchdog-sensor.js';
import { SystemInterface } from '../../ipmi/system-interface.js';
import { VM_MAX_RESPONSE_DATA } from '../../ipmi/vm/codec.js';
import { VmConnection, type VmHostOp } from '../../ipmi/vm/connection.js';
import { Watchdog, type WatchdogEvent } from '../../ipmi/watchdog.js';

/** The host's power, as the composition can change it (QEMU through QMP, or nothing). */
export interface HostPowerActions {
  state(): HostPowerState;
  on(): Promise<void>;
  off(): Promise<void>;
  cycle(): Promise<void>;
  reset(): Promise<void>;
}

export interface IpmiServiceOptions {
  clock: Clock;
  /** Where SEL, FRU and boot options persist; without it they live in memory only. */
  stateDir?: string;
  /** The host's power; without it, power requests go to QEMU over the VM link (POWEROFF, RESET). */
  power?: HostPowerActions;
  /** The system interface QEMU emulates for the guest (KCS on x86, BT on powernv). */
  protocol?: 'kcs' | 'bt';
  identity?: Partial<DeviceIdentity>;
  /** Get Device GUID / Get System GUID, as UUID strings. */
  deviceGuid?: string;
  systemGuid?: string;
  /** Wall clock for SEL time (default Date.now). */
  wallClock?: () => number;
  log?: (line: string) => void;
}

/** Global enables bit 3: the host lets the BMC log system events. */
const ENABLE_SYSTEM_EVENT_LOGGING = 0x08;

const WATCHDOG_ACTIONS: readonly WatchdogAction[] = ['none', 'hard-reset', 'power-down', 'power-cycle'];
const WATCHDOG_INTERRUPTS: readonly WatchdogInterrupt[] = ['none', 'smi', 'nmi', 'messaging'];

/** The identity a stock bmcemu reports; ipmitool needs the device-support bits to walk SDR, SEL and FRU. */
export const BMCEMU_IDENTITY: Partial<DeviceIdentity> = {
  firmwareMajor: 0,
  firmwareMinor: 1,
  additionalDeviceSupport:
    DEVICE_SUPPORT.CHASSIS | DEVICE_SUPPORT.FRU_INVENTORY | DEVICE_SUPPORT.SEL | DEVICE_SUPPORT.SDR_REPOSITORY | DEVICE_SUPPORT.SENSOR,
  // OpenBMC's IANA enterprise number, as OpenBMC's own ipmid reports by default.
  manufacturerId: 49871,
  productId: 0x2500,
};

export class IpmiService {
  readonly router: IpmiRouter;
  readonly systemInterface: SystemInterface;
  readonly watchdog: Watchdog;
  readonly bootOptions: BootOptions;
  readonly storage: StorageAndSensors;
  readonly channels: ChannelTable;
  readonly #opts: IpmiServiceOptions;
  readonly #log: (line: string) => void;
  readonly #connections = new Set<VmConnection>();
  /** The connection QEMU attached last: where NMI and graceful shutdown go. */
  #current: VmConnection | null = null;

  constructor(opts: IpmiServiceOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? (() => {});
    const clock = opts.clock;
    if (opts.stateDir !== undefined) fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    this.router = new IpmiRouter({ clock, log: this.#log });
    // One request at a time: QEMU's KCS/BT keep one outstanding, and its limit is 298 bytes.
    this.router.configureBus('system', { maxInFlight: 1, maxResponseData: VM_MAX_RESPONSE_DATA });
    this.systemInterface = new SystemInterface({ dispatch: (r: IpmiRequest): Promise<IpmiResponse> => this.router.dispatch(r) });
    const host = this.#hostControl();
    this.channels = new ChannelTable([
      systemInterfaceChannel({ protocol: opts.protocol ?? 'kcs', enqueue: (m) => this.systemInterface.enqueueMessage(m) }),
    ]);
    this.storage = createStorageAndSensors({
      clock,
      ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}),
      ...(opts.wallClock ? { wallClock: opts.wallClock } : {}),
    });
    this.#reportLoad();
    this.watchdog = new Watchdog({
      clock,
      host,
      systemInterface: this.systemInterface,
      sensorNumber: DEFAULT_SENSOR_NUMBER.WATCHDOG,
      onEvent: (e) => this.#watchdogEvent(e),
      log: this.#log,
    });
    this.bootOptions = new BootOptions({
      clock,
      log: this.#log,
      ...(opts.stateDir !== undefined ? { persistence: jsonState(path.join(opts.stateDir, 'boot-options.json'), this.#log) } : {}),
    });
    this.router.register([
      ...appCommands({
        identity: { ...BMCEMU_IDENTITY, ...opts.identity },
        ...(opts.deviceGuid ? { deviceGuid: uuidToIpmiGuid(opts.deviceGuid) } : {}),
        ...(opts.systemGuid ? { systemGuid: uuidToIpmiGuid(opts.systemGuid) } : {}),
        onReset: (kind) => this.#bmcReset(kind),
      }, new AcpiPowerState()),
      ...watchdogCommands(this.watchdog),
      ...messagingCommands(this.systemInterface, this.channels),
      ...channelCommands(this.channels),
      ...chassisCommands({ host, clock, onChassisControl: () => this.bootOptions.chassisControlReceived(), log: this.#log }),
      ...bootOptionsCommands(this.bootOptions),
      ...this.storage.commands,
    ]);
    this.storage.sensors.startScanning(clock);
  }

  /** Serve QEMU's ipmi-bmc-extern on a link (the chardev socket QEMU connects to). */
  serve(link: ByteLink): VmConnection {
    const conn = new VmConnection(link, this.systemInterface, { name: 'qemu', log: this.#log });
    this.#connections.add(conn);
    this.#current = conn;
    return conn;
  }

  /** The host was reset or powered on (QEMU never says so itself): the system interface and the watchdog start over. */
  hostReset(reason: 'power-on' | 'reset' | 'power-off'): void {
    this.systemInterface.hostReset();
    this.watchdog.hostReset();
    if (reason === 'reset') this.bootOptions.hostEvent('soft-reset');
    if (reason === 'power-on') this.bootOptions.hostEvent('power-button');
  }

  stats(): Record<string, unknown> {
    return {
      router: this.router.busStats(),
      systemInterface: this.systemInterface.stats(),
      watchdog: this.watchdog.stats(),
      connections: [...this.#connections].map((c) => c.stats()),
      sel: this.storage.sel.info(),
    };
  }

  close(): void {
    this.watchdog.hostReset();
    for (const c of this.#connections) c.detach();
    this.#connections.clear();
    this.storage.close();
  }

  #vmOp(op: VmHostOp): void {
    if (!this.#current?.hostOp(op)) throw new Error(`no QEMU is attached to the IPMI link (cannot send ${op})`);
  }

  #hostControl(): HostControl {
    const power = this.#opts.power;
    if (power) {
      return {
        powerState: () => power.state(),
        powerOn: () => power.on(),
        powerOff: () => power.off(),
        powerCycle: () => power.cycle(),
        hardReset: () => power.reset(),
        diagnosticInterrupt: () => this.#vmOp('nmi'),
        softShutdown: () => this.#vmOp('graceful-shutdown'),
      };
    }
    // No power control of our own (a host we did not start): QEMU's own operations.
    return {
      powerState: () => (this.#current?.stats().connected ? 'on' : 'off'),
      powerOn: () => {
        throw new Error('this BMC does not start its host (no power control): power on is not possible');
      },
      powerOff: () => this.#vmOp('power-off'),
      powerCycle: () => this.#vmOp('reset'),
      hardReset: () => this.#vmOp('reset'),
      diagnosticInterrupt: () => this.#vmOp('nmi'),
      softShutdown: () => this.#vmOp('graceful-shutdown'),
    };
  }

  #watchdogEvent(e: WatchdogEvent): void {
    if (!e.log || !(this.systemInterface.globalEnables & ENABLE_SYSTEM_EVENT_LOGGING)) return;
    const interrupt = WATCHDOG_INTERRUPTS[(e.eventData[1] >> 4) & 0x03] ?? 'none';
    // The Watchdog 2 sensor records the event in the SEL and keeps its state for Get Sensor Reading.
    if (e.kind === 'timeout') this.storage.watchdog.timerExpired({ action: WATCHDOG_ACTIONS[e.action] ?? 'none', timerUse: e.timerUse, interrupt });
    else this.storage.watchdog.preTimeoutInterrupt({ timerUse: e.timerUse, interrupt });
  }

  /** Say what recovery found in the state directory: a torn SEL tail, a damaged file set aside. */
  #reportLoad(): void {
    const sel = this.storage.sel.loadReport;
    if (sel.journal?.tornBytes) this.#log(`ipmi: SEL journal: dropped a torn last entry (${sel.journal.tornBytes} bytes)`);
    if (sel.journal?.badEntries) this.#log(`ipmi: SEL journal: dropped ${sel.journal.badEntries} entries with a bad checksum`);
    if (sel.quarantined) this.#log(`ipmi: SEL journal unreadable, moved to ${sel.quarantined}; the SEL starts empty`);
    const fru = this.storage.fru.loadReport;
    if (fru.setAside) this.#log(`ipmi: FRU file unusable (${fru.reason ?? 'damaged'}), moved to ${fru.setAside}; rebuilt from the identity`);
  }

  #bmcReset(kind: 'cold' | 'warm'): void {
    this.#log(`ipmi: ${kind} reset of the BMC requested by the host: the IPMI state returns to power-up`);
    this.systemInterface.bmcReset();
    this.watchdog.bmcReset();
  }
}

const BOOT_OPTIONS_KIND = 'boot-options';

/** Boot options as one JSON state file (atomic replace; a damaged file is reported and ignored). */
function jsonState(file: string, log: (line: string) => void): BootOptionsPersistence {
  return {
    load: () => {
      try {
        const data = readStateFile(file, BOOT_OPTIONS_KIND);
        return data === undefined ? undefined : (JSON.parse(data.toString('utf8')) as object);
      } catch (e) {
        log(`ipmi: ignoring ${file}: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }
    },
    save: (obj) => writeStateFile(file, BOOT_OPTIONS_KIND, Buffer.from(JSON.stringify(obj))),
  };
}
