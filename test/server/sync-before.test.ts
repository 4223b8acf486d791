import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ImbedServer } from '../../src/server/index.ts';
import { newCmid, openSession, startServer, tempDb, type TestClient } from './helpers.ts';

describe('sync with before (history backward)', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  let writer: TestClient;
  const conv = 'older-450';

  before(async () => {
    server = await startServer(tmp.db);
    writer = (await openSession(server, 'writer')).client;
    for (let i = 1; i <= 450; i++) writer.send({ type: 'send', conv, cmid: newCmid(), text: `m${i}` });
    await writer.take('sent', 450);
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('answers before = head + 1 with the newest page, ascending, and more set', async () => {
    const { client } = await openSession(server, 'reader');
    client.send({ type: 'sync', conv, before: 451, limit: 100, ref: 1 });
    const page = await client.next('history');
    assert.deepEqual(page.msgs.map((m) => m.seq), Array.from({ length: 100 }, (_, i) => 351 + i));
    assert.deepEqual([page.more, page.head, page.ref, page.msgs.at(-1)!.text], [true, 450, 1, 'm450']);
  });

  it('pages 450 messages backward with limit 200 as 200, 200, 50, gap-free, more false on the last', async () => {
    const { client } = await openSession(server, 'reader');
    const pages = [];
    let floor = 451;
    for (;;) {
      client.send({ type: 'sync', conv, before: floor, limit: 200 });
      const page = await client.next('history');
      pages.push(page);
      if (!page.more) break;
      floor = page.msgs[0]!.seq;
    }
    assert.deepEqual(pages.map((p) => [p.msgs.length, p.more]), [[200, true], [200, true], [50, false]]);
    const seqs = pages.reverse().flatMap((p) => p.msgs.map((m) => m.seq));
    assert.deepEqual(seqs, Array.from({ length: 450 }, (_, i) => i + 1));
  });

  it('answers before = 1 and an unknown conversation with an empty page', async () => {
    const { client } = await openSession(server, 'reader');
    client.send({ type: 'sync', conv, before: 1 });
    assert.deepEqual((await client.next('history')).msgs, []);
    client.send({ type: 'sync', conv: 'older-nothing', before: 5, ref: 2 });
    assert.deepEqual(await client.next('history'), { type: 'history', conv: 'older-nothing', msgs: [], more: false, head: 0, ref: 2 });
  });

  it('refuses both after and before, neither, and before 0 with BAD_FRAME naming the ref', async () => {
    const { client } = await openSession(server, 'reader');
    client.send({ type: 'sync', conv, after: 1, before: 5, ref: 'both' } as never);
    client.send({ type: 'sync', conv, ref: 'neither' } as never);
    client.send({ type: 'sync', conv, before: 0, ref: 'zero' });
    for (const ref of ['both', 'neither', 'zero']) {
      const error = await client.next('error');
      assert.deepEqual([error.code, error.ref], ['BAD_FRAME', ref]);
    }
  });
});
