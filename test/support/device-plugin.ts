/**
 * A @web/test-runner plugin with one command, `device`, that makes the test's page look like a phone's
 * through Chromium's DevTools protocol, without the reload a puppeteer `hasTouch` viewport costs:
 * - `{ safeArea: { top?, right?, bottom?, left? } }` sets the `env(safe-area-inset-*)` values (px);
 *   `{ safeArea: null }` clears them;
 * - `{ touch: true }` makes the page a touch screen, which `(pointer: coarse)` matches; `false` undoes it.
 * `setViewport` turns touch off again, so a test sets the viewport first; it undoes both in its `finally`.
 */

/** What the plugin needs of the puppeteer page @web/test-runner-chrome gives it (puppeteer comes with the runner; it is no dependency of ours). */
interface Page {
  createCDPSession(): Promise<CDPSession>;
}
interface CDPSession {
  send(method: string, params?: object): Promise<unknown>;
}

interface Device {
  safeArea?: { top?: number; right?: number; bottom?: number; left?: number } | null;
  touch?: boolean;
}

export function devicePlugin() {
  const sessions = new WeakMap<Page, CDPSession>();
  return {
    name: 'device',
    async executeCommand({ command, payload, session }: { command: string; payload?: unknown; session: { id: string; browser: { type: string; getPage(id: string): Page } } }) {
      if (command !== 'device') return undefined;
      if (session.browser.type !== 'puppeteer') throw new Error('the device command needs Chromium through puppeteer');
      const page = session.browser.getPage(session.id);
      let cdp = sessions.get(page);
      if (!cdp) sessions.set(page, (cdp = await page.createCDPSession()));
      const p = (payload ?? {}) as Device;
      if (p.safeArea !== undefined) await cdp.send('Emulation.setSafeAreaInsetsOverride', { insets: p.safeArea ?? {} });
      if (p.touch !== undefined) await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: p.touch, maxTouchPoints: 5 });
      return true;
    },
  };
}
