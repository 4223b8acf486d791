/**
 * Faults a browser page can suffer, for end-to-end and chaos tests (playwright-core driving Chromium).
 * Network faults live in `tcp-proxy.ts`; server faults in `server-process.ts`. Each function says what it
 * simulates; none waits for the app to be ready again: the caller knows what "ready" means for its page.
 */
import type { CDPSession, Page } from 'playwright-core';

/**
 * The person presses reload: the page's JavaScript stops wherever it was (a `send()` between its
 * IndexedDB write and its socket write, an acknowledgement half handled), in-flight IndexedDB
 * transactions that did not commit are aborted, the socket is closed by the browser, and the same URL is
 * loaded again in the same profile. Resolves once the new document has loaded.
 */
export async function reload(page: Page): Promise<Page> {
  await page.reload({ waitUntil: 'load' });
  return page;
}

/**
 * The renderer process dies (out of memory, a crash, the OS killing a background tab): no `pagehide`, no
 * `beforeunload`, no close frame; the socket just dies with the process. The person then opens the page
 * again: a new page in the same browser context (same profile, so the same IndexedDB) at the URL the
 * crashed page showed. Resolves with the new page once its document has loaded; the crashed one is closed.
 */
export async function crashRenderer(page: Page): Promise<Page> {
  const url = page.url();
  const context = page.context();
  const crashed = new Promise<void>((resolve) => page.once('crash', () => resolve()));
  const cdp = await context.newCDPSession(page);
  // Page.crash never answers: the renderer is gone before it could. The 'crash' event is the answer.
  cdp.send('Page.crash').catch(() => {});
  await crashed;
  await page.close().catch(() => {});
  const reopened = await context.newPage();
  await reopened.goto(url, { waitUntil: 'load' });
  return reopened;
}

/**
 * The browser freezes the tab for `ms` (Chrome's tab freezing of background tabs, a phone putting the
 * browser to sleep): no JavaScript task runs, so no timer fires, no heartbeat is sent and no frame is
 * read, while the socket itself stays open and the network keeps buffering what arrives. Then every
 * queued task runs. Resolves once the page runs again.
 *
 * Done by pausing the page's JavaScript in the debugger: CDP `Page.setWebLifecycleState` is ignored for
 * a visible page, and every headless page is visible (checked with Chromium 14x: timers kept firing and
 * no `freeze` event came). A page idle when the pause is asked for stops at its next statement.
 * `lifecycle`: as Chrome's tab freezing does (a phone going to sleep does not), the page first hears
 * `freeze` and, once it runs again, `resume` (Page Lifecycle events, dispatched here).
 */
export async function freeze(page: Page, ms: number, { lifecycle = false } = {}): Promise<void> {
  const lifecycleEvent = (type: string) => page.evaluate((t) => document.dispatchEvent(new Event(t)), type);
  if (lifecycle) await lifecycleEvent('freeze');
  try {
    await pause(page, ms);
  } finally {
    // Not over the pause's own error: a page that crashed meanwhile hears nothing.
    if (lifecycle) await lifecycleEvent('resume').catch(() => {});
  }
}

/** Pauses the page's JavaScript in the debugger for `ms`. */
async function pause(page: Page, ms: number): Promise<void> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  try {
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    await new Promise((r) => setTimeout(r, ms));
    // Fails when the page never ran a statement to pause on; disabling drops that pending pause.
    await cdp.send('Debugger.resume').catch(() => {});
    await cdp.send('Debugger.disable').catch(() => {});
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/**
 * The person closes the tab: `pagehide` and unload run (`beforeunload` does not prompt), the renderer
 * goes away and the browser closes the socket. The profile, and so IndexedDB, stays for the next page
 * opened in the same context.
 */
export async function closeTab(page: Page): Promise<void> {
  await page.close({ runBeforeUnload: false });
}
