/**
 * Host pages for the fault scenarios that need what `<imbed-chat>`'s attributes cannot say: a socket URL
 * through a fault proxy, short heartbeat and backoff options, many clients in one page, a record of the
 * frames sent and received. Each page builds its `ImbedClient` from `window.Imbed` (the script-tag bundle, loaded from
 * the chat server like a customer's page does) and rebuilds it the same way after a reload.
 */
import { after, before } from 'node:test';
import type { Page } from 'playwright-core';
import type { ImbedClientOptions } from '../../../src/client/types.ts';
import { Scenario } from '../../support/scenario.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';

/**
 * `ImbedClientOptions` a page may set (the URL, token and conversations come from the page itself).
 */
export type PageClientOptions = Pick<
  ImbedClientOptions,
  'dbName' | 'storage' | 'heartbeatInterval' | 'heartbeatTimeout' | 'minReconnectDelay' | 'maxReconnectDelay'
>;

/** A `state` event as the page recorded it, with the wall-clock time it happened (`performance`, not `Date`). */
export interface RecordedState {
  at: number;
  from: string;
  to: string;
  reason: string;
  code?: number;
}

export interface ClientPageOptions {
  /** WebSocket URL; default the chat server's own. */
  ws?: string;
  options?: PageClientOptions;
  /** Record every frame the page sends and receives (`window.imbedSent`, `window.imbedReceived`; see `framesOf`) and count its sockets (`socketsOf`). */
  tap?: boolean;
}

/** Shared by both pages: fetch a token from the host's backend and time every state change. */
const PAGE_HELPERS = `
  const params = new URLSearchParams(location.search);
  const conv = params.get('conv');
  const options = JSON.parse(params.get('options') ?? '{}');
  const now = () => performance.timeOrigin + performance.now();
  async function tokenFor(user) {
    const res = await fetch('/token?user=' + encodeURIComponent(user));
    return (await res.json()).token;
  }
  function record(client, into) {
    client.addEventListener('state', (e) => into.push({ at: now(), ...e.detail }));
  }
`;

function clientPageHtml(chatHttpUrl: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>imbed fault scenario</title>
<script src="${chatHttpUrl}/imbed.js"></script>
<style>imbed-chat { height: 480px; }</style></head>
<body><div id="slot"></div>
<script type="module">
  ${PAGE_HELPERS}
  window.imbedStates = [];
  window.imbedSent = [];
  window.imbedReceived = [];
  window.imbedSockets = 0;
  if (params.has('tap')) {
    window.WebSocket = class extends WebSocket {
      constructor(url, protocols) {
        super(url, protocols);
        window.imbedSockets += 1;
      }
    };
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
      window.imbedSent.push(JSON.parse(data));
      return send.call(this, data);
    };
    const listen = WebSocket.prototype.addEventListener;
    WebSocket.prototype.addEventListener = function (type, listener, options) {
      if (type !== 'message') return listen.call(this, type, listener, options);
      return listen.call(this, type, (event) => {
        window.imbedReceived.push(JSON.parse(event.data));
        listener(event);
      }, options);
    };
  }
  const user = params.get('user');
  const client = new Imbed.ImbedClient({ url: params.get('ws'), token: await tokenFor(user), conversations: [conv], ...options });
  record(client, window.imbedStates);
  window.imbedClient = client;
  const chat = document.createElement('imbed-chat');
  chat.conversation = conv;
  chat.client = client;
  document.getElementById('slot').append(chat);
  client.start();
</script></body></html>`;
}

function crowdPageHtml(chatHttpUrl: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>imbed crowd</title>
<script src="${chatHttpUrl}/imbed.js"></script></head>
<body>
<script type="module">
  ${PAGE_HELPERS}
  const count = Number(params.get('count'));
  window.imbedClients = [];
  window.imbedStates = [];
  for (let i = 0; i < count; i++) {
    const user = params.get('user') + '-' + i;
    const client = new Imbed.ImbedClient({ url: params.get('ws'), token: await tokenFor(user), conversations: [conv], ...options });
    window.imbedStates.push([]);
    record(client, window.imbedStates[i]);
    window.imbedClients.push(client);
    client.start();
  }
  window.imbedCrowdReady = true;
</script></body></html>`;
}

function query(s: Scenario, user: string, { ws, options, tap }: ClientPageOptions): string {
  const q = new URLSearchParams({ user, conv: s.conv, ws: ws ?? s.server.wsUrl, options: JSON.stringify(options ?? {}) });
  if (tap) q.set('tap', '1');
  return q.toString();
}

/** The URL of the one-client page for `user` (stable across reloads: the options travel in the query). */
export function clientPageUrl(s: Scenario, user: string, opts: ClientPageOptions = {}): string {
  return `${s.serve('client.html', clientPageHtml(s.server.httpUrl))}?${query(s, user, opts)}`;
}

/** Opens the one-client page as `user` in a new tab of their profile and waits for the widget. */
export async function openClient(s: Scenario, user: string, opts: ClientPageOptions = {}): Promise<Page> {
  const page = await s.newPage(user);
  await page.goto(clientPageUrl(s, user, opts));
  await s.waitForWidget(page);
  return page;
}

/** Opens one page running `count` clients, users `${user}-0` .. `${user}-${count - 1}`, and waits until all are created. */
export async function openCrowd(s: Scenario, user: string, count: number, opts: ClientPageOptions = {}): Promise<Page> {
  const page = await s.newPage(user);
  await page.goto(`${s.serve('crowd.html', crowdPageHtml(s.server.httpUrl))}?${query(s, user, opts)}&count=${count}`);
  await page.waitForFunction(() => (window as unknown as { imbedCrowdReady?: boolean }).imbedCrowdReady === true);
  return page;
}

/** The state changes the one-client page recorded since it was loaded. */
export async function statesOf(page: Page): Promise<RecordedState[]> {
  return page.evaluate(() => (window as unknown as { imbedStates: RecordedState[] }).imbedStates);
}

/** A protocol frame as a tapped page recorded it. */
export type Frame = Record<string, unknown> & { type: string };

/** The frames a page opened with `tap: true` sent and received since it was loaded, in order. */
export async function framesOf(page: Page): Promise<{ sent: Frame[]; received: Frame[] }> {
  return page.evaluate(() => {
    const w = window as unknown as { imbedSent: Frame[]; imbedReceived: Frame[] };
    return { sent: w.imbedSent, received: w.imbedReceived };
  });
}

/** How many WebSockets a page opened with `tap: true` has created since it was loaded. */
export async function socketsOf(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { imbedSockets: number }).imbedSockets);
}

/** The client state of the page's `<imbed-chat>` (works on every page with the widget). */
export async function stateOf(page: Page): Promise<string | null> {
  return page.evaluate(() => (document.querySelector('imbed-chat') as (HTMLElement & { client: { state: string } | null }) | null)?.client?.state ?? null);
}

/**
 * What the page's IndexedDB holds (read on a connection of its own): the messages of `conv` and the
 * outbox items. The widget shows a message as sent before its write commits, so this, not the screen,
 * says what the page would find after a crash.
 */
export async function storedOf(page: Page, conv: string): Promise<{ messages: number; outbox: number }> {
  return page.evaluate(async (conv) => {
    const names = (await indexedDB.databases()).map((d) => d.name).filter((name) => name?.startsWith('imbed:'));
    if (names.length !== 1) throw new Error(`expected one imbed database, found ${names.length}`);
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(names[0]!);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    try {
      const tx = db.transaction(['messages', 'outbox']);
      const [messages, outbox] = await Promise.all(
        [tx.objectStore('messages').count(IDBKeyRange.bound([conv, 0], [conv, Infinity])), tx.objectStore('outbox').count()].map(
          (request) => new Promise<number>((resolve, reject) => {
            request.onsuccess = () => resolve(request.result);
            request.onerror = () => reject(request.error);
          }),
        ),
      );
      return { messages: messages!, outbox: outbox! };
    } finally {
      db.close();
    }
  }, conv);
}

/** Queues `texts` through the widget's `send()`, in order, without waiting for any acknowledgement. */
export async function queue(page: Page, texts: string[]): Promise<void> {
  await page.evaluate(async (all) => {
    const chat = document.querySelector('imbed-chat') as HTMLElement & { send(text: string): Promise<void> };
    for (const text of all) await chat.send(text);
  }, texts);
}

/** `count` numbered texts, e.g. `alice 1`, `alice 2`, ... */
export function numbered(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix} ${i + 1}`);
}

/**
 * A scenario whose server sits behind a TcpProxy, started before the suite and torn down after it.
 * `env.proxy` is set once the suite's `before` has run.
 */
export function proxiedScenario(): { s: Scenario; proxy: TcpProxy } {
  const env = { s: new Scenario(), proxy: null as unknown as TcpProxy };
  before(async () => {
    await env.s.start();
    env.proxy = await TcpProxy.start(env.s.server.port);
  });
  after(async () => {
    await env.proxy?.close();
    await env.s.dispose();
  });
  return env;
}
