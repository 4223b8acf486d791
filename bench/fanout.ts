/**
 * `npm run bench:fanout`: server CPU per delivered message, latency and exactly-once delivery when N
 * clients share one conversation and S of them send R messages/s each, for three servers at the same
 * load, in turn: imbed, the Socket.IO tutorial chat server, and a bare `ws` broadcast (the floor).
 *
 * Every run forks the server into a child process of its own (bench/fanout-server.ts) and the load
 * generator into another (bench/fanout-load.ts), so the server's CPU time (/proc/PID/stat) is its own.
 * The servers alternate within each repetition, so drifting machine noise spreads over all three. The
 * table holds the medians over the repetitions. Loopback only; every run is bounded in time.
 *
 * Usage: node --import tsx bench/fanout.ts [--clients 200] [--senders 20] [--rate 10] [--seconds 10]
 *        [--reps 3] [--warm 2] [--servers imbed,socketio,ws] [--find-max] [--json] [--cpu-prof-dir DIR]
 *        [--commit-interval 0] [--baseline DIR]
 * `--find-max` raises the rate by half each step until p99 passes 100 ms or anything is lost, and prints
 * the highest rate (messages/s per sender) that held for each server. `--cpu-prof-dir` writes a V8 CPU
 * profile of every server child there (open it in Chrome DevTools). `--commit-interval` sets imbed's
 * `commitInterval`. `--baseline DIR` adds the imbed server of another checkout (e.g. a `git worktree` of
 * an older commit, its node_modules linked) as server `baseline`, to compare versions in one run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LimitsConfig } from '../src/server/index.ts';
import type { LoadResult, LoadSpec } from './fanout-load.ts';
import type { ServerKind, ServerSpec } from './fanout-server.ts';

const SERVER_SCRIPT = fileURLToPath(new URL('./fanout-server.ts', import.meta.url));
const LOAD_SCRIPT = fileURLToPath(new URL('./fanout-load.ts', import.meta.url));
const SECRET = 'fanout-bench-secret';
const CONV = 'fanout';
/** Find-max criteria. */
const MAX_P99_MS = 100;
const MAX_STEPS = 12;

const LABELS: Record<ServerKind, string> = { imbed: 'imbed', baseline: 'imbed base', socketio: 'Socket.IO', ws: 'bare ws' };

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    senders: { type: 'string', default: '20' },
    rate: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    reps: { type: 'string', default: '3' },
    warm: { type: 'string', default: '2' },
    servers: { type: 'string', default: 'imbed,socketio,ws' },
    'find-max': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'cpu-prof-dir': { type: 'string' },
    'commit-interval': { type: 'string', default: '0' },
    baseline: { type: 'string' },
  },
  strict: true,
});

const clients = Number(values.clients);
const senders = Number(values.senders);
const baseRate = Number(values.rate);
const seconds = Number(values.seconds);
const reps = Number(values.reps);
const warm = Number(values.warm);
const commitInterval = Number(values['commit-interval']);
const kinds = values.servers.split(',') as ServerKind[];
if (values.baseline && !kinds.includes('baseline')) kinds.unshift('baseline');
if (senders > clients || kinds.some((k) => !(k in LABELS)) || (kinds.includes('baseline') && !values.baseline)) throw new Error('bad arguments');

/**
 * The limits a production deployment would set for this load: every limit stays on, raised to leave
 * headroom over the senders' rate. All clients come from 127.0.0.1, which behind a proxy (trustProxy)
 * would be many addresses, so the per-address cap is off.
 */
function imbedLimits(rate: number): Partial<LimitsConfig> {
  return {
    framesPerSecond: Math.max(20, Math.ceil(rate * 2)),
    messagesPerMinute: Math.max(60, Math.ceil(rate * 60 * 2)),
    connectionsPerIp: 0,
  };
}

function describeLimits(l: Partial<LimitsConfig>): string {
  return `framesPerSecond ${l.framesPerSecond}, messagesPerMinute ${l.messagesPerMinute} (2x the senders' rate${values['find-max'] ? ', raised with it' : ''}), connectionsPerIp off (one loopback address), other limits default (connectionsPerUser 20, identicalTexts 3/30s, maxBufferedBytes 4 MiB)`;
}

function forkJson(script: string, arg: unknown, execArgv: string[] = []): ChildProcess {
  return fork(script, [JSON.stringify(arg)], { execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function firstMessage<T>(child: ChildProcess, key: string, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${key} within ${ms} ms`)), ms);
    child.on('message', (m: Record<string, unknown>) => {
      if (key in m) {
        clearTimeout(timer);
        resolve(m[key] as T);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with ${code} before ${key}`));
    });
  });
}

async function run(kind: ServerKind, rate: number): Promise<LoadResult> {
  const users = Array.from({ length: clients }, (_, i) => `u${i}`);
  const serverSpec: ServerSpec = { kind, secret: SECRET, conv: CONV, users, limits: imbedLimits(rate), commitInterval, ...(values.baseline && { root: values.baseline }) };
  const profile = values['cpu-prof-dir'];
  const server = forkJson(SERVER_SCRIPT, serverSpec, profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []);
  try {
    const port = await firstMessage<number>(server, 'port', 30_000);
    const loadSpec: LoadSpec = { kind, port, serverPid: server.pid!, clients, senders, rate, seconds, warmSeconds: warm, secret: SECRET, conv: CONV, users };
    const load = forkJson(LOAD_SCRIPT, loadSpec);
    try {
      return await firstMessage<LoadResult>(load, 'result', (seconds + warm) * 1000 + 60_000);
    } finally {
      load.kill('SIGKILL');
    }
  } finally {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

type Summary = Record<keyof LoadResult, number>;

function summarize(results: LoadResult[]): Summary {
  const keys = Object.keys(results[0]!) as Array<keyof LoadResult>;
  return Object.fromEntries(keys.map((k) => [k, median(results.map((r) => r[k]))])) as Summary;
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function printTable(rows: Array<[ServerKind, Summary]>): void {
  const header = ['server', 'deliv/s', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'dup', 'reord', 'errors', 'CPU us/deliv', 'sys %', 'peak RSS MB', 'load CPU %'];
  const lines = rows.map(([kind, s]) => [
    LABELS[kind],
    fmt(s.deliveriesPerSecond, 0),
    fmt(s.p50, 2),
    fmt(s.p99, 2),
    fmt(s.max, 2),
    String(s.lost),
    String(s.duplicated),
    String(s.reordered),
    String(s.errors),
    fmt(s.cpuUsPerDelivery, 2),
    fmt(s.systemShare * 100, 0),
    fmt(s.peakRssKb / 1024, 1),
    fmt(s.loadCpuPercent, 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(row(header));
  for (const l of lines) console.log(row(l));
  const of = (kind: ServerKind) => rows.find(([k]) => k === kind)?.[1];
  const ratio = (a: ServerKind, b: ServerKind) => {
    const x = of(a);
    const y = of(b);
    if (!x || !y) return;
    console.log(
      `${LABELS[a]} / ${LABELS[b]}: CPU per delivery ${fmt(x.cpuUsPerDelivery / y.cpuUsPerDelivery, 2)}x, ` +
        `p50 ${fmt(x.p50 / y.p50, 2)}x, p99 ${fmt(x.p99 / y.p99, 2)}x, peak RSS ${fmt(x.peakRssKb / y.peakRssKb, 2)}x`,
    );
  };
  ratio('imbed', 'socketio');
  ratio('baseline', 'socketio');
  ratio('imbed', 'baseline');
}

function held(r: LoadResult): boolean {
  return r.lost === 0 && r.duplicated === 0 && r.reordered === 0 && r.p99 <= MAX_P99_MS;
}

async function findMax(kind: ServerKind): Promise<number | null> {
  let best: number | null = null;
  let rate = baseRate;
  for (let step = 0; step < MAX_STEPS; step++) {
    const r = await run(kind, rate);
    const ok = held(r);
    console.log(`  ${LABELS[kind]} at ${fmt(rate, 1)} msg/s per sender: ${fmt(r.deliveriesPerSecond, 0)} deliv/s, p99 ${fmt(r.p99, 2)} ms, lost ${r.lost}, dup ${r.duplicated}, reord ${r.reordered} -> ${ok ? 'held' : 'failed'}`);
    if (!ok) break;
    best = rate;
    rate = Math.round(rate * 1.5 * 10) / 10;
  }
  return best;
}

async function main(): Promise<void> {
  console.log(`fanout bench: ${clients} clients in one conversation, ${senders} senders x ${baseRate} msg/s, 100-byte texts, ${seconds} s measured after ${warm} s warm-up, ${reps} reps; load avg ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`imbed: temp SQLite file (WAL, synchronous=FULL), HS256 tokens, access members, commitInterval ${commitInterval} ms; limits on: ${describeLimits(imbedLimits(baseRate))}`);
  if (values.baseline) console.log(`imbed base: the same server from ${values.baseline}`);
  console.log('Socket.IO: tutorial server (io.emit), clients on the websocket transport; bare ws: wss.clients loop with c.send(data)');
  console.log('A delivery is one copy reaching one client (imbed senders: their `sent` ack); latency is from send to receipt.');
  if (values['find-max']) {
    for (const kind of kinds) {
      const best = await findMax(kind);
      console.log(`${LABELS[kind]}: highest rate that held: ${best === null ? 'none' : `${best} msg/s per sender (${fmt(best * senders * clients, 0)} deliveries/s)`}`);
    }
    return;
  }
  const results = new Map<ServerKind, LoadResult[]>(kinds.map((k) => [k, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of kinds) {
      const r = await run(kind, baseRate);
      results.get(kind)!.push(r);
      console.log(`  rep ${rep + 1} ${LABELS[kind]}: ${fmt(r.cpuUsPerDelivery, 2)} us/deliv, p99 ${fmt(r.p99, 2)} ms, lost ${r.lost}, dup ${r.duplicated}, reord ${r.reordered}, errors ${r.errors}`);
    }
  }
  const rows = kinds.map((k) => [k, summarize(results.get(k)!)] as [ServerKind, Summary]);
  console.log(`\nmedians of ${reps} reps:`);
  printTable(rows);
  if (values.json) console.log(JSON.stringify(Object.fromEntries(rows)));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
