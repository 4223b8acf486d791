import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderedMessages, until } from '../../support/browser.ts';
import { proxiedScenario, numbered, openClient, stateOf, statesOf } from './client-page.ts';

/** Short heartbeat for the test: a ping every 500 ms, dead after 1 s of silence after a ping. */
const INTERVAL = 500;
const TIMEOUT = 1_000;
/** Slack on the detection bound for a loaded 2-core machine (timers and page evaluation run late). */
const SLACK = 3_000;

describe('a half-open link (no FIN, no RST: bytes just stop)', () => {
  const env = proxiedScenario();
  const { s } = env;

  it('is detected within the heartbeat bound and replaced, and what was typed meanwhile arrives once', async () => {
    const alice = await openClient(s, 'alice', {
      ws: env.proxy.url,
      options: { heartbeatInterval: INTERVAL, heartbeatTimeout: TIMEOUT, minReconnectDelay: 100, maxReconnectDelay: 500 },
    });
    const bob = await s.open('bob');
    await s.type(alice, 'before the link went quiet');
    await s.quiesce([alice, bob], 1);
    assert.equal(await stateOf(alice), 'online');

    const quietSince = Date.now();
    env.proxy.blackhole('both');
    const meanwhile = numbered('typed on the dead link', 3);
    for (const text of meanwhile) await s.type(alice, text);

    await until(async () => (await statesOf(alice)).some((c) => c.at >= quietSince && c.code === 4008), 'the heartbeat to declare the link dead');
    const detected = (await statesOf(alice)).find((c) => c.at >= quietSince && c.code === 4008)!;
    assert.equal(detected.from, 'online', 'the live session was the one declared dead');
    assert.ok(
      detected.at - quietSince <= INTERVAL + TIMEOUT + SLACK,
      `detected ${Math.round(detected.at - quietSince)} ms after the link went quiet (bound ${INTERVAL + TIMEOUT} ms + slack)`,
    );
    assert.equal(s.log().length, 1, 'nothing typed on the dead link reached the server');
    assert.deepEqual((await renderedMessages(alice)).slice(1).map((m) => m.status), ['pending', 'pending', 'pending']);

    // The route comes back: a new connection replaces the dead one and drains the outbox.
    env.proxy.heal();
    await s.quiesce([alice, bob], 4);
    await s.assertConsistent([alice, bob], { alice: ['before the link went quiet', ...meanwhile] });
    assert.equal(env.proxy.connections, 1, 'one live connection through the proxy: the dead one was replaced, not kept');
  });
});
