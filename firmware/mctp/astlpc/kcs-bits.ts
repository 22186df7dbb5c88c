/**
 * KCS status-register bits and the astlpc data-register commands
 * (docs/astlpc.md "KCS status bits and commands"). The protocol uses one KCS
 * channel as a doorbell: a byte written to IDR (host → BMC) or ODR (BMC →
 * host) is a command, and the software-owned STR bits carry the channel state.
 */

/** STR bit 0, hardware: the BMC wrote ODR; cleared when the host reads ODR. */
export const KCS_STATUS_OBF = 0x01;
/** STR bit 1, hardware: the host wrote IDR; cleared when the BMC reads IDR. */
export const KCS_STATUS_IBF = 0x02;
/** STR bit 3, hardware: last host write was a command (unused by astlpc). */
export const KCS_STATUS_CMD_DAT = 0x08;
/** STR bit 6, software: version and layout negotiated, channel usable. */
export const KCS_STATUS_CHANNEL_ACTIVE = 0x40;
/** STR bit 7, software: the BMC side of the binding is running ("BMC Active"). */
export const KCS_STATUS_BMC_READY = 0x80;

/** Host → BMC only: (re)initialise the channel, renegotiating version and MTU. */
export const ASTLPC_CMD_INITIALISE = 0x00;
/** Either way: the sender's Tx buffer holds a packet; ownership passes to the receiver. */
export const ASTLPC_CMD_TX_BEGIN = 0x01;
/** Either way: the receiver is done with the buffer; ownership goes back to the sender. */
export const ASTLPC_CMD_RX_COMPLETE = 0x02;
/** BMC → host only: no command, STR changed (BMC_READY / CHANNEL_ACTIVE) — re-read it. */
export const ASTLPC_CMD_DUMMY = 0xff;

/** Name of a command byte, for logs and counters. */
export function commandName(cmd: number): string {
  switch (cmd) {
    case ASTLPC_CMD_INITIALISE:
      return 'initialise';
    case ASTLPC_CMD_TX_BEGIN:
      return 'tx-begin';
    case ASTLPC_CMD_RX_COMPLETE:
      return 'rx-complete';
    case ASTLPC_CMD_DUMMY:
      return 'dummy';
    default:
      return `unknown(0x${cmd.toString(16).padStart(2, '0')})`;
  }
}
