/**
 * One call that builds the BMC's storage devices and sensors from options
 * and returns them with the commands to register: what the BMC composition
 * (firmware/bmc/) calls once per instance.
 *
 *   const ipmi = createStorageAndSensors({ stateDir, clock });
 *   router.register(...ipmi.commands);
 *   ipmi.sensors.startScanning(clock);          // threshold events on the clock
 *   watchdogTimer.on('expired', (e) => ipmi.watchdog.timerExpired(e));
 *   …
 *   ipmi.close();
 */
import type { Clock } from '../../../lib/clock.js';
import type { IpmiCommand, IpmiRequest } from '../message.js';
import { createDefaultSensors } from '../sensors/default-sensors.js';
import type { SensorSet } from '../sensors/sensor-set.js';
import type { ThresholdSensor } from '../sensors/threshold-sensor.js';
import type { Watchdog2Sensor } from '../sensors/watchdog-sensor.js';
import type { FruIdentity } from '../storage/fru-format.js';
import { FruInventory } from '../storage/fru.js';
import { bmcLocatorRecords, type BmcLocatorOptions } from '../storage/sdr-locators.js';
import { SdrRepository } from '../storage/sdr.js';
import { JournalSelStore, MemorySelStore } from '../storage/sel-store.js';
import { SystemEventLog } from '../storage/sel.js';
import { sensorCommands } from './sensor-event.js';
import { storageCommands } from './storage.js';

export interface StorageAndSensorsOptions {
  /** The instance's state directory (sel.journal, fru0.bin); without it nothing persists. */
  stateDir?: string;
  /** Monotonic clock the sensors wander on and scan with. */
  clock: Clock;
  /** Wall clock in ms since the epoch for SEL/SDR time (default Date.now). */
  wallClock?: () => number;
  selCapacity?: number;
  /** fdatasync every SEL change (default true; kill -9 safety holds either way). */
  selSyncEachChange?: boolean;
  fruIdentity?: FruIdentity;
  fruSize?: number;
  locators?: BmcLocatorOptions;
  maxReadBytes?: number;
  /** Generator ID for Platform Events from buses other than the system interface. */
  generatorIdFor?: (req: IpmiRequest) => number;
}

export interface StorageAndSensors {
  sel: SystemEventLog;
  sdr: SdrRepository;
  fru: FruInventory;
  sensors: SensorSet;
  inletTemp: ThresholdSensor;
  fan: ThresholdSensor;
  watchdog: Watchdog2Sensor;
  commands: IpmiCommand[];
  /** Stop scanning and close the SEL journal. */
  close(): void;
}

export function createStorageAndSensors(opts: StorageAndSensorsOptions): StorageAndSensors {
  const store = opts.stateDir === undefined ? new MemorySelStore() : new JournalSelStore(opts.stateDir, { syncEachAppend: opts.selSyncEachChange });
  const sel = new SystemEventLog({ store, capacity: opts.selCapacity, wallClock: opts.wallClock });
  const { set, inletTemp, fan, watchdog } = createDefaultSensors({ clock: opts.clock, events: sel });
  const sdr = new SdrRepository({ sources: [...set.list(), ...bmcLocatorRecords(opts.locators)], wallClock: opts.wallClock });
  const fru = new FruInventory({ stateDir: opts.stateDir, identity: opts.fruIdentity, size: opts.fruSize });
  const commands = [
    ...storageCommands({ sel, sdr, fru, maxReadBytes: opts.maxReadBytes }),
    ...sensorCommands({ sensors: set, events: sel, generatorIdFor: opts.generatorIdFor }),
  ];
  return {
    sel,
    sdr,
    fru,
    sensors: set,
    inletTemp,
    fan,
    watchdog,
    commands,
    close: () => {
      set.stopScanning();
      sel.close();
    },
  };
}
