import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, renderedMessages, until } from '../support/browser.ts';
import { servePages, type PageServer, type Served } from '../support/page-server.ts';
import { ServerProcess } from '../support/server-process.ts';
import { readUnread, unreadKey } from '../../src/ui/unread-record.ts';

const launcherPath = fileURLToPath(new URL('../../dist/imbed-launcher.js', import.meta.url));
const bundlePath = fileURLToPath(new URL('../../dist/imbed.js', import.meta.url));

/** What the instrumentation saw on one page, kept under a symbol so it adds no global name itself. */
interface Watch {
  /** `Object.getOwnPropertyNames(window)` before any script of the page ran. */
  baseline: string[];
  /** `requestIdleCallback` callbacks held back, on pages that control when the browser counts as idle. */
  idle: Array<() => void>;
  /** The most launchers (the loader's `<imbed-launcher>` and a shown `<imbed-chat>`) ever in the document at once. */
  most: number;
  /** `imbed-open` events heard on the document. */
  opens: number;
  clicks: number;
  violations: string[];
}

const WATCH = 'imbed-launcher-watch';

/**
 * Runs before anything else on the page. `holdIdle`: `requestIdleCallback` keeps its callbacks until the
 * test runs them, so the page is never idle unless the test says so.
 */
function instrument({ key, holdIdle }: { key: string; holdIdle: boolean }): void {
  const watch: Watch = { baseline: Object.getOwnPropertyNames(window), idle: [], most: 0, opens: 0, clicks: 0, violations: [] };
  Object.defineProperty(window, Symbol.for(key), { value: watch });
  if (holdIdle) {
    window.requestIdleCallback = (callback) => {
      // A method, not an arrow in a property: tsx would wrap that in a naming helper the page lacks.
      watch.idle.push(() => callback({ didTimeout: false, timeRemaining() { return 50; } }));
      return watch.idle.length;
    };
  }
  // Mutation records are delivered at the end of each task, before any frame could paint: a second
  // launcher that lived for a moment inside one task is never seen, one that reached the screen is.
  new MutationObserver(() => {
    watch.most = Math.max(watch.most, document.querySelectorAll('imbed-launcher, imbed-chat:not([hidden])').length);
  }).observe(document, { childList: true, subtree: true });
  document.addEventListener('imbed-open', () => watch.opens++);
  document.addEventListener('click', () => watch.clicks++, true);
  document.addEventListener('securitypolicyviolation', (e) => watch.violations.push(`${e.effectiveDirective} blocked ${e.blockedURI}`));
}

async function watched(page: Page): Promise<Omit<Watch, 'idle'> & { added: string[] }> {
  return page.evaluate((key) => {
    const { idle: _, ...watch } = (window as unknown as Record<symbol, Watch>)[Symbol.for(key)]!;
    const baseline = new Set(watch.baseline);
    return { ...watch, added: Object.getOwnPropertyNames(window).filter((name) => !baseline.has(name)).sort() };
  }, WATCH);
}

/** Lets the page be idle: runs the `requestIdleCallback` callbacks held so far. */
async function goIdle(page: Page): Promise<number> {
  return page.evaluate((key) => {
    const held = (window as unknown as Record<symbol, Watch>)[Symbol.for(key)]!.idle.splice(0);
    for (const run of held) run();
    return held.length;
  }, WATCH);
}

/** The launcher button of the widget, once it has taken over. */
const widgetButton = 'imbed-chat [part~="launcher-button"]';
/** The button the loader drew before the widget loaded. */
const loaderButton = 'imbed-launcher [part~="launcher-button"]';

interface PageOptions {
  user: string;
  holdIdle?: boolean;
  dir?: 'rtl';
  position?: 'bottom-start';
  lang?: string;
  /** The page's own `<html lang>`, `en` unless given. */
  pageLang?: string;
  theme?: 'dark';
  notify?: string;
  /** Serve the page with a policy that allows only scripts carrying this nonce. */
  nonce?: string;
  /** Open the page in this browser context (same storage as its other pages) rather than a new one. */
  context?: BrowserContext;
  /** Put this token in the config itself instead of a `tokenProvider` asking the host's backend. */
  token?: string;
  /** The page's `--imbed-launcher-size`. */
  size?: string;
}

interface Opened {
  page: Page;
  /** Every `/imbed.js` request the page made. */
  bundleRequests: string[];
  errors: string[];
}

describe('the lazy launcher on a host page of another origin', () => {
  const chat = new ServerProcess();
  const conv = `launcher-${Date.now().toString(36)}`;
  let site: PageServer;
  let browser: Browser;

  /**
   * The page a customer writes: a config object, then the loader from the chat server. The token comes
   * from the host's own backend (`/token`), as `tokenProvider`, unless the page was asked with one.
   */
  function hostPage(url: URL): Served {
    const q = (name: string) => url.searchParams.get(name) ?? '';
    const nonce = q('nonce');
    const attr = nonce ? ` nonce="${nonce}"` : '';
    const config = {
      server: chat.wsUrl,
      conversation: conv,
      ...(q('position') && { position: q('position') }),
      ...(q('lang') && { lang: q('lang') }),
      ...(q('theme') && { theme: q('theme') }),
      ...(q('notify') && { notify: q('notify') }),
      ...(q('token') && { token: q('token') }),
    };
    const provider = q('token') ? '{}' : `{
  tokenProvider: () => fetch('/token?user=' + ${JSON.stringify(q('user'))}).then((r) => r.text()),
}`;
    const body = `<!doctype html>
<html lang="${q('pageLang') || 'en'}"${q('dir') ? ` dir="${q('dir')}"` : ''}><head><meta charset="utf-8"><title>A customer's page</title>
<script${attr}>(window.Imbed ||= {}).config = Object.assign(${JSON.stringify(config)}, ${provider});</script>
<script src="${chat.httpUrl}/imbed-launcher.js" async${attr}></script>${q('size') ? `<style>:root { --imbed-launcher-size: ${q('size')}; }</style>` : ''}
</head><body><h1>Shop</h1></body></html>`;
    const wsUrl = chat.httpUrl.replace(/^http/, 'ws');
    const headers: Record<string, string> = nonce
      ? { 'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; connect-src 'self' ${wsUrl} ${chat.httpUrl}; style-src 'self'; img-src 'self' data:` }
      : {};
    return { body, headers };
  }

  async function open(options: PageOptions): Promise<Opened> {
    const page = await (options.context ?? (await browser.newContext())).newPage();
    const opened: Opened = { page, bundleRequests: [], errors: [] };
    page.on('pageerror', (err) => opened.errors.push(String(err)));
    page.on('request', (req) => {
      if (new URL(req.url()).pathname === '/imbed.js') opened.bundleRequests.push(req.url());
    });
    await page.addInitScript(instrument, { key: WATCH, holdIdle: options.holdIdle ?? false });
    const query = new URLSearchParams(Object.entries(options).filter(([, v]) => typeof v === 'string') as [string, string][]);
    // goto waits for the load event, which waits for every script inserted before it.
    await page.goto(`${site.url}/page.html?${query}`);
    return opened;
  }

  async function isOpen(page: Page): Promise<boolean> {
    return page.evaluate(() => (document.querySelector('imbed-chat') as (HTMLElement & { opened?: boolean }) | null)?.opened === true);
  }

  before(async () => {
    for (const file of [launcherPath, bundlePath]) assert.ok(existsSync(file), `${file} is missing: run \`npm run build\` first`);
    await chat.start();
    site = await servePages({
      '/token': async (url) => ({ body: await chat.token(url.searchParams.get('user') ?? 'anonymous'), type: 'text/plain' }),
      '/page.html': hostPage,
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    await chat.dispose();
  });

  it('draws the button before loading the widget, loads it on the first click and opens the chat', async () => {
    const { page, bundleRequests, errors } = await open({ user: 'alice', holdIdle: true });
    const button = page.getByRole('button', { name: 'Open chat' });
    await button.waitFor();
    assert.equal(await page.locator(loaderButton).count(), 1, 'the loader drew the button');
    assert.deepEqual(bundleRequests, [], 'imbed.js is not requested before a click or idle time');
    assert.equal(await page.evaluate(() => customElements.get('imbed-chat')), undefined);
    const box = (await button.boundingBox())!;
    const viewport = page.viewportSize()!;
    assert.ok(box.width >= 44 && box.height >= 44, `a touch target of at least 44 px: ${box.width}x${box.height}`);
    assert.deepEqual([viewport.width - box.x - box.width, viewport.height - box.y - box.height], [20, 20], 'in the bottom-end corner');

    await button.click();
    await page.locator('imbed-chat [part~="composer-input"]').waitFor();
    assert.equal(await isOpen(page), true);
    assert.equal(bundleRequests.length, 1, 'imbed.js is loaded once');
    assert.equal(new URL(bundleRequests[0]!).origin, chat.httpUrl, 'from the folder the loader came from');
    assert.equal(await page.locator(loaderButton).count(), 0, 'the drawn button is gone');
    assert.equal(await page.locator(widgetButton).count(), 1, 'the widget shows one launcher button');
    const seen = await watched(page);
    assert.equal(seen.most, 1, 'the drawn button and the widget were never on the page together');
    assert.equal(seen.opens, 1, 'imbed-open fired once');
    // The widget was opened after its first render, so it moved focus into the composer.
    const focused = await page.evaluate(() => document.querySelector('imbed-chat')?.shadowRoot?.activeElement?.getAttribute('part'));
    assert.match(focused ?? '', /composer-input/);
    assert.deepEqual(errors, []);
  });

  it('lets two people exchange messages through the widget it loaded', async () => {
    const pages: Page[] = [];
    for (const user of ['carol', 'dave']) {
      const { page } = await open({ user, holdIdle: true });
      await page.locator(loaderButton).click();
      await page.locator('imbed-chat [part~="composer-input"]').waitFor();
      pages.push(page);
    }
    for (const [i, text] of ['Hi from the launcher', 'Hello back'].entries()) {
      const input = pages[i]!.locator('imbed-chat [part~="composer-input"]');
      await input.fill(text);
      await input.press('Enter');
      // One at a time, so both sides see the same order.
      await until(async () => (await renderedMessages(pages[i]!)).some((m) => m.text === text && m.status === 'sent'), `"${text}" sent`);
    }
    for (const page of pages) {
      await until(async () => (await renderedMessages(page)).length === 2, `both messages on ${page.url()}`);
      assert.deepEqual((await renderedMessages(page)).map((m) => m.text), ['Hi from the launcher', 'Hello back']);
    }
  });

  /** Where the button is and how it looks: what must not change when the widget takes over. */
  function look(page: Page, selector: string) {
    return page.locator(selector).evaluate((el) => {
      const { x, y, width, height } = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      return { x, y, width, height, background: style.backgroundColor, color: style.color, radius: style.borderRadius };
    });
  }

  it('hands over to a closed widget when the browser is idle, in the same place and look, keeping keyboard focus', async () => {
    const { page, bundleRequests } = await open({ user: 'erin', holdIdle: true });
    await page.locator(loaderButton).waitFor();
    await page.keyboard.press('Tab');
    const drawn = await look(page, loaderButton);
    assert.equal(await page.evaluate(() => document.activeElement?.localName), 'imbed-launcher', 'Tab reached the drawn button');

    assert.ok((await goIdle(page)) >= 1, 'the loader asked to be called when idle');
    await page.locator(widgetButton).waitFor();
    assert.equal(bundleRequests.length, 1);
    assert.deepEqual(await look(page, widgetButton), drawn, 'the widget\'s button replaces the drawn one exactly');
    assert.equal(await isOpen(page), false, 'idle loading does not open the chat');
    assert.equal(await page.locator(loaderButton).count(), 0);
    const focused = await page.evaluate(() => document.querySelector('imbed-chat')?.shadowRoot?.activeElement?.getAttribute('part'));
    assert.match(focused ?? '', /launcher-button/, 'focus moved to the widget\'s button');
    const seen = await watched(page);
    assert.deepEqual([seen.clicks, seen.opens, seen.most], [0, 0, 1]);
  });

  it('draws a button smaller than 44 px as set with a mouse, at 44 px on a touch screen, and the widget takes over at that size', async () => {
    for (const hasTouch of [false, true]) {
      const context = await browser.newContext({ hasTouch });
      const { page } = await open({ user: 'erin', holdIdle: true, size: '32px', context });
      await page.locator(loaderButton).waitFor();
      const drawn = await look(page, loaderButton);
      const side = hasTouch ? 44 : 32;
      assert.deepEqual([drawn.width, drawn.height], [side, side], `the drawn button ${hasTouch ? 'on a touch screen' : 'with a mouse'}`);
      await goIdle(page);
      await page.locator(widgetButton).waitFor();
      assert.deepEqual(await look(page, widgetButton), drawn, "the widget's button in the same place and size");
      await context.close();
    }
  });

  it('draws the button in the dark theme\'s colours for theme "dark", and for "auto" on a dark system', async () => {
    const { page } = await open({ user: 'erin', holdIdle: true, theme: 'dark' });
    const drawn = await look(page, loaderButton);
    await goIdle(page);
    await page.locator(widgetButton).waitFor();
    assert.deepEqual(await look(page, widgetButton), drawn);
    // Not the light default: the comparison above would pass trivially if both ignored the theme.
    assert.notEqual(drawn.background, 'rgb(37, 99, 235)');

    const auto = await open({ user: 'erin', holdIdle: true });
    await auto.page.emulateMedia({ colorScheme: 'dark' });
    assert.deepEqual(await look(auto.page, loaderButton), drawn);
  });

  it('loads the widget on real idle time without a click, and defines no global but window.Imbed', async () => {
    const { page, bundleRequests } = await open({ user: 'frank' });
    await page.locator(widgetButton).waitFor();
    assert.equal(bundleRequests.length, 1);
    assert.equal(await isOpen(page), false);
    const seen = await watched(page);
    assert.deepEqual([seen.clicks, seen.most], [0, 1]);
    assert.deepEqual(seen.added, ['Imbed'], 'the loader and imbed.js together add only window.Imbed');
    // imbed.js extended the loader's object rather than replacing it.
    const imbed = await page.evaluate(() => {
      const global = (window as unknown as { Imbed: Record<string, unknown> & { config?: { conversation?: string } } }).Imbed;
      return { keys: Object.keys(global).sort(), conversation: global.config?.conversation, open: typeof global.open };
    });
    assert.equal(imbed.conversation, conv, 'the page\'s config survived');
    assert.equal(imbed.open, 'function', 'Imbed.open survived');
    assert.ok(imbed.keys.includes('ImbedChat') && imbed.keys.includes('ImbedClient'), `the package's exports were added: ${imbed.keys.join(', ')}`);

    // After the hand-over the same calls drive the widget.
    await page.evaluate(() => (window as unknown as { Imbed: { open(): void } }).Imbed.open());
    await until(() => isOpen(page), 'Imbed.open() to open the widget');
    await page.evaluate(() => (window as unknown as { Imbed: { toggle(): void } }).Imbed.toggle());
    await until(async () => !(await isOpen(page)), 'Imbed.toggle() to close it');
    assert.deepEqual((await watched(page)).added, ['Imbed'], 'still only window.Imbed after opening and closing');
  });

  it('opens the chat for Imbed.open() called before the widget loaded', async () => {
    const { page, bundleRequests } = await open({ user: 'grace', holdIdle: true });
    await page.locator(loaderButton).waitFor();
    assert.deepEqual(bundleRequests, []);
    await page.evaluate(() => (window as unknown as { Imbed: { open(): void } }).Imbed.open());
    await page.locator('imbed-chat [part~="composer-input"]').waitFor();
    assert.equal(await isOpen(page), true);
    assert.equal(bundleRequests.length, 1);
    const seen = await watched(page);
    assert.deepEqual([seen.clicks, seen.opens, seen.most], [0, 1, 1]);
  });

  it('keeps its button until the widget has drawn its own, which waits for the widget\'s launcher part', async () => {
    const { page } = await open({ user: 'ivan', holdIdle: true });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/imbed-launcher-mode.js*', async (route) => {
      await held;
      await route.continue();
    });
    await page.locator(loaderButton).click();
    await page.locator('imbed-chat').waitFor({ state: 'attached' });
    assert.equal(await page.locator(loaderButton).isVisible(), true, 'the drawn button is still there');
    assert.equal(await page.locator('imbed-chat').isHidden(), true, 'the widget waits out of sight, not as an empty box');
    release();
    await page.locator('imbed-chat [part~="composer-input"]').waitFor();
    assert.equal(await isOpen(page), true, 'the click made while it waited opened the chat');
    assert.equal(await page.locator(loaderButton).count(), 0);
    const seen = await watched(page);
    assert.deepEqual([seen.opens, seen.most], [1, 1]);
  });

  it('keeps its button when the widget cannot show one, says why, and tries again on the next click', async () => {
    const { page, bundleRequests, errors } = await open({ user: 'judy', holdIdle: true });
    const warnings: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'warning' && message.text().startsWith('imbed: the chat did not load')) warnings.push(message.text());
    });
    // A server answering with a page of its own instead of imbed.js: the script loads, and defines nothing.
    await page.route('**/imbed.js', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Not here</title>' }));
    await page.locator(loaderButton).click();
    await until(async () => warnings.length === 1, 'a warning about imbed.js');
    assert.match(warnings[0]!, /imbed\.js defined no <imbed-chat>/);
    assert.equal(await page.locator(loaderButton).getAttribute('aria-busy'), null, 'the button is not busy any more');
    assert.equal(await page.locator('imbed-chat').count(), 0);

    // The widget loads, but its launcher part does not: the chat would show inline at the end of the page.
    await page.unroute('**/imbed.js');
    await page.route('**/imbed-launcher-mode.js*', (route) => route.fulfill({ status: 404, body: 'not found' }));
    await page.locator(loaderButton).click();
    await until(async () => warnings.length === 2, 'a warning about the launcher part');
    assert.match(warnings[1]!, /launcher part did not load\); a later click tries again/);
    assert.equal(await page.locator(loaderButton).isVisible(), true);
    assert.equal(await page.locator('imbed-chat').count(), 0, 'no chat left at the end of the page');
    assert.equal(bundleRequests.length, 2, 'each click asked for imbed.js until it defined the widget');
    assert.equal(errors.length, 1, `only the HTML page run as a script threw: ${errors.join('; ')}`);
    assert.equal((await watched(page)).most, 1);
  });

  it('leaves the chat closed after Imbed.toggle() twice before the widget loaded', async () => {
    const { page } = await open({ user: 'heidi', holdIdle: true });
    await page.locator(loaderButton).waitFor();
    await page.evaluate(() => {
      const imbed = (window as unknown as { Imbed: { toggle(): void } }).Imbed;
      imbed.toggle();
      imbed.toggle();
    });
    await page.locator(widgetButton).waitFor();
    assert.equal(await isOpen(page), false);
    assert.equal((await watched(page)).opens, 0);
  });

  it('places the button by logical position: bottom-end is the left corner of a right-to-left page', async () => {
    for (const [options, side] of [
      [{ dir: 'rtl' }, 'left'],
      [{ dir: 'rtl', position: 'bottom-start' }, 'right'],
      [{ position: 'bottom-start' }, 'left'],
    ] as const) {
      const { page } = await open({ user: 'ivan', holdIdle: true, ...options });
      const box = (await page.locator(loaderButton).boundingBox())!;
      const gap = side === 'left' ? box.x : page.viewportSize()!.width - box.x - box.width;
      assert.equal(gap, 20, `${JSON.stringify(options)}: 20 px from the ${side} edge`);
      await page.close();
    }
  });

  it('keeps the button and the open panel clear of a landscape phone\'s safe areas: the notch on their side, the top and the bottom', async () => {
    // Chromium's emulation of a notched phone held sideways; the insets differ, so each side is told apart.
    const INSETS = { top: 24, left: 47, right: 33, bottom: 21 };
    const insetOf = { left: INSETS.left, right: INSETS.right };
    const safeArea = async (page: Page, width: number) => {
      await page.setViewportSize({ width, height: 390 });
      await (await page.context().newCDPSession(page)).send('Emulation.setSafeAreaInsetsOverride', { insets: INSETS });
    };
    /** The gaps between `selector`'s box and the viewport's `side` and bottom edges. */
    const gaps = (page: Page, selector: string, side: 'left' | 'right') =>
      page.locator(selector).evaluate((el, side) => {
        const box = el.getBoundingClientRect();
        return [side === 'left' ? box.left : innerWidth - box.right, innerHeight - box.bottom];
      }, side);
    for (const [options, side] of [
      [{}, 'right'],
      [{ position: 'bottom-start' }, 'left'],
      [{ dir: 'rtl' }, 'left'],
      [{ dir: 'rtl', position: 'bottom-start' }, 'right'],
    ] as const) {
      const what = JSON.stringify(options);
      const { page, errors } = await open({ user: 'olga', holdIdle: true, ...options });
      await safeArea(page, 844);
      const corner = [20 + insetOf[side], 20 + INSETS.bottom];
      assert.deepEqual(await gaps(page, loaderButton, side), corner, `${what}: the drawn button, 20 px beside the ${side} and bottom safe areas`);
      await goIdle(page);
      await page.locator(widgetButton).waitFor();
      assert.deepEqual(await gaps(page, widgetButton, side), corner, `${what}: the widget's button in the same place`);
      await page.locator(widgetButton).click();
      await page.locator('imbed-chat [part~="composer-input"]').waitFor();
      assert.equal((await gaps(page, 'imbed-chat [part~="panel"]', side))[0], corner[0], `${what}: the panel lined up with the button`);
      const top = await page.locator('imbed-chat [part~="panel"]').evaluate((el) => el.getBoundingClientRect().top);
      assert.equal(top, 20 + INSETS.top, `${what}: the panel 20 px below the top safe area`);
      for (const name of ['close-button', 'send-button']) {
        const box = (await page.locator(`imbed-chat [part~="${name}"]`).boundingBox())!;
        assert.ok(box.x >= INSETS.left && box.x + box.width <= 844 - INSETS.right, `${what}: the ${name} at ${box.x}..${box.x + box.width}, beside the notches`);
      }
      assert.deepEqual(errors, []);
      await page.close();
    }
    // Just wider than full screen, the panel narrows to keep 20 px beside both side safe areas.
    const { page } = await open({ user: 'olga', holdIdle: true });
    await safeArea(page, 490);
    await page.locator(loaderButton).click();
    await page.locator('imbed-chat [part~="composer-input"]').waitFor();
    const panel = (await page.locator('imbed-chat [part~="panel"]').boundingBox())!;
    assert.deepEqual([panel.x, 490 - panel.x - panel.width], [20 + INSETS.left, 20 + INSETS.right]);
    await page.close();
  });

  it('carries the unread count to the next page before the widget loads, then adds what arrived in between', async () => {
    const online = (page: Page, what: string) =>
      until(() => page.evaluate(() => (document.querySelector('imbed-chat') as HTMLElement & { client?: { state: string } }).client?.state === 'online'), what);
    const label = (page: Page) => page.locator(widgetButton).getAttribute('aria-label');
    // Una is on one page of the shop, the chat closed; its widget loaded at idle time.
    const first = await open({ user: 'una' });
    await first.page.locator(widgetButton).waitFor();
    await online(first.page, 'the first page to come online');

    const { page: victor } = await open({ user: 'victor', holdIdle: true });
    await victor.locator(loaderButton).click();
    const input = victor.locator('imbed-chat [part~="composer-input"]');
    const say = async (text: string) => {
      await input.fill(text);
      await input.press('Enter');
      await until(async () => (await renderedMessages(victor)).some((m) => m.text === text && m.status === 'sent'), `"${text}" sent`);
    };
    await say('Are you there?');
    await say('Your order shipped');
    await until(async () => (await label(first.page)) === 'Open chat, 2 unread', 'two unread on the first page');
    // Shown is not yet stored: the count reaches localStorage in a task after the render, and a page closed
    // before it would leave the next page's loader a count of 1.
    const stored = async () => (await first.page.evaluate(readUnread, unreadKey(chat.wsUrl, conv)))?.n;
    await until(async () => (await stored()) === 2, 'two unread stored for the next page');

    // She goes to the next page; one more message is sent in between.
    const context = first.page.context();
    await first.page.close();
    await say('Tracking number: 42');
    const next = await open({ user: 'una', holdIdle: true, context });
    await next.page.getByRole('button', { name: 'Open chat, 2 unread' }).waitFor();
    assert.equal(await next.page.locator(`${loaderButton} [part~="unread-badge"]`).textContent(), '2');
    assert.deepEqual(next.bundleRequests, [], 'drawn by the loader, before imbed.js was requested');

    await goIdle(next.page);
    await next.page.locator(widgetButton).waitFor();
    await online(next.page, 'the widget to catch up');
    await until(async () => (await label(next.page)) === 'Open chat, 3 unread', 'the message sent in between to count too');
    await next.page.locator(widgetButton).click();
    await until(async () => (await label(next.page)) === 'Close chat', 'the panel to open');
    assert.equal(await next.page.evaluate(() => (document.querySelector('imbed-chat') as HTMLElement & { unread: number }).unread), 0);
    assert.deepEqual(next.errors, []);
  });

  it('shows no count stored for another user than the config\'s token names', async () => {
    const context = await browser.newContext();
    const { page } = await open({ user: 'xena', holdIdle: true, context });
    await page.evaluate(({ key }) => localStorage.setItem(key, JSON.stringify({ u: 'yuri', s: 3, n: 5 })), { key: unreadKey(chat.wsUrl, conv) });
    // Zoe signs in on the browser Yuri used: his count is not hers.
    const zoe = await open({ user: 'zoe', token: await chat.token('zoe'), holdIdle: true, context });
    await zoe.page.locator(loaderButton).waitFor();
    assert.equal(await zoe.page.locator(loaderButton).getAttribute('aria-label'), 'Open chat');
    assert.equal(await zoe.page.locator(`${loaderButton} [part~="unread-badge"]`).count(), 0);
    // Yuri himself sees it.
    const yuri = await open({ user: 'yuri', token: await chat.token('yuri'), holdIdle: true, context });
    await yuri.page.getByRole('button', { name: 'Open chat, 5 unread' }).waitFor();
    assert.deepEqual([...zoe.errors, ...yuri.errors], []);
    await context.close();
  });

  it('labels the button in the configured language before the widget loads', async () => {
    const { page } = await open({ user: 'judy', holdIdle: true, lang: 'zh-CN' });
    await page.getByRole('button', { name: '打开聊天' }).waitFor();
    assert.equal(await page.locator(loaderButton).count(), 1);
  });

  it('labels the button in the language the widget will speak: the page\'s if it has words for it, else the browser\'s', async () => {
    for (const [pageLang, browserLocale, label] of [
      // Traditional Chinese readers are not given the Simplified words, before the widget loads or after.
      ['zh-TW', 'en-US', 'Open chat'],
      ['zh-Hant', 'en-US', 'Open chat'],
      // A page in a language imbed has no words for: the browser's languages decide.
      ['fr', 'zh-CN', '打开聊天'],
      ['fr', 'en-US', 'Open chat'],
    ] as const) {
      const what = `a page in ${pageLang}, a browser in ${browserLocale}`;
      const context = await browser.newContext({ locale: browserLocale });
      const { page, errors } = await open({ user: 'quinn', holdIdle: true, pageLang, context });
      assert.equal(await page.locator(loaderButton).getAttribute('aria-label'), label, `${what}: the drawn button`);
      await goIdle(page);
      await page.locator(widgetButton).waitFor();
      assert.equal(await page.locator(widgetButton).getAttribute('aria-label'), label, `${what}: the widget's button`);
      assert.deepEqual(errors, []);
      await context.close();
    }
  });

  it('passes its nonce on to imbed.js on a page that allows only scripts with that nonce', async () => {
    const { page, bundleRequests, errors } = await open({ user: 'mallory', nonce: 'n0nce-launcher' });
    await page.locator(widgetButton).waitFor();
    assert.equal(bundleRequests.length, 1);
    const seen = await watched(page);
    assert.deepEqual(seen.violations, [], 'no policy violation');
    assert.deepEqual(errors, []);
    // The policy is in force: a script without the nonce is refused and reported.
    await page.evaluate((src) => document.head.append(Object.assign(document.createElement('script'), { src })), `${chat.httpUrl}/imbed.js`);
    await until(async () => (await watched(page)).violations.length === 1, 'the script without a nonce to be blocked', 5_000);
  });

  it('loads the Chinese words and the notifications as parts of imbed.js, with the same nonce, before the widget speaks', async () => {
    const { page, errors } = await open({ user: 'nina', nonce: 'n0nce-parts', lang: 'zh-CN', notify: 'title' });
    await page.locator(widgetButton).waitFor();
    assert.equal(await page.locator(widgetButton).getAttribute('aria-label'), '打开聊天');
    await page.locator(widgetButton).click();
    await page.getByRole('button', { name: '发送' }).waitFor();
    const parts = await page.evaluate(() => performance.getEntriesByType('resource').map((entry) => entry.name).filter((name) => /\/imbed-(?:zh-CN|notify)\.js\?/.test(name)));
    const bare = parts.map((url) => url.replace(/\?v=\w+$/, '')).sort();
    assert.deepEqual(bare, [`${chat.httpUrl}/imbed-notify.js`, `${chat.httpUrl}/imbed-zh-CN.js`], `each part came once, from beside imbed.js, naming its build: ${parts.join(' ')}`);
    assert.deepEqual((await watched(page)).violations, [], 'no policy violation');
    assert.deepEqual(errors, []);
  });
});
