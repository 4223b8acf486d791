import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Request } from 'playwright-core';
import { Scenario } from '../support/scenario.ts';

describe('a link in a message, clicked on a host page', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('opens in a new tab with no opener and no referrer, and the host page stays where it was', async () => {
    const alice = await s.open('alice');
    const bob = await s.open('bob');
    // Another origin than the host page's, so a referrer, were one sent, would show up in the request.
    const target = `${s.server.httpUrl}/healthz?from=link`;
    await s.type(bob, `Status page: ${target}.`);
    await s.quiesce([alice, bob], 1);

    const link = alice.locator('imbed-chat [part~="link"]');
    assert.equal(await link.count(), 1, 'one link in the message');
    assert.equal(await link.getAttribute('href'), target);
    const hostUrl = alice.url();
    const requests: Request[] = [];
    alice.context().on('request', (request) => {
      if (request.url() === target) requests.push(request);
    });

    const [popup] = await Promise.all([alice.context().waitForEvent('page'), link.click()]);
    await popup.waitForLoadState();
    try {
      assert.equal(popup.url(), target, 'the new tab shows the link');
      assert.equal(await popup.evaluate(() => window.opener), null, 'the new tab cannot reach the host page');
      assert.equal(requests.length, 1, 'one request for the link');
      assert.equal((await requests[0]!.allHeaders())['referer'], undefined, 'no Referer sent');
      assert.equal(alice.url(), hostUrl, 'the host page did not navigate');
      assert.equal(await alice.evaluate(() => document.querySelector('imbed-chat')?.isConnected), true, 'the widget is still on the host page');
    } finally {
      await popup.close();
    }
  });
});
