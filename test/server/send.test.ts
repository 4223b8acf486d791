import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { ImbedServer } from '../../src/server/index.ts';
import { Store } from '../../src/server/store.ts';
import { newCmid, openSession, startServer, tempDb, type TestClient } from './helpers.ts';

describe('send', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  const clients: TestClient[] = [];

  async function session(user: string, convs: { conv: string; after: number }[] = [], name?: string) {
    const s = await openSession(server, user, convs, name === undefined ? {} : { name });
    clients.push(s.client);
    return s.client;
  }

  before(async () => {
    server = await startServer(tmp.db);
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('acks a new message with seq 1 in an empty conversation', async () => {
    const alice = await session('alice');
    const cmid = newCmid();
    alice.send({ type: 'send', conv: 'send-first', cmid, text: 'hello' });
    const sent = await alice.next('sent');
    assert.equal(sent.conv, 'send-first');
    assert.equal(sent.cmid, cmid);
    assert.equal(sent.seq, 1);
    assert.equal(sent.dup, undefined);
    assert.ok(Number.isFinite(sent.ts));
  });

  it('answers a resent cmid with dup and the original seq and ts, storing it once', async () => {
    const alice = await session('alice');
    const cmid = newCmid();
    alice.send({ type: 'send', conv: 'send-dup', cmid, text: 'once' });
    const first = await alice.next('sent');
    alice.send({ type: 'send', conv: 'send-dup', cmid: newCmid(), text: 'other' });
    await alice.next('sent');
    alice.send({ type: 'send', conv: 'send-dup', cmid, text: 'once' });
    const again = await alice.next('sent');
    assert.deepEqual(again, { ...first, dup: true });
    alice.send({ type: 'sync', conv: 'send-dup', after: 0 });
    const history = await alice.next('history');
    assert.deepEqual(history.msgs.map((m) => [m.seq, m.text]), [[1, 'once'], [2, 'other']]);
    assert.equal(history.head, 2);
  });

  it('answers the same cmid sent twice before it was stored with a dup, and the stored text when the second said another', async () => {
    const alice = await session('alice');
    const cmid = newCmid();
    alice.send({ type: 'send', conv: 'send-dup-batch', cmid, text: 'first' });
    alice.send({ type: 'send', conv: 'send-dup-batch', cmid, text: 'second' });
    const first = await alice.next('sent');
    const again = await alice.next('sent');
    assert.deepEqual(again, { ...first, dup: true });
    // The sender's copy of the second says "second": the stored message says otherwise.
    const msg = await alice.next('msg');
    assert.deepEqual([msg.cmid, msg.seq, msg.text], [cmid, first.seq, 'first']);
  });

  it('treats the same cmid from two users as two messages', async () => {
    const alice = await session('alice');
    const bob = await session('bob');
    const cmid = newCmid();
    alice.send({ type: 'send', conv: 'send-two-users', cmid, text: 'a' });
    assert.equal((await alice.next('sent')).seq, 1);
    bob.send({ type: 'send', conv: 'send-two-users', cmid, text: 'b' });
    const sent = await bob.next('sent');
    assert.equal(sent.seq, 2);
    assert.equal(sent.dup, undefined);
  });

  it('pushes msg to every other subscribed connection, including the sender\'s other one, not to the sender', async () => {
    const conv = 'send-fanout';
    const alice = await session('alice', [{ conv, after: 0 }], 'Alice A.');
    const aliceTab2 = await session('alice', [{ conv, after: 0 }]);
    const bob = await session('bob', [{ conv, after: 0 }]);
    const carol = await session('carol', [{ conv: 'elsewhere', after: 0 }]);
    const cmid = newCmid();
    alice.send({ type: 'send', conv, cmid, text: 'fan out' });
    const sent = await alice.next('sent');
    const expected = { type: 'msg', conv, seq: sent.seq, cmid, from: 'alice', name: 'Alice A.', text: 'fan out', ts: sent.ts };
    assert.deepEqual(await bob.next('msg'), expected);
    assert.deepEqual(await aliceTab2.next('msg'), expected);
    await alice.roundTrip();
    await carol.roundTrip();
    assert.equal(alice.inbox.filter((f) => f.type === 'msg').length, 0);
    assert.equal(carol.inbox.filter((f) => f.type === 'msg').length, 0);
  });

  it('does not push a dup again', async () => {
    const conv = 'send-dup-no-push';
    const alice = await session('alice');
    const bob = await session('bob', [{ conv, after: 0 }]);
    const cmid = newCmid();
    alice.send({ type: 'send', conv, cmid, text: 'x' });
    await alice.next('sent');
    await bob.next('msg');
    alice.send({ type: 'send', conv, cmid, text: 'x' });
    assert.equal((await alice.next('sent')).dup, true);
    await bob.roundTrip();
    assert.equal(bob.inbox.filter((f) => f.type === 'msg').length, 0);
  });

  it('subscribes the sender to the conversation it writes to', async () => {
    const conv = 'send-subscribes';
    const alice = await session('alice');
    const bob = await session('bob');
    alice.send({ type: 'send', conv, cmid: newCmid(), text: 'first' });
    await alice.next('sent');
    bob.send({ type: 'send', conv, cmid: newCmid(), text: 'reply' });
    await bob.next('sent');
    const msg = await alice.next('msg');
    assert.equal(msg.text, 'reply');
    assert.equal(msg.seq, 2);
  });

  it('takes the sender id and name from the token, not from the frame', async () => {
    const conv = 'send-identity';
    const alice = await session('alice', [], 'Alice');
    const bob = await session('bob', [{ conv, after: 0 }]);
    alice.send({ type: 'send', conv, cmid: newCmid(), text: 'me', from: 'mallory', name: 'Mallory' });
    const msg = await bob.next('msg');
    assert.equal(msg.from, 'alice');
    assert.equal(msg.name, 'Alice');
  });

  it('numbers messages 1..500 without gaps under 10 interleaved senders, keeping each sender\'s order', async () => {
    const conv = 'send-concurrent';
    const senders = await Promise.all(Array.from({ length: 10 }, (_, i) => session(`user${i}`)));
    const cmids = senders.map((_, i) => Array.from({ length: 50 }, (_, j) => newCmid(`u${i}m${j}`)));
    for (let j = 0; j < 50; j++) {
      senders.forEach((client, i) => client.send({ type: 'send', conv, cmid: cmids[i]![j], text: `${i}:${j}` }));
    }
    const acks = await Promise.all(senders.map((client) => client.take('sent', 50)));
    const seqs = acks.flat().map((a) => a.seq).sort((a, b) => a - b);
    assert.deepEqual(seqs, Array.from({ length: 500 }, (_, k) => k + 1));
    acks.forEach((list, i) => {
      assert.deepEqual(list.map((a) => a.cmid), cmids[i]);
      for (let j = 1; j < list.length; j++) assert.ok(list[j]!.seq > list[j - 1]!.seq, `sender ${i} out of order at ${j}`);
    });
  });

  it('answers pipelined sends, a refused one, a ping and a sync in arrival order, each send once', async () => {
    const conv = 'send-pipelined';
    const alice = await session('alice');
    const [a, b, refused, d] = [newCmid(), newCmid(), newCmid(), newCmid()];
    // Sent back to back, as a draining outbox does: the server stores the sends of one read together.
    alice.send({ type: 'send', conv, cmid: a, text: 'a' });
    alice.send({ type: 'send', conv, cmid: b, text: 'b' });
    alice.send({ type: 'send', conv, cmid: refused, text: 'x'.repeat(4001) });
    alice.send({ type: 'ping', ref: 'p' });
    alice.send({ type: 'send', conv, cmid: d, text: 'd' });
    alice.send({ type: 'send', conv, cmid: d, text: 'd' });
    alice.send({ type: 'sync', conv, after: 0, ref: 's' });
    const history = await alice.next('history');
    const answers = alice.received.slice(alice.received.findIndex((f) => f.type === 'welcome') + 1).map((f) => {
      switch (f.type) {
        case 'sent':
          return ['sent', f.cmid, f.seq, f.dup ?? false];
        case 'error':
          return ['error', f.ref, f.code];
        case 'pong':
          return ['pong', f.ref];
        default:
          return [f.type];
      }
    });
    assert.deepEqual(answers, [
      ['sent', a, 1, false],
      ['sent', b, 2, false],
      ['error', refused, 'TEXT_TOO_LONG'],
      ['pong', 'p'],
      ['sent', d, 3, false],
      ['sent', d, 3, true],
      ['history'],
    ]);
    assert.deepEqual(history.msgs.map((m) => [m.seq, m.text]), [[1, 'a'], [2, 'b'], [3, 'd']]);
  });

  it('answers INTERNAL, stores nothing, and closes with 1011 so no later send overtakes the failed one', async () => {
    const conv = 'send-storage-fails';
    const alice = await session('alice');
    alice.send({ type: 'send', conv, cmid: newCmid(), text: 'ok' });
    await alice.next('sent');
    // A trigger in the same file makes the insert fail inside the server's transaction.
    const side = new Database(tmp.db);
    side.exec(`CREATE TRIGGER fail_boom BEFORE INSERT ON messages WHEN NEW.text = 'boom'
               BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    const boom = newCmid();
    try {
      // 'behind' is pipelined right after the failing send, as a draining outbox would.
      alice.send({ type: 'send', conv, cmid: boom, text: 'boom' });
      alice.send({ type: 'send', conv, cmid: newCmid(), text: 'behind' });
      const error = await alice.next('error');
      assert.equal(error.code, 'INTERNAL');
      assert.equal(error.ref, boom);
      assert.equal(error.retryable, true);
      assert.equal((await alice.closed).code, 1011);
    } finally {
      side.exec('DROP TRIGGER fail_boom');
      side.close();
    }
    const again = await session('alice');
    again.send({ type: 'sync', conv, after: 0 });
    const history = await again.next('history');
    assert.deepEqual(history.msgs.map((m) => m.text), ['ok'], 'neither the failed send nor the one behind it is stored');
    again.send({ type: 'send', conv, cmid: boom, text: 'boom' });
    assert.equal((await again.next('sent')).seq, 2, 'the resent message takes the next seq, in order');
  });

  it('closes with 1011 also when a send fails before it is stored, so no later send overtakes it', async () => {
    const conv = 'send-check-fails';
    const alice = await session('alice');
    const boom = newCmid();
    // A read that fails for this one send (a transient storage error while checking for a resend).
    const findSent = Object.getOwnPropertyDescriptor(Store.prototype, 'findSent')!;
    Object.defineProperty(Store.prototype, 'findSent', {
      configurable: true,
      value(this: Store, from: string, cmid: string) {
        if (cmid === boom) throw new Error('injected read failure');
        return (findSent.value as Store['findSent']).call(this, from, cmid);
      },
    });
    try {
      alice.send({ type: 'send', conv, cmid: boom, text: 'first' });
      alice.send({ type: 'send', conv, cmid: newCmid(), text: 'behind' });
      const error = await alice.next('error');
      assert.equal(error.code, 'INTERNAL');
      assert.equal(error.ref, boom);
      assert.equal((await alice.closed).code, 1011);
    } finally {
      Object.defineProperty(Store.prototype, 'findSent', findSent);
    }
    const again = await session('alice');
    again.send({ type: 'sync', conv, after: 0 });
    assert.deepEqual((await again.next('history')).msgs.map((m) => m.text), [], 'the send behind it is not stored first');
  });
});
