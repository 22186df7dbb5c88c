/**
 * The options that name an instance go before or after the subcommand, and
 * $BMCEMU_INSTANCE saves repeating them: `bmcemu --instance lab mctp link`
 * once said `unknown command "--instance"`.
 */
import path from 'node:path';
import t from 'tap';
import { splitCommandLine } from '../../cli/global-options.js';
import { fixture, serve } from '../firmware/services/api/helpers.js';
import { runCli } from './spawn-cli.js';

t.test('splitCommandLine moves leading target options behind the command', async (t) => {
  t.same(splitCommandLine(['status']), { command: 'status', argv: [], help: false });
  t.same(splitCommandLine(['--instance', 'lab', 'mctp', 'link']), { command: 'mctp', argv: ['--instance', 'lab', 'link'], help: false });
  t.same(splitCommandLine(['--instance=lab', '--api', 'http://x:1', 'power', 'on', '--json']), {
    command: 'power',
    argv: ['--instance=lab', '--api', 'http://x:1', 'on', '--json'],
    help: false,
  });
  t.same(splitCommandLine(['--runtime-dir', '/r', 'status', '--instance', 'b']).argv, ['--runtime-dir', '/r', '--instance', 'b'], 'after the command, as before');
  t.same(splitCommandLine(['--token', 'tok', 'status']).argv, ['--token', 'tok']);
  t.same(splitCommandLine([]), { command: undefined, argv: [], help: false });
  t.same(splitCommandLine(['--help']), { command: undefined, argv: [], help: true });
  t.same(splitCommandLine(['--instance', 'lab', '-h']), { command: undefined, argv: ['--instance', 'lab'], help: true });
  t.same(splitCommandLine(['--instance', 'lab']), { command: undefined, argv: ['--instance', 'lab'], help: false });
  t.throws(() => splitCommandLine(['--json', 'status']), { code: 'ERR_USAGE', message: /unknown option "--json" before the command/ });
  t.throws(() => splitCommandLine(['-x', 'status']), { code: 'ERR_USAGE' });
  t.throws(() => splitCommandLine(['--instance']), { code: 'ERR_USAGE', message: 'option --instance needs a value' });
  t.throws(() => splitCommandLine(['--instance', '--api', 'u', 'status']), { code: 'ERR_USAGE', message: 'option --instance needs a value' });
});

t.test('bmcemu [target options] <command>, and $BMCEMU_INSTANCE, as a user types them', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  await s.listen(); // writes api.json into the fixture's runtime directory
  // The fixture's directory as instance NAME under runtime base BASE.
  const base = path.dirname(f.dir);
  const name = path.basename(f.dir);
  const env: NodeJS.ProcessEnv = { ...process.env, BMCEMU_RUNTIME_BASE: base };
  delete env.BMCEMU_INSTANCE;
  delete env.BMCEMU_API;

  let r = await runCli(['--instance', name, 'status'], env);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /^bmc: +bmcemu /, '--instance before the command');

  r = await runCli(['--runtime-dir', f.dir, 'mctp', 'link'], env);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /mctp0/, '--runtime-dir before the command');

  r = await runCli(['mctp', 'address'], { ...env, BMCEMU_INSTANCE: name });
  t.equal(r.code, 0, r.out);
  t.match(r.out, /eid 8 net 1 dev mctp0/, '$BMCEMU_INSTANCE names the instance');

  r = await runCli(['status'], { ...env, BMCEMU_INSTANCE: 'no-such-instance' });
  t.equal(r.code, 1);
  t.match(r.out, new RegExp(`${path.join(base, 'no-such-instance', 'api.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`), '...and is the one looked for');

  r = await runCli(['--instance', name], env);
  t.equal(r.code, 2);
  t.match(r.out, /names an instance but no command\nusage: bmcemu/);

  r = await runCli(['--frobnicate', 'status'], env);
  t.equal(r.code, 2);
  t.match(r.out, /bmcemu: unknown option "--frobnicate" before the command/);

  r = await runCli(['--api', 'http://127.0.0.1:1', 'run', '--no-host'], env);
  t.equal(r.code, 2, 'a target option the command has no use for is its usage error');
  t.match(r.out, /^bmcemu run: Unknown option '--api'.*\nusage: bmcemu run /s);

  r = await runCli(['run', '--help'], env);
  t.equal(r.code, 0);
  t.match(r.out, /^usage: bmcemu run .*\$BMCEMU_INSTANCE/s, 'run --help');

  r = await runCli(['--help'], env);
  t.equal(r.code, 0);
  t.match(r.out, /BMCEMU_INSTANCE/, '--help says so');
});
