import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { devices, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { MemoryStore } from '../../src/client/memory-store.ts';
import { launchChromium, renderedMessages, until } from '../support/browser.ts';
import { servePages, type PageServer } from '../support/page-server.ts';
import { ServerProcess } from '../support/server-process.ts';

/**
 * The storage ladder's middle rung (docs/webview.md): on emulated phones, a fake Android or iOS host
 * declares `storage` with the meta tag and keeps the chat's outbox and cache in its own database, here
 * in this Node process (a `MemoryStore` per database, standing in for the app's SQLite), so that it
 * outlives the page as an app's database outlives its WebView's pages.
 */

const bundlePath = fileURLToPath(new URL('../../dist/imbed.js', import.meta.url));

type Native = 'android' | 'ios';

/** How the fake app answers an operation: `ok` applies it, `refuse` answers `ok: false`, `silent` never answers. */
type Answer = 'ok' | 'refuse' | 'silent';

interface StorageRequest {
  v: number;
  type: 'storage';
  id: number;
  op: string;
  db: string;
  args: unknown[];
}

/** How long the chat waits for the fake app (the meta's `data-storage-timeout`), short for the tests. */
const TIMEOUT_MS = 1_500;

/** The app's side: its databases, every storage request it got, and how it answers them. */
class FakeApp {
  readonly databases = new Map<string, MemoryStore>();
  readonly requests: StorageRequest[] = [];
  /** Every other message the web side sent (ready, status, error, ...). */
  readonly messages: Array<{ type: string; [field: string]: unknown }> = [];
  answer: (op: string) => Answer = () => 'ok';

  /** What the app answers a message with, or null for none. Android hands over JSON text, WebKit an object. */
  async handle(input: unknown): Promise<unknown> {
    const message = (typeof input === 'string' ? JSON.parse(input) : input) as { type: string; [field: string]: unknown };
    if (message.type !== 'storage') {
      this.messages.push(message);
      return null;
    }
    const request = message as unknown as StorageRequest;
    this.requests.push(request);
    const how = this.answer(request.op);
    if (how === 'silent') return null;
    if (how === 'refuse') return { v: 1, type: 'storageResult', id: request.id, ok: false, error: 'SQLITE_FULL: database or disk is full' };
    let store = this.databases.get(request.db);
    if (!store) this.databases.set(request.db, (store = new MemoryStore()));
    if (request.op === 'deleteDatabase') {
      this.databases.delete(request.db);
      return { v: 1, type: 'storageResult', id: request.id, ok: true, result: null };
    }
    const apply = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[request.op]!;
    const result = await apply.apply(store, request.args.map((arg) => arg ?? undefined));
    return { v: 1, type: 'storageResult', id: request.id, ok: true, result: result ?? null };
  }

  /** The texts of the app's outbox for `db`, in outbox order. */
  async outbox(db: string): Promise<string[]> {
    return ((await this.databases.get(db)?.loadOutbox()) ?? []).map((r) => r.text);
  }
}

/**
 * The app's document-start script (the meta tag) and its injected object, defined before `imbed.js`.
 * The object hands each message to the Node side (`imbedApp`, exposed by the test) and, for a storage
 * request, runs the answer through `Imbed.bridge.receive`, as the app's `evaluateJavascript` would.
 */
function fakeNative(native: Native): string {
  const answer = `(message) => window.imbedApp(message).then((answer) => { if (answer) Imbed.bridge.receive(answer); })`;
  const post = native === 'android'
    ? `window.ImbedNative = { postMessage: ${answer} };`
    : `window.webkit = { messageHandlers: { imbed: { postMessage: ${answer} } } };`;
  return `const meta = document.createElement('meta');
  meta.name = 'imbed-native';
  meta.content = 'storage';
  meta.dataset.storageTimeout = '${TIMEOUT_MS}';
  (document.head || document.documentElement).append(meta);
  ${post}`;
}

function hostPage(chatHttpUrl: string, native: Native): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>App screen</title>
<script>${fakeNative(native)}</script>
<script src="${chatHttpUrl}/imbed.js"></script>
<style>html, body { margin: 0; height: 100%; } imbed-chat { height: 100%; }</style>
</head><body></body></html>`;
}

type Chat = HTMLElement & { token: string; client: { state: string; storageKind: string | null; pendingCount(): number } | null };

async function mount(page: Page, server: string, conversation: string, token: string): Promise<void> {
  await page.evaluate(({ server, conversation, token }) => {
    const el = document.createElement('imbed-chat') as Chat;
    el.setAttribute('server', server);
    el.setAttribute('conversation', conversation);
    el.token = token;
    document.body.append(el);
  }, { server, conversation, token });
  await page.locator('imbed-chat [part~="composer-input"]').waitFor();
}

async function type(page: Page, text: string): Promise<void> {
  const input = page.locator('imbed-chat [part~="composer-input"]');
  await input.fill(text);
  await input.press('Enter');
}

async function storageKind(page: Page): Promise<string | null> {
  return page.evaluate(() => document.querySelector<Chat>('imbed-chat')?.client?.storageKind ?? null);
}

async function notice(page: Page): Promise<string> {
  return page.evaluate(() => document.querySelector('imbed-chat')?.shadowRoot?.querySelector('[part~="banner-notice"]')?.textContent?.trim() ?? '');
}

async function idbDatabases(page: Page, user: string): Promise<string[]> {
  return page.evaluate(async (user) => (await indexedDB.databases()).map((db) => db.name ?? '').filter((name) => name.endsWith(`:${user}`)), user);
}

describe('the chat\'s storage kept by the app, through the WebView bridge', () => {
  const chat = new ServerProcess();
  const app = new FakeApp();
  let site: PageServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  /** A new phone (browser context) whose pages reach the fake app's Node side; `path` is the page. */
  async function phone(device: string, path: string, user: string, setup?: (context: BrowserContext) => Promise<unknown>): Promise<Page> {
    const { defaultBrowserType: _, ...descriptor } = devices[device]!;
    const context = await browser.newContext(descriptor);
    contexts.push(context);
    // Bound to the context, so it is there again, before the page's scripts, after every reload.
    await context.exposeBinding('imbedApp', (_source, message: unknown) => app.handle(message));
    await setup?.(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`[${user}] page error:`, err));
    await page.goto(`${site.url}${path}`);
    return page;
  }

  /** The server's log of `conv`, read from its SQLite file. */
  function serverLog(conv: string): Array<{ sender: string; text: string; cmid: string }> {
    const db = new Database(chat.db, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT sender, text, cmid FROM messages WHERE conv = ? ORDER BY seq').all(conv) as Array<{ sender: string; text: string; cmid: string }>;
    } finally {
      db.close();
    }
  }

  before(async () => {
    assert.ok(existsSync(bundlePath), `${bundlePath} is missing: run \`npm run build\` first`);
    await chat.start();
    site = await servePages({
      '/android.html': { body: hostPage(chat.httpUrl, 'android') },
      '/ios.html': { body: hostPage(chat.httpUrl, 'ios') },
    });
    browser = await launchChromium();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await site?.close();
    await chat.dispose();
  });

  for (const [native, device] of [['android', 'Pixel 7'], ['ios', 'iPhone 14']] as const) {
    it(`keeps messages typed offline in the app's outbox through a reload, and delivers each once (${native}, ${device})`, async () => {
      app.answer = () => 'ok';
      const conv = `native-${native}-${Date.now().toString(36)}`;
      const user = `alice-${native}`;
      const page = await phone(device, `/${native}.html`, user);
      await mount(page, chat.wsUrl, conv, await chat.token(user));
      await page.waitForFunction(() => document.querySelector<Chat>('imbed-chat')?.client?.state === 'online');
      assert.equal(await storageKind(page), 'native');
      await type(page, 'before the outage');
      await until(async () => (await renderedMessages(page)).some((m) => m.status === 'sent'), 'the first message sent');
      const ready = app.messages.find((m) => m.type === 'ready' && m.user === user);
      assert.ok((ready?.capabilities as string[] | undefined)?.includes('storage'), 'ready lists storage');

      await chat.stop();
      const offline = ['one', 'two', 'three'].map((n) => `typed offline on ${native}: ${n}`);
      for (const text of offline) await type(page, text);
      await until(async () => (await renderedMessages(page)).filter((m) => m.status === 'pending').length === 3, 'three pending');
      const db = app.requests.find((r) => r.op === 'addToOutbox' && (r.args[0] as { text: string }).text === offline[0])?.db;
      assert.ok(db?.endsWith(`:${user}`), 'the app was asked to add to the outbox of the user\'s database');
      assert.deepEqual(app.requests.filter((r) => r.db === db && r.op === 'addToOutbox').map((r) => (r.args[0] as { text: string }).text).slice(-3), offline);
      assert.deepEqual(await app.outbox(db!), offline, 'the three wait in the app\'s outbox');

      await page.reload();
      await mount(page, chat.wsUrl, conv, await chat.token(user));
      await until(async () => (await renderedMessages(page)).length === 4, 'history and outbox after the reload');
      const afterReload = await renderedMessages(page);
      assert.deepEqual(afterReload.map((m) => m.text), ['before the outage', ...offline], 'read back from the app after the reload');
      assert.deepEqual(afterReload.slice(1).map((m) => m.status), ['pending', 'pending', 'pending']);
      assert.equal(await storageKind(page), 'native');
      assert.deepEqual(await idbDatabases(page, user), [], 'nothing went to IndexedDB');

      await chat.start();
      await until(async () => {
        const list = await renderedMessages(page);
        return list.length === 4 && list.every((m) => m.status === 'sent');
      }, 'all four sent after the server returns', 60_000);
      const log = serverLog(conv);
      assert.deepEqual(log.map((m) => m.text), ['before the outage', ...offline], 'each message once, in the order typed');
      assert.equal(new Set(log.map((m) => m.cmid)).size, 4);
      assert.deepEqual(await app.outbox(db!), [], 'the app\'s outbox is empty once they are acknowledged');
      const stored = await app.databases.get(db!)!.loadConversation(conv);
      assert.deepEqual(stored.messages.map((m) => m.text), log.map((m) => m.text), 'the app holds the conversation as the server does');
      assert.equal(await notice(page), '', 'no memory notice');
    });
  }

  for (const [answer, native, device] of [['refuse', 'ios', 'iPhone 14'], ['silent', 'android', 'Pixel 7']] as const) {
    const how = answer === 'refuse' ? 'answers ok: false' : `never answers (after ${TIMEOUT_MS} ms)`;
    it(`moves to memory with the visible notice, and loses nothing, when the app ${how} (${native})`, async () => {
      app.answer = () => 'ok';
      const conv = `native-${answer}-${Date.now().toString(36)}`;
      const user = `bob-${answer}`;
      const page = await phone(device, `/${native}.html`, user);
      await mount(page, chat.wsUrl, conv, await chat.token(user));
      await page.waitForFunction(() => document.querySelector<Chat>('imbed-chat')?.client?.state === 'online');
      assert.equal(await storageKind(page), 'native');
      assert.equal(await notice(page), '');

      app.answer = (op) => (op === 'addToOutbox' ? answer : 'ok');
      const text = `typed as the app's storage ${answer === 'refuse' ? 'failed' : 'went silent'}`;
      await type(page, text);
      await until(async () => (await notice(page)) === 'Messages will not survive a reload on this device.', 'the memory notice');
      assert.equal(await storageKind(page), 'memory');
      const warning = app.messages.find((m) => m.type === 'error' && m.code === 'STORAGE_UNAVAILABLE');
      assert.equal(warning?.fatal, false, 'the app hears STORAGE_UNAVAILABLE');
      await until(async () => (await renderedMessages(page)).some((m) => m.text === text && m.status === 'sent'), 'the message sent from memory');
      assert.deepEqual(serverLog(conv).map((m) => m.text), [text], 'delivered once');
    });
  }

  it('asks again for the bridge\'s code that did not load, and keeps Imbed.bridge working with it', { timeout: 60_000 }, async () => {
    app.answer = () => 'ok';
    const conv = `native-late-${Date.now().toString(36)}`;
    const user = 'dave-late';
    let asked = 0;
    // The first two requests fail (offline for a while as imbed.js ran); a later one gets the code.
    const page = await phone('Pixel 7', '/android.html', user, (context) =>
      context.route((url) => url.pathname.endsWith('/imbed-bridge.js'), (route) => (asked++ < 2 ? route.fulfill({ status: 503, body: 'busy' }) : route.fallback())),
    );
    await page.waitForFunction(() => (window as unknown as { Imbed?: { bridge?: unknown } }).Imbed?.bridge !== undefined);
    await until(async () => asked === 1, 'the first request for the bridge');
    // Asked again by itself, 10 s after each failure: the app waits for `ready` and sends nothing that
    // would make it ask. The chat appears once the code is there.
    await until(async () => asked === 3, 'the third request for the bridge', 30_000);
    const requestsBefore = app.requests.length;
    await mount(page, chat.wsUrl, conv, await chat.token(user));
    await page.waitForFunction(() => document.querySelector<Chat>('imbed-chat')?.client?.state === 'online');
    // The app's answers reach the store through Imbed.bridge, which has the code now too.
    assert.equal(await storageKind(page), 'native');
    assert.ok(app.requests.length > requestsBefore, 'storage went through the app');
    assert.equal(await page.evaluate(() => (window as unknown as { Imbed: { bridge: { receive(c: unknown): boolean } } }).Imbed.bridge.receive({ v: 1, type: 'open' })), true);
    await type(page, 'kept by the app after all');
    await until(async () => (await renderedMessages(page)).some((m) => m.status === 'sent'), 'the message sent');
    assert.deepEqual(serverLog(conv).map((m) => m.text), ['kept by the app after all']);
  });

  it('asks for the bridge\'s code again as soon as the browser is back online', async () => {
    app.answer = () => 'ok';
    let asked = 0;
    // The first request fails (offline as imbed.js ran); the next, made when the network returns, gets it.
    let context!: BrowserContext;
    const page = await phone('Pixel 7', '/android.html', 'erin-online', (c) => {
      context = c;
      return c.route((url) => url.pathname.endsWith('/imbed-bridge.js'), (route) => (asked++ < 1 ? route.fulfill({ status: 503, body: 'busy' }) : route.fallback()));
    });
    await until(async () => asked === 1, 'the first request for the bridge');
    await context.setOffline(true);
    await context.setOffline(false);
    // Long before the 10 s after which it would ask again by itself.
    await until(async () => asked === 2, 'a request once back online', 5_000);
    await mount(page, chat.wsUrl, `native-online-${Date.now().toString(36)}`, await chat.token('erin-online'));
    await page.waitForFunction(() => document.querySelector<Chat>('imbed-chat')?.client?.state === 'online');
    assert.equal(await storageKind(page), 'native');
    assert.equal(await page.evaluate(() => (window as unknown as { Imbed: { bridge: { receive(c: unknown): boolean } } }).Imbed.bridge.receive({ v: 1, type: 'open' })), true);
  });

  it('stays on IndexedDB, and still delivers, when the bridge\'s code cannot load', async () => {
    app.answer = () => 'ok';
    const conv = `native-nopart-${Date.now().toString(36)}`;
    const user = 'carol-nopart';
    const page = await phone('Pixel 7', '/android.html', user, (context) => context.route((url) => url.pathname.endsWith('/imbed-bridge.js'), (route) => route.fulfill({ status: 404, body: 'not found' })));
    const requestsBefore = app.requests.length;
    await mount(page, chat.wsUrl, conv, await chat.token(user));
    await page.waitForFunction(() => document.querySelector<Chat>('imbed-chat')?.client?.state === 'online');
    assert.equal(await storageKind(page), 'indexeddb');
    assert.equal(app.requests.length, requestsBefore, 'no storage request without the bridge');
    assert.equal((await idbDatabases(page, user)).length, 1);
    await type(page, 'kept in IndexedDB instead');
    await until(async () => (await renderedMessages(page)).some((m) => m.status === 'sent'), 'the message sent');
    assert.deepEqual(serverLog(conv).map((m) => m.text), ['kept in IndexedDB instead']);
  });
});
