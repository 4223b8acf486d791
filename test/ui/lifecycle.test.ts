import { expect } from '@esm-bundle/chai';
import { ImbedClient } from '../../src/client/index.js';
import { freshConv, serverUrl, startServer, stopServer, tokenFor, until } from '../browser-support/server.js';
import type { ImbedMessageDetail } from '../../src/ui/events.js';
import { bannerText, freshUser, mountBare, mountChat, texts, unmountAll, untilOnline } from './fixtures.js';

describe('<imbed-chat> lifecycle', () => {
  afterEach(unmountAll);

  it('creates its own client from server, token and conversation, and stops it when removed', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    const client = el.client!;
    expect(client).to.be.instanceOf(ImbedClient);
    el.remove();
    await until(() => client.state === 'stopped', 'the removed element\'s client to stop');
    expect(el.client).to.equal(null);
  });

  it('waits for all three attributes before creating a client', async () => {
    const el = mountBare();
    el.setAttribute('server', await serverUrl());
    el.setAttribute('conversation', freshConv());
    await el.updateComplete;
    expect(el.client).to.equal(null);
    el.setAttribute('token', await tokenFor(freshUser('alice')));
    await el.updateComplete;
    expect(el.client).to.be.instanceOf(ImbedClient);
    await untilOnline(el);
  });

  it('hands a new token to the running client, and replaces the client for a new conversation', async () => {
    const user = freshUser('alice');
    const el = await mountChat({ user, conversation: freshConv() });
    await untilOnline(el);
    const first = el.client!;
    const tokens: string[] = [];
    const setToken = first.setToken.bind(first);
    first.setToken = (token: string) => {
      tokens.push(token);
      setToken(token);
    };
    // A different name claim makes a different token even within the same second.
    const renewed = await tokenFor(user, 'Alice Renamed');
    el.token = renewed;
    await el.updateComplete;
    expect(el.client).to.equal(first);
    expect(tokens).to.deep.equal([renewed]);

    el.conversation = freshConv();
    await el.updateComplete;
    expect(el.client).to.not.equal(first);
    await until(() => first.state === 'stopped', 'the old client to stop');
    await untilOnline(el, 'the new client to come online');
  });

  it('runs its client from a tokenProvider when no token is set', async () => {
    const user = freshUser('alice');
    const el = mountBare();
    let asked = 0;
    el.tokenProvider = () => {
      asked += 1;
      return tokenFor(user);
    };
    el.setAttribute('server', await serverUrl());
    el.setAttribute('conversation', freshConv());
    await untilOnline(el, 'the chat to come online with a token from the provider');
    expect(asked).to.be.greaterThan(0);
    expect(el.client!.user).to.equal(user);
  });

  it('gives a token for another user a client of its own, and never sends the previous user\'s waiting message as them', async () => {
    const alice = freshUser('alice');
    const bob = freshUser('bob');
    const conv = freshConv();
    const el = await mountChat({ user: alice, conversation: conv });
    await untilOnline(el);
    const first = el.client!;
    await stopServer();
    try {
      await el.send('written by alice while offline');
      el.token = await tokenFor(bob);
      await el.updateComplete;
      expect(el.client).to.not.equal(first);
      await until(() => first.state === 'stopped', "alice's client to stop");
    } finally {
      await startServer();
    }
    await untilOnline(el, "bob's client to come online");
    expect(el.client!.user).to.equal(bob);
    expect(el.client!.pendingCount(conv)).to.equal(0);
    await el.send('written by bob');

    const observer = new ImbedClient({ url: await serverUrl(), token: await tokenFor(freshUser('carol')), conversations: [conv] });
    observer.start();
    try {
      await until(() => observer.items(conv).some((i) => i.text === 'written by bob'), "bob's message to arrive");
      const stored = observer.items(conv).map((i) => ({ from: i.from, text: i.text }));
      expect(stored).to.deep.equal([{ from: bob, text: 'written by bob' }]);
    } finally {
      await observer.stop();
    }
  });

  it('recovers from a rejected token when the host sets a valid one', async () => {
    const user = freshUser('alice');
    const el = mountBare();
    el.setAttribute('server', await serverUrl());
    el.setAttribute('conversation', freshConv());
    el.setAttribute('token', 'not-a-jwt');
    await until(() => el.client?.state === 'stopped', 'the bad token to stop the client');
    await el.updateComplete;
    expect(bannerText(el)).to.match(/^Chat unavailable/);

    el.setAttribute('token', await tokenFor(user));
    await untilOnline(el, 'the chat to come online with the new token');
    expect(bannerText(el)).to.equal('');
  });

  it('uses a client the host passes in, never stops it, and stops listening to it when removed', async () => {
    const conv = freshConv();
    const alice = new ImbedClient({ url: await serverUrl(), token: await tokenFor(freshUser('alice')), conversations: [conv] });
    const bob = await mountChat({ user: freshUser('bob'), name: 'Bob', conversation: conv });
    const el = mountBare();
    el.conversation = conv;
    el.client = alice;
    alice.start();
    try {
      await untilOnline(el);
      await untilOnline(bob);
      const heard: Array<CustomEvent<ImbedMessageDetail>> = [];
      el.addEventListener('imbed-message', (event) => heard.push(event));

      await bob.send('before removal');
      await until(() => texts(el).includes('before removal'), 'the host client\'s element to render bob\'s message');
      expect(heard).to.have.length(1);

      el.remove();
      await bob.send('after removal');
      await until(() => alice.items(conv).some((item) => item.text === 'after removal'), 'the host client to receive the next message');
      expect(alice.state).to.equal('online');
      expect(heard, 'the removed element no longer hears its client').to.have.length(1);

      // Back in the document, it listens again and catches up on what it missed.
      document.body.append(el);
      await until(() => texts(el).includes('after removal'), 'the re-attached element to render the missed message');
    } finally {
      await alice.stop();
    }
  });
});
