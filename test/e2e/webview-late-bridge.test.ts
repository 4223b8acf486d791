import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, until } from '../support/browser.ts';
import { ServerProcess } from '../support/server-process.ts';

/**
 * The WebView bridge whose code (`imbed-bridge.js`, a part of the script build) or whose `attach` comes
 * after the element has been at work: the native side must still get what the element said meanwhile.
 * The scripts come from a CDN the test answers; the chat server is a real one.
 */

const ORIGIN = 'https://cdn.imbed.test';
const dist = (name: string) => readFileSync(fileURLToPath(new URL(`../../dist/${name}`, import.meta.url)), 'utf8');

type Message = { type: string; [field: string]: unknown };

/**
 * A page with a fake Android native side defined before `imbed.js`; `bridgeServed()` says whether the CDN
 * serves the bridge's code; `before` is script run ahead of both. With `home`, a URL of the chat server,
 * the page has that origin (with IndexedDB, as an app's page has; about:blank has none).
 */
async function appPage(browser: Pick<Browser, 'newPage'>, bridgeServed: () => boolean, before = '', home?: string): Promise<Page> {
  const page = await browser.newPage();
  await page.route((url) => url.origin === ORIGIN, (route) => {
    const name = new URL(route.request().url()).pathname.slice(1);
    if (name === 'imbed-bridge.js' && !bridgeServed()) return route.fulfill({ status: 503, body: 'unavailable' });
    return route.fulfill({ contentType: 'text/javascript', body: dist(name) });
  });
  if (home) await page.goto(home);
  await page.setContent(`<!doctype html><html lang="en"><head>
<script>${before}</script>
<script>window.toApp = []; window.ImbedNative = { postMessage: (json) => window.toApp.push(JSON.parse(json)) };</script>
<script src="${ORIGIN}/imbed.js"></script></head><body></body></html>`);
  return page;
}

/** Mounts an `<imbed-chat>` with these attributes inside a shadow root, where the bridge never finds it by itself. */
async function mountNested(page: Page, attributes: Record<string, string>): Promise<void> {
  await page.evaluate((attributes) => {
    const shell = document.createElement('div');
    const chat = document.createElement('imbed-chat');
    chat.id = 'nested';
    for (const [name, value] of Object.entries(attributes)) chat.setAttribute(name, value);
    shell.attachShadow({ mode: 'open' }).append(chat);
    document.body.append(shell);
  }, attributes);
}

/** Mounts an `<imbed-chat>` in the document, where the bridge picks it up by itself. */
async function mountPlain(page: Page, attributes: Record<string, string>): Promise<void> {
  await page.evaluate((attributes) => {
    const chat = document.createElement('imbed-chat');
    for (const [name, value] of Object.entries(attributes)) chat.setAttribute(name, value);
    document.body.append(chat);
  }, attributes);
}

type PlainChat = HTMLElement & { send(text: string): Promise<void>; client: { stop(): Promise<void>; state: string; storageKind: string | null; pendingCount(conv: string): number; items(conv: string): Array<{ text: string }> } | null };

/** Sends `texts` from the page's chat, one after another, and waits until the server has them all. */
async function sendAll(page: Page, conv: string, texts: string[]): Promise<void> {
  await until(() => page.evaluate(() => (document.querySelector('imbed-chat') as PlainChat).client?.state === 'online'), 'the chat online');
  await page.evaluate(async (texts) => {
    for (const text of texts) await (document.querySelector('imbed-chat') as PlainChat).send(text);
  }, texts);
  await until(() => page.evaluate((conv) => (document.querySelector('imbed-chat') as PlainChat).client!.pendingCount(conv) === 0, conv), 'the messages sent');
}

const toApp = (page: Page) => page.evaluate(() => (window as unknown as { toApp: Message[] }).toApp);
const clientState = (page: Page) =>
  page.evaluate(() => (document.querySelector('div')!.shadowRoot!.querySelector('imbed-chat') as HTMLElement & { client: { state: string } | null }).client?.state);
const attachNested = (page: Page) =>
  page.evaluate(() => {
    const nested = document.querySelector('div')!.shadowRoot!.querySelector('imbed-chat')!;
    (window as unknown as { Imbed: { bridge: { attach(el: Element): void } } }).Imbed.bridge.attach(nested);
  });

describe('a WebView bridge that comes late', () => {
  const chat = new ServerProcess();
  let browser: Browser;

  before(async () => {
    assert.ok(existsSync(fileURLToPath(new URL('../../dist/imbed.js', import.meta.url))), 'run `npm run build` first');
    await chat.start();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await chat.dispose();
  });

  it('says ready once the client is back online, when attached while it reconnects, and passes on its state at once', async () => {
    const page = await appPage(browser, () => true);
    const conv = `late-${Date.now().toString(36)}`;
    await mountNested(page, { server: chat.wsUrl, conversation: conv, token: await chat.token('dave') });
    await until(async () => (await clientState(page)) === 'online', 'the chat online');
    await chat.stop();
    try {
      await until(async () => (await clientState(page)) !== 'online', 'the chat to lose the server');
      await attachNested(page);
      await until(async () => (await toApp(page)).some((m) => m.type === 'status'), 'the state passed on at attach');
      const [status] = await toApp(page);
      assert.equal(status!.type, 'status');
      assert.notEqual(status!.state, 'online');
      assert.equal((await toApp(page)).filter((m) => m.type === 'ready').length, 0, 'no ready while reconnecting');
    } finally {
      await chat.start();
    }
    await until(async () => (await toApp(page)).some((m) => m.type === 'ready'), 'ready once back online');
    const ready = (await toApp(page)).filter((m) => m.type === 'ready');
    assert.deepEqual(ready.map((m) => m.user), ['dave']);
    await page.close();
  });

  it('passes on the messages of the first catch-up that came before its code', async () => {
    const conv = `early-${Date.now().toString(36)}`;
    const device = await browser.newContext();
    try {
      // fay has been here (the conversation is held on her device); gus writes while she is away.
      const home = `${chat.httpUrl}/healthz`;
      const before = await appPage(device, () => true, '', home);
      await mountPlain(before, { server: chat.wsUrl, conversation: conv, token: await chat.token('fay') });
      await sendAll(before, conv, ['from fay']);
      // Stopped first, which waits for its writes: the cache holds the conversation when she comes back.
      await before.evaluate(() => (document.querySelector('imbed-chat') as PlainChat).client!.stop());
      await before.close();
      const gus = await appPage(browser, () => true);
      await mountPlain(gus, { server: chat.wsUrl, conversation: conv, token: await chat.token('gus') });
      await sendAll(gus, conv, ['one', 'two']);
      await gus.close();

      let served = false;
      const page = await appPage(device, () => served, '', home);
      await mountPlain(page, { server: chat.wsUrl, conversation: conv, token: await chat.token('fay') });
      await until(
        () => page.evaluate((conv) => (document.querySelector('imbed-chat') as PlainChat).client?.items(conv).some((item) => item.text === 'two') === true, conv),
        'the chat to catch up before the bridge is there',
      );
      assert.deepEqual(await toApp(page), [], 'nothing before the code is there');
      served = true;
      await page.evaluate(() => dispatchEvent(new Event('online')));
      await until(async () => (await toApp(page)).filter((m) => m.type === 'message').length === 2, 'the messages passed on');
      const told = await toApp(page);
      assert.deepEqual(told.filter((m) => m.type === 'message').map((m) => m.text), ['one', 'two']);
      assert.equal(told[0]!.type, 'ready', 'the handshake first');
    } finally {
      await device.close();
    }
  });

  it('passes on the storage warning said before its code arrived', async () => {
    let served = false;
    // As in a WebView that keeps no site data: IndexedDB refuses at once, long before a part can load.
    const page = await appPage(browser, () => served, `IDBFactory.prototype.open = () => { throw new DOMException('refused', 'SecurityError'); };`);
    await mountPlain(page, { server: chat.wsUrl, conversation: `memory-${Date.now().toString(36)}`, token: await chat.token('hal') });
    await until(() => page.evaluate(() => (document.querySelector('imbed-chat') as PlainChat).client?.storageKind === 'memory'), 'the chat in memory');
    served = true;
    await page.evaluate(() => dispatchEvent(new Event('online')));
    await until(async () => (await toApp(page)).some((m) => m.type === 'ready'), 'ready');
    await until(async () => (await toApp(page)).some((m) => m.type === 'error'), 'the warning passed on');
    const warning = (await toApp(page)).find((m) => m.type === 'error');
    assert.deepEqual([warning?.code, warning?.fatal], ['STORAGE_UNAVAILABLE', false]);
    await page.close();
  });

  it('passes on what a chat inside another component said before its code, when the app attaches it later', async () => {
    let served = false;
    // about:blank has no IndexedDB: the chat warns at once that it keeps messages in memory only.
    const page = await appPage(browser, () => served);
    await mountNested(page, { server: chat.wsUrl, conversation: `nested-${Date.now().toString(36)}`, token: await chat.token('ivy') });
    await until(async () => (await clientState(page)) === 'online', 'the chat online');
    served = true;
    await page.evaluate(() => dispatchEvent(new Event('online')));
    // Loaded: with no element attached (the bridge does not look inside shadow roots), a command is refused.
    await until(async () => {
      await page.evaluate(() => (window as unknown as { Imbed: { bridge: { receive(c: unknown): boolean } } }).Imbed.bridge.receive({ v: 1, type: 'close' }));
      return (await toApp(page)).some((m) => m.code === 'BRIDGE_NO_ELEMENT');
    }, 'the code to load');
    assert.equal((await toApp(page)).some((m) => m.code === 'STORAGE_UNAVAILABLE'), false);
    await attachNested(page);
    await until(async () => (await toApp(page)).some((m) => m.code === 'STORAGE_UNAVAILABLE'), 'the warning passed on at attach');
    const told = (await toApp(page)).filter((m) => m.code !== 'BRIDGE_NO_ELEMENT').map((m) => m.type);
    assert.deepEqual(told.slice(0, 2), ['ready', 'status'], 'the handshake and the state first');
    await page.close();
  });

  it('applies an attach made while its code could not load, once it loads, and finds the attached element by id', async () => {
    let served = false;
    const page = await appPage(browser, () => served);
    // No token: an element no one has signed in to, whose bridge says ready for no user.
    await mountNested(page, {});
    await attachNested(page);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await toApp(page), [], 'nothing before the code is there');
    served = true;
    // The part is asked for again when the browser comes back online.
    await page.evaluate(() => dispatchEvent(new Event('online')));
    await until(async () => (await toApp(page)).some((m) => m.type === 'ready'), 'ready from the attached element');
    assert.equal(await page.evaluate(() => (window as unknown as { Imbed: { bridge: { element: Element | null } } }).Imbed.bridge.element?.id), 'nested');
    const applied = await page.evaluate(() => (window as unknown as { Imbed: { bridge: { receive(c: unknown): boolean } } }).Imbed.bridge.receive({ v: 1, type: 'setTheme', theme: 'dark', id: 'nested' }));
    assert.equal(applied, true);
    assert.equal(await page.evaluate(() => document.querySelector('div')!.shadowRoot!.querySelector('imbed-chat')!.getAttribute('theme')), 'dark');
    await page.close();
  });

  it('applies a detach made while its code could not load before it picks up an element by itself', async () => {
    let served = false;
    let delivered = false;
    const page = await appPage(browser, () => (delivered ||= served));
    // An element in the document, online, which the bridge would pick up by itself: the app said not to.
    const attributes = { server: chat.wsUrl, conversation: `detached-${Date.now().toString(36)}`, token: await chat.token('erin') };
    await page.evaluate((attributes) => {
      const element = document.createElement('imbed-chat');
      for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
      document.body.append(element);
      (window as unknown as { Imbed: { bridge: { detach(): void } } }).Imbed.bridge.detach();
    }, attributes);
    await until(() => page.evaluate(() => (document.querySelector('imbed-chat') as HTMLElement & { client: { state: string } | null }).client?.state === 'online'), 'the chat online');
    served = true;
    await page.evaluate(() => dispatchEvent(new Event('online')));
    await until(() => delivered, 'the code served');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(await toApp(page), [], 'nothing from the element it was told to leave');
    assert.equal(await page.evaluate(() => (window as unknown as { Imbed: { bridge: { element: Element | null } } }).Imbed.bridge.element), null);
    await page.close();
  });
});
