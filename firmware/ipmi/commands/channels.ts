/**
 * Channel discovery commands (IPMI v2.0 §22.13, §22.24):
 *
 *   06/42 Get Channel Info [chan] → [chan, medium, protocol, session<<6|active,
 *                                    IANA F2 1B 00, aux1, aux2]      (9 bytes)
 *         CC for a channel that does not exist. Linux probes 0x00..0x0F at
 *         load and takes any error as "no channel here".
 *   06/38 Get Channel Authentication Capabilities [v2<<7|chan, max priv]
 *         Only for channels that run sessions; the system interface is
 *         session-less, so it (and an absent channel, or a privilege outside
 *         1..5) gets CC, as OpenBMC answers.
 */
import { CC } from '../completion-codes.js';
import { SESSION_SUPPORT, type ChannelTable } from '../channels.js';
import { NETFN, PRIVILEGE, fail, ok, type IpmiCommand } from '../message.js';

export const APP_CMD_CHANNELS = {
  GET_CHANNEL_AUTH_CAPABILITIES: 0x38,
  GET_CHANNEL_INFO: 0x42,
} as const;

/** The IPMI forum's IANA enterprise number (7154), the vendor of the standard channel protocols. */
export const IPMI_IANA = 0x001bf2;

const OWNER = 'ipmi/channels';

export function channelCommands(channels: ChannelTable): IpmiCommand[] {
  return [
    {
      netfn: NETFN.APP,
      cmd: APP_CMD_CHANNELS.GET_CHANNEL_INFO,
      name: 'Get Channel Info',
      owner: OWNER,
      privilege: PRIVILEGE.USER,
      minLength: 1,
      maxLength: 1,
      handler: (req) => {
        const c = channels.resolve(req.data[0]! & 0x0f, req.channel);
        if (!c) return fail(CC.INVALID_DATA_FIELD);
        const active = Math.min(0x3f, Math.max(0, c.activeSessions?.() ?? 0));
        const [aux1, aux2] = c.auxiliary ?? [0, 0];
        return ok([
          c.number,
          c.medium & 0x7f,
          c.protocol & 0x1f,
          ((c.sessionSupport & 3) << 6) | active,
          IPMI_IANA & 0xff,
          (IPMI_IANA >> 8) & 0xff,
          (IPMI_IANA >> 16) & 0xff,
          aux1,
          aux2,
        ]);
      },
    },
    {
      netfn: NETFN.APP,
      cmd: APP_CMD_CHANNELS.GET_CHANNEL_AUTH_CAPABILITIES,
      name: 'Get Channel Authentication Capabilities',
      owner: OWNER,
      privilege: PRIVILEGE.CALLBACK,
      minLength: 2,
      maxLength: 2,
      handler: (req) => {
        const priv = req.data[1]! & 0x0f;
        if (priv < PRIVILEGE.CALLBACK || priv > PRIVILEGE.OEM) return fail(CC.INVALID_DATA_FIELD);
        const c = channels.resolve(req.data[0]! & 0x0f, req.channel);
        if (!c || c.sessionSupport === SESSION_SUPPORT.SESSIONLESS) return fail(CC.INVALID_DATA_FIELD);
        // A channel that runs sessions (LAN, later) answers with its own authentication setup.
        return c.authCapabilities ? ok(c.authCapabilities({ extended: (req.data[0]! & 0x80) !== 0, privilege: priv })) : fail(CC.INVALID_DATA_FIELD);
      },
    },
  ];
}
