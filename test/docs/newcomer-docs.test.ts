/**
 * What the README and the wire documents tell a new user, checked against the
 * code that decides it: file names, the default runtime directory, the BMC's
 * addresses and the start-up line that states them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { mctpLine } from '../../cli/commands/run.js';
import * as runtimeFiles from '../../transport/runtime-files.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (f: string): string => fs.readFileSync(path.join(ROOT, f), 'utf8');
const FILE_NAMES: string[] = Object.values(runtimeFiles as Record<string, unknown>).filter((v): v is string => typeof v === 'string');

t.test('every socket a document names is one the instance has', async (t) => {
  for (const doc of ['README.md', 'docs/kcs-wire.md', 'docs/lpc-window.md', 'docs/qemu.md']) {
    for (const [name] of read(doc).matchAll(/[\w.-]+\.sock\b/g)) t.ok(FILE_NAMES.includes(name), `${doc}: ${name} is in transport/runtime-files.ts`);
  }
  t.match(read('docs/kcs-wire.md'), `<runtime dir>/${runtimeFiles.KCS_MCTP_SOCKET}`, 'the QEMU example uses the MCTP KCS socket');
});

t.test('the default runtime directory is given where the files are described', async (t) => {
  for (const doc of ['README.md', 'docs/lpc-window.md']) t.match(read(doc), '/dev/shm/bmcemu-<uid>/<instance>', doc);
  t.match(read('docs/lpc-window.md'), `/dev/shm/bmcemu-<uid>/default/${runtimeFiles.LPC_FW_WINDOW_FILENAME}`);
  t.match(read('docs/lpc-window.md'), /host min\/current version and the negotiated version zeroed/, 'a new BMC zeroes the negotiated versions');
});

t.test("the BMC's addresses: the start-up line and the documents agree", async (t) => {
  const line = mctpLine({
    interfaces: () => [{ name: 'mctplpc0', addrs: [8] }, { name: 'mctpserial0', addrs: [20] }] as never,
  });
  t.equal(line, 'MCTP: EID 8 on mctplpc0 (astlpc), EID 20 on mctpserial0 (serial); bus owner and echo responder running');
  const quoted = line.slice(0, line.indexOf(';'));
  t.match(read('README.md'), quoted, 'README quotes the start-up line');
  t.match(read('docs/mctp-control.md'), quoted, 'so does docs/mctp-control.md');
  t.match(read('docs/mctp-control.md'), /^## The BMC's addresses$/m, "the README's link target exists");
  t.match(read('README.md'), 'docs/mctp-control.md#the-bmcs-addresses');
});

t.test('the README says what the boot figure is and where it comes from', async (t) => {
  const readme = read('README.md');
  t.notMatch(readme, /about 8 s after power-on/, 'no bare best case');
  t.match(readme, 'bench/boot.bench.ts');
  t.match(readme, /median of \*\*11\.5 s over 5\s+boots\*\*/);
  t.match(readme, /loaded machine/);
  t.match(readme, 'BMCEMU_INSTANCE');
  t.match(readme, 'make install-bin');
});
