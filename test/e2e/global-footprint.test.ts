import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, renderedMessages, until } from '../support/browser.ts';
import { servePages, type PageServer } from '../support/page-server.ts';
import { ServerProcess } from '../support/server-process.ts';

const bundlePath = fileURLToPath(new URL('../../dist/imbed.js', import.meta.url));

/** What the instrumentation saw on one page, kept under a symbol so it adds no global name itself. */
interface Footprint {
  /** `Object.getOwnPropertyNames(window)` before any script of the page ran. */
  baseline: string[];
  /** Every listener for `message` added to the window, as source text. */
  windowMessageListeners: string[];
  /** Every value written to `window.onmessage`, as source text. */
  onmessageWrites: string[];
}

const FOOTPRINT = 'imbed-footprint';

/**
 * Runs before anything else on the page: records the window's own property names, and wraps
 * `addEventListener` and the `onmessage` setter so a `message` listener on the window cannot be added
 * unseen. Listeners on a `BroadcastChannel` or `MessagePort` are not the window's and are let through.
 */
function instrument(key: string): void {
  const footprint: Footprint = { baseline: Object.getOwnPropertyNames(window), windowMessageListeners: [], onmessageWrites: [] };
  const addEventListener = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (
    this: EventTarget | undefined,
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    // A bare `addEventListener(...)` call in strict code arrives with no `this` and means the window.
    const target = this ?? window;
    if (target === window && type === 'message') footprint.windowMessageListeners.push(String(listener));
    addEventListener.call(target, type, listener, options);
  };
  let holder: object | null = window;
  while (holder && !Object.getOwnPropertyDescriptor(holder, 'onmessage')) holder = Object.getPrototypeOf(holder) as object | null;
  const handler = holder ? Object.getOwnPropertyDescriptor(holder, 'onmessage') : undefined;
  if (!holder || !handler?.set || !handler.configurable) throw new Error('window.onmessage cannot be watched in this browser');
  const set = handler.set;
  Object.defineProperty(holder, 'onmessage', {
    ...handler,
    set(this: Window, value: unknown) {
      footprint.onmessageWrites.push(String(value));
      set.call(this, value);
    },
  });
  Object.defineProperty(window, Symbol.for(key), { value: footprint });
}

interface Observed {
  added: string[];
  onmessage: string | null;
  windowMessageListeners: string[];
  onmessageWrites: string[];
}

/** The window's own names added since the page began, and the `message` hooks seen so far. */
async function observe(page: Page): Promise<Observed> {
  return page.evaluate((key) => {
    const footprint = (window as unknown as Record<symbol, Footprint>)[Symbol.for(key)]!;
    const baseline = new Set(footprint.baseline);
    return {
      added: Object.getOwnPropertyNames(window).filter((name) => !baseline.has(name)).sort(),
      onmessage: window.onmessage === null ? null : String(window.onmessage),
      windowMessageListeners: [...footprint.windowMessageListeners],
      onmessageWrites: [...footprint.onmessageWrites],
    };
  }, FOOTPRINT);
}

describe('the script-tag build on a blank page', () => {
  const chat = new ServerProcess();
  const conv = `footprint-${Date.now().toString(36)}`;
  let site: PageServer;
  let browser: Browser;
  const pages: Page[] = [];
  /** What each user's page showed at each step, in order. */
  const steps: Array<{ step: string; user: string; observed: Observed }> = [];

  async function openBlank(user: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (err) => console.error(`[${user}] page error:`, err));
    await page.addInitScript(instrument, FOOTPRINT);
    await page.goto(`${site.url}/blank.html`);
    pages.push(page);
    return page;
  }

  async function record(step: string): Promise<void> {
    for (const [i, page] of pages.entries()) steps.push({ step, user: ['alice', 'bob'][i]!, observed: await observe(page) });
  }

  before(async () => {
    assert.ok(existsSync(bundlePath), `${bundlePath} is missing: run \`npm run build\` first`);
    await chat.start();
    const blank = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Blank</title>
<script src="${chat.httpUrl}/imbed.js"></script></head><body></body></html>`;
    site = await servePages({ '/blank.html': { body: blank } });
    browser = await launchChromium();

    await openBlank('alice');
    await openBlank('bob');
    await record('loaded');

    // Mount the widget the way a host page would, then have the two users exchange a message, so
    // anything created lazily (on connect, on send, on receive) is on the page before it is checked.
    for (const [i, page] of pages.entries()) {
      const token = await chat.token(['alice', 'bob'][i]!);
      await page.evaluate(({ server, token, conv }) => {
        const el = document.createElement('imbed-chat');
        el.setAttribute('server', server);
        el.setAttribute('conversation', conv);
        el.setAttribute('token', token);
        el.style.height = '400px';
        document.body.append(el);
      }, { server: chat.wsUrl, token, conv });
      await page.locator('imbed-chat [part~="composer-input"]').waitFor();
    }
    for (const [i, text] of ['Hello from a blank page', 'Hello back'].entries()) {
      const input = pages[i]!.locator('imbed-chat [part~="composer-input"]');
      await input.fill(text);
      await input.press('Enter');
    }
    for (const page of pages) {
      await until(async () => {
        const list = await renderedMessages(page);
        return list.length === 2 && list.every((m) => m.status === 'sent');
      }, `both messages sent on ${page.url()}`);
    }
    await record('exchanged');

    for (const page of pages) await page.evaluate(() => document.querySelector('imbed-chat')?.remove());
    await record('removed');
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    await chat.dispose();
  });

  it('defines no global but window.Imbed, when loaded, after a message exchange and after the widget is removed', async () => {
    assert.deepEqual(steps.map((s) => `${s.step} ${s.user}`), [
      'loaded alice', 'loaded bob', 'exchanged alice', 'exchanged bob', 'removed alice', 'removed bob',
    ]);
    for (const { step, user, observed } of steps) assert.deepEqual(observed.added, ['Imbed'], `new globals on ${user}'s page, ${step}`);
    const exports = await pages[0]!.evaluate(() => Object.keys((window as unknown as { Imbed: object }).Imbed).sort());
    assert.ok(exports.includes('ImbedChat') && exports.includes('ImbedClient'), `window.Imbed holds the package's exports: ${exports.join(', ')}`);
    // It may be the page's own config object, extended: nothing is written on it but the exports.
    const symbols = await pages[0]!.evaluate(() => Object.getOwnPropertySymbols((window as unknown as { Imbed: object }).Imbed).map(String));
    assert.deepEqual(symbols, []);
  });

  it('never assigns window.onmessage and adds no message listener to the window', () => {
    for (const { step, user, observed } of steps) {
      assert.equal(observed.onmessage, null, `window.onmessage on ${user}'s page, ${step}`);
      assert.deepEqual(observed.onmessageWrites, [], `writes to window.onmessage on ${user}'s page, ${step}`);
      // None today. A listener added later must check event.origin, and come with a test that a message
      // from another origin is ignored; this assertion is the reminder.
      assert.deepEqual(observed.windowMessageListeners, [], `message listeners on ${user}'s window, ${step}`);
    }
  });

  it('notices a new global, a message listener and an onmessage handler (the checks can fail)', async () => {
    const page = await openBlank('control');
    // A module script, as strict code: its bare addEventListener call has no `this` and must still count.
    await page.addScriptTag({
      type: 'module',
      content: `window.strayGlobal = 1;
        window.addEventListener('message', function onPost() {});
        addEventListener('message', function onBarePost() {});
        window.onmessage = function onMessage() {};
        new BroadcastChannel('footprint-control').addEventListener('message', function onChannel() {});`,
    });
    // An inline module runs as a task of its own, after the tag is in (and whole): observed once it has run.
    await page.waitForFunction(() => 'strayGlobal' in window);
    const observed = await observe(page);
    assert.deepEqual(observed.added, ['Imbed', 'strayGlobal']);
    assert.equal(observed.windowMessageListeners.length, 2, 'listeners on the window, not the channel\'s');
    assert.match(observed.windowMessageListeners[0]!, /onPost/);
    assert.match(observed.windowMessageListeners[1]!, /onBarePost/);
    assert.equal(observed.onmessageWrites.length, 1);
    assert.match(observed.onmessage ?? '', /onMessage/);
  });
});
