import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderedMessages, until } from '../../support/browser.ts';
import { proxiedScenario, framesOf, openClient } from './client-page.ts';

const QUICK = { minReconnectDelay: 100, maxReconnectDelay: 1_000 };

describe('kill -9 before the commit', () => {
  const env = proxiedScenario();
  const { s } = env;

  it('loses nothing: the message still pending on the client is sent again and stored once', async () => {
    const alice = await openClient(s, 'alice', { ws: env.proxy.url, options: QUICK });
    const bob = await s.open('bob');
    await s.type(alice, 'before the kill');
    await s.quiesce([alice, bob], 1);

    // The send is on the wire, not yet read by the server, when the server dies.
    env.proxy.pause();
    await s.type(alice, 'in flight at the kill');
    await until(async () => (await renderedMessages(alice)).some((m) => m.text === 'in flight at the kill' && m.status === 'pending'), 'the message pending on alice');
    await s.server.kill9();
    env.proxy.cutAll();
    env.proxy.heal();
    assert.deepEqual(s.log().map((m) => m.text), ['before the kill'], 'the server died before storing it');

    await s.server.start();
    await s.quiesce([alice, bob], 2);
    await s.assertConsistent([alice, bob], { alice: ['before the kill', 'in flight at the kill'] });
  });
});

describe('kill -9 after the commit, before the fan-out', () => {
  const env = proxiedScenario();
  const { s } = env;

  it('lets the other client catch up the stored message through sync after reconnecting', async () => {
    const alice = await s.open('alice');
    const bob = await openClient(s, 'bob', { ws: env.proxy.url, tap: true, options: QUICK });
    await s.type(alice, 'before the kill');
    await s.quiesce([alice, bob], 1);

    // Bob's copy of the next message is still on its way when the server dies, and dies with it.
    env.proxy.pause();
    await s.type(alice, 'stored, never pushed');
    await s.quiesce([alice], 2);
    await s.server.kill9();
    env.proxy.cutAll();
    env.proxy.heal();
    const stored = s.log()[1];
    assert.equal(stored?.text, 'stored, never pushed', 'the message was committed before the kill');

    await s.server.start();
    await s.quiesce([alice, bob], 2);
    await s.assertConsistent([alice, bob], { alice: ['before the kill', 'stored, never pushed'] });
    const { received } = await framesOf(bob);
    assert.equal(received.filter((f) => f.type === 'msg' && f.cmid === stored.cmid).length, 0, 'bob never got it live');
    const history = received.filter((f) => f.type === 'history').flatMap((f) => f.msgs as Array<{ cmid: string; seq: number }>);
    assert.deepEqual(history.filter((m) => m.cmid === stored.cmid).map((m) => m.seq), [2], 'bob caught it up through sync, under its seq');
  });
});
