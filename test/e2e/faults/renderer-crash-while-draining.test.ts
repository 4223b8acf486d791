import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scenario } from '../../support/scenario.ts';
import { renderedMessages, until } from '../../support/browser.ts';
import { crashRenderer } from '../../support/faults.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { numbered, openClient, queue } from './client-page.ts';

describe('the tab\'s renderer crashing while the outbox drains', () => {
  const s = new Scenario();
  let proxy: TcpProxy;
  before(async () => {
    await s.start();
    proxy = await TcpProxy.start(s.server.port);
  });
  after(async () => {
    await proxy?.close();
    await s.dispose();
  });

  it('delivers the rest once when the chat is opened again in the same profile', async () => {
    const through = { ws: proxy.url, options: { minReconnectDelay: 100, maxReconnectDelay: 1_000 } };
    const crashing = await openClient(s, 'alice', through);
    const bob = await s.open('bob');
    await s.type(crashing, 'before the crash');
    await s.quiesce([crashing, bob], 1);

    // Part of the outbox goes out and is stored; the rest is on the wire, unanswered, when the tab dies.
    const delivered = numbered('stored before the crash', 10);
    await queue(crashing, delivered);
    await until(() => s.log().length === 11, 'the first batch stored');
    proxy.pause();
    const onTheWire = numbered('on the wire at the crash', 20);
    await queue(crashing, onTheWire);
    // Reopened in the same profile at the same URL, so with the same IndexedDB.
    const reopened = await crashRenderer(crashing);
    await s.waitForWidget(reopened);
    await until(async () => (await renderedMessages(reopened)).length === 31, 'the reopened tab shows history and outbox');
    const afterCrash = numbered('typed after the crash', 5);
    for (const text of afterCrash) await s.type(reopened, text);
    assert.ok(s.log().length <= 11, 'the stalled batch had not reached the server before the reopen');

    proxy.resume();
    await s.quiesce([reopened, bob], 36);
    await s.assertConsistent([reopened, bob], { alice: ['before the crash', ...delivered, ...onTheWire, ...afterCrash] });
  });
});
