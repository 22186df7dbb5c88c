/**
 * The names of the files one instance keeps in its runtime directory
 * (docs/architecture.md, "Runtime files"), defined once: the BMC listens on
 * the sockets, QEMU connects to them by the same names, the CLI finds the
 * instance through them. Names only; each owner decides where its directory
 * is and what goes in its file.
 */

/** The KCS wire for the MCTP KCS channel (docs/kcs-wire.md); QEMU's virtio-serial port connects. */
export const KCS_MCTP_SOCKET = 'kcs-mctp.sock';
/** The UART cabled to the host's ttyS1 (MCTP serial binding); QEMU's second serial chardev connects. */
export const MCTP_SERIAL_SOCKET = 'mctp-serial.sock';
/** The VUART's host side, the host console (ttyS0); QEMU's first serial chardev connects. */
export const HOST_CONSOLE_SOCKET = 'host-console.sock';
/** QEMU's QMP socket (QEMU listens). */
export const QMP_SOCKET = 'qmp.sock';
/** QEMU's ipmi-bmc-extern chardev (optional). */
export const IPMI_SOCKET = 'ipmi.sock';
/** The LPC FW window file QEMU maps as ivshmem BAR2 (docs/lpc-window.md). */
export const LPC_FW_WINDOW_FILENAME = 'lpc-fw-window';
/** The API's address for the CLI, written when the API listens. */
export const API_JSON = 'api.json';
/** Who holds the directory. */
export const PID_FILE = 'bmcemu.pid';

/** A packet capture of one MCTP link. */
export function captureFileName(link: string): string {
  return `capture-${link}.pcap`;
}
