import { expect } from '@esm-bundle/chai';
import { freshConv, until } from '../browser-support/server.js';
import { DEAD_URL, freshDb, freshUser, makeClient, readOutbox, stopAll } from './support.js';

describe('the outbox', () => {
  afterEach(stopAll);

  it('is written to IndexedDB before any attempt to send', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    // Nothing listens at DEAD_URL: no attempt can succeed, so whatever is stored was stored before sending.
    const { client } = await makeClient(freshUser('alice'), [conv], { url: DEAD_URL, dbName });
    const item = await client.send(conv, 'kept');
    const stored = await readOutbox(dbName);
    expect(stored.map((r) => [r.cmid, r.text, r.status])).to.deep.equal([[item.cmid, 'kept', 'pending']]);
    expect(item.cmid).to.match(/^[A-Za-z0-9_-]{22}$/);
  });

  it('refuses send, retry and discard on a client not running, rather than wait for good', async () => {
    const conv = freshConv();
    const { client } = await makeClient(freshUser('alice'), [conv], { url: DEAD_URL, start: false });
    const refusals = await Promise.all([client.send(conv, 'x'), client.retry('cmid-0000'), client.discard('cmid-0000')].map((call) => call.then(() => 'resolved', (e: Error) => e.message)));
    expect(refusals).to.deep.equal(Array(3).fill('ImbedClient is not running: call start() first'));
    // A stopped client does not start again: the advice is another.
    client.start();
    await client.stop();
    client.start();
    expect(await client.send(conv, 'x').then(() => 'resolved', (e: Error) => e.message)).to.equal('ImbedClient is stopped: make a new one');
  });

  it('is visible to a second client on the same database', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const first = await makeClient(user, [conv], { url: DEAD_URL, dbName });
    await first.client.send(conv, 'one');
    await first.client.send(conv, 'two');
    const second = await makeClient(user, [conv], { url: DEAD_URL, dbName });
    await second.client.ready;
    expect(second.client.items(conv).map((i) => [i.text, i.status])).to.deep.equal([['one', 'pending'], ['two', 'pending']]);
    expect(second.client.pendingCount(conv)).to.equal(2);
    expect(second.client.pendingCount()).to.equal(2);
  });

  it('keeps outbox order when sends are issued without awaiting', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const { client } = await makeClient(user, [conv], { dbName });
    const texts = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await Promise.all(texts.map((t) => client.send(conv, t)));
    await until(() => client.pendingCount() === 0, 'outbox drained');
    expect(client.items(conv).map((i) => i.text)).to.deep.equal(texts);
    expect(client.items(conv).map((i) => i.seq)).to.deep.equal(texts.map((_, i) => i + 1));
    expect(await readOutbox(dbName)).to.deep.equal([]);
  });
});
