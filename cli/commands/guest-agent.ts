/**
 * `bmcemu guest-agent`: the host side as it runs inside the x86 QEMU guest.
 * It finds its devices (host/guest/: the ivshmem BAR as the LPC window, the
 * virtio-serial port named bmcemu.kcs.3 as the KCS wire, optionally a tty for
 * the MCTP serial binding), runs the host firmware over them
 * (host/host-firmware.ts: astlpc in host mode, MCTP control as an endpoint so
 * the BMC's bus owner can assign its EID, echo, Discovery Notify on serial)
 * and reports on the console in the lines host/agent-report.ts lists, which
 * the BMC's console capture and the tests wait for.
 *
 * The agent keeps running across BMC restarts (the KCS wire session is
 * re-established with SYNC and the binding re-initialises by itself) until
 * SIGINT/SIGTERM. Exit codes: 0 stopped by a signal, 1 a device or start
 * failure, 2 bad options.
 */
import { parseArgs } from 'node:util';
import { AGENT_PREFIX, processConsole, reportHostFirmware, type AgentConsole } from '../../host/agent-report.js';
import { DEFAULT_CHAR_DEVICE_POLLING } from '../../host/guest/char-device-link.js';
import { openGuestDevices, type GuestDevices } from '../../host/guest/guest-devices.js';
import { openSerialTty } from '../../host/guest/serial-tty.js';
import { DEFAULT_KCS_PORT_NAME } from '../../host/guest/virtio-port.js';
import { HOST_SERIAL_IFNAME, HostFirmware } from '../../host/host-firmware.js';
import { MCTP_WINDOW_SIZE } from '../../transport/window-file.js';
import { intOpt } from '../daemon.js';
import { isCliError, usageError } from '../errors.js';

export { AGENT_PREFIX };
export const GUEST_SERIAL_IFNAME = HOST_SERIAL_IFNAME;

export const GUEST_AGENT_USAGE = `usage: bmcemu guest-agent [options]

Run the host side of MCTP-over-LPC inside the QEMU guest: the LPC window is
BAR2 of the ivshmem device (1af4:1110), the KCS wire a virtio-serial port.

  --sysfs DIR         sysfs mount point (default /sys)
  --dev DIR           device node directory (default /dev)
  --port-name NAME    virtio-serial port carrying the KCS wire (default ${DEFAULT_KCS_PORT_NAME})
  --kcs-port PATH     use this character device as the KCS wire instead of looking the port up
  --pci-device ADDR   the ivshmem device to use when there are several (e.g. 0000:00:04.0)
  --window FILE       map this file as the LPC window instead of the ivshmem BAR
  --window-size N     LPC window size in bytes (default ${MCTP_WINDOW_SIZE})
  --eid N             a static EID for this host, with a static route to the BMC
                      (default: none; the BMC's bus owner assigns one, as mctpd does)
  --bmc-eid N         the BMC's EID (default 8)
  --mtu N             astlpc MTU to propose, 4-byte MCTP header included (default 32772)
  --serial PATH       also run the MCTP serial binding on this tty (e.g. /dev/ttyS1) as ${GUEST_SERIAL_IFNAME},
                      (--eid: that address; else the bus owner assigns one; the BMC's EID stays routed on astlpc)
  --idle-poll-ms N    longest interval between polls of the idle KCS port (default ${DEFAULT_CHAR_DEVICE_POLLING.idleMaxMs});
                      shorter notices BMC-initiated traffic sooner, longer costs less CPU under TCG
  --echo              once the link is up (and after every re-init), echo the BMC and report
  --wait SECONDS      how long to wait for the devices to appear (default 10)
`;

interface GuestAgentConfig {
  sysfs: string;
  dev: string;
  portName: string;
  kcsPort: string | undefined;
  pciDevice: string | undefined;
  window: string | undefined;
  windowSize: number;
  eid: number | null;
  bmcEid: number;
  mtu: number | undefined;
  serial: string | undefined;
  idlePollMs: number;
  echo: boolean;
  waitMs: number;
}

/** The options, or 'help'; anything wrong with them is a usage error (exit 2). */
function parseConfig(argv: string[]): GuestAgentConfig | 'help' {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        sysfs: { type: 'string', default: '/sys' },
        dev: { type: 'string', default: '/dev' },
        'port-name': { type: 'string', default: DEFAULT_KCS_PORT_NAME },
        'kcs-port': { type: 'string' },
        'pci-device': { type: 'string' },
        window: { type: 'string' },
        'window-size': { type: 'string' },
        eid: { type: 'string' },
        'bmc-eid': { type: 'string' },
        mtu: { type: 'string' },
        serial: { type: 'string' },
        'idle-poll-ms': { type: 'string' },
        echo: { type: 'boolean', default: false },
        wait: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) return 'help';
    const windowSize = intOpt(values['window-size'], 'window-size', 4096, 1 << 30) ?? MCTP_WINDOW_SIZE;
    const wait = values.wait === undefined ? 10 : Number(values.wait);
    if (!(wait >= 0 && wait <= 3600)) throw usageError(`--wait must be a number of seconds 0..3600, got "${values.wait}"`);
    return {
      sysfs: values.sysfs!,
      dev: values.dev!,
      portName: values['port-name']!,
      kcsPort: values['kcs-port'],
      pciDevice: values['pci-device'],
      window: values.window,
      windowSize,
      eid: intOpt(values.eid, 'eid', 8, 254) ?? null,
      bmcEid: intOpt(values['bmc-eid'], 'bmc-eid', 8, 254) ?? 8,
      mtu: intOpt(values.mtu, 'mtu', 68, 1 << 20),
      serial: values.serial,
      idlePollMs: intOpt(values['idle-poll-ms'], 'idle-poll-ms', 1, 10000) ?? DEFAULT_CHAR_DEVICE_POLLING.idleMaxMs,
      echo: values.echo!,
      waitMs: wait * 1000,
    };
  } catch (err) {
    throw isCliError(err, 'ERR_USAGE') ? err : usageError((err as Error).message);
  }
}

/**
 * Run the agent until SIGINT/SIGTERM (then exit 0). Resolves with 0 once it
 * runs, or, after printing `bmcemu-agent: error ...`, with 2 for bad options
 * and 1 for a device or start failure.
 */
export async function main(argv: string[]): Promise<number> {
  const out = processConsole();
  let cfg: GuestAgentConfig | 'help';
  try {
    cfg = parseConfig(argv);
  } catch (err) {
    out.status(`error ${(err as Error).message} (see bmcemu guest-agent --help)`);
    return 2;
  }
  if (cfg === 'help') {
    process.stdout.write(GUEST_AGENT_USAGE);
    return 0;
  }
  const running: Running = { devices: null, fw: null, abort: new AbortController() };
  // Signals are handled from the start: the agent may wait a long time for its devices and the BMC.
  const hold = holdUntilSignal(running, out);
  try {
    await start(cfg, running, out);
    return 0;
  } catch (err) {
    // Stopped by a signal while starting: not an error, the signal handler exits.
    if (hold.stopping()) return 0;
    hold.release();
    out.status(`error ${(err as Error).message}`);
    await stopAll(running).catch(() => {});
    return 1;
  }
}

/** What runs, and how to stop it. */
interface Running {
  devices: GuestDevices | null;
  fw: HostFirmware | null;
  /** Gives up a device wait in progress. */
  abort: AbortController;
}

async function start(cfg: GuestAgentConfig, running: Running, out: AgentConsole): Promise<void> {
  const devices = await openGuestDevices({
    ...cfg,
    signal: running.abort.signal,
    onWaiting: (what, waitMs) => out.note(`waiting up to ${Math.round(waitMs / 1000)} s for ${what}`),
  });
  running.devices = devices;
  const fw = new HostFirmware({
    kcs: devices.kcs,
    window: devices.window,
    windowSize: cfg.windowSize,
    eid: cfg.eid,
    bmcEid: cfg.bmcEid,
    ...(cfg.mtu ? { mtu: cfg.mtu } : {}),
    serial: cfg.serial ? openSerialTty(cfg.serial) : null,
    echo: cfg.echo,
  });
  running.fw = fw;
  reportHostFirmware(fw, out);
  if (cfg.serial) out.note(`MCTP serial binding on ${cfg.serial} as ${HOST_SERIAL_IFNAME}, EID ${cfg.eid ?? 'assigned by the bus owner'}`);
  out.status(`started eid ${cfg.eid ?? 'dynamic'} bmc-eid ${cfg.bmcEid} window ${devices.windowDesc} (${cfg.windowSize} bytes) kcs ${devices.kcsDesc}`);
  await fw.start();
}

async function stopAll(r: Running): Promise<void> {
  r.abort.abort();
  await r.fw?.stop();
  r.devices?.close();
}

/**
 * Protocol timers are unref'd, so a daemon that only waits holds the event
 * loop open itself; SIGINT/SIGTERM stop everything and exit 0. release()
 * gives up the hold (for a failed start).
 */
function holdUntilSignal(running: Running, out: AgentConsole): { release(): void; stopping(): boolean } {
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    out.note(`${sig}: stopping`);
    clearInterval(keepAlive);
    stopAll(running).then(
      () => process.exit(0),
      (err: Error) => {
        out.status(`error while stopping: ${err.message}`);
        process.exit(1);
      },
    );
  };
  const onInt = (): void => stop('SIGINT');
  const onTerm = (): void => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    release() {
      clearInterval(keepAlive);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
    stopping: () => stopping,
  };
}
