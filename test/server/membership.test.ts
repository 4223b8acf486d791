import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { ImbedServer } from '../../src/server/index.ts';
import { cliPort, newCmid, openSession, runCli, SECRET, signTestToken, startServer, tempDb, TestClient } from './helpers.ts';

const ADMIN = 'membership-admin-secret-of-32-bytes-or-more';

/** Calls the admin API of `server` with the right secret. */
async function admin(server: ImbedServer, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/admin/v1/${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

describe('membership (members mode)', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  const clients: TestClient[] = [];

  async function session(user: string, convs: string[] = []) {
    const s = await openSession(server, user, convs.map((conv) => ({ conv, after: 0 })));
    clients.push(s.client);
    return s;
  }

  async function group(id: string, members: string[]) {
    const { status } = await admin(server, 'POST', 'conversations', { id, kind: 'group', members });
    assert.equal(status, 201);
  }

  function storedCount(conv: string): number {
    const db = new Database(tmp.db, { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM messages WHERE conv = ?').get(conv) as { n: number }).n;
    } finally {
      db.close();
    }
  }

  before(async () => {
    server = await startServer(tmp.db, { access: 'members', adminSecret: ADMIN });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
    tmp.remove();
  });

  it('lets members send, sync and receive live messages', async () => {
    await group('team', ['alice', 'bob']);
    const { client: alice, welcome } = await session('alice', ['team']);
    const { client: bob } = await session('bob', ['team']);
    assert.deepEqual(welcome.convs, [{ conv: 'team', head: 0 }]);
    assert.equal(welcome.denied, undefined);
    alice.send({ type: 'send', conv: 'team', cmid: newCmid(), text: 'hi bob' });
    const sent = await alice.next('sent');
    assert.equal((await bob.next('msg')).seq, sent.seq);
    bob.send({ type: 'sync', conv: 'team', after: 0, ref: 1 });
    assert.deepEqual((await bob.next('history')).msgs.map((m) => m.text), ['hi bob']);
  });

  it('refuses a send from a non-member with FORBIDDEN (ref = cmid) and stores nothing', async () => {
    await group('private', ['alice']);
    const { client: mallory } = await session('mallory');
    const cmid = newCmid();
    mallory.send({ type: 'send', conv: 'private', cmid, text: 'let me in' });
    const error = await mallory.next('error');
    assert.deepEqual([error.code, error.ref, error.retryable], ['FORBIDDEN', cmid, false]);
    assert.equal(storedCount('private'), 0);
  });

  it('refuses a sync from a non-member with FORBIDDEN (ref echoed) and no history', async () => {
    await group('secret', ['alice']);
    const { client: alice } = await session('alice');
    alice.send({ type: 'send', conv: 'secret', cmid: newCmid(), text: 'classified' });
    await alice.next('sent');
    const { client: mallory } = await session('mallory');
    mallory.send({ type: 'sync', conv: 'secret', after: 0, ref: 'peek' });
    const error = await mallory.next('error');
    assert.deepEqual([error.code, error.ref], ['FORBIDDEN', 'peek']);
    await mallory.roundTrip();
    assert.equal(mallory.received.some((f) => f.type === 'history'), false);
  });

  it('lists a foreign conversation in welcome.denied, and one never created too', async () => {
    await group('mine', ['carol']);
    await group('theirs', ['dave']);
    const { welcome } = await session('carol', ['mine', 'theirs', 'nowhere']);
    assert.deepEqual(welcome.convs, [{ conv: 'mine', head: 0 }]);
    assert.deepEqual(welcome.denied, ['theirs', 'nowhere']);
  });

  it('answers a conversation named twice in hello once, in convs or in denied', async () => {
    await group('twice', ['carol']);
    await group('elsewhere', ['dave']);
    const { welcome } = await session('carol', ['twice', 'elsewhere', 'twice', 'elsewhere']);
    assert.deepEqual(welcome.convs, [{ conv: 'twice', head: 0 }]);
    assert.deepEqual(welcome.denied, ['elsewhere']);
  });

  it('never pushes live messages of a conversation to a non-member, even one who asked for it', async () => {
    await group('closed', ['alice', 'bob']);
    const { client: eve } = await session('eve', ['closed']);
    // A refused sync must not subscribe either.
    eve.send({ type: 'sync', conv: 'closed', after: 0, ref: 2 });
    await eve.next('error');
    const { client: bob } = await session('bob', ['closed']);
    const { client: alice } = await session('alice', ['closed']);
    alice.send({ type: 'send', conv: 'closed', cmid: newCmid(), text: 'members only' });
    await alice.next('sent');
    await bob.next('msg');
    await eve.roundTrip();
    assert.equal(eve.received.some((f) => f.type === 'msg'), false);
  });

  it('stops live delivery at once when a member is removed, telling each of their sessions with FORBIDDEN and the conv', async () => {
    await group('leaving', ['alice', 'bob']);
    const { client: bobTab1 } = await session('bob', ['leaving']);
    const { client: bobTab2 } = await session('bob', ['leaving']);
    const { client: alice } = await session('alice', ['leaving']);
    const removed = await admin(server, 'DELETE', 'conversations/leaving/members/bob');
    assert.equal(removed.status, 200);
    for (const tab of [bobTab1, bobTab2]) {
      const error = await tab.next('error');
      assert.deepEqual(error, { type: 'error', code: 'FORBIDDEN', message: error.message, ref: null, retryable: false, conv: 'leaving' });
    }
    alice.send({ type: 'send', conv: 'leaving', cmid: newCmid(), text: 'after bob left' });
    await alice.next('sent');
    bobTab1.send({ type: 'send', conv: 'leaving', cmid: newCmid(), text: 'still here?' });
    assert.equal((await bobTab1.next('error')).code, 'FORBIDDEN');
    await bobTab2.roundTrip();
    assert.equal([...bobTab1.received, ...bobTab2.received].some((f) => f.type === 'msg'), false);
  });

  it('answers a resend of a message stored before the sender was removed as a dup, not FORBIDDEN', async () => {
    await group('left-behind', ['alice', 'bob']);
    const { client: bob } = await session('bob', ['left-behind']);
    const cmid = newCmid();
    bob.send({ type: 'send', conv: 'left-behind', cmid, text: 'bye all' });
    const first = await bob.next('sent');
    assert.equal((await admin(server, 'DELETE', 'conversations/left-behind/members/bob')).status, 200);
    assert.equal((await bob.next('error')).code, 'FORBIDDEN', 'told of the removal');
    // Its `sent` was lost, as far as the client knows: it sends the message again.
    bob.send({ type: 'send', conv: 'left-behind', cmid, text: 'bye all' });
    await bob.roundTrip();
    assert.deepEqual(bob.inbox.filter((f) => f.type === 'sent' || f.type === 'error'), [{ ...first, dup: true }]);
    assert.equal(storedCount('left-behind'), 1);
  });

  it('lets a member added later in on the next sync, without a reconnect', async () => {
    await group('joining', ['alice']);
    const { client: frank, welcome } = await session('frank', ['joining']);
    assert.deepEqual(welcome.denied, ['joining']);
    assert.equal((await admin(server, 'PUT', 'conversations/joining/members/frank')).status, 200);
    frank.send({ type: 'sync', conv: 'joining', after: 0, ref: 3 });
    assert.equal((await frank.next('history')).ref, 3);
    const { client: alice } = await session('alice');
    alice.send({ type: 'send', conv: 'joining', cmid: newCmid(), text: 'welcome frank' });
    assert.equal((await frank.next('msg')).text, 'welcome frank');
  });

  it('takes the sender from the token, whatever the frame says', async () => {
    await group('who', ['alice']);
    const { client: alice } = await session('alice');
    alice.send({ type: 'send', conv: 'who', cmid: newCmid(), text: 'me', from: 'bob' });
    await alice.next('sent');
    alice.send({ type: 'sync', conv: 'who', after: 0 });
    assert.equal((await alice.next('history')).msgs[0]!.from, 'alice');
  });

  it('refuses a third member of a direct conversation and keeps it to its two', async () => {
    assert.equal((await admin(server, 'POST', 'conversations', { id: 'dm-a-b', kind: 'direct', members: ['alice', 'bob'] })).status, 201);
    const third = await admin(server, 'PUT', 'conversations/dm-a-b/members/carol');
    assert.deepEqual([third.status, third.json.error.code], [409, 'DIRECT_FULL']);
    const { welcome } = await session('carol', ['dm-a-b']);
    assert.deepEqual(welcome.denied, ['dm-a-b']);
    const { welcome: bobs } = await session('bob', ['dm-a-b']);
    assert.deepEqual(bobs.convs, [{ conv: 'dm-a-b', head: 0 }]);
  });
});

describe('membership (open mode)', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  const clients: TestClient[] = [];

  async function session(user: string, convs: string[] = []) {
    const s = await openSession(server, user, convs.map((conv) => ({ conv, after: 0 })));
    clients.push(s.client);
    return s;
  }

  before(async () => {
    server = await startServer(tmp.db, { access: 'open', adminSecret: ADMIN });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
    tmp.remove();
  });

  it('lets every user into a conversation that has no member list', async () => {
    const { client: zed, welcome } = await session('zed', ['lobby']);
    assert.equal(welcome.denied, undefined);
    zed.send({ type: 'send', conv: 'lobby', cmid: newCmid(), text: 'anyone?' });
    assert.equal((await zed.next('sent')).seq, 1);
  });

  it('still restricts a conversation created with members', async () => {
    await admin(server, 'POST', 'conversations', { id: 'staff', kind: 'group', members: ['alice'] });
    const { client: zed, welcome } = await session('zed', ['staff']);
    assert.deepEqual(welcome.denied, ['staff']);
    zed.send({ type: 'send', conv: 'staff', cmid: newCmid(), text: 'hi' });
    assert.equal((await zed.next('error')).code, 'FORBIDDEN');
  });

  it('restricts an open conversation once it is created with members, keeping its messages and cutting off the others', async () => {
    const { client: alice } = await session('alice', ['was-open']);
    const { client: zed } = await session('zed', ['was-open']);
    alice.send({ type: 'send', conv: 'was-open', cmid: newCmid(), text: 'before' });
    await alice.next('sent');
    await zed.next('msg');
    const created = await admin(server, 'POST', 'conversations', { id: 'was-open', kind: 'group', members: ['alice'] });
    assert.equal(created.status, 201);
    const error = await zed.next('error');
    assert.deepEqual([error.code, error.conv], ['FORBIDDEN', 'was-open']);
    alice.send({ type: 'sync', conv: 'was-open', after: 0 });
    assert.deepEqual((await alice.next('history')).msgs.map((m) => m.text), ['before']);
    alice.send({ type: 'send', conv: 'was-open', cmid: newCmid(), text: 'after' });
    assert.equal((await alice.next('sent')).seq, 2);
    await zed.roundTrip();
    assert.equal(zed.inbox.some((f) => f.type === 'msg'), false);
  });
});

describe('a membership change while a send waits for its commit', () => {
  it('delivers the send only to those who may still read the conversation, whatever order the sessions came in', async () => {
    const tmp = tempDb();
    // Commits at most every 2 s: a send after the first waits in its session meanwhile.
    const server = await startServer(tmp.db, { access: 'open', adminSecret: ADMIN, commitInterval: 2000 });
    const clients: TestClient[] = [];
    try {
      // Alice first, so her session is the first the change meets.
      for (const user of ['alice', 'zed']) clients.push((await openSession(server, user, [{ conv: 'race', after: 0 }])).client);
      const [alice, zed] = clients as [TestClient, TestClient];
      alice.send({ type: 'send', conv: 'race', cmid: newCmid(), text: 'first' });
      await alice.next('sent');
      await zed.next('msg');
      alice.send({ type: 'send', conv: 'race', cmid: newCmid(), text: 'waiting' });
      // Time for the frame to reach the server (a frame of alice's own would store the send at once).
      await new Promise((r) => setTimeout(r, 200));
      const created = await admin(server, 'POST', 'conversations', { id: 'race', kind: 'group', members: ['carol'] });
      assert.equal(created.status, 201);
      assert.equal((await alice.next('sent')).seq, 2, 'it arrived before the change: stored and answered');
      assert.equal((await zed.next('error')).code, 'FORBIDDEN');
      await zed.roundTrip();
      assert.deepEqual(zed.received.flatMap((f) => (f.type === 'msg' ? [f.text] : [])), ['first']);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      tmp.remove();
    }
  });
});

describe('access mode defaults', () => {
  it('is members in production and open in dev mode', async () => {
    const tmp = tempDb();
    try {
      const prod = await startServer(tmp.db, { access: undefined });
      const { client: a, welcome: prodWelcome } = await openSession(prod, 'alice', [{ conv: 'anything', after: 0 }]);
      assert.deepEqual(prodWelcome.denied, ['anything']);
      await a.close();
      await prod.close();
      const dev = await startServer(tmp.db, { access: undefined, dev: true });
      const { client: b, welcome: devWelcome } = await openSession(dev, 'alice', [{ conv: 'anything', after: 0 }]);
      assert.equal(devWelcome.denied, undefined);
      await b.close();
      await dev.close();
    } finally {
      tmp.remove();
    }
  });

  it('refuses an unknown access mode at start', async () => {
    const tmp = tempDb();
    await assert.rejects(startServer(tmp.db, { access: 'everyone' as 'open' }), /access must be/);
    tmp.remove();
  });
});

describe('membership storage', () => {
  it('upgrades a database of the first schema: its conversations keep their messages and stay open in open mode', async () => {
    const tmp = tempDb();
    try {
      // The first schema exactly as it shipped, with one stored message.
      const old = new Database(tmp.db);
      old.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE conversations (id TEXT PRIMARY KEY, head INTEGER NOT NULL);
        CREATE TABLE messages (conv TEXT NOT NULL, seq INTEGER NOT NULL, sender TEXT NOT NULL, name TEXT NOT NULL,
          cmid TEXT NOT NULL, text TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (conv, seq), UNIQUE (sender, cmid)) WITHOUT ROWID;
        INSERT INTO conversations VALUES ('legacy', 1);
        INSERT INTO messages VALUES ('legacy', 1, 'alice', 'alice', 'legacy-cmid-1', 'from before', 1);
        PRAGMA user_version = 1;`);
      old.close();
      const server = await startServer(tmp.db, { access: 'open' });
      const { client, welcome } = await openSession(server, 'bob', [{ conv: 'legacy', after: 0 }]);
      assert.deepEqual(welcome.convs, [{ conv: 'legacy', head: 1 }]);
      client.send({ type: 'send', conv: 'legacy', cmid: newCmid(), text: 'after the upgrade' });
      assert.equal((await client.next('sent')).seq, 2);
      await client.close();
      await server.close();
    } finally {
      tmp.remove();
    }
  });
});

describe('imbed-server --access', () => {
  it('refuses an unknown mode with exit code 2, naming the flag', async () => {
    const proc = runCli(['--access', 'everyone', '--dev', '--port', '0']);
    assert.equal((await proc.exited).code, 2);
    assert.match(proc.stderr, /--access must be members or open/);
  });

  it('opens conversations nobody created with --access open, outside dev mode', async () => {
    const tmp = tempDb();
    const proc = runCli(['--access', 'open', '--port', '0', '--db', tmp.db], { IMBED_SECRET: SECRET });
    try {
      const client = new TestClient(`ws://127.0.0.1:${await cliPort(proc)}/ws`);
      await client.opened();
      client.send({ type: 'hello', token: await signTestToken('alice'), convs: [{ conv: 'anything', after: 0 }] });
      const welcome = await client.next('welcome');
      assert.deepEqual([welcome.convs, welcome.denied], [[{ conv: 'anything', head: 0 }], undefined]);
      await client.close();
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
      tmp.remove();
    }
  });
});
