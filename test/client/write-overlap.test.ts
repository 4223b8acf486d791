import { expect } from '@esm-bundle/chai';
import { freshConv, until } from '../browser-support/server.js';
import { Mirror } from '../../src/client/mirror.js';
import { Session } from '../../src/client/session.js';
import { ClientStorage } from '../../src/client/storage.js';
import type { ClientFrame } from '../../src/protocol/index.js';
import { DEAD_URL, freshDb, freshUser, holdWrites, makeClient, online, readOutbox, readStore, releaseAll, sentTexts, stopAll, tapSockets, type SocketTap } from './support.js';

/**
 * Runs `body` with every successful `method` request on an object store named `store` in the database
 * `db` reported to `onSuccess`, then puts IndexedDB back as it was.
 */
async function watchingWrites(method: 'add' | 'put', db: string, store: string, onSuccess: () => void, body: () => Promise<void>): Promise<void> {
  const original = IDBObjectStore.prototype[method];
  IDBObjectStore.prototype[method] = function (this: IDBObjectStore, ...args: Parameters<typeof original>) {
    const request = original.apply(this, args);
    if (this.name === store && this.transaction.db.name === db) request.addEventListener('success', onSuccess);
    return request;
  };
  try {
    await body();
  } finally {
    IDBObjectStore.prototype[method] = original;
  }
}

// The send and receive paths overlap the IndexedDB writes they need instead of waiting for them: the
// outbox write with the frame going out, the cache write with the message showing.
describe('writes overlapped with the network', () => {
  let tap: SocketTap | null = null;
  afterEach(async () => {
    await releaseAll();
    await stopAll();
    tap?.restore();
    tap = null;
  });

  it('sends a new item while its outbox write is still in flight, and still stores it', async () => {
    tap = tapSockets();
    const conv = freshConv();
    const db = freshDb();
    const alice = await makeClient(freshUser('alice'), [conv], { dbName: db });
    await online(alice.client);
    const framesOutWhenStored: number[] = [];
    await watchingWrites('add', db, 'outbox', () => framesOutWhenStored.push(tap!.sent.filter((f) => f.type === 'send').length), async () => {
      await alice.client.send(conv, 'on its way before it is on disk');
    });
    expect(framesOutWhenStored).to.deep.equal([1]);
    await until(() => sentTexts(alice.client, conv).length === 1, 'acknowledged');
    expect(alice.client.pendingCount()).to.equal(0);
  });

  it('sends new items at once while earlier writes hold the queue, and stores them in order once they can', async () => {
    tap = tapSockets();
    const conv = freshConv();
    const db = freshDb();
    const alice = await makeClient(freshUser('alice'), [conv], { dbName: db });
    const bob = await makeClient(freshUser('bob'), [conv]);
    await online(alice.client);
    await online(bob.client);
    const outbox = await holdWrites(db, 'outbox');
    let stored = 0;
    const sends = ['first', 'second', 'third'].map((text) => alice.client.send(conv, text).then(() => (stored += 1)));
    await until(() => sentTexts(bob.client, conv).length === 3, 'bob has all three');
    expect(sentTexts(bob.client, conv)).to.deep.equal(['first', 'second', 'third']);
    expect(stored).to.equal(0);
    await outbox.release();
    await Promise.all(sends);
    await until(() => alice.client.pendingCount() === 0, 'all acknowledged');
    expect(alice.client.items(conv).map((i) => [i.text, i.seq])).to.deep.equal([['first', 1], ['second', 2], ['third', 3]]);
    expect(tap.sent.filter((f) => f.type === 'send').map((f) => f.text)).to.deep.equal(['first', 'second', 'third']);
    expect(await readOutbox(db)).to.deep.equal([]);
  });

  it('does not send a new item at once ahead of a retried one whose move in the outbox is still queued', async () => {
    tap = tapSockets();
    const conv = freshConv();
    const db = freshDb();
    let refused = false;
    // The first answer becomes a refusal for good, as if a filter had rejected it; the server stored it,
    // so the retry is answered as a dup with its seq.
    tap.rewriteIncoming = (f) => {
      if (f.type !== 'sent' || refused) return f;
      refused = true;
      return { type: 'error', code: 'SPAM', message: 'refused once', ref: f.cmid, retryable: false };
    };
    const alice = await makeClient(freshUser('alice'), [conv], { dbName: db });
    await online(alice.client);
    const item = await alice.client.send(conv, 'retried');
    await until(() => alice.client.items(conv)[0]?.status === 'failed', 'refused');
    const outbox = await holdWrites(db, 'outbox');
    const retried = alice.client.retry(item.cmid);
    const later = alice.client.send(conv, 'typed after the retry');
    await new Promise((r) => setTimeout(r, 100));
    expect(tap.sent.filter((f) => f.type === 'send').map((f) => f.text)).to.deep.equal(['retried']);
    await outbox.release();
    await Promise.all([retried, later]);
    await until(() => alice.client.pendingCount() === 0, 'both acknowledged');
    expect(tap.sent.filter((f) => f.type === 'send').map((f) => f.text)).to.deep.equal(['retried', 'retried', 'typed after the retry']);
    expect(alice.client.items(conv).map((i) => [i.text, i.seq])).to.deep.equal([['retried', 1], ['typed after the retry', 2]]);
  });

  it('shows an arriving message before the write that stores it has finished', async () => {
    const conv = freshConv();
    const db = freshDb();
    const alice = await makeClient(freshUser('alice'), [conv]);
    const bob = await makeClient(freshUser('bob'), [conv], { dbName: db });
    await online(alice.client);
    await online(bob.client);
    const shownWhenStored: boolean[] = [];
    await watchingWrites('put', db, 'messages', () => shownWhenStored.push(sentTexts(bob.client, conv).includes('seen at once')), async () => {
      await alice.client.send(conv, 'seen at once');
      await until(() => shownWhenStored.length === 1, 'bob stored the message');
    });
    expect(shownWhenStored).to.deep.equal([true]);
  });

  it('shows each arriving message while the writes of the ones before it still wait, and stores them all', async () => {
    const conv = freshConv();
    const db = freshDb();
    const bobUser = freshUser('bob');
    const alice = await makeClient(freshUser('alice'), [conv]);
    const bob = await makeClient(bobUser, [conv], { dbName: db });
    await online(alice.client);
    await online(bob.client);
    const messages = await holdWrites(db, 'messages');
    for (const text of ['one', 'two', 'three']) await alice.client.send(conv, text);
    await until(() => sentTexts(bob.client, conv).length === 3, 'bob shows all three');
    // stop() waits for the writes: the database closes with the three stored.
    let stopped = false;
    const stopping = bob.client.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).to.equal(false);
    await messages.release();
    await stopping;
    expect((await readStore(db, 'messages')).map((m) => [m.seq, m.text])).to.deep.equal([[1, 'one'], [2, 'two'], [3, 'three']]);
    expect((await readStore(db, 'cursors')).map((c) => [c.conv, c.after])).to.deep.equal([[conv, 3]]);
    await stopAll();
    const reopened = await makeClient(bobUser, [conv], { dbName: db, url: DEAD_URL });
    await reopened.client.ready;
    expect(sentTexts(reopened.client, conv)).to.deep.equal(['one', 'two', 'three']);
  });

  it('keeps an item written while a live message\'s write failed in the memory that replaces IndexedDB', async () => {
    const conv = freshConv();
    const db = freshDb();
    const alice = await makeClient(freshUser('alice'), [conv]);
    await online(alice.client);
    // Only bob's sockets are tapped: every answer to his sends is a refusal for good.
    tap = tapSockets();
    tap.rewriteIncoming = (f) => (f.type === 'sent' ? { type: 'error', code: 'SPAM', message: 'refused', ref: f.cmid, retryable: false } : f);
    const bob = await makeClient(freshUser('bob'), [conv], { dbName: db });
    await online(bob.client);
    const messages = await holdWrites(db, 'messages');
    const { put } = IDBObjectStore.prototype;
    try {
      // The live message's write waits behind the hold, then fails once it runs.
      IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
        const request = put.apply(this, args);
        if (this.name === 'messages' && this.transaction.db.name === db) request.addEventListener('success', () => this.transaction.abort());
        return request;
      };
      await alice.client.send(conv, 'arrives first');
      await until(() => sentTexts(bob.client, conv).includes('arrives first'), 'bob shows the message');
      // Bob's outbox write waits behind the message's, and commits to IndexedDB after the move to memory.
      const sending = bob.client.send(conv, 'written during the move');
      await until(() => tap!.received.some((f) => f.type === 'sent'), "the server's answer");
      await messages.release();
      await sending;
      await until(() => bob.client.storageKind === 'memory', 'the move to memory');
      await until(() => bob.client.items(conv).some((i) => i.text === 'written during the move' && i.status === 'failed'), 'the refusal shown');
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(tap.sent.filter((f) => f.type === 'send').map((f) => f.text)).to.deep.equal(['written during the move']);
    expect(bob.client.items(conv).map((i) => [i.text, i.status])).to.deep.equal([['arrives first', 'sent'], ['written during the move', 'failed']]);
  });

  it('does not let a new item overtake one a tab following other conversations stored first on the same database', async () => {
    tap = tapSockets();
    const [c1, c2] = [freshConv(), freshConv()];
    const db = freshDb();
    const user = freshUser('alice');
    const here = await makeClient(user, [c1], { dbName: db });
    await online(here.client);
    // Another tab of this user on this database, in a tab group of its own (other conversations), whose
    // server cannot be reached: what it stores stays in the shared outbox for the other tab to send.
    const away = await makeClient(user, [c1, c2], { dbName: db, url: 'ws://127.0.0.1:9/unreachable' });
    await until(() => away.client.state === 'connecting' || away.client.state === 'offline', 'the other tab to try its server');
    await away.client.send(c1, 'typed first, in the other tab');
    await here.client.send(c1, 'typed second, here');
    await until(() => sentTexts(here.client, c1).length === 2, 'both acknowledged');
    expect(sentTexts(here.client, c1)).to.deep.equal(['typed first, in the other tab', 'typed second, here']);
    const sends = tap.sent.filter((f) => f.type === 'send').map((f) => String(f.text));
    expect(sends).to.deep.equal(['typed first, in the other tab', 'typed second, here']);
  });
});

describe('a read-back of the outbox while acks are being written', () => {
  it('keeps an acknowledged item out of the outbox when the store still had it as pending', () => {
    const mirror = new Mirror(() => ({ user: 'alice', name: 'Alice' }));
    mirror.loadConversation('c', [], { cursor: 0, floor: 1 });
    const pending = { id: 1, conv: 'c', cmid: 'acked', text: 'hello', createdAt: 0, status: 'pending' as const };
    const other = { id: 2, conv: 'c', cmid: 'not-yet', text: 'next', createdAt: 0, status: 'pending' as const };
    mirror.loadOutbox([pending, other]);
    // The ack's write has begun: the copy holds the message, the store still the item.
    mirror.acceptMessages('c', [{ conv: 'c', seq: 1, cmid: 'acked', from: 'alice', name: 'Alice', text: 'hello', ts: 1 }]);
    mirror.catchUp([], [pending, other]);
    expect(mirror.outboxItems().map((r) => r.cmid)).to.deep.equal(['not-yet']);
    expect(mirror.items('c').map((i) => [i.cmid, i.status])).to.deep.equal([
      ['acked', 'sent'],
      ['not-yet', 'pending'],
    ]);
  });
});

describe('a storage task that failed on IndexedDB after another moved the client to memory', () => {
  it('runs again in memory rather than fail, since what it sent may be out already', async () => {
    const moves: string[] = [];
    const failures: string[] = [];
    const storage = new ClientStorage(new Mirror(() => ({ user: 'alice', name: 'Alice' })), ['c'], {
      failed: (message) => failures.push(message),
      movedToMemory: (reason) => moves.push(reason),
      outboxChanged: () => {},
      finished: () => false,
    });
    await storage.open(freshDb(), {}, () => {});
    expect(storage.kind).to.equal('indexeddb');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Started on IndexedDB; fails there only once the other task has moved the client.
    const slow = storage.withFallback(async () => {
      const kind = storage.kind;
      await held;
      if (kind === 'indexeddb') throw new Error('QuotaExceededError');
      return kind;
    });
    const quick = storage.withFallback(async () => {
      if (storage.kind === 'indexeddb') throw new Error('QuotaExceededError');
      return storage.kind;
    });
    expect(await quick).to.equal('memory');
    release();
    expect(await slow).to.equal('memory');
    expect(moves.length).to.equal(1);
    expect(failures).to.deep.equal([]);
    storage.close();
  });
});

describe('a new item sent while its outbox write is in flight', () => {
  /** An established session over an outbox of `queued` items, with room for `window` sends in flight. */
  async function session(queued: number, window: number) {
    const mirror = new Mirror(() => ({ user: 'alice', name: 'Alice' }));
    mirror.loadConversation('c', [], { cursor: 0, floor: 1 });
    mirror.loadOutbox(Array.from({ length: queued }, (_, i) => ({ id: i + 1, conv: 'c', cmid: `queued-${i + 1}`, text: `q${i + 1}`, createdAt: 0, status: 'pending' as const })));
    const sent: ClientFrame[] = [];
    const s = new Session({
      conversations: ['c'],
      mirror,
      me: () => ({ user: 'alice', name: 'Alice' }),
      send: (frame) => (sent.push(frame), true),
      accept: async () => {},
      acceptOlder: async () => {},
      forget: async () => {},
      fail: async () => {},
      welcomed: () => {},
      caughtUp: () => {},
      report: () => {},
    });
    await s.handle({
      type: 'welcome', user: 'alice', name: 'Alice', session: 's', convs: [{ conv: 'c', head: 0 }], heartbeat: 15_000,
      limits: { maxText: 4000, maxFrame: 65536, syncLimit: 200, framesPerSecond: window }, ts: 0,
    });
    const cmids = () => sent.flatMap((f) => (f.type === 'send' ? [f.cmid] : []));
    return { s, cmids, mirror };
  }

  it('goes out at once when nothing queued waits before it', async () => {
    const { s, cmids } = await session(2, 10);
    expect(cmids()).to.deep.equal(['queued-1', 'queued-2']);
    s.sendNew({ conv: 'c', cmid: 'new', text: 'n' });
    s.sendNew({ conv: 'c', cmid: 'new', text: 'n' });
    expect(cmids()).to.deep.equal(['queued-1', 'queued-2', 'new']);
  });

  it('waits while an older item has not gone out yet, so it never overtakes it', async () => {
    const { s, cmids, mirror } = await session(1, 10);
    // An item the session has not sent: e.g. one another tab stored, just read back.
    mirror.addOutbox({ id: 2, conv: 'c', cmid: 'read-back', text: 'r', createdAt: 0, status: 'pending' });
    s.sendNew({ conv: 'c', cmid: 'new', text: 'n' });
    expect(cmids()).to.deep.equal(['queued-1']);
    s.drain();
    expect(cmids()).to.deep.equal(['queued-1', 'read-back']);
  });

  it('waits for a place in the window', async () => {
    const { s, cmids } = await session(1, 1);
    s.sendNew({ conv: 'c', cmid: 'new', text: 'n' });
    expect(cmids()).to.deep.equal(['queued-1']);
  });
});
