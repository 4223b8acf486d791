import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { until } from '../support/browser.ts';
import { Scenario } from '../support/scenario.ts';

/** A page of alice's with `<imbed-chat mode="launcher">` and imbed.js from the chat server; its URL. */
async function launcherPage(s: Scenario, name: string): Promise<string> {
  const token = await s.server.token('alice');
  return s.serve(
    name,
    `<!doctype html><html lang="en"><head><script src="${s.server.httpUrl}/imbed.js"></script></head><body>
<imbed-chat mode="launcher" server="${s.server.wsUrl}" token="${token}" conversation="${s.conv}"></imbed-chat></body></html>`,
  );
}

/**
 * `mode="launcher"` whose part (imbed-launcher-mode.js) did not load shows the chat inline: a chat the
 * person can see, so what arrives in it is read, not counted or announced as unread.
 */
describe('a launcher whose part did not load', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('shows the chat inline and counts nothing that arrives in it as unread', async () => {
    const alice = await s.newPage('alice');
    await alice.route('**/imbed-launcher-mode.js*', (route) => route.fulfill({ status: 404, body: 'not found' }));
    await alice.goto(await launcherPage(s, 'launcher-part-missing'));
    await s.waitForWidget(alice);
    await until(() => alice.evaluate(() => (document.querySelector('imbed-chat') as HTMLElement & { client: { state: string } | null }).client?.state === 'online'), 'alice online');
    const counts: number[] = [];
    await alice.exposeFunction('noteUnread', (count: number) => counts.push(count));
    await alice.evaluate(() => document.addEventListener('imbed-unread', (e) => (window as unknown as { noteUnread(n: number): void }).noteUnread((e as CustomEvent<{ count: number }>).detail.count)));

    const bob = await s.open('bob');
    await s.type(bob, 'can you see this?');
    await until(
      () => alice.evaluate(() => document.querySelector('imbed-chat')!.shadowRoot!.textContent!.includes('can you see this?')),
      'the message shown in the inline chat',
    );
    const shown = await alice.evaluate(() => {
      const chat = document.querySelector('imbed-chat') as HTMLElement & { unread: number };
      return { unread: chat.unread, button: chat.shadowRoot!.querySelector('[part~="launcher-button"]') !== null };
    });
    assert.deepEqual(shown, { unread: 0, button: false });
    assert.deepEqual(counts, []);
  });
});

describe('a launcher whose part failed to load and is asked for again', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('renders what arrives while the new request hangs, and turns into a launcher when it is answered', async () => {
    const alice = await s.newPage('alice');
    let requests = 0;
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    await alice.route('**/imbed-launcher-mode.js*', async (route) => {
      // The first request fails (the network dropped); the next one hangs until the test answers it.
      if (++requests === 1) return route.fulfill({ status: 503, body: 'unavailable' });
      await answered;
      await route.continue();
    });
    await alice.goto(await launcherPage(s, 'launcher-part-retried'));
    await s.waitForWidget(alice);
    const shows = (text: string) => alice.evaluate((t) => document.querySelector('imbed-chat')!.shadowRoot!.textContent!.includes(t), text);
    const bob = await s.open('bob');
    await s.type(bob, 'first, inline');
    await until(() => shows('first, inline'), 'the first message in the inline chat');

    // Past the loader's pause between attempts (PART_RETRY_AFTER, 10 s) the next render asks again.
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    await s.type(bob, 'second, while the part is asked for again');
    await until(() => shows('second, while the part is asked for again'), 'the second message, not held up by the hanging request');
    assert.equal(requests, 2, 'the part was asked for again');
    assert.equal(await alice.locator('imbed-chat [part~="launcher-button"]').count(), 0);

    answer();
    await alice.locator('imbed-chat [part~="launcher-button"]').waitFor();
  });
});

describe('a launcher whose part comes late', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('shows the chat meanwhile, and counts what arrived in it as unread once it is a launcher', async () => {
    const alice = await s.newPage('alice');
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    await alice.route('**/imbed-launcher-mode.js*', async (route) => {
      await answered;
      await route.continue();
    });
    await alice.goto(await launcherPage(s, 'launcher-part-late'), { waitUntil: 'commit' });
    await s.waitForWidget(alice);
    const shows = (text: string) => alice.evaluate((t) => document.querySelector('imbed-chat')!.shadowRoot!.textContent!.includes(t), text);
    // Past the wait for the part (5 s), the chat renders without it.
    await until(() => alice.evaluate(() => (document.querySelector('imbed-chat') as HTMLElement & { client: { state: string } | null }).client?.state === 'online'), 'alice online');
    await until(() => alice.evaluate(() => document.querySelector('imbed-chat')!.shadowRoot!.querySelector('[part~="composer"]') !== null), 'the chat rendered while its part is late');
    const bob = await s.open('bob');
    await s.type(bob, 'while the launcher was on its way');
    await until(() => shows('while the launcher was on its way'), 'the message in the chat shown meanwhile');
    answer();
    await alice.locator('imbed-chat [part~="launcher-button"]').waitFor();
    assert.equal(await alice.evaluate(() => (document.querySelector('imbed-chat') as HTMLElement & { unread: number }).unread), 1);
  });
});
