/**
 * The dashboard in a real browser against a running instance: Debian's
 * Chromium, headless, driven by playwright-core, on an instance whose API
 * needs a token. It logs in, watches the real QEMU host boot to MCTP, checks
 * the live counters against the stack's own, types into the guest's console
 * and sees the guest's tty echo it, resets the host with a button, and checks
 * a screenshot's pixels.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import t from 'tap';
import { BmcInstance } from '../../instance/bmc-instance.js';
import { withTimeout } from '../helpers/timeout.js';

const CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps dialling Google's
// hosts, which a closed network refuses many times a second.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TOKEN = 'dashboard-test-token-0123456789';
const BOOT_MS = 180_000;

/** Pixel statistics of a PNG, decoded by the browser itself (no image library needed). */
async function pixelStats(page: Page, png: Buffer): Promise<{ width: number; height: number; bright: number; green: number; distinct: number }> {
  return page.evaluate(async (b64) => {
    // Runs in the page: the DOM is there, though the Node-side types do not describe it.
    const { Image, document } = globalThis as any;
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
    let bright = 0;
    let green = 0;
    const colours = new Set<number>();
    for (let i = 0; i < d.length; i += 4) {
      const [r, gr, b] = [d[i]!, d[i + 1]!, d[i + 2]!];
      if (r + gr + b > 450) bright++;
      if (gr >= 60 && gr > r * 1.5 && gr > b * 1.3) green++;
      if (colours.size < 4096) colours.add((r << 16) | (gr << 8) | b);
    }
    const n = d.length / 4;
    return { width: canvas.width, height: canvas.height, bright: bright / n, green: green / n, distinct: colours.size };
  }, png.toString('base64'));
}

async function textOf(l: Locator): Promise<string> {
  return ((await l.textContent()) ?? '').trim();
}

/** The terminal's whole buffer as text, read through the handle the page exposes. */
function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const term = (globalThis as unknown as { bmcemuDashboard?: { terminal?: { buffer: { active: { length: number; getLine(i: number): { translateToString(trim: boolean): string } | undefined } } } } })
      .bmcemuDashboard?.terminal;
    if (!term) return '';
    const buf = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  });
}

t.test('the dashboard drives and shows a booting host', async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing: run scripts/install-system-deps.sh --test (make test does)`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bdash-'));
  const inst = new BmcInstance({ runtimeDir: dir, api: { port: 0, token: TOKEN } });
  let browser: BrowserContext | null = null;
  t.teardown(async () => {
    await browser?.close();
    await inst.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await inst.start();
  const url = inst.api!.address!.url;

  // A fresh profile in the instance's directory: nothing carries over between runs.
  browser = await chromium.launchPersistentContext(path.join(dir, 'chromium'), {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // The login page itself arrives as a 401, which Chromium reports as a failed load.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
  });

  // The API needs a token: the browser gets the login form, not the dashboard.
  const first = await page.goto(url);
  t.equal(first?.status(), 401, 'without the token the page is a 401');
  await page.fill('#token', TOKEN);
  await page.click('button[type=submit]');
  await page.waitForURL(`${url}/dashboard/`);
  await page.locator('[data-testid=events-state]', { hasText: 'live' }).waitFor({ timeout: 15_000 });
  t.pass('logged in: the event stream is live');

  // Boot progress runs to the end as the real host boots.
  await page.locator('#boot li[data-stage=endpoint-assigned][data-state=done]').waitFor({ timeout: BOOT_MS });
  t.equal(await textOf(page.locator('[data-testid=power-state]')), 'on');
  const stages = await page.locator('#boot li[data-stage]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-stage'), e.getAttribute('data-state')]));
  for (const s of ['power-on', 'init-started', 'modules-loaded', 'host-root-mounted', 'agent-started', 'astlpc-up', 'endpoint-assigned']) {
    t.ok(stages.some(([name, state]) => name === s && state === 'done'), `boot stage ${s} done`);
  }

  // Topology: the endpoint the bus owner assigned over astlpc, under its link.
  const ep = await withTimeout(inst.astlpcEndpoint(), BOOT_MS, 'the astlpc endpoint');
  const link = page.locator('[data-link=mctplpc0]');
  await link.waitFor();
  await page.locator(`[data-eid="${ep.eid}"]`).first().waitFor({ timeout: 10_000 });
  t.match(await textOf(page.locator(`[data-eid="${ep.eid}"]`).first()), /control/, 'the endpoint lists its message types');
  t.equal(await page.locator('[data-testid=astlpc] [data-flag=channel-active]').getAttribute('data-on'), 'true', 'CHANNEL_ACTIVE shown');

  // Counters are live: after more traffic the page shows the stack's own numbers.
  for (let i = 0; i < 3; i++) await inst.echo(ep.eid, 512);
  const stackTx = (): number => inst.fw.stack.interface('mctplpc0').counters.txPackets;
  const want = stackTx();
  await page.waitForFunction(
    (n) => Number((globalThis as any).document.querySelector('[data-link=mctplpc0] [data-counter=txPackets]')?.textContent?.trim()) >= n,
    want,
    { timeout: 10_000 },
  );
  t.pass(`mctplpc0 tx packets on the page caught up with the stack (${want})`);

  // The console: the guest's boot log, and keystrokes reaching the guest's tty, which echoes them.
  await page.locator('[data-testid=console-state]', { hasText: 'connected' }).waitFor({ timeout: 10_000 });
  await withTimeout(
    (async () => {
      while (!(await terminalText(page)).includes('bmcemu-agent: astlpc up')) await page.waitForTimeout(200);
    })(),
    10_000,
    'the agent line in the terminal',
  );
  t.pass('the terminal shows the host console');
  await page.locator('#console .xterm').click();
  const typed = `typed-in-chromium-${process.pid}`;
  await page.keyboard.type(typed);
  await withTimeout(
    (async () => {
      while (!(await terminalText(page)).includes(typed)) await page.waitForTimeout(200);
    })(),
    15_000,
    'the guest to echo what was typed',
  );
  t.pass('keystrokes went through the VUART to the guest and its echo came back');

  // The screenshot: the whole layout fits, and the pixels are really there.
  const shotFile = path.join(dir, 'dashboard.png');
  const shot = await page.screenshot({ path: shotFile });
  const whole = await pixelStats(page, shot);
  t.same([whole.width, whole.height], [1280, 800], 'a 1280×800 screenshot');
  t.ok(whole.distinct > 50, `a rendered page, not a blank one (${whole.distinct} colours)`);
  const consoleBox = await page.locator('#console').boundingBox();
  t.ok(consoleBox && consoleBox.y + consoleBox.height <= 800 && consoleBox.height >= 200, 'the console fits on the screen');
  const term = await pixelStats(page, await page.locator('#console .xterm').screenshot());
  t.ok(term.bright > 0.005, `the terminal shows text (${(term.bright * 100).toFixed(2)}% light pixels)`);
  const badge = await pixelStats(page, await page.locator('[data-testid=power-state]').screenshot());
  t.ok(badge.green > 0.2, `the power badge is green while on (${(badge.green * 100).toFixed(0)}% green)`);
  if (process.env.BMCEMU_KEEP_SCREENSHOT) fs.copyFileSync(shotFile, process.env.BMCEMU_KEEP_SCREENSHOT);

  // Reset with the button: the page sends its action header itself, the boot starts over and completes.
  // Record every state the agent-started stage shows, however the panel re-renders.
  await page.evaluate(() => {
    const g = globalThis as any;
    const seen: string[] = [];
    g.agentStageStates = seen;
    const read = (): string | null => g.document.querySelector('#boot li[data-stage=agent-started]')?.getAttribute('data-state') ?? null;
    new g.MutationObserver(() => {
      const now = read();
      if (now && now !== seen[seen.length - 1]) seen.push(now);
    }).observe(g.document.querySelector('#boot'), { subtree: true, childList: true, attributes: true });
    seen.push(read() ?? 'missing');
  });
  await page.click('#power button[data-action=reset]');
  await page.locator('[data-testid=power-message][data-outcome=ok]').waitFor({ timeout: 60_000 });
  t.match(await textOf(page.locator('[data-testid=power-message]')), /reset/, 'the reset answered');
  await page.waitForFunction(() => {
    const seen = (globalThis as any).agentStageStates as string[];
    const pending = seen.indexOf('pending');
    return pending >= 0 && seen.indexOf('done', pending) > pending;
  }, undefined, { timeout: BOOT_MS });
  const states = await page.evaluate(() => (globalThis as any).agentStageStates as string[]);
  t.same(states.slice(0, 1), ['done'], 'the agent had started before the reset');
  t.ok(states.indexOf('pending') > 0 && states.lastIndexOf('done') > states.indexOf('pending'), `the page showed the reboot: ${states.join(' → ')}`);
  await page.locator('#boot li[data-stage=endpoint-assigned][data-state=done]').waitFor({ timeout: BOOT_MS });
  const after = await textOf(page.locator('#boot li[data-stage=agent-started]'));
  const secs = Number(/\+([\d.]+) s/.exec(after)?.[1] ?? NaN);
  t.ok(secs > 0 && secs < 60, `stage times count from the reset, not the first power-on (${after})`);

  t.same(problems, [], 'no page errors or console errors');
});
