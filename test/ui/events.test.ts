import { expect } from '@esm-bundle/chai';
import { freshConv, serverUrl, until } from '../browser-support/server.js';
import type { ImbedErrorDetail, ImbedMessageDetail, ImbedStatusDetail } from '../../src/ui/events.js';
import { bannerText, freshUser, mountChat, part, unmountAll, untilOnline } from './fixtures.js';

describe('<imbed-chat> events', () => {
  const removers: Array<() => void> = [];
  afterEach(() => {
    for (const remove of removers.splice(0)) remove();
    unmountAll();
  });

  function listen<K extends 'imbed-message' | 'imbed-status' | 'imbed-error'>(type: K, into: Array<DocumentEventMap[K]>): void {
    const listener = (event: DocumentEventMap[K]) => into.push(event);
    document.addEventListener(type, listener);
    removers.push(() => document.removeEventListener(type, listener));
  }

  it('fires imbed-status on document for every state change, with the pending count', async () => {
    const statuses: Array<CustomEvent<ImbedStatusDetail>> = [];
    listen('imbed-status', statuses);
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    await until(() => statuses.some((e) => e.detail.to === 'online'), 'an online status event');
    const online = statuses.find((e) => e.detail.to === 'online')!;
    expect(online.bubbles).to.equal(true);
    expect(online.composed).to.equal(true);
    expect(online.target).to.equal(el);
    expect(online.detail.pending).to.equal(0);
    expect(online.detail.reason).to.be.a('string');
    // Each event continues from the last.
    for (let i = 1; i < statuses.length; i++) expect(statuses[i]!.detail.from).to.equal(statuses[i - 1]!.detail.to);
  });

  it('fires imbed-message on document once per message from someone else, not for own messages', async () => {
    const conv = freshConv();
    const received: Array<CustomEvent<ImbedMessageDetail>> = [];
    listen('imbed-message', received);
    const alice = await mountChat({ user: freshUser('alice'), name: 'Alice', conversation: conv });
    const bob = await mountChat({ user: freshUser('bob'), name: 'Bob', conversation: conv });
    await untilOnline(alice);
    await untilOnline(bob);
    await alice.send('ping from alice');
    await until(() => received.length >= 1, 'bob\'s element to report alice\'s message');
    await bob.send('pong from bob');
    await until(() => received.length >= 2, 'alice\'s element to report bob\'s message');

    const fromAlice = received.find((e) => e.detail.message.text === 'ping from alice')!;
    const fromBob = received.find((e) => e.detail.message.text === 'pong from bob')!;
    expect(fromAlice.target).to.equal(bob);
    expect(fromBob.target).to.equal(alice);
    expect(fromAlice.composed && fromAlice.bubbles).to.equal(true);
    expect(fromAlice.detail.message).to.include({ conv, name: 'Alice', seq: 1 });
    // A third message proves nothing else was queued behind: still one event per message.
    await alice.send('again');
    await until(() => received.some((e) => e.detail.message.text === 'again'), 'the third message');
    expect(received.map((e) => e.detail.message.text)).to.deep.equal(['ping from alice', 'pong from bob', 'again']);
  });

  it('fires a fatal imbed-error on document and says the chat is unavailable when the server rejects the token', async () => {
    const errors: Array<CustomEvent<ImbedErrorDetail>> = [];
    listen('imbed-error', errors);
    const el = document.createElement('imbed-chat');
    el.setAttribute('server', await serverUrl());
    el.setAttribute('token', 'not-a-jwt');
    el.setAttribute('conversation', freshConv());
    document.body.append(el);
    removers.push(() => el.remove());

    await until(() => errors.some((e) => e.detail.fatal), 'a fatal error event');
    const fatal = errors.find((e) => e.detail.fatal)!;
    expect(fatal.target).to.equal(el);
    expect(fatal.bubbles && fatal.composed).to.equal(true);
    expect(fatal.detail.code).to.be.a('string').and.not.empty;
    expect(fatal.detail.message).to.be.a('string').and.not.empty;
    await until(() => el.client?.state === 'stopped', 'the client to stop');
    await el.updateComplete;
    expect(bannerText(el)).to.match(/^Chat unavailable/);
    expect(part(el, 'banner').dataset.tone).to.equal('error');
  });
});
