import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scenario } from '../../support/scenario.ts';
import { renderedMessages, until } from '../../support/browser.ts';

/** As in some private modes and WebViews: the browser's IndexedDB refuses to open any database. */
const BREAK_INDEXEDDB = `IDBFactory.prototype.open = function () {
  throw new DOMException('The user denied permission to access the database.', 'SecurityError');
};`;

describe('a browser without IndexedDB', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('keeps the outbox in memory, says so, and loses nothing while the page lives', async () => {
    await (await s.context('alice')).addInitScript({ content: BREAK_INDEXEDDB });
    const alice = await s.open('alice');
    const bob = await s.open('bob');
    const refused = await alice.evaluate(() => {
      try {
        indexedDB.open('probe');
        return false;
      } catch {
        return true;
      }
    });
    assert.equal(refused, true, 'IndexedDB refuses to open on the page');

    const notice = alice.locator('imbed-chat [part~="banner-notice"]');
    await notice.waitFor();
    assert.equal(await notice.textContent(), 'Messages will not survive a reload on this device.');
    assert.equal(await alice.evaluate(() => (document.querySelector('imbed-chat') as HTMLElement & { client: { storageKind: string } }).client.storageKind), 'memory');
    assert.equal(await bob.locator('imbed-chat [part~="banner-notice"]').count(), 0, 'no notice where IndexedDB works');

    const texts = ['kept in memory 1', 'kept in memory 2'];
    for (const text of texts) await s.type(alice, text);
    await s.quiesce([alice, bob], 2);

    // An outage with items pending: the memory outbox must carry them to the next connection.
    await s.server.stop();
    const offline = ['typed during the outage 1', 'typed during the outage 2', 'typed during the outage 3'];
    for (const text of offline) await s.type(alice, text);
    await until(async () => (await renderedMessages(alice)).filter((m) => m.status === 'pending').length === 3, 'three pending on alice');
    await s.server.start();

    await s.quiesce([alice, bob], 5);
    await s.assertConsistent([alice, bob], { alice: [...texts, ...offline] });
    assert.equal(await notice.isVisible(), true, 'the notice stays up');
  });
});
