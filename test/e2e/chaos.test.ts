import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runChaos } from '../chaos/run.ts';
import { chaosText, judge, type StoredMessage } from '../chaos/verdict.ts';
import type { ClientSnapshot } from '../chaos/chaos-client.ts';

/** A client that holds and renders exactly `log`, with an empty outbox. */
function faithful(user: string, log: StoredMessage[]): ClientSnapshot {
  const items = log.map((m) => ({ cmid: m.cmid, status: 'sent', seq: m.seq, text: m.text }));
  return { user, items, rendered: items, outbox: [], errors: [], state: 'online' };
}

function stored(texts: string[]): StoredMessage[] {
  return texts.map((text, i) => ({ seq: i + 1, cmid: `cmid-${i}-${text}`, sender: text.split('#')[0]!, text }));
}

describe('the chaos verdict', () => {
  const queued = new Map([
    ['c1', [chaosText('c1', 1), chaosText('c1', 2)]],
    ['c2', [chaosText('c2', 1)]],
  ]);

  it('passes a log that holds every queued message once, in order', () => {
    const log = stored(['c1#0001', 'c2#0001', 'c1#0002']);
    assert.deepEqual(judge(queued, 3, log, [faithful('c1', log), faithful('c2', log)]), { lost: 0, duplicated: 0, reordered: 0, problems: [] });
  });

  it('counts a queued message the server never stored as lost', () => {
    const log = stored(['c1#0001', 'c2#0001']);
    const v = judge(queued, 3, log, [faithful('c1', log)]);
    assert.equal(v.lost, 1);
    assert.ok(v.problems.some((p) => p.includes('c1#0002')));
  });

  it('counts a second copy of a text as a duplicate', () => {
    const log = stored(['c1#0001', 'c2#0001', 'c1#0002', 'c1#0002']);
    const v = judge(queued, 3, log, [faithful('c1', log)]);
    assert.equal(v.duplicated, 1);
    assert.equal(v.lost, 0);
  });

  it('counts a message stored before an older one of the same sender as reordered', () => {
    const log = stored(['c1#0002', 'c2#0001', 'c1#0001']);
    const v = judge(queued, 3, log, [faithful('c1', log)]);
    assert.equal(v.reordered, 1);
  });

  it('fails a client whose list or outbox differs from the server', () => {
    const log = stored(['c1#0001', 'c2#0001', 'c1#0002']);
    const behind = faithful('c2', log.slice(0, 2));
    const pending = { ...faithful('c1', log), outbox: [{ cmid: 'x', status: 'pending', text: 'c1#0002' }] };
    const v = judge(queued, 3, log, [behind, pending]);
    assert.deepEqual([v.lost, v.duplicated, v.reordered], [0, 0, 0]);
    assert.ok(v.problems.some((p) => p.startsWith("c2's items differ")));
    assert.ok(v.problems.some((p) => p.startsWith("c2's rendered list differs")));
    assert.ok(v.problems.some((p) => p.startsWith("c1's IndexedDB outbox still holds 1")));
  });
});

describe('a short chaos run (set CHAOS_SEED to replay one)', () => {
  it('loses, duplicates and reorders nothing while links, the server and pages fail', async () => {
    const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
    const summary = await runChaos({ seed, messages: 300, clients: 3, faultEvery: 15, verbose: process.env.CHAOS_VERBOSE === '1' });
    assert.ok(Object.keys(summary.faults).length > 0, 'faults were injected');
    assert.deepEqual(
      { lost: summary.lost, duplicated: summary.duplicated, reordered: summary.reordered },
      { lost: 0, duplicated: 0, reordered: 0 },
      summary.line,
    );
    assert.deepEqual(summary.problems, [], summary.line);
    assert.equal(summary.result, 'PASS', summary.line);
  });
});
