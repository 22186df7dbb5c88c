/**
 * `bmcemu run`: start an emulated BMC and power its QEMU host on, reporting
 * as it happens — image, QEMU, boot milestones, astlpc channel up, host
 * endpoint assigned, echo round trip, the API address. Ctrl-C shuts it all
 * down. `--no-host` starts the BMC alone (a host agent can attach from
 * another process: `bmcemu host-agent`). `--mctp-serial PATH[,BAUD]` runs the
 * BMC's MCTP serial binding on a real tty or a pty instead of the UART cabled
 * to the emulated host.
 *
 * Much of what it reports is driven by the host (astlpc state changes, guest
 * resets, console milestones, peers dropped for not reading), so every such
 * line goes through one rate limiter: per kind, RUN_LOG_BURST lines per
 * RUN_LOG_INTERVAL_MS, then one line saying how many were left out. A hostile
 * or broken host cannot flood the log.
 */
import type { EventEmitter } from 'node:events';
import { parseArgs } from 'node:util';
import type { Clock } from '../../lib/clock.js';
import { LogRateLimiter } from '../../lib/rate-limit.js';
import { BmcInstance } from '../../instance/bmc-instance.js';
import type { AstlpcStateEvent } from '../../firmware/mctp/astlpc/binding.js';
import { parseSerialDeviceSpec, type SerialDeviceOptions } from '../../transport/serial-device.js';
import { isCodedError } from '../../lib/errors.js';
import { usageError } from '../errors.js';
import { ASTLPC_IFNAME, SERIAL_IFNAME } from '../../firmware/bmc/bmc-firmware.js';
import type { MctpStack } from '../../firmware/mctp/stack.js';
import type { ChardevOverflow } from '../../transport/chardev-socket.js';
import { intOpt, log, runUntilSignalled } from '../daemon.js';
import { claimRuntimeDir, describeStaleClaim, instanceDir, instanceName } from '../runtime-dir.js';
import { instanceStateDir } from '../state-dir.js';

export const RUN_USAGE = `usage: bmcemu run [--instance NAME | --runtime-dir DIR] [--state-dir DIR] [--no-host] [--eid N] [--mtu N]
                  [--mctp-serial PATH[,BAUD]] [--api-host ADDR] [--api-port PORT]  (token: $BMCEMU_API_TOKEN)
  --instance NAME    instance name (default $BMCEMU_INSTANCE, else "default"); its runtime
                     directory is /dev/shm/bmcemu-<uid>/NAME (or under $BMCEMU_RUNTIME_BASE)
  --runtime-dir DIR  an explicit runtime directory instead
  --state-dir DIR    where the SEL, FRU and boot options persist (default
                     $BMCEMU_STATE_DIR/NAME, $XDG_STATE_HOME/bmcemu/NAME or ~/.local/state/bmcemu/NAME)
  --mctp-serial      run the MCTP serial binding on this tty or pty (default baud 115200)
                     instead of the UART cabled to the emulated host's ttyS1
`;

/** --mctp-serial PATH[,BAUD], as a usage error when malformed. */
export function mctpSerialOpt(v: string | undefined): SerialDeviceOptions | undefined {
  if (v === undefined) return undefined;
  try {
    return parseSerialDeviceSpec(v);
  } catch (err) {
    throw isCodedError(err, 'ERR_BAD_CONFIG') ? usageError(`--mctp-serial: ${err.message}`) : err;
  }
}

export function describeAstlpc(ev: AstlpcStateEvent): string {
  if (ev.carrier) return `astlpc channel up: protocol v${ev.version}, MTU ${ev.mtu} (${ev.mtu - 4}-byte payload)`;
  return `astlpc ${ev.state}${ev.lastError ? ` (${ev.lastError})` : ''}`;
}

/** Lines of one kind printed back to back, and the time in which that many come back. */
export const RUN_LOG_BURST = 20;
export const RUN_LOG_INTERVAL_MS = 10_000;

/** The limiter for a daemon's host-driven lines (printed with `bmcemu: ` by default). */
export function runLogLimiter(sink: (line: string) => void = log, clock?: Clock): LogRateLimiter {
  return new LogRateLimiter(sink, { burst: RUN_LOG_BURST, intervalMs: RUN_LOG_INTERVAL_MS, ...(clock ? { clock } : {}) });
}

/** Log astlpc transitions, once per distinct line, at most RUN_LOG_BURST per interval. */
export function astlpcLogger(prefix: string, limiter: LogRateLimiter = runLogLimiter()): (ev: AstlpcStateEvent) => void {
  let last = '';
  return (ev) => {
    const line = describeAstlpc(ev);
    if (line !== last) limiter.log(`${prefix}astlpc`, `${prefix}${line}`);
    last = line;
  };
}

/** What each MCTP link is, for people: the interface names are the kernel's, the bindings are what a user knows. */
const LINK_KINDS: Record<string, string> = { [ASTLPC_IFNAME]: 'astlpc', [SERIAL_IFNAME]: 'serial' };

/**
 * The start-up line about MCTP: each link with its own EIDs, as the stack
 * has them. They differ on purpose (docs/mctp-control.md, "The BMC's
 * addresses"): EID 8 on astlpc, 20 on serial, so replies to serial requests
 * come back over serial.
 */
export function mctpLine(stack: Pick<MctpStack, 'interfaces'>): string {
  const links = stack.interfaces().map((i) => {
    const kind = LINK_KINDS[i.name];
    return `EID ${i.addrs.length ? i.addrs.join(',') : 'none'} on ${i.name}${kind ? ` (${kind})` : ''}`;
  });
  return `MCTP: ${links.join(', ')}; bus owner and echo responder running`;
}

/**
 * The kind of an instance log line, for the limiter: its first word ("host",
 * "reset", "qemu", ...), so a flood of one kind never silences the others.
 */
export function logKind(line: string): string {
  return /^[^\s:]{1,32}/.exec(line)?.[0] ?? '';
}

/** Log each host-side wire dropping a peer that did not read (ChardevSocket 'overflow'). */
export function logWireOverflows(wires: Record<string, EventEmitter>, limiter: LogRateLimiter): void {
  for (const [name, wire] of Object.entries(wires)) {
    wire.on('overflow', (o: ChardevOverflow) =>
      limiter.log(
        `overflow ${name}`,
        `${name} (${o.endpoint}): peer was not reading (${o.queuedBytes} bytes unsent, limit ${o.maxQueuedBytes}): disconnected`,
      ),
    );
  }
}

function parseRunArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      instance: { type: 'string' },
      'runtime-dir': { type: 'string' },
      'state-dir': { type: 'string' },
      eid: { type: 'string' },
      mtu: { type: 'string' },
      'mctp-serial': { type: 'string' },
      'no-host': { type: 'boolean', default: false },
      'api-host': { type: 'string' },
      'api-port': { type: 'string' },
    },
  });
}

export async function main(argv: string[]): Promise<number | void> {
  let values;
  try {
    ({ values } = parseRunArgs(argv));
  } catch (e) {
    process.stderr.write(`bmcemu run: ${(e as Error).message}\n${RUN_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(RUN_USAGE);
    return 0;
  }
  const mtu = intOpt(values.mtu, 'mtu', 68, 1 << 20);
  const eid = intOpt(values.eid, 'eid', 8, 254);
  const apiPort = intOpt(values['api-port'], 'api-port', 0, 65535);
  const mctpSerial = mctpSerialOpt(values['mctp-serial']);
  const token = process.env.BMCEMU_API_TOKEN;
  const withHost = !values['no-host'];
  const dir = claimRuntimeDir(instanceDir(instanceName(values.instance), values['runtime-dir']), {
    // Our QEMU is gone once we are (it runs under --pdeathsig); a host agent of `--no-host` may outlive us.
    removeWindow: withHost,
    removeDir: values['runtime-dir'] === undefined,
  });
  // Whatever ends this process — a signal, a failed start, an uncaught error — leaves no claim behind.
  process.on('exit', () => dir.release());
  if (dir.stale) log(describeStaleClaim(dir.dir, dir.stale));
  const stateDir = instanceStateDir(instanceName(values.instance), values['state-dir']);
  const limiter = runLogLimiter();
  const instance = new BmcInstance({
    runtimeDir: dir.dir,
    stateDir,
    host: withHost,
    ...(mtu ? { mtu } : {}),
    ...(eid ? { eid } : {}),
    ...(mctpSerial ? { mctpSerial } : {}),
    api: { ...(values['api-host'] ? { host: values['api-host'] } : {}), ...(apiPort !== undefined ? { port: apiPort } : {}), ...(token ? { token } : {}) },
    log: (line) => limiter.log(logKind(line), line),
  });
  instance.fw.onAstlpcState(astlpcLogger('', limiter));
  logWireOverflows({ 'KCS wire': instance.soc.kcsWire, 'MCTP serial wire': instance.soc.mctpSerialWire, 'host console wire': instance.soc.consoleWire }, limiter);
  let stopping = false;
  runUntilSignalled(async () => {
    stopping = true;
    limiter.flush();
    await instance.stop();
    dir.release();
  });
  log(`runtime directory ${dir.dir}; state directory ${stateDir}`);
  try {
    await instance.start();
  } catch (e) {
    // Stop what did start (sockets, API, QEMU) before the error ends the process.
    stopping = true;
    await instance.stop().catch(() => {});
    dir.release();
    throw e;
  }
  log(mctpLine(instance.fw.stack));
  if (mctpSerial) log(`MCTP serial binding on ${mctpSerial.path} at ${mctpSerial.baudRate} baud`);
  if (instance.api?.address) {
    const { url } = instance.api.address;
    log(`dashboard at ${url}/ ; status API at ${url}/api/v1 (docs at ${url}/api/v1/docs)`);
  }
  if (!instance.host) {
    log(`no host: attach one with  bmcemu host-agent --runtime-dir ${dir.dir} --echo`);
  }
  // Report the end-to-end result once per boot: endpoint assigned, then echo.
  instance.on('endpoint', (e: { eid: number; iface: string }) => {
    if (stopping) return;
    const link = e.iface === 'mctplpc0' ? 'astlpc' : e.iface === 'mctpserial0' ? 'serial' : e.iface;
    instance.echo(e.eid).then(
      (r) => limiter.log('echo', `echo round trip to EID ${e.eid} over ${link} OK (${r.bytes} bytes, ${r.rttMs.toFixed(2)} ms)`),
      (err: Error) => limiter.log('echo', `echo to EID ${e.eid} failed: ${err.message}`),
    );
  });
  log('Ctrl-C stops; `bmcemu console -f` shows the host console');
}
