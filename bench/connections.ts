/**
 * `npm run bench:connections`: what an idle connection costs the server. N authenticated connections
 * are opened and held with heartbeats for a while, against the imbed server, a Socket.IO server and a
 * bare `ws` server in turn (never at once: loopback ports and CPU are shared), each in a child process of
 * its own, with the clients in another process (the open-file limit is per process).
 *
 * Per server: RSS (and V8 heap) before any client connects, and while all are held: read every second,
 * the median of the second half of the hold (a single reading swings by megabytes with where the GC
 * happens to be). Both are read again after a forced GC (the servers run with --expose-gc) at the start
 * and at the end. The difference divided by N is the cost of one connection. Disconnects are counted on both sides: closes
 * and errors the clients saw after connecting, and the server's own count of open connections (GET
 * /healthz) at the end, which must still be N.
 *
 * imbed runs as `imbed-server` (src/server/cli.ts) with `--access open` (the clients' conversations are
 * not created through the admin API), `--connections-per-ip 0` (all clients come from 127.0.0.1; the
 * default allows 100 per address) and `--heartbeat`; every other limit keeps its default. Each client
 * has its own user (so the 20-per-user limit never applies) and one conversation shared with 9 others.
 *
 * Usage: node --import tsx bench/connections.ts [--connections 10000] [--duration 60] [--heartbeat 5000]
 *          [--servers imbed,socketio,ws] [--target 10] [--snapshots DIR]
 * Exit code 1 when a server drops a connection or imbed costs more than --target KB per connection.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ClientsReport, ConnectedReport, ServerKind } from './connections/clients.ts';
import type { MemoryReport, ProbeRequest } from './connections/probe.ts';

const here = fileURLToPath(new URL('./connections/', import.meta.url));
const root = fileURLToPath(new URL('../', import.meta.url));
const SECRET = 'bench-connections-' + Math.random().toString(36).slice(2);
const KINDS: readonly ServerKind[] = ['imbed', 'socketio', 'ws'];
const NAMES: Record<ServerKind, string> = { imbed: 'imbed', socketio: 'Socket.IO', ws: 'bare ws' };
/** Quiet time before the first reading and after the clients connect, so start-up garbage settles. */
const SETTLE_MS = 2_000;
/** Longest wait for a server to listen or answer the probe. */
const STEP_TIMEOUT_MS = 30_000;

interface Result {
  kind: ServerKind;
  connected: ConnectedReport;
  before: MemoryReport;
  beforeGc: MemoryReport;
  /** RSS read every second over the second half of the hold. */
  held: number[];
  afterGc: MemoryReport;
  clients: ClientsReport;
  serverSessions: number;
  /** Connections the server itself closed or dropped (imbed logs each one). */
  serverCloses: number | null;
}

/** A server under test: a child process with the memory probe preloaded and an IPC channel. */
class ServerUnderTest {
  readonly child: ChildProcess;
  readonly port: Promise<number>;
  private readonly dir = mkdtempSync(join(tmpdir(), 'imbed-bench-conns-'));
  /** Log lines of imbed closing a session (`session X closed`, `idle ... terminated`). */
  closes = 0;
  private output = '';

  constructor(readonly kind: ServerKind, heartbeat: number) {
    const probe = join(here, 'probe.ts');
    const execArgv = ['--expose-gc', '--import', 'tsx', '--import', probe];
    const env = { ...process.env, IMBED_SECRET: SECRET, BENCH_HEARTBEAT: String(heartbeat) };
    const [script, args] =
      kind === 'imbed'
        ? [join(root, 'src/server/cli.ts'), ['--port', '0', '--db', join(this.dir, 'imbed.db'), '--access', 'open', '--connections-per-ip', '0', '--heartbeat', String(heartbeat)]]
        : [join(here, `${kind}-server.ts`), []];
    this.child = fork(script, args, { execArgv, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.port = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${kind} server did not start:\n${this.output}`)), STEP_TIMEOUT_MS);
      let pending = '';
      this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          if (/ closed \d+| idle for /.test(line)) this.closes += 1;
          const listening = /(?:imbed server on|listening on) http:\/\/[^\s]+:(\d+)/.exec(line);
          if (listening) {
            clearTimeout(timer);
            resolve(Number(listening[1]));
          }
        }
      });
      this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
      this.child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}:\n${this.output}`)));
    });
  }

  /** `rss` etc. now; after a forced GC when `gc`. */
  memory(gc: boolean): Promise<MemoryReport> {
    return ask<MemoryReport>(this.child, { type: 'memory', gc } satisfies ProbeRequest, 'memory');
  }

  snapshot(file: string): Promise<unknown> {
    return ask(this.child, { type: 'snapshot', file } satisfies ProbeRequest, 'snapshot', 120_000);
  }

  /** The server's own count of open connections. */
  async sessions(): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${await this.port}/healthz`);
    return ((await res.json()) as { connections: number }).connections;
  }

  async stop(): Promise<void> {
    await kill(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Sends `request` to `child` and resolves with its first answer of `type`. */
function ask<T>(child: ChildProcess, request: unknown, type: string, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`no ${type} answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: { type: string }) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.send(request as object);
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  return exited;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(kind: ServerKind, n: number, durationMs: number, heartbeat: number, snapshots: string | undefined): Promise<Result> {
  const server = new ServerUnderTest(kind, heartbeat);
  let clients: ChildProcess | null = null;
  try {
    const port = await server.port;
    await pause(SETTLE_MS);
    const before = await server.memory(false);
    const beforeGc = await server.memory(true);
    if (snapshots) await server.snapshot(join(snapshots, `${kind}-before.heapsnapshot`));
    const url = kind === 'socketio' ? `http://127.0.0.1:${port}` : `ws://127.0.0.1:${port}${kind === 'imbed' ? '/ws' : ''}`;
    process.stdout.write(`${NAMES[kind]}: connecting ${n} clients... `);
    clients = fork(join(here, 'clients.ts'), ['--kind', kind, '--url', url, '--connections', String(n), '--heartbeat', String(heartbeat)], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, IMBED_SECRET: SECRET },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const connected = await new Promise<ConnectedReport>((resolve, reject) => {
      clients!.once('message', (m: ConnectedReport) => resolve(m));
      clients!.once('exit', (code) => reject(new Error(`the client process exited with ${code}`)));
    });
    process.stdout.write(`${connected.connected} in ${(connected.ms / 1000).toFixed(1)} s${connected.failed ? `, ${connected.failed} failed (${connected.firstError})` : ''}; holding ${durationMs / 1000} s... `);
    const held: number[] = [];
    const holdStart = performance.now();
    for (let t = 1; t * 1000 <= durationMs; t++) {
      await pause(holdStart + t * 1000 - performance.now());
      const { rss } = await server.memory(false);
      if (t * 1000 > durationMs / 2) held.push(rss);
    }
    await pause(holdStart + durationMs - performance.now());
    const clientsReport = await ask<ClientsReport>(clients, { type: 'report' }, 'report');
    const serverSessions = await server.sessions();
    if (held.length === 0) held.push((await server.memory(false)).rss);
    const afterGc = await server.memory(true);
    if (snapshots) await server.snapshot(join(snapshots, `${kind}-after.heapsnapshot`));
    process.stdout.write('done\n');
    // Counted before the clients go: their closing is no spurious disconnect.
    const serverCloses = kind === 'imbed' ? server.closes : null;
    return { kind, connected, before, beforeGc, held, afterGc, clients: clientsReport, serverSessions, serverCloses };
  } finally {
    if (clients) await kill(clients);
    await server.stop();
  }
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const perConn = (a: number, b: number, n: number) => (b - a) / n / 1024;

function table(results: Result[], n: number): string {
  const header = ['server', 'connections', 'RSS before', 'RSS after', 'KB/conn', 'KB/conn after GC', 'heap KB/conn after GC', 'disconnects', 'server sessions', 'connect all'];
  const rows = results.map((r) => [
    NAMES[r.kind],
    String(r.connected.connected),
    mb(r.before.rss),
    mb(median(r.held)),
    perConn(r.before.rss, median(r.held), n).toFixed(2),
    perConn(r.beforeGc.rss, r.afterGc.rss, n).toFixed(2),
    perConn(r.beforeGc.heapUsed, r.afterGc.heapUsed, n).toFixed(2),
    String(r.clients.disconnects + r.connected.failed + (r.serverCloses ?? 0)),
    String(r.serverSessions),
    `${(r.connected.ms / 1000).toFixed(1)} s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '10000' },
      duration: { type: 'string', default: '60' },
      heartbeat: { type: 'string', default: '5000' },
      servers: { type: 'string', default: KINDS.join(',') },
      target: { type: 'string', default: '10' },
      snapshots: { type: 'string' },
    },
    strict: true,
  });
  const n = Number(values.connections);
  const durationMs = Number(values.duration) * 1000;
  const heartbeat = Number(values.heartbeat);
  const target = Number(values.target);
  const kinds = values.servers.split(',') as ServerKind[];
  if (!(n >= 1 && durationMs >= 0 && heartbeat >= 1000 && target > 0)) throw new Error('--connections, --duration, --heartbeat (>= 1000) and --target must be positive numbers');
  const unknown = kinds.filter((k) => !KINDS.includes(k));
  if (unknown.length) throw new Error(`unknown --servers ${unknown.join(',')}; known: ${KINDS.join(',')}`);

  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  console.log(`connections bench: ${n} idle authenticated connections per server, held ${durationMs / 1000} s with a ${heartbeat} ms heartbeat`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}; ephemeral ports ${low}-${high} (${high! - low! + 1})`);
  if (high! - low! + 1 < n + 1000) console.log(`warning: only ${high! - low! + 1} ephemeral ports for ${n} clients`);
  console.log('imbed: imbed-server --access open --connections-per-ip 0 --heartbeat ' + heartbeat + ' (other limits at their defaults); clients: hello with an HS256 token, 1 conversation of 10 clients, ping every welcome.heartbeat');
  console.log(`Socket.IO: token checked in middleware, joins its conversation's room, pingInterval ${heartbeat}, WebSocket transport; bare ws: answers each ping, nothing else\n`);

  if (values.snapshots) console.log(`heap snapshots go to ${values.snapshots}; writing one takes memory of its own, so the RSS figures of this run are not comparable\n`);
  const results: Result[] = [];
  for (const kind of kinds) {
    results.push(await measure(kind, n, durationMs, heartbeat, values.snapshots));
    // Let the closed sockets of this run leave the kernel's tables before the next server starts.
    if (kind !== kinds[kinds.length - 1]) await pause(SETTLE_MS);
  }

  console.log(`\n${table(results, n)}\n`);
  console.log('KB/conn: (RSS after - RSS before) / connections, RSS after being the median of one reading a second over the second half of the hold;');
  console.log('"after GC": both read after a forced full GC (start, end); heap: V8 heapUsed after GC.');
  console.log('disconnects: clients closed or failed plus connections the server closed (imbed logs them); server sessions: its own count at the end (GET /healthz).');
  for (const r of results) {
    if (r.clients.disconnects) console.log(`${NAMES[r.kind]}: first disconnect: ${r.clients.firstDisconnect}`);
    console.log(`${NAMES[r.kind]}: ${r.clients.pingsSent} heartbeats, ${r.clients.pongs} answered; RSS held ${mb(Math.min(...r.held))} to ${mb(Math.max(...r.held))}; heap ${mb(r.beforeGc.heapUsed)} -> ${mb(r.afterGc.heapUsed)}, external ${mb(r.beforeGc.external)} -> ${mb(r.afterGc.external)} (after GC)`);
  }
  const byKind = new Map(results.map((r) => [r.kind, r]));
  const imbed = byKind.get('imbed');
  const cost = (r: Result, gc: boolean) => (gc ? perConn(r.beforeGc.rss, r.afterGc.rss, n) : perConn(r.before.rss, median(r.held), n));
  if (imbed) {
    for (const other of ['socketio', 'ws'] as const) {
      const r = byKind.get(other);
      if (r) console.log(`imbed/${NAMES[other]}: ${(cost(imbed, false) / cost(r, false)).toFixed(2)} (after GC ${(cost(imbed, true) / cost(r, true)).toFixed(2)})`);
    }
  }
  const dropped = results.filter((r) => r.serverSessions !== r.connected.connected || r.clients.disconnects > 0 || r.connected.failed > 0 || (r.serverCloses ?? 0) > 0);
  for (const r of dropped) console.log(`${NAMES[r.kind]}: connections were lost or refused`);
  if (imbed) {
    const kb = cost(imbed, false);
    const kbGc = cost(imbed, true);
    const verdict = (x: number) => (x <= target ? 'PASS' : 'MISS');
    // Without a forced GC the reading includes garbage waiting for V8's next full GC: how much depends on
    // when the last one ran, so it moves by a few KB per connection from run to run.
    console.log(`imbed: ${kb.toFixed(2)} KB per connection held, ${kbGc.toFixed(2)} KB after a forced GC (target <= ${target} KB): ${verdict(kb)}, after GC ${verdict(kbGc)}`);
    if (kb > target) process.exitCode = 1;
  }
  if (dropped.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`bench:connections: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
