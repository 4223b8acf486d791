import { expect } from '@esm-bundle/chai';
import { freshConv, until } from '../browser-support/server.js';
import { freshUser, makeClient, online, sentTexts, stopAll } from './support.js';

describe('exchanging messages', () => {
  afterEach(stopAll);

  it('delivers each message to the other member exactly once, in order', async () => {
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv]);
    const bob = await makeClient(freshUser('bob'), [conv]);
    await online(alice.client);
    await online(bob.client);

    for (let i = 1; i <= 5; i++) await alice.client.send(conv, `a${i}`);
    for (let i = 1; i <= 5; i++) await bob.client.send(conv, `b${i}`);
    await until(() => alice.client.pendingCount() === 0 && bob.client.pendingCount() === 0, 'both outboxes drained');
    await until(() => sentTexts(alice.client, conv).length === 10 && sentTexts(bob.client, conv).length === 10, 'ten messages on both sides');

    const expected = ['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'b2', 'b3', 'b4', 'b5'];
    expect(sentTexts(alice.client, conv)).to.deep.equal(expected);
    expect(sentTexts(bob.client, conv)).to.deep.equal(expected);
    expect(alice.client.items(conv).map((i) => i.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(bob.events.messages.map((m) => m.text)).to.deep.equal(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(alice.events.messages.map((m) => m.text)).to.deep.equal(['b1', 'b2', 'b3', 'b4', 'b5']);
    expect(alice.client.items(conv).filter((i) => i.mine).map((i) => i.text)).to.deep.equal(['a1', 'a2', 'a3', 'a4', 'a5']);
  });

  it('resolves send with a pending item that turns sent with a seq', async () => {
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv]);
    await online(alice.client);
    const item = await alice.client.send(conv, 'hello');
    expect(item.status).to.equal('pending');
    expect(item.seq).to.equal(null);
    expect(item.mine).to.equal(true);
    await until(() => alice.client.items(conv)[0]?.status === 'sent', 'the item acknowledged');
    const [sent] = alice.client.items(conv);
    expect(sent.cmid).to.equal(item.cmid);
    expect(sent.seq).to.equal(1);
    expect(alice.client.items(conv)).to.have.length(1);
  });

  it('keeps conversations apart, each with its own seqs', async () => {
    const general = freshConv('general');
    const random = freshConv('random');
    const alice = await makeClient(freshUser('alice'), [general, random]);
    const bob = await makeClient(freshUser('bob'), [general, random]);
    await online(alice.client);
    await online(bob.client);
    await alice.client.send(general, 'g1');
    await alice.client.send(random, 'r1');
    await alice.client.send(general, 'g2');
    await until(() => sentTexts(bob.client, general).length === 2 && sentTexts(bob.client, random).length === 1, 'bob has all three');
    expect(sentTexts(bob.client, general)).to.deep.equal(['g1', 'g2']);
    expect(sentTexts(bob.client, random)).to.deep.equal(['r1']);
    expect(bob.client.items(random).map((i) => i.seq)).to.deep.equal([1]);
    expect(bob.events.messages.map((m) => [m.conv, m.seq])).to.deep.equal([[general, 1], [random, 1], [general, 2]]);
  });

  it('refuses empty and over-long text before storing anything', async () => {
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv]);
    await alice.client.ready;
    const empty = await alice.client.send(conv, '   ').then(() => null, (e: { code?: string }) => e);
    expect(empty?.code).to.equal('TEXT_EMPTY');
    const long = await alice.client.send(conv, 'x'.repeat(4001)).then(() => null, (e: { code?: string }) => e);
    expect(long?.code).to.equal('TEXT_TOO_LONG');
    expect(alice.client.items(conv)).to.have.length(0);
  });
});
