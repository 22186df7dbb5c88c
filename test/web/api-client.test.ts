/** The page's API client against a fake fetch: the auth contract (cookie only, the dashboard header on writes) and time limits. */
import t from 'tap';
import { ApiClient, DashboardRequestError, type FetchLike } from '../../web/dashboard/src/api-client.js';
import { API_BASE, API_PATHS, DASHBOARD_HEADER, DASHBOARD_HEADER_VALUE } from '../../web/dashboard/src/model/api-paths.js';

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch that records its calls and answers with `answer(call)`. */
function fakeFetch(answer: (call: Call) => Response | Promise<Response>): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      const call = { url, init };
      calls.push(call);
      return answer(call);
    },
  };
}

const json = (body: unknown, status = 200): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** Headers arrive at once; the body never does, until the request's signal aborts it (as a browser's fetch does). */
function stalledBody(call: Call, status = 200): Response {
  const signal = call.init.signal;
  const body = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(new TextEncoder().encode('{"state": "o'));
      signal?.addEventListener('abort', () => ctl.error(new DOMException('aborted', 'AbortError')));
    },
  });
  return new Response(body, { status });
}

const header = (call: Call | undefined, name: string): string | null => new Headers(call?.init.headers).get(name);

t.test('every path comes from the one API base', async (t) => {
  t.equal(API_BASE, '/api/v1');
  for (const [name, path] of Object.entries(API_PATHS)) t.ok(path.startsWith(`${API_BASE}/`), `${name}: ${path}`);
  t.equal(DASHBOARD_HEADER, 'x-bmcemu-dashboard');
  t.equal(DASHBOARD_HEADER_VALUE, '1');
});

t.test('GETs: the cookie goes by itself; no Authorization, no dashboard header', async (t) => {
  const f = fakeFetch(() => json({ state: 'on' }));
  const api = new ApiClient({ fetch: f.fetch });
  t.same(await api.get(API_PATHS.power), { state: 'on' });
  const call = f.calls[0];
  t.equal(call?.url, '/api/v1/host/power');
  t.equal(call?.init.method, 'GET');
  t.equal(call?.init.credentials, 'same-origin');
  t.equal(header(call, 'authorization'), null, 'the page never sends a token');
  t.equal(header(call, DASHBOARD_HEADER), null, 'reads need no proof');
  t.equal(header(call, 'accept'), 'application/json');
});

t.test('POSTs carry the dashboard header (the server’s CSRF check) and still no Authorization', async (t) => {
  const f = fakeFetch(() => json({ state: 'off' }));
  const api = new ApiClient({ fetch: f.fetch });
  t.same(await api.post(API_PATHS.power, { action: 'off' }), { state: 'off' });
  const call = f.calls[0];
  t.equal(call?.init.method, 'POST');
  t.equal(header(call, DASHBOARD_HEADER), DASHBOARD_HEADER_VALUE);
  t.equal(header(call, 'content-type'), 'application/json');
  t.equal(header(call, 'authorization'), null);
  t.equal(call?.init.credentials, 'same-origin');
  t.equal(call?.init.body, '{"action":"off"}');
});

t.test('a body that stalls after the headers times out (B1): the limit covers the whole exchange', async (t) => {
  const f = fakeFetch((call) => stalledBody(call));
  const api = new ApiClient({ fetch: f.fetch });
  const started = Date.now();
  const err = await api.get(API_PATHS.status, 100).catch((e: unknown) => e);
  t.type(err, DashboardRequestError);
  t.equal((err as DashboardRequestError).code, 'E_TIMEOUT');
  t.equal((err as DashboardRequestError).status, 0);
  t.match((err as DashboardRequestError).message, /GET \/api\/v1\/status: no answer/);
  t.ok(Date.now() - started < 5000, 'in about the limit, not never');
  // The same through getText (the console probe).
  const e2 = await api.getText(`${API_PATHS.consoleLog}?tail=1`, 100).catch((e: unknown) => e);
  t.equal((e2 as DashboardRequestError).code, 'E_TIMEOUT');
});

t.test('a stalled body of an error status keeps the status', async (t) => {
  const api = new ApiClient({ fetch: fakeFetch((call) => stalledBody(call, 503)).fetch });
  const err = (await api.get(API_PATHS.status, 100).catch((e: unknown) => e)) as DashboardRequestError;
  t.equal(err.status, 503);
  t.equal(err.code, 'HTTP_503');
});

t.test('headers that never come time out too', async (t) => {
  const api = new ApiClient({
    fetch: (_url, init) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
  });
  const err = (await api.get(API_PATHS.links, 50).catch((e: unknown) => e)) as DashboardRequestError;
  t.equal(err.code, 'E_TIMEOUT');
});

t.test('401: the handler runs once, the error carries the server’s message', async (t) => {
  let told = 0;
  const api = new ApiClient({
    fetch: fakeFetch(() => json({ statusCode: 401, error: 'Unauthorized', code: 'E_UNAUTHORISED', message: 'log in first' }, 401)).fetch,
    onUnauthorised: () => told++,
  });
  for (let i = 0; i < 3; i++) {
    const err = (await api.get(API_PATHS.status).catch((e: unknown) => e)) as DashboardRequestError;
    t.same([err.status, err.code, err.message], [401, 'E_UNAUTHORISED', 'log in first']);
  }
  t.equal(told, 1);
  t.equal(api.unauthorised, true);
});

t.test('other failures: network, non-JSON, text bodies', async (t) => {
  const down = new ApiClient({ fetch: () => Promise.reject(new TypeError('Failed to fetch')) });
  const e1 = (await down.get(API_PATHS.status).catch((e: unknown) => e)) as DashboardRequestError;
  t.same([e1.status, e1.code], [0, 'E_NETWORK']);
  t.match(e1.message, /Failed to fetch/);

  const html = new ApiClient({ fetch: fakeFetch(() => new Response('<html>proxy</html>', { status: 200 })).fetch });
  const e2 = (await html.get(API_PATHS.status).catch((e: unknown) => e)) as DashboardRequestError;
  t.equal(e2.code, 'E_BAD_RESPONSE');
  t.equal(await html.getText(API_PATHS.consoleLog), '<html>proxy</html>', 'getText takes any text');

  const bad = new ApiClient({ fetch: fakeFetch(() => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })).fetch });
  const e3 = (await bad.getText(API_PATHS.consoleLog).catch((e: unknown) => e)) as DashboardRequestError;
  t.same([e3.status, e3.code, e3.message], [502, 'HTTP_502', 'HTTP 502 Bad Gateway']);

  const none = new ApiClient({ fetch: fakeFetch(() => json({ statusCode: 501, code: 'E_NOT_IMPLEMENTED', message: 'no console' }, 501)).fetch });
  const e4 = (await none.getText(`${API_PATHS.consoleLog}?tail=1`).catch((e: unknown) => e)) as DashboardRequestError;
  t.same([e4.status, e4.message], [501, 'no console']);
});
