import { expect } from '@esm-bundle/chai';
import { executeServerCommand } from '@web/test-runner-commands';
import { freshConv, tokenFor, until } from '../browser-support/server.js';
import { freshUser, makeClient, online, sentTexts, stopAll } from './support.js';

async function expiredToken(user: string): Promise<string> {
  return ((await executeServerCommand('imbed-server', { action: 'token', user, expiresIn: -60 })) as { token: string }).token;
}

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
