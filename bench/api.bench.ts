/**
 * The status API under the dashboard's load: what one poll costs, and how
 * fast readiness events fan out to many SSE subscribers. A real server on
 * loopback (HTTP/1.1 keep-alive through Node's fetch), a BMC-shaped stack
 * with two links; the host's optional parts are absent (their routes answer
 * 501 at once, as on a BMC without a host).
 *
 * - `GET /status`, `GET /mctp/links`: sequential latency (p50/p99) and
 *   requests/s with 8 in flight. The dashboard polls five routes a second
 *   per open tab.
 * - SSE: N subscribers, M milestones recorded back to back; the time until
 *   every subscriber has every event.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { createBindingPair } from '../firmware/mctp/loopback/binding.js';
import { MctpStack } from '../firmware/mctp/stack.js';
import { ReadinessEvents } from '../firmware/services/api/readiness-source.js';
import { createApiServer } from '../firmware/services/api/server.js';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function latency(url: string, n: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await fetch(url);
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

async function rate(url: string, n: number, inFlight: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < n) await (await fetch(url)).arrayBuffer();
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** Open `count` SSE streams; resolves when each has seen `want` events named bench-N. */
function subscribers(url: string, count: number, want: number): { ready: Promise<void>; done: Promise<void>; close(): void } {
  const reqs: http.ClientRequest[] = [];
  const ready: Promise<void>[] = [];
  const done: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    let seen = 0;
    let finish!: () => void;
    done.push(new Promise((r) => (finish = r)));
    ready.push(
      new Promise((resolve, reject) => {
        const req = http.get(`${url}/api/v1/events`, (res) => {
          resolve();
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            seen += chunk.split('"kind":"bench"').length - 1;
            if (seen >= want) finish();
          });
        });
        req.on('error', reject);
        reqs.push(req);
      }),
    );
  }
  return { ready: Promise.all(ready).then(() => undefined), done: Promise.all(done).then(() => undefined), close: () => reqs.forEach((r) => r.destroy()) };
}

export async function run({ short }: { short: boolean }): Promise<Record<string, number | string>> {
  const stack = new MctpStack();
  const host = new MctpStack();
  for (const name of ['mctplpc0', 'mctpserial0']) {
    const [a, b] = createBindingPair();
    stack.addInterface(name, a).setUp(true);
    host.addInterface(name, b).setUp(true);
  }
  stack.addAddress('mctplpc0', 8);
  stack.addAddress('mctpserial0', 20);
  const events = new ReadinessEvents();
  const api = await createApiServer({ stack, events, version: 'bench' }, { dashboard: false, sseKeepAliveMs: 0 });
  const { url } = await api.listen();
  try {
    const n = short ? 300 : 3000;
    const out: Record<string, number | string> = {};
    for (const route of ['status', 'mctp/links']) {
      await latency(`${url}/api/v1/${route}`, 50); // warm-up: JIT, schemas, keep-alive socket
      const l = await latency(`${url}/api/v1/${route}`, n);
      out[`GET /${route} p50 / p99`] = `${l.p50.toFixed(3)} / ${l.p99.toFixed(3)} ms`;
      out[`GET /${route} req/s (8 in flight)`] = Math.round(await rate(`${url}/api/v1/${route}`, n, 8));
    }
    const subs = short ? 20 : 100;
    const count = short ? 200 : 2000;
    const s = subscribers(url, subs, count);
    await s.ready;
    const t0 = performance.now();
    for (let i = 0; i < count; i++) events.record({ kind: 'bench', seq: i });
    await s.done;
    const secs = (performance.now() - t0) / 1000;
    s.close();
    out[`SSE: ${count} events to ${subs} subscribers`] = `${(secs * 1000).toFixed(0)} ms (${Math.round((count * subs) / secs)} deliveries/s)`;
    return out;
  } finally {
    await api.close();
    await stack.close();
    await host.close();
  }
}
