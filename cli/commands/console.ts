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
import { isCodedError } from '../../lib/errors.js';
import { WaitError, waitFor } from '../../lib/wait.js';
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

/**
 * Print what the console sends until it ends: the BMC closes it (exit 0 for
 * a normal close, 1 otherwise), the connection fails (1), Ctrl-C or the end
 * of input (0), or Ctrl-] in interactive mode (0, "detached").
 */
async function attach(ws: WsClient, io: CliIo, interactive: boolean): Promise<number> {
  // Ctrl-C (io.signal), Ctrl-] and the end of input end the session; a string reason is said on the way out.
  const leave = new AbortController();
  const onInterrupt = (): void => leave.abort();
  if (io.signal?.aborted) onInterrupt();
  io.signal?.addEventListener('abort', onInterrupt, { once: true });
  ws.on('message', (data) => io.stdout.write(data));
  // Errors after the session ended are not ours to report; during it, failOn below sees them.
  ws.on('error', () => {});
  const stopInput = interactive && io.stdin && !leave.signal.aborted ? forwardInput(io.stdin, ws, io, leave) : (): void => {};
  let code: number;
  let message: string | undefined;
  try {
    const [closeCode, reason] = await waitFor<[number, string]>(ws, 'close', undefined, { signal: leave.signal, failOn: ['error'], what: 'the console to close' });
    const normal = closeCode === 1000 || closeCode === 1001;
    code = normal ? 0 : 1;
    message = normal ? `closed by the BMC${reason ? ` (${reason})` : ''}` : `connection closed (${closeCode}${reason ? ` ${reason}` : ''})`;
  } catch (e) {
    if (isCodedError(e, 'ERR_WAIT_FAILED', WaitError)) {
      code = 1;
      message = e.cause instanceof Error ? e.cause.message : String(e.cause);
    } else if (isCodedError(e, 'ERR_WAIT_ABORTED', WaitError)) {
      code = 0;
      message = typeof leave.signal.reason === 'string' ? leave.signal.reason : undefined;
    } else {
      throw e;
    }
  } finally {
    io.signal?.removeEventListener('abort', onInterrupt);
    stopInput();
  }
  if (message) io.stderr.write(`\r\nbmcemu console: ${message}\n`);
  ws.close();
  return code;
}

/** Keys to the host until Ctrl-] (leave with "detached") or the end of input (leave quietly); returns the undo. */
function forwardInput(stdin: NonNullable<CliIo['stdin']>, ws: WsClient, io: CliIo, leave: AbortController): () => void {
  const raw = !!stdin.isTTY && typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode!(true);
  io.stderr.write('bmcemu console: attached; Ctrl-] detaches\r\n');
  const onData = (chunk: Buffer | string): void => {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    const i = b.indexOf(DETACH);
    if (i >= 0) {
      if (i > 0) ws.send(b.subarray(0, i));
      leave.abort('detached');
      return;
    }
    ws.send(b);
  };
  const onEnd = (): void => leave.abort();
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause();
    if (raw) stdin.setRawMode!(false);
  };
}
