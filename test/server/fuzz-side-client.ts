/**
 * The well-behaved client of the fuzz: one message every 100 ms (slower if `welcome.limits` says so)
 * and a ping every 250 ms, each round trip timed. Anything but an in-order `sent` with the next seq or
 * a matching `pong` is an issue.
 *
 * It runs in a worker thread, so that its timings are the server's and the network's, not the wait
 * for the fuzzing code on the test's main thread to yield.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { PROTOCOL, parseServerFrame, type ServerFrame } from '../../src/protocol/index.ts';

export type SidePhase = 'before' | 'during' | 'after';

/** What the side client saw, for the test to assert on and print. */
export interface SideReport {
  /** Round trips in ms per phase: `send` to `sent`, `ping` to `pong`. */
  latency: Record<SidePhase, { send: number[]; ping: number[] }>;
  issues: string[];
  /** Seq of the last `sent`: the side conversation must hold exactly 1..acked. */
  acked: number;
  /** Whether every send and ping was answered before the client closed. */
  answeredAll: boolean;
}

interface Options {
  url: string;
  token: string;
  conv: string;
  cmidPrefix: string;
}

type FromParent = { phase: SidePhase } | { stop: true };
type FromWorker = { ready: true } | { report: SideReport } | { failed: string };

/** Starts the side client in a worker; resolves once it has its welcome. */
export async function startSideClient(options: Options): Promise<{ setPhase(phase: SidePhase): void; stop(): Promise<SideReport> }> {
  // A worker does not inherit the TypeScript loader of its parent (Node 20), so it registers tsx itself
  // before importing this module.
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: options });
  const messages: FromWorker[] = [];
  let wake: (() => void) | null = null;
  worker.on('message', (m: FromWorker) => {
    messages.push(m);
    wake?.();
  });
  worker.on('error', (err) => {
    messages.push({ failed: String(err) });
    wake?.();
  });
  const next = async (): Promise<FromWorker> => {
    while (messages.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return messages.shift()!;
  };
  const first = await next();
  if ('failed' in first) throw new Error(`side client: ${first.failed}`);
  return {
    setPhase: (phase) => worker.postMessage({ phase } satisfies FromParent),
    async stop() {
      worker.postMessage({ stop: true } satisfies FromParent);
      const last = await next();
      await worker.terminate();
      if ('failed' in last) throw new Error(`side client: ${last.failed}`);
      if (!('report' in last)) throw new Error('side client: no report');
      return last.report;
    },
  };
}

class SideClient {
  private readonly ws: WebSocket;
  phase: SidePhase = 'before';
  private readonly report: SideReport = {
    latency: { before: { send: [], ping: [] }, during: { send: [], ping: [] }, after: { send: [], ping: [] } },
    issues: [],
    acked: 0,
    answeredAll: false,
  };
  private readonly pendingSends: Array<{ cmid: string; t0: number; phase: SidePhase }> = [];
  private readonly pendingPings = new Map<string, { t0: number; phase: SidePhase }>();
  private count = 0;
  private pings = 0;
  private timers: NodeJS.Timeout[] = [];
  private closing = false;

  constructor(private readonly options: Options) {
    this.ws = new WebSocket(options.url, PROTOCOL);
    this.ws.on('error', () => {});
    this.ws.on('close', (code) => {
      if (!this.closing) this.report.issues.push(`closed with ${code}`);
    });
  }

  async start(): Promise<void> {
    await new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    const welcome = await new Promise<ServerFrame>((resolve) => {
      this.ws.once('message', (data) => resolve(JSON.parse(String(data)) as ServerFrame));
      this.ws.send(JSON.stringify({ type: 'hello', token: this.options.token, convs: [{ conv: this.options.conv, after: 0 }] }));
    });
    if (welcome.type !== 'welcome') throw new Error(`no welcome: ${JSON.stringify(welcome)}`);
    this.ws.on('message', (data) => this.onFrame(String(data)));
    // Well-behaved: within the rates the server states.
    const { messagesPerMinute, framesPerSecond } = welcome.limits;
    const sendEvery = messagesPerMinute ? Math.max(100, Math.ceil((60_000 / messagesPerMinute) * 1.2)) : 100;
    const pingEvery = framesPerSecond ? Math.max(250, Math.ceil(1000 / (framesPerSecond / 2))) : 250;
    this.timers.push(setInterval(() => this.send(), sendEvery), setInterval(() => this.ping(), pingEvery));
  }

  private send(): void {
    const cmid = `${this.options.cmidPrefix}-${(this.count++).toString().padStart(6, '0')}`;
    this.pendingSends.push({ cmid, t0: performance.now(), phase: this.phase });
    this.ws.send(JSON.stringify({ type: 'send', conv: this.options.conv, cmid, text: `side message ${this.count}` }));
  }

  private ping(): void {
    const ref = `side-ping-${this.pings++}`;
    this.pendingPings.set(ref, { t0: performance.now(), phase: this.phase });
    this.ws.send(JSON.stringify({ type: 'ping', ref }));
  }

  private onFrame(text: string): void {
    const now = performance.now();
    const issues = this.report.issues;
    const frame = parseServerFrame(text);
    if (frame === null) return void issues.push(`unreadable frame: ${text.slice(0, 200)}`);
    if (frame.type === 'sent') {
      const expected = this.pendingSends.shift();
      if (!expected || expected.cmid !== frame.cmid) return void issues.push(`sent out of order: got ${frame.cmid}, expected ${expected?.cmid}`);
      if (frame.seq !== this.report.acked + 1) issues.push(`sent seq ${frame.seq} after ${this.report.acked}`);
      this.report.acked = frame.seq;
      this.report.latency[expected.phase].send.push(now - expected.t0);
    } else if (frame.type === 'pong') {
      const ref = String(frame.ref);
      const pending = this.pendingPings.get(ref);
      if (!pending) return void issues.push(`pong with unknown ref ${ref}`);
      this.pendingPings.delete(ref);
      this.report.latency[pending.phase].ping.push(now - pending.t0);
    } else {
      issues.push(`unexpected frame: ${text.slice(0, 200)}`);
    }
  }

  /** Stops sending, waits (bounded) for the answers still due, closes, and reports. */
  async stop(): Promise<SideReport> {
    for (const t of this.timers) clearInterval(t);
    const deadline = Date.now() + 5000;
    while ((this.pendingSends.length > 0 || this.pendingPings.size > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.report.answeredAll = this.pendingSends.length === 0 && this.pendingPings.size === 0;
    this.closing = true;
    this.ws.close(1000);
    return this.report;
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const client = new SideClient(workerData as Options);
  client.start().then(
    () => port.postMessage({ ready: true } satisfies FromWorker),
    (err: unknown) => port.postMessage({ failed: String(err) } satisfies FromWorker),
  );
  port.on('message', (m: FromParent) => {
    if ('phase' in m) client.phase = m.phase;
    else void client.stop().then((report) => port.postMessage({ report } satisfies FromWorker));
  });
}
