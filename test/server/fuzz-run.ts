/**
 * The fuzz loop shared by `fuzz.test.ts` and `bench/fuzz.ts`: workers that each keep one connection
 * open, send it bursts of frames from `fuzz-frames.ts`, check every burst's answers and close against
 * what its frames promise, and replace the connection when it closes.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { CLOSE_CODES, ERROR_CODES, PROTOCOL, parseServerFrame, type ServerFrame } from '../../src/protocol/index.ts';
import { DEFAULT_LIMITS } from '../../src/server/index.ts';
import { Prng } from '../chaos/prng.ts';
import { answers, answersAnyFrame, closesAnyFrame, FrameFuzzer, type Expectation, type FuzzFrame, type FuzzTokens, type SessionPhase } from './fuzz-frames.ts';
import { startSideClient, type SideReport } from './fuzz-side-client.ts';

/** How long a burst may go unanswered before the fuzz gives up on it (a hang is a failure too). */
const BURST_TIMEOUT_MS = 20_000;
/** Problems kept per run: the first ones say enough. */
const MAX_PROBLEMS = 50;

export interface FuzzOptions {
  url: string;
  seed: number;
  /** Generated frames to send in all (the barrier pings between bursts come on top). */
  frames: number;
  /** One user per worker, each worker one connection at a time. */
  users: readonly string[];
  /** Per worker, the tokens its hellos carry. */
  tokens: readonly FuzzTokens[];
}

/** What a run saw. */
export interface FuzzResult {
  frames: number;
  bursts: number;
  connections: number;
  ms: number;
  /** Answers by type or error code, and closes by code. */
  tally: Map<string, number>;
  /** Every cmid a `send` may have stored, keyed `${user} ${cmid}`, with the (conv, text) pairs it was sent with. */
  candidates: Map<string, Array<{ conv: string; text: string }>>;
  /** `sent` answers, keyed `${user} ${cmid}`. */
  acked: Map<string, { conv: string; seq: number }>;
  /** Every outcome that broke the protocol, with the burst that led to it. Empty when all went well. */
  problems: string[];
}

export function replayHint(seed: number): string {
  return `replay with IMBED_FUZZ_SEED=${seed}`;
}

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

async function sign(secret: string, sub: string | undefined, opts: { key?: string; alg?: string; exp?: number; nbf?: number } = {}): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: opts.alg ?? 'HS256' }).setIssuedAt();
  if (sub !== undefined) jwt.setSubject(sub);
  jwt.setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 3600);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(new TextEncoder().encode(opts.key ?? secret));
}

/** Tokens for each of `users` signed with `secret`: its own good one, and the shared bad ones. */
export async function makeTokens(secret: string, users: readonly string[]): Promise<FuzzTokens[]> {
  const now = Math.floor(Date.now() / 1000);
  const sample = await sign(secret, 'mallory');
  const [h, p, s] = sample.split('.') as [string, string, string];
  const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
  const refused = [
    'not-a-jwt',
    'a.b.c',
    '..',
    '\u0000',
    `Bearer ${sample}`,
    `${h}.${p}.${flipped}`,
    `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url('{"sub":"mallory"}')}.`,
    `${b64url('['.repeat(3000) + ']'.repeat(3000))}.${p}.${s}`,
    `${h}.${b64url('{"sub":"mallory","exp":1e309}')}.${s}`,
    'x'.repeat(16_384),
    await sign(secret, 'mallory', { key: 'another-secret' }),
    await sign(secret, undefined),
    await sign(secret, 'mallory', { nbf: now + 3600 }),
    await sign(secret, 'mallory', { alg: 'HS512' }),
  ];
  const expired = await sign(secret, 'mallory', { exp: now - 60 });
  return Promise.all(users.map(async (user) => ({ good: await sign(secret, user), refused, expired })));
}

/** What the opening handshake offers: the imbed.v1 subprotocol and no `Origin`, unless told otherwise. */
export interface Handshake {
  protocols?: string | string[] | undefined;
  origin?: string;
}

/** Handshakes the server completes and then closes with the code given: the client can read why. */
const REFUSED_HANDSHAKES: ReadonlyArray<[string, Handshake, number]> = [
  ['no subprotocol', { protocols: undefined }, 4002],
  ['an older protocol', { protocols: 'imbed.v0' }, 4002],
  ['other protocols only', { protocols: ['imbed.v2', 'chat'] }, 4002],
  ['a foreign origin', { origin: 'https://evil.example' }, 4006],
  ['a null origin', { origin: 'null' }, 4006],
];

/** One fuzzing connection: answers in arrival order, apart from pushes that belong to no frame. */
export class FuzzConnection {
  readonly ws: WebSocket;
  private answers: ServerFrame[] = [];
  private close: { code: number; reason: string } | null = null;
  /** Resolves true once open, false if it closed first. */
  readonly opened: Promise<boolean>;
  private wake: (() => void) | null = null;

  constructor(url: string, tally: Map<string, number>, problem: (text: string) => void, handshake: Handshake = {}) {
    this.ws = new WebSocket(url, 'protocols' in handshake ? handshake.protocols : PROTOCOL, handshake.origin === undefined ? {} : { origin: handshake.origin });
    this.ws.on('message', (data, isBinary) => {
      const text = String(data);
      if (isBinary) problem(`binary frame from the server: ${text.slice(0, 100)}`);
      try {
        JSON.parse(text);
      } catch {
        return problem(`a frame that is not JSON: ${text.slice(0, 100)}`);
      }
      const frame = parseServerFrame(text);
      if (frame === null) return problem(`a frame parseServerFrame refuses: ${text.slice(0, 200)}`);
      if (frame.type === 'error' && !(frame.code in ERROR_CODES)) problem(`an error code not in ERROR_CODES: ${text.slice(0, 200)}`);
      const key = frame.type === 'error' ? `error ${frame.code}` : frame.type;
      tally.set(key, (tally.get(key) ?? 0) + 1);
      // Live messages of followed conversations, and a connection limit's refusal on open, are
      // pushed, not answers to a frame.
      if (frame.type === 'msg' || (frame.type === 'error' && frame.code === 'TOO_MANY_CONNECTIONS')) return;
      this.answers.push(frame);
      this.wake?.();
    });
    this.ws.on('close', (code, reason) => {
      this.close = { code, reason: reason.toString() };
      tally.set(`close ${code}`, (tally.get(`close ${code}`) ?? 0) + 1);
      this.wake?.();
    });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve(true));
      this.ws.once('close', () => resolve(false));
    });
  }

  /** The close code once the socket has closed, else null. */
  closeCode(): number | null {
    return this.close?.code ?? null;
  }

  /** The answers received since the last call. */
  takeAnswers(): ServerFrame[] {
    const out = this.answers;
    this.answers = [];
    return out;
  }

  hasAnswer(ref: string): boolean {
    return this.answers.some((f) => (f as { ref?: unknown }).ref === ref);
  }

  /** Waits until `done()` or the socket closes; false on timeout. */
  async until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done() && this.close === null) {
      if (Date.now() > deadline) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return true;
  }

  /**
   * Writes bytes to the TCP socket under the WebSocket, in order with `ws.send` (which writes
   * synchronously: no compression is negotiated). `ws` keeps its socket private; a fuzzer needs it.
   */
  wire(bytes: Buffer): void {
    (this.ws as unknown as { _socket: Socket })._socket.write(bytes);
  }
}

/**
 * Whether the answers and close of one burst are what its frames promise, in order. Each frame takes
 * one answer or (if it may be silent) none; a close must be one the frame at that point may cause.
 * Returns why not, or null. A small dynamic program, since silent frames make the matching ambiguous.
 */
export function explain(expects: readonly Expectation[], got: readonly ServerFrame[], close: number | null, phase: SessionPhase): string | null {
  const n = expects.length;
  const m = got.length;
  const reach = Array.from({ length: n + 1 }, () => new Uint8Array(m + 1));
  reach[0]![0] = 1;
  for (let i = 0; i < n; i++) {
    const e = expects[i]!;
    for (let j = 0; j <= m; j++) {
      if (!reach[i]![j]) continue;
      if (e.silent) reach[i + 1]![j] = 1;
      if (j < m && (e.answers.some((a) => answers(a, got[j]!)) || answersAnyFrame(got[j]!))) reach[i + 1]![j + 1] = 1;
    }
  }
  if (close === null) return reach[n]![m] ? null : 'the answers do not match the frames';
  if (close === 1006) return 'closed abnormally (1006): the server dropped the connection without a close frame';
  if (!(close in CLOSE_CODES)) return `closed with ${close}, which is not in CLOSE_CODES`;
  // The hello timer runs from the open and the flood limit counts frames: both may strike anywhere.
  const anywhere = closesAnyFrame(close) || (phase === 'anon' && close === 4004);
  for (let i = 0; i <= n; i++) {
    if (!reach[i]![m]) continue;
    if (anywhere) return null;
    // Frame i-1 got its answer, then the close (an error, then 4005).
    if (i > 0 && expects[i - 1]!.closes.includes(close)) return null;
    // Or frame k closed without an answer, the frames between getting none either.
    for (let k = i; k < n; k++) {
      const e = expects[k]!;
      if (e.silent && e.closes.includes(close)) return null;
      if (!e.silent && !e.lostOnClose) break;
    }
  }
  return `closed with ${close} where no frame may cause it`;
}

function describeBurst(frames: readonly FuzzFrame[], got: readonly ServerFrame[], close: number | null): string {
  const sent = frames.map((f, i) => `  ${i}: ${f.label}${f.as === 'text' ? '' : ` (${f.as})`} ${String(f.data).slice(0, 80)}`).join('\n');
  const received = got.map((f) => `  ${JSON.stringify(f).slice(0, 160)}`).join('\n');
  return `frames:\n${sent.slice(0, 6000)}\nanswers:\n${received.slice(0, 6000)}\nclose: ${close}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `options.users.length` workers until `options.frames` frames are sent or a problem is found. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const result: FuzzResult = { frames: 0, bursts: 0, connections: 0, ms: 0, tally: new Map(), candidates: new Map(), acked: new Map(), problems: [] };
  const problem = (text: string) => {
    if (result.problems.length < MAX_PROBLEMS) result.problems.push(text);
  };
  const hint = replayHint(options.seed);
  const started = performance.now();

  async function worker(w: number): Promise<void> {
    const user = options.users[w]!;
    const prng = new Prng((options.seed + w * 7919) >>> 0);
    const fuzzer = new FrameFuzzer(prng, `f${options.seed.toString(36)}-${w}`, options.tokens[w]!);
    let barrier = 0;
    while (result.frames < options.frames && result.problems.length === 0) {
      if (prng.chance(0.03)) {
        await refusedHandshake(w, prng.pick(REFUSED_HANDSHAKES));
        continue;
      }
      const conn = new FuzzConnection(options.url, result.tally, problem);
      result.connections++;
      if (!(await conn.opened)) {
        const close = conn.closeCode();
        const wrong = close === null ? 'no close code' : explain([], conn.takeAnswers(), close, 'anon');
        if (wrong) problem(`worker ${w}: a connection closed before it opened: ${wrong}. ${hint}`);
        continue;
      }
      let phase: SessionPhase = 'anon';
      const bursts = prng.int(1, 12);
      for (let b = 0; b < bursts && result.frames < options.frames && conn.closeCode() === null && result.problems.length === 0; b++) {
        // Most connections say hello after at most one short anonymous burst (short, so that the
        // hello is within the frame rate), and most frames then meet a session.
        const endWithHello = phase === 'anon' && (b > 0 || prng.chance(0.5));
        const flood = prng.chance(0.04);
        const frames = flood ? fuzzer.flood(phase, prng.int(200, 500)) : fuzzer.batch(phase, prng.int(1, phase === 'anon' ? 15 : 40), endWithHello);
        const ref = `barrier-${w}-${barrier++}`;
        for (const f of frames) {
          if (f.as === 'wire') conn.wire(f.data as Buffer);
          else conn.ws.send(f.data, { binary: f.as === 'binary' });
        }
        conn.ws.send(JSON.stringify({ type: 'ping', ref }));
        result.frames += frames.length;
        result.bursts++;
        const answered = await conn.until(() => conn.hasAnswer(ref), BURST_TIMEOUT_MS);
        const got = conn.takeAnswers();
        const close = conn.closeCode();
        if (!answered) {
          problem(`worker ${w}: no answer to a burst within ${BURST_TIMEOUT_MS} ms. ${hint}\n${describeBurst(frames, got, close)}`);
          break;
        }
        const expects = [...frames.map((f) => f.expect), { answers: [{ type: 'pong', ref } as const], silent: false, closes: [] }];
        const wrong = explain(expects, got, close, phase);
        if (wrong) {
          problem(`worker ${w} (${user}, ${phase}): ${wrong}. ${hint}\n${describeBurst(frames, got, close)}`);
          break;
        }
        record(result, user, frames, got, problem);
        // A hello refused by the frame rate limit leaves the connection without a session.
        if (got.some((f) => f.type === 'welcome')) phase = 'ready';
        // Mostly keep to the frame rate, so that most frames meet the validation rather than the
        // rate limit; floods and back-to-back bursts still test the limit.
        if (!flood && prng.chance(0.75)) await sleep(((frames.length + 1) * 1000) / DEFAULT_LIMITS.framesPerSecond);
      }
      if (conn.closeCode() === null) {
        conn.ws.close(1000);
        await conn.until(() => false, 5000);
      }
    }
  }

  /** A connection whose handshake the server must refuse with a coded close, with no frame sent. */
  async function refusedHandshake(w: number, [variant, handshake, code]: [string, Handshake, number]): Promise<void> {
    const conn = new FuzzConnection(options.url, result.tally, problem, handshake);
    result.connections++;
    await conn.opened;
    await conn.until(() => false, BURST_TIMEOUT_MS);
    const close = conn.closeCode();
    const got = conn.takeAnswers();
    if (close !== code || got.length > 0) problem(`worker ${w}: a handshake with ${variant} got close ${close} and ${JSON.stringify(got).slice(0, 300)}, not ${code}. ${hint}`);
  }

  await Promise.all(options.users.map((_, w) => worker(w)));
  result.ms = performance.now() - started;
  return result;
}

/** Notes the sends a burst may have stored and the `sent` answers it got; a dup must repeat the first ack. */
function record(result: FuzzResult, user: string, frames: readonly FuzzFrame[], got: readonly ServerFrame[], problem: (text: string) => void): void {
  for (const f of frames) {
    if (!f.stores) continue;
    const key = `${user} ${f.stores.cmid}`;
    const list = result.candidates.get(key) ?? [];
    list.push({ conv: f.stores.conv, text: f.stores.text });
    result.candidates.set(key, list);
  }
  for (const f of got) {
    if (f.type !== 'sent') continue;
    const key = `${user} ${f.cmid}`;
    const first = result.acked.get(key);
    if (f.dup && first && (first.seq !== f.seq || first.conv !== f.conv)) problem(`a dup ack of ${key} with another seq: ${JSON.stringify(f)} vs ${JSON.stringify(first)}`);
    if (!f.dup && first) problem(`${key} stored twice: ${JSON.stringify(f)} vs ${JSON.stringify(first)}`);
    if (!first) result.acked.set(key, { conv: f.conv, seq: f.seq });
  }
}

/** The `p` quantile of `values` (nearest rank), NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))]!;
}

/** A process's resident set size in MB, from /proc. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface MeasuredFuzz {
  fuzz: FuzzResult;
  side: SideReport;
  /** The server's RSS in MB: after the baseline, the highest seen during the fuzz, and a second after it. */
  rss: { before: number; peak: number; after: number };
  /** CPU seconds the server used during the fuzz. */
  serverCpu: number;
}

/**
 * The fuzz with a well-behaved side client chatting in `sideConv` throughout: alone for `baselineMs`
 * first (which also warms the server up before its RSS is read), then during the fuzz. `pid` is the
 * server's process, for RSS and CPU from /proc.
 */
export async function measuredFuzz(options: FuzzOptions & { pid: number; sideToken: string; sideConv: string; baselineMs: number }): Promise<MeasuredFuzz> {
  const { pid } = options;
  const side = await startSideClient({ url: options.url, token: options.sideToken, conv: options.sideConv, cmidPrefix: `side-${options.seed}` });
  await sleep(options.baselineMs);
  const before = rssMb(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 200);
  side.setPhase('during');
  const cpuBefore = cpuSeconds(pid);
  const fuzz = await runFuzz(options);
  const serverCpu = cpuSeconds(pid) - cpuBefore;
  side.setPhase('after');
  clearInterval(sampler);
  await sleep(1000);
  const after = rssMb(pid);
  return { fuzz, side: await side.stop(), rss: { before, peak: Math.max(peak, after), after }, serverCpu };
}

function quantiles(values: readonly number[]): string {
  return `p50 ${percentile(values, 0.5).toFixed(1)} ms / p99 ${percentile(values, 0.99).toFixed(1)} ms (n=${values.length})`;
}

/** The numbers of a measured fuzz, for people. */
export function fuzzReport({ fuzz, side, rss, serverCpu }: MeasuredFuzz): string {
  const { before: b, during: d } = side.latency;
  return [
    `fuzz: ${fuzz.frames} frames in ${fuzz.bursts} bursts over ${fuzz.connections} connections, ${(fuzz.ms / 1000).toFixed(1)} s; server CPU ${serverCpu.toFixed(1)} s (${((serverCpu * 100_000) / fuzz.ms).toFixed(0)}% of one core)`,
    `fuzz outcomes: ${[...fuzz.tally].sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`,
    `server RSS: ${rss.before.toFixed(1)} MB before, ${rss.peak.toFixed(1)} MB peak, ${rss.after.toFixed(1)} MB after`,
    `side client send->sent: ${quantiles(b.send)} before, ${quantiles(d.send)} during`,
    `side client ping->pong: ${quantiles(b.ping)} before, ${quantiles(d.ping)} during`,
  ].join('\n');
}
