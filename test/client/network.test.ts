import { expect } from '@esm-bundle/chai';
import { freshConv, until } from '../browser-support/server.js';
import { freshUser, makeClient, online, sentTexts, stopAll, tapSockets, type SocketTap } from './support.js';

describe('network trouble', () => {
  let tap: SocketTap | null = null;
  afterEach(async () => {
    tap?.restore();
    tap = null;
    await stopAll();
  });

  it('detects a link that stopped answering and reconnects', async () => {
    const conv = freshConv();
    tap = tapSockets();
    const { client, events } = await makeClient(freshUser('alice'), [conv], { heartbeatInterval: 300, heartbeatTimeout: 1500 });
    await online(client);
    // A half-open link: the socket stays "open" but nothing arrives any more.
    tap.dropIncoming = () => true;
    await until(() => events.states.some((s) => s.code === 4008), 'heartbeat declared the link dead');
    tap.dropIncoming = () => false;
    await online(client, 'back online');
    const dead = events.states.find((s) => s.code === 4008)!;
    expect(dead).to.include({ from: 'online', to: 'offline' });
    expect(tap.sockets).to.be.at.least(2);
    await client.send(conv, 'still works');
    await until(() => sentTexts(client, conv).length === 1, 'delivered after reconnect');
  });

  it('goes offline at once on the browser\'s offline event and reconnects on online', async () => {
    const conv = freshConv();
    const { client, events } = await makeClient(freshUser('alice'), [conv]);
    await online(client);
    window.dispatchEvent(new Event('offline'));
    expect(client.state).to.equal('offline');
    expect(events.states.at(-1)).to.include({ from: 'online', to: 'offline', reason: 'the browser is offline' });
    await client.send(conv, 'typed offline');
    expect(client.pendingCount()).to.equal(1);
    window.dispatchEvent(new Event('online'));
    await online(client, 'back online');
    await until(() => client.pendingCount() === 0, 'outbox drained');
    expect(sentTexts(client, conv)).to.deep.equal(['typed offline']);
  });

  it('reconnects on online even while the page is hidden, so a background tab still sends its outbox', async () => {
    const conv = freshConv();
    const { client } = await makeClient(freshUser('alice'), [conv]);
    await online(client);
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    try {
      window.dispatchEvent(new Event('offline'));
      expect(client.state).to.equal('offline');
      await client.send(conv, 'typed before switching tabs');
      window.dispatchEvent(new Event('online'));
      await online(client, 'back online while hidden');
      await until(() => sentTexts(client, conv).length === 1, 'the outbox sent from the hidden tab');
    } finally {
      delete (document as { visibilityState?: unknown }).visibilityState;
    }
    expect(sentTexts(client, conv)).to.deep.equal(['typed before switching tabs']);
  });

  it('checks a live connection at once when the page is shown again', async () => {
    const conv = freshConv();
    tap = tapSockets();
    const { client } = await makeClient(freshUser('alice'), [conv]);
    await online(client);
    const pings = () => tap!.sent.filter((f) => f.type === 'ping').length;
    const before = pings();
    window.dispatchEvent(new Event('pageshow'));
    expect(pings()).to.equal(before + 1);
    await until(() => tap!.received.filter((f) => f.type === 'pong').length > 0, 'pong');
    expect(client.state).to.equal('online');
  });
});
