import { expect } from '@esm-bundle/chai';
import { freshConv, seedMessages, until } from '../browser-support/server.js';
import { freshDb, freshUser, makeClient, online, sentTexts, stopAll, tapSockets } from './support.js';

/** Makes `indexedDB.open` throw, as private modes and some WebViews do, until the returned function is called. */
function breakIndexedDb(): () => void {
  const own = Object.getOwnPropertyDescriptor(window, 'indexedDB');
  Object.defineProperty(window, 'indexedDB', {
    configurable: true,
    get: () => ({
      open() {
        throw new DOMException('The user denied permission to access the database.', 'SecurityError');
      },
    }),
  });
  return () => {
    if (own) Object.defineProperty(window, 'indexedDB', own);
    else delete (window as { indexedDB?: IDBFactory }).indexedDB;
  };
}

describe('storage fallback', () => {
  afterEach(stopAll);

  it('moves to memory when IndexedDB fails while an ack is being stored, and shows the message as sent', async () => {
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv]);
    await online(alice.client);
    const { put } = IDBObjectStore.prototype;
    let item;
    try {
      // The outbox write goes through (an `add` to the outbox); storing the acknowledged message fails.
      IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
        if (this.name === 'messages') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        return put.apply(this, args);
      };
      item = await alice.client.send(conv, 'acked while the disk is full');
      await until(() => alice.client.items(conv).some((i) => i.cmid === item!.cmid && i.status === 'sent'), 'the message shown as sent');
      await until(() => alice.client.storageKind === 'memory', 'moved to memory');
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    expect(alice.client.storageKind).to.equal('memory');
    expect(alice.events.storage.map((s) => s.kind)).to.deep.equal(['indexeddb', 'memory']);
    expect(alice.client.pendingCount()).to.equal(0);
  });

  it('moves to memory without an unhandled rejection when an outbox write aborts half-way', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const tap = tapSockets();
    // A refusal for good: the item is marked failed in the outbox, which is where IndexedDB gives way.
    tap.rewriteIncoming = (f) => (f.type === 'sent' ? { type: 'error', code: 'SPAM', message: 'refused', ref: f.cmid, retryable: false } : f);
    const unhandled: unknown[] = [];
    const note = (e: PromiseRejectionEvent) => unhandled.push(e.reason);
    window.addEventListener('unhandledrejection', note);
    const { get } = IDBIndex.prototype;
    try {
      const alice = await makeClient(freshUser('alice'), [conv], { dbName });
      await online(alice.client);
      // The lookup of the item succeeds, then the transaction aborts before the write that follows it.
      IDBIndex.prototype.get = function (this: IDBIndex, ...args: Parameters<typeof get>) {
        const request = get.apply(this, args);
        const tx = this.objectStore.transaction;
        if (this.objectStore.name === 'outbox' && tx.db.name === dbName && tx.mode === 'readwrite') request.addEventListener('success', () => tx.abort());
        return request;
      };
      await alice.client.send(conv, 'refused');
      await until(() => alice.client.items(conv)[0]?.status === 'failed', 'the refusal shown');
      await until(() => alice.client.storageKind === 'memory', 'the move to memory');
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      IDBIndex.prototype.get = get;
      window.removeEventListener('unhandledrejection', note);
      tap.restore();
    }
    expect(unhandled).to.deep.equal([]);
  });

  it('pages back from the server once IndexedDB failed, although the cache it replaced held older messages', async () => {
    const conv = freshConv();
    await seedMessages(conv, 300);
    const user = freshUser('alice');
    const dbName = freshDb();
    // The first visit holds the newest 200 (101..300); the reload reads only the newest page of them.
    const first = await makeClient(user, [conv], { dbName });
    await online(first.client);
    await first.client.stop();
    const alice = await makeClient(user, [conv], { dbName });
    await online(alice.client);
    const lowest = () => Math.min(...alice.client.items(conv).map((i) => i.seq ?? Infinity));
    const before = lowest();
    expect(before).to.be.greaterThan(101);
    const { put, add } = IDBObjectStore.prototype;
    try {
      const full = () => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      };
      IDBObjectStore.prototype.put = full;
      IDBObjectStore.prototype.add = full;
      await alice.client.send(conv, 'sent while the disk is full');
      await until(() => alice.client.storageKind === 'memory', 'the move to memory');
    } finally {
      IDBObjectStore.prototype.put = put;
      IDBObjectStore.prototype.add = add;
    }
    // The memory copy starts where the page's copy did: what is older comes from the server now.
    for (let page = 0; page < 10 && lowest() > 1; page++) await alice.client.loadOlder(conv);
    expect(lowest()).to.equal(1);
    expect(alice.client.items(conv).filter((i) => i.seq !== null).map((i) => i.seq)).to.deep.equal([...Array(300).keys()].map((i) => i + 1).concat([301]));
  });

  it('uses memory when IndexedDB cannot be opened, says so, and still delivers', async () => {
    const conv = freshConv();
    const restore = breakIndexedDb();
    let alice;
    try {
      alice = await makeClient(freshUser('alice'), [conv]);
      await alice.client.ready;
    } finally {
      restore();
    }
    expect(alice.client.storageKind).to.equal('memory');
    expect(alice.events.storage).to.have.length(1);
    expect(alice.events.storage[0].kind).to.equal('memory');
    expect(alice.events.storage[0].reason).to.contain('IndexedDB');
    const warning = alice.events.errors.find((e) => e.code === 'STORAGE_UNAVAILABLE');
    expect(warning?.fatal).to.equal(false);
    expect(warning?.message).to.contain('will not survive a reload');

    const bob = await makeClient(freshUser('bob'), [conv]);
    await online(alice.client);
    await online(bob.client);
    await alice.client.send(conv, 'from memory');
    await until(() => sentTexts(bob.client, conv).length === 1 && alice.client.pendingCount() === 0, 'delivered');
    expect(sentTexts(bob.client, conv)).to.deep.equal(['from memory']);
    expect(bob.client.storageKind).to.equal('indexeddb');
  });

  it('uses IndexedDB, and says why, when the store the host supplies cannot be opened', async () => {
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv], { openStore: () => Promise.reject(new Error('the bridge did not load')) });
    await online(alice.client);
    expect(alice.client.storageKind).to.equal('indexeddb');
    expect(alice.events.storage).to.have.length(1);
    expect(alice.events.storage[0].reason).to.contain("the app's storage is unavailable (the bridge did not load)");
    await alice.client.send(conv, 'kept in IndexedDB instead');
    await until(() => alice.client.pendingCount() === 0, 'acknowledged');
    expect(alice.events.errors).to.deep.equal([]);
  });

  it('uses memory without a warning when the host asks for it', async () => {
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv], { storage: 'memory' });
    await alice.client.ready;
    expect(alice.client.storageKind).to.equal('memory');
    expect(alice.events.storage.map((s) => s.kind)).to.deep.equal(['memory']);
    await online(alice.client);
    await alice.client.send(conv, 'x');
    await until(() => alice.client.pendingCount() === 0, 'acknowledged');
    expect(alice.events.errors).to.deep.equal([]);
  });
});
