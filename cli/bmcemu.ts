#!/usr/bin/env node
/**
 * The bmcemu command: long-running parts (run, host-agent, guest-agent) and
 * the commands that talk to a running instance through its API.
 */
import { isCliError } from './errors.js';
import { splitCommandLine } from './global-options.js';

const USAGE = `usage: bmcemu [target options] <command> [options]

  run           start an emulated BMC and power its QEMU host on (--no-host: BMC alone)
  host-agent    the host side of the LPC binding, from another process on this machine
  guest-agent   the host agent inside the QEMU guest (started by the guest's init)

  status        BMC and host status
  power         host power: status|on|off|soft-off|reset|cycle
  wait          wait for a condition (host-on, astlpc-up, endpoint:<eid>, milestone:<name>, ...)
  mctp          link|address|route|neigh|endpoints|req|pcap, as mctp(1) prints them
  console       the host console: log, follow (-f) or interactive (-i)
  ipmi          raw NETFN CMD [DATA...] as ipmitool raw; log [-f]: every IPMI message the BMC handled
  sel           list|clear the System Event Log, as ipmitool sel prints it
  fru           print FRU device 0, as ipmitool fru print prints it

Each command takes --help. The instance a command is about: --instance NAME
(default $BMCEMU_INSTANCE, else "default"), --runtime-dir DIR, or --api URL;
these may come before or after the command:  bmcemu --instance lab mctp link
`;

type Main = (argv: string[]) => Promise<number | void>;

const COMMANDS: Record<string, () => Promise<Main>> = {
  run: async () => (await import('./commands/run.js')).main,
  'host-agent': async () => (await import('./commands/host-agent.js')).main,
  'guest-agent': async () => (await import('./commands/guest-agent.js')).main,
  status: async () => (await import('./commands/status.js')).main,
  power: async () => (await import('./commands/power.js')).main,
  wait: async () => (await import('./commands/wait.js')).main,
  mctp: async () => (await import('./commands/mctp.js')).main,
  console: async () => (await import('./commands/console.js')).main,
  ipmi: async () => (await import('./commands/ipmi.js')).main,
  sel: async () => (await import('./commands/sel.js')).main,
  fru: async () => (await import('./commands/fru.js')).main,
};

async function main(): Promise<void> {
  let line;
  try {
    line = splitCommandLine(process.argv.slice(2));
  } catch (e) {
    if (!isCliError(e, 'ERR_USAGE')) throw e;
    process.stderr.write(`bmcemu: ${e.message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { command: cmd, argv } = line;
  if (cmd === undefined) {
    if (!line.help && argv.length) {
      process.stderr.write(`bmcemu: which command? ${argv.join(' ')} names an instance but no command\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    process.stdout.write(USAGE);
    return;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    process.stderr.write(`bmcemu: unknown command "${cmd}"\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const code = await (await load())(argv);
  if (typeof code === 'number') process.exitCode = code;
}

main().catch((e: unknown) => {
  process.stderr.write(`bmcemu: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
