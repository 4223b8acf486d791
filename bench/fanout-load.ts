/**
 * The load generator of `npm run bench:fanout`, in a child process of its own (its CPU is not the
 * server's). `process.argv[2]` is a JSON `LoadSpec`; the result goes to the parent over IPC as
 * `{ result: LoadResult }`, then the process exits.
 *
 * N clients join one conversation; the first S of them also send, each R messages/s, starting at a
 * random offset so senders are not in lockstep. Every text is 100 bytes and starts with a stamp
 * `~sender.phase.seq.sentAt~`, so every receiver measures latency (one clock: one process) and tells
 * lost, duplicated and reordered messages per sender. A warm-up phase (phase 0) runs first and is not
 * counted; the measured phase (phase 1) then runs T seconds, and the window ends once every delivery
 * arrived or the drain timeout passed. The server's CPU (utime + stime) and peak RSS are read from
 * /proc at the window's edges.
 *
 * A delivery is one copy of a message reaching one client: with Socket.IO and bare ws every client
 * including the sender gets it back; with imbed the other clients get `msg` and the sender its `sent`
 * ack, so a missing ack counts as lost like a missing `msg`.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { SignJWT } from 'jose';
import { io as socketIo, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { PROTOCOL } from '../src/protocol/index.ts';
import type { ServerKind } from './fanout-server.ts';

export interface LoadSpec {
  kind: ServerKind;
  port: number;
  serverPid: number;
  clients: number;
  senders: number;
  /** Messages per second per sender. */
  rate: number;
  /** Measured seconds. */
  seconds: number;
  warmSeconds: number;
  secret: string;
  conv: string;
  users: string[];
}

export interface LoadResult {
  deliveries: number;
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  lost: number;
  duplicated: number;
  reordered: number;
  /** imbed only: error frames received (a refused send shows as lost too). */
  errors: number;
  cpuUs: number;
  cpuUsPerDelivery: number;
  /** The kernel's share of the server's CPU time (system / (user + system)). */
  systemShare: number;
  peakRssKb: number;
  /** The load generator's own CPU over the window, in % of one core: near 100 it, not the server, is the bottleneck. */
  loadCpuPercent: number;
}

const TEXT_BYTES = 100;
/** How long the window waits for the last deliveries after the last send. */
const DRAIN_MS = 5000;
/** How long connecting every client may take. */
const CONNECT_MS = 30_000;
const CLK_TCK = 100;

const spec = JSON.parse(process.argv[2]!) as LoadSpec;
const { clients: N, senders: S, rate: R } = spec;
const perSender = Math.ceil(R * spec.seconds);
const interval = 1000 / R;

/** Measured-phase bookkeeping, per receiver and sender. */
const seen = new Uint8Array(N * S * perSender);
const highest = new Int32Array(N * S).fill(-1);
const latencies = new Float64Array(N * S * perSender);
let delivered = 0;
let duplicated = 0;
let reordered = 0;
let errors = 0;
let warmDelivered = 0;
let warmExpected = 0;

/** Records one received text (or, for an imbed sender, the cmid of its ack) at `receiver`. */
function receive(receiver: number, sender: number, phase: number, seq: number, sentAt: number, now: number): void {
  if (phase === 0) {
    warmDelivered++;
    return;
  }
  const k = receiver * S + sender;
  const slot = k * perSender + seq;
  if (seen[slot]) {
    duplicated++;
    return;
  }
  seen[slot] = 1;
  if (seq < highest[k]!) reordered++;
  else highest[k] = seq;
  latencies[delivered++] = now - sentAt;
}

function text(sender: number, phase: number, seq: number): string {
  const stamp = `~${sender}.${phase}.${seq}.${performance.now().toFixed(3).replace('.', '_')}~`;
  return stamp + 'x'.repeat(TEXT_BYTES - stamp.length);
}

/**
 * Reads the four numbers `sender phase seq sentAt` that start at `at` of a received frame, separated by
 * any single non-digit, sentAt with `_` as its decimal point (so `.` and `-` can separate the fields),
 * and records them at `receiver`. Works on the bytes (ws) or the string (Socket.IO) without copying:
 * the load generator's own CPU must stay far below the servers'.
 */
function receiveFields(receiver: number, s: Buffer | string, at: number, now: number): void {
  const code = typeof s === 'string' ? (i: number) => s.charCodeAt(i) : (i: number) => s[i]!;
  const fields = [0, 0, 0, 0];
  let i = at;
  for (let f = 0; f < 4; f++) {
    let n = 0;
    for (let c = code(i); c >= 48 && c <= 57; c = code(++i)) n = n * 10 + c - 48;
    fields[f] = n;
    i++;
  }
  let frac = 0;
  let scale = 1;
  for (let c = code(i); c >= 48 && c <= 57; c = code(++i)) {
    frac = frac * 10 + c - 48;
    scale *= 10;
  }
  receive(receiver, fields[0]!, fields[1]!, fields[2]!, fields[3]! + frac / scale, now);
}

const TILDE = 0x7e;
const CMID_MARK = Buffer.from('"cmid":"b-');

interface Client {
  send(sender: number, phase: number, seq: number): void;
  close(): void;
}

/** The server's CPU time so far, user and system, in µs. */
function readCpuUs(): { user: number; system: number } {
  const stat = readFileSync(`/proc/${spec.serverPid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime), counted from the state field (3) here.
  return { user: (Number(fields[11]) * 1e6) / CLK_TCK, system: (Number(fields[12]) * 1e6) / CLK_TCK };
}

function readPeakRssKb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${spec.serverPid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function connectImbed(i: number): Promise<Client> {
  const token = await new SignJWT({ name: spec.users[i] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(spec.users[i]!)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(spec.secret));
  const ws = new WebSocket(`ws://127.0.0.1:${spec.port}/ws`, PROTOCOL);
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', token, convs: [{ conv: spec.conv, after: 0 }] })));
    ws.once('close', () => reject(new Error(`client ${i} closed before welcome`)));
    ws.on('message', (data: Buffer) => {
      const now = performance.now();
      // Every server frame starts with `{"type":"`; its 10th byte tells msg, sent, welcome and error apart.
      const kind = data[9];
      if (kind === 0x6d /* m */) return receiveFields(i, data, data.indexOf(TILDE) + 1, now);
      if (kind === 0x73 /* s */) return receiveFields(i, data, data.indexOf(CMID_MARK) + CMID_MARK.length, now);
      if (kind === 0x77 /* w */) return resolve();
      if (kind === 0x65 /* e */ && errors++ < 5) console.error(`client ${i}: ${data.toString()}`);
    });
  });
  return {
    send(sender, phase, seq) {
      const t = text(sender, phase, seq);
      const sentAt = t.slice(1, t.indexOf('~', 1)).split('.')[3];
      ws.send(JSON.stringify({ type: 'send', conv: spec.conv, cmid: `b-${sender}-${phase}-${seq}-${sentAt}`, text: t }));
    },
    close: () => ws.terminate(),
  };
}

async function connectSocketIo(i: number): Promise<Client> {
  const socket: Socket = socketIo(`http://127.0.0.1:${spec.port}`, { transports: ['websocket'], reconnection: false });
  socket.on('chat message', (msg: string) => receiveFields(i, msg, msg.indexOf('~') + 1, performance.now()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return {
    send: (sender, phase, seq) => void socket.emit('chat message', text(sender, phase, seq)),
    close: () => void socket.disconnect(),
  };
}

async function connectBareWs(i: number): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${spec.port}/`);
  ws.on('error', () => {});
  ws.on('message', (data: Buffer) => receiveFields(i, data, data.indexOf(TILDE) + 1, performance.now()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { send: (sender, phase, seq) => ws.send(text(sender, phase, seq)), close: () => ws.terminate() };
}

const connect = { imbed: connectImbed, baseline: connectImbed, socketio: connectSocketIo, ws: connectBareWs }[spec.kind];

async function connectAll(): Promise<Client[]> {
  const out: Client[] = [];
  const batch = 20;
  for (let i = 0; i < N; i += batch) {
    const ids = Array.from({ length: Math.min(batch, N - i) }, (_, j) => i + j);
    out.push(...(await Promise.all(ids.map((id) => connect(id)))));
  }
  return out;
}

/** Sends `count` messages from each sender at R/s, each sender starting at a random offset. */
function runPhase(all: Client[], phase: number, count: number): Promise<void> {
  const start = performance.now();
  const senders = Array.from({ length: S }, (_, sender) => {
    const offset = Math.random() * interval;
    return new Promise<void>((resolve) => {
      let seq = 0;
      const tick = (): void => {
        all[sender]!.send(sender, phase, seq++);
        if (seq >= count) return resolve();
        setTimeout(tick, Math.max(0, start + offset + seq * interval - performance.now()));
      };
      setTimeout(tick, offset);
    });
  });
  return Promise.all(senders).then(() => {});
}

function waitFor(done: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  return new Promise((resolve) => {
    const poll = (): void => {
      if (done() || performance.now() > deadline) resolve();
      else setTimeout(poll, 5);
    };
    poll();
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function main(): Promise<void> {
  const timeout = setTimeout(() => {
    console.error('connecting took too long');
    process.exit(1);
  }, CONNECT_MS);
  const all = await connectAll();
  clearTimeout(timeout);

  const warmCount = Math.max(1, Math.ceil(R * spec.warmSeconds));
  warmExpected = warmCount * S * N;
  await runPhase(all, 0, warmCount);
  await waitFor(() => warmDelivered >= warmExpected, DRAIN_MS);
  await new Promise((r) => setTimeout(r, 200));

  const expected = perSender * S * N;
  const cpuBefore = readCpuUs();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  await runPhase(all, 1, perSender);
  await waitFor(() => delivered >= expected, DRAIN_MS);
  const cpuAfter = readCpuUs();
  const systemUs = cpuAfter.system - cpuBefore.system;
  const cpuUs = cpuAfter.user - cpuBefore.user + systemUs;
  const own = process.cpuUsage(ownBefore);
  const loadCpuPercent = ((own.user + own.system) / 1000 / (performance.now() - started)) * 100;
  const peakRssKb = readPeakRssKb();

  const sorted = latencies.slice(0, delivered).sort();
  const result: LoadResult = {
    deliveries: delivered,
    deliveriesPerSecond: delivered / spec.seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    lost: expected - delivered,
    duplicated,
    reordered,
    errors,
    cpuUs,
    cpuUsPerDelivery: delivered ? cpuUs / delivered : NaN,
    systemShare: cpuUs ? systemUs / cpuUs : NaN,
    peakRssKb,
    loadCpuPercent,
  };
  for (const c of all) c.close();
  process.send!({ result }, () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
