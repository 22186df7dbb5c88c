/**
 * Get/Set System Boot Options (IPMI v2.0 §28.12, §28.13) over ../boot-options.ts:
 *
 *   00/08 Set System Boot Options [invalid<<7 | param, data…] → []
 *   00/09 Get System Boot Options [param, set selector, block selector]
 *                                 → [01 (parameter version), invalid<<7 | param, data…]
 *
 * Command-specific codes: 80 parameter not supported, 81 "set in progress"
 * while already in progress; C7 for a parameter's data of the wrong length.
 */
import type { BootOptions } from '../boot-options.js';
import { NETFN, PRIVILEGE, fail, ok, type IpmiCommand } from '../message.js';

export const CHASSIS_CMD_BOOT = {
  SET_SYSTEM_BOOT_OPTIONS: 0x08,
  GET_SYSTEM_BOOT_OPTIONS: 0x09,
} as const;

export const BOOT_PARAMETER_VERSION = 0x01;

const OWNER = 'ipmi/boot-options';

export function bootOptionsCommands(boot: BootOptions): IpmiCommand[] {
  return [
    {
      netfn: NETFN.CHASSIS,
      cmd: CHASSIS_CMD_BOOT.SET_SYSTEM_BOOT_OPTIONS,
      name: 'Set System Boot Options',
      owner: OWNER,
      privilege: PRIVILEGE.OPERATOR,
      minLength: 1,
      maxLength: 1 + 17,
      handler: (req) => {
        const sel = req.data[0]!;
        const cc = boot.set(sel & 0x7f, req.data.subarray(1), (sel & 0x80) !== 0);
        return cc === 0 ? ok() : fail(cc);
      },
    },
    {
      netfn: NETFN.CHASSIS,
      cmd: CHASSIS_CMD_BOOT.GET_SYSTEM_BOOT_OPTIONS,
      name: 'Get System Boot Options',
      owner: OWNER,
      privilege: PRIVILEGE.OPERATOR,
      minLength: 3,
      maxLength: 3,
      handler: (req) => {
        const param = req.data[0]! & 0x7f;
        const r = boot.get(param, req.data[1]!);
        if ('cc' in r) return fail(r.cc);
        const head = Buffer.of(BOOT_PARAMETER_VERSION, (boot.isMarkedInvalid(param) ? 0x80 : 0) | param);
        return ok(Buffer.concat([head, r.data]));
      },
    },
  ];
}
