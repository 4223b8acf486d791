/**
 * `npm run bench:flush`: how long a browser takes to deliver an outbox of 1,000 messages queued offline
 * once the network returns, and whether they arrived exactly once and in order.
 *
 * Each run: a fresh server process (the built CLI, temp SQLite file, WAL + synchronous=FULL) that is NOT
 * started yet; a fresh Chromium profile on disk (so IndexedDB writes are real disk writes, as for a user);
 * a page from our own loopback http server that loads `dist/imbed.js` and creates an `ImbedClient`. The page
 * queues the messages with `await client.send()` each (every one durably in the IndexedDB outbox, while
 * every connection attempt is refused). Then the server starts and, once it listens, the page gets the
 * `online` event a browser fires when the network returns.
 *
 * Measured in the page, on one clock (`performance.now()`): from dispatching `online` to the `change`
 * event after which no outbox item is pending, i.e. the last `sent` ack is stored in IndexedDB and the
 * outbox is empty. The breakdown shows when the socket opened, `welcome` arrived and the outbox started
 * draining (state `online`), and when the last `sent` frame arrived (the server's and the network's share;
 * the rest is the client storing acks); the server's CPU time over the flush comes from /proc. Afterwards
 * the client's items and the SQLite file are checked: seq 1..N, each cmid once, in send order.
 *
 * Usage: node --import tsx bench/flush.ts [--runs 5] [--messages 1000] [--target 3000]
 * Exit code 1 when a check fails or the median misses the target. Loopback only; bounded in time.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/support/chromium.ts';
import { cliPath, freePort, ServerProcess } from '../test/support/server-process.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const bundlePath = join(root, 'dist/imbed.js');
/** No single run may take longer than this, queueing included. */
const RUN_TIMEOUT_MS = 120_000;

/** What the in-page harness returns after queueing. */
interface Queued {
  queueMs: number;
  cmids: string[];
  state: string;
  storage: string | null;
}

/** What the in-page harness measures for one flush; times in ms after the `online` event. */
interface Flushed {
  totalMs: number;
  openMs: number | null;
  welcomeMs: number | null;
  drainMs: number | null;
  firstAckMs: number | null;
  /** When the last `sent` frame arrived on the socket (before the client stored it). */
  lastAckArrivedMs: number;
  acksArrived: number;
  changes: number;
  /** Extra `online` events needed because an attempt was in flight when the server started (normally 0). */
  nudges: number;
  /** The client's items after the flush, in its order. */
  items: Array<{ cmid: string; seq: number | null; status: string }>;
}

/** The harness the page defines as `window.flushBench`. */
interface Harness {
  queue(o: { url: string; token: string; conv: string; count: number }): Promise<Queued>;
  flush(timeoutMs: number): Promise<Flushed>;
  stop(): Promise<void>;
}

/** The page: loads the script-tag bundle from this origin (the chat server is down) and defines the harness. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>imbed flush bench</title>
<script src="/imbed.js"></script></head><body>
<script>
  // Notes when the last \`sent\` frame arrives on any socket, to tell the server's and the network's share
  // (acks arriving) from the client's (acks stored).
  const acks = { count: 0, lastAt: 0 };
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('message', (e) => {
        if (typeof e.data === 'string' && e.data.startsWith('{"type":"sent"')) {
          acks.count += 1;
          acks.lastAt = performance.now();
        }
      });
    }
  };
  let client = null;
  let conversation = null;
  window.flushBench = {
    async queue({ url, token, conv, count }) {
      conversation = conv;
      client = new window.Imbed.ImbedClient({ url, token, conversations: [conv] });
      client.start();
      await client.ready;
      const start = performance.now();
      const cmids = [];
      for (let i = 0; i < count; i++) cmids.push((await client.send(conv, 'flush message ' + i)).cmid);
      return { queueMs: performance.now() - start, cmids, state: client.state, storage: client.storageKind };
    },
    flush(timeoutMs) {
      return new Promise((resolve, reject) => {
        const marks = { openMs: null, welcomeMs: null, drainMs: null, firstAckMs: null };
        acks.count = 0;
        let changes = 0;
        let t0 = 0;
        const onState = (e) => {
          const at = performance.now() - t0;
          if (e.detail.to === 'authenticating') marks.openMs ??= at;
          if (e.detail.to === 'syncing') marks.welcomeMs ??= at;
          if (e.detail.to === 'online') marks.drainMs ??= at;
        };
        const onChange = () => {
          changes += 1;
          if (marks.drainMs !== null) marks.firstAckMs ??= performance.now() - t0;
          if (client.pendingCount() === 0) finish();
        };
        // An attempt refused just before the server listened leaves the client in its backoff wait; a second
        // \`online\` ends that wait (counted, and shown, so such a run can be told apart).
        let nudges = 0;
        const nudge = setInterval(() => {
          if (marks.openMs !== null) return clearInterval(nudge);
          nudges += 1;
          window.dispatchEvent(new Event('online'));
        }, 500);
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error('flush did not finish within ' + timeoutMs + ' ms; state ' + client.state + ', pending ' + client.pendingCount()));
        }, timeoutMs);
        function cleanup() {
          clearTimeout(timer);
          clearInterval(nudge);
          client.removeEventListener('state', onState);
          client.removeEventListener('change', onChange);
        }
        function finish() {
          const totalMs = performance.now() - t0;
          cleanup();
          const items = client.items(conversation).map((i) => ({ cmid: i.cmid, seq: i.seq, status: i.status }));
          resolve({ totalMs, ...marks, lastAckArrivedMs: acks.lastAt - t0, acksArrived: acks.count, changes, nudges, items });
        }
        client.addEventListener('state', onState);
        client.addEventListener('change', onChange);
        t0 = performance.now();
        window.dispatchEvent(new Event('online'));
      });
    },
    async stop() {
      await client?.stop();
    },
  };
</script></body></html>`;

interface RunResult {
  queueMs: number;
  flush: Flushed;
  serverCpuMs: number | null;
  pageScriptMs: number | null;
  pageTaskMs: number | null;
}

/** What must be undone if the bench stops early (timeout, failed check, Ctrl-C): browsers, servers, folders. */
const cleanups = new Set<() => Promise<void>>();

async function cleanUp(): Promise<void> {
  const pending = [...cleanups].map((undo) => undo().catch(() => {}));
  cleanups.clear();
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 10_000).unref())]);
}

async function fail(message: string): Promise<never> {
  console.error(`bench:flush: ${message}`);
  await cleanUp();
  process.exit(1);
}

process.once('SIGINT', () => void fail('interrupted'));

/** CPU time (user + system) of process `pid` in ms, from /proc; null where there is no /proc. */
function cpuMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after "pid (comm)"; USER_HZ is 100 on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/** Serves the bench page and the built bundle on a loopback port of its own. */
async function startPageServer(): Promise<{ url: string; server: Server }> {
  const bundle = readFileSync(bundlePath);
  const server = createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    else if (req.url === '/imbed.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, server };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Checks the SQLite log against the order of sending; returns the problems found (none: empty). */
function checkLog(dbFile: string, conv: string, cmids: string[], user: string): string[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT seq, cmid, sender, text FROM messages WHERE conv = ? ORDER BY seq').all(conv) as Array<{ seq: number; cmid: string; sender: string; text: string }>;
    const problems: string[] = [];
    if (rows.length !== cmids.length) problems.push(`${rows.length} messages stored, ${cmids.length} sent`);
    if (new Set(rows.map((r) => r.cmid)).size !== rows.length) problems.push('a cmid is stored more than once');
    rows.forEach((r, i) => {
      if (problems.length > 5) return;
      if (r.seq !== i + 1) problems.push(`row ${i} has seq ${r.seq}, expected ${i + 1}`);
      if (r.cmid !== cmids[i]) problems.push(`seq ${r.seq} holds cmid ${r.cmid}, the ${i + 1}th sent was ${cmids[i]}`);
      if (r.text !== `flush message ${i}` || r.sender !== user) problems.push(`seq ${r.seq} holds "${r.text}" from ${r.sender}`);
    });
    return problems;
  } finally {
    db.close();
  }
}

/** Checks what the client shows after the flush: every message sent, seqs ascending in send order. */
function checkItems(items: Flushed['items'], cmids: string[]): string[] {
  const problems: string[] = [];
  if (items.length !== cmids.length) problems.push(`the client shows ${items.length} items, ${cmids.length} were sent`);
  items.forEach((item, i) => {
    if (problems.length > 5) return;
    if (item.status !== 'sent') problems.push(`item ${i} is ${item.status}`);
    if (item.cmid !== cmids[i] || item.seq !== i + 1) problems.push(`item ${i} is ${item.cmid} seq ${item.seq}, expected ${cmids[i]} seq ${i + 1}`);
  });
  return problems;
}

async function run(pageUrl: string, count: number): Promise<RunResult> {
  const server = new ServerProcess();
  const profile = mkdtempSync(join(tmpdir(), 'imbed-bench-profile-'));
  let context: BrowserContext | null = null;
  const undo = async () => {
    await context?.close().catch(() => {});
    await server.dispose();
    rmSync(profile, { recursive: true, force: true });
  };
  cleanups.add(undo);
  try {
    server.port = await freePort();
    const user = 'bench';
    const conv = `bench-${Date.now().toString(36)}`;
    const token = await server.token(user, 'Bench');

    // A persistent profile in a fresh folder: IndexedDB starts empty and lives on disk.
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(pageUrl);
    const queued = await page.evaluate(
      (o) => (globalThis as unknown as { flushBench: Harness }).flushBench.queue(o),
      { url: server.wsUrl, token, conv, count },
    );
    if (queued.storage !== 'indexeddb') throw new Error(`the client stores in ${queued.storage}, not IndexedDB`);
    if (queued.state === 'online') throw new Error('the client is online before the server started');

    await server.start(); // resolves once the server listens: the network is back
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const metric = async (name: string) => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === name)?.value ?? NaN;
    const [script0, task0] = [await metric('ScriptDuration'), await metric('TaskDuration')];
    const cpu0 = cpuMs(server.pid);
    const flush = await page.evaluate(
      (timeout) => (globalThis as unknown as { flushBench: Harness }).flushBench.flush(timeout),
      RUN_TIMEOUT_MS / 2,
    );
    const cpu1 = cpuMs(server.pid);
    const [script1, task1] = [await metric('ScriptDuration'), await metric('TaskDuration')];

    const problems = [...checkItems(flush.items, queued.cmids), ...checkLog(server.db, conv, queued.cmids, user)];
    await page.evaluate(() => (globalThis as unknown as { flushBench: Harness }).flushBench.stop());
    if (problems.length > 0) throw new Error(`order check failed:\n  ${problems.join('\n  ')}`);
    return {
      queueMs: queued.queueMs,
      flush,
      serverCpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
      pageScriptMs: Number.isNaN(script1 - script0) ? null : (script1 - script0) * 1000,
      pageTaskMs: Number.isNaN(task1 - task0) ? null : (task1 - task0) * 1000,
    };
  } finally {
    cleanups.delete(undo);
    await undo();
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const ms = (x: number | null) => (x === null ? '-' : `${Math.round(x)} ms`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      messages: { type: 'string', default: '1000' },
      target: { type: 'string', default: '3000' },
    },
    strict: true,
  });
  const runs = Number(values.runs);
  const count = Number(values.messages);
  const target = Number(values.target);
  if (!(runs >= 1 && count >= 1 && target > 0)) return fail('--runs, --messages and --target must be positive numbers');
  for (const file of [bundlePath, cliPath]) {
    if (!existsSync(file)) return fail(`${file} is missing: run \`npm run build\` first (this bench measures the built package and builds nothing itself)`);
  }
  if (!existsSync(CHROMIUM_PATH)) return fail(`no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROME_PATH`);

  const version = await chromium
    .launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
    .then(async (b) => {
      const v = b.version();
      await b.close();
      return v;
    });
  console.log(`imbed flush bench: ${count} messages queued offline, ${runs} runs, target median < ${target} ms`);
  // Other work on the machine slows every run down: the load average says how busy it was.
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}, Chromium ${version}, load average ${loadavg()[0]!.toFixed(1)}`);
  console.log('measured in the page: `online` event -> last ack stored (outbox empty)');
  console.log('server rate and connection limits are off (--no-limits): this measures delivery, not the limits\n');

  const { url, server } = await startPageServer();
  cleanups.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const totals: number[] = [];
  try {
    for (let i = 1; i <= runs; i++) {
      const r = await withTimeout(run(url, count), RUN_TIMEOUT_MS, `run ${i}`);
      totals.push(r.flush.totalMs);
      const f = r.flush;
      console.log(
        `run ${i}: ${ms(f.totalMs)}  (socket open ${ms(f.openMs)}, welcome ${ms(f.welcomeMs)}, draining ${ms(f.drainMs)}, ` +
          `first ack stored ${ms(f.firstAckMs)}, last ack arrived ${ms(f.lastAckArrivedMs)}; ${f.acksArrived} acks, ${f.changes} change events` +
          `${f.nudges ? `, ${f.nudges} extra online events` : ''})  ` +
          `server CPU ${ms(r.serverCpuMs)}, page script ${ms(r.pageScriptMs)}, page tasks ${ms(r.pageTaskMs)}; ` +
          `queueing took ${ms(r.queueMs)}; order OK`,
      );
    }
  } finally {
    await cleanUp();
  }
  const med = median(totals);
  const verdict = med < target ? 'PASS' : 'MISS';
  console.log(`\nmedian ${ms(med)}, max ${ms(Math.max(...totals))}, min ${ms(Math.min(...totals))} (target < ${target} ms): ${verdict}`);
  if (verdict === 'MISS') process.exitCode = 1;
}

main().catch((err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
