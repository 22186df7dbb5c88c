/** The console websocket over a real socket: replay, live bytes out, typed bytes in, 501 without a console. */
import t from 'tap';
import { WsClient } from '../../../../cli/ws-client.js';
import { CliError, isCliError } from '../../../../cli/errors.js';
import { fixture, serve, settle } from './helpers.js';

function collect(ws: WsClient) {
  let received = Buffer.alloc(0);
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  ws.on('message', (data, binary) => {
    t.ok(binary, 'console bytes come as binary frames');
    received = Buffer.concat([received, data]);
    for (const w of [...waiters]) if (received.toString().includes(w.text)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  });
  return {
    get text() {
      return received.toString();
    },
    until: (text: string) => (received.toString().includes(text) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ text, resolve }))),
  };
}

t.test('two-way console with replay', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const { url } = await s.listen();
  f.console.emit('old line\r\n');

  const ws = await WsClient.connect(`${url.replace('http', 'ws')}/api/v1/console/ws?replay=true`);
  const got = collect(ws);
  await got.until('old line');
  f.console.emit('login: ');
  await got.until('login: ');
  t.equal(got.text, 'old line\r\nlogin: ', 'the log, then live bytes, nothing doubled');

  ws.send(Buffer.from('root\r'));
  ws.send('text frames are bytes too');
  await new Promise<void>((resolve) => {
    const check = (): void => (f.console.written.length >= 2 ? resolve() : void setTimeout(check, 5));
    check();
  });
  t.same(f.console.written.map(String), ['root\r', 'text frames are bytes too']);

  const metrics = (await s.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /bmcemu_console_bytes_total\{direction="to-host"\} 30\n/, 'typed bytes are counted');

  const closed = new Promise<[number, string]>((resolve) => ws.on('close', (code, reason) => resolve([code, reason])));
  ws.close();
  t.same((await closed)[0], 1000);
  await settle();
  await new Promise((r) => setTimeout(r, 20));
  t.equal(f.console.listeners, 1, 'the websocket unsubscribed (the metrics counter remains)');
});

t.test('without replay only live bytes arrive; closing the server closes the socket with 1001', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const { url } = await s.listen();
  f.console.emit('before');
  const ws = await WsClient.connect(`${url.replace('http', 'ws')}/api/v1/console/ws`);
  const got = collect(ws);
  await new Promise((r) => setTimeout(r, 20));
  f.console.emit('after');
  await got.until('after');
  t.equal(got.text, 'after');
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await s.close();
  t.equal(await closed, 1001);
});

t.test('no console: the upgrade is refused with 501; bad query with 400; auth applies', async (t) => {
  const f = fixture({ parts: false });
  const s = await serve(t, f);
  const { url } = await s.listen();
  const err = await WsClient.connect(`${url.replace('http', 'ws')}/api/v1/console/ws`).catch((e: unknown) => e);
  t.ok(isCliError(err, 'ERR_WS_HANDSHAKE'));
  t.equal((err as CliError).status, 501);
  t.match((err as CliError).message, /the host console is not implemented yet/);

  const f2 = fixture();
  const s2 = await serve(t, f2, { token: 'a-token-of-sixteen-chars' });
  const u2 = (await s2.listen()).url.replace('http', 'ws');
  const e401 = await WsClient.connect(`${u2}/api/v1/console/ws`).catch((e: unknown) => e);
  t.equal((e401 as CliError).status, 401);
  const e400 = await WsClient.connect(`${u2}/api/v1/console/ws?bogus=1`, { headers: { authorization: 'Bearer a-token-of-sixteen-chars' } }).catch((e: unknown) => e);
  t.equal((e400 as CliError).status, 400);
  const ok = await WsClient.connect(`${u2}/api/v1/console/ws`, { headers: { authorization: 'Bearer a-token-of-sixteen-chars' } });
  ok.close();
});
