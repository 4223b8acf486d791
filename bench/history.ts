/**
 * `npm run bench:history`: a 10,000-message conversation in the built widget (`dist/imbed.js`).
 *
 * Starts a real server (port 0, temp SQLite file, WAL + synchronous=FULL), seeds 10,000 messages of varied
 * length into its database in one transaction, and opens Chromium (fresh profile on disk, so IndexedDB is
 * real disk) on a page that mounts `<imbed-chat>` 600 px high. Measured in the page, on `performance.now()`:
 * - fresh: from mounting the element (nothing cached) to the newest message's node in its shadow DOM;
 * - reload: the same after a reload, and whether the client was still offline then (served from cache);
 * - scrolling: the element's log is scrolled programmatically from the newest message to the oldest, a step
 *   per animation frame; frame times are the gaps between requestAnimationFrame callbacks. At the top the
 *   loop waits for the older page (`loadOlder`), timing it, and measures how far the message in view moved
 *   (anchor drift). Before it, the same gaps with nothing scrolling: the frame clock's own spread, which
 *   a p95 of scrolling frames is read against; a gap over 1.5 idle frames counts as a dropped frame;
 * - the most message nodes ever in the DOM (MutationObserver, every mutation).
 * Prints numbers; asserts nothing. Usage: node --import tsx bench/history.ts [--messages 10000] [--step 800]
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/support/chromium.ts';
import { createImbedServer, NO_LIMITS } from '../src/server/index.ts';
import { Store } from '../src/server/store.ts';

const { values: args } = parseArgs({ options: { messages: { type: 'string', default: '10000' }, step: { type: 'string', default: '800' } } });
const COUNT = Number(args.messages);
const STEP = Number(args.step);
const CONV = 'bench-history';
const root = fileURLToPath(new URL('../', import.meta.url));

// The functions passed to page.evaluate() run in Chromium: their globals, named for the Node type check.
declare const window: any;
declare const requestAnimationFrame: (callback: (time: number) => void) => number;
type PageElement = any;

/** Runs in the page: mounts the element and resolves once the newest message is rendered. */
const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>history bench</title>
<script src="/imbed.js"></script></head><body style="margin:0">
<script>
  window.bench = {
    maxNodes: 0,
    mount(url, token, conv, newest) {
      return new Promise((resolve) => {
        const started = performance.now();
        const el = document.createElement('imbed-chat');
        el.setAttribute('server', url);
        el.setAttribute('token', token);
        el.setAttribute('conversation', conv);
        el.style.cssText = 'display:flex;height:600px;width:420px';
        document.body.append(el);
        window.chat = el;
        const count = () => el.shadowRoot.querySelectorAll('[part~="message"]').length;
        const check = () => {
          bench.maxNodes = Math.max(bench.maxNodes, count());
          const texts = [...el.shadowRoot.querySelectorAll('[part~="message"] [part~="text"]')].map((n) => n.textContent);
          if (texts.some((t) => t.startsWith(newest))) {
            observer.disconnect();
            const renderedMs = performance.now() - started;
            const state = el.client && el.client.state;
            requestAnimationFrame(() => resolve({ renderedMs, paintedMs: performance.now() - started, state }));
          }
        };
        const observer = new MutationObserver(check);
        el.updateComplete.then(() => {
          observer.observe(el.shadowRoot, { childList: true, subtree: true });
          new MutationObserver(() => { bench.maxNodes = Math.max(bench.maxNodes, count()); }).observe(el.shadowRoot, { childList: true, subtree: true });
          check();
        });
      });
    },
  };
</script></body></html>`;

/** Runs in the page: scrolls from the newest message to the oldest; returns frame times, page times, drift. */
async function scrollToOldest(step: number): Promise<{ frames: number[]; pages: number[]; drifts: number[]; held: number; first: number | null; ms: number }> {
  const el = (window as any).chat;
  const log: PageElement = el.shadowRoot.querySelector('[part~="log"]');
  const client = el.client;
  const pages: number[] = [];
  const original = client.loadOlder.bind(client);
  client.loadOlder = async (conv: string) => {
    const t = performance.now();
    const found = await original(conv);
    if (found) pages.push(performance.now() - t);
    return found;
  };
  const held = () => client.items(el.conversation);
  const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
  const topVisible = (seq?: string) => {
    const top = log.getBoundingClientRect().top;
    const nodes = [...el.shadowRoot.querySelectorAll('[part~="message"]')] as PageElement[];
    const node = nodes.find((n) => (seq === undefined ? n.getBoundingClientRect().bottom > top : n.dataset.seq === seq));
    return node ? { seq: node.dataset.seq!, offset: node.getBoundingClientRect().top - top } : null;
  };
  const frames: number[] = [];
  const drifts: number[] = [];
  const started = performance.now();
  let last = await frame();
  const tick = async () => {
    const now = await frame();
    frames.push(now - last);
    last = now;
  };
  for (;;) {
    if (log.scrollTop > 0) {
      log.scrollTop = Math.max(0, log.scrollTop - step);
      await tick();
      continue;
    }
    const first = held()[0];
    if (!first || first.seq === 1) break;
    // At the top: the older page is on its way (the list asked when the top came near).
    const anchor = topVisible();
    const before = held().length;
    const deadline = performance.now() + 30_000;
    while (held().length === before && performance.now() < deadline) await tick();
    if (held().length === before) break;
    await tick();
    const moved = anchor && topVisible(anchor.seq);
    if (anchor && moved) drifts.push(Math.abs(moved.offset - anchor.offset));
  }
  return { frames, pages, drifts, held: held().length, first: held()[0]?.seq ?? null, ms: performance.now() - started };
}

/** Runs in the page: the gaps between `count` animation frames while nothing changes, the frame clock's own spread. */
async function idleFrames(count: number): Promise<number[]> {
  const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
  const gaps: number[] = [];
  let last = await frame();
  while (gaps.length < count) {
    const now = await frame();
    gaps.push(now - last);
    last = now;
  }
  return gaps;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'imbed-bench-history-'));
  const db = join(dir, 'imbed.db');
  const seeder = new Store(db);
  const now = Date.now();
  const seedStarted = performance.now();
  seeder.appendAll(Array.from({ length: COUNT }, (_, i) => ({
    conv: CONV, from: i % 3 === 0 ? 'bench-reader' : 'bench-writer', name: i % 3 === 0 ? 'Reader' : 'Writer', cmid: `seed-${i}`, ts: now - (COUNT - i) * 1000,
    text: `message ${i + 1} ` + 'lorem ipsum dolor sit amet, consectetur adipiscing elit '.repeat(i % 6) + (i % 11 === 0 ? 'https://example.com/a/long/link' : ''),
  })));
  seeder.close();
  const seedMs = performance.now() - seedStarted;

  const server = await createImbedServer({ port: 0, host: '127.0.0.1', db, secret: 'bench-history-secret', dev: true, limits: NO_LIMITS, log: () => {} });
  const bundle = readFileSync(join(root, 'dist/imbed.js'));
  const site: Server = createServer((req, res) => {
    // Cross-origin isolated, so the page's clock (and its frame times) is not coarsened to 0.1 ms.
    const isolated = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    if (req.url === '/imbed.js') res.writeHead(200, { 'content-type': 'text/javascript', ...isolated }).end(bundle);
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...isolated }).end(PAGE);
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  const sitePort = (site.address() as { port: number }).port;
  const profile = mkdtempSync(join(tmpdir(), 'imbed-bench-profile-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, viewport: { width: 800, height: 700 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const token = await server.signToken('bench-reader', { name: 'Reader' });
    const url = `ws://127.0.0.1:${server.port}/ws`;
    const newest = `message ${COUNT} `;
    type Mounted = { renderedMs: number; paintedMs: number; state: string | null };
    const mount = () => page.evaluate(([u, t, c, n]) => (window as any).bench.mount(u, t, c, n), [url, token, CONV, newest]) as Promise<Mounted>;

    // tsx compiles functions passed to evaluate() with calls to its `__name` helper: give the page one.
    await page.addInitScript('window.__name = (f) => f');
    await page.goto(`http://127.0.0.1:${sitePort}/`);
    const fresh = await mount();
    const freshHeld = await page.evaluate(() => (window as any).chat.client.items((window as any).chat.conversation).length);
    // Let the session settle (acks of nothing, IndexedDB writes) before the reload.
    await page.waitForTimeout(500);
    await page.reload();
    const cached = await mount();
    await page.waitForFunction(() => (window as any).chat.client?.state === 'online');
    const idle = await page.evaluate(idleFrames, 600);
    const isolated = await page.evaluate(() => (window as any).crossOriginIsolated === true);
    const scroll = await page.evaluate(scrollToOldest, STEP);
    const maxNodes = await page.evaluate(() => (window as any).bench.maxNodes as number);

    console.log(`bench:history — ${COUNT} messages (seeded in ${seedMs.toFixed(0)} ms), <imbed-chat> 420x600, dist/imbed.js, Chromium ${context.browser()?.version() ?? ''}`);
    console.log(`fresh (nothing cached): newest message rendered ${f1(fresh.renderedMs)} ms, painted ${f1(fresh.paintedMs)} ms after mount; held then: ${freshHeld} messages`);
    console.log(`reload (IndexedDB cache): newest message rendered ${f1(cached.renderedMs)} ms, painted ${f1(cached.paintedMs)} ms after mount; client state then: ${cached.state}`);
    console.log(`max message nodes in DOM: ${maxNodes}`);
    console.log(`scroll newest -> oldest (${STEP} px/frame, ${(scroll.ms / 1000).toFixed(1)} s, ${scroll.frames.length} frames): frame ms p50 ${f2(percentile(scroll.frames, 50))}  p95 ${f2(percentile(scroll.frames, 95))}  max ${f1(Math.max(...scroll.frames))}`);
    // A frame is dropped when its gap holds a second one: over 1.5 idle frames.
    const dropped = scroll.frames.filter((ms) => ms > 1.5 * percentile(idle, 50)).length;
    console.log(`  the same page idle (${idle.length} frames, nothing scrolling; clock ${isolated ? 'not coarsened' : 'coarsened to 0.1 ms'}): frame ms p50 ${f2(percentile(idle, 50))}  p95 ${f2(percentile(idle, 95))}  max ${f2(Math.max(...idle))}; scrolling dropped ${dropped} of ${scroll.frames.length} frames`);
    console.log(`older pages: ${scroll.pages.length} loads (cache then server), ms p50 ${f1(percentile(scroll.pages, 50))}  p95 ${f1(percentile(scroll.pages, 95))}  max ${f1(Math.max(...scroll.pages))}`);
    console.log(`anchor drift px: max ${f1(Math.max(0, ...scroll.drifts))} over ${scroll.drifts.length} prepends`);
    console.log(`held at the end: ${scroll.held} messages, oldest seq ${scroll.first}`);
  } finally {
    await context.close();
    await new Promise((r) => site.close(r));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
