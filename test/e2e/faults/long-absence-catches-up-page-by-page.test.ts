import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Scenario } from '../../support/scenario.ts';
import { until } from '../../support/browser.ts';
import { closeTab } from '../../support/faults.ts';
import { sendBacklog } from './backlog-sender.ts';
import { framesOf, numbered, openClient, statesOf, storedOf } from './client-page.ts';

const BACKLOG = 10_000;
const PAGE = 200;

// Each stored message is fsynced (synchronous=FULL): 10,000 of them take about 25 s on disk and 2 s on
// tmpfs. This scenario is about catching up, not durability, so its database lives in memory-backed /dev/shm.
if (existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';

describe('a client that was away while 10,000 messages arrived', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('catches up the whole backlog in order, 200 per sync page', async () => {
    const away = await openClient(s, 'alice');
    await s.type(away, 'see you later');
    await s.quiesce([away], 1);
    // Shown as sent is not yet stored: a tab closed before the ack's write commits comes back holding
    // nothing, and rightly asks for the newest page rather than catching up from its cursor.
    await until(async () => {
      const { messages, outbox } = await storedOf(away, s.conv);
      return messages === 1 && outbox === 0;
    }, "alice's message stored in IndexedDB before her tab closes");
    await closeTab(away);

    const backlog = numbered('while alice was away', BACKLOG);
    await sendBacklog({ url: s.server.wsUrl, token: await s.server.token('carol'), conv: s.conv, texts: backlog });
    assert.equal(s.log().length, BACKLOG + 1);

    const back = await openClient(s, 'alice', { tap: true });
    // Polled through the client, not the DOM: reading 10,000 nodes every 50 ms would slow the page down.
    const stored = () => back.evaluate(() => {
      const chat = document.querySelector('imbed-chat') as HTMLElement & { conversation: string; client: { items(conv: string): Array<{ status: string }> } };
      return chat.client.items(chat.conversation).filter((i) => i.status === 'sent').length;
    });
    // Should it stall, say where: how far it got, the client's states, and every sync and page so far.
    const progress = async () => {
      const { sent, received } = await framesOf(back);
      const syncs = sent.filter((f) => f.type === 'sync').map(({ type: _, ...f }) => f);
      const pages = received.filter((f) => f.type === 'history').map(({ msgs, ...f }) => {
        const seqs = (msgs as Array<{ seq: number }>).map((m) => m.seq);
        return { ...f, msgs: seqs.length ? `${seqs[0]}..${seqs.at(-1)}` : 'none' };
      });
      const others = received.filter((f) => f.type !== 'history').map((f) => f.type);
      const states = (await statesOf(back)).map((c) => `${c.to} (${c.reason})`);
      return `${await stored()} stored, states ${states.join(' > ')}, syncs sent ${JSON.stringify(syncs)}, history pages ${JSON.stringify(pages)}, other frames ${others.join(' ')}`;
    };
    await until(async () => (await stored()) === BACKLOG + 1, `${BACKLOG + 1} messages stored on the returning client`, 120_000).catch(async (e: Error) => {
      throw new Error(`${e.message} (${await progress()})`);
    });
    await s.quiesce([back], BACKLOG + 1);
    await s.assertConsistent([back], { alice: ['see you later'], carol: backlog });

    const { sent, received } = await framesOf(back);
    const syncs = sent.filter((f) => f.type === 'sync');
    const pagesReceived = received.filter((f) => f.type === 'history').map((f) => (f.msgs as unknown[]).length);
    // The first page starts at alice's own message (seq 1), to check the server's is the same one: the
    // backlog then takes one page more, whose last holds one message.
    const pages = Math.ceil((BACKLOG + 1) / PAGE);
    assert.deepEqual(syncs.map((f) => f.after), Array.from({ length: pages }, (_, i) => i * PAGE), 'one sync per page of 200, each after the last');
    assert.ok(syncs.every((f) => f.limit === PAGE), 'every sync asks for 200');
    assert.deepEqual(pagesReceived, [...Array(pages - 1).fill(PAGE), (BACKLOG + 1) % PAGE || PAGE], 'every history page but the last holds 200 messages');
  });
});
