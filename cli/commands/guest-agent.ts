/**
 * `bmcemu guest-agent`: the host agent as it runs inside the x86 QEMU guest.
 * It finds its two devices — the LPC window (BAR2 of the ivshmem PCI device,
 * mapped) and the KCS wire (the virtio-serial port named bmcemu.kcs.3) —
 * runs the host side of the MCTP astlpc binding over them (HostAgent, which
 * also answers MCTP control as an endpoint, so the BMC's bus owner can assign
 * its EID), answers MCTP echo, and reports on stdout in lines the BMC's console capture and the
 * tests wait for:
 *
 *   bmcemu-agent: started ...                  devices found, agent running
 *   bmcemu-agent: astlpc up v<ver> mtu <mtu>   channel active (MTU incl. the 4-byte header); again after every re-init
 *   bmcemu-agent: echo ok <ms> ms              --echo: an echo to the BMC came back (after every "astlpc up")
 *   bmcemu-agent: error <message>              something is wrong; the message names the fix
 *
 * Everything else (notes, the link going down) goes to stderr with the same
 * prefix. The agent keeps running across BMC restarts: the KCS wire session is
 * re-established with SYNC and the binding re-initialises by itself.
 */
import { parseArgs } from 'node:util';
import { HOST_ASTLPC_IFNAME, HostAgent } from '../../host/host-agent.js';
import { CharDeviceLink, DEFAULT_CHAR_DEVICE_POLLING } from '../../host/guest/char-device-link.js';
import { MappedWindow } from '../../host/guest/mapped-window.js';
import { findIvshmemBar, PciDiscoveryError } from '../../host/guest/pci.js';
import { openSerialTty } from '../../host/guest/serial-tty.js';
import { DEFAULT_KCS_PORT_NAME, findVirtioPort, openVirtioPort, VirtioPortError } from '../../host/guest/virtio-port.js';
import type { AstlpcStateEvent } from '../../firmware/mctp/astlpc/binding.js';
import { systemClock } from '../../lib/clock.js';
import { echoRequest, startEchoResponder, type EchoResponder } from '../../firmware/mctp/echo.js';
import { SerialBinding } from '../../firmware/mctp/serial/binding.js';
import { Cmd } from '../../firmware/mctp/control/constants.js';
import { ControlRequester } from '../../firmware/mctp/control/requester.js';
import { MCTP_WINDOW_SIZE } from '../../transport/window-file.js';

export const AGENT_PREFIX = 'bmcemu-agent:';
export const GUEST_SERIAL_IFNAME = 'mctpserial0';

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

function status(line: string): void {
  process.stdout.write(`${AGENT_PREFIX} ${line}\n`);
}

function note(line: string): void {
  process.stderr.write(`${AGENT_PREFIX} ${line}\n`);
}

class UsageError extends Error {}

function intOpt(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer ${min}..${max}, got "${v}"`);
  return n;
}

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

function parseConfig(argv: string[]): GuestAgentConfig | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
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
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const windowSize = intOpt(values['window-size'], 'window-size', 4096, 1 << 30) ?? MCTP_WINDOW_SIZE;
  const wait = values.wait === undefined ? 10 : Number(values.wait);
  if (!(wait >= 0 && wait <= 3600)) throw new UsageError(`--wait must be a number of seconds 0..3600, got "${values.wait}"`);
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
}

/**
 * Retry `find` while the device is merely absent (the guest may still be
 * probing it) until `waitMs` has passed; other failures are final at once.
 */
async function waitForDevice<T>(find: () => T, waitMs: number, what: string): Promise<T> {
  const deadline = Date.now() + waitMs;
  let noted = false;
  for (;;) {
    try {
      return find();
    } catch (err) {
      const absent = (err instanceof PciDiscoveryError || err instanceof VirtioPortError) && (err.code === 'ENODEV' || err.code === 'ENOENT');
      if (!absent || Date.now() >= deadline) throw err;
      if (!noted) note(`waiting up to ${Math.round(waitMs / 1000)} s for ${what}`);
      noted = true;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** What runs, and how to stop it. */
interface Running {
  agent: HostAgent;
  link: CharDeviceLink;
  window: MappedWindow;
  echo: EchoResponder;
  serial: SerialBinding | null;
}

async function stopAll(r: Partial<Running>): Promise<void> {
  r.echo?.close();
  // Stopping the stack removes its interfaces, which closes their bindings (the serial one too).
  await r.agent?.stop();
  r.link?.close();
  r.window?.close();
}

/**
 * Run the agent until SIGINT/SIGTERM (then exit 0). On a configuration or
 * discovery error, prints `bmcemu-agent: error ...`, sets process.exitCode
 * (2 for bad options, 1 otherwise) and resolves.
 */
export async function guestAgentMain(argv: string[]): Promise<void> {
  let cfg: GuestAgentConfig | 'help';
  try {
    cfg = parseConfig(argv);
  } catch (err) {
    status(`error ${(err as Error).message} (see bmcemu guest-agent --help)`);
    process.exitCode = 2;
    return;
  }
  if (cfg === 'help') {
    process.stdout.write(GUEST_AGENT_USAGE);
    return;
  }
  const running: Partial<Running> = {};
  // Signals are handled from the start: the agent may wait a long time for the BMC.
  const hold = holdUntilSignal(running);
  try {
    await startAgent(cfg, running);
  } catch (err) {
    // Stopped by a signal while starting: not an error, the signal handler exits.
    if (hold.stopping()) return;
    hold.release();
    status(`error ${(err as Error).message}`);
    await stopAll(running).catch(() => {});
    process.exitCode = 1;
  }
}

async function startAgent(cfg: GuestAgentConfig, running: Partial<Running>): Promise<void> {
  // The window: the ivshmem BAR, or a file given explicitly (outside a guest).
  let windowDesc: string;
  if (cfg.window) {
    running.window = MappedWindow.open(cfg.window, cfg.windowSize);
    windowDesc = cfg.window;
  } else {
    const bar = await waitForDevice(
      () => findIvshmemBar({ sysfs: cfg.sysfs, size: cfg.windowSize, ...(cfg.pciDevice ? { address: cfg.pciDevice } : {}) }),
      cfg.waitMs,
      'the ivshmem device',
    );
    running.window = MappedWindow.open(bar.resourcePath, cfg.windowSize);
    windowDesc = `ivshmem ${bar.address} BAR2${bar.enabledNow ? ' (enabled it)' : ''}`;
  }

  // The KCS wire: the named virtio-serial port, or a device given explicitly.
  let kcsDesc: string;
  if (cfg.kcsPort) {
    running.link = new CharDeviceLink({ path: cfg.kcsPort, polling: { idleMaxMs: cfg.idlePollMs } });
    kcsDesc = cfg.kcsPort;
  } else {
    const port = await waitForDevice(() => findVirtioPort(cfg.portName, { sysfs: cfg.sysfs, devDir: cfg.dev }), cfg.waitMs, `virtio port ${cfg.portName}`);
    running.link = openVirtioPort(port, { polling: { idleMaxMs: cfg.idlePollMs } });
    kcsDesc = `${port.devPath} (${port.name})`;
  }

  const agent = new HostAgent({
    kcs: running.link,
    window: running.window,
    windowSize: cfg.windowSize,
    eid: cfg.eid,
    bmcEid: cfg.bmcEid,
    ...(cfg.mtu ? { mtu: cfg.mtu } : {}),
  });
  running.agent = agent;
  running.echo = startEchoResponder(agent.stack);
  watchAstlpc(agent, cfg);
  watchKcsWire(agent);

  // The serial interface does not depend on the KCS wire: up before the wait for the BMC.
  if (cfg.serial) running.serial = startSerial(agent, cfg);

  status(`started eid ${cfg.eid ?? 'dynamic'} bmc-eid ${cfg.bmcEid} window ${windowDesc} (${cfg.windowSize} bytes) kcs ${kcsDesc}`);
  await agent.start();
}

/**
 * One "astlpc up" per activation, and an echo after each when asked. Why the
 * channel does not come up (BMC not ready, a control area it cannot use) is
 * noted on stderr, once per distinct reason, so a silent console never hides it.
 */
function watchAstlpc(agent: HostAgent, cfg: GuestAgentConfig): void {
  let up = false;
  let lastReason = '';
  agent.astlpc.on('state', (ev: AstlpcStateEvent) => {
    if (ev.carrier !== up) {
      up = ev.carrier;
      lastReason = ev.lastError ?? '';
      if (!up) {
        note(`astlpc down: ${ev.state}${ev.lastError ? ` (${ev.lastError})` : ''}`);
        return;
      }
      status(`astlpc up v${ev.version} mtu ${ev.mtu}`);
      if (cfg.echo) void echoOnce(agent);
      return;
    }
    if (!up && ev.lastError && ev.lastError !== lastReason) {
      lastReason = ev.lastError;
      note(`astlpc ${ev.state}: ${ev.lastError}`);
    }
  });
}

/** Echo budget after "astlpc up": the BMC may still be setting us up (bus owner queries) for a moment. */
const ECHO_DEADLINE_MS = 15000;
const ECHO_ATTEMPT_MS = 1000;

async function echoOnce(agent: HostAgent): Promise<void> {
  const deadline = Date.now() + ECHO_DEADLINE_MS;
  const linkUp = (): boolean => agent.stack.findInterface(HOST_ASTLPC_IFNAME)?.carrier ?? false;
  // Without a static EID there is nothing to send from until the bus owner assigns one.
  if (agent.staticEid === null && !(await assignedBy(agent, deadline))) {
    if (linkUp()) status(`error no EID assigned within ${ECHO_DEADLINE_MS / 1000} s: is the BMC's bus owner running? (or give the agent --eid)`);
    return;
  }
  if (agent.staticEid === null) note(`MCTP EID ${agent.eid} (assigned by the BMC's bus owner)`);
  for (;;) {
    try {
      const r = await echoRequest(agent.stack, { eid: agent.bmcEid, len: 64, clock: systemClock, timeoutMs: ECHO_ATTEMPT_MS });
      status(`echo ok ${r.rttMs.toFixed(2)} ms`);
      return;
    } catch (err) {
      // The link dropped again meanwhile: the next "astlpc up" echoes again.
      if (!linkUp()) {
        note(`echo abandoned, the link went down: ${(err as Error).message}`);
        return;
      }
      if (Date.now() + ECHO_ATTEMPT_MS > deadline) {
        status(
          `error echo to EID ${agent.bmcEid} failed for ${ECHO_DEADLINE_MS / 1000} s: ${(err as Error).message} ` +
            `(is the BMC's MCTP echo responder running, and does the BMC route EID ${agent.eid}?)`,
        );
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** True once the astlpc link has an EID; false at the deadline or if the link goes down first. */
async function assignedBy(agent: HostAgent, deadline: number): Promise<boolean> {
  while (agent.stack.findInterface(HOST_ASTLPC_IFNAME)?.addrs.length === 0) {
    if (Date.now() > deadline || !agent.stack.findInterface(HOST_ASTLPC_IFNAME)?.carrier) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * Wire-level trouble: a BMC speaking another KCS wire version is a real
 * misconfiguration (status error, once per message); lost alignment during a
 * BMC restart is routine and only noted.
 */
function watchKcsWire(agent: HostAgent): void {
  let lastError = '';
  let waitNoted = false;
  agent.kcsClient.on('protocol-error', (err: Error & { code?: string }) => {
    if (err.code === 'EVERSION' || err.code === 'ECHANNEL') {
      if (err.message !== lastError) status(`error ${err.message}: run a bmcemu of the same release on both sides`);
      lastError = err.message;
    } else {
      note(`KCS wire: ${err.message}; resynchronising`);
    }
  });
  agent.kcsClient.on('ready', () => {
    lastError = '';
    waitNoted = false;
  });
  // Say once if the BMC does not answer for a while (it may simply not be running yet).
  const check = setInterval(() => {
    if (!agent.kcsClient.ready && !waitNoted) {
      waitNoted = true;
      note('no answer on the KCS wire yet: waiting for the BMC (is bmcemu running and QEMU connected to its KCS socket?)');
    }
  }, 5000);
  check.unref();
}

/**
 * The DSP0253 link on the tty cabled to the BMC's UART: with a static EID
 * it gets that address (and no route: one EID has one route, and the BMC's
 * is on astlpc); otherwise the bus owner assigns it one, as on astlpc.
 */
function startSerial(agent: HostAgent, cfg: GuestAgentConfig): SerialBinding {
  const binding = new SerialBinding({ stream: openSerialTty(cfg.serial!) });
  const iface = agent.stack.addInterface(GUEST_SERIAL_IFNAME, binding);
  if (cfg.eid !== null) agent.stack.addAddress(GUEST_SERIAL_IFNAME, cfg.eid);
  iface.setUp(true);
  note(`MCTP serial binding on ${cfg.serial} as ${GUEST_SERIAL_IFNAME}, EID ${cfg.eid ?? 'assigned by the bus owner'}`);
  if (cfg.eid === null) announceOnSerial(agent, iface.index);
  return binding;
}

/**
 * A serial line has no presence detection: the BMC's UART had "carrier" long
 * before this agent ran, and its bus owner's first probe went unanswered. As
 * DSP0236 has an endpoint do, send Discovery Notify to the bus owner
 * (physically addressed) until it has assigned us an EID on this link.
 */
function announceOnSerial(agent: HostAgent, ifindex: number): void {
  const requester = new ControlRequester(agent.stack, { clock: systemClock });
  const tick = (): void => {
    if (agent.stack.findInterface(GUEST_SERIAL_IFNAME)?.addrs.length) {
      requester.close();
      return;
    }
    requester.request({ ifindex }, { command: Cmd.DiscoveryNotify }, { retry: false }).catch(() => undefined);
    setTimeout(tick, 2000).unref();
  };
  tick();
}

/**
 * Protocol timers are unref'd, so a daemon that only waits holds the event
 * loop open itself; SIGINT/SIGTERM stop everything and exit 0. release()
 * gives up the hold (for a failed start).
 */
function holdUntilSignal(running: Partial<Running>): { release(): void; stopping(): boolean } {
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    note(`${sig}: stopping`);
    clearInterval(keepAlive);
    stopAll(running).then(
      () => process.exit(0),
      (err: Error) => {
        status(`error while stopping: ${err.message}`);
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
