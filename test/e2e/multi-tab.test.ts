import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Dialog, Page, Route } from 'playwright-core';
import { Scenario } from '../support/scenario.ts';
import { renderedMessages, until } from '../support/browser.ts';

/** Counts the WebSockets a page opens, and those open now (installed before any script of the page runs). */
function countSockets(): void {
  const Original = window.WebSocket;
  const w = window as unknown as { imbedSockets: number; imbedOpen: number };
  w.imbedSockets = 0;
  w.imbedOpen = 0;
  window.WebSocket = class extends Original {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      w.imbedSockets += 1;
      this.addEventListener('open', () => {
        w.imbedOpen += 1;
        this.addEventListener('close', () => (w.imbedOpen -= 1));
      });
    }
  };
}

/** Counts the sockets of every page of `page`'s browser profile (alice's) from now on: reloads `page` to count its own. */
async function countFrom(s: Scenario, page: Page): Promise<void> {
  await page.context().addInitScript(countSockets);
  await page.reload();
  await s.waitForWidget(page);
}

/** Alice's first tab, counting the sockets of hers from the start. */
async function openCounting(s: Scenario): Promise<Page> {
  const first = await s.open('alice');
  await countFrom(s, first);
  return first;
}

const sockets = (page: Page) => page.evaluate(() => (window as unknown as { imbedSockets?: number }).imbedSockets ?? 0);
const openSockets = (page: Page) => page.evaluate(() => (window as unknown as { imbedOpen?: number }).imbedOpen ?? 0);
const state = (page: Page) => page.evaluate(() => (document.querySelector('imbed-chat') as (HTMLElement & { client: { state: string } | null }) | null)?.client?.state ?? 'none');

describe('three tabs of one user, and the tab holding the socket goes away', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  /** Types `text` in `page` and waits until the page shows it, so it is in the shared outbox before the next. */
  async function say(page: Page, text: string): Promise<void> {
    await s.type(page, text);
    await until(async () => (await renderedMessages(page)).some((m) => m.text === text), `"${text}" shown`);
  }

  it('shares one socket, hands it over, and ends consistent with the server on every remaining tab', async () => {
    const first = await openCounting(s);
    const tabs = [first, await s.open('alice'), await s.open('alice')];
    const bob = await s.open('bob');
    await until(async () => (await Promise.all(tabs.map(state))).every((st) => st === 'online'), 'all three tabs online');
    const counts = await Promise.all(tabs.map(sockets));
    assert.equal(counts.filter((n) => n > 0).length, 1, `one tab holds a socket (sockets per tab: ${counts})`);

    const alice: string[] = [];
    for (const [i, tab] of tabs.entries()) {
      alice.push(`from tab ${i + 1}`);
      await say(tab, `from tab ${i + 1}`);
    }
    await say(bob, 'hello from bob');
    await s.quiesce([...tabs, bob], 4);

    const leader = tabs[counts.findIndex((n) => n > 0)];
    const remaining = tabs.filter((t) => t !== leader);
    const before = await Promise.all(remaining.map(sockets));
    await leader.close(); // the tab closes: the browser releases its lock
    for (const [i, tab] of remaining.entries()) {
      alice.push(`after close ${i + 1}`);
      await say(tab, `after close ${i + 1}`);
    }
    await until(async () => (await Promise.all(remaining.map(sockets))).some((n, i) => n > before[i]), 'another tab opened a socket');
    await say(bob, 'bob again');

    await s.quiesce([...remaining, bob], 7);
    await s.assertConsistent([...remaining, bob], { alice, bob: ['hello from bob', 'bob again'] });
    const after = await Promise.all(remaining.map(sockets));
    assert.equal(after.filter((n, i) => n > before[i]).length, 1, `one remaining tab took the socket over (sockets per tab: ${after})`);
  });
});

describe('two tabs of one user, and the tab holding the socket is blocked by a dialog', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('lets the tab in view take the connection over, and the blocked one follow it once it runs again', async () => {
    const first = await openCounting(s);
    const second = await s.open('alice');
    await until(async () => (await Promise.all([first, second].map(state))).every((st) => st === 'online'), 'both tabs online');
    const [leader, follower] = (await sockets(first)) > 0 ? [first, second] : [second, first];
    await follower.bringToFront();
    let dialog: Dialog | null = null;
    leader.on('dialog', (opened) => void (dialog = opened));
    // The host page asks something: the leading tab's script waits for the answer.
    await leader.evaluate(() => void setTimeout(() => alert('the host page asks something'), 10));
    await until(() => dialog !== null, 'the dialog');

    await s.type(follower, 'while the other tab waits');
    await until(async () => (await renderedMessages(follower)).some((m) => m.text === 'while the other tab waits' && m.status === 'sent'), 'sent meanwhile', 45_000);
    assert.equal(await state(follower), 'online');

    await (dialog as unknown as Dialog).dismiss();
    // Running again, it gives its socket up and follows the tab that took over.
    await until(async () => (await openSockets(first)) + (await openSockets(second)) === 1, 'one socket open', 20_000);
    await s.type(leader, 'after the dialog');
    await s.quiesce([first, second], 2);
    assert.deepEqual(s.log().map((m) => m.text), ['while the other tab waits', 'after the dialog']);
    assert.equal(await openSockets(follower), 1, 'the tab that took over holds the socket');
  });
});

describe('three tabs of one user, and the tab holding the socket crashes', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('hands the socket over and delivers what the other tabs queued, once each, in order', async () => {
    const first = await openCounting(s);
    const tabs = [first, await s.open('alice'), await s.open('alice')];
    await until(async () => (await Promise.all(tabs.map(state))).every((st) => st === 'online'), 'all three tabs online');
    const counts = await Promise.all(tabs.map(sockets));
    const leader = tabs[counts.findIndex((n) => n > 0)];
    const remaining = tabs.filter((t) => t !== leader);
    const type = async (page: Page, text: string) => {
      await s.type(page, text);
      await until(async () => (await renderedMessages(page)).some((m) => m.text === text), `"${text}" shown`);
    };

    await type(remaining[0], 'q1');
    await type(remaining[1], 'q2');
    // The renderer dies without unload handlers, as on a crash or an OOM kill.
    const cdp = await leader.context().newCDPSession(leader);
    const crashed = leader.waitForEvent('crash');
    // Page.crash never answers: the page it would answer from is gone.
    void cdp.send('Page.crash').catch(() => {});
    await crashed;
    await type(remaining[1], 'q3');
    await type(remaining[0], 'q4');

    await s.quiesce(remaining, 4);
    await s.assertConsistent(remaining, { alice: ['q1', 'q2', 'q3', 'q4'] });
    assert.ok(
      (await Promise.all(remaining.map(sockets))).some((n) => n > 0),
      'a remaining tab holds a socket',
    );
  });
});

/**
 * Chrome freezes a background tab (Page Lifecycle `freeze`, then `resume`), and a page in the back-forward
 * cache does not run either (`pagehide` and `pageshow` with `persisted`; Safari also releases its locks).
 * A browser driven over CDP never freezes a page, and a page holding a Web Lock never enters Chromium's
 * back-forward cache, so the tests fire the events the browser fires around those times.
 */
const PAUSES: Array<[string, () => void, () => void]> = [
  ['freezes', () => document.dispatchEvent(new Event('freeze')), () => document.dispatchEvent(new Event('resume'))],
  [
    'keeps in its back-forward cache',
    () => {
      window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
      // The page is hidden right after: a hint to check the connection, which a tab out of its group must not take.
      document.dispatchEvent(new Event('visibilitychange'));
    },
    () => window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true })),
  ],
];

for (const [what, pause, resume] of PAUSES) {
  describe(`two tabs of one user, and the browser ${what} the tab holding the socket`, () => {
    const s = new Scenario();
    before(() => s.start());
    after(() => s.dispose());

    it('hands the socket over meanwhile, and takes its place among the followers when it runs again', async () => {
      const first = await openCounting(s);
      await until(async () => (await state(first)) === 'online', 'the first tab online');
      const second = await s.open('alice');
      await until(async () => (await state(second)) === 'online', 'the second tab online');
      assert.deepEqual(await Promise.all([sockets(first), sockets(second)]), [1, 0], 'the first tab holds the socket');

      await first.evaluate(pause);
      await s.type(second, 'while the first tab does not run');
      assert.equal(await sockets(first), 1, 'the first tab opened no socket of its own meanwhile');
      await until(
        async () => (await renderedMessages(second)).some((m) => m.text === 'while the first tab does not run' && m.status === 'sent'),
        'the message sent by the tab that took over',
      );
      assert.equal(await sockets(second), 1, 'the second tab took the socket over');

      await first.evaluate(resume);
      await until(async () => (await state(first)) === 'online', 'the first tab following again');
      await s.type(first, 'after it runs again');
      await s.quiesce([first, second], 2);
      await s.assertConsistent([first, second], { alice: ['while the first tab does not run', 'after it runs again'] });
      assert.deepEqual(await Promise.all([sockets(first), sockets(second)]), [1, 1], 'the first tab follows: no socket of its own');
    });
  });
}

/**
 * The tab group's code is a part of the script build (`imbed-tab-group.js`), loaded when a second tab
 * appears. If it cannot load (offline on a first visit, a deploy that left it out) or its request hangs
 * (the client waits 10 s for it), each tab runs a socket of its own, as with `multiTab: false`, and still
 * loses and doubles nothing.
 */
const PART_FAILURES: Array<[string, (route: Route) => Promise<void> | void]> = [
  ['fails', (route) => route.abort('internetdisconnected')],
  ['never gets an answer', () => {}],
];

for (const [how, fail] of PART_FAILURES) {
  describe(`two tabs of one user when the request for the tab group part ${how}`, () => {
    const s = new Scenario();
    before(() => s.start());
    after(() => s.dispose());

    it('opens a socket in each tab and delivers what both send, once each, in order', async () => {
      const first = await s.open('alice');
      const asked: string[] = [];
      await first.context().route('**/imbed-tab-group.js*', (route) => {
        asked.push(route.request().url());
        return fail(route);
      });
      await countFrom(s, first);
      await until(async () => (await state(first)) === 'online', 'the first tab online');
      assert.deepEqual(asked, [], 'one tab alone asks for no tab group part');

      const second = await s.open('alice');
      const tabs = [first, second];
      const bob = await s.open('bob');
      await until(async () => (await Promise.all(tabs.map(state))).every((st) => st === 'online'), 'both tabs online');
      assert.ok(asked.length >= 1, 'the tabs asked for the part');
      await until(async () => (await Promise.all(tabs.map(sockets))).every((n) => n === 1), 'a socket in each tab');

      const type = async (page: Page, text: string) => {
        await s.type(page, text);
        await until(async () => (await renderedMessages(page)).some((m) => m.text === text), `"${text}" shown`);
      };
      await type(first, 'one');
      await type(second, 'two');
      await type(bob, 'from bob');
      await type(first, 'three');
      await type(second, 'four');

      await s.quiesce([...tabs, bob], 5);
      await s.assertConsistent([...tabs, bob], { alice: ['one', 'two', 'three', 'four'], bob: ['from bob'] });
    });
  });
}
