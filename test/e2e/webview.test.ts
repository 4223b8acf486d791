import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { devices, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium, until } from '../support/browser.ts';
import { servePages, type PageServer } from '../support/page-server.ts';
import { ServerProcess } from '../support/server-process.ts';

/**
 * The WebView bridge (docs/webview.md) on emulated phones: a page plays the native host with a fake
 * Android `ImbedNative` or a fake iOS `webkit.messageHandlers.imbed` defined before `imbed.js` loads,
 * and the test drives it as the app would, through `Imbed.bridge.receive(...)`.
 */

const bundlePath = fileURLToPath(new URL('../../dist/imbed.js', import.meta.url));

type Native = 'android' | 'ios';

/** One message the fake native side received: what the page handed over (string or object) and its content. */
interface Received {
  raw: string;
  message: { v: number; type: string; [field: string]: unknown };
}

/** The public API of `<imbed-chat>` this test uses (the e2e build does not see the element's types). */
type Chat = HTMLElement & {
  opened: boolean;
  theme: string;
  token: string;
  conversation: string;
  client: { state: string; items(conv: string): { status: string }[] } | null;
  send(text: string): Promise<void>;
};

const LOG = 'imbed-webview-log';
const BASELINE = 'imbed-webview-baseline';

/**
 * The fake native side, defined before `imbed.js` like an injected interface. Android hands over a JSON
 * string, WebKit an object. What it received, and the window's names before imbed loaded, are kept under
 * symbols so the test page adds no global of its own besides the native object.
 */
function fakeNative(native: Native): string {
  const post = native === 'android'
    ? `window.ImbedNative = { postMessage(json) { log.push({ raw: typeof json, message: JSON.parse(json) }); } };`
    : `window.webkit = { messageHandlers: { imbed: { postMessage(message) { log.push({ raw: typeof message, message: structuredClone(message) }); } } } };`;
  return `const log = [];
  Object.defineProperty(window, Symbol.for('${LOG}'), { value: log });
  ${post}
  Object.defineProperty(window, Symbol.for('${BASELINE}'), { value: Object.getOwnPropertyNames(window) });`;
}

function hostPage(chatHttpUrl: string, native: Native | null): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>App screen</title>
${native ? `<script>${fakeNative(native)}</script>` : ''}
<script src="${chatHttpUrl}/imbed.js"></script>
<style>html, body { margin: 0; height: 100%; } imbed-chat[mode='inline'] { height: 100%; }</style>
</head><body></body></html>`;
}

async function received(page: Page): Promise<Received[]> {
  return page.evaluate((key) => [...(window as unknown as Record<symbol, Received[]>)[Symbol.for(key)]!], LOG);
}

/** Waits until the fake native side has a message of `type` matching `match`, and returns it. */
async function awaitMessage(page: Page, type: string, match: (m: Received['message']) => boolean = () => true): Promise<Received> {
  let found: Received | undefined;
  await until(async () => {
    found = (await received(page)).find((r) => r.message.type === type && match(r.message));
    return found !== undefined;
  }, `a "${type}" message to the native side`);
  return found!;
}

/** Calls `Imbed.bridge.receive(command)` as the native side's `evaluateJavascript` would, and returns its result. */
async function command(page: Page, input: unknown): Promise<unknown> {
  return page.evaluate((input) => (window as unknown as { Imbed: { bridge: { receive(c: unknown): unknown } } }).Imbed.bridge.receive(input), input);
}

async function mount(page: Page, attributes: Record<string, string>, token: string): Promise<void> {
  await page.evaluate(({ attributes, token }) => {
    const el = document.createElement('imbed-chat') as Chat;
    for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value);
    el.token = token;
    document.body.append(el);
  }, { attributes, token });
}

/** The reflected state of the page's `<imbed-chat>` that the commands change. */
async function chatState(page: Page) {
  return page.evaluate(() => {
    const el = document.querySelector<Chat>('imbed-chat')!;
    return { opened: el.opened, openedAttr: el.hasAttribute('opened'), theme: el.theme, themeAttr: el.getAttribute('theme'), lang: el.lang, token: el.token };
  });
}

describe('the WebView bridge on an emulated phone', () => {
  const chat = new ServerProcess();
  const conv = `webview-${Date.now().toString(36)}`;
  let site: PageServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function open(device: string, path: string, user: string): Promise<Page> {
    const { defaultBrowserType: _, ...descriptor } = devices[device]!;
    const context = await browser.newContext(descriptor);
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`[${user}] page error:`, err));
    await page.goto(`${site.url}${path}`);
    return page;
  }

  /** bob, on a plain desktop page, says `text` in the conversation. */
  async function bobSays(text: string): Promise<void> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${site.url}/plain.html`);
    await mount(page, { server: chat.wsUrl, conversation: conv }, await chat.token('bob'));
    await page.waitForFunction(() => document.querySelector<Chat>('imbed-chat')?.client?.state === 'online');
    await page.evaluate((text) => document.querySelector<Chat>('imbed-chat')!.send(text), text);
    await page.waitForFunction(() => document.querySelector<Chat>('imbed-chat')?.client?.items(document.querySelector<Chat>('imbed-chat')!.conversation).every((item) => item.status === 'sent'));
    await context.close();
  }

  before(async () => {
    assert.ok(existsSync(bundlePath), `${bundlePath} is missing: run \`npm run build\` first`);
    await chat.start();
    site = await servePages({
      '/android.html': { body: hostPage(chat.httpUrl, 'android') },
      '/ios.html': { body: hostPage(chat.httpUrl, 'ios') },
      '/plain.html': { body: hostPage(chat.httpUrl, null) },
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
    describe(`with a fake ${native} host (${device})`, () => {
      let page: Page;

      before(async () => {
        page = await open(device, `/${native}.html`, 'alice');
        await mount(page, { server: chat.wsUrl, conversation: conv, mode: 'launcher' }, await chat.token('alice'));
      });

      it('hands the native side a versioned ready with the user and the commands it accepts', async () => {
        const ready = await awaitMessage(page, 'ready');
        // Android's interface takes a string, WebKit's message handler an object.
        assert.equal(ready.raw, native === 'android' ? 'string' : 'object');
        assert.equal(ready.message.v, 1);
        assert.equal(ready.message.user, 'alice');
        assert.deepEqual([...(ready.message.capabilities as string[])].sort(), ['close', 'logout', 'open', 'setLocale', 'setTheme', 'setToken', 'storage']);
      });

      it('passes on a message from someone else, and the unread count, while the panel is closed', async () => {
        await awaitMessage(page, 'ready');
        const text = `hello from bob to ${native}`;
        await bobSays(text);
        const { message } = await awaitMessage(page, 'message', (m) => m.text === text);
        assert.equal(message.v, 1);
        assert.equal(message.conv, conv);
        assert.equal(message.from, 'bob');
        assert.equal(message.name, 'bob');
        assert.equal(typeof message.seq, 'number');
        assert.equal(typeof message.ts, 'number');
        const unread = await awaitMessage(page, 'unread', (m) => (m.count as number) > 0);
        assert.equal(typeof unread.message.count, 'number');
      });

      it('applies open, close, setTheme, setLocale and setToken, answering each with true', async () => {
        assert.equal(await command(page, { v: 1, type: 'open' }), true);
        assert.deepEqual((({ opened, openedAttr }) => ({ opened, openedAttr }))(await chatState(page)), { opened: true, openedAttr: true });
        await awaitMessage(page, 'open');

        assert.equal(await command(page, { v: 1, type: 'close' }), true);
        assert.deepEqual((({ opened, openedAttr }) => ({ opened, openedAttr }))(await chatState(page)), { opened: false, openedAttr: false });
        await awaitMessage(page, 'close');

        assert.equal(await command(page, { v: 1, type: 'setTheme', theme: 'dark' }), true);
        // A JSON string is accepted as well as an object: what `evaluateJavascript` passes is up to the app.
        assert.equal(await command(page, JSON.stringify({ v: 1, type: 'setLocale', lang: 'zh-CN' })), true);
        const token = await chat.token('alice', 'Alice A.');
        assert.equal(await command(page, { v: 1, type: 'setToken', token }), true);
        const state = await chatState(page);
        assert.equal(state.theme, 'dark');
        assert.equal(state.themeAttr, 'dark');
        assert.equal(state.lang, 'zh-CN');
        assert.equal(state.token, token);
      });

      it('answers malformed and unknown commands with an error message, without throwing or changing anything', async () => {
        const before = await chatState(page);
        const bad: Array<[unknown, string]> = [
          ['{not json', 'BRIDGE_BAD_COMMAND'],
          [null, 'BRIDGE_BAD_COMMAND'],
          [[1, 2], 'BRIDGE_BAD_COMMAND'],
          [{ v: 1, type: 'launchMissiles' }, 'BRIDGE_BAD_COMMAND'],
          [{ v: 1, type: 'setTheme', theme: 'pink' }, 'BRIDGE_BAD_COMMAND'],
          [{ v: 1, type: 'setLocale', lang: '<script>' }, 'BRIDGE_BAD_COMMAND'],
          [{ v: 1, type: 'setToken', token: 42 }, 'BRIDGE_BAD_COMMAND'],
          [{ v: 2, type: 'open' }, 'BRIDGE_UNSUPPORTED_VERSION'],
          // A `v` that String() cannot print.
          ['{"v":{"toString":0},"type":"open"}', 'BRIDGE_UNSUPPORTED_VERSION'],
          [{ v: 1, type: 'open', id: 'no-such-chat' }, 'BRIDGE_NO_ELEMENT'],
        ];
        for (const [input, code] of bad) {
          const errorsBefore = (await received(page)).filter((r) => r.message.type === 'error').length;
          // `command` rejects if receive() throws inside the page: a resolved `false` is the contract.
          assert.equal(await command(page, input), false, `receive(${JSON.stringify(input)})`);
          const errors = (await received(page)).filter((r) => r.message.type === 'error');
          assert.equal(errors.length, errorsBefore + 1, `one error answered ${JSON.stringify(input)}`);
          assert.equal(errors.at(-1)!.message.code, code, `the code for ${JSON.stringify(input)}`);
          assert.equal(errors.at(-1)!.message.fatal, false);
        }
        assert.deepEqual(await chatState(page), before);
      });

      it('passes on an error with the conversation a refusal names', async () => {
        await page.evaluate(() =>
          document.querySelector('imbed-chat')!.dispatchEvent(
            new CustomEvent('imbed-error', {
              detail: { code: 'FORBIDDEN', message: 'not a member', retryable: false, fatal: false, conv: 'secret-room' },
              bubbles: true,
              composed: true,
            }),
          ),
        );
        const { message } = await awaitMessage(page, 'error', (m) => m.code === 'FORBIDDEN');
        assert.deepEqual(message, { v: 1, type: 'error', code: 'FORBIDDEN', message: 'not a member', fatal: false, conv: 'secret-room' });
      });

      it('signs out on logout, deleting the local database, answers signedOut, and signs the next user in on setToken', async () => {
        const databases = () => page.evaluate(async () => (await indexedDB.databases()).map((db) => db.name ?? '').filter((name) => name.includes('alice')));
        assert.notDeepEqual(await databases(), [], 'alice has a local database');
        assert.equal(await command(page, { v: 1, type: 'logout' }), true);
        await awaitMessage(page, 'signedOut');
        assert.deepEqual(await databases(), [], 'her local database is deleted');
        assert.equal((await chatState(page)).token, '');
        const readies = (await received(page)).filter((r) => r.message.type === 'ready').length;
        assert.equal(await command(page, { v: 1, type: 'setToken', token: await chat.token('erin') }), true);
        await until(async () => (await received(page)).filter((r) => r.message.type === 'ready' && r.message.user === 'erin').length === 1, 'ready for the next user');
        assert.ok((await received(page)).filter((r) => r.message.type === 'ready').length > readies);
      });

      it('adds no global but Imbed (the native object is the app\'s own)', async () => {
        const added = await page.evaluate((key) => {
          const baseline = new Set((window as unknown as Record<symbol, string[]>)[Symbol.for(key)]);
          return Object.getOwnPropertyNames(window).filter((name) => !baseline.has(name));
        }, BASELINE);
        assert.deepEqual(added, ['Imbed']);
      });
    });
  }

  describe('on a Pixel 7, with the launcher panel full screen', () => {
    let page: Page;

    before(async () => {
      page = await open('Pixel 7', '/android.html', 'carol');
      await mount(page, { server: chat.wsUrl, conversation: conv, mode: 'launcher' }, await chat.token('carol'));
      await awaitMessage(page, 'ready');
    });

    it('gives every control a finger uses at least 44 x 44 CSS px', async () => {
      // The full-screen panel covers the launcher button: measure it while the panel is closed.
      const launcher = await page.evaluate(() => {
        const { width, height } = document.querySelector<Chat>('imbed-chat')!.shadowRoot!.querySelector('[part~="launcher-button"]')!.getBoundingClientRect();
        return { part: 'launcher-button', width, height };
      });
      await command(page, { v: 1, type: 'open' });
      const inPanel = await page.evaluate(() => {
        const root = document.querySelector<Chat>('imbed-chat')!.shadowRoot!;
        // A refused message's actions, the "new messages" pill and the banner's retry need a server
        // refusal, a scrolled-up reader or a lost connection to appear; the same markup is added here so
        // the stylesheets size it like the real thing (src/ui/message-list.ts, src/ui/banner.ts,
        // src/ui/imbed-chat.component.ts).
        const failure = document.createElement('div');
        failure.className = 'failure';
        failure.innerHTML = '<button type="button" part="retry-button">Retry</button><button type="button" part="discard-button">Discard</button>';
        root.querySelector('.log')!.append(failure);
        const pill = document.createElement('button');
        pill.className = 'new-messages';
        pill.setAttribute('part', 'new-messages');
        pill.textContent = 'New messages';
        root.querySelector('.log-area')!.append(pill);
        const banner = document.createElement('div');
        banner.className = 'banner';
        banner.innerHTML = '<p class="banner-line">Offline</p><button type="button" part="banner-retry">Retry now</button>';
        root.querySelector('.log-area')!.append(banner);
        return [...root.querySelectorAll('button')]
          .filter((b) => b.getClientRects().length > 0)
          .map((b) => ({ part: b.getAttribute('part') ?? b.className, ...(({ width, height }) => ({ width, height }))(b.getBoundingClientRect()) }));
      });
      const sizes = [launcher, ...inPanel];
      const parts = sizes.map((s) => s.part);
      for (const part of ['launcher-button', 'close-button', 'send-button', 'retry-button', 'discard-button', 'new-messages', 'banner-retry']) {
        assert.ok(parts.includes(part), `${part} is on screen: ${parts.join(', ')}`);
      }
      for (const { part, width, height } of sizes) {
        assert.ok(width >= 44 && height >= 44, `${part} is ${width} x ${height}`);
      }
      // iOS zooms the page into a text field under 16 px as it gets focus.
      const fontSize = await page.evaluate(() => getComputedStyle(document.querySelector<Chat>('imbed-chat')!.shadowRoot!.querySelector('[part~="composer-input"]')!).fontSize);
      assert.equal(fontSize, '16px');
    });

    it('keeps the composer above a simulated on-screen keyboard, and stops following it once removed', async () => {
      // A real keyboard cannot be opened under emulation. Chrome on Android and iOS overlay the keyboard
      // on the page: the layout viewport keeps its height and only the visual viewport shrinks. That is
      // what this simulates, by giving window.visualViewport a shorter height and firing its resize.
      const KEYBOARD = 320;
      const showKeyboard = (keyboard: number) => page.evaluate((keyboard) => {
        Object.defineProperty(window.visualViewport!, 'height', {
          configurable: true,
          get() {
            return window.innerHeight - keyboard;
          },
        });
        window.visualViewport!.dispatchEvent(new Event('resize'));
      }, keyboard);
      const composer = () => page.evaluate(() => {
        const rect = document.querySelector<Chat>('imbed-chat')!.shadowRoot!.querySelector('[part~="composer"]')!.getBoundingClientRect();
        return { top: rect.top, bottom: rect.bottom, visibleBottom: window.visualViewport!.offsetTop + window.visualViewport!.height };
      });

      await command(page, { v: 1, type: 'open' });
      const uncovered = await composer();
      // Without lifting, the keyboard would cover it: the check below can fail.
      assert.ok(uncovered.bottom > uncovered.visibleBottom - KEYBOARD, `composer bottom ${uncovered.bottom} sits where the keyboard goes`);

      await showKeyboard(KEYBOARD);
      const lifted = await composer();
      assert.ok(lifted.bottom <= lifted.visibleBottom + 0.5, `composer bottom ${lifted.bottom} within the visible ${lifted.visibleBottom}`);
      assert.ok(lifted.top >= 0, `composer top ${lifted.top} on screen`);
      assert.equal(await page.evaluate(() => document.querySelector<Chat>('imbed-chat')!.style.getPropertyValue('--imbed-keyboard-inset')), `${KEYBOARD}px`);

      const inset = await page.evaluate(() => {
        const el = document.querySelector<Chat>('imbed-chat')!;
        el.remove();
        window.visualViewport!.dispatchEvent(new Event('resize'));
        return el.style.getPropertyValue('--imbed-keyboard-inset');
      });
      assert.equal(inset, '', 'a removed element no longer follows the keyboard');
    });

    it('detaches from a removed element and picks up the next one', async () => {
      const attached = await page.evaluate(async () => {
        const bridge = (window as unknown as { Imbed: { bridge: { element: Element | null } } }).Imbed.bridge;
        document.querySelector('imbed-chat')?.remove();
        const first = document.createElement('imbed-chat');
        document.body.append(first);
        await new Promise((r) => setTimeout(r));
        const pickedFirst = bridge.element === first;
        first.remove();
        await new Promise((r) => setTimeout(r));
        const afterRemoval = bridge.element;
        const second = document.createElement('imbed-chat');
        second.id = 'second';
        document.body.append(second);
        await new Promise((r) => setTimeout(r));
        return { pickedFirst, afterRemoval, pickedSecond: bridge.element === second };
      });
      assert.deepEqual(attached, { pickedFirst: true, afterRemoval: null, pickedSecond: true });
      const before = (await received(page)).length;
      assert.equal(await command(page, { v: 1, type: 'setTheme', theme: 'light', id: 'second' }), true);
      assert.equal(await page.evaluate(() => document.getElementById('second')!.getAttribute('theme')), 'light');
      assert.equal((await received(page)).length, before, 'a command that succeeds sends nothing back');
    });

    it('says ready for no user to an app that brings the token itself, and ready for the user after its setToken', async () => {
      const app = await open('Pixel 7', '/android.html', 'frank');
      await app.evaluate(({ server, conv }) => {
        const el = document.createElement('imbed-chat');
        el.setAttribute('server', server);
        el.setAttribute('conversation', conv);
        document.body.append(el);
      }, { server: chat.wsUrl, conv });
      const first = await awaitMessage(app, 'ready');
      assert.equal(first.message.user, null);
      assert.equal(await command(app, { v: 1, type: 'setToken', token: await chat.token('frank') }), true);
      await awaitMessage(app, 'ready', (m) => m.user === 'frank');
      assert.equal((await received(app)).filter((r) => r.message.type === 'ready').length, 2);
    });

    it('attaches on request to an element the document observer cannot see, with a ready at once if it is online', async () => {
      await page.evaluate(({ server, conv, token }) => {
        // Inside another component's shadow root: not in the document's tree, so never picked up by itself.
        const shell = document.createElement('div');
        const chat = document.createElement('imbed-chat') as Chat;
        chat.id = 'nested';
        chat.setAttribute('server', server);
        chat.setAttribute('conversation', conv);
        chat.token = token;
        shell.attachShadow({ mode: 'open' }).append(chat);
        document.body.append(shell);
      }, { server: chat.wsUrl, conv, token: await chat.token('dave') });
      await page.waitForFunction(() => document.querySelector('div')?.shadowRoot?.querySelector<Chat>('imbed-chat')?.client?.state === 'online');
      assert.equal(await page.evaluate(() => (window as unknown as { Imbed: { bridge: { element: Element | null } } }).Imbed.bridge.element?.id), 'second');
      assert.equal((await received(page)).filter((r) => r.message.type === 'ready' && r.message.user === 'dave').length, 0, 'no ready before attach');

      await page.evaluate(() => {
        const nested = document.querySelector('div')!.shadowRoot!.querySelector<Chat>('imbed-chat')!;
        (window as unknown as { Imbed: { bridge: { attach(el: Element): void } } }).Imbed.bridge.attach(nested);
      });
      const ready = await awaitMessage(page, 'ready', (m) => m.user === 'dave');
      assert.equal(ready.message.v, 1);
      assert.equal(await command(page, { v: 1, type: 'setLocale', lang: 'zh-CN' }), true);
      assert.equal(await page.evaluate(() => document.querySelector('div')!.shadowRoot!.querySelector<Chat>('imbed-chat')!.lang), 'zh-CN', 'a command without id goes to the attached element');
    });
  });
});
