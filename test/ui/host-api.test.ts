import { expect } from '@esm-bundle/chai';
import { ImbedClient } from '../../src/client/index.js';
import type { ImbedReadyDetail } from '../../src/ui/events.js';
import { ImbedChat as ImbedChatElement } from '../../src/element.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';
import { dropConnections, freshConv, serverUrl, tokenExpiringIn, tokenFor, until } from '../browser-support/server.js';
import { holdWrites, releaseAll } from '../client/support.js';
import { bannerText, fillComposer, freshUser, mountBare, mountChat, part, statusOf, texts, unmountAll, untilOnline } from './fixtures.js';

/** The IndexedDB database the element's client keeps for `user` on the test server. */
async function databaseOf(user: string): Promise<string> {
  return `imbed:${new URL(await serverUrl()).host}:${user}`;
}

/** Two chats of one user in one conversation (two tabs, as far as the user's database goes), both online. */
async function twoChatsOfOneUser(): Promise<{ user: string; here: ImbedChat; there: ImbedChat }> {
  const user = freshUser('alice');
  const conv = freshConv();
  const here = await mountChat({ user, conversation: conv });
  const there = await mountChat({ user, conversation: conv });
  await untilOnline(here);
  await untilOnline(there);
  return { user, here, there };
}

/** A chat of a new user, online, with `text` sent (and so stored in the user's database). */
async function chatWithSent(text: string): Promise<{ user: string; el: ImbedChat }> {
  const user = freshUser('alice');
  const el = await mountChat({ user, conversation: freshConv() });
  await untilOnline(el);
  await el.send(text);
  await until(() => statusOf(el, text) === 'sent', 'the message to be sent');
  return { user, el };
}

async function databaseNames(): Promise<string[]> {
  return (await indexedDB.databases()).map((db) => db.name ?? '');
}

/** Tags defined by the tests that define one late: each is defined once per page. */
let lateTags = 0;

describe('<imbed-chat> host API', () => {
  afterEach(async () => {
    await releaseAll();
    unmountAll();
  });

  it('send() queues a message that shows at once and is then delivered', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    await el.send('from the host page');
    await el.updateComplete;
    expect(texts(el)).to.deep.equal(['from the host page']);
    await until(() => statusOf(el, 'from the host page') === 'sent', 'the message to be sent');
  });

  it('setToken() signs in like the token attribute, and imbed-ready names the user once per client', async () => {
    const user = freshUser('alice');
    const ready: ImbedReadyDetail[] = [];
    const el = mountBare();
    el.addEventListener('imbed-ready', (event) => ready.push(event.detail));
    el.setAttribute('server', await serverUrl());
    el.setAttribute('conversation', freshConv());
    el.setToken(await tokenFor(user));
    expect(el.token).to.not.equal('');
    await untilOnline(el);
    expect(ready).to.deep.equal([{ user }]);
    // A reconnect is the same client coming back, not a new one being ready.
    const client = el.client!;
    await dropConnections();
    await until(() => client.state !== 'online', 'the drop to be noticed');
    await untilOnline(el, 'the client to reconnect');
    expect(ready).to.deep.equal([{ user }]);
  });

  it('setToken() renews before the server ends the session, which the chat then rides through', async () => {
    const user = freshUser('alice');
    const conversation = freshConv();
    const el = mountBare();
    el.setAttribute('server', await serverUrl());
    el.setAttribute('conversation', conversation);
    // Expired 28 s ago: the server's 30 s of tolerance leave it about 2 s of session.
    el.setToken(await tokenExpiringIn(user, -28));
    await untilOnline(el);
    const client = el.client!;
    const changes: Array<{ to: string; code?: number }> = [];
    client.addEventListener('state', (event) => changes.push(event.detail));
    // The app renews while online, as it should, without a tokenProvider.
    el.setToken(await tokenFor(user));
    await until(() => changes.some((c) => c.code === 4001), 'the server to end the first token\'s session', 10_000);
    await untilOnline(el, 'online again with the renewed token');
    expect(el.client).to.equal(client);
    expect(changes.some((c) => c.to === 'stopped')).to.equal(false);

  });

  it('logout() stops the client, deletes the user\'s local database and shows signed out; a new login works', async () => {
    const { user, el } = await chatWithSent('kept on this device');
    const client = el.client!;
    const name = await databaseOf(user);
    expect(await databaseNames()).to.include(name);

    await el.logout();
    expect(client.state).to.equal('stopped');
    expect(el.client).to.equal(null);
    expect(el.token).to.equal('');
    expect(await databaseNames()).to.not.include(name);
    await el.updateComplete;
    expect(texts(el)).to.deep.equal([]);
    expect(bannerText(el)).to.equal('Signed out.');

    el.setToken(await tokenFor(user));
    await untilOnline(el, 'the chat to come online after a new login');
    expect(el.client).to.not.equal(client);
    // The history comes back from the server, not from a database that should be gone.
    await until(() => texts(el).includes('kept on this device'), 'the history from the server');
    expect(bannerText(el)).to.not.include('Signed out');
  });

  it('shows signed out when another element of the user (another tab) logs out, and errors with SIGNED_OUT', async () => {
    const { user, here, there } = await twoChatsOfOneUser();
    await here.send('seen in both');
    await until(() => texts(there).includes('seen in both'), 'the message in the other chat');
    const errors: Array<{ code: string; fatal: boolean }> = [];
    there.addEventListener('imbed-error', (e) => errors.push({ code: e.detail.code, fatal: e.detail.fatal }));

    await here.logout();
    await until(() => errors.length > 0, 'the other chat told of the logout');
    expect(errors).to.deep.equal([{ code: 'SIGNED_OUT', fatal: true }]);
    await there.updateComplete;
    expect(there.client).to.equal(null);
    expect(there.token).to.equal('');
    expect(texts(there)).to.deep.equal([]);
    expect(bannerText(there)).to.equal('Signed out.');

    there.setToken(await tokenFor(user));
    await untilOnline(there, 'the other chat online after a new login');
    await until(() => texts(there).includes('seen in both'), 'the history from the server');
  });

  it('does not give back to the composer a message that was being stored when another tab logged the user out', async () => {
    const { user, here, there } = await twoChatsOfOneUser();
    // The message's write waits until after the logout has signed this chat out.
    const held = await holdWrites(await databaseOf(user), 'outbox');
    fillComposer(there, 'typed as the other tab logged out');
    part(there, 'send-button').click();
    const loggingOut = here.logout();
    await until(() => there.client === null, 'the other chat signed out');
    await held.release();
    await loggingOut;
    await new Promise((r) => setTimeout(r, 100));
    await there.updateComplete;
    expect(part<HTMLTextAreaElement>(there, 'composer-input').value).to.equal('');
    expect(part(there, 'composer-error').textContent).to.equal('');
  });

  it('signs the same user in again at once after logout() without the deletion signing the new session out', async () => {
    // An app that hands over to "the next user" without waiting for the logout to finish.
    const { user, el } = await chatWithSent('before the logout');
    const token = await tokenFor(user);
    const errors: string[] = [];
    el.addEventListener('imbed-error', (event) => errors.push(event.detail.code));

    const loggingOut = el.logout();
    // A second logout (the app's, after the person's) finds nothing left to delete: it must not cut the wait short.
    const secondLogout = el.logout();
    el.setToken(token);
    await el.updateComplete;
    const again = el.client;
    // Queued at once, while the deletion runs; sent once the new session is up.
    await el.send('during the logout');
    await Promise.all([loggingOut, secondLogout]);
    await untilOnline(el, 'the new session to come online');
    await el.send('after signing in again');
    await until(() => statusOf(el, 'after signing in again') === 'sent', 'the new message to be sent');
    expect(statusOf(el, 'during the logout')).to.equal('sent');
    expect(errors).to.deep.equal([]);
    expect([el.client === again, again?.state, el.token === token]).to.deep.equal([true, 'online', true]);
    // The new session's database is there, fresh: the old one was deleted before it opened.
    expect(await databaseNames()).to.include(await databaseOf(user));
  });

  it('empties the composer when the chat changes hands: a logout, another user, another conversation', async () => {
    const user = freshUser('alice');
    const conv = freshConv();
    const el = await mountChat({ user, conversation: conv });
    await untilOnline(el);
    const input = fillComposer(el, 'half a sentence for alice');
    await el.logout();
    await el.updateComplete;
    expect(input.value).to.equal('');

    el.setToken(await tokenFor(user));
    await untilOnline(el);
    fillComposer(el, 'for this conversation only');
    el.conversation = freshConv();
    await el.updateComplete;
    expect(part<HTMLTextAreaElement>(el, 'composer-input').value).to.equal('');

    // A new token for the same user keeps what is being typed.
    fillComposer(el, 'still mine');
    el.setToken(await tokenFor(user));
    await el.updateComplete;
    expect(part<HTMLTextAreaElement>(el, 'composer-input').value).to.equal('still mine');

    // Moved in the page (a framework re-parenting it), the chat keeps what is being typed.
    fillComposer(el, 'moving along');
    el.remove();
    document.body.append(el);
    await el.updateComplete;
    expect(part<HTMLTextAreaElement>(el, 'composer-input').value).to.equal('moving along');

    // Signed out by clearing the token rather than with logout(), then in as someone else.
    el.token = '';
    await el.updateComplete;
    el.setToken(await tokenFor(freshUser('carol')));
    await el.updateComplete;
    expect(part<HTMLTextAreaElement>(el, 'composer-input').value).to.equal('');
    await untilOnline(el);

    const other = freshUser('bob');
    el.setToken(await tokenFor(other));
    await el.updateComplete;
    expect(part<HTMLTextAreaElement>(el, 'composer-input').value).to.equal('');
  });

  it('keeps its client, socket and pending message when a framework moves it, and stops it when removed for good', async () => {
    const conv = freshConv();
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    await untilOnline(el);
    const client = el.client!;
    const ready: ImbedReadyDetail[] = [];
    const states: string[] = [];
    el.addEventListener('imbed-ready', (e) => ready.push(e.detail));
    el.addEventListener('imbed-status', (e) => states.push(e.detail.to));
    await dropConnections(); // the message waits, reconnecting
    await el.send('waiting through the move');
    const portal = document.createElement('div');
    document.body.append(portal);
    try {
      // Out of the document and back in within one task, as a framework's removeChild and appendChild.
      // (One append() that moves it runs both callbacks with the element already in its new place.)
      el.remove();
      portal.append(el);
      await el.updateComplete;
      expect(el.client).to.equal(client);
      await until(() => statusOf(el, 'waiting through the move') === 'sent', 'the waiting message sent by the same client');
      expect(client.state).to.equal('online');
      expect(states).to.not.include('stopped');
      expect(ready, 'no second imbed-ready: the same client').to.deep.equal([]);

      el.remove();
      await until(() => client.state === 'stopped', 'the removed element\'s client to stop');
      expect(el.client).to.equal(null);
    } finally {
      portal.remove();
    }
  });

  it('takes a client set on the element before its tag was defined', async () => {
    // A framework binding the property, or a page importing the package late, sets it on a plain element.
    const conv = freshConv();
    const client = new ImbedClient({ url: await serverUrl(), token: await tokenFor(freshUser('alice')), conversations: [conv], storage: 'memory' });
    const tag = `imbed-chat-late-${++lateTags}`;
    const el = document.createElement(tag) as ImbedChat;
    el.style.height = '400px';
    document.body.append(el);
    try {
      el.client = client;
      el.conversation = conv;
      client.start();
      const statuses: string[] = [];
      el.addEventListener('imbed-status', (event) => statuses.push(event.detail.to));
      customElements.define(tag, class extends ImbedChatElement {});
      expect(el.client).to.equal(client);
      await untilOnline(el);
      await client.send(conv, 'after the upgrade');
      await until(() => texts(el).includes('after the upgrade'), 'the element to show what its client holds');
      expect(statuses).to.include('online');
    } finally {
      el.remove();
      await client.stop();
    }
  });

  it('leaves a draft behind when the element moves to another conversation of a host\'s client', async () => {
    const [first, second] = [freshConv(), freshConv()];
    const client = new ImbedClient({ url: await serverUrl(), token: await tokenFor(freshUser('alice')), conversations: [first, second], storage: 'memory' });
    client.start();
    try {
      const el = mountBare();
      el.client = client;
      el.conversation = first;
      await untilOnline(el);
      fillComposer(el, 'meant for the first conversation');
      el.conversation = second;
      await el.updateComplete;
      expect(part<HTMLTextAreaElement>(el, 'composer-input').value).to.equal('');
      expect(el.client).to.equal(client);
    } finally {
      await client.stop();
    }
  });

  it('keeps the draft of a detached element whose conversation changed and changed back meanwhile', async () => {
    const conv = freshConv();
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    await untilOnline(el);
    fillComposer(el, 'typed before a tab switch');
    el.remove();
    el.conversation = freshConv();
    await el.updateComplete;
    el.conversation = conv;
    await el.updateComplete;
    document.body.append(el);
    await untilOnline(el);
    expect(part<HTMLTextAreaElement>(el, 'composer-input').value).to.equal('typed before a tab switch');
  });

  it('keeps the draft for the same chat after a while out of the document, not for another user', async () => {
    const user = freshUser('alice');
    const conv = freshConv();
    const el = await mountChat({ user, conversation: conv });
    await untilOnline(el);
    const first = el.client!;
    fillComposer(el, 'typed before a tab switch');
    el.remove(); // a framework keeping the element aside (a hidden tab, a keep-alive cache)
    await until(() => first.state === 'stopped', 'the detached element\'s client to stop');
    document.body.append(el);
    await untilOnline(el);
    expect(el.client).to.not.equal(first);
    expect(part<HTMLTextAreaElement>(el, 'composer-input').value).to.equal('typed before a tab switch');

    const second = el.client!;
    el.remove();
    await until(() => second.state === 'stopped', 'the detached element\'s client to stop');
    el.setToken(await tokenFor(freshUser('bob'))); // signed in as someone else meanwhile
    document.body.append(el);
    await el.updateComplete;
    expect(part<HTMLTextAreaElement>(el, 'composer-input').value).to.equal('');

    await untilOnline(el);
    fillComposer(el, 'typed in the first conversation');
    const third = el.client!;
    el.remove();
    el.conversation = freshConv(); // moved on to another conversation while out of the document
    await until(() => third.state === 'stopped', 'the detached element\'s client to stop');
    document.body.append(el);
    await el.updateComplete;
    expect(part<HTMLTextAreaElement>(el, 'composer-input').value).to.equal('');
  });

  it('reports an unusable conversation once, not again at each update or token while it stands', async () => {
    const el = mountBare();
    const errors: string[] = [];
    el.addEventListener('imbed-error', (e) => errors.push(e.detail.code));
    el.setAttribute('server', await serverUrl());
    el.setAttribute('token', await tokenFor(freshUser('alice')));
    el.setAttribute('conversation', 'order/42');
    await el.updateComplete;
    el.setToken(await tokenFor(freshUser('alice')));
    el.theme = 'dark';
    await el.updateComplete;
    el.remove();
    document.body.append(el); // moved
    await el.updateComplete;
    expect(errors).to.deep.equal(['BAD_OPTIONS']);
    expect(el.client).to.equal(null);
  });

  it('reports a server or conversation a client cannot use, runs none, and recovers once both are usable', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    const first = el.client!;
    const errors: Array<{ code: string; fatal: boolean; message: string }> = [];
    el.addEventListener('imbed-error', (e) => errors.push(e.detail));
    el.conversation = 'order 42'; // a space: not an id the protocol allows
    await el.updateComplete;
    expect(errors.map((e) => [e.code, e.fatal])).to.deep.equal([['BAD_OPTIONS', true]]);
    expect(errors[0]!.message).to.contain('order 42');
    expect(el.client).to.equal(null);
    await until(() => first.state === 'stopped', 'the previous conversation\'s client to stop');
    expect(bannerText(el)).to.match(/^Chat unavailable: .*order 42/);

    el.conversation = freshConv();
    el.server = 'not a url';
    await el.updateComplete;
    expect(errors.map((e) => e.code)).to.deep.equal(['BAD_OPTIONS', 'BAD_OPTIONS']);
    el.server = await serverUrl();
    await untilOnline(el, 'online once both are usable');
    expect(bannerText(el)).to.equal('');
  });

  it("leaves the database of a host's client alone on logout(), also after the element ran its own for that user", async () => {
    const user = freshUser('alice');
    const conv = freshConv();
    const el = await mountChat({ user, conversation: conv });
    await untilOnline(el);
    const own = el.client!;
    // The host takes over with a client of its own for the same user: the same database.
    const hosts = new ImbedClient({ url: await serverUrl(), token: await tokenFor(user), conversations: [conv] });
    el.client = hosts;
    hosts.start();
    try {
      await until(() => own.state === 'stopped' && hosts.state === 'online', "the element's client stopped, the host's online");
      const name = (await indexedDB.databases()).map((d) => d.name).find((n) => n?.endsWith(`:${user}`));
      expect(name, "the user's database").to.be.a('string');
      const kinds: string[] = [];
      hosts.addEventListener('storage', (e) => kinds.push(e.detail.kind));
      await el.logout();
      expect((await indexedDB.databases()).map((d) => d.name)).to.include(name);
      await hosts.send(conv, 'still stored on this device');
      expect(hosts.storageKind).to.equal('indexeddb');
      expect(kinds).to.deep.equal([]);
    } finally {
      await hosts.stop();
    }
  });

  it('deletes the data of the client it ran on logout(), also after the element left the page', async () => {
    const { user, el } = await chatWithSent('kept on this device');
    const client = el.client!;
    const name = (await indexedDB.databases()).map((d) => d.name).find((n) => n?.endsWith(`:${user}`));
    expect(name, "the user's database").to.be.a('string');
    el.remove(); // the app unmounts the chat, then signs out
    await until(() => client.state === 'stopped', 'the removed element\'s client to stop');
    await el.logout();
    expect((await indexedDB.databases()).map((d) => d.name)).to.not.include(name);
  });

  it('announces a host\'s client that is online already as ready, and logout() only forgets it, leaving it running', async () => {
    const conv = freshConv();
    const user = freshUser('alice');
    const client = new ImbedClient({ url: await serverUrl(), token: await tokenFor(user), conversations: [conv], storage: 'memory' });
    client.start();
    try {
      await until(() => client.state === 'online', 'the host\'s client to come online');
      const el = mountBare();
      const ready: ImbedReadyDetail[] = [];
      el.addEventListener('imbed-ready', (event) => ready.push(event.detail));
      el.conversation = conv;
      el.client = client;
      await el.updateComplete;
      expect(ready).to.deep.equal([{ user }]);
      await el.logout();
      expect(el.client).to.equal(null);
      expect(client.state).to.not.equal('stopped');
    } finally {
      await client.stop();
    }
  });
});
