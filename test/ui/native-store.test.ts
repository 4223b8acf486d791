import { expect } from '@esm-bundle/chai';
import { MemoryStore } from '../../src/client/memory-store.js';
import { bridge, type BridgeMessage } from '../../src/ui/bridge.js';
import { StorageRequests, type StorageRequest } from '../../src/ui/native-store.js';
import { freshConv, restoreBackup, until } from '../browser-support/server.js';
import { DEAD_URL, freshDb, heldPastBackup, makeClient, online, readOutbox, sentTexts, stopAll } from '../client/support.js';
import { freshUser, mountChat, otherUser, stopOthers, unmountAll } from './fixtures.js';

/** How the fake app answers a storage operation: `ok` applies it, `refuse` answers `ok: false`, `silent` never answers. */
type Answer = 'ok' | 'refuse' | 'silent';

/**
 * The app's side of the store, as a fake Android host: `window.ImbedNative` applies each `storage`
 * message to a `MemoryStore` per database (standing in for SQLite) and answers through the bridge, a
 * turn later, as `evaluateJavascript` would. `answer` decides per operation; `unmarked` answers as an app
 * built before `known` was part of the held range: without it.
 */
function fakeApp(answer: (op: string) => Answer = () => 'ok', unmarked = false) {
  const databases = new Map<string, MemoryStore>();
  const requests: StorageRequest[] = [];
  const others: BridgeMessage[] = [];
  (window as unknown as { ImbedNative: unknown }).ImbedNative = {
    postMessage(json: string) {
      const message = JSON.parse(json) as BridgeMessage;
      if (message.type !== 'storage') return void others.push(message);
      requests.push(message);
      const how = answer(message.op);
      if (how === 'silent') return;
      let store = databases.get(message.db);
      if (!store) databases.set(message.db, (store = new MemoryStore()));
      const apply = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[message.op];
      setTimeout(async () => {
        if (how === 'refuse') return bridge.receive({ v: 1, type: 'storageResult', id: message.id, ok: false, error: 'disk I/O error' });
        const args = message.args.map((arg) => arg ?? undefined);
        const result = message.op === 'deleteDatabase' ? null : await apply!.apply(store, args);
        if (unmarked) delete (result as { known?: boolean } | null)?.known;
        bridge.receive({ v: 1, type: 'storageResult', id: message.id, ok: true, result });
      });
    },
  };
  return { databases, requests, others };
}

/**
 * An app's store that applies operations one at a time in the order asked, as an app answering the
 * bridge's numbered requests does, with `addToOutbox` taking `addMs`; `failAdd` makes the nth add fail.
 */
function slowAppStore(addMs: number, failAdd?: number): MemoryStore {
  const store = new MemoryStore();
  let queue: Promise<unknown> = Promise.resolve();
  let adds = 0;
  for (const op of ['loadConversation', 'loadOlder', 'loadOutbox', 'addToOutbox', 'markFailed', 'requeue', 'removeFromOutbox', 'acceptMessages'] as const) {
    const apply = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[op];
    (store as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => {
      const result = queue.then(async () => {
        if (op === 'addToOutbox') {
          adds += 1;
          await new Promise((resolve) => setTimeout(resolve, addMs));
          if (adds === failAdd) throw new Error('disk I/O error');
        }
        return apply.apply(store, args);
      });
      queue = result.catch(() => {});
      return result;
    };
  }
  (store as { deleteDatabase?: () => Promise<void> }).deleteDatabase = () => {
    const result = queue.then(async () => {
      for (const { cmid } of await MemoryStore.prototype.loadOutbox.call(store)) await MemoryStore.prototype.removeFromOutbox.call(store, cmid);
    });
    queue = result;
    return result;
  };
  return store;
}

/** An outbox of `texts` left in IndexedDB `dbName` by a page that could not reach the app. */
async function leaveOutbox(user: string, conv: string, dbName: string, texts: string[]): Promise<void> {
  const before = await makeClient(user, [conv], { dbName, url: DEAD_URL });
  await before.client.ready;
  for (const text of texts) await before.client.send(conv, text);
  await before.client.stop();
}

/** Declares `storage` as the app's document-start script would, with a short timeout for the tests. */
function declareStorage(timeoutMs = 400): void {
  const meta = document.createElement('meta');
  meta.name = 'imbed-native';
  meta.content = 'storage';
  meta.dataset.storageTimeout = String(timeoutMs);
  document.head.append(meta);
}

describe('the store kept by the app, through the WebView bridge', () => {
  before(() => declareStorage());
  afterEach(async () => {
    unmountAll();
    await stopOthers();
    await stopAll();
    delete (window as { ImbedNative?: unknown }).ImbedNative;
  });

  for (const knows of [true, false]) {
    it(`drops its copy in the app's store when the server's database was restored${knows ? '' : ', or keeps it there and says so with an app that does not know how'}`, async function () {
      this.timeout(60_000);
      const app = fakeApp((op) => (op === 'forgetConversation' && !knows ? 'refuse' : 'ok'));
      const conv = freshConv();
      const alice = freshUser('alice');
      const openStore = async (name: string) => bridge.openStore(name);
      const dbName = freshDb();
      const bob = await makeClient(freshUser('bob'), [conv], { storage: 'memory' });
      const first = await makeClient(alice, [conv], { openStore, dbName });
      await online(bob.client);
      await heldPastBackup(bob.client, conv, [first.client]);
      await first.client.stop();
      await restoreBackup();

      const back = await makeClient(alice, [conv], { openStore, dbName });
      await online(back.client);
      await until(() => app.requests.some((r) => r.op === 'forgetConversation'), 'the copy dropped');
      const forget = app.requests.find((r) => r.op === 'forgetConversation')!;
      expect(forget.args).to.deep.equal([conv]);
      // The app's store stays in use either way: what is typed stays durable.
      expect(back.client.storageKind).to.equal('native');
      const held = async () => (await app.databases.get(forget.db)!.loadConversation(conv)).messages.map((m) => m.text);
      if (knows) {
        await until(() => sentTexts(back.client, conv).length === 3, 'the conversation loaded again');
        expect(sentTexts(back.client, conv)).to.deep.equal(['m1', 'm2', 'm3']);
        expect(await held()).to.deep.equal(['m1', 'm2', 'm3']);
      } else {
        await until(() => back.events.errors.some((e) => e.code === 'STORAGE_FAILED'), 'the error');
        expect(back.events.errors.find((e) => e.code === 'STORAGE_FAILED')!.message).to.include(`kept a stale copy of ${conv}`);
        expect(sentTexts(back.client, conv)).to.deep.equal(['m1', 'm2', 'm3', 'lost 4', 'lost 5']);
        expect(await held()).to.deep.equal(['m1', 'm2', 'm3', 'lost 4', 'lost 5']);
      }
    });
  }

  it('keeps the outbox and the messages in the app, one numbered request per operation, and delivers through it', async () => {
    const app = fakeApp();
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv], { openStore: async (name) => bridge.openStore(name) });
    await online(alice.client);
    expect(alice.client.storageKind).to.equal('native');
    const item = await alice.client.send(conv, 'kept by the app');
    await until(() => alice.client.pendingCount() === 0, 'the ack');

    const ops = app.requests.map((r) => r.op);
    expect(ops.slice(0, 2)).to.deep.equal(['loadConversation', 'loadOutbox']);
    expect(ops).to.include.members(['addToOutbox', 'acceptMessages']);
    const ids = app.requests.map((r) => r.id);
    expect(new Set(ids).size).to.equal(ids.length);
    const [db] = app.databases.keys();
    expect(app.requests.every((r) => r.v === 1 && r.type === 'storage' && r.db === db)).to.equal(true);
    const added = app.requests.find((r) => r.op === 'addToOutbox')!;
    expect(added.args[0]).to.include({ conv, cmid: item.cmid, text: 'kept by the app', status: 'pending' });
    expect(added.args).to.have.length(2);

    const store = app.databases.get(db!)!;
    // The ack shows in the client's copy as its write starts; the app's store answers that write later.
    await until(async () => (await store.loadOutbox()).length === 0, 'the ack stored in the app');
    expect(await store.loadOutbox()).to.deep.equal([]);
    expect((await store.loadConversation(conv)).messages.map((m) => m.text)).to.deep.equal(['kept by the app']);
    expect((await indexedDB.databases()).map((d) => d.name)).to.not.include(db);
    expect(alice.events.errors).to.deep.equal([]);
  });

  for (const unmarked of [false, true]) {
    const what = unmarked
      ? 'takes the first messages of a conversation that was empty as history after a reload, as before, with an app that does not keep the mark'
      : 'keeps in the app the mark of a conversation that was empty, so what arrived in it meanwhile raises message events after a reload';
    it(what, async () => {
      const app = fakeApp(() => 'ok', unmarked);
      const conv = freshConv();
      const user = freshUser('alice');
      const options = { dbName: freshDb(), openStore: async (name: string) => bridge.openStore(name) };
      const before = await makeClient(user, [conv], options);
      await online(before.client);
      await until(() => app.requests.some((r) => r.op === 'acceptMessages'), 'the mark');
      expect(app.requests.find((r) => r.op === 'acceptMessages')!.args).to.deep.equal([conv, [], { more: false }]);
      await before.client.stop();

      const bob = await otherUser(conv);
      await bob.send(conv, 'sent while away');
      await until(() => bob.pendingCount() === 0, "bob's ack");
      const back = await makeClient(user, [conv], options);
      await online(back.client);
      await until(() => sentTexts(back.client, conv).length === 1, 'the message sent while away');
      expect(back.client.storageKind).to.equal('native');
      expect(back.events.messages.map((m) => m.text)).to.deep.equal(unmarked ? [] : ['sent while away']);
      expect([...before.events.errors, ...back.events.errors]).to.deep.equal([]);
    });
  }

  it('moves to memory, says so, and loses nothing when the app answers ok: false', async () => {
    fakeApp((op) => (op === 'addToOutbox' ? 'refuse' : 'ok'));
    const conv = freshConv();
    const bob = await otherUser(conv);
    const alice = await makeClient(freshUser('alice'), [conv], { openStore: async (name) => bridge.openStore(name) });
    await online(alice.client);
    await alice.client.send(conv, 'typed as the disk failed');
    await until(() => sentTexts(bob, conv).length === 1, 'delivery to bob');
    expect(sentTexts(bob, conv)).to.deep.equal(['typed as the disk failed']);
    expect(alice.client.storageKind).to.equal('memory');
    expect(alice.events.storage.map((s) => s.kind)).to.deep.equal(['native', 'memory']);
    expect(alice.events.storage[1]!.reason).to.contain("the app's storage failed").and.contain('disk I/O error');
    expect(alice.events.errors.map((e) => e.code)).to.deep.equal(['STORAGE_UNAVAILABLE']);
  });

  it('stops waiting for an app that does not answer, after the timeout, and moves to memory', async () => {
    fakeApp((op) => (op === 'addToOutbox' ? 'silent' : 'ok'));
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv], { openStore: async (name) => bridge.openStore(name) });
    await online(alice.client);
    const started = performance.now();
    await alice.client.send(conv, 'typed to a silent app');
    expect(performance.now() - started).to.be.at.least(350);
    await until(() => alice.client.pendingCount() === 0, 'the ack');
    expect(sentTexts(alice.client, conv)).to.deep.equal(['typed to a silent app']);
    expect(alice.events.storage[1]!.reason).to.contain('did not answer addToOutbox within 400 ms');
  });

  it('starts in memory, and says so, when the app does not answer the first read', async () => {
    const app = fakeApp((op) => (op === 'loadConversation' ? 'silent' : 'ok'));
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv], { openStore: async (name) => bridge.openStore(name) });
    await alice.client.ready;
    expect(alice.client.storageKind).to.equal('memory');
    expect(alice.events.storage).to.have.length(1);
    expect(alice.events.storage[0]!.reason).to.contain('did not answer loadConversation within 400 ms');
    expect(alice.events.errors.map((e) => e.code)).to.deep.equal(['STORAGE_UNAVAILABLE']);
    await online(alice.client);
    await alice.client.send(conv, 'from memory');
    await until(() => alice.client.pendingCount() === 0, 'the ack');
    expect(app.requests.map((r) => r.op)).to.deep.equal(['loadConversation']);
  });

  it('deletes the app\'s database on logout also when the chat started in memory because the app did not answer', async () => {
    let reads = 0;
    // Only the first read goes unanswered: the app's database holds what an earlier session left there.
    const app = fakeApp((op) => (op === 'loadConversation' && reads++ === 0 ? 'silent' : 'ok'));
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv], { openStore: async (name) => bridge.openStore(name) });
    await alice.client.ready;
    expect(alice.client.storageKind).to.equal('memory');
    const [first] = app.requests;
    await alice.client.clearLocalData();
    expect(app.requests.filter((r) => r.op === 'deleteDatabase').map((r) => r.db)).to.deep.equal([first!.db]);
  });

  it('opens the app\'s store to delete it on logout when it failed to open and IndexedDB stood in', async () => {
    const deleted: string[] = [];
    const opens: string[] = [];
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv], {
      openStore: async (name) => {
        if (opens.push(name) === 1) throw new Error('the app is still starting');
        const store = new MemoryStore();
        return Object.assign(store, { deleteDatabase: async () => void deleted.push(name) });
      },
    });
    await alice.client.ready;
    expect(alice.client.storageKind).to.equal('indexeddb');
    await alice.client.clearLocalData();
    expect(opens).to.have.length(2);
    expect(deleted).to.deep.equal([opens[0]]);
  });

  it('takes a storage timeout longer than a timer can wait as the longest it can', async () => {
    const meta = document.querySelector<HTMLMetaElement>('meta[name=imbed-native]')!;
    meta.dataset.storageTimeout = '3000000000';
    try {
      fakeApp();
      const alice = await makeClient(freshUser('alice'), [freshConv()], { openStore: async (name) => bridge.openStore(name) });
      await alice.client.ready;
      expect(alice.client.storageKind).to.equal('native');
      expect(alice.events.storage).to.deep.equal([{ kind: 'native' }]);
    } finally {
      meta.dataset.storageTimeout = '400';
    }
  });

  it('moves into the app\'s store, and sends, what a page that could not reach the app left in IndexedDB', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    const dbName = freshDb();
    // A page whose bridge did not load: the chat kept its outbox in IndexedDB, offline.
    const before = await makeClient(user, [conv], { dbName, url: DEAD_URL });
    await before.client.ready;
    expect(before.client.storageKind).to.equal('indexeddb');
    await before.client.send(conv, 'typed while the app was out of reach');
    await before.client.stop();

    // The next page reaches the app.
    const app = fakeApp();
    const alice = await makeClient(user, [conv], { dbName, openStore: async (name) => bridge.openStore(name) });
    await alice.client.ready;
    expect(alice.client.storageKind).to.equal('native');
    // Moved within start-up's second, or read again once moved (a machine under load): shown either way.
    await until(() => alice.client.items(conv).length > 0, 'the moved item');
    expect(alice.client.items(conv).map((i) => i.text)).to.deep.equal(['typed while the app was out of reach']);
    await online(alice.client);
    await until(() => alice.client.pendingCount() === 0, 'the ack');
    expect(sentTexts(alice.client, conv)).to.deep.equal(['typed while the app was out of reach']);
    expect(await app.databases.get(dbName)!.loadOutbox()).to.deep.equal([]);
    // Taken out of IndexedDB, record by record: a page still using that database keeps it.
    expect(await readOutbox(dbName)).to.deep.equal([]);
  });

  it('does not hold up start-up for a slow move of an outbox left in IndexedDB, and sends all of it once moved', async function () {
    this.timeout(20_000);
    const conv = freshConv();
    const user = freshUser('alice');
    const dbName = freshDb();
    const before = await makeClient(user, [conv], { dbName, url: DEAD_URL });
    await before.client.ready;
    await before.client.send(conv, 'first left behind');
    await before.client.send(conv, 'second left behind');
    await before.client.stop();

    // An app's store that takes 1.5 s to add a record: past the 1 s start-up waits for the move.
    const slow = new MemoryStore();
    const add = slow.addToOutbox.bind(slow);
    slow.addToOutbox = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return add(...args);
    };
    const alice = await makeClient(user, [conv], { dbName, openStore: async () => slow });
    const started = performance.now();
    await alice.client.ready;
    expect(performance.now() - started).to.be.below(1_400);
    // Read again once the move ended, and sent, in order.
    await until(() => sentTexts(alice.client, conv).length === 2, 'both sent', 15_000);
    expect(sentTexts(alice.client, conv)).to.deep.equal(['first left behind', 'second left behind']);
    expect(await readOutbox(dbName)).to.deep.equal([]);
    await until(async () => (await slow.loadOutbox()).length === 0, 'the app\'s outbox emptied by the acks');
  });

  it('sends a message typed during a slow move after the ones moved, in the order they were typed', async function () {
    this.timeout(20_000);
    const conv = freshConv();
    const user = freshUser('alice');
    const dbName = freshDb();
    const left = ['first left behind', 'second left behind', 'third left behind'];
    await leaveOutbox(user, conv, dbName, left);
    const alice = await makeClient(user, [conv], { dbName, openStore: async () => slowAppStore(1_200) });
    await alice.client.ready; // after 1 s, before the first record is in
    await online(alice.client);
    await alice.client.send(conv, 'typed on this page');
    await until(() => sentTexts(alice.client, conv).length === 4, 'all four sent', 15_000);
    expect(sentTexts(alice.client, conv)).to.deep.equal([...left, 'typed on this page']);
    const reader = await makeClient(freshUser('bob'), [conv]);
    await until(() => sentTexts(reader.client, conv).length === 4, 'the other member has them');
    expect(sentTexts(reader.client, conv)).to.deep.equal([...left, 'typed on this page']);
  });

  it('reads back and sends what a late move added before it failed, and leaves the rest in IndexedDB', async function () {
    this.timeout(20_000);
    const conv = freshConv();
    const user = freshUser('alice');
    const dbName = freshDb();
    await leaveOutbox(user, conv, dbName, ['moved first', 'moved after start-up', 'not moved']);
    // Start-up reads the outbox after the first add (the app answers in order); the second add comes
    // after that read, and the third fails.
    const alice = await makeClient(user, [conv], { dbName, openStore: async () => slowAppStore(1_200, 3) });
    await alice.client.ready;
    await until(() => sentTexts(alice.client, conv).length === 2, 'both moved records sent', 15_000);
    expect(sentTexts(alice.client, conv)).to.deep.equal(['moved first', 'moved after start-up']);
    expect((await readOutbox(dbName)).map((r) => r.text)).to.deep.equal(['not moved']);
  });

  it('adds nothing to the app\'s store after a logout deleted it, when the logout comes during a slow move', async function () {
    this.timeout(20_000);
    const conv = freshConv();
    const user = freshUser('alice');
    const dbName = freshDb();
    await leaveOutbox(user, conv, dbName, ['one', 'two', 'three']);
    const app = slowAppStore(600);
    const alice = await makeClient(user, [conv], { dbName, url: DEAD_URL, openStore: async () => app });
    await alice.client.ready;
    // Typed while the move goes on: it waits for the move, and must not be stored after the logout.
    const typed = alice.client.send(conv, 'typed before the logout').then(
      () => 'stored',
      (error: Error) => error.message,
    );
    await alice.client.clearLocalData();
    expect(await typed).to.equal('ImbedClient stopped before the message was stored');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // longer than the next add would take
    expect(await app.loadOutbox()).to.deep.equal([]);
    expect((await indexedDB.databases()).map((d) => d.name)).to.not.include(dbName);
  });

  it('starts on the app\'s store also when IndexedDB hangs while it looks for an outbox to move', async function () {
    this.timeout(15_000);
    const databases = Object.getOwnPropertyDescriptor(IDBFactory.prototype, 'databases')!;
    Object.defineProperty(IDBFactory.prototype, 'databases', { configurable: true, value: () => new Promise(() => {}) });
    try {
      fakeApp();
      const alice = await makeClient(freshUser('alice'), [freshConv()], { openStore: async (name) => bridge.openStore(name) });
      await alice.client.ready;
      expect(alice.client.storageKind).to.equal('native');
      await alice.client.stop();
    } finally {
      Object.defineProperty(IDBFactory.prototype, 'databases', databases);
    }
  });

  it('uses IndexedDB when the app\'s store does not open in time', async function () {
    this.timeout(15_000);
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv], { openStore: () => new Promise(() => {}) });
    await alice.client.ready;
    expect(alice.client.storageKind).to.equal('indexeddb');
    expect(alice.events.storage.map((e) => e.reason)).to.deep.equal(["the app's storage is unavailable (it did not open within 5000 ms)"]);
    await online(alice.client);
    await alice.client.send(conv, 'kept in IndexedDB');
    await until(() => alice.client.pendingCount() === 0, 'the ack');
  });

  it('numbers the requests of each page from its own random start', () => {
    const sent: number[][] = [[], []];
    // Two pages' worth of requests: an app's queue that outlives a reload sees both.
    for (const page of [0, 1]) {
      const requests = new StorageRequests((request) => void sent[page]!.push(request.id), () => 60_000);
      for (let i = 0; i < 3; i++) void requests.request('db', 'loadOutbox', [0]).catch(() => {});
    }
    const [first, second] = sent as [number[], number[]];
    for (const ids of sent) {
      // What an app reads as a signed 32-bit integer (Kotlin's getInt).
      expect(ids.every((id) => Number.isSafeInteger(id) && id > 0 && id <= 2 ** 31 - 1)).to.equal(true);
      expect(ids).to.deep.equal([ids[0], ids[0]! + 1, ids[0]! + 2]);
    }
    expect(first.some((id) => second.includes(id))).to.equal(false);
  });

  it('answers commands whose v or type cannot be printed with false and an error, never throwing', () => {
    const app = fakeApp();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(bridge.receive({ v: 1n, type: 'open' })).to.equal(false);
    expect(bridge.receive({ v: 1, type: 10n })).to.equal(false);
    expect(bridge.receive({ v: cyclic, type: 'open' })).to.equal(false);
    expect(app.others.map((m) => m.type === 'error' && m.code)).to.deep.equal(['BRIDGE_UNSUPPORTED_VERSION', 'BRIDGE_BAD_COMMAND', 'BRIDGE_UNSUPPORTED_VERSION']);
  });

  it('answers a storageResult nobody waits for, or a malformed one, with false and an error', () => {
    const app = fakeApp();
    expect(bridge.receive({ v: 1, type: 'storageResult', id: 987654, ok: true, result: null })).to.equal(false);
    expect(bridge.receive({ v: 1, type: 'storageResult', id: 'seven', ok: true })).to.equal(false);
    expect(bridge.receive({ v: 1, type: 'storageResult', id: 7, ok: false, error: 42 })).to.equal(false);
    expect(app.others.map((m) => m.type === 'error' && [m.code, m.command])).to.deep.equal([
      ['BRIDGE_BAD_COMMAND', 'storageResult'],
      ['BRIDGE_BAD_COMMAND', 'storageResult'],
      ['BRIDGE_BAD_COMMAND', 'storageResult'],
    ]);
  });

  it('gives <imbed-chat> the app\'s store when the page declares storage, and lists storage in ready', async () => {
    const app = fakeApp();
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    bridge.attach(el);
    await until(() => el.client?.state === 'online', 'online');
    expect(el.client!.storageKind).to.equal('native');
    expect(app.requests.length).to.be.greaterThan(0);
    const ready = app.others.find((m) => m.type === 'ready');
    expect(ready?.type === 'ready' && ready.capabilities).to.include('storage');
  });

  it('deletes the app\'s database on logout', async () => {
    const app = fakeApp();
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await until(() => el.client?.state === 'online', 'online');
    const [db] = app.databases.keys();
    await el.logout();
    expect(app.requests.filter((r) => r.op === 'deleteDatabase').map((r) => r.db)).to.deep.equal([db]);
  });

  it('says so when the app refuses to delete its database on logout: signed out all the same, BRIDGE_LOGOUT_FAILED instead of signedOut', async () => {
    const app = fakeApp((op) => (op === 'deleteDatabase' ? 'refuse' : 'ok'));
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    bridge.attach(el);
    await until(() => el.client?.state === 'online', 'online');
    const client = el.client!;
    expect(bridge.receive({ v: 1, type: 'logout' })).to.equal(true);
    await until(() => app.others.some((m) => m.type === 'error' || m.type === 'signedOut'), 'the logout to be answered');
    const answers = app.others.filter((m) => m.type === 'error' || m.type === 'signedOut');
    expect(answers.map((m) => (m.type === 'error' ? [m.code, m.command, m.fatal] : m.type))).to.deep.equal([['BRIDGE_LOGOUT_FAILED', 'logout', false]]);
    const [answer] = answers;
    expect(answer?.type === 'error' && answer.message).to.include('disk I/O error');
    expect(el.token).to.equal('');
    expect(client.state).to.equal('stopped');
    // The page's own logout() rejects the same way.
    const again = await mountChat({ user: freshUser('bob'), conversation: freshConv() });
    await until(() => again.client?.state === 'online', 'online');
    const failure = await again.logout().then(() => null, (error: Error) => error.message);
    expect(failure).to.match(/^local data not deleted: the app's store \(.*disk I\/O error.*\)$/);
  });
});
