import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { closeTab, crashRenderer, freeze, reload } from '../support/faults.ts';

/** A page that counts its loads in IndexedDB and records the page lifecycle events it sees. */
const PAGE = `<!doctype html><html><head><link rel="icon" href="data:,"></head><body><script>
  // The longest pause between two ticks of a 10 ms timer, by the page's own clock.
  window.longestGap = 0;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    window.longestGap = Math.max(window.longestGap, now - last);
    last = now;
  }, 10);
  window.loads = new Promise((resolve, reject) => {
    const open = indexedDB.open('faults-test', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('kv');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('kv', 'readwrite');
      const kv = tx.objectStore('kv');
      const get = kv.get('loads');
      get.onsuccess = () => kv.put((get.result ?? 0) + 1, 'loads');
      tx.oncomplete = () => resolve((get.result ?? 0) + 1);
    };
  });
</script></body></html>`;

describe('page faults', () => {
  let server: Server;
  let url: string;
  let browser: Browser;

  before(async () => {
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function open(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await page.goto(url);
    return page;
  }

  const loads = (page: Page) => page.evaluate(() => (window as unknown as { loads: Promise<number> }).loads);

  it('reload loads the page again in the same profile', async () => {
    const context = await browser.newContext();
    const page = await open(context);
    assert.equal(await loads(page), 1);
    await reload(page);
    assert.equal(await loads(page), 2, 'IndexedDB kept what the first load wrote');
    await context.close();
  });

  it('crashRenderer kills the page and reopens its URL in the same profile', async () => {
    const context = await browser.newContext();
    const page = await open(context);
    assert.equal(await loads(page), 1);
    const reopened = await crashRenderer(page);
    assert.equal(page.isClosed(), true, 'the crashed page is closed');
    assert.notEqual(reopened, page);
    assert.equal(reopened.url(), url);
    assert.equal(await loads(reopened), 2, 'IndexedDB survived the crash');
    await context.close();
  });

  it('freeze stops every timer of the page for the given time, then lets it run again', async () => {
    const context = await browser.newContext();
    const page = await open(context);
    const gap = () => page.evaluate(() => (window as unknown as { longestGap: number }).longestGap);
    assert.ok((await gap()) < 1500, 'no long stall before the freeze');
    await freeze(page, 1500);
    assert.ok((await gap()) >= 1400, 'the timer did not fire while the page was frozen');
    await context.close();
  });

  it('closeTab closes the page and leaves the profile to the next one', async () => {
    const context = await browser.newContext();
    const page = await open(context);
    assert.equal(await loads(page), 1);
    await closeTab(page);
    assert.equal(page.isClosed(), true);
    assert.equal(await loads(await open(context)), 2);
    await context.close();
  });
});
