import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS } from '../../src/protocol/index.ts';
import type { ImbedServer } from '../../src/server/index.ts';
import { newCmid, openSession, startServer, tempDb, type TestClient } from './helpers.ts';

describe('sync (forward and backward) and welcome heads', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  let writer: TestClient;
  const conv = 'sync-450';

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

  it('states the head of each resumed conversation in welcome', async () => {
    const { welcome } = await openSession(server, 'reader', [{ conv, after: 0 }, { conv: 'sync-empty', after: 0 }], { name: 'Reader' });
    assert.deepEqual(welcome.convs, [{ conv, head: 450 }, { conv: 'sync-empty', head: 0 }]);
    assert.equal(welcome.user, 'reader');
    assert.equal(welcome.name, 'Reader');
    assert.deepEqual(welcome.limits, { maxText: LIMITS.maxText, maxFrame: LIMITS.maxFrame, syncLimit: LIMITS.syncLimit });
    assert.equal(welcome.heartbeat, 15000);
    assert.equal(typeof welcome.session, 'string');
  });

  it('pages 450 messages with limit 200 as 200, 200, 50 with more set on all but the last', async () => {
    const { client } = await openSession(server, 'reader');
    const pages = [];
    let cursor = 0;
    for (;;) {
      client.send({ type: 'sync', conv, after: cursor, limit: 200, ref: `p${pages.length}` });
      const page = await client.next('history');
      pages.push(page);
      assert.equal(page.ref, `p${pages.length - 1}`);
      assert.equal(page.head, 450);
      if (!page.more) break;
      cursor = page.msgs.at(-1)!.seq;
    }
    assert.deepEqual(pages.map((p) => [p.msgs.length, p.more]), [[200, true], [200, true], [50, false]]);
    const seqs = pages.flatMap((p) => p.msgs.map((m) => m.seq));
    assert.deepEqual(seqs, Array.from({ length: 450 }, (_, i) => i + 1));
    assert.equal(pages[2]!.msgs.at(-1)!.text, 'm450');
    assert.equal(pages[0]!.msgs[0]!.from, 'writer');
  });

  it('returns 100 messages when no limit is given and lowers a large limit to syncLimit', async () => {
    const { client } = await openSession(server, 'reader');
    client.send({ type: 'sync', conv, after: 0 });
    assert.equal((await client.next('history')).msgs.length, 100);
    client.send({ type: 'sync', conv, after: 0, limit: 100000 });
    assert.equal((await client.next('history')).msgs.length, LIMITS.syncLimit);
  });

  it('returns only messages after the cursor and an empty page at the head', async () => {
    const { client } = await openSession(server, 'reader');
    client.send({ type: 'sync', conv, after: 445 });
    const tail = await client.next('history');
    assert.deepEqual(tail.msgs.map((m) => m.seq), [446, 447, 448, 449, 450]);
    assert.equal(tail.more, false);
    client.send({ type: 'sync', conv, after: 450 });
    const none = await client.next('history');
    assert.deepEqual([none.msgs, none.more, none.head], [[], false, 450]);
  });

  it('answers sync of an unknown conversation with an empty page and head 0', async () => {
    const { client } = await openSession(server, 'reader');
    client.send({ type: 'sync', conv: 'sync-nothing-here', after: 0, ref: 7 });
    assert.deepEqual(await client.next('history'), { type: 'history', conv: 'sync-nothing-here', msgs: [], more: false, head: 0, ref: 7 });
  });

  it('subscribes the syncing connection to later messages', async () => {
    const live = 'sync-live';
    const { client } = await openSession(server, 'reader');
    client.send({ type: 'sync', conv: live, after: 0 });
    await client.next('history');
    writer.send({ type: 'send', conv: live, cmid: newCmid(), text: 'new' });
    const msg = await client.next('msg');
    assert.deepEqual([msg.conv, msg.seq, msg.text], [live, 1, 'new']);
  });

  it('pushes messages of conversations resumed in hello', async () => {
    const resumed = 'sync-resumed';
    const { client } = await openSession(server, 'reader', [{ conv: resumed, after: 0 }]);
    writer.send({ type: 'send', conv: resumed, cmid: newCmid(), text: 'hi' });
    assert.equal((await client.next('msg')).text, 'hi');
  });

  // Backward paging: `sync` with `before` answers the newest page below it.
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
    client.send({ type: 'sync', conv: 'sync-before-nothing', before: 5, ref: 2 });
    assert.deepEqual(await client.next('history'), { type: 'history', conv: 'sync-before-nothing', msgs: [], more: false, head: 0, ref: 2 });
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
