/**
 * The customer's site of a chaos run, on its own origin: it serves the script-tag bundle itself (so a
 * page reloaded while the chat server is down still gets imbed), signs tokens with the server's secret as
 * a customer's backend would, and serves `/chaos.html?user=U&conv=C&ws=URL`: a page that runs an
 * `ImbedClient` through the given (proxy) URL with quick reconnect and heartbeat settings, renders it
 * with `<imbed-chat>`, and exposes `window.chaos` for the runner.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tokenRoute } from '../support/browser.ts';
import { servePages, type PageServer } from '../support/page-server.ts';
import { root } from './paths.ts';

/** What a chaos page exposes as `window.chaos` once its client's storage is open. */
export interface ChaosPageApi {
  /** Queues `text`; resolves with null once it is durably in the outbox, or with the error message. */
  send(text: string): Promise<string | null>;
  /** `client.items(conv)`: stored messages, then the outbox, once every older page is loaded (as scrolling to the top does). */
  items(): Promise<Array<{ cmid: string; status: string; seq: number | null; text: string }>>;
  /** The client's connection state. */
  state(): string;
  /** Every `error` event the client dispatched. */
  errors(): Array<{ code: string; message: string; fatal: boolean }>;
  /** The outbox as IndexedDB holds it (read with a connection of its own). */
  outbox(): Promise<Array<{ cmid: string; status: string; text: string }>>;
}

declare global {
  interface Window {
    chaos?: ChaosPageApi;
  }
}

/** Client options of every chaos page: reconnect fast, find a half-open link within ~2.5 s. */
export const CHAOS_CLIENT_OPTIONS = {
  minReconnectDelay: 50,
  maxReconnectDelay: 1000,
  heartbeatInterval: 1000,
  heartbeatTimeout: 1500,
} as const;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>imbed chaos</title>
<link rel="icon" href="data:,">
<script src="/imbed.js"></script>
<style>imbed-chat { height: 400px; }</style></head>
<body>
<script type="module">
  const params = new URLSearchParams(location.search);
  const user = params.get('user');
  const conv = params.get('conv');
  const dbName = 'chaos-' + user;
  const client = new Imbed.ImbedClient({
    url: params.get('ws'),
    conversations: [conv],
    dbName,
    tokenProvider: async () => (await (await fetch('/token?user=' + encodeURIComponent(user))).json()).token,
    ...${JSON.stringify(CHAOS_CLIENT_OPTIONS)},
  });
  const errors = [];
  client.addEventListener('error', (e) => errors.push({ code: e.detail.code, message: e.detail.message, fatal: e.detail.fatal }));
  const chat = document.createElement('imbed-chat');
  chat.conversation = conv;
  chat.client = client;
  document.body.append(chat);
  client.start();
  await client.ready;
  window.chaos = {
    async send(text) {
      try {
        await client.send(conv, text);
        return null;
      } catch (e) {
        return String(e && e.message || e);
      }
    },
    async items() {
      // A reloaded client holds the newest page; the rest comes as the reader scrolls up.
      while (await client.loadOlder(conv));
      return client.items(conv).map((i) => ({ cmid: i.cmid, status: i.status, seq: i.seq, text: i.text }));
    },
    state: () => client.state,
    errors: () => errors,
    outbox: () => new Promise((resolve, reject) => {
      const open = indexedDB.open(dbName);
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        const all = db.transaction('outbox').objectStore('outbox').getAll();
        all.onerror = () => reject(all.error);
        all.onsuccess = () => {
          db.close();
          resolve(all.result.map((r) => ({ cmid: r.cmid, status: r.status, text: r.text })));
        };
      };
    }),
  };
</script></body></html>`;

/** Starts the host site; `signToken` issues a user's token, as the host's backend would. */
export async function startChaosSite(signToken: (user: string) => Promise<string>): Promise<PageServer> {
  // CHAOS_BUNDLE pins a bundle (e.g. a copy of a known build) while others rebuild dist/.
  const bundlePath = process.env.CHAOS_BUNDLE || join(root, 'dist/imbed.js');
  if (!existsSync(bundlePath)) throw new Error(`${bundlePath} is missing: run \`npm run build\` first`);
  return servePages({
    '/token': tokenRoute(signToken),
    '/chaos.html': { body: PAGE },
    '/imbed.js': { body: readFileSync(bundlePath, 'utf8'), type: 'text/javascript; charset=utf-8' },
  });
}
