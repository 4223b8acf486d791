import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, renderedMessages, tokenRoute, until } from '../support/browser.ts';
import { servePages } from '../support/page-server.ts';
import { ServerProcess } from '../support/server-process.ts';

/**
 * The strictest policy a host can set and still embed imbed from the chat server's origin: no inline
 * script or style, no eval, nothing from anywhere not named. `'self'` is the host's origin, which serves
 * the page's own scripts, its stylesheet and its `/token` endpoint.
 */
function strictPolicy(chatHttpUrl: string): string {
  const chatWsUrl = chatHttpUrl.replace(/^http/, 'ws');
  return [
    "default-src 'none'",
    `script-src 'self' ${chatHttpUrl}`,
    `connect-src 'self' ${chatWsUrl} ${chatHttpUrl}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** Runs before anything else on the page and records every CSP violation, including ones in shadow roots. */
const WATCH_SCRIPT = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
});`;

/** The host page's own code, external because the policy forbids inline script. */
function hostScript(chatWsUrl: string): string {
  return `const params = new URLSearchParams(location.search);
const res = await fetch('/token?user=' + encodeURIComponent(params.get('user')));
const { token } = await res.json();
const chat = document.createElement('imbed-chat');
chat.setAttribute('server', ${JSON.stringify(chatWsUrl)});
chat.setAttribute('conversation', params.get('conv'));
chat.setAttribute('token', token);
document.getElementById('slot').append(chat);`;
}

interface HostSite {
  url: string;
  policy: string;
  close(): Promise<void>;
}

/** A customer's site on its own origin whose every response carries the strict policy. */
async function startStrictHost(chat: ServerProcess): Promise<HostSite> {
  const policy = strictPolicy(chat.httpUrl);
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A strict customer's page</title>
<script src="/csp-watch.js"></script>
<link rel="stylesheet" href="/host.css">
<script src="${chat.httpUrl}/imbed.js"></script>
<script type="module" src="/host.js"></script>
</head><body><h1>Shop</h1><div id="slot"></div></body></html>`;
  const headers = { 'content-security-policy': policy };
  const token = tokenRoute((user) => chat.token(user));
  const site = await servePages({
    '/embed.html': { body: page, headers },
    '/csp-watch.js': { type: 'text/javascript; charset=utf-8', body: WATCH_SCRIPT, headers },
    '/host.js': { type: 'text/javascript; charset=utf-8', body: hostScript(chat.wsUrl), headers },
    '/host.css': { type: 'text/css; charset=utf-8', body: 'imbed-chat { display: flex; height: 480px; width: 420px; }', headers },
    '/token': async (url) => ({ ...(await token(url)), headers }),
  });
  return { ...site, policy };
}

interface OpenedPage {
  page: Page;
  cspConsole: string[];
  pageErrors: string[];
}

async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);
}

describe('an embed on a host page with a strict Content-Security-Policy', () => {
  const chat = new ServerProcess();
  const conv = `csp-${Date.now().toString(36)}`;
  let host: HostSite;
  let browser: Browser;

  before(async () => {
    await chat.start();
    host = await startStrictHost(chat);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await host?.close();
    await chat.dispose();
  });

  async function open(user: string): Promise<OpenedPage> {
    const page = await (await browser.newContext()).newPage();
    const opened: OpenedPage = { page, cspConsole: [], pageErrors: [] };
    page.on('console', (msg) => {
      if (/content security policy/i.test(msg.text())) opened.cspConsole.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => opened.pageErrors.push(String(err)));
    const response = await page.goto(`${host.url}/embed.html?user=${user}&conv=${conv}`);
    assert.equal(response?.headers()['content-security-policy'], host.policy, 'the page is served with the strict policy');
    await page.locator('imbed-chat [part~="composer-input"]').waitFor();
    return opened;
  }

  async function type(page: Page, text: string): Promise<void> {
    const input = page.locator('imbed-chat [part~="composer-input"]');
    await input.fill(text);
    await input.press('Enter');
  }

  it('renders, styles itself and lets two users exchange messages without a single violation', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    await type(alice.page, 'Hello from behind a strict CSP');
    await type(bob.page, 'Received, no unsafe-inline needed');
    for (const { page } of [alice, bob]) {
      await until(async () => {
        const list = await renderedMessages(page);
        return list.length === 2 && list.every((m) => m.status === 'sent');
      }, `both messages sent on ${page.url()}`);
      assert.deepEqual((await renderedMessages(page)).map((m) => m.text), ['Hello from behind a strict CSP', 'Received, no unsafe-inline needed']);
    }

    // Lit's styles arrive as adopted constructable stylesheets, which style-src does not govern: check they apply.
    const styling = await alice.page.evaluate(() => {
      const root = document.querySelector('imbed-chat')!.shadowRoot!;
      const bubble = root.querySelector<HTMLElement>('[part~="text"]')!;
      return {
        adopted: root.adoptedStyleSheets.length,
        styleElements: root.querySelectorAll('style').length,
        overflowWrap: getComputedStyle(bubble).overflowWrap,
        logOverflowY: getComputedStyle(root.querySelector('[part~="log"]')!).overflowY,
      };
    });
    assert.ok(styling.adopted > 0, 'the shadow root uses adopted stylesheets');
    assert.equal(styling.styleElements, 0, 'no <style> element in the shadow root');
    assert.equal(styling.overflowWrap, 'anywhere', 'the widget\'s bubble rule applies');
    assert.equal(styling.logOverflowY, 'auto', 'the widget\'s log rule applies');

    for (const opened of [alice, bob]) {
      assert.deepEqual(await violations(opened.page), [], 'no securitypolicyviolation event');
      assert.deepEqual(opened.cspConsole, [], 'no CSP message on the console');
      assert.deepEqual(opened.pageErrors, [], 'no page error');
    }

    // The policy is in force and the watcher hears it: a stray image from elsewhere is blocked and reported.
    await alice.page.evaluate((src) => {
      const img = document.createElement('img');
      img.src = src;
      document.body.append(img);
    }, `${chat.httpUrl}/healthz`);
    await until(async () => (await violations(alice.page)).length === 1, 'the deliberate violation to be reported', 5_000);
    assert.match((await violations(alice.page))[0]!, /^img-src blocked http:\/\/127\.0\.0\.1/);
    await until(() => alice.cspConsole.length === 1, 'the deliberate violation on the console', 5_000);
  });
});
