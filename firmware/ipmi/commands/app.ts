/**
 * BMC device and global commands of the App netfn (IPMI v2.0 §20):
 *
 *   06/01 Get Device ID        [] → [device id, revision, fw major, fw minor (BCD),
 *                                    IPMI version 0x02, device support, manufacturer (3, LS first),
 *                                    product (2, LS first), aux fw rev (4, optional)]
 *   06/02 Cold Reset           [] → []  then onReset('cold'), after the answer is out
 *   06/03 Warm Reset           [] → []  then onReset('warm')
 *   06/04 Get Self Test Results [] → [55 00]  (no error)
 *   06/06 Set ACPI Power State [system, device] → []  bit 7 of each = "set this one"
 *   06/07 Get ACPI Power State [] → [system, device]
 *   06/08 Get Device GUID      [] → 16 bytes
 *   06/37 Get System GUID      [] → 16 bytes
 *
 * Get Device ID stays at 15 bytes at most: skiboot rejects a longer reply.
 * The watchdog commands are in ./watchdog.ts.
 */
import { ConfigError } from '../../../lib/errors.js';
import { CC } from '../completion-codes.js';
import { NETFN, PRIVILEGE, fail, ok, type IpmiCommand } from '../message.js';

export const APP_CMD = {
  GET_DEVICE_ID: 0x01,
  COLD_RESET: 0x02,
  WARM_RESET: 0x03,
  GET_SELF_TEST_RESULTS: 0x04,
  SET_ACPI_POWER_STATE: 0x06,
  GET_ACPI_POWER_STATE: 0x07,
  GET_DEVICE_GUID: 0x08,
  GET_SYSTEM_GUID: 0x37,
} as const;

/** Additional device support bits (Get Device ID byte 6). */
export const DEVICE_SUPPORT = {
  SENSOR: 0x01,
  SDR_REPOSITORY: 0x02,
  SEL: 0x04,
  FRU_INVENTORY: 0x08,
  IPMB_EVENT_RECEIVER: 0x10,
  IPMB_EVENT_GENERATOR: 0x20,
  BRIDGE: 0x40,
  CHASSIS: 0x80,
} as const;

export interface DeviceIdentity {
  /** Device ID (default 0x20). */
  deviceId: number;
  /** Device revision 0..15 (default 1). */
  deviceRevision: number;
  /** The device provides Device SDRs (revision bit 7; default false). */
  providesDeviceSdrs: boolean;
  /** Firmware major revision 0..127. */
  firmwareMajor: number;
  /** Firmware minor revision 0..99, sent as BCD. */
  firmwareMinor: number;
  /** IPMI version, BCD with the minor digit in the high nibble: 0x02 = 2.0. */
  ipmiVersion: number;
  /** DEVICE_SUPPORT bits of what the BMC implements. */
  additionalDeviceSupport: number;
  /** Manufacturer IANA enterprise number (20 bits). */
  manufacturerId: number;
  /** Product ID (16 bits). */
  productId: number;
  /** Auxiliary firmware revision (4 bytes), or null to leave it out. */
  auxFirmwareRevision: Buffer | null;
}

export const DEFAULT_IDENTITY: DeviceIdentity = {
  deviceId: 0x20,
  deviceRevision: 1,
  providesDeviceSdrs: false,
  firmwareMajor: 0,
  firmwareMinor: 1,
  ipmiVersion: 0x02,
  additionalDeviceSupport: DEVICE_SUPPORT.CHASSIS,
  manufacturerId: 0,
  productId: 0,
  auxFirmwareRevision: Buffer.alloc(4),
};

/** System power states (Set/Get ACPI Power State byte 1 bits 6:0). */
export const ACPI_SYSTEM_STATE = {
  S0_G0: 0x00,
  S1: 0x01,
  S2: 0x02,
  S3: 0x03,
  S4: 0x04,
  S5_G2: 0x05,
  S4_S5: 0x06,
  G3: 0x07,
  SLEEPING: 0x08,
  G1_SLEEPING: 0x09,
  OVERRIDE: 0x0a,
  LEGACY_ON: 0x20,
  LEGACY_OFF: 0x21,
  UNKNOWN: 0x2a,
  NO_CHANGE: 0x7f,
} as const;

/** Device power states (byte 2 bits 6:0). */
export const ACPI_DEVICE_STATE = { D0: 0x00, D1: 0x01, D2: 0x02, D3: 0x03, UNKNOWN: 0x2a, NO_CHANGE: 0x7f } as const;

const VALID_SYSTEM_STATES: ReadonlySet<number> = new Set(Object.values(ACPI_SYSTEM_STATE));
const VALID_DEVICE_STATES: ReadonlySet<number> = new Set(Object.values(ACPI_DEVICE_STATE));

export type BmcResetKind = 'cold' | 'warm';

export interface AppCommandsOptions {
  identity?: Partial<DeviceIdentity>;
  /** Get Device GUID's 16 bytes, in IPMI byte order (see uuidToIpmiGuid). Default all zero. */
  deviceGuid?: Buffer;
  /** Get System GUID's 16 bytes. Default all zero. */
  systemGuid?: Buffer;
  /** Cold/Warm Reset: called once the response has been handed back (the BMC composition resets). */
  onReset?: (kind: BmcResetKind) => void;
  /** Runs onReset after the current turn (default setImmediate), so the reply leaves first. */
  defer?: (fn: () => void) => void;
}

/** The ACPI power state the host last reported (Set ACPI Power State); starts unknown. */
export class AcpiPowerState {
  system: number = ACPI_SYSTEM_STATE.UNKNOWN;
  device: number = ACPI_DEVICE_STATE.UNKNOWN;
}

function checkIdentity(id: DeviceIdentity): void {
  const bad = (what: string): never => {
    throw new ConfigError(`IPMI device identity: ${what}`);
  };
  const int = (v: number, max: number): boolean => Number.isInteger(v) && v >= 0 && v <= max;
  if (!int(id.deviceId, 0xff)) bad(`deviceId must be 0..255, got ${id.deviceId}`);
  if (!int(id.deviceRevision, 0x0f)) bad(`deviceRevision must be 0..15, got ${id.deviceRevision}`);
  if (!int(id.firmwareMajor, 0x7f)) bad(`firmwareMajor must be 0..127, got ${id.firmwareMajor}`);
  if (!int(id.firmwareMinor, 99)) bad(`firmwareMinor must be 0..99, got ${id.firmwareMinor}`);
  if (!int(id.ipmiVersion, 0xff)) bad(`ipmiVersion must be a byte, got ${id.ipmiVersion}`);
  if (!int(id.additionalDeviceSupport, 0xff)) bad(`additionalDeviceSupport must be a byte, got ${id.additionalDeviceSupport}`);
  if (!int(id.manufacturerId, 0xfffff)) bad(`manufacturerId must be a 20-bit IANA number, got ${id.manufacturerId}`);
  if (!int(id.productId, 0xffff)) bad(`productId must be 0..65535, got ${id.productId}`);
  if (id.auxFirmwareRevision !== null && id.auxFirmwareRevision.length !== 4) bad('auxFirmwareRevision must be 4 bytes');
}

/** Get Device ID response data for an identity. */
export function deviceIdBytes(id: DeviceIdentity): Buffer {
  const minorBcd = (Math.floor(id.firmwareMinor / 10) << 4) | id.firmwareMinor % 10;
  const head = Buffer.from([
    id.deviceId,
    (id.providesDeviceSdrs ? 0x80 : 0) | id.deviceRevision,
    id.firmwareMajor, // bit 7 clear: normal operation
    minorBcd,
    id.ipmiVersion,
    id.additionalDeviceSupport,
    id.manufacturerId & 0xff,
    (id.manufacturerId >> 8) & 0xff,
    (id.manufacturerId >> 16) & 0x0f,
    id.productId & 0xff,
    (id.productId >> 8) & 0xff,
  ]);
  return id.auxFirmwareRevision ? Buffer.concat([head, id.auxFirmwareRevision]) : head;
}

/**
 * A UUID string as IPMI v2.0 sends a GUID: the 16 bytes of the RFC 4122
 * form in reverse order (node LS byte first, time_low MS byte last).
 */
export function uuidToIpmiGuid(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new ConfigError(`not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex').reverse();
}

function checkGuid(name: string, g: Buffer | undefined): Buffer {
  if (g === undefined) return Buffer.alloc(16);
  if (g.length !== 16) throw new ConfigError(`IPMI ${name} must be 16 bytes, got ${g.length}`);
  return Buffer.from(g);
}

export function appCommands(opts: AppCommandsOptions = {}, acpi: AcpiPowerState = new AcpiPowerState()): IpmiCommand[] {
  const identity: DeviceIdentity = { ...DEFAULT_IDENTITY, ...opts.identity };
  checkIdentity(identity);
  const deviceId = deviceIdBytes(identity);
  const deviceGuid = checkGuid('device GUID', opts.deviceGuid);
  const systemGuid = checkGuid('system GUID', opts.systemGuid);
  const onReset = opts.onReset ?? (() => {});
  const defer = opts.defer ?? ((fn: () => void) => void setImmediate(fn));
  const owner = 'ipmi/app';
  const cmd = (
    c: number,
    name: string,
    privilege: IpmiCommand['privilege'],
    len: [number, number],
    handler: IpmiCommand['handler'],
  ): IpmiCommand => ({ netfn: NETFN.APP, cmd: c, name, owner, privilege, minLength: len[0], maxLength: len[1], handler });

  const reset = (kind: BmcResetKind): IpmiCommand['handler'] => () => {
    defer(() => onReset(kind));
    return ok();
  };

  return [
    cmd(APP_CMD.GET_DEVICE_ID, 'Get Device ID', PRIVILEGE.USER, [0, 0], () => ok(deviceId)),
    cmd(APP_CMD.COLD_RESET, 'Cold Reset', PRIVILEGE.ADMINISTRATOR, [0, 0], reset('cold')),
    cmd(APP_CMD.WARM_RESET, 'Warm Reset', PRIVILEGE.ADMINISTRATOR, [0, 0], reset('warm')),
    // 0x55: no error; the second byte is 0 for that result.
    cmd(APP_CMD.GET_SELF_TEST_RESULTS, 'Get Self Test Results', PRIVILEGE.USER, [0, 0], () => ok([0x55, 0x00])),
    cmd(APP_CMD.SET_ACPI_POWER_STATE, 'Set ACPI Power State', PRIVILEGE.ADMINISTRATOR, [2, 2], (req) => {
      const [sys, dev] = [req.data[0]!, req.data[1]!];
      const setSys = (sys & 0x80) !== 0 && (sys & 0x7f) !== ACPI_SYSTEM_STATE.NO_CHANGE;
      const setDev = (dev & 0x80) !== 0 && (dev & 0x7f) !== ACPI_DEVICE_STATE.NO_CHANGE;
      if ((setSys && !VALID_SYSTEM_STATES.has(sys & 0x7f)) || (setDev && !VALID_DEVICE_STATES.has(dev & 0x7f))) {
        return fail(CC.INVALID_DATA_FIELD);
      }
      if (setSys) acpi.system = sys & 0x7f;
      if (setDev) acpi.device = dev & 0x7f;
      return ok();
    }),
    cmd(APP_CMD.GET_ACPI_POWER_STATE, 'Get ACPI Power State', PRIVILEGE.USER, [0, 0], () => ok([acpi.system, acpi.device])),
    cmd(APP_CMD.GET_DEVICE_GUID, 'Get Device GUID', PRIVILEGE.USER, [0, 0], () => ok(deviceGuid)),
    cmd(APP_CMD.GET_SYSTEM_GUID, 'Get System GUID', PRIVILEGE.CALLBACK, [0, 0], () => ok(systemGuid)),
  ];
}
