#!/usr/bin/env node
/**
 * The bmcemu command.
 *
 *   bmcemu run         start an emulated BMC (models, firmware, MCTP over astlpc)
 *   bmcemu host-agent  run the host side of the LPC binding against a running BMC
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Ast2500Soc } from '../hw-models/ast2500-soc.js';
import { BmcFirmware, ASTLPC_IFNAME } from '../firmware/bmc/bmc-firmware.js';
import { HostAgent } from '../firmware/host-agent/host-agent.js';
import { systemClock } from '../firmware/mctp/clock.js';
import { echoRequest, startEchoResponder } from '../firmware/mctp/echo.js';
import type { AstlpcStateEvent } from '../firmware/mctp/astlpc/astlpc.js';
import { claimRuntimeDir, instanceDir } from './runtime-dir.js';
import { KCS_MCTP_SOCKET } from '../hw-models/ast2500-soc.js';
import { LPC_FW_WINDOW_FILENAME } from '../hw-models/wire/window-file.js';

const USAGE = `usage:
  bmcemu run [--instance NAME | --runtime-dir DIR] [--eid N] [--host-eid N] [--mtu N]
  bmcemu host-agent [--instance NAME | --runtime-dir DIR] [--kcs SOCKET] [--window FILE]
                    [--eid N] [--bmc-eid N] [--mtu N] [--echo]

  --instance NAME    instance whose runtime directory to use (default "default")
  --runtime-dir DIR  explicit runtime directory (sockets and the LPC window file)
  --mtu N            astlpc MTU including the 4-byte MCTP header (e.g. 68 = BTU)
  --echo             host-agent: send an echo to the BMC once the link is up
`;

function log(msg: string): void {
  process.stdout.write(`bmcemu: ${msg}\n`);
}

function intOpt(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer ${min}..${max}, got "${v}"`);
  return n;
}

function describeState(ev: AstlpcStateEvent): string {
  if (ev.carrier) return `astlpc channel up: protocol v${ev.version}, MTU ${ev.mtu} (${ev.mtu - 4}-byte payload)`;
  return `astlpc ${ev.state}${ev.lastError ? ` (${ev.lastError})` : ''}`;
}

/** Log astlpc transitions, once per distinct line. */
function stateLogger(prefix: string): (ev: AstlpcStateEvent) => void {
  let last = '';
  return (ev) => {
    const line = describeState(ev);
    if (line !== last) log(`${prefix}${line}`);
    last = line;
  };
}

/**
 * Run until SIGINT/SIGTERM. Protocol timers are unref'd (they never keep a
 * process alive by themselves), so a daemon that is only waiting — say, for
 * a BMC to appear — holds the event loop open explicitly.
 */
function onSignals(stop: () => Promise<void>): void {
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const handler = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: shutting down`);
    clearInterval(keepAlive);
    stop().then(
      () => process.exit(0),
      (e) => {
        log(`shutdown failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      instance: { type: 'string', default: 'default' },
      'runtime-dir': { type: 'string' },
      eid: { type: 'string' },
      'host-eid': { type: 'string' },
      mtu: { type: 'string' },
    },
  });
  const dir = claimRuntimeDir(instanceDir(values.instance!, values['runtime-dir']));
  const soc = new Ast2500Soc({ runtimeDir: dir.dir });
  await soc.start();
  const mtu = intOpt(values.mtu, 'mtu', 68, 1 << 20);
  const fw = new BmcFirmware({
    soc,
    eid: intOpt(values.eid, 'eid', 8, 254) ?? 8,
    hostEid: intOpt(values['host-eid'], 'host-eid', 8, 254) ?? 9,
    ...(mtu ? { mtu } : {}),
  });
  fw.onAstlpcState(stateLogger(''));
  fw.start();
  const echo = startEchoResponder(fw.stack);
  log(`runtime directory ${dir.dir}`);
  log(`LPC FW window file ${soc.windowFile} (1 MiB, host LPC address 0x0ff00000)`);
  log(`KCS wire (MCTP channel 3, LPC I/O 0xca2/0xca3) listening on ${soc.kcsWire.describe()}`);
  log(`MCTP: ${ASTLPC_IFNAME} EID ${fw.eid}; host EID ${fw.hostEid} routed over astlpc; echo responder on type 0x7e`);
  log('the QEMU host is not wired in yet: connect a host agent with');
  log(`  bmcemu host-agent --runtime-dir ${dir.dir} --echo`);
  log('Ctrl-C stops');
  onSignals(async () => {
    echo.close();
    await fw.stop();
    await soc.close();
    dir.release();
  });
}

async function hostAgent(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      instance: { type: 'string', default: 'default' },
      'runtime-dir': { type: 'string' },
      kcs: { type: 'string' },
      window: { type: 'string' },
      eid: { type: 'string' },
      'bmc-eid': { type: 'string' },
      mtu: { type: 'string' },
      echo: { type: 'boolean', default: false },
    },
  });
  const dir = instanceDir(values.instance!, values['runtime-dir']);
  const mtu = intOpt(values.mtu, 'mtu', 68, 1 << 20);
  const agent = new HostAgent({
    kcs: { kind: 'unix', path: values.kcs ?? path.join(dir, KCS_MCTP_SOCKET) },
    window: values.window ?? path.join(dir, LPC_FW_WINDOW_FILENAME),
    eid: intOpt(values.eid, 'eid', 8, 254) ?? 9,
    bmcEid: intOpt(values['bmc-eid'], 'bmc-eid', 8, 254) ?? 8,
    ...(mtu ? { mtu } : {}),
  });
  agent.astlpc.on('state', stateLogger('host: '));
  const echo = startEchoResponder(agent.stack);
  onSignals(async () => {
    echo.close();
    await agent.stop();
  });
  log(`host: connecting to the BMC's KCS wire; MCTP EID ${agent.eid}`);
  await agent.start();
  await agent.whenLinkUp();
  if (values.echo) {
    const r = await echoRequest(agent.stack, { eid: agent.bmcEid, len: 64, clock: systemClock });
    log(`host: echo round trip to EID ${agent.bmcEid} OK (${r.bytes} bytes, ${r.rttMs.toFixed(2)} ms)`);
  }
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case 'run':
      return run(rest);
    case 'host-agent':
      return hostAgent(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`bmcemu: unknown command "${cmd}"\n${USAGE}`);
      process.exitCode = 2;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bmcemu: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
