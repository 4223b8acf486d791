import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { Scenario } from '../../support/scenario.ts';
import { until } from '../../support/browser.ts';
import { openCrowd, type RecordedState } from './client-page.ts';

const CLIENTS = 20;
const MIN_DELAY = 1_000;
const MAX_DELAY = 4_000;

interface CrowdItem {
  cmid: string;
  seq: number | null;
  text: string;
  status: string;
}

type CrowdWindow = Window & {
  imbedClients: Array<{ state: string; pendingCount(): number; items(conv: string): CrowdItem[]; send(conv: string, text: string): Promise<unknown> }>;
  imbedStates: RecordedState[][];
};

async function crowdStates(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as CrowdWindow).imbedClients.map((c) => c.state));
}

/** The most clients whose times fall within any window of `width` ms. */
function densest(times: number[], width: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j] - sorted[i] > width) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

describe('a server restart (1012) with many clients connected', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('brings the clients back spread over the backoff window, not in one burst', async () => {
    const crowd = await openCrowd(s, 'member', CLIENTS, { options: { storage: 'memory', minReconnectDelay: MIN_DELAY, maxReconnectDelay: MAX_DELAY } });
    await until(async () => (await crowdStates(crowd)).every((st) => st === 'online'), 'every client online');

    await s.server.signal('SIGUSR2'); // clients see 1012, as nodemon's restart would give them
    await s.server.start();
    await until(async () => {
      const states = await crowd.evaluate(() => (window as unknown as CrowdWindow).imbedStates);
      return states.every((list) => list.filter((c) => c.to === 'online').length === 2);
    }, 'every client back online', 60_000);

    const timelines = await crowd.evaluate(() => (window as unknown as CrowdWindow).imbedStates);
    const closes: number[] = [];
    const attempts: number[] = [];
    const returns: number[] = [];
    for (const timeline of timelines) {
      const close = timeline.find((c) => c.to === 'offline');
      assert.equal(close?.code, 1012, 'each client was told the server is restarting');
      closes.push(close!.at);
      attempts.push(timeline.find((c) => c.at > close!.at && c.to === 'connecting')!.at);
      returns.push(timeline.filter((c) => c.to === 'online')[1].at);
    }
    const waits = attempts.map((at, i) => at - closes[i]);
    // Lower bounds only: a slow machine makes waits longer, never shorter.
    assert.ok(Math.min(...waits) >= MIN_DELAY * 0.9, `no client retried before the minimum delay (shortest wait ${Math.round(Math.min(...waits))} ms)`);
    const attemptSpread = Math.max(...attempts) - Math.min(...attempts);
    const returnSpread = Math.max(...returns) - Math.min(...returns);
    assert.ok(attemptSpread >= MIN_DELAY / 4, `first attempts spread over ${Math.round(attemptSpread)} ms, at least a quarter of the window`);
    assert.ok(returnSpread >= MIN_DELAY / 4, `returns spread over ${Math.round(returnSpread)} ms, at least a quarter of the window`);
    assert.ok(densest(attempts, 50) < CLIENTS / 2, `fewer than half the clients attempt within any 50 ms (most: ${densest(attempts, 50)})`);

    // And the chat works for all of them afterwards: one message each, seen by everyone once, in order.
    await crowd.evaluate(async (conv) => {
      const clients = (window as unknown as CrowdWindow).imbedClients;
      for (const [i, client] of clients.entries()) await client.send(conv, `back after the restart ${i}`);
    }, s.conv);
    await until(() => s.log().length === CLIENTS, 'every message stored');
    const expected = s.log().map((m) => ({ cmid: m.cmid, seq: m.seq, text: m.text, status: 'sent' }));
    assert.deepEqual(new Set(expected.map((m) => m.cmid)).size, CLIENTS, 'each message stored once');
    await until(async () => {
      const lists = await crowd.evaluate((conv) => (window as unknown as CrowdWindow).imbedClients.map((c) => c.items(conv)), s.conv);
      return lists.every((items) => JSON.stringify(items.map(({ cmid, seq, text, status }) => ({ cmid, seq, text, status }))) === JSON.stringify(expected));
    }, 'every client holds the server log');
    const pending = await crowd.evaluate(() => (window as unknown as CrowdWindow).imbedClients.map((c) => c.pendingCount()));
    assert.deepEqual(pending, Array(CLIENTS).fill(0), 'no outbox item left pending');
    assert.deepEqual(s.log().map((m) => m.seq), Array.from({ length: CLIENTS }, (_, i) => i + 1), 'seq runs 1..N with no gap');
  });
});
