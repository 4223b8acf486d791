import { expect } from '@esm-bundle/chai';
import { dropConnections, freshConv, until } from '../browser-support/server.js';
import { DEAD_URL, freshDb, freshUser, makeClient, online, readOutbox, sentTexts, stopAll, tapSockets, type SocketTap } from './support.js';

describe('acknowledgements lost or doubled', () => {
  let tap: SocketTap | null = null;
  afterEach(async () => {
    tap?.restore();
    tap = null;
    await stopAll();
  });

  it('delivers once when two clients on one database both send the same outbox item', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const writer = await makeClient(user, [conv], { url: DEAD_URL, dbName });
    const { cmid } = await writer.client.send(conv, 'twice sent, once stored');
    await writer.client.stop();

    // The first tab sends the item but its frame is held back on the way out...
    tap = tapSockets();
    tap.holdOutgoing = (f) => f.type === 'send';
    // Two sockets on one database: tabs without Web Locks, where each runs its own connection.
    const slow = await makeClient(user, [conv], { dbName, multiTab: false });
    await online(slow.client);
    await until(() => tap!.sent.some((f) => f.type === 'send' && f.cmid === cmid), 'first tab sent the item');
    tap.restore();
    // ...so the second tab on the same database delivers it first.
    const fast = await makeClient(user, [conv], { dbName, multiTab: false });
    await until(() => fast.client.pendingCount() === 0 && sentTexts(fast.client, conv).length === 1, 'second tab delivered it');
    tap.release();
    await until(() => tap!.received.some((f) => f.type === 'sent' && f.cmid === cmid), 'first tab acknowledged');

    const ack = tap.received.find((f) => f.type === 'sent' && f.cmid === cmid)!;
    expect(ack.dup).to.equal(true);
    expect(ack.seq).to.equal(1);
    await until(() => slow.client.pendingCount() === 0, 'first tab outbox empty');
    expect(slow.client.items(conv).map((i) => [i.cmid, i.seq, i.status])).to.deep.equal([[cmid, 1, 'sent']]);
    expect(await readOutbox(dbName)).to.deep.equal([]);

    const reader = await makeClient(freshUser('carol'), [conv]);
    await online(reader.client);
    expect(reader.client.items(conv).map((i) => [i.cmid, i.text])).to.deep.equal([[cmid, 'twice sent, once stored']]);
  });

  it('does not send again an item the server stored whose ack was lost', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    tap = tapSockets();
    // The connection dies after the server commits but before the client hears of it.
    tap.dropIncoming = (f) => (f.type === 'sent' || f.type === 'msg') && f.conv === conv;
    const alice = await makeClient(freshUser('alice'), [conv], { dbName });
    await online(alice.client);
    tap.restore();
    const item = await alice.client.send(conv, 'committed, ack lost');
    const reader = await makeClient(freshUser('carol'), [conv]);
    await until(() => sentTexts(reader.client, conv).length === 1, 'server stored the message');
    expect(alice.client.pendingCount()).to.equal(1);

    tap.dropIncoming = () => false;
    await dropConnections(1012);
    await until(() => alice.client.pendingCount() === 0, 'alice learned of it by catching up');
    expect(alice.client.items(conv).map((i) => [i.cmid, i.seq, i.status])).to.deep.equal([[item.cmid, 1, 'sent']]);
    expect(tap.sent.filter((f) => f.type === 'send')).to.have.length(1);
    await online(reader.client);
    await reader.client.send(conv, 'next');
    await until(() => sentTexts(alice.client, conv).length === 2, 'alice got the next one');
    // The reader's own ack may come after the broadcast reached alice.
    await until(() => sentTexts(reader.client, conv).length === 2, 'the reader got its ack');
    expect(sentTexts(reader.client, conv)).to.deep.equal(['committed, ack lost', 'next']);
  });
});
