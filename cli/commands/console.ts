/**
 * bmcemu console: the host's console through the BMC.
 *   (default)          print the rolling log and exit
 *   -f, --follow       the log, then live output (read-only), until Ctrl-C
 *   -i, --interactive  two-way: keys go to the host; Ctrl-] detaches
 * Live modes use the API's websocket with replay, so the log and the live
 * bytes join without a gap or a repeat.
 */
import { clientFrom, parse, processIo, runCommand, TARGET_HELP, type CliIo } from '../options.js';
import { usageError } from '../errors.js';
import { WsClient } from '../ws-client.js';

const USAGE = `usage: bmcemu console [--tail BYTES] [-f|--follow | -i|--interactive] [target options]
  --tail BYTES       only the last BYTES of the log
  -f, --follow       keep printing live output after the log (Ctrl-C stops)
  -i, --interactive  attach: what you type goes to the host (Ctrl-] detaches)
${TARGET_HELP}`;

/** Ctrl-], as telnet and virsh console use. */
const DETACH = 0x1d;

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return runCommand('console', io, USAGE, async () => {
    const { values, positionals } = parse(argv, {
      tail: { type: 'string' },
      follow: { type: 'boolean', short: 'f', default: false },
      interactive: { type: 'boolean', short: 'i', default: false },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length) throw usageError(`unexpected argument "${positionals[0]}"`);
    if (values.follow && values.interactive) throw usageError('--follow and --interactive are exclusive (interactive also follows)');
    const tail = values.tail === undefined ? undefined : Number(values.tail);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 1)) throw usageError(`--tail must be a positive integer, got "${values.tail}"`);
    const client = clientFrom(values, io);

    if (!values.follow && !values.interactive) {
      io.stdout.write(await client.raw(`/api/v1/console/log${tail ? `?tail=${tail}` : ''}`));
      return 0;
    }
    // Probe over plain HTTP first: a 501 (no console) or 401 reads better than a refused upgrade.
    await client.raw('/api/v1/console/log?tail=1');
    const ws = await WsClient.connect(client.wsUrl('/api/v1/console/ws?replay=true'), { headers: client.headers() });
    return attach(ws, io, values.interactive);
  });
}

function attach(ws: WsClient, io: CliIo, interactive: boolean): Promise<number> {
  return new Promise((resolve) => {
    const cleanups: Array<() => void> = [];
    let done = false;
    const finish = (code: number, message?: string): void => {
      if (done) return;
      done = true;
      cleanups.forEach((c) => c());
      if (message) io.stderr.write(`\r\nbmcemu console: ${message}\n`);
      ws.close();
      resolve(code);
    };
    ws.on('message', (data) => io.stdout.write(data));
    ws.on('close', (code, reason) => {
      if (code === 1000 || code === 1001) finish(0, `closed by the BMC${reason ? ` (${reason})` : ''}`);
      else finish(1, `connection closed (${code}${reason ? ` ${reason}` : ''})`);
    });
    ws.on('error', (e) => finish(1, e.message));

    const signal = io.signal;
    if (signal) {
      const onAbort = (): void => finish(0);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }

    const stdin = io.stdin;
    if (interactive && stdin) {
      const raw = !!stdin.isTTY && typeof stdin.setRawMode === 'function';
      if (raw) stdin.setRawMode!(true);
      io.stderr.write('bmcemu console: attached; Ctrl-] detaches\r\n');
      const onData = (chunk: Buffer | string): void => {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        const i = b.indexOf(DETACH);
        if (i >= 0) {
          if (i > 0) ws.send(b.subarray(0, i));
          finish(0, 'detached');
          return;
        }
        ws.send(b);
      };
      const onEnd = (): void => finish(0);
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      stdin.resume();
      cleanups.push(() => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
        if (raw) stdin.setRawMode!(false);
      });
    }
  });
}
