/**
 * The BMC's own locator records: the Management Controller Device Locator
 * that says what the BMC is and can do, and the FRU Device Locator for its
 * FRU inventory device 0. ipmitool's `fru print` reads FRU 0 directly and
 * skips locators that point back at the BMC, so these mostly tell `sdr list
 * all` and other tools what is there.
 */
import { BMC_SLAVE_ADDRESS, encodeFruDeviceLocator, encodeMcDeviceLocator, type SdrBody } from './sdr-records.js';

/**
 * Device capabilities (MC locator byte 9, Get Device ID "additional device
 * support"): chassis device 80h, FRU inventory 08h, SEL 04h, SDR repository
 * 02h, sensor device 01h.
 */
export const BMC_DEVICE_SUPPORT = 0x8f;
export const ENTITY_SYSTEM_MANAGEMENT_MODULE = 0x06;
export const ENTITY_SYSTEM_BOARD = 0x07;
/** FRU locator device type 10h / modifier 00h: IPMI FRU inventory behind a management controller. */
const FRU_DEVICE_TYPE_IPMI_INVENTORY = 0x10;

export interface BmcLocatorOptions {
  /** MC locator ID string (default "BMC"). */
  bmcName?: string;
  /** FRU locator ID string (default "Builtin FRU"). */
  fruName?: string;
  /** Device capabilities byte (default 8Fh). */
  deviceSupport?: number;
}

export function bmcLocatorRecords(opts: BmcLocatorOptions = {}): SdrBody[] {
  return [
    encodeMcDeviceLocator({
      slaveAddress: BMC_SLAVE_ADDRESS,
      channel: 0,
      // Event message generation from the controller enabled; no ACPI notifications needed.
      powerStateGlobalInit: 0x00,
      capabilities: opts.deviceSupport ?? BMC_DEVICE_SUPPORT,
      entityId: ENTITY_SYSTEM_MANAGEMENT_MODULE,
      entityInstance: 1,
      oem: 0,
      name: opts.bmcName ?? 'BMC',
    }),
    encodeFruDeviceLocator({
      accessAddress: BMC_SLAVE_ADDRESS,
      fruDeviceId: 0,
      logical: true,
      accessLun: 0,
      privateBus: 0,
      channel: 0,
      deviceType: FRU_DEVICE_TYPE_IPMI_INVENTORY,
      deviceTypeModifier: 0x00,
      entityId: ENTITY_SYSTEM_BOARD,
      entityInstance: 1,
      oem: 0,
      name: opts.fruName ?? 'Builtin FRU',
    }),
  ];
}
