import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderedMessages, until } from '../../support/browser.ts';
import { crashRenderer } from '../../support/faults.ts';
import { proxiedScenario, numbered, openClient, queue } from './client-page.ts';

describe('the tab\'s renderer crashing while the outbox drains', () => {
  const env = proxiedScenario();
  const { s } = env;

  it('delivers the rest once when the chat is opened again in the same profile', async () => {
    const through = { ws: env.proxy.url, options: { minReconnectDelay: 100, maxReconnectDelay: 1_000 } };
    const crashing = await openClient(s, 'alice', through);
    const bob = await s.open('bob');
    await s.type(crashing, 'before the crash');
    await s.quiesce([crashing, bob], 1);

    // Part of the outbox goes out and is stored; the rest is on the wire, unanswered, when the tab dies.
    const delivered = numbered('stored before the crash', 10);
    await queue(crashing, delivered);
    await until(() => s.log().length === 11, 'the first batch stored');
    env.proxy.pause();
    const onTheWire = numbered('on the wire at the crash', 20);
    await queue(crashing, onTheWire);
    // Reopened in the same profile at the same URL, so with the same IndexedDB.
    const reopened = await crashRenderer(crashing);
    await s.waitForWidget(reopened);
    await until(async () => (await renderedMessages(reopened)).length === 31, 'the reopened tab shows history and outbox');
    const afterCrash = numbered('typed after the crash', 5);
    for (const text of afterCrash) await s.type(reopened, text);
    assert.ok(s.log().length <= 11, 'the stalled batch had not reached the server before the reopen');

    env.proxy.resume();
    await s.quiesce([reopened, bob], 36);
    await s.assertConsistent([reopened, bob], { alice: ['before the crash', ...delivered, ...onTheWire, ...afterCrash] });
  });
});
