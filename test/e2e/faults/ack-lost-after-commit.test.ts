import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../../support/browser.ts';
import { proxiedScenario, framesOf, numbered, openClient, queue } from './client-page.ts';

describe('the server commits, then the link dies before `sent` reaches the client', () => {
  const env = proxiedScenario();
  const { s } = env;

  it('keeps each message once, under its original seq, on every side', async () => {
    const alice = await openClient(s, 'alice', { ws: env.proxy.url, tap: true, options: { minReconnectDelay: 100, maxReconnectDelay: 1_000 } });
    const bob = await s.open('bob');
    await s.type(alice, 'before the fault');
    await s.quiesce([alice, bob], 1);

    // Everything the server says to alice from now on is lost; what she sends still arrives.
    env.proxy.blackhole('toClient');
    const unacknowledged = numbered('stored, ack lost', 3);
    await queue(alice, unacknowledged);
    await until(() => s.log().length === 4, 'the server stored all three');
    // Stored is not yet answered: the acks leave after the commit and reach the proxy a little later. Only
    // a link that has lost bytes is torn down by heal(); one that has not would carry the acks after all.
    // Waiting for any lost byte is not enough: a pong dropped first would satisfy it.
    const cmids = new Set(s.log().slice(1).map((m) => m.cmid));
    const ackOf = (cmid: string) => new RegExp(`"type":"sent","conv":"[^"]*","cmid":"${cmid}"`);
    await until(() => [...cmids].every((cmid) => ackOf(cmid).test(env.proxy.droppedToClient)), 'the three acks dropped on their way to alice');
    const { received: before } = await framesOf(alice);
    assert.equal(before.filter((f) => f.type === 'sent' && cmids.has(f.cmid as string)).length, 0, 'no ack reached alice');

    // The dead link is torn down and alice connects again.
    env.proxy.heal();
    await s.type(bob, 'bob, meanwhile');
    await s.quiesce([alice, bob], 5);
    await s.assertConsistent([alice, bob], { alice: ['before the fault', ...unacknowledged], bob: ['bob, meanwhile'] });

    // Alice learned of the stored messages by catching up, or from `dup` answers with the original seq.
    const { received, sent } = await framesOf(alice);
    for (const m of s.log().slice(1, 4)) {
      const acks = received.filter((f) => f.type === 'sent' && f.cmid === m.cmid);
      assert.deepEqual(acks.map((f) => [f.seq, f.dup]), acks.map(() => [m.seq, true]), `${m.text}: only dup answers, with seq ${m.seq}`);
      const sends = sent.filter((f) => f.type === 'send' && f.cmid === m.cmid).length;
      assert.equal(acks.length, sends - 1, `${m.text}: every resend was answered as a dup`);
    }
  });
});
