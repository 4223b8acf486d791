/**
 * kill -9 in the middle of a burst of sends: every acked message must be stored with the seq it was
 * acked with, and resending everything must store each message exactly once.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../src/protocol/index.ts';
import { cliPort, newCmid, runCli, SECRET, signTestToken, tempDb, TestClient } from './helpers.ts';

const BURST = 500;
/** Acks to see before the kill: enough to prove something, few enough that the burst is still running. */
const KILL_AFTER_ACKS = 40;

async function session(port: number): Promise<TestClient> {
  const client = new TestClient(`ws://127.0.0.1:${port}/ws`);
  await client.opened();
  client.send({ type: 'hello', token: await signTestToken('alice'), convs: [] });
  await client.next('welcome');
  return client;
}

async function fullHistory(client: TestClient, conv: string): Promise<{ msgs: Message[]; head: number }> {
  const msgs: Message[] = [];
  let head = 0;
  for (;;) {
    client.send({ type: 'sync', conv, after: msgs.at(-1)?.seq ?? 0, limit: 200 });
    const page = await client.next('history');
    msgs.push(...page.msgs);
    head = page.head;
    if (!page.more) return { msgs, head };
  }
}

describe('crash safety', () => {
  const tmp = tempDb();
  after(() => tmp.remove());

  it('keeps every acked message with its seq after kill -9, and stores resent ones exactly once', async () => {
    const conv = 'crash';
    const cmids = Array.from({ length: BURST }, () => newCmid('crash'));
    // --no-limits: one user's burst of 500 is far over the default message rate, on purpose.
    const args = ['--port', '0', '--db', tmp.db, '--access', 'open', '--no-limits'];

    const first = runCli(args, { IMBED_SECRET: SECRET });
    const client = await session(await cliPort(first));
    const acked = new Map<string, number>();
    client.ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; cmid: string; seq: number };
      if (frame.type !== 'sent') return;
      acked.set(frame.cmid, frame.seq);
      if (acked.size === KILL_AFTER_ACKS) first.child.kill('SIGKILL');
    });
    for (const cmid of cmids) client.send({ type: 'send', conv, cmid, text: `text of ${cmid}` });
    assert.equal((await first.exited).signal, 'SIGKILL');
    await client.closed;
    assert.ok(acked.size >= KILL_AFTER_ACKS);

    const second = runCli(args, { IMBED_SECRET: SECRET });
    try {
      const again = await session(await cliPort(second));
      const before = await fullHistory(again, conv);
      assert.deepEqual(before.msgs.map((m) => m.seq), Array.from({ length: before.head }, (_, i) => i + 1), 'seq must be 1..head without gaps');
      const stored = new Map(before.msgs.map((m) => [m.cmid, m]));
      for (const [cmid, seq] of acked) assert.equal(stored.get(cmid)?.seq, seq, `acked ${cmid} lost or renumbered`);
      for (const m of before.msgs) assert.equal(m.text, `text of ${m.cmid}`);

      for (const cmid of cmids) again.send({ type: 'send', conv, cmid, text: `text of ${cmid}` });
      const resent = await again.take('sent', BURST);
      for (const sent of resent) {
        const original = stored.get(sent.cmid);
        if (original) assert.deepEqual([sent.dup, sent.seq, sent.ts], [true, original.seq, original.ts], `stored ${sent.cmid} must come back dup`);
        else assert.equal(sent.dup, undefined, `unstored ${sent.cmid} must be stored now`);
      }

      const after = await fullHistory(again, conv);
      assert.equal(after.head, BURST);
      assert.deepEqual(after.msgs.map((m) => m.seq), Array.from({ length: BURST }, (_, i) => i + 1));
      assert.deepEqual(after.msgs.map((m) => m.cmid).sort(), [...cmids].sort());
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
