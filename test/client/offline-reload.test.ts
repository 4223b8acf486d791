import { expect } from '@esm-bundle/chai';
import { freshConv, startServer, stopServer, until } from '../browser-support/server.js';
import { freshDb, freshUser, makeClient, online, sentTexts, stopAll } from './support.js';

describe('an outbox written while the server is down', () => {
  afterEach(async () => {
    await startServer();
    await stopAll();
  });

  it('survives a reload and is delivered exactly once, in order, when the server returns', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const before = await makeClient(user, [conv], { dbName });
    await online(before.client);
    await before.client.send(conv, 'before');
    await until(() => before.client.pendingCount() === 0, 'first message acknowledged');

    await stopServer(1012);
    await until(() => before.client.state === 'offline' || before.client.state === 'connecting', 'client noticed the server is gone');
    for (const text of ['one', 'two', 'three']) await before.client.send(conv, text);
    expect(before.client.pendingCount(conv)).to.equal(3);
    await before.client.stop(); // the "reload": the page goes away with its outbox in IndexedDB

    const after = await makeClient(user, [conv], { dbName });
    await after.client.ready;
    // Rendered from the cache at once, offline.
    expect(after.client.items(conv).map((i) => [i.text, i.status])).to.deep.equal([
      ['before', 'sent'], ['one', 'pending'], ['two', 'pending'], ['three', 'pending'],
    ]);

    await startServer();
    await until(() => after.client.pendingCount() === 0, 'outbox delivered after the server returned', 20_000);

    const reader = await makeClient(freshUser('carol'), [conv]);
    await until(() => sentTexts(reader.client, conv).length === 4, 'reader caught up');
    expect(sentTexts(reader.client, conv)).to.deep.equal(['before', 'one', 'two', 'three']);
    expect(reader.client.items(conv).map((i) => i.seq)).to.deep.equal([1, 2, 3, 4]);
    expect(sentTexts(after.client, conv)).to.deep.equal(['before', 'one', 'two', 'three']);
  });
});
