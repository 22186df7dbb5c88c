/** Names of the network functions (IPMI v2.0 table 5-1), for logs and the API. */
import { NETFN } from './message.js';

const NAMES = new Map<number, string>([
  [NETFN.CHASSIS, 'Chassis'],
  [NETFN.BRIDGE, 'Bridge'],
  [NETFN.SENSOR_EVENT, 'Sensor/Event'],
  [NETFN.APP, 'App'],
  [NETFN.FIRMWARE, 'Firmware'],
  [NETFN.STORAGE, 'Storage'],
  [NETFN.TRANSPORT, 'Transport'],
  [NETFN.GROUP_EXTENSION, 'Group Extension'],
  [NETFN.OEM_GROUP, 'OEM/Group'],
]);

/** A request or response netfn's name ("App", "Storage", "OEM" for 30h-3Fh), or undefined for reserved values. */
export function netfnName(netfn: number): string | undefined {
  const request = netfn & ~1;
  if (request >= 0x30 && request <= 0x3e) return 'OEM';
  return NAMES.get(request);
}
