/**
 * IPMI completion codes (IPMI v2.0 §5.2, table 5-2) as named constants, with
 * the meaning a log or the CLI prints. Command-specific codes (0x80–0xBE) are
 * named by the command that defines them, beside its handler.
 */
export const CC = {
  OK: 0x00,
  /** Node busy: the request could not be processed now (in-flight limit, resource locked). */
  BUSY: 0xc0,
  /** Invalid command: no handler for this netfn/command (or group/IANA body). */
  INVALID_COMMAND: 0xc1,
  /** Command invalid for the given LUN. */
  INVALID_FOR_LUN: 0xc2,
  /** Timeout while processing the command. */
  TIMEOUT: 0xc3,
  /** Out of space (SEL full, no room in a queue). */
  OUT_OF_SPACE: 0xc4,
  /** Reservation cancelled or invalid reservation ID. */
  RESERVATION_INVALID: 0xc5,
  /** Request data truncated. */
  DATA_TRUNCATED: 0xc6,
  /** Request data length invalid. */
  DATA_LENGTH_INVALID: 0xc7,
  /** Request data field length limit exceeded. */
  DATA_LENGTH_EXCEEDED: 0xc8,
  /** Parameter out of range. */
  PARAMETER_OUT_OF_RANGE: 0xc9,
  /** Cannot return the number of requested data bytes. */
  CANNOT_RETURN_BYTES: 0xca,
  /** Requested sensor, data or record not present. */
  NOT_PRESENT: 0xcb,
  /** Invalid data field in request. */
  INVALID_DATA_FIELD: 0xcc,
  /** Command illegal for the specified sensor or record type. */
  ILLEGAL_FOR_SENSOR: 0xcd,
  /** Command response could not be provided. */
  RESPONSE_UNAVAILABLE: 0xce,
  /** Cannot execute a duplicated request. */
  DUPLICATED_REQUEST: 0xcf,
  /** SDR repository in update mode. */
  SDR_UPDATE_MODE: 0xd0,
  /** Device in firmware update mode. */
  FIRMWARE_UPDATE_MODE: 0xd1,
  /** BMC initialization in progress (also QEMU's own answer while the BMC is away). */
  INIT_IN_PROGRESS: 0xd2,
  /** Destination unavailable. */
  DESTINATION_UNAVAILABLE: 0xd3,
  /** Insufficient privilege level. */
  INSUFFICIENT_PRIVILEGE: 0xd4,
  /** Command not supported in present state. */
  NOT_SUPPORTED_IN_STATE: 0xd5,
  /** Command sub-function disabled or unavailable. */
  SUBFUNCTION_DISABLED: 0xd6,
  /** Unspecified error. */
  UNSPECIFIED: 0xff,
} as const;

export type CompletionCode = number;

const NAMES = new Map<number, string>([
  [CC.OK, 'command completed normally'],
  [CC.BUSY, 'node busy'],
  [CC.INVALID_COMMAND, 'invalid command'],
  [CC.INVALID_FOR_LUN, 'invalid command for LUN'],
  [CC.TIMEOUT, 'timeout while processing command'],
  [CC.OUT_OF_SPACE, 'out of space'],
  [CC.RESERVATION_INVALID, 'reservation cancelled or invalid'],
  [CC.DATA_TRUNCATED, 'request data truncated'],
  [CC.DATA_LENGTH_INVALID, 'request data length invalid'],
  [CC.DATA_LENGTH_EXCEEDED, 'request data field length limit exceeded'],
  [CC.PARAMETER_OUT_OF_RANGE, 'parameter out of range'],
  [CC.CANNOT_RETURN_BYTES, 'cannot return number of requested data bytes'],
  [CC.NOT_PRESENT, 'requested sensor, data, or record not present'],
  [CC.INVALID_DATA_FIELD, 'invalid data field in request'],
  [CC.ILLEGAL_FOR_SENSOR, 'command illegal for specified sensor or record type'],
  [CC.RESPONSE_UNAVAILABLE, 'command response could not be provided'],
  [CC.DUPLICATED_REQUEST, 'cannot execute duplicated request'],
  [CC.SDR_UPDATE_MODE, 'SDR repository in update mode'],
  [CC.FIRMWARE_UPDATE_MODE, 'device in firmware update mode'],
  [CC.INIT_IN_PROGRESS, 'BMC initialization in progress'],
  [CC.DESTINATION_UNAVAILABLE, 'destination unavailable'],
  [CC.INSUFFICIENT_PRIVILEGE, 'insufficient privilege level'],
  [CC.NOT_SUPPORTED_IN_STATE, 'command not supported in present state'],
  [CC.SUBFUNCTION_DISABLED, 'command sub-function disabled or unavailable'],
  [CC.UNSPECIFIED, 'unspecified error'],
]);

/** What a completion code means, as ipmitool words it; command-specific codes say so. */
export function describeCompletionCode(cc: number): string {
  const name = NAMES.get(cc);
  if (name !== undefined) return name;
  if (cc >= 0x80 && cc <= 0xbe) return `command-specific completion code 0x${cc.toString(16)}`;
  return `unknown completion code 0x${cc.toString(16)}`;
}
