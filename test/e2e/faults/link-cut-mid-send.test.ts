import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../../support/browser.ts';
import { proxiedScenario, framesOf, numbered, openClient, queue } from './client-page.ts';

/** Latency of the slow link. */
const LATENCY = 2_000;

describe('the link cut while messages are on their way', () => {
  const env = proxiedScenario();
  const { s } = env;

  it('resends what was lost, gets the original seq for what was stored, and shows each message once', async () => {
    const alice = await openClient(s, 'alice', { ws: env.proxy.url, tap: true, options: { minReconnectDelay: 100, maxReconnectDelay: 1_000 } });
    const bob = await s.open('bob');
    await s.type(alice, 'before the cut');
    await s.quiesce([alice, bob], 1);

    // A slow link: the first batch reaches the server (its acks still on the way back) while the second is
    // still travelling when the link is cut. The second goes out once the first is stored, not after a
    // fixed gap: a commit slower than the gap (a slow fsync) would have stored both batches together.
    env.proxy.delay(LATENCY);
    const stored = numbered('reached the server', 5);
    const lost = numbered('lost on the wire', 5);
    await queue(alice, stored);
    await until(() => s.log().length === 1 + stored.length, 'the first batch stored');
    await queue(alice, lost);
    env.proxy.cutAll();
    env.proxy.heal();
    assert.equal(s.log().length, 1 + stored.length, 'the cut landed between the batches');

    await s.quiesce([alice, bob], 11);
    await s.assertConsistent([alice, bob], { alice: ['before the cut', ...stored, ...lost] });
    // The first batch's acks were lost: alice learns of those messages by catching up, or, had she sent
    // them again, from answers marked `dup` with the original seq. Never as new messages.
    const { received } = await framesOf(alice);
    const log = s.log();
    const acks = (cmid: string) => received.filter((f) => f.type === 'sent' && f.cmid === cmid);
    for (const m of log.slice(1, 1 + stored.length)) {
      assert.deepEqual(acks(m.cmid).map((f) => [f.seq, f.dup]), acks(m.cmid).map(() => [m.seq, true]), `${m.text}: only dup answers, with seq ${m.seq}`);
    }
    for (const m of log.slice(1 + stored.length)) {
      assert.deepEqual(acks(m.cmid).map((f) => [f.seq, f.dup]), [[m.seq, undefined]], `${m.text}: stored on the resend, acknowledged once`);
    }
  });
});
