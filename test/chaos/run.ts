/**
 * The seeded chaos run: several users chat through one conversation while the network, the server and
 * the pages fail under them at random, then every promise is checked (each message stored once, seq
 * without gaps, each sender's order kept, every client equal to the server's log, no outbox left).
 *
 *   node --import tsx test/chaos/run.ts --seed 42 --messages 1000 --clients 3
 *
 * A seed replays the same choices (who sends, which fault, on whom, for how long); timings still vary.
 * Prints the seed first and one summary line last; exits non-zero when a promise was broken.
 */
import Database from 'better-sqlite3';
import { chromium, type Browser } from 'playwright-core';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { until } from '../support/browser.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium.ts';
import { ServerProcess } from '../support/server-process.ts';
import { TcpProxy, type BlackholeDirection } from '../support/tcp-proxy.ts';
import { ChaosClient, type ClientSnapshot, type PageFault } from './chaos-client.ts';
import { startChaosSite } from './host-site.ts';
import { Prng } from './prng.ts';
import { chaosText, judge, type StoredMessage } from './verdict.ts';

/** Every fault the run can inject, and what it does. */
export const FAULT_KINDS = [
  'cut', // a user's link drops for real (FIN/RST on both sides)
  'blackhole', // a user's link goes half-open (one or both directions) for a while, then heals
  'delay', // a user's link gets 50-500 ms of latency for a while
  'pause', // a user's link stalls, then delivers everything held, in order
  'refuse', // a user's network is down: the link drops and new connections fail for a while
  'server-kill', // the server is killed with SIGKILL, then started again on the same db and port
  'server-restart', // the server restarts gracefully (SIGUSR2: clients see 1012)
  'reload', // a user reloads the page
  'crash', // a user's renderer crashes; the page is opened again in the same profile
  'freeze', // a user's page is frozen for a few seconds (half of the time hearing `freeze` and `resume`)
  'close-tab', // a user closes the tab and opens the page again a little later
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  seed: number;
  /** Messages to send in all. */
  messages: number;
  /** Users, each with its own profile, page and proxy. */
  clients: number;
  /** Tabs each user has open on the page, sharing the user's IndexedDB (default 1). */
  tabs?: number;
  /** Mean number of messages between two faults (default 25). */
  faultEvery?: number;
  /** Mean pause between two sends in ms (default 40). */
  sendGap?: number;
  /** Fault kinds to draw from (default all). */
  kinds?: readonly FaultKind[];
  /** Bound on the wait for quiescence once the faults stop, in ms (default 120 s). */
  quiesceTimeout?: number;
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
  /** Print every fault as it starts. */
  verbose?: boolean;
  /** Ends the run early (it still cleans up and reports, as a failure). */
  signal?: AbortSignal;
}

export interface Summary {
  seed: number;
  messages: number;
  clients: number;
  /** Faults injected, by kind. */
  faults: Record<string, number>;
  lost: number;
  duplicated: number;
  reordered: number;
  /** Seconds from the end of the faults until every client and the server agreed (or the bound). */
  quiesceSeconds: number;
  quiesced: boolean;
  problems: string[];
  result: 'PASS' | 'FAIL';
  /** The one summary line. */
  line: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether `work` settles within `ms`; the timer is cleared either way, so it never holds the process open. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The server's log of `conv`, read from its SQLite file without disturbing it. */
function readLog(db: string, conv: string): Array<StoredMessage & { ts: number }> {
  const sqlite = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return sqlite.prepare('SELECT seq, cmid, sender, text, ts FROM messages WHERE conv = ? ORDER BY seq').all(conv) as Array<StoredMessage & { ts: number }>;
  } catch {
    return []; // the table does not exist before the first start has migrated the database
  } finally {
    sqlite.close();
  }
}

/** Runs one chaos run and judges it. Cleans up its server, browser and temp files whatever happens. */
export async function runChaos(options: ChaosOptions): Promise<Summary> {
  const { seed, messages, clients: clientCount } = options;
  const tabs = options.tabs ?? 1;
  const faultEvery = options.faultEvery ?? 25;
  const sendGap = options.sendGap ?? 40;
  const kinds = options.kinds ?? FAULT_KINDS;
  const quiesceTimeout = options.quiesceTimeout ?? 120_000;
  const log = options.log ?? ((line: string) => console.log(line));
  const rng = new Prng(seed);
  const conv = `chaos-${seed}`;
  const tabsArg = tabs > 1 ? ` --tabs ${tabs}` : '';
  log(`chaos seed=${seed} messages=${messages} clients=${clientCount} (replay: npm run chaos -- --seed ${seed} --messages ${messages} --clients ${clientCount} --fault-every ${faultEvery}${tabsArg})`);

  const server = new ServerProcess();
  const proxies: TcpProxy[] = [];
  const clients: ChaosClient[] = [];
  const problems: string[] = [];
  const faults: Record<string, number> = {};
  const history: string[] = [];
  let site: { url: string; close(): Promise<void> } | null = null;
  let browser: Browser | null = null;
  const started = Date.now();
  const note = (line: string) => {
    const stamped = `[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`;
    history.push(stamped);
    if (options.verbose) log(stamped);
  };

  let serverBusy = false;
  const netBusy = new Set<number>();
  const pageBusy = new Set<string>();
  const running = new Set<Promise<void>>();

  /** Starts the server again after a fault, retrying a few times (the port may linger a moment). */
  async function restartServer(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await server.start();
        return;
      } catch (e) {
        if (attempt >= 5) throw e;
        await sleep(200 * attempt);
      }
    }
  }

  /** Draws one fault and starts it unless its target is already failing; resolves when it has ended. */
  async function inject(kind: FaultKind, target: number, ms: number, extra: number, tab: number): Promise<void> {
    const c = clients[target]!;
    const p = proxies[target]!;
    const isServer = kind === 'server-kill' || kind === 'server-restart';
    const isPage = kind === 'reload' || kind === 'crash' || kind === 'freeze' || kind === 'close-tab';
    const pageKey = `${target}:${tab}`;
    const busy = isServer ? serverBusy : isPage ? pageBusy.has(pageKey) : netBusy.has(target);
    if (busy) return;
    if (isServer) serverBusy = true;
    else if (isPage) pageBusy.add(pageKey);
    else netBusy.add(target);
    faults[kind] = (faults[kind] ?? 0) + 1;
    const who = isServer ? 'server' : isPage && tabs > 1 ? `${c.user}/tab${tab + 1}` : c.user;
    note(`${kind} ${who} ${ms}ms`);
    try {
      switch (kind) {
        case 'cut':
          p.cutAll();
          break;
        case 'blackhole': {
          const direction: BlackholeDirection = (['both', 'toServer', 'toClient'] as const)[extra % 3]!;
          p.blackhole(direction);
          await sleep(ms);
          p.heal();
          break;
        }
        case 'delay':
          p.delay(50 + (extra % 450));
          await sleep(ms);
          p.delay(0);
          break;
        case 'pause':
          p.pause();
          await sleep(ms);
          p.resume();
          break;
        case 'refuse':
          p.refuse(true);
          p.cutAll();
          await sleep(ms);
          p.refuse(false);
          break;
        case 'server-kill':
          await server.kill9();
          await sleep(ms);
          await restartServer();
          break;
        case 'server-restart':
          await server.signal('SIGUSR2');
          await sleep(ms);
          await restartServer();
          break;
        default:
          // Half the freezes are Chrome's tab freezing, which the page hears of (Page Lifecycle events).
          await c.pageFault(kind as PageFault, ms, tab, extra % 2 === 1);
      }
    } catch (e) {
      problems.push(`fault ${kind} on ${isServer ? 'the server' : c.user} failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      note(`${kind} ${who} over`);
      if (isServer) serverBusy = false;
      else if (isPage) pageBusy.delete(pageKey);
      else netBusy.delete(target);
    }
  }

  let quiesceSeconds = 0;
  let quiesced = false;
  let verdict = { lost: 0, duplicated: 0, reordered: 0, problems: [] as string[] };
  try {
    await server.start();
    site = await startChaosSite((user) => server.token(user));
    // As launchChromium, but Playwright must not exit the process on Ctrl-C (it would, with 130) before
    // the run has stopped its server child and removed its temp files.
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      handleSIGINT: false,
      handleSIGTERM: false,
    });
    for (let i = 0; i < clientCount; i++) proxies.push(await TcpProxy.start(server.port));
    for (let i = 0; i < clientCount; i++) clients.push(await ChaosClient.open(browser, site.url, conv, `c${i + 1}`, proxies[i]!, tabs));
    for (const client of clients) client.onNote = note;

    // The run: sends without pause for acknowledgements, faults at random moments between them.
    const perSender = new Array<number>(clientCount).fill(0);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < messages && !options.signal?.aborted; i++) {
      if (kinds.length > 0 && rng.chance(1 / faultEvery)) {
        const kind = rng.pick(kinds);
        const target = rng.int(0, clientCount - 1);
        const ms = rng.int(300, 4000);
        const extra = rng.int(0, 1 << 30);
        // Drawn only with several tabs, so a seed replays the same run with one tab as before.
        const tab = tabs > 1 ? rng.int(0, tabs - 1) : 0;
        const fault = inject(kind, target, ms, extra, tab);
        running.add(fault);
        void fault.finally(() => running.delete(fault));
      }
      const sender = rng.int(0, clientCount - 1);
      const tab = tabs > 1 ? rng.int(0, tabs - 1) : 0;
      sends.push(clients[sender]!.send(chaosText(clients[sender]!.user, ++perSender[sender]!), tab));
      await sleep(rng.int(0, 2 * sendGap));
    }
    note('every send issued');
    const sendBound = Math.max(120_000, messages * 200);
    if (!(await within(Promise.all([...sends, ...running]), sendBound))) {
      problems.push(`the sends and faults did not finish within ${sendBound / 1000} s`);
    }
    if (running.size > 0 && !(await within(Promise.all(running), 30_000))) {
      problems.push(`${running.size} faults did not end`);
    }
    for (const p of proxies) p.heal();
    note('faults over, network healed');

    // Quiescence: every message stored, every client holding all of them as sent.
    const total = clients.reduce((n, c) => n + c.queued.length, 0);
    const quiesceStart = Date.now();
    try {
      await until(async () => {
        if (options.signal?.aborted) throw new Error('interrupted');
        if (readLog(server.db, conv).length < total) return false;
        for (const c of clients) {
          const perTab = await c.items().catch(() => null);
          if (!perTab || perTab.some((items) => items.length !== total || items.some((it) => it.status !== 'sent'))) return false;
        }
        return true;
      }, 'quiescence', quiesceTimeout);
      quiesced = true;
    } catch {
      problems.push(`no quiescence within ${quiesceTimeout / 1000} s`);
    }
    quiesceSeconds = (Date.now() - quiesceStart) / 1000;

    const snapshots: ClientSnapshot[] = [];
    for (const c of clients) {
      try {
        snapshots.push(...(await c.snapshots()));
      } catch (e) {
        problems.push(`could not read ${c.user}'s page: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const log = readLog(server.db, conv);
    verdict = judge(new Map(clients.map((c) => [c.user, c.queued])), messages, log, snapshots);
    if (verdict.duplicated > 0) {
      // Each copy's cmid and when it was stored, on the run's timeline, to read beside the faults.
      const copies = new Map<string, string[]>();
      for (const m of log) copies.set(m.text, [...(copies.get(m.text) ?? []), `seq ${m.seq} cmid ${m.cmid} at ${((m.ts - started) / 1000).toFixed(1)}s`]);
      for (const [text, list] of copies) if (list.length > 1) problems.push(`${text} stored as: ${list.join('; ')}`);
    }
    for (const c of clients) problems.push(...c.sendErrors, ...c.pageErrors);
    problems.push(...verdict.problems);
  } catch (e) {
    problems.push(`the run broke: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    for (const c of clients) await c.close();
    await browser?.close().catch(() => {});
    for (const p of proxies) await p.close().catch(() => {});
    await site?.close().catch(() => {});
    await server.dispose().catch(() => {});
  }

  const count = Object.values(faults).reduce((a, b) => a + b, 0);
  const kindsText = Object.entries(faults)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}:${n}`)
    .join(' ');
  if (options.signal?.aborted) problems.unshift('interrupted');
  const result = problems.length === 0 && quiesced ? 'PASS' : 'FAIL';
  const line =
    `chaos seed=${seed} messages=${messages} clients=${clientCount}${tabs > 1 ? ` tabs=${tabs}` : ''} faults=${count} (${kindsText}) ` +
    `lost=${verdict.lost} duplicated=${verdict.duplicated} reordered=${verdict.reordered} quiesce=${quiesceSeconds.toFixed(1)}s result=${result}`;
  if (result === 'FAIL') {
    for (const p of problems) log(`  problem: ${p}`);
    if (!options.verbose) for (const h of history) log(`  ${h}`);
  }
  log(line);
  return { seed, messages, clients: clientCount, faults, lost: verdict.lost, duplicated: verdict.duplicated, reordered: verdict.reordered, quiesceSeconds, quiesced, problems, result, line };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      messages: { type: 'string', default: '1000' },
      clients: { type: 'string', default: '3' },
      'fault-every': { type: 'string', default: '25' },
      tabs: { type: 'string', default: '1' },
      kinds: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const kinds = values.kinds?.split(',').map((k) => k.trim()) as FaultKind[] | undefined;
  const unknown = kinds?.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k)) ?? [];
  if (unknown.length > 0) {
    console.error(`unknown fault kinds: ${unknown.join(', ')}; known: ${FAULT_KINDS.join(', ')}`);
    process.exit(2);
  }
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const counts = { seed, messages: Number(values.messages), clients: Number(values.clients), 'fault-every': Number(values['fault-every']), tabs: Number(values.tabs) };
  const bad = Object.entries(counts).filter(([name, n]) => !Number.isSafeInteger(n) || n < (name === 'seed' ? 0 : 1));
  if (bad.length > 0) {
    console.error(`--${bad.map(([name]) => name).join(', --')} must be ${bad.length > 1 ? 'integers' : 'an integer'} (seed >= 0, the others >= 1)`);
    process.exit(2);
  }
  // Ctrl-C ends the run through its clean-up (server, browser, temp files) instead of leaving them behind.
  const interrupt = new AbortController();
  process.once('SIGINT', () => interrupt.abort());
  process.once('SIGTERM', () => interrupt.abort());
  runChaos({
    signal: interrupt.signal,
    seed,
    messages: counts.messages,
    clients: counts.clients,
    faultEvery: counts['fault-every'],
    tabs: counts.tabs,
    kinds,
    verbose: values.verbose,
  }).then(
    (summary) => process.exit(summary.result === 'PASS' ? 0 : 1),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
