import { expect } from '@esm-bundle/chai';
import { adminCall, freshConv, until } from '../browser-support/server.js';
import { freshDb, freshUser, makeClient, online, readStore, sentTexts, stopAll } from './support.js';

// The test server runs in dev mode (access `open`): conversations created through the admin API are
// restricted to their members, every other one is open.
describe('conversations the user is not a member of', () => {
  afterEach(() => stopAll());

  it('reports FORBIDDEN with the conversation, and neither catch-up nor the outbox of the others waits for it', async () => {
    const closed = freshConv('closed');
    const open = freshConv('open');
    expect((await adminCall('POST', 'conversations', { id: closed, kind: 'group', members: [freshUser('owner')] })).status).to.equal(201);
    const alice = await makeClient(freshUser('alice'), [closed, open]);
    const bob = await makeClient(freshUser('bob'), [open]);
    await online(alice.client, 'alice online despite the refused conversation');
    await until(() => alice.events.errors.length > 0, 'the refusal reported');
    expect(alice.events.errors[0]).to.include({ code: 'FORBIDDEN', conv: closed, fatal: false, retryable: false });

    await alice.client.send(open, 'still delivered');
    await until(() => sentTexts(bob.client, open).length === 1, 'bob got the message of the open conversation');
    await until(() => alice.client.pendingCount() === 0, "alice's outbox emptied by the ack");
  });

  it('marks an empty conversation as held, and not one it was refused, whose history stays a first visit\'s', async () => {
    const closed = freshConv('closed');
    const open = freshConv('open');
    expect((await adminCall('POST', 'conversations', { id: closed, kind: 'group', members: [freshUser('owner')] })).status).to.equal(201);
    const dbName = freshDb();
    const alice = await makeClient(freshUser('alice'), [closed, open], { dbName });
    await online(alice.client);
    await alice.client.stop();
    expect((await readStore(dbName, 'cursors')).map((record) => record.conv)).to.deep.equal([open]);
  });

  it('reports FORBIDDEN with the conversation when the user is removed while connected', async () => {
    const conv = freshConv('team');
    const aliceId = freshUser('alice');
    const bobId = freshUser('bob');
    await adminCall('POST', 'conversations', { id: conv, kind: 'group', members: [aliceId, bobId] });
    const alice = await makeClient(aliceId, [conv]);
    const bob = await makeClient(bobId, [conv]);
    await online(alice.client);
    await online(bob.client);
    await bob.client.send(conv, 'while a member');
    await until(() => sentTexts(alice.client, conv).length === 1, 'alice got the message');
    expect(alice.events.errors).to.have.length(0);

    expect((await adminCall('DELETE', `conversations/${conv}/members/${aliceId}`)).status).to.equal(200);
    await until(() => alice.events.errors.length === 1, 'the removal reported');
    expect(alice.events.errors[0]).to.include({ code: 'FORBIDDEN', conv, fatal: false });
    // Refused for this conversation only: the connection stays up.
    expect(alice.client.state).to.equal('online');
  });
});
