/**
 * `bmcemu run`: start an emulated BMC and power its QEMU host on, reporting
 * as it happens — image, QEMU, boot milestones, astlpc channel up, host
 * endpoint assigned, echo round trip, the API address. Ctrl-C shuts it all
 * down. `--no-host` starts the BMC alone (a host agent can attach from
 * another process: `bmcemu host-agent`).
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
import type { ChardevOverflow } from '../../transport/chardev-socket.js';
import { intOpt, log, runUntilSignalled } from '../daemon.js';
import { claimRuntimeDir, instanceDir } from '../runtime-dir.js';

export const RUN_USAGE = `usage: bmcemu run [--instance NAME | --runtime-dir DIR] [--no-host] [--eid N] [--mtu N]
                  [--api-host ADDR] [--api-port PORT]  (token: $BMCEMU_API_TOKEN)
`;

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

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      instance: { type: 'string', default: 'default' },
      'runtime-dir': { type: 'string' },
      eid: { type: 'string' },
      mtu: { type: 'string' },
      'no-host': { type: 'boolean', default: false },
      'api-host': { type: 'string' },
      'api-port': { type: 'string' },
    },
  });
  const dir = claimRuntimeDir(instanceDir(values.instance!, values['runtime-dir']));
  const mtu = intOpt(values.mtu, 'mtu', 68, 1 << 20);
  const eid = intOpt(values.eid, 'eid', 8, 254);
  const apiPort = intOpt(values['api-port'], 'api-port', 0, 65535);
  const token = process.env.BMCEMU_API_TOKEN;
  const limiter = runLogLimiter();
  const instance = new BmcInstance({
    runtimeDir: dir.dir,
    host: !values['no-host'],
    ...(mtu ? { mtu } : {}),
    ...(eid ? { eid } : {}),
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
  log(`runtime directory ${dir.dir}`);
  await instance.start();
  log(`MCTP: EID ${instance.fw.eid} on mctplpc0 (astlpc) and mctpserial0 (serial); bus owner and echo responder running`);
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
