/**
 * The system interface's messaging commands (IPMI v2.0 §22): global enables,
 * message flags, the receive message queue, Send Message and the event
 * message buffer. The state and the SMS_ATN rules are in
 * ../system-interface.ts; these handlers only parse and format.
 *
 * Exact layouts (request data → response data after the cc):
 *   06/2E Set BMC Global Enables   [enables]            → []        CC if reserved bit 4 is set
 *   06/2F Get BMC Global Enables   []                   → [enables]
 *   06/30 Clear Message Flags      [mask]               → []
 *   06/31 Get Message Flags        []                   → [flags]
 *   06/33 Get Message              []                   → [priv<<4|chan, data…]   80 when empty
 *   06/34 Send Message             [track<<6|chan, msg…] → []       CC for an absent channel
 *   06/35 Read Event Message Buffer []                  → [16-byte event]        80 when empty
 */
import { CC } from '../completion-codes.js';
import { CURRENT_CHANNEL, type ChannelTable } from '../channels.js';
import { NETFN, PRIVILEGE, fail, ok, type IpmiCommand } from '../message.js';
import { messageChannelByte, type SystemInterface } from '../system-interface.js';

export const APP_CMD_MESSAGING = {
  SET_BMC_GLOBAL_ENABLES: 0x2e,
  GET_BMC_GLOBAL_ENABLES: 0x2f,
  CLEAR_MESSAGE_FLAGS: 0x30,
  GET_MESSAGE_FLAGS: 0x31,
  GET_MESSAGE: 0x33,
  SEND_MESSAGE: 0x34,
  READ_EVENT_MESSAGE_BUFFER: 0x35,
} as const;

/** Get Message / Read Event Message Buffer: nothing to return. */
export const CC_DATA_NOT_AVAILABLE = 0x80;

const OWNER = 'ipmi/messaging';

export function messagingCommands(si: SystemInterface, channels: ChannelTable): IpmiCommand[] {
  const app = (cmd: number, name: string, privilege: IpmiCommand['privilege'], len: [number, number?], handler: IpmiCommand['handler']): IpmiCommand => ({
    netfn: NETFN.APP,
    cmd,
    name,
    owner: OWNER,
    privilege,
    minLength: len[0],
    maxLength: len[1] ?? len[0],
    handler,
  });
  return [
    app(APP_CMD_MESSAGING.SET_BMC_GLOBAL_ENABLES, 'Set BMC Global Enables', PRIVILEGE.ADMINISTRATOR, [1], (req) =>
      si.setGlobalEnables(req.data[0]!) ? ok() : fail(CC.INVALID_DATA_FIELD),
    ),
    app(APP_CMD_MESSAGING.GET_BMC_GLOBAL_ENABLES, 'Get BMC Global Enables', PRIVILEGE.USER, [0], () => ok([si.globalEnables])),
    app(APP_CMD_MESSAGING.CLEAR_MESSAGE_FLAGS, 'Clear Message Flags', PRIVILEGE.ADMINISTRATOR, [1], (req) => {
      si.clearMessageFlags(req.data[0]!);
      return ok();
    }),
    app(APP_CMD_MESSAGING.GET_MESSAGE_FLAGS, 'Get Message Flags', PRIVILEGE.ADMINISTRATOR, [0], () => ok([si.messageFlags])),
    app(APP_CMD_MESSAGING.GET_MESSAGE, 'Get Message', PRIVILEGE.ADMINISTRATOR, [0], () => {
      const m = si.takeMessage();
      return m ? ok(Buffer.concat([Buffer.of(messageChannelByte(m)), m.data])) : fail(CC_DATA_NOT_AVAILABLE);
    }),
    // Longest message: what a bus can carry is the bus's business; 0xff keeps it bounded.
    app(APP_CMD_MESSAGING.SEND_MESSAGE, 'Send Message', PRIVILEGE.USER, [1, 0xff], (req) => {
      const b = req.data[0]!;
      const tracking = b >> 6;
      if (tracking === 3) return fail(CC.INVALID_DATA_FIELD);
      const channel = channels.resolve(b & 0x0f, req.channel);
      if (!channel?.deliver) return fail(CC.INVALID_DATA_FIELD);
      const from = req.channel ?? CURRENT_CHANNEL;
      const cc = channel.deliver({ fromChannel: from, privilege: req.privilege, data: req.data.subarray(1), tracking });
      return cc === CC.OK ? ok() : fail(cc);
    }),
    app(APP_CMD_MESSAGING.READ_EVENT_MESSAGE_BUFFER, 'Read Event Message Buffer', PRIVILEGE.ADMINISTRATOR, [0], () => {
      const e = si.takeEvent();
      return e ? ok(e) : fail(CC_DATA_NOT_AVAILABLE);
    }),
  ];
}
