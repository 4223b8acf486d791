import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { renderedMessages, until } from '../../support/browser.ts';
import { closeTab } from '../../support/faults.ts';
import { proxiedScenario, framesOf, openClient, socketsOf, stateOf } from './client-page.ts';

/** Whether the tab has opened a connection of its own: only the leader does. */
async function leads(page: Page): Promise<boolean> {
  return (await socketsOf(page)) > 0;
}

describe('three tabs of one user, and the leader tab closes with the others\' messages on its stalled socket', () => {
  const env = proxiedScenario();
  const { s } = env;

  it('lets another tab take over and delivers every message once, in the order typed', async () => {
    const through = { ws: env.proxy.url, tap: true, options: { minReconnectDelay: 100, maxReconnectDelay: 1_000 } };
    const tabs: Page[] = [];
    for (let i = 0; i < 3; i++) tabs.push(await openClient(s, 'alice', through));
    const bob = await s.open('bob');
    await until(async () => (await Promise.all(tabs.map(stateOf))).every((st) => st === 'online'), 'all three tabs online');
    const leading = await Promise.all(tabs.map(leads));
    assert.equal(leading.filter(Boolean).length, 1, `exactly one tab holds the connection (${leading})`);
    const leader = tabs[leading.indexOf(true)];
    const followers = tabs.filter((t) => t !== leader);

    const alice: string[] = [];
    /** Types in `page` and waits until it shows the message, so the shared outbox keeps the typing order. */
    const say = async (page: Page, text: string) => {
      await s.type(page, text);
      alice.push(text);
      await until(async () => (await renderedMessages(page)).some((m) => m.text === text), `"${text}" shown`);
    };
    await say(leader, 'from the leader');
    await say(followers[0], 'from a follower');
    await s.quiesce([...tabs, bob], 2);

    // The link stalls; the followers' messages go out on the leader's socket and sit in the network.
    env.proxy.pause();
    const onTheWire = ['stalled 1', 'stalled 2', 'stalled 3', 'stalled 4'];
    for (const [i, text] of onTheWire.entries()) await say(followers[i % 2], text);
    await until(async () => {
      const sent = (await framesOf(leader)).sent.filter((f) => f.type === 'send').map((f) => f.text);
      return onTheWire.every((text) => sent.includes(text));
    }, 'the leader sent all four');

    await closeTab(leader);
    await until(async () => (await Promise.all(followers.map(leads))).some(Boolean), 'a remaining tab took the connection over');
    const afterClose = ['after the close 1', 'after the close 2'];
    for (const [i, text] of afterClose.entries()) await say(followers[i], text);

    // The stalled bytes arrive: the closed tab's sends are stored after it is gone; the new leader
    // learns of them by catching up, or sends them again and is told they are duplicates.
    env.proxy.resume();
    await s.type(bob, 'bob, after it all');
    await s.quiesce([...followers, bob], 9);
    await s.assertConsistent([...followers, bob], { alice, bob: ['bob, after it all'] });
    const leadersNow = await Promise.all(followers.map(leads));
    assert.equal(leadersNow.filter(Boolean).length, 1, `exactly one remaining tab took over (${leadersNow})`);
  });
});
