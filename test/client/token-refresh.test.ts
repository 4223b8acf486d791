import { expect } from '@esm-bundle/chai';
import type { ImbedClient } from '../../src/client/index.js';
import { adminCall, dropConnections, freshConv, startServer, stopServer, tokenExpiringIn, tokenFor, until } from '../browser-support/server.js';
import { freshDb, freshUser, makeClient, online, sentTexts, stopAll } from './support.js';

/** A token that expired a minute ago: past the server's 30 s of tolerance. */
const expiredToken = (user: string) => tokenExpiringIn(user, -60);

describe('expired tokens', () => {
  afterEach(stopAll);

  it('gets a new token from tokenProvider after a 4001 close and carries on', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    let asked = 0;
    const { client, events } = await makeClient(user, [conv], {
      token: await expiredToken(user),
      tokenProvider: async () => {
        asked += 1;
        return tokenFor(user);
      },
    });
    await online(client);
    expect(asked).to.equal(1);
    expect(events.states.find((s) => s.code === 4001)).to.include({ from: 'authenticating', to: 'offline' });
    expect(events.errors).to.deep.equal([]);
    await client.send(conv, 'with a fresh token');
    await until(() => sentTexts(client, conv).length === 1, 'delivered');
  });

  it('keeps asking a failing tokenProvider, reporting each failure, until it gives a token', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    let asked = 0;
    const { client, events } = await makeClient(user, [conv], {
      token: undefined,
      dbName: undefined,
      tokenProvider: async () => {
        asked += 1;
        if (asked === 1) throw new Error('auth service down');
        return tokenFor(user);
      },
    });
    await online(client);
    expect(asked).to.equal(2);
    expect(client.user).to.equal(user);
    expect(events.errors.map((e) => [e.code, e.fatal])).to.deep.equal([['TOKEN_UNAVAILABLE', false]]);
    expect(events.errors[0].message).to.contain('auth service down');
  });

  it('stops with "token expired" when there is no tokenProvider', async () => {
    const user = freshUser('alice');
    const { client, events } = await makeClient(user, [freshConv()], { token: await expiredToken(user) });
    await until(() => client.state === 'stopped', 'stopped');
    expect(events.states.at(-1)).to.include({ to: 'stopped', reason: 'token expired', code: 4001 });
    expect(events.errors[0]).to.include({ code: 'TOKEN_EXPIRED', fatal: true });

    // The host fixes the cause and starts again.
    client.setToken(await tokenFor(user));
    client.start();
    await online(client);
  });
});

/** What another user's client holds of `conv` once it has `count` messages: proof of what the server stored. */
async function storedOnServer(conv: string, count: number): Promise<string[]> {
  const { client } = await makeClient(freshUser('carol'), [conv]);
  await online(client, 'observer online');
  await until(() => sentTexts(client, conv).length >= count, `${count} messages on the server`);
  return sentTexts(client, conv);
}

async function sendAll(client: ImbedClient, conv: string, texts: string[]): Promise<void> {
  for (const text of texts) await client.send(conv, text);
}

describe('tokenProvider failures and refreshes', () => {
  afterEach(async () => {
    await stopAll();
    // A test that failed half-way may have left the shared server stopped.
    await startServer();
  });

  it('keeps the outbox while the provider rejects and the server is down, then delivers it once both are back', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    // Fetched now: asking the test server for a token would start it again.
    const fresh = await tokenFor(user);
    let authUp = true;
    let asked = 0;
    const { client, events } = await makeClient(user, [conv], {
      tokenProvider: async () => {
        asked += 1;
        if (!authUp) throw new Error('auth service down');
        return fresh;
      },
    });
    await online(client);
    await client.send(conv, 'before');
    await until(() => sentTexts(client, conv).length === 1, 'first message delivered');

    // The token expires as the server goes down, and the auth service is down too.
    authUp = false;
    await stopServer(4001);
    await until(() => asked >= 2, 'the provider asked twice while failing');
    const texts = ['one', 'two', 'three'];
    await sendAll(client, conv, texts);
    expect(client.pendingCount(conv)).to.equal(3);

    authUp = true;
    await startServer();
    await until(() => sentTexts(client, conv).length === 4, 'the outbox drained');
    expect(sentTexts(client, conv)).to.deep.equal(['before', ...texts]);
    expect(await storedOnServer(conv, 4)).to.deep.equal(['before', ...texts]);
    const errors = events.errors.map((e) => [e.code, e.fatal]);
    expect(errors.length).to.be.greaterThan(0);
    expect(errors.every(([code, fatal]) => code === 'TOKEN_UNAVAILABLE' && fatal === false), JSON.stringify(errors)).to.equal(true);
    expect(events.states.some((s) => s.to === 'stopped')).to.equal(false);
  });

  it('connects when the browser is back online while it waited to ask a failing tokenProvider again', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    let asked = 0;
    const { client, events } = await makeClient(user, [conv], {
      token: undefined,
      // A long wait between two provider attempts, for the network to go and come back within it.
      minReconnectDelay: 20_000,
      maxReconnectDelay: 20_000,
      tokenProvider: async () => {
        asked += 1;
        if (asked === 1) throw new Error('auth service unreachable');
        return tokenFor(user);
      },
    });
    await until(() => events.errors.some((e) => e.code === 'TOKEN_UNAVAILABLE'), 'the first provider call to fail');
    window.dispatchEvent(new Event('offline'));
    await until(() => client.state === 'offline', 'offline');
    window.dispatchEvent(new Event('online'));
    await online(client, 'online long before the 20 s wait was over', 5_000);
    expect(asked).to.equal(2);
  });

  it('gives up on a provider call that never settles after tokenTimeout and asks again', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    const fresh = await tokenFor(user);
    let asked = 0;
    const { client, events } = await makeClient(user, [conv], {
      token: undefined,
      // Named by the test, so storage opens without a token and the outbox takes messages meanwhile.
      dbName: freshDb(),
      tokenTimeout: 200,
      tokenProvider: () => {
        asked += 1;
        return asked === 1 ? new Promise<string>(() => {}) : Promise.resolve(fresh);
      },
    });
    await client.send(conv, 'queued while the provider hangs');
    await online(client);
    await until(() => sentTexts(client, conv).length === 1, 'delivered');
    expect(asked).to.equal(2);
    expect(events.errors).to.have.length(1);
    expect(events.errors[0]).to.include({ code: 'TOKEN_UNAVAILABLE', fatal: false, retryable: true });
    expect(events.errors[0].message).to.contain('did not answer within 200 ms');
  });

  it('refreshes an expired token mid-session and delivers every pending message exactly once, in order', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    let asked = 0;
    const { client, events } = await makeClient(user, [conv], {
      tokenProvider: async () => {
        asked += 1;
        return tokenFor(user);
      },
    });
    await online(client);
    const texts = Array.from({ length: 20 }, (_, i) => `m${i}`);
    // Sent without waiting for acks, so the expiry lands while some are in flight and others queued.
    const sending = sendAll(client, conv, texts);
    await dropConnections(4001);
    await sending;
    await until(() => sentTexts(client, conv).length === texts.length, 'all delivered');
    expect(sentTexts(client, conv)).to.deep.equal(texts);
    expect(client.pendingCount(conv)).to.equal(0);
    expect(await storedOnServer(conv, texts.length)).to.deep.equal(texts);
    expect(asked).to.be.greaterThan(0);
    expect(events.states.some((s) => s.code === 4001)).to.equal(true);
    expect(events.errors).to.deep.equal([]);
  });

  it('connects again with a new token when the server ends the session at its token\'s expiry', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    const tokens: string[] = [];
    const { client, events } = await makeClient(user, [conv], {
      token: undefined,
      tokenProvider: async () => {
        // The first expired 28 s ago: the server's 30 s of tolerance leave it about 2 s of session.
        const token = tokens.length === 0 ? await tokenExpiringIn(user, -28) : await tokenFor(user);
        tokens.push(token);
        return token;
      },
    });
    await online(client);
    await until(() => events.states.some((s) => s.code === 4001), 'the server to end the session', 10_000);
    await online(client, 'online again with the new token');
    expect(tokens).to.have.length(2);
    expect(events.errors).to.deep.equal([]);
    await client.send(conv, 'after the new token');
    await until(() => sentTexts(client, conv).length === 1, 'delivered');
  });

  it('reports a tokenProvider that gives back the token the server said expired, and carries on with a new one', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    const given: string[] = [];
    let stale = '';
    const { client, events } = await makeClient(user, [conv], {
      token: undefined,
      tokenProvider: async () => {
        // A cache that keeps its token until exp by a clock behind the server's: the same token twice.
        if (given.length < 2) stale ||= await tokenExpiringIn(user, -28);
        const token = given.length < 2 ? stale : await tokenFor(user);
        given.push(token);
        return token;
      },
    });
    await online(client);
    await until(() => given.length === 3 && client.state === 'online', 'online with the third token', 30_000);
    expect(events.errors.map((e) => [e.code, e.fatal])).to.deep.equal([['TOKEN_UNAVAILABLE', false]]);
    expect(events.errors[0]!.message).to.contain('the token the server said expired');
  });

  it('connects with a token set since the hello when the server ends the session, also beside a tokenProvider', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    const renewed = await tokenFor(user);
    let asked = 0;
    const { client, events } = await makeClient(user, [conv], {
      // About 2 s of session left (the server's 30 s of tolerance).
      token: await tokenExpiringIn(user, -28),
      // The app's cache: the token the page was given meanwhile.
      tokenProvider: async () => {
        asked += 1;
        return renewed;
      },
    });
    await online(client);
    client.setToken(renewed);
    await until(() => events.states.some((s) => s.code === 4001), 'the server to end the first token\'s session', 10_000);
    await online(client, 'online again with the renewed token');
    expect(events.errors).to.deep.equal([]);
    expect(asked).to.equal(0);
  });

  it("stops with USER_CHANGED instead of sending one user's outbox as another user", async () => {
    const conv = freshConv();
    const alice = freshUser('alice');
    // Alice's alone: bob's welcome denies it, which is no concern of a client that refuses bob.
    const team = freshConv('team');
    expect((await adminCall('POST', 'conversations', { id: team, kind: 'group', members: [alice] })).status).to.equal(201);
    const bobToken = await tokenFor(freshUser('bob'));
    const { client, events } = await makeClient(alice, [conv, team], {
      // The host's backend now answers for someone else (a new login in another tab, say).
      tokenProvider: async () => bobToken,
    });
    await online(client);
    await stopServer(4001);
    await until(() => client.state !== 'online', 'offline');
    await sendAll(client, conv, ['private note of alice']);
    await startServer();
    await until(() => client.state === 'stopped', 'stopped');

    expect(events.errors.at(-1)).to.include({ code: 'USER_CHANGED', fatal: true, retryable: false });
    expect(events.errors.filter((e) => e.code === 'FORBIDDEN')).to.deep.equal([], 'no refusal reported for bob');
    expect(client.pendingCount(conv)).to.equal(1);
    // Nothing went out as bob: a message sent by another client afterwards is the first of the conversation.
    const { client: carol } = await makeClient(freshUser('carol'), [conv]);
    await online(carol, 'carol online');
    await carol.send(conv, 'first');
    await until(() => carol.items(conv).some((i) => i.status === 'sent'), 'carol delivered');
    expect(carol.items(conv).map((i) => [i.text, i.seq])).to.deep.equal([['first', 1]]);
  });

  it('reports the code of the server\'s refusal (TOKEN_INVALID), not only the close code', async () => {
    const user = freshUser('alice');
    const [header, payload] = (await tokenFor(user)).split('.');
    const { client, events } = await makeClient(user, [freshConv()], { token: `${header}.${payload}.forged-signature` });
    await until(() => client.state === 'stopped', 'stopped');
    expect(events.states.at(-1)).to.include({ to: 'stopped', code: 4003 });
    expect(events.errors).to.have.length(1);
    expect(events.errors[0]).to.include({ code: 'TOKEN_INVALID', fatal: true });
  });
});
