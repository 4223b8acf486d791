import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scenario } from '../support/scenario.ts';
import { until } from '../support/browser.ts';

describe('the server killed with -9 in the middle of a burst', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('ends with every message of the burst delivered exactly once, in order, on both sides', async () => {
    const alice = await s.open('alice');
    const bob = await s.open('bob');
    const burst = Array.from({ length: 300 }, (_, i) => `burst message ${i + 1}`);
    // Queue the burst as a fast sender would, without waiting for acknowledgements; the outbox drains it.
    const queued = alice.evaluate(async (texts) => {
      const chat = document.querySelector('imbed-chat') as HTMLElement & { send(text: string): Promise<void> };
      for (const text of texts) await chat.send(text);
    }, burst);
    await until(() => s.log().length >= 20, 'part of the burst committed');
    await s.server.kill9();
    const committedAtKill = s.log().length;
    assert.ok(committedAtKill < burst.length, `the kill landed mid-burst (${committedAtKill} of ${burst.length} committed)`);
    await queued;
    await s.server.start();
    await s.quiesce([alice, bob], burst.length, 120_000);
    await s.assertConsistent([alice, bob], { alice: burst });
  });
});
