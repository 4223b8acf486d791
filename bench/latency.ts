/**
 * `npm run bench:latency`: how long a message takes from `send()` on one page to its node in another
 * page's `<imbed-chat>`, through the real server.
 *
 * The bench starts the server in this process (port 0, temp SQLite file, WAL + synchronous=FULL, no rate
 * limits) and opens two Chromium pages on a page of its own that loads the built `dist/imbed.js`: A
 * (sender) and B (reader), one conversation. After a warm-up, A calls `chat.send(text)` at a modest rate;
 * B notes when each message's node appears in its shadow DOM (MutationObserver). Both pages read one
 * clock, `performance.timeOrigin + performance.now()`. To tell where the time goes, A notes when the
 * `send` frame leaves its socket and B when the `msg` frame arrives on its socket, so each latency splits
 * into sender (send() to the frame out: outbox write in IndexedDB, pacing), network + server (SQLite commit
 * with fsync, fan-out) and reader (frame in to node: IndexedDB write, then render after the client's
 * `change`). Prints numbers; asserts nothing.
 *
 * Usage: node --import tsx bench/latency.ts [--messages 1000] [--warmup 50] [--interval 20]
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

const { values: args } = parseArgs({
  options: { messages: { type: 'string', default: '1000' }, warmup: { type: 'string', default: '50' }, interval: { type: 'string', default: '20' } },
});
const COUNT = Number(args.messages);
const WARMUP = Number(args.warmup);
const INTERVAL = Number(args.interval);
const CONV = 'bench-latency';
const root = fileURLToPath(new URL('../', import.meta.url));

// The functions passed to page.evaluate() run in Chromium: their globals, named for the Node type check.
declare const window: any;

/**
 * The page: notes, on the shared clock, every frame its sockets send or receive that carries a bench
 * message (`lat <n> `), and every message node that appears in the chat's shadow DOM.
 */
const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>latency bench</title>
<script>
  const clock = () => performance.timeOrigin + performance.now();
  window.marks = { out: new Map(), in: new Map(), stored: new Map(), node: new Map() };
  const number = (data) => { const m = /"text":"lat (\\d+) /.exec(typeof data === 'string' ? data : ''); return m ? Number(m[1]) : null; };
  const Native = WebSocket;
  window.WebSocket = class extends Native {
    constructor(...a) {
      super(...a);
      // Added before the client's own listener: the moment the frame is handed to the page.
      this.addEventListener('message', (e) => { const n = number(e.data); if (n !== null && e.data.includes('"type":"msg"')) marks.in.set(n, clock()); });
    }
    send(data) { const n = number(data); if (n !== null) marks.out.set(n, clock()); return super.send(data); }
  };
</script>
<script src="/imbed.js"></script></head><body style="margin:0">
<script>
  window.mount = (url, token, conv) => new Promise((resolve) => {
    const el = document.createElement('imbed-chat');
    el.setAttribute('server', url);
    el.setAttribute('token', token);
    el.setAttribute('conversation', conv);
    el.style.cssText = 'display:flex;height:600px;width:420px';
    document.body.append(el);
    window.chat = el;
    el.updateComplete.then(() => {
      new MutationObserver((records) => {
        const now = clock();
        for (const r of records) for (const node of r.addedNodes) {
          if (node.nodeType !== 1) continue;
          for (const m of node.matches('[part~="message"]') ? [node] : node.querySelectorAll('[part~="message"]')) {
            const n = /^lat (\\d+) /.exec(m.querySelector('[part~="text"]')?.textContent ?? '');
            if (n && !marks.node.has(Number(n[1]))) marks.node.set(Number(n[1]), now);
          }
        }
      }).observe(el.shadowRoot, { childList: true, subtree: true });
      // The client's \`change\` after a message is stored in IndexedDB and in its copy: the render follows.
      const stored = () => {
        const items = el.client.items(conv);
        const n = /^lat (\\d+) /.exec(items[items.length - 1]?.text ?? '');
        if (n && !marks.stored.has(Number(n[1]))) marks.stored.set(Number(n[1]), clock());
      };
      const online = () => (el.client && el.client.state === 'online' ? (el.client.addEventListener('change', stored), resolve()) : setTimeout(online, 20));
      online();
    });
  });
</script></body></html>`;

/** Runs in page A: sends `count` messages from `first`, one every `interval` ms; returns when each send() was called. */
async function sendAll({ first, count, interval }: { first: number; count: number; interval: number }): Promise<Array<[number, number]>> {
  const chat = (window as any).chat;
  const calls: Array<[number, number]> = [];
  for (let n = first; n < first + count; n++) {
    calls.push([n, performance.timeOrigin + performance.now()]);
    void chat.send(`lat ${n} ${'x'.repeat(n % 40)}`);
    await new Promise((r) => setTimeout(r, interval));
  }
  return calls;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const row = (label: string, values: number[]) =>
  `${label.padEnd(34)} p50 ${percentile(values, 50).toFixed(2).padStart(7)}  p99 ${percentile(values, 99).toFixed(2).padStart(7)}  max ${Math.max(...values).toFixed(2).padStart(7)} ms`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'imbed-bench-latency-'));
  const server = await createImbedServer({ port: 0, host: '127.0.0.1', db: join(dir, 'imbed.db'), secret: 'bench-latency-secret', dev: true, limits: NO_LIMITS, log: () => {} });
  const bundle = readFileSync(join(root, 'dist/imbed.js'));
  const site: Server = createServer((req, res) => {
    if (req.url === '/imbed.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  const siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}/`;
  const profile = mkdtempSync(join(tmpdir(), 'imbed-bench-profile-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const url = `ws://127.0.0.1:${server.port}/ws`;
    const pages = [];
    for (const user of ['bench-a', 'bench-b']) {
      const page = await context.newPage();
      await page.addInitScript('window.__name = (f) => f');
      await page.goto(siteUrl);
      await page.evaluate(([u, t, c]) => (window as any).mount(u, t, c), [url, await server.signToken(user), CONV]);
      pages.push(page);
    }
    const [a, b] = pages as [(typeof pages)[0], (typeof pages)[0]];
    await a.evaluate(sendAll, { first: 0, count: WARMUP, interval: INTERVAL });
    await b.waitForFunction((n) => (window as any).marks.node.size >= n, WARMUP, { timeout: 60_000 });
    const calls = await a.evaluate(sendAll, { first: WARMUP, count: COUNT, interval: INTERVAL });
    await b.waitForFunction((n) => (window as any).marks.node.size >= n, WARMUP + COUNT, { timeout: 120_000 }).catch(() => {});
    const outs = new Map(await a.evaluate(() => [...(window as any).marks.out] as Array<[number, number]>));
    const ins = new Map(await b.evaluate(() => [...(window as any).marks.in] as Array<[number, number]>));
    const nodes = new Map(await b.evaluate(() => [...(window as any).marks.node] as Array<[number, number]>));
    const stored = new Map(await b.evaluate(() => [...(window as any).marks.stored] as Array<[number, number]>));
    const total: number[] = [];
    const sender: number[] = [];
    const wire: number[] = [];
    const reader: number[] = [];
    const storing: number[] = [];
    const rendering: number[] = [];
    let missing = 0;
    for (const [n, called] of calls) {
      const [out, arrived, node] = [outs.get(n), ins.get(n), nodes.get(n)];
      if (node === undefined || out === undefined || arrived === undefined) {
        missing += 1;
        continue;
      }
      total.push(node - called);
      sender.push(out - called);
      wire.push(arrived - out);
      reader.push(node - arrived);
      const at = stored.get(n);
      if (at !== undefined) {
        storing.push(at - arrived);
        rendering.push(node - at);
      }
    }
    console.log(`bench:latency — ${COUNT} messages after ${WARMUP} warm-up, one every ${INTERVAL} ms, page A -> server -> page B (loopback, SQLite WAL + synchronous=FULL)`);
    console.log(row('send() on A -> node in B', total));
    console.log(row('  A: send() -> send frame out', sender));
    console.log(row('  send frame out -> msg frame in B', wire));
    console.log(row('  B: msg frame in -> node', reader));
    console.log(row('    B: frame in -> stored (change)', storing));
    console.log(row('    B: change -> node', rendering));
    if (missing) console.log(`not rendered on B (or frames not seen): ${missing}`);
  } finally {
    await context.close();
    await new Promise((r) => site.close(r));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
