import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderedMessages, until } from '../../support/browser.ts';
import { reload } from '../../support/faults.ts';
import { proxiedScenario, numbered, openClient, queue } from './client-page.ts';

describe('reloading the page while the outbox is on its way', () => {
  const env = proxiedScenario();
  const { s } = env;

  it('delivers every pending message once, in order, including those the old page had already sent', async () => {
    const through = { ws: env.proxy.url, options: { minReconnectDelay: 100, maxReconnectDelay: 1_000 } };
    const alice = await openClient(s, 'alice', through);
    const bob = await s.open('bob');
    await s.type(alice, 'before the reload');
    await s.quiesce([alice, bob], 1);

    // The link stalls: what alice sends now sits in the network, unanswered, when she reloads.
    env.proxy.pause();
    const inFlight = numbered('sent before the reload', 30);
    await queue(alice, inFlight);
    assert.equal(s.log().length, 1, 'nothing of the stalled batch reached the server yet');
    await reload(alice);
    await s.waitForWidget(alice);
    await until(async () => (await renderedMessages(alice)).length === 31, 'the reloaded page shows the history and the whole outbox');
    assert.deepEqual((await renderedMessages(alice)).slice(1).map((m) => [m.text, m.status]), inFlight.map((t) => [t, 'pending']), 'the outbox survived the reload, in order');

    // The new page queues more before its own connection gets through.
    const afterReload = numbered('typed after the reload', 5);
    for (const text of afterReload) await s.type(alice, text);

    // The stalled bytes arrive now: the old page's sends are stored after it is gone, and the new page
    // resends the same cmids (dup) or finds them through sync.
    env.proxy.resume();
    await s.quiesce([alice, bob], 36);
    await s.assertConsistent([alice, bob], { alice: ['before the reload', ...inFlight, ...afterReload] });
  });
});
