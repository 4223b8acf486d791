import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { createImbedServer } from '../../src/server/index.ts';
import { SCHEMA_VERSION } from '../../src/server/store.ts';
import { newCmid, openSession, startServer, tempDb, TestClient, wsUrl } from './helpers.ts';

describe('persistence across restarts', () => {
  let tmp: ReturnType<typeof tempDb>;
  beforeEach(() => {
    tmp = tempDb();
  });
  afterEach(() => tmp.remove());

  it('keeps messages and heads after a restart on the same database', async () => {
    const first = await startServer(tmp.db);
    const { client } = await openSession(first, 'alice');
    for (const text of ['one', 'two', 'three']) client.send({ type: 'send', conv: 'persist', cmid: newCmid(), text });
    await client.take('sent', 3);
    await first.close();

    const second = await startServer(tmp.db);
    try {
      const { client: again, welcome } = await openSession(second, 'alice', [{ conv: 'persist', after: 0 }]);
      assert.deepEqual(welcome.convs, [{ conv: 'persist', head: 3 }]);
      again.send({ type: 'sync', conv: 'persist', after: 0 });
      assert.deepEqual((await again.next('history')).msgs.map((m) => [m.seq, m.text]), [[1, 'one'], [2, 'two'], [3, 'three']]);
      again.send({ type: 'send', conv: 'persist', cmid: newCmid(), text: 'four' });
      assert.equal((await again.next('sent')).seq, 4);
    } finally {
      await second.close();
    }
  });

  it('answers a cmid resent after a restart with dup and the original seq', async () => {
    const cmid = newCmid();
    const first = await startServer(tmp.db);
    const { client } = await openSession(first, 'alice');
    client.send({ type: 'send', conv: 'persist-dup', cmid, text: 'x' });
    const original = await client.next('sent');
    await first.close();

    const second = await startServer(tmp.db);
    try {
      const { client: again } = await openSession(second, 'alice');
      again.send({ type: 'send', conv: 'persist-dup', cmid, text: 'x' });
      assert.deepEqual(await again.next('sent'), { ...original, dup: true });
      again.send({ type: 'sync', conv: 'persist-dup', after: 0 });
      assert.equal((await again.next('history')).msgs.length, 1);
    } finally {
      await second.close();
    }
  });

  it('keeps the generated dev secret, so dev tokens survive a restart', async () => {
    const saved = process.env.IMBED_SECRET;
    delete process.env.IMBED_SECRET;
    try {
      const first = await createImbedServer({ db: tmp.db, port: 0, dev: true, log: () => {} });
      const token = await first.signToken('alice');
      await first.close();
      const second = await createImbedServer({ db: tmp.db, port: 0, dev: true, log: () => {} });
      try {
        const old = new TestClient(wsUrl(second));
        await old.opened();
        old.send({ type: 'hello', token, convs: [] });
        assert.equal((await old.next('welcome')).user, 'alice');
      } finally {
        await second.close();
      }
    } finally {
      if (saved !== undefined) process.env.IMBED_SECRET = saved;
    }
  });

  it('refuses to start without a secret outside dev mode, naming IMBED_SECRET', async () => {
    const saved = process.env.IMBED_SECRET;
    delete process.env.IMBED_SECRET;
    try {
      await assert.rejects(createImbedServer({ db: tmp.db, port: 0, log: () => {} }), /IMBED_SECRET/);
    } finally {
      if (saved !== undefined) process.env.IMBED_SECRET = saved;
    }
  });

  it('records the schema version and refuses a database from a newer server', async () => {
    const server = await startServer(tmp.db);
    await server.close();
    const db = new Database(tmp.db);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await assert.rejects(startServer(tmp.db), /newer than this server/);
  });

  it('creates the database folder when it is missing', async () => {
    const server = await startServer(`${tmp.dir}/nested/deeper/imbed.db`);
    await server.close();
    const db = new Database(`${tmp.dir}/nested/deeper/imbed.db`);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.close();
  });
});
