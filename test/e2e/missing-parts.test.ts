import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, until } from '../support/browser.ts';

const bundlePath = fileURLToPath(new URL('../../dist/imbed.js', import.meta.url));
const ORIGIN = 'https://cdn.imbed.test';

/** What the CDN answers for a script: its URL, the file name, the body from dist/ or a status (maybe later). */
type Answer = { body: string } | { status: number };
type Serve = (url: URL, name: string) => Answer | Promise<Answer>;

/**
 * A page that loads `imbed.js` from a CDN at ORIGIN whose scripts `serve` answers, with a chat that
 * wants all three parts a page can ask for; console warnings are collected.
 */
async function pageWithParts(browser: Browser, serve: Serve, warnings: string[], waitUntil: 'load' | 'commit' = 'load'): Promise<Page> {
  assert.ok(existsSync(bundlePath), 'dist/imbed.js is missing: run `npm run build` first');
  const page = await browser.newPage();
  page.on('console', (message) => {
    if (message.type() === 'warning') warnings.push(message.text());
  });
  await page.route((url) => url.origin === ORIGIN, async (route) => {
    const url = new URL(route.request().url());
    const answer = await serve(url, url.pathname.slice(1));
    return route.fulfill('status' in answer ? { status: answer.status, body: 'not found' } : { contentType: 'text/javascript', body: answer.body });
  });
  await page.setContent(`<!doctype html><html lang="en"><head><script src="${ORIGIN}/imbed.js"></script></head>
<body><imbed-chat mode="launcher" lang="zh-CN" notify="title"></imbed-chat></body></html>`, { waitUntil });
  return page;
}

/** What the chat shows once it has rendered: inline or as a launcher, and in which language. */
function shownChat(page: Page) {
  return page.evaluate(async () => {
    const chat = document.querySelector('imbed-chat') as HTMLElement & { updateComplete: Promise<unknown>; theme: string };
    await chat.updateComplete;
    // More updates must not ask again.
    for (const theme of ['dark', 'light', 'auto']) {
      chat.theme = theme;
      await chat.updateComplete;
    }
    const root = chat.shadowRoot!;
    return {
      composer: root.querySelector('[part~="composer"]') !== null,
      launcherButton: root.querySelector('[part~="launcher-button"]') !== null,
      send: root.querySelector('[part~="send-button"]')?.textContent?.trim(),
      // The language the words are marked with: English ones are not read out as Chinese.
      lang: root.querySelector('[part~="composer-input"]')?.closest('[lang]')?.getAttribute('lang'),
    };
  });
}

const dist = (name: string) => readFileSync(fileURLToPath(new URL(`../../dist/${name}`, import.meta.url)), 'utf8');

/**
 * A host that copied `imbed.js` alone to its CDN: every part `imbed.js` loads from beside itself
 * (src/ui/parts-script.ts) answers 404. The chat must still work, in what it has.
 */
describe('the script build when its parts were not deployed', () => {
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  const warnings: string[] = [];
  /** Whether the parts are on the CDN now (the host copied them after the first requests). */
  let deployed = false;

  before(async () => {
    browser = await launchChromium();
    page = await pageWithParts(
      browser,
      (_url, name) => {
        requests.push(name);
        return name === 'imbed.js' || deployed ? { body: dist(name) } : { status: 404 };
      },
      warnings,
    );
  });

  after(async () => {
    await browser?.close();
  });

  it('shows the chat inline and in English, asks for each part once and says so once (until a retry after 10 s)', async () => {
    assert.deepEqual(await shownChat(page), { composer: true, launcherButton: false, send: 'Send', lang: 'en' });
    assert.deepEqual(requests.sort(), ['imbed-launcher-mode.js', 'imbed-notify.js', 'imbed-zh-CN.js', 'imbed.js']);
    assert.equal(warnings.filter((text) => text.startsWith('imbed: a part of the chat did not load')).length, 3, warnings.join('\n'));
  });

  it('asks again after 10 s, and once the parts are there shows the launcher in Chinese', async () => {
    deployed = true;
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    await shownChat(page);
    await until(async () => (await shownChat(page)).launcherButton, 'the launcher');
    const root = page.locator('imbed-chat');
    await root.evaluate((chat: HTMLElement & { open(): void }) => chat.open());
    await until(async () => (await shownChat(page)).send === '发送', 'the Chinese words');
    assert.equal((await shownChat(page)).lang, 'zh-CN');
    assert.equal(requests.filter((name) => name === 'imbed-zh-CN.js').length, 2);
  });
});

/**
 * A CDN whose answer for the parts hangs (a stalled connection): the chat must not stay blank while it
 * waits. It renders without them after a few seconds, and takes each part when it comes.
 */
describe('the script build when the requests for its parts hang', () => {
  let browser: Browser;
  let page: Page;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));

  before(async () => {
    browser = await launchChromium();
    page = await pageWithParts(
      browser,
      async (_url, name) => {
        if (name !== 'imbed.js') await released;
        return { body: dist(name) };
      },
      [],
      // A part's script element holds up the page's load event while it hangs.
      'commit',
    );
  });

  after(async () => {
    release();
    await browser?.close();
  });

  it('shows the chat inline in English meanwhile, then the launcher in Chinese', async () => {
    const composer = () => page.evaluate(() => document.querySelector('imbed-chat')?.shadowRoot?.querySelector('[part~="composer"]') != null);
    await until(composer, 'the chat rendered while its parts are on their way', 15_000);
    release();
    await until(async () => (await shownChat(page)).launcherButton, 'the launcher once its part came');
    await page.locator('imbed-chat').evaluate((chat: HTMLElement & { open(): void }) => chat.open());
    await until(async () => (await shownChat(page)).send === '发送', 'the Chinese words once they came');
  });
});

/**
 * A page that still holds the `imbed.js` of an earlier deploy, served parts by a host that ignores the
 * `?v=` in their URLs: each part names a build other than the one `imbed.js` asked for. Running it could
 * mix two builds' code, so the chat refuses it as it would a part that did not load.
 */
describe('the script build when its parts come from another build', () => {
  let browser: Browser;
  let page: Page;
  const asked: string[] = [];
  const warnings: string[] = [];

  before(async () => {
    browser = await launchChromium();
    page = await pageWithParts(
      browser,
      (url, name) => {
        const build = url.searchParams.get('v');
        if (name === 'imbed.js') return { body: dist(name) };
        asked.push(`${name} ${build}`);
        // The part as another build wrote it: the same code with another stamp.
        return { body: dist(name).replaceAll(`"${build}"`, '"0123456789"') };
      },
      warnings,
    );
  });

  after(async () => {
    await browser?.close();
  });

  it('asks for each part of its own build, refuses the other build, and shows the chat inline and in English', async () => {
    assert.deepEqual(await shownChat(page), { composer: true, launcherButton: false, send: 'Send', lang: 'en' });
    assert.equal(asked.length, 3, asked.join('\n'));
    const builds = new Set(asked.map((line) => line.split(' ')[1]));
    assert.equal(builds.size, 1, `one build named in every part URL: ${asked.join(', ')}`);
    assert.match([...builds][0]!, /^[0-9a-f]{10}$/);
    const refused = warnings.filter((text) => text.startsWith('imbed: a part of the chat did not load') && text.includes('is from build 0123456789'));
    assert.equal(refused.length, 3, warnings.join('\n'));
  });

  it('runs nothing of a WebView bridge from another build: no message reaches the app', async () => {
    const bridgeAsked: string[] = [];
    const inApp = await browser.newPage();
    const refusedPart = new Promise<void>((resolve) =>
      inApp.on('console', (message) => {
        if (message.type() === 'warning' && message.text().includes('imbed-bridge.js') && message.text().includes('is from build 0123456789')) resolve();
      }),
    );
    await inApp.route((url) => url.origin === ORIGIN, (route) => {
      const url = new URL(route.request().url());
      const name = url.pathname.slice(1);
      if (name === 'imbed.js') return route.fulfill({ contentType: 'text/javascript', body: dist(name) });
      bridgeAsked.push(name);
      return route.fulfill({ contentType: 'text/javascript', body: dist(name).replaceAll(`"${url.searchParams.get('v')}"`, '"0123456789"') });
    });
    // The app's injected object is there before imbed.js, so imbed.js asks for the bridge at once.
    await inApp.setContent(`<!doctype html><html lang="en"><head>
<script>window.toApp = []; window.ImbedNative = { postMessage: (json) => window.toApp.push(JSON.parse(json).type) };</script>
<script src="${ORIGIN}/imbed.js"></script></head><body><imbed-chat></imbed-chat></body></html>`);
    await inApp.waitForFunction(() => document.querySelector('imbed-chat')?.shadowRoot?.querySelector('[part~="composer"]') !== null);
    // The part has run, and been refused.
    await refusedPart;
    const received = await inApp.evaluate(async () => {
      // A bridge that had started would pass this event on to the app.
      document.querySelector('imbed-chat')!.dispatchEvent(new CustomEvent('imbed-open', { bubbles: true, composed: true }));
      const answered = (window as unknown as { Imbed: { bridge: { receive(c: unknown): boolean } } }).Imbed.bridge.receive({ v: 1, type: 'open' });
      return { answered, toApp: (window as unknown as { toApp: string[] }).toApp };
    });
    assert.deepEqual(bridgeAsked, ['imbed-bridge.js']);
    assert.deepEqual(received, { answered: false, toApp: [] });
    await inApp.close();
  });
});
