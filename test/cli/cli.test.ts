/**
 * The API-backed subcommands against a real server on an ephemeral port,
 * with a real MctpStack joined to a second one through createBindingPair:
 * links, routes and echo are the stack's own, not fakes.
 */
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import t from 'tap';
import { main as consoleMain } from '../../cli/commands/console.js';
import type { CliIo } from '../../cli/options.js';
import { main as mctp } from '../../cli/commands/mctp.js';
import { main as power } from '../../cli/commands/power.js';
import { main as status } from '../../cli/commands/status.js';
import { main as wait } from '../../cli/commands/wait.js';
import { fixture, serve, settle, type Fixture } from '../firmware/services/api/helpers.js';

function capture(extra: Partial<CliIo> = {}) {
  const out: Buffer[] = [];
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string | Uint8Array) => out.push(Buffer.from(s)) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    ...extra,
  };
  return {
    io,
    get out() {
      return Buffer.concat(out).toString();
    },
    get bytes() {
      return Buffer.concat(out);
    },
    get err() {
      return err;
    },
  };
}

async function setup(t: { teardown(fn: () => unknown): void }, opts: Parameters<typeof fixture>[0] = {}) {
  const f = fixture({ hwAddr: true, ...opts });
  const s = await serve(t, f);
  const { url } = await s.listen();
  /** Run a command; returns exit code and output. */
  const run = async (cmd: (argv: string[], io: CliIo) => Promise<number>, argv: string[], extra: Partial<CliIo> = {}) => {
    const c = capture(extra);
    const code = await cmd([...argv, '--api', url], c.io);
    return { code, out: c.out, err: c.err, bytes: c.bytes };
  };
  return { f, s, url, run };
}

t.test('status', async (t) => {
  const { f, run } = await setup(t);
  f.power.set('on');
  const r = await run(status, []);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^bmc: {7}bmcemu 0\.1\.0-test, pid \d+, up \d+s\n/);
  t.match(r.out, /\nhost: {6}power on, boot 1, up \d+s\n/);
  t.match(r.out, /\nlink: {6}mctp0 up, carrier, eid 8\n/);
  t.match(r.out, /\nastlpc: {4}waiting-init\n/);
  t.match(r.out, /\nendpoints: 0\n/);
  t.notMatch(r.out, /\nboot:/, 'no boot line before the first milestone');
  t.match(r.out, /\ndashboard: http:\/\/127\.0\.0\.1:\d+\/\n$/);
  f.events.milestone('init-started', { seconds: 4.26 });
  f.events.milestone('agent-started');
  t.match((await run(status, [])).out, /\nboot: {6}init-started 4\.3s, agent-started\n/, 'boot progress, with times when known');
  const j = await run(status, ['--json']);
  t.equal(JSON.parse(j.out).version, '0.1.0-test');
  t.match(JSON.parse(j.out).host.boot, { id: 1, reason: 'power-on' });

  // A reset: boot 2, uptime from the reset; endpoints the host had are unavailable until it is back.
  f.power.boot = { ...f.power.boot!, startedAt: Date.now() - 3_600_000 };
  t.match((await run(status, [])).out, /\nhost: {6}power on, boot 1, up 1h/);
  await f.power.reset();
  f.endpoints.assign({ eid: 9, net: 1, iface: 'mctp0', types: [0], uuid: null, connectivity: 'unavailable' });
  const after = (await run(status, [])).out;
  t.match(after, /\nhost: {6}power on, boot 2, up \d+s\n/, 'a reset is a new boot; uptime restarts');
  t.match(after, /\nendpoints: 1 \(1 unavailable until the host is back\)\n/);
  t.notMatch(after, /\nboot:/, 'the previous boot\'s milestones are not this one\'s');
  const bad = await run(status, ['extra']);
  t.equal(bad.code, 2);
  t.match(bad.err, /unexpected argument "extra"\nusage: bmcemu status/);
  const unknownOpt = await run(status, ['--frobnicate']);
  t.equal(unknownOpt.code, 2);
});

t.test('the API is found through api.json in the runtime directory', async (t) => {
  const { f } = await setup(t);
  const c = capture();
  t.equal(await status(['--runtime-dir', f.dir], c.io), 0, c.err);
  t.match(c.out, /mctp0 up/);

  const none = capture();
  const empty = fs.mkdtempSync(path.join(f.dir, 'empty-'));
  t.equal(await status(['--runtime-dir', empty], none.io), 1);
  t.match(none.err, /no running bmcemu API found: .*api\.json does not exist \(is the instance running\?/);

  const refused = capture();
  t.equal(await status(['--api', 'http://127.0.0.1:1'], refused.io), 1);
  t.match(refused.err, /cannot reach the bmcemu API at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);

  const env = capture({ env: { BMCEMU_API: 'http://127.0.0.1:1' } });
  t.equal(await status([], env.io), 1, '$BMCEMU_API is used');
  t.match(env.err, /127\.0\.0\.1:1/);
});

t.test('a token from --token or $BMCEMU_API_TOKEN', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { token: 'sixteen-characters!' });
  const { url } = await s.listen();
  const no = capture();
  t.equal(await status(['--api', url], no.io), 1);
  t.match(no.err, /bmcemu status: an Authorization: Bearer <token> header is required/);
  const flag = capture();
  t.equal(await status(['--api', url, '--token', 'sixteen-characters!'], flag.io), 0, flag.err);
  const env = capture({ env: { BMCEMU_API_TOKEN: 'sixteen-characters!' } });
  t.equal(await status(['--api', url], env.io), 0, env.err);
});

t.test('power', async (t) => {
  const { f, run } = await setup(t);
  let r = await run(power, []);
  t.equal(r.code, 0);
  t.equal(r.out, 'power: off\n');
  r = await run(power, ['on']);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^power: on \(up \d+s\)\n$/);
  t.same(f.power.calls, ['on']);
  for (const a of ['off', 'soft-off', 'reset', 'cycle']) t.equal((await run(power, [a])).code, 0, a);
  t.same(f.power.calls, ['on', 'off', 'soft-off', 'reset', 'cycle']);
  r = await run(power, ['explode']);
  t.equal(r.code, 2);
  t.match(r.err, /unknown power action "explode"/);
  f.power.fail = Object.assign(new Error('QEMU is already starting'), { code: 'EBUSY' });
  r = await run(power, ['on']);
  t.equal(r.code, 1);
  t.equal(r.err, 'bmcemu power: QEMU is already starting (EBUSY)\n');
});

t.test('power without a launcher: 501 said as such', async (t) => {
  const { run } = await setup(t, { parts: false });
  const r = await run(power, ['on']);
  t.equal(r.code, 1);
  t.equal(r.err, 'bmcemu power: host power control is not implemented yet: no QEMU host launcher is wired into this BMC\n');
});

t.test('wait', async (t) => {
  const { f, run } = await setup(t);
  let r = await run(wait, ['link-up:mctp0']);
  t.equal(r.code, 0, r.err);
  t.equal(r.out, 'link-up:mctp0: met\n');

  const pending = run(wait, ['milestone:login', '--timeout', '10']);
  await new Promise((res) => setTimeout(res, 50));
  f.events.milestone('login');
  r = await pending;
  t.equal(r.code, 0, r.err);

  r = await run(wait, ['host-on', '--timeout', '0.2']);
  t.equal(r.code, 1);
  t.equal(r.err, 'bmcemu wait: timed out after 0.2 s waiting for host-on; last seen: {"power":"off"}\n');

  r = await run(wait, ['bogus']);
  t.equal(r.code, 2);
  t.match(r.err, /unknown condition "bogus"; valid forms:/);
  r = await run(wait, []);
  t.equal(r.code, 2);
  t.match(r.err, /a condition is required/);
  r = await run(wait, ['host-on', '--timeout', 'soon']);
  t.equal(r.code, 2);
});

t.test('wait finds an instance that starts after it', async (t) => {
  const f = fixture();
  t.teardown(() => f.close());
  const c = capture();
  const pending = wait(['link-up:mctp0', '--timeout', '10', '--runtime-dir', f.dir], c.io);
  await new Promise((res) => setTimeout(res, 300));
  const { createApiServer } = await import('../../firmware/services/api/server.js');
  const s = await createApiServer(f.ctx);
  t.teardown(() => s.close());
  await s.listen();
  t.equal(await pending, 0, c.err);

  const gone = capture();
  const dir = fs.mkdtempSync(path.join(f.dir, 'none-'));
  t.equal(await wait(['host-on', '--timeout', '0.3', '--runtime-dir', dir], gone.io), 1);
  t.match(gone.err, /timed out after 0\.3 s waiting for host-on: no running bmcemu API found/);
});

async function withTopology(f: Fixture): Promise<void> {
  f.bmc.addNeighbour('mctp0', 9, Buffer.from([0x2e]));
  f.bmc.addRoute({ min: 20, max: 30, gateway: { eid: 9 }, mtu: 128 });
  await settle();
}

t.test('mctp link|address|route|neigh print mctp(1) lines', async (t) => {
  const { f, run } = await setup(t);
  await withTopology(f);
  let r = await run(mctp, ['link']);
  t.equal(r.code, 0, r.err);
  t.equal(r.out, 'dev mctp0 index 1 address 0x1d net 1 mtu 68 up\n');
  t.equal((await run(mctp, ['link', 'show', 'mctp0'])).out, r.out);
  t.equal((await run(mctp, ['l'])).out, r.out, 'abbreviated like mctp');
  r = await run(mctp, ['link', 'show', 'nope0']);
  t.equal(r.code, 1);
  t.equal(r.err, 'bmcemu mctp: ENODEV: no MCTP interface nope0 (ENODEV)\n');

  r = await run(mctp, ['address']);
  t.equal(r.out, 'eid 8 net 1 dev mctp0\n');
  t.equal((await run(mctp, ['addr', 'show', 'mctp0'])).out, r.out);

  r = await run(mctp, ['route']);
  t.equal(r.out, ['eid min 20 max 30 net 1 gw 9 mtu 128', 'eid min 9 max 9 net 1 dev mctp0 mtu 0', 'eid min 8 max 8 net 1 dev mctp0 mtu 0', ''].join('\n'));
  t.equal((await run(mctp, ['r', 'show', 'net', '1'])).out, r.out);
  t.equal((await run(mctp, ['route', 'show', 'net', '2'])).out, '', 'filtered by net');

  r = await run(mctp, ['neigh']);
  t.equal(r.out, 'eid 9 net 1 dev mctp0 lladdr 0x2e\n');
  t.equal((await run(mctp, ['neigh', 'show', 'dev', 'mctp0'])).out, r.out);

  r = await run(mctp, ['link', '--json']);
  t.equal(JSON.parse(r.out)[0].name, 'mctp0');

  r = await run(mctp, ['link', 'set', 'mctp0', 'down']);
  t.equal(r.code, 2);
  t.match(r.err, /"mctp link set" is not implemented yet/);
  r = await run(mctp, ['frob']);
  t.equal(r.code, 2);
  t.match(r.err, /unknown mctp subcommand "frob"/);
});

t.test('mctp endpoints', async (t) => {
  const { f, run } = await setup(t);
  t.equal((await run(mctp, ['endpoints'])).out, '');
  f.endpoints.assign({ eid: 9, net: 1, iface: 'mctp0', types: [0, 0x7e], uuid: null, connectivity: 'Available' });
  const r = await run(mctp, ['endpoints']);
  t.equal(r.out, 'eid 9 net 1 dev mctp0 types 0x00,0x7e uuid none connectivity Available\n');
});

t.test('mctp req: a real echo over the pair', async (t) => {
  const { f, run } = await setup(t);
  let r = await run(mctp, ['req', 'eid', '9', 'len', '16']);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^echo from eid 9 net 1: 19 bytes, rtt \d+\.\d{3} ms\n$/);
  t.equal(f.responder.stats.echoed, 1);
  r = await run(mctp, ['echo', 'eid', '9', '--json']);
  t.match(JSON.parse(r.out), { eid: 9, net: 1, bytes: 4 });
  r = await run(mctp, ['req', 'eid', '42']);
  t.equal(r.code, 1);
  t.equal(r.err, 'bmcemu mctp: EHOSTUNREACH: no route to EID 42 on net 1 (EHOSTUNREACH)\n');
  r = await run(mctp, ['req', 'eid', '300']);
  t.equal(r.code, 2);
  r = await run(mctp, ['req', 'bogus', '1']);
  t.equal(r.code, 2);
  f.responder.close();
  r = await run(mctp, ['req', 'eid', '9', 'timeout', '30']);
  t.equal(r.code, 1);
  t.match(r.err, /ETIMEDOUT: echo to EID 9: no response within 30 ms/);
});

t.test('mctp pcap start|stop|get|list', async (t) => {
  const { f, run } = await setup(t);
  let r = await run(mctp, ['pcap', 'start', 'mctp0']);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^mctp0 running: 0 packets, 24 bytes, .*capture-mctp0\.pcap\n$/);
  t.equal((await run(mctp, ['pcap', 'start', 'mctp0'])).code, 1, 'one per link');
  await run(mctp, ['req', 'eid', '9']);
  r = await run(mctp, ['pcap']);
  t.match(r.out, /^mctp0 running: 2 packets/);
  r = await run(mctp, ['pcap', 'stop', 'mctp0']);
  t.match(r.out, /^mctp0 stopped: 2 packets, \d+ bytes/);

  const dest = path.join(f.dir, 'out.pcap');
  r = await run(mctp, ['pcap', 'get', 'mctp0', '-o', dest]);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^wrote \d+ bytes to .*out\.pcap\n$/);
  const file = fs.readFileSync(dest);
  t.equal(file.readUInt32LE(0), 0xa1b2c3d4);
  r = await run(mctp, ['pcap', 'get', 'mctp0', '-o', '-']);
  t.ok(r.bytes.equals(file), 'to stdout, byte for byte');

  r = await run(mctp, ['pcap', 'get', 'nope0', '-o', '-']);
  t.equal(r.code, 1);
  r = await run(mctp, ['pcap', 'start']);
  t.equal(r.code, 2);
  t.match(r.err, /pcap start needs an interface name/);
});

t.test('console: log, follow, interactive', async (t) => {
  const { f, s, url, run } = await setup(t);
  f.console.emit('Linux version 6.1\r\nlogin: ');
  let r = await run(consoleMain, []);
  t.equal(r.code, 0, r.err);
  t.equal(r.out, 'Linux version 6.1\r\nlogin: ');
  r = await run(consoleMain, ['--tail', '7']);
  t.equal(r.out, 'login: ');
  r = await run(consoleMain, ['--tail', 'x']);
  t.equal(r.code, 2);

  const until = async (c: { out: string }, text: string): Promise<void> => {
    for (let i = 0; i < 200 && !c.out.includes(text); i++) await new Promise((res) => setTimeout(res, 10));
    t.ok(c.out.includes(text), `saw ${JSON.stringify(text)}`);
  };

  // Follow: the log, then live bytes, until aborted.
  const ac = new AbortController();
  const follow = capture({ signal: ac.signal });
  const following = consoleMain(['-f', '--api', url], follow.io);
  await until(follow, 'login: ');
  f.console.emit('root\r\n');
  await until(follow, 'root\r\n');
  ac.abort();
  t.equal(await following, 0);
  t.equal(follow.out, 'Linux version 6.1\r\nlogin: root\r\n', 'log and live output joined without a gap or a repeat');
  t.equal(follow.err, '', 'Ctrl-C ends it quietly');

  // Interactive: typed bytes reach the host; Ctrl-] detaches.
  const stdin = new PassThrough();
  const inter = capture({ stdin });
  const attached = consoleMain(['-i', '--api', url], inter.io);
  await until(inter, 'login: ');
  stdin.write('root\r');
  for (let i = 0; i < 200 && f.console.written.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
  t.same(f.console.written.map(String), ['root\r']);
  stdin.write(Buffer.from([0x6c, 0x73, 0x1d, 0x78]));
  t.equal(await attached, 0);
  for (let i = 0; i < 200 && f.console.written.length < 2; i++) await new Promise((res) => setTimeout(res, 10));
  await new Promise((res) => setTimeout(res, 20));
  t.same(f.console.written.map(String), ['root\r', 'ls'], 'bytes before Ctrl-] are sent, after it are not');
  t.match(inter.err, /attached; Ctrl-\] detaches[\s\S]*detached/);

  // The end of input leaves quietly.
  const ended = new PassThrough();
  const quiet = capture({ stdin: ended });
  const leaving = consoleMain(['-i', '--api', url], quiet.io);
  await until(quiet, 'login: ');
  ended.end();
  t.equal(await leaving, 0);
  t.equal(quiet.err, 'bmcemu console: attached; Ctrl-] detaches\r\n', 'no message when input ends');

  r = await run(consoleMain, ['-f', '-i']);
  t.equal(r.code, 2);

  // The BMC going away ends a follow with its close reason.
  const last = capture();
  const lastFollow = consoleMain(['-f', '--api', url], last.io);
  await until(last, 'login: ');
  await s.close();
  t.equal(await lastFollow, 0);
  t.match(last.err, /bmcemu console: closed by the BMC/);
});

t.test('console without a console service', async (t) => {
  const { run } = await setup(t, { parts: false });
  for (const argv of [[], ['-f']]) {
    const r = await run(consoleMain, argv);
    t.equal(r.code, 1);
    t.equal(r.err, 'bmcemu console: the host console is not implemented yet: no console service is wired into this BMC\n');
  }
});
