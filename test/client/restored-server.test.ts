import { expect } from '@esm-bundle/chai';
import { freshConv, restoreBackup, until } from '../browser-support/server.js';
import { DEAD_URL, freshDb, freshUser, heldPastBackup, makeClient, online, readStore, sentTexts, stopAll } from './support.js';

/**
 * The server's database restored from a backup (docs/deploy.md): the messages acknowledged after the
 * backup are gone from it, and new ones take their seqs. A device that held the lost ones must not keep
 * them, nor skip the new ones as messages it already has.
 */
describe('a server whose database was restored from a backup', () => {
  afterEach(() => stopAll());

  it('has each device drop its copy and load the conversation again, with fewer messages now or more', async function () {
    this.timeout(60_000);
    const conv = freshConv();
    const [alice, carol] = [freshUser('alice'), freshUser('carol')];
    const [aliceDb, carolDb] = [freshDb(), freshDb()];
    const bob = await makeClient(freshUser('bob'), [conv], { storage: 'memory' });
    const devices = [await makeClient(alice, [conv], { dbName: aliceDb }), await makeClient(carol, [conv], { dbName: carolDb })];
    await online(bob.client);
    await heldPastBackup(bob.client, conv, devices.map((d) => d.client));
    await Promise.all([bob, ...devices].map((d) => d.client.stop()));

    await restoreBackup();
    // Carol comes back first: the server holds 3 messages, her copy 5.
    const carolBack = await makeClient(carol, [conv], { dbName: carolDb });
    await online(carolBack.client);
    await until(() => sentTexts(carolBack.client, conv).length === 3, "carol's copy dropped and loaded again");
    expect(sentTexts(carolBack.client, conv)).to.deep.equal(['m1', 'm2', 'm3']);

    // Then three new messages take seqs 4 to 6, past alice's cursor (5): her message at 5 is not the server's.
    const bobBack = await makeClient(freshUser('bob'), [conv], { storage: 'memory' });
    await online(bobBack.client);
    for (const text of ['new 4', 'new 5', 'new 6']) await bobBack.client.send(conv, text);
    await until(() => sentTexts(carolBack.client, conv).length === 6, 'the new messages at carol');
    const aliceBack = await makeClient(alice, [conv], { dbName: aliceDb });
    await online(aliceBack.client);
    const now = ['m1', 'm2', 'm3', 'new 4', 'new 5', 'new 6'];
    await until(() => sentTexts(aliceBack.client, conv).join() === now.join(), "alice's copy dropped and loaded again");
    expect(sentTexts(carolBack.client, conv)).to.deep.equal(now);
    expect(carolBack.events.messages.map((m) => m.text)).to.deep.equal(['new 4', 'new 5', 'new 6']);
    // The store holds the server's messages, not the lost ones, after a reload too.
    const stored = (await readStore(aliceDb, 'messages')) as Array<{ conv: string; text: string }>;
    expect(stored.filter((m) => m.conv === conv).map((m) => m.text)).to.deep.equal(now);
    await aliceBack.client.stop();
    // Read from the store by a client that cannot reach the server.
    const reloaded = await makeClient(alice, [conv], { dbName: aliceDb, url: DEAD_URL });
    await reloaded.client.ready;
    expect(sentTexts(reloaded.client, conv)).to.deep.equal(now);
  });

  it('has every tab of a group drop its copy while it runs, the one that follows the connection too', async function () {
    this.timeout(60_000);
    const conv = freshConv();
    const alice = freshUser('alice');
    const dbName = freshDb();
    const bob = await makeClient(freshUser('bob'), [conv], { storage: 'memory' });
    const tabs = [await makeClient(alice, [conv], { dbName }), await makeClient(alice, [conv], { dbName })];
    await online(bob.client);
    await until(() => tabs.every((t) => t.client.state === 'online'), 'both tabs online');
    await heldPastBackup(bob.client, conv, tabs.map((t) => t.client));

    await restoreBackup();
    await until(() => tabs.every((t) => sentTexts(t.client, conv).length === 3), 'both copies dropped and loaded again', 30_000);
    await online(bob.client, 'bob back', 30_000);
    await bob.client.send(conv, 'new 4');
    await until(() => tabs.every((t) => sentTexts(t.client, conv).length === 4), 'the new message in both tabs');
    for (const tab of tabs) {
      expect(sentTexts(tab.client, conv)).to.deep.equal(['m1', 'm2', 'm3', 'new 4']);
      expect(tab.events.messages.map((m) => m.text)).to.deep.equal(['m1', 'm2', 'm3', 'lost 4', 'lost 5', 'new 4']);
    }
  });
});
