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
 * into sender (send() to the frame out; the outbox write in IndexedDB overlaps it), network + server
 * (SQLite commit with fsync, fan-out) and reader (frame in to node: the client's `change`, then the render).
 * The server, in this process, notes on the same clock when the `send` frame reaches its socket handler
 * and when the `msg` frame is written, which splits the middle stretch into A -> server, the server's
 * own work and server -> B.
 *
 * Then, in the same browser, the floors any chat stack on this machine stands on: the same two pages
 * with a bare `WebSocket` each, through a `ws` relay that forwards every frame to the other socket, and
 * through the same relay committing each frame to SQLite (WAL + synchronous=FULL) before forwarding it,
 * which is the least a server that acknowledges only what is durable must do. Prints numbers; asserts
 * nothing.
 *
 * `--cpu-prof-dir DIR` writes a CPU profile of each page over the measured messages (sender.cpuprofile,
 * reader.cpuprofile; open them in Chrome DevTools' Performance panel). Build with `npx vite build --mode
 * script --minify false` first to read function names.
 *
 * Usage: node --import tsx bench/latency.ts [--messages 1000] [--warmup 50] [--interval 20] [--cpu-prof-dir DIR]
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { chromium, type BrowserContext } from 'playwright-core';
import { Socket as NetSocket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/support/chromium.ts';
import { createImbedServer, NO_LIMITS } from '../src/server/index.ts';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '50' },
    interval: { type: 'string', default: '20' },
    'cpu-prof-dir': { type: 'string' },
  },
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

/**
 * The floor: page A's bare WebSocket -> a `ws` relay -> page B's, with the same count and pace as the
 * chat, from `send()` to B's `message` event. With `db`, the relay inserts each frame into a SQLite file
 * (WAL, synchronous=FULL) and forwards it once the insert has committed.
 */
async function relayLatency(context: BrowserContext, siteUrl: string, db: string | null): Promise<number[]> {
  const sqlite = db === null ? null : new Database(db);
  sqlite?.pragma('journal_mode = WAL');
  sqlite?.pragma('synchronous = FULL');
  sqlite?.exec('CREATE TABLE frames (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const insert = sqlite?.prepare('INSERT INTO frames (body) VALUES (?)');
  const relay = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  relay.on('connection', (socket) =>
    socket.on('message', (data, binary) => {
      insert?.run(String(data));
      for (const other of relay.clients) if (other !== socket) other.send(data, { binary });
    }),
  );
  await new Promise((r) => relay.once('listening', r));
  const url = `ws://127.0.0.1:${(relay.address() as { port: number }).port}`;
  const pages = [await context.newPage(), await context.newPage()] as const;
  try {
    for (const page of pages) {
      await page.goto(`${siteUrl}?floor`);
      await page.evaluate(
        (u) =>
          new Promise((resolve) => {
            const socket = new WebSocket(u);
            const w = window as any;
            w.relay = socket;
            w.arrived = new Map();
            socket.onmessage = (e) => w.arrived.set(Number(e.data), performance.timeOrigin + performance.now());
            socket.onopen = resolve;
          }),
        url,
      );
    }
    const [a, b] = pages;
    const calls = await a.evaluate(
      async ({ count, interval }) => {
        const sent: Array<[number, number]> = [];
        for (let n = 0; n < count; n++) {
          sent.push([n, performance.timeOrigin + performance.now()]);
          (window as any).relay.send(String(n));
          await new Promise((r) => setTimeout(r, interval));
        }
        return sent;
      },
      { count: WARMUP + COUNT, interval: INTERVAL },
    );
    await b.waitForFunction((n) => (window as any).arrived.size >= n, WARMUP + COUNT, { timeout: 60_000 }).catch(() => {});
    const arrived = new Map(await b.evaluate(() => [...(window as any).arrived] as Array<[number, number]>));
    return calls.filter(([n]) => n >= WARMUP && arrived.has(n)).map(([n, at]) => arrived.get(n)! - at);
  } finally {
    for (const page of pages) await page.close();
    await new Promise((r) => relay.close(r));
    sqlite?.close();
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const row = (label: string, values: number[]) =>
  `${label.padEnd(34)} p50 ${percentile(values, 50).toFixed(2).padStart(7)}  p99 ${percentile(values, 99).toFixed(2).padStart(7)}  max ${Math.max(...values).toFixed(2).padStart(7)} ms`;

/**
 * Notes, on the same clock as the pages (the system clock through `performance`), when each bench
 * message's `send` frame reaches the server's socket handler and when its `msg` frame is written to a
 * socket, so the wire splits into A -> server, the server's own work (validate, SQLite commit, fan-out)
 * and server -> B.
 */
function markServer(): { in: Map<number, number>; out: Map<number, number>; stop(): void } {
  const clock = () => performance.timeOrigin + performance.now();
  const number = (text: string) => {
    const m = /"text":"lat (\d+) /.exec(text);
    return m ? Number(m[1]) : null;
  };
  const { emit } = WebSocket.prototype;
  const write = NetSocket.prototype.write;
  // Undone before the floors run in this process, so their relay pays nothing for the chat's marks.
  const marks = {
    in: new Map<number, number>(),
    out: new Map<number, number>(),
    stop() {
      WebSocket.prototype.emit = emit;
      NetSocket.prototype.write = write;
    },
  };
  WebSocket.prototype.emit = function (this: WebSocket, event: string | symbol, ...rest: unknown[]) {
    if (event === 'message') {
      const n = number(String(rest[0]));
      if (n !== null && !marks.in.has(n)) marks.in.set(n, clock());
    }
    return emit.call(this, event, ...rest);
  };
  NetSocket.prototype.write = function (this: NetSocket, ...a: unknown[]) {
    const chunk = a[0];
    if (Buffer.isBuffer(chunk) || typeof chunk === 'string') {
      const text = Buffer.isBuffer(chunk) ? chunk.toString('latin1') : chunk;
      const n = text.includes('"type":"msg"') ? number(text) : null;
      if (n !== null && !marks.out.has(n)) marks.out.set(n, clock());
    }
    return (write as (this: NetSocket, ...a: unknown[]) => boolean).apply(this, a);
  } as typeof NetSocket.prototype.write;
  return marks;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'imbed-bench-latency-'));
  const server = await createImbedServer({ port: 0, host: '127.0.0.1', db: join(dir, 'imbed.db'), secret: 'bench-latency-secret', dev: true, limits: NO_LIMITS, log: () => {} });
  const bundle = readFileSync(join(root, 'dist/imbed.js'));
  const site: Server = createServer((req, res) => {
    if (req.url === '/imbed.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(req.url === '/?floor' ? '<!doctype html><title>floor</title>' : PAGE);
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
    const serverMarks = markServer();
    await a.evaluate(sendAll, { first: 0, count: WARMUP, interval: INTERVAL });
    await b.waitForFunction((n) => (window as any).marks.node.size >= n, WARMUP, { timeout: 60_000 });
    const profilers = args['cpu-prof-dir'] === undefined ? [] : await Promise.all(pages.map((page) => context.newCDPSession(page)));
    for (const cdp of profilers) await cdp.send('Profiler.enable').then(() => cdp.send('Profiler.start'));
    const calls = await a.evaluate(sendAll, { first: WARMUP, count: COUNT, interval: INTERVAL });
    await b.waitForFunction((n) => (window as any).marks.node.size >= n, WARMUP + COUNT, { timeout: 120_000 }).catch(() => {});
    serverMarks.stop();
    for (const [i, cdp] of profilers.entries()) {
      const { profile } = await cdp.send('Profiler.stop');
      mkdirSync(args['cpu-prof-dir']!, { recursive: true });
      writeFileSync(join(args['cpu-prof-dir']!, `${i === 0 ? 'sender' : 'reader'}.cpuprofile`), JSON.stringify(profile));
    }
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
    const toServer: number[] = [];
    const inServer: number[] = [];
    const fromServer: number[] = [];
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
      const [serverIn, serverOut] = [serverMarks.in.get(n), serverMarks.out.get(n)];
      if (serverIn !== undefined && serverOut !== undefined) {
        toServer.push(serverIn - out);
        inServer.push(serverOut - serverIn);
        fromServer.push(arrived - serverOut);
      }
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
    console.log(row('    A -> server', toServer));
    console.log(row('    server: frame in -> msg written', inServer));
    console.log(row('    server -> B', fromServer));
    console.log(row('  B: msg frame in -> node', reader));
    console.log(row('    B: frame in -> change', storing));
    console.log(row('    B: change -> node', rendering));
    if (missing) console.log(`not rendered on B (or frames not seen): ${missing}`);
    for (const durable of [false, true]) {
      const floor = await relayLatency(context, siteUrl, durable ? join(dir, 'relay.db') : null);
      console.log(row(durable ? 'floor: relay + SQLite commit' : 'floor: bare ws relay', floor));
    }
  } finally {
    await context.close();
    await new Promise((r) => site.close(r));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
