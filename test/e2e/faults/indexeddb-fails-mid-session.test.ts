import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scenario } from '../../support/scenario.ts';

/** As when the disk fills up or the origin's quota is used up: every IndexedDB write from now on fails. */
const FAIL_WRITES = `(() => {
  const full = () => { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };
  IDBObjectStore.prototype.put = full;
  IDBObjectStore.prototype.add = full;
})()`;

describe('IndexedDB writes failing in the middle of a session', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it(
    'still shows what others send, and says that messages are kept in memory only',
    async () => {
      const alice = await s.open('alice');
      const bob = await s.open('bob');
      await s.type(alice, 'before the disk filled up');
      await s.quiesce([alice, bob], 1);

      await alice.evaluate(FAIL_WRITES);
      await s.type(bob, 'sent while alice cannot write');
      await s.quiesce([alice, bob], 2, 10_000);
      await s.assertConsistent([alice, bob], { alice: ['before the disk filled up'], bob: ['sent while alice cannot write'] });
      assert.ok(await alice.locator('imbed-chat [part~="banner-notice"]').isVisible(), 'the banner says messages are kept in memory only');
      // Alice can still send: her message waits in memory and is delivered once.
      await s.type(alice, 'typed after the disk filled up');
      await s.quiesce([alice, bob], 3, 10_000);
      await s.assertConsistent([alice, bob], {
        alice: ['before the disk filled up', 'typed after the disk filled up'],
        bob: ['sent while alice cannot write'],
      });
    },
  );
});
