import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import type { ServerFrame } from '../../src/protocol/index.ts';
import type { ImbedServer } from '../../src/server/index.ts';
import { Store, type NewMessage } from '../../src/server/store.ts';
import { newCmid, openSession, startServer, tempDb, type TestClient } from './helpers.ts';

/**
 * Blocks this thread (and so the server's event loop) for `ms`, so that frames the clients wrote meanwhile
 * all wait in the server's sockets and are read in the same turn of its event loop.
 */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Records the sends of every `Store.appendAll` call (every group transaction) until restored. */
function spyOnCommits(): { batches: string[][]; restore: () => void } {
  const original = Store.prototype.appendAll;
  const batches: string[][] = [];
  Store.prototype.appendAll = function (this: Store, ms: readonly NewMessage[]) {
    const results = original.call(this, ms);
    batches.push(ms.map((m) => m.cmid));
    return results;
  };
  return { batches, restore: () => (Store.prototype.appendAll = original) };
}

/** The seqs of `conv` a client got, `sent` and `msg` alike, in arrival order. */
function seqsOf(client: TestClient, conv: string): number[] {
  return client.received.flatMap((f) => ((f.type === 'sent' || f.type === 'msg') && f.conv === conv ? [f.seq] : []));
}

describe('group commit', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  const clients: TestClient[] = [];

  async function session(user: string, convs: string[] = []): Promise<TestClient> {
    const { client } = await openSession(server, user, convs.map((conv) => ({ conv, after: 0 })));
    clients.push(client);
    return client;
  }

  before(async () => {
    server = await startServer(tmp.db);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('stores the sends of many sessions arriving in one turn in one transaction, and acks each only once it is committed', async () => {
    const conv = 'group-one-tx';
    const senders = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((u) => session(u, [conv])));
    const side = new Database(tmp.db, { readonly: true });
    const stored = side.prepare('SELECT seq FROM messages WHERE sender = ? AND cmid = ?');
    const visibleAtAck: boolean[] = [];
    for (const [i, client] of senders.entries()) {
      client.ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as ServerFrame;
        if (frame.type === 'sent') visibleAtAck.push(stored.get('abcde'[i], frame.cmid) !== undefined);
      });
    }
    const spy = spyOnCommits();
    try {
      const cmids = senders.map((client) => {
        const cmid = newCmid();
        client.send({ type: 'send', conv, cmid, text: `from ${cmid}` });
        return cmid;
      });
      stall(100);
      const acks = await Promise.all(senders.map((c) => c.next('sent')));
      assert.equal(spy.batches.length, 1, 'one transaction');
      assert.deepEqual(spy.batches[0]!.slice().sort(), cmids.slice().sort());
      assert.deepEqual(acks.map((a) => a.seq).sort(), [1, 2, 3, 4, 5]);
      assert.equal(new Set(acks.map((a) => a.ts)).size, 1, 'one commit, one commit time');
      assert.deepEqual(visibleAtAck, [true, true, true, true, true], 'every ack arrives after its message is readable by another connection');
    } finally {
      spy.restore();
      side.close();
    }
  });

  it('gives every connection the seqs of one commit in order: senders their sent in place, the others every msg', async () => {
    const conv = 'group-order';
    const senders = await Promise.all(['a', 'b', 'c', 'd'].map((u) => session(u, [conv])));
    const watcher = await session('w', [conv]);
    for (const client of senders) for (let i = 0; i < 3; i++) client.send({ type: 'send', conv, cmid: newCmid(), text: `${i}` });
    stall(100);
    await Promise.all(senders.map((c) => c.take('sent', 3)));
    await watcher.take('msg', 12);
    const all = Array.from({ length: 12 }, (_, i) => i + 1);
    for (const client of [...senders, watcher]) assert.deepEqual(seqsOf(client, conv), all);
  });

  it('gives a member of several conversations the msgs of one commit in the order they were stored', async () => {
    const [general, random] = ['group-order-general', 'group-order-random'];
    const sender = await session('a', [general, random]);
    const watcher = await session('w', [general, random]);
    const sends = [general, random, general, random, random, general];
    const spy = spyOnCommits();
    try {
      for (const [i, conv] of sends.entries()) sender.send({ type: 'send', conv, cmid: newCmid(), text: `${i}` });
      stall(100);
      await sender.take('sent', sends.length);
      assert.equal(spy.batches.length, 1, 'one commit');
    } finally {
      spy.restore();
    }
    const msgs = await watcher.take('msg', sends.length);
    assert.deepEqual(msgs.map((m) => m.text), sends.map((_, i) => `${i}`));
  });

  it('stores the other sessions\' sends when one session\'s send fails in the group transaction', async () => {
    const conv = 'group-one-fails';
    const alice = await session('alice', [conv]);
    const bob = await session('bob', [conv]);
    const watcher = await session('w', [conv]);
    const side = new Database(tmp.db);
    side.exec(`CREATE TRIGGER group_boom BEFORE INSERT ON messages WHEN NEW.text = 'boom'
               BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    const boom = newCmid();
    try {
      alice.send({ type: 'send', conv, cmid: boom, text: 'boom' });
      bob.send({ type: 'send', conv, cmid: newCmid(), text: 'fine' });
      stall(100);
      assert.equal((await alice.next('error')).ref, boom);
      assert.equal((await alice.closed).code, 1011);
      assert.equal((await bob.next('sent')).seq, 1);
      assert.equal((await watcher.next('msg')).text, 'fine');
    } finally {
      side.exec('DROP TRIGGER group_boom');
      side.close();
    }
  });

  it('acks nothing and loses nothing when the database cannot be written: every sender gets INTERNAL, resends, and each message is stored once, in order', async () => {
    const conv = 'group-locked';
    const users = ['a', 'b', 'c'];
    const senders = await Promise.all(users.map((u) => session(u, [conv])));
    const watcher = await session('w', [conv]);
    const cmids = users.map(() => [newCmid(), newCmid()]);
    // Another connection holds the write lock: the server's transaction fails after its busy timeout.
    const side = new Database(tmp.db);
    side.exec('BEGIN IMMEDIATE');
    try {
      senders.forEach((client, i) => cmids[i]!.forEach((cmid) => client.send({ type: 'send', conv, cmid, text: cmid })));
      stall(100);
      const closes = await Promise.all(senders.map((c) => c.closed));
      assert.deepEqual(closes.map((c) => c.code), [1011, 1011, 1011]);
      for (const [i, client] of senders.entries()) {
        assert.deepEqual(client.received.filter((f) => f.type !== 'welcome').map((f) => [f.type, f.type === 'error' ? f.ref : null]), [['error', cmids[i]![0]]]);
      }
    } finally {
      side.exec('ROLLBACK');
      side.close();
    }
    await watcher.roundTrip();
    assert.deepEqual(seqsOf(watcher, conv), [], 'nothing was pushed');

    for (const [i, user] of users.entries()) {
      const again = await session(user, [conv]);
      for (const cmid of cmids[i]!) again.send({ type: 'send', conv, cmid, text: cmid });
      const sent = await again.take('sent', 2);
      assert.deepEqual(sent.map((s) => [s.cmid, s.dup]), cmids[i]!.map((cmid) => [cmid, undefined]));
    }
    const msgs = await watcher.take('msg', 6);
    assert.deepEqual(msgs.map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(msgs.map((m) => m.cmid), cmids.flat());
  });

  it('after one write waited out the lock in vain, refuses the next at once, and waits again once a write got through', async () => {
    const conv = 'group-lock-held-long';
    const side = new Database(tmp.db);
    side.exec('BEGIN IMMEDIATE');
    try {
      const first = await session('a', [conv]);
      first.send({ type: 'send', conv, cmid: newCmid(), text: 'waits the whole busy timeout, then fails' });
      assert.equal((await first.closed).code, 1011);
    } finally {
      side.exec('ROLLBACK');
      side.close();
    }

    // Held 1.5 s, well within the busy timeout: a write that waited would get through, this one is refused.
    const held = await lockedElsewhere(tmp.db, 1500);
    const second = await session('b', [conv]);
    const refused = newCmid();
    second.send({ type: 'send', conv, cmid: refused, text: 'refused at once' });
    const error = await second.next('error');
    assert.deepEqual([error.code, error.ref], ['INTERNAL', refused]);
    assert.equal((await second.closed).code, 1011);
    await held.exited;

    const third = await session('b', [conv]);
    third.send({ type: 'send', conv, cmid: refused, text: 'refused at once' });
    assert.equal((await third.next('sent')).seq, 1, 'the lock is gone: the resend is stored');

    // That write got through, so a lock held for a moment is waited out again.
    const brief = await lockedElsewhere(tmp.db, 500);
    const cmid = newCmid();
    third.send({ type: 'send', conv, cmid, text: 'waits for a brief lock' });
    assert.deepEqual(await third.next('sent').then((s) => [s.cmid, s.seq]), [cmid, 2]);
    await brief.exited;
  });
});

/**
 * Another process holding the database's write lock for `ms`: resolves once it holds it, with a promise
 * of its exit. (This thread cannot release a lock while the server, in the same thread, waits for it.)
 */
async function lockedElsewhere(db: string, ms: number): Promise<{ exited: Promise<void> }> {
  const holder = spawn(process.execPath, ['-e', `
    const db = new (require('better-sqlite3'))(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    console.log('locked');
    setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, Number(process.argv[2]));
  `, db, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`the lock holder exited with ${code} before locking`)));
  });
  return { exited };
}

describe('group commit with commitInterval', () => {
  const tmp = tempDb();
  let server: ImbedServer;

  before(async () => {
    server = await startServer(tmp.db, { commitInterval: 300 });
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('commits at once after a quiet spell, then stores the sends arriving within the interval together', async () => {
    const conv = 'group-interval';
    const { client: alice } = await openSession(server, 'alice', [{ conv, after: 0 }]);
    const { client: bob } = await openSession(server, 'bob', [{ conv, after: 0 }]);
    const spy = spyOnCommits();
    try {
      const first = newCmid();
      const started = Date.now();
      alice.send({ type: 'send', conv, cmid: first, text: 'first' });
      await alice.next('sent');
      assert.ok(Date.now() - started < 250, 'the first send after a quiet spell is not delayed');
      const second = [newCmid(), newCmid()];
      alice.send({ type: 'send', conv, cmid: second[0], text: 'second' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      bob.send({ type: 'send', conv, cmid: second[1], text: 'third' });
      await Promise.all([alice.next('sent'), bob.next('sent')]);
      assert.deepEqual(spy.batches, [[first], second]);
    } finally {
      spy.restore();
      await Promise.all([alice.close(), bob.close()]);
    }
  });

  it('lets the process end once closed, with a commit still waiting for its interval', async () => {
    const helpers = new URL('./helpers.ts', import.meta.url).href;
    // A host that closes its server right after a send scheduled the next commit a minute away.
    const script = `
      import { newCmid, openSession, startServer, tempDb } from ${JSON.stringify(helpers)};
      const tmp = tempDb();
      const server = await startServer(tmp.db, { commitInterval: 60_000 });
      const { client } = await openSession(server, 'alice', [{ conv: 'c', after: 0 }]);
      client.send({ type: 'send', conv: 'c', cmid: newCmid(), text: 'one' });
      await client.next('sent');
      client.send({ type: 'send', conv: 'c', cmid: newCmid(), text: 'two' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await server.close();
      await client.closed;
      tmp.remove();
      console.log('closed');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    const exited = new Promise<'exited'>((resolve) => child.once('exit', () => resolve('exited')));
    const bound = new Promise<'running'>((resolve) => setTimeout(resolve, 15_000, 'running').unref());
    try {
      assert.equal(await Promise.race([exited, bound]), 'exited');
      assert.equal(out.trim(), 'closed');
    } finally {
      child.kill();
    }
  });
});
