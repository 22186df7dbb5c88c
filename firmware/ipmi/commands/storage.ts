/**
 * Every Storage-netfn (0Ah) command this BMC answers: the SEL, the SDR
 * repository and FRU device 0, for the router to register in one go.
 */
import type { IpmiCommand } from '../message.js';
import type { FruInventory } from '../storage/fru.js';
import type { SdrRepository } from '../storage/sdr.js';
import type { SystemEventLog } from '../storage/sel.js';
import { fruCommands } from './storage-fru.js';
import { sdrCommands } from './storage-sdr.js';
import { selCommands } from './storage-sel.js';

export interface StorageCommandDeps {
  sel: SystemEventLog;
  sdr: SdrRepository;
  fru: FruInventory;
  /** Largest record/FRU slice one response may carry (see sdrCommands / fruCommands). */
  maxReadBytes?: number;
}

export function storageCommands(deps: StorageCommandDeps): IpmiCommand[] {
  return [
    ...fruCommands({ fru: deps.fru, maxReadBytes: deps.maxReadBytes }),
    ...sdrCommands({ sdr: deps.sdr, maxReadBytes: deps.maxReadBytes }),
    ...selCommands({ sel: deps.sel }),
  ];
}
