/**
 * Watchdog commands (IPMI v2.0 §27.5–27.7) over ../watchdog.ts:
 *
 *   06/22 Reset Watchdog Timer []                             → []      80 before any Set
 *   06/24 Set Watchdog Timer   [use, actions, pre-timeout s,
 *                               expiration clear, count LS, count MS] → []
 *   06/25 Get Watchdog Timer   [] → [use (bit 6 = running), actions, pre-timeout s,
 *                                    expiration flags, initial LS, MS, present LS, MS]
 *
 * Set is refused with CC for a reserved timer use (0, 6, 7), timeout action
 * or pre-timeout interrupt (4–7), and for a pre-timeout interval longer
 * than the countdown when a pre-timeout interrupt is selected.
 */
import { CC } from '../completion-codes.js';
import { NETFN, PRIVILEGE, fail, ok, type IpmiCommand } from '../message.js';
import { EXPIRATION_FLAGS_MASK, PRETIMEOUT_INTERRUPT, type Watchdog, type WatchdogSettings } from '../watchdog.js';

export const APP_CMD_WATCHDOG = {
  RESET_WATCHDOG_TIMER: 0x22,
  SET_WATCHDOG_TIMER: 0x24,
  GET_WATCHDOG_TIMER: 0x25,
} as const;

/** Reset Watchdog Timer: "attempt to start un-initialized watchdog". */
export const CC_WATCHDOG_UNINITIALIZED = 0x80;

const OWNER = 'ipmi/watchdog';

/** Parse Set Watchdog Timer's 6 bytes; null when a field holds a reserved value. */
export function parseSetWatchdog(d: Buffer): { settings: WatchdogSettings; dontStop: boolean; clearExpiration: number } | null {
  const timerUse = d[0]! & 0x07;
  const timeoutAction = d[1]! & 0x07;
  const pretimeoutInterrupt = (d[1]! >> 4) & 0x07;
  if (timerUse === 0 || timerUse > 5 || timeoutAction > 3 || pretimeoutInterrupt > 3) return null;
  const settings: WatchdogSettings = {
    timerUse,
    dontLog: (d[0]! & 0x80) !== 0,
    timeoutAction,
    pretimeoutInterrupt,
    pretimeoutInterval: d[2]!,
    initialCountdown: d.readUInt16LE(4),
  };
  if (pretimeoutInterrupt !== PRETIMEOUT_INTERRUPT.NONE && settings.pretimeoutInterval * 10 > settings.initialCountdown) return null;
  return { settings, dontStop: (d[0]! & 0x40) !== 0, clearExpiration: d[3]! & EXPIRATION_FLAGS_MASK };
}

export function watchdogCommands(wd: Watchdog): IpmiCommand[] {
  return [
    {
      netfn: NETFN.APP,
      cmd: APP_CMD_WATCHDOG.RESET_WATCHDOG_TIMER,
      name: 'Reset Watchdog Timer',
      owner: OWNER,
      privilege: PRIVILEGE.OPERATOR,
      minLength: 0,
      maxLength: 0,
      handler: () => (wd.reset() ? ok() : fail(CC_WATCHDOG_UNINITIALIZED)),
    },
    {
      netfn: NETFN.APP,
      cmd: APP_CMD_WATCHDOG.SET_WATCHDOG_TIMER,
      name: 'Set Watchdog Timer',
      owner: OWNER,
      privilege: PRIVILEGE.OPERATOR,
      minLength: 6,
      maxLength: 6,
      handler: (req) => {
        const p = parseSetWatchdog(req.data);
        if (!p) return fail(CC.INVALID_DATA_FIELD);
        wd.set(p.settings, p.dontStop, p.clearExpiration);
        return ok();
      },
    },
    {
      netfn: NETFN.APP,
      cmd: APP_CMD_WATCHDOG.GET_WATCHDOG_TIMER,
      name: 'Get Watchdog Timer',
      owner: OWNER,
      privilege: PRIVILEGE.USER,
      minLength: 0,
      maxLength: 0,
      handler: () => {
        const s = wd.state();
        const out = Buffer.alloc(8);
        out[0] = (s.dontLog ? 0x80 : 0) | (s.running ? 0x40 : 0) | s.timerUse;
        out[1] = (s.pretimeoutInterrupt << 4) | s.timeoutAction;
        out[2] = s.pretimeoutInterval;
        out[3] = s.expirationFlags;
        out.writeUInt16LE(s.initialCountdown, 4);
        out.writeUInt16LE(s.presentCountdown, 6);
        return ok(out);
      },
    },
  ];
}
