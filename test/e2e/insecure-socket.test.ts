import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium, until } from '../support/browser.ts';

const bundle = readFileSync(fileURLToPath(new URL('../../dist/imbed.js', import.meta.url)), 'utf8');

/** A token the client can read its user from; no server ever sees it. */
const token = ['{"alg":"HS256","typ":"JWT"}', '{"sub":"alice","exp":4102444800}', 'sig']
  .map((part) => Buffer.from(part).toString('base64url'))
  .join('.');

/** A shop on https that embeds the chat with a `ws://` server URL, which the browser refuses to open. */
const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title><script src="/imbed.js"></script></head>
<body><imbed-chat mode="inline" server="ws://chat.shop.example/ws" conversation="support" token="${token}"></imbed-chat>
<script>
window.errors = [];
document.querySelector('imbed-chat').addEventListener('imbed-error', (e) => window.errors.push(e.detail));
</script></body></html>`;

describe('a ws:// server on an https page', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
  });

  it('stops the chat with BAD_OPTIONS and shows why, rather than connecting for ever', async () => {
    const context = await browser.newContext();
    // Served by the test itself, so the page really is on an https origin.
    await context.route('https://shop.example/**', (route) =>
      route.fulfill(route.request().url().endsWith('/imbed.js')
        ? { contentType: 'text/javascript', body: bundle }
        : { contentType: 'text/html', body: page }),
    );
    const tab = await context.newPage();
    await tab.goto('https://shop.example/');
    const state = () => tab.evaluate(() => (document.querySelector('imbed-chat') as HTMLElement & { client: { state: string } | null }).client?.state);
    await until(async () => (await state()) === 'stopped', 'the chat to stop', 10_000);
    const errors = await tab.evaluate(() => (window as unknown as { errors: Array<Record<string, unknown>> }).errors);
    assert.equal(errors.length, 1);
    assert.deepEqual([errors[0]!.code, errors[0]!.fatal, errors[0]!.retryable], ['BAD_OPTIONS', true, false]);
    assert.match(String(errors[0]!.message), /^the browser will not open a WebSocket to ws:\/\/chat\.shop\.example\/ws: SecurityError: .*insecure WebSocket/);
    const banner = await tab.evaluate(() => document.querySelector('imbed-chat')!.shadowRoot!.querySelector('[part~="banner-status"]')?.textContent);
    assert.match(String(banner), /^Chat unavailable: the browser will not open a WebSocket/);
    await context.close();
  });
});
