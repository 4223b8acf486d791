import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scenario } from '../support/scenario.ts';
import { renderedMessages, until } from '../support/browser.ts';

describe('sending while the server is down, then reloading', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('keeps the pending messages through a reload and delivers each once when the server returns', async () => {
    const alice = await s.open('alice');
    const bob = await s.open('bob');
    await s.type(alice, 'before the outage');
    await s.quiesce([alice, bob], 1);

    await s.server.stop();
    const offline = ['one', 'two', 'three'].map((n) => `typed while the server is down: ${n}`);
    for (const text of offline) await s.type(alice, text);
    await s.type(bob, 'bob typed this offline too');
    await until(async () => (await renderedMessages(alice)).filter((m) => m.status === 'pending').length === 3, 'three pending on alice');

    await alice.reload();
    await s.waitForWidget(alice);
    await until(async () => (await renderedMessages(alice)).length === 4, 'alice re-renders history and outbox after reload');
    const afterReload = await renderedMessages(alice);
    assert.deepEqual(afterReload.map((m) => m.text), ['before the outage', ...offline], 'the outbox survived the reload');
    assert.deepEqual(afterReload.slice(1).map((m) => m.status), ['pending', 'pending', 'pending']);

    await s.server.start();
    await s.quiesce([alice, bob], 5);
    await s.assertConsistent([alice, bob], {
      alice: ['before the outage', ...offline],
      bob: ['bob typed this offline too'],
    });
  });
});
