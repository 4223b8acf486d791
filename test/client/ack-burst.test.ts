import { expect } from '@esm-bundle/chai';
import { freshConv, until } from '../browser-support/server.js';
import { DEAD_URL, freshDb, freshUser, makeClient, readOutbox, stopAll, type TestClient } from './support.js';

// The test server's maxText is 1000 (test/support/imbed-server-plugin.ts).
const LONG = 'x'.repeat(1500);

/** Counts read-write IndexedDB transactions that write messages, from now until `restore()`. */
function countMessageWrites(): { readonly count: number; restore(): void } {
  const original = IDBDatabase.prototype.transaction;
  const counter = { count: 0, restore: () => void (IDBDatabase.prototype.transaction = original) };
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, names: string | string[], mode?: IDBTransactionMode, options?: IDBTransactionOptions) {
    if (mode === 'readwrite' && [names].flat().includes('messages')) counter.count += 1;
    return original.call(this, names, mode, options);
  } as typeof original;
  return counter;
}

/** Every message record of `conv` in database `dbName`, read directly with the IndexedDB API. */
function readMessages(dbName: string, conv: string): Promise<Array<{ seq: number; cmid: string; text: string }>> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const req = db.transaction('messages').objectStore('messages').getAll(IDBKeyRange.bound([conv, 0], [conv, Infinity]));
      req.onsuccess = () => {
        db.close();
        resolve(req.result);
      };
      req.onerror = () => reject(req.error);
    };
  });
}

/** Queues `texts` in a client that cannot connect, then stops it: the outbox waits in database `dbName`. */
async function queueOffline(user: string, conv: string, dbName: string, texts: string[]): Promise<string[]> {
  const offline = await makeClient(user, [conv], { url: DEAD_URL, dbName });
  const cmids: string[] = [];
  for (const text of texts) cmids.push((await offline.client.send(conv, text)).cmid);
  await offline.client.stop();
  return cmids;
}

describe('a burst of acks', () => {
  let writes: { readonly count: number; restore(): void } | null = null;
  afterEach(async () => {
    writes?.restore();
    writes = null;
    await stopAll();
  });

  it('stores every message once, in order, in fewer transactions than messages', async function () {
    this.timeout(60_000);
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const texts = Array.from({ length: 300 }, (_, i) => `burst ${i}`);
    const cmids = await queueOffline(user, conv, dbName, texts);

    writes = countMessageWrites();
    const { client } = await makeClient(user, [conv], { dbName });
    await client.ready;
    await until(() => client.pendingCount() === 0, 'outbox flushed', 30_000);

    const items = client.items(conv);
    expect(items.map((i) => i.cmid)).to.deep.equal(cmids);
    expect(items.map((i) => i.seq)).to.deep.equal(texts.map((_, i) => i + 1));
    expect(items.every((i) => i.status === 'sent')).to.equal(true);
    expect(await readOutbox(dbName)).to.deep.equal([]);
    const stored = await readMessages(dbName, conv);
    expect(stored.map((m) => m.cmid)).to.deep.equal(cmids);
    expect(stored.map((m) => m.text)).to.deep.equal(texts);
    expect(writes.count).to.be.greaterThan(0);
    // How many acks share a transaction depends on timing (see session.test.ts for the rule itself).
    expect(writes.count).to.be.lessThan(texts.length);
  });

  it('keeps arrival order when a refusal comes in the middle of the acks', async function () {
    this.timeout(60_000);
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const texts = Array.from({ length: 120 }, (_, i) => (i === 60 ? LONG : `around a refusal ${i}`));
    const cmids = await queueOffline(user, conv, dbName, texts);

    const { client, events } = await makeClient(user, [conv], { dbName });
    await client.ready;
    await until(() => client.pendingCount() === 0, 'outbox settled', 30_000);

    const sent = client.items(conv).filter((i) => i.status === 'sent');
    expect(sent.map((i) => i.cmid)).to.deep.equal(cmids.filter((_, i) => i !== 60));
    expect(sent.map((i) => i.seq)).to.deep.equal(sent.map((_, i) => i + 1));
    const failed = client.items(conv).filter((i) => i.status === 'failed');
    expect(failed.map((i) => [i.cmid, i.error?.code])).to.deep.equal([[cmids[60], 'TEXT_TOO_LONG']]);
    expect((await readOutbox(dbName)).map((r) => [r.cmid, r.status])).to.deep.equal([[cmids[60], 'failed']]);
    expect(events.errors.map((e) => e.code)).to.deep.equal(['TEXT_TOO_LONG']);
  });

  it('loses and doubles nothing when the client stops in the middle of storing them', async function () {
    this.timeout(60_000);
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const texts = Array.from({ length: 300 }, (_, i) => `stopped mid-burst ${i}`);
    const cmids = await queueOffline(user, conv, dbName, texts);

    const first: TestClient = await makeClient(user, [conv], { dbName });
    await first.client.ready;
    expect(first.client.pendingCount()).to.equal(texts.length);
    await until(() => first.client.pendingCount() < texts.length - 20, 'some acks stored', 30_000);
    await first.client.stop();

    // Whatever was acknowledged before stop() resolved is stored; the rest is still in the outbox, and
    // no message is in both.
    const stored = (await readMessages(dbName, conv)).map((m) => m.cmid);
    const waiting = (await readOutbox(dbName)).map((r) => r.cmid);
    expect([...stored, ...waiting]).to.deep.equal(cmids);

    const second = await makeClient(user, [conv], { dbName });
    await second.client.ready;
    await until(() => second.client.pendingCount() === 0, 'the rest flushed', 30_000);
    // A reloaded client holds the newest page; the older ones come as the reader scrolls up.
    while (await second.client.loadOlder(conv));
    expect(second.client.items(conv).map((i) => [i.cmid, i.seq, i.status])).to.deep.equal(cmids.map((c, i) => [c, i + 1, 'sent']));
    expect(await readOutbox(dbName)).to.deep.equal([]);
  });
});
