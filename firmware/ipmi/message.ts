/**
 * The shapes every IPMI bus, the router and every command handler agree on.
 * A bus (the system interface over QEMU's VM protocol today; LAN sessions and
 * IPMB-style buses later) turns its wire frames into `IpmiRequest`s, the
 * router finds the one handler registered for the key and sends the
 * `IpmiResponse` back on the bus the request came from.
 */
import type { CompletionCode } from './completion-codes.js';

/** Network functions (IPMI v2.0 §5.1, table 5-1): request values (even); a response is netfn | 1. */
export const NETFN = {
  CHASSIS: 0x00,
  BRIDGE: 0x02,
  SENSOR_EVENT: 0x04,
  APP: 0x06,
  FIRMWARE: 0x08,
  STORAGE: 0x0a,
  TRANSPORT: 0x0c,
  /** Group extension: the first data byte names the defining body (e.g. 0x00 PICMG, 0xDC DMTF). */
  GROUP_EXTENSION: 0x2c,
  /** OEM/group: the first three data bytes are the IANA enterprise number, LS byte first. */
  OEM_GROUP: 0x2e,
} as const;

/** Privilege levels (IPMI v2.0 §6.8). A system-interface request is unauthenticated and runs at ADMINISTRATOR. */
export const PRIVILEGE = {
  CALLBACK: 1,
  USER: 2,
  OPERATOR: 3,
  ADMINISTRATOR: 4,
  OEM: 5,
} as const;

export type Privilege = (typeof PRIVILEGE)[keyof typeof PRIVILEGE];

export interface IpmiRequest {
  /** Request netfn (even). */
  netfn: number;
  lun: number;
  cmd: number;
  /** Request data after the command byte. */
  data: Buffer;
  /** The bus it arrived on ("system" for the host's system interface, "lan", ...). */
  bus: string;
  /** The privilege the request runs at (a system interface runs unauthenticated at ADMINISTRATOR). */
  privilege: Privilege;
  /** Bus-specific identity of the requester (session id, channel), for logs and replies. */
  requester?: string;
  /**
   * The IPMI channel number the request arrived on (0xF for the system
   * interface), when the bus has one: Get Channel Info and Send Message
   * resolve "this channel" (0xE) with it.
   */
  channel?: number;
}

export interface IpmiResponse {
  cc: CompletionCode;
  /** Response data after the completion code (empty when cc != 0, unless the command defines otherwise). */
  data: Buffer;
}

/** What a handler may use besides the request: the time and a way to refuse politely. */
export type IpmiHandler = (req: IpmiRequest) => IpmiResponse | Promise<IpmiResponse>;

/**
 * One command as registered with the router. `name` is how logs, metrics and
 * duplicate-registration errors name it; `owner` names the module that
 * registered it (so a clash names both registrants).
 */
export interface IpmiCommand {
  netfn: number;
  cmd: number;
  name: string;
  owner: string;
  /** Lowest privilege allowed to run it (the router answers 0xD4 below it). */
  privilege: Privilege;
  /** For netfn 0x2C: the defining-body code (first data byte) this handler serves. */
  groupBody?: number;
  /** For netfn 0x2E/0x30–0x3F OEM commands keyed by IANA: the enterprise number. */
  iana?: number;
  /**
   * Shortest and longest request data (every byte after the command byte,
   * group-extension body and IANA bytes included) the command accepts; the
   * router answers 0xC7 outside [minLength, maxLength] before the handler runs.
   */
  minLength?: number;
  maxLength?: number;
  handler: IpmiHandler;
}

export function ok(data: Buffer | number[] = Buffer.alloc(0)): IpmiResponse {
  return { cc: 0, data: Buffer.isBuffer(data) ? data : Buffer.from(data) };
}

export function fail(cc: CompletionCode): IpmiResponse {
  return { cc, data: Buffer.alloc(0) };
}
