/**
 * A host in its own process, for the two-process tests: a KCS wire client and
 * the window file, driven by the parent over the fork() IPC channel.
 *
 * Parent → child: { id, cmd, ...args }; child → parent: { id, ok, result } or
 * { id, ok: false, error: { code, message } }; unsolicited: { event, ... }.
 */
import { KcsWireClient } from '../../../transport/kcs-wire/client.js';
import { WindowFile } from '../../../transport/window-file.js';

type Msg = { id: number; cmd: string; [k: string]: unknown };

let client: KcsWireClient | null = null;
let window: WindowFile | null = null;

const send = (m: unknown): void => {
  process.send!(m);
};

async function handle(m: Msg): Promise<unknown> {
  switch (m.cmd) {
    case 'open': {
      window = WindowFile.open(m.window as string, { size: m.size as number });
      client = KcsWireClient.forEndpoint({ kind: 'unix', path: m.socket as string }, { reconnect: false });
      // Listeners first: a 0x90 can follow the hello in the same read.
      client.on('interrupt', (str: number) => send({ event: 'interrupt', str }));
      client.on('disconnect', () => send({ event: 'disconnect' }));
      return client.connect();
    }
    case 'read':
      return client!.read(m.reg as number);
    case 'write':
      return client!.write(m.reg as number, m.value as number);
    case 'pipeline': {
      // Many requests in flight at once: [[op, reg, value], ...]; results in order.
      const ops = m.ops as Array<[string, number, number]>;
      return Promise.all(ops.map(([op, reg, value]) => (op === 'r' ? client!.read(reg) : client!.write(reg, value))));
    }
    case 'winRead':
      return window!.read(m.offset as number, m.length as number).toString('base64');
    case 'winWrite':
      window!.write(m.offset as number, Buffer.from(m.data as string, 'base64'));
      return true;
    case 'stats':
      return client!.stats();
    case 'exit':
      await client?.close();
      window?.close();
      setImmediate(() => process.disconnect());
      return true;
    default:
      throw new Error(`unknown command ${m.cmd}`);
  }
}

// Only act when forked by ChildHost (tap may load this file on its own when
// asked to run a whole directory; it must then do nothing and exit).
export const HOST_CHILD_FLAG = '--bmcemu-kcs-host-child';
if (process.argv.includes(HOST_CHILD_FLAG) && process.send) main();

function main(): void {
  process.on('message', (m: Msg) => {
    handle(m).then(
      (result) => send({ id: m.id, ok: true, result }),
      (err: Error & { code?: string }) => send({ id: m.id, ok: false, error: { code: err.code, message: err.message } }),
    );
  });
  send({ event: 'started', pid: process.pid });
}
