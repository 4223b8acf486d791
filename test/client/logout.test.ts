import { expect } from '@esm-bundle/chai';
import type { ChatStore } from '../../src/client/index.js';
import { MemoryStore } from '../../src/client/memory-store.js';
import { freshConv, tokenFor, until } from '../browser-support/server.js';
import { DEAD_URL, freshUser, holdWrites, makeClient, readOutbox, releaseAll, stopAll } from './support.js';

/** The names of this origin's IndexedDB databases. */
async function databases(): Promise<string[]> {
  return (await indexedDB.databases()).map((d) => d.name ?? '');
}

/** The rejection `promise` ends with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('clearLocalData (logout)', () => {
  afterEach(async () => {
    await releaseAll();
    await stopAll();
  });

  it('never reports success over a database it cannot name, and deletes the one a token names', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    // The database a client of this server names after the user (no `dbName`), holding an unsent message.
    const name = `imbed:${new URL(DEAD_URL).host}:${user}`;
    const first = await makeClient(user, [conv], { url: DEAD_URL, dbName: undefined });
    await first.client.ready;
    await first.client.send(conv, 'typed offline');
    await first.client.stop();
    expect((await readOutbox(name)).map((r) => r.text)).to.deep.equal(['typed offline']);

    // Logged out before its tokenProvider answered: whose database it is, nobody knows yet. The logout
    // does not wait for the provider (this one would count as failed only after a minute, past the
    // test's own timeout).
    const waiting = await makeClient(user, [conv], { url: DEAD_URL, dbName: undefined, token: undefined, tokenProvider: () => new Promise<string>(() => {}), tokenTimeout: 60_000 });
    const error = await rejection(waiting.client.clearLocalData());
    expect(error.message).to.contain('local data not deleted').and.to.contain('IndexedDB (no token named the user)');
    expect(await databases()).to.include(name);
    expect(await databases()).not.to.include(`imbed:${new URL(DEAD_URL).host}:anonymous`);

    // A client that never started, with a token: its database is named by the token, and deleted.
    const unstarted = await makeClient(user, [conv], { url: DEAD_URL, dbName: undefined, token: await tokenFor(user), start: false });
    await unstarted.client.clearLocalData();
    expect(await databases()).not.to.include(name);
  });

  it('stops another tab holding the database when a logout deleted it, showing nothing of the user any more', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    const dbName = `imbed-test-logout-${user}`;
    const other = await makeClient(user, [conv], { url: DEAD_URL, dbName, multiTab: false });
    await other.client.ready;
    await other.client.send(conv, 'typed offline');
    const leaving = await makeClient(user, [conv], { url: DEAD_URL, dbName, multiTab: false });
    await leaving.client.ready;
    await leaving.client.clearLocalData();
    expect(await databases()).not.to.include(dbName);
    expect(other.events.errors.map((e) => [e.code, e.message, e.fatal])).to.deep.equal([['SIGNED_OUT', 'signed out: another tab (or chat) deleted the local database', true]]);
    expect(other.client.state).to.equal('stopped');
    expect(other.client.items(conv)).to.deep.equal([]);
    // It went with its database, and was not moved to memory to be sent later.
    expect(other.events.storage.map((s) => s.kind)).to.deep.equal(['indexeddb']);
  });

  it('keeps nothing of a send whose write was under way when another tab logged out, and says so to its caller', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    const dbName = `imbed-test-logout-write-${user}`;
    const other = await makeClient(user, [conv], { url: DEAD_URL, dbName, multiTab: false });
    await other.client.ready;
    const leaving = await makeClient(user, [conv], { url: DEAD_URL, dbName, multiTab: false });
    await leaving.client.ready;
    // The send's write waits behind a held transaction, until after the other tab's logout has signed this one out.
    const held = await holdWrites(dbName, 'outbox');
    const sending = rejection(other.client.send(conv, 'typed as the other tab logged out'));
    const clearing = leaving.client.clearLocalData();
    await until(() => other.events.errors.some((e) => e.code === 'SIGNED_OUT'), 'the other tab signed out');
    await held.release();
    await clearing;
    expect((await sending).message).to.contain('signed out');
    expect(other.client.items(conv)).to.deep.equal([]);
    expect(await databases()).not.to.include(dbName);
  });

  it('deletes the database once a stop already under way is done, not before its last write', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    const name = `imbed:${new URL(DEAD_URL).host}:${user}`;
    const { client, events } = await makeClient(user, [conv], { url: DEAD_URL, dbName: undefined });
    // Stopped before its storage opened (a page leaving at once), then logged out.
    void client.stop();
    await client.clearLocalData();
    expect(await databases()).not.to.include(name);
    expect(events.errors).to.deep.equal([]);
  });

  it('deletes the database for a logout asked for by a listener of the stop itself', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    const dbName = `imbed-test-logout-${user}`;
    const { client } = await makeClient(user, [conv], { url: DEAD_URL, dbName, multiTab: false });
    await client.ready;
    let cleared: Promise<void> | undefined;
    // A host that signs out whenever the chat stops.
    client.addEventListener('state', (e) => {
      if (e.detail.to === 'stopped') cleared ??= client.clearLocalData();
    });
    await client.stop();
    await cleared;
    expect(await databases()).not.to.include(dbName);
  });

  it("deletes the app's store of a client that never started, opening it by the name the token gives", async () => {
    const user = freshUser('alice');
    const calls: string[] = [];
    const openStore = async (name: string): Promise<ChatStore> =>
      ({
        deleteDatabase: async () => void calls.push(`delete ${name}`),
        close: () => void calls.push(`close ${name}`),
      }) as unknown as ChatStore;
    const { client } = await makeClient(user, [freshConv()], { url: DEAD_URL, dbName: undefined, token: await tokenFor(user), openStore, start: false });
    await client.clearLocalData();
    const name = `imbed:${new URL(DEAD_URL).host}:${user}`;
    expect(calls).to.deep.equal([`delete ${name}`, `close ${name}`]);
  });

  it("rejects rather than report success when the app's store has no way to delete its data", async () => {
    const user = freshUser('alice');
    const { client } = await makeClient(user, [freshConv()], { url: DEAD_URL, openStore: async () => new MemoryStore() });
    await client.ready;
    const error = await rejection(client.clearLocalData());
    expect(error.message).to.equal("local data not deleted: the app's store (it has no deleteDatabase)");
  });
});
