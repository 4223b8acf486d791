import { expect } from '@esm-bundle/chai';
import { freshConv, startServer, stopServer, until } from '../browser-support/server.js';
import { freshUser, makeClient, online, sentTexts, stopAll } from './support.js';

describe('a server restart', () => {
  afterEach(async () => {
    await startServer();
    await stopAll();
  });

  it('reconnects and catches up messages sent meanwhile by another client', async () => {
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv]);
    const bob = await makeClient(freshUser('bob'), [conv]);
    await online(alice.client);
    await online(bob.client);
    await bob.client.send(conv, 'b1');
    await until(() => sentTexts(alice.client, conv).length === 1, 'alice has b1');

    await stopServer(1012);
    await until(() => alice.client.state !== 'online' && bob.client.state !== 'online', 'both noticed the restart');
    const restartClose = alice.events.states.find((s) => s.code === 1012);
    expect(restartClose?.from).to.equal('online');
    expect(restartClose?.to).to.equal('offline');
    for (const text of ['b2', 'b3', 'b4']) await bob.client.send(conv, text);
    await alice.client.send(conv, 'a1');

    await startServer();
    await online(alice.client, 'alice back online', 20_000);
    await online(bob.client, 'bob back online', 20_000);
    await until(() => sentTexts(alice.client, conv).length === 5 && sentTexts(bob.client, conv).length === 5, 'both caught up', 20_000);

    const aliceView = sentTexts(alice.client, conv);
    expect(aliceView).to.deep.equal(sentTexts(bob.client, conv));
    expect(aliceView.filter((t) => t.startsWith('b'))).to.deep.equal(['b1', 'b2', 'b3', 'b4']);
    expect(alice.events.messages.map((m) => m.text)).to.deep.equal(['b1', 'b2', 'b3', 'b4']);
    expect(bob.events.messages.map((m) => m.text)).to.deep.equal(['a1']);
  });
});
