import { expect } from '@esm-bundle/chai';
import type { ImbedClient } from '../../src/client/index.js';
import { tabGroupName } from '../../src/client/leader.js';
import { freshConv, seedMessages, startServer, stopServer, tokenExpiringIn, tokenFor, until } from '../browser-support/server.js';
import { REFUSED_TEXT } from '../support/refused-text.js';
import { DEAD_URL, freshDb, freshUser, makeClient, online, readOutbox, sentTexts, stopAll, tapSockets, type SocketTap, type TestClient } from './support.js';

// Several clients in one page on the same database and conversations behave as tabs of one browser:
// Web Locks and BroadcastChannel work between them as between pages of one origin.

/** Three "tabs" of one user; the first is started alone and online before the others, so it leads. */
async function threeTabs(conv: string, options: { multiTab?: boolean } = {}, dbName = freshDb()): Promise<TestClient[]> {
  const user = freshUser('alice');
  const first = await makeClient(user, [conv], { dbName, ...options });
  await online(first.client, 'the first tab online');
  const others = [await makeClient(user, [conv], { dbName, ...options }), await makeClient(user, [conv], { dbName, ...options })];
  for (const tab of others) await online(tab.client, 'a following tab online');
  return [first, ...others];
}

function sendFrames(tap: SocketTap, cmid: string): number {
  return tap.sent.filter((f) => f.type === 'send' && f.cmid === cmid).length;
}

function allSent(clients: ImbedClient[], conv: string, count: number): boolean {
  return clients.every((c) => c.pendingCount() === 0 && sentTexts(c, conv).length === count);
}

describe('several tabs of one browser', () => {
  let tap: SocketTap | null = null;
  afterEach(async () => {
    tap?.restore();
    tap = null;
    await startServer();
    await stopAll();
  });

  it('can talk between two BroadcastChannels of one name in one page, never to the poster itself', async () => {
    const name = `probe-${Math.random()}`;
    const a = new BroadcastChannel(name);
    const b = new BroadcastChannel(name);
    const heard: string[] = [];
    a.onmessage = (e) => heard.push(`a:${String(e.data)}`);
    b.onmessage = (e) => heard.push(`b:${String(e.data)}`);
    a.postMessage('hi');
    await until(() => heard.length > 0, 'the other channel to hear it');
    await new Promise((r) => setTimeout(r, 50));
    expect(heard).to.deep.equal(['b:hi']);
    a.close();
    b.close();
  });

  it('opens one socket for three tabs, and every tab follows its state', async () => {
    tap = tapSockets();
    const conv = freshConv();
    const tabs = await threeTabs(conv);
    expect(tap.sockets).to.equal(1);
    expect(tabs.map((t) => t.client.state)).to.deep.equal(['online', 'online', 'online']);
    for (const { events } of tabs.slice(1)) expect(events.states.at(-1)?.to).to.equal('online');
  });

  it("delivers a following tab's message once, through the leader, and shows it sent in every tab", async () => {
    tap = tapSockets();
    const conv = freshConv();
    const tabs = await threeTabs(conv);
    const clients = tabs.map((t) => t.client);
    const item = await clients[2].send(conv, 'from a follower');
    expect(item.status).to.equal('pending');
    await until(() => allSent(clients, conv, 1), 'the message sent in all three tabs');
    for (const c of clients) expect(c.items(conv).map((i) => [i.cmid, i.seq, i.status, i.mine])).to.deep.equal([[item.cmid, 1, 'sent', true]]);
    expect(sendFrames(tap, item.cmid)).to.equal(1);

    const reader = await makeClient(freshUser('carol'), [conv]);
    await until(() => sentTexts(reader.client, conv).length === 1, 'the other member got it');
    expect(sentTexts(reader.client, conv)).to.deep.equal(['from a follower']);
  });

  it('shows a message from another member live in every tab, with one message event each', async () => {
    const conv = freshConv();
    const tabs = await threeTabs(conv);
    const bob = await makeClient(freshUser('bob'), [conv]);
    await online(bob.client);
    await bob.client.send(conv, 'hello tabs');
    await bob.client.send(conv, 'second');
    await until(() => tabs.every((t) => sentTexts(t.client, conv).length === 2), 'all three tabs show both');
    for (const t of tabs) {
      expect(sentTexts(t.client, conv)).to.deep.equal(['hello tabs', 'second']);
      expect(t.events.messages.map((m) => [m.seq, m.text])).to.deep.equal([[1, 'hello tabs'], [2, 'second']]);
    }
  });

  it('keeps the order of messages written by several tabs', async () => {
    const conv = freshConv();
    const tabs = await threeTabs(conv);
    const clients = tabs.map((t) => t.client);
    const texts: string[] = [];
    for (let i = 0; i < 12; i++) {
      texts.push(`m${i}`);
      await clients[i % 3].send(conv, `m${i}`);
    }
    await until(() => allSent(clients, conv, 12), 'all twelve sent in every tab');
    for (const c of clients) {
      expect(sentTexts(c, conv)).to.deep.equal(texts);
      expect(c.items(conv).map((i) => i.seq)).to.deep.equal(texts.map((_, i) => i + 1));
    }
  });

  it('hands the socket to another tab when the leader closes, and delivers what followers queued meanwhile once, in order', async () => {
    tap = tapSockets();
    const conv = freshConv();
    const [leader, ...followers] = await threeTabs(conv);
    const clients = followers.map((t) => t.client);
    await clients[0].send(conv, 'before');
    await until(() => allSent([leader.client, ...clients], conv, 1), 'the first message sent');

    await stopServer(1012);
    await until(() => clients.every((c) => c.state === 'offline' || c.state === 'connecting'), 'the followers saw the outage');
    await clients[0].send(conv, 'one');
    await clients[1].send(conv, 'two');
    await clients[0].send(conv, 'three');
    await leader.client.stop(); // the leader's tab closes
    const socketsBefore = tap.sockets;
    await until(() => tap!.sockets > socketsBefore, 'a follower took over and opened a socket');

    await startServer();
    await until(() => allSent(clients, conv, 4), 'the queued messages sent in both remaining tabs', 20_000);
    const texts = ['before', 'one', 'two', 'three'];
    for (const c of clients) {
      expect(sentTexts(c, conv)).to.deep.equal(texts);
      expect(c.items(conv).map((i) => i.seq)).to.deep.equal([1, 2, 3, 4]);
      await online(c, 'the remaining tabs online');
    }
    const reader = await makeClient(freshUser('carol'), [conv]);
    await until(() => sentTexts(reader.client, conv).length === 4, 'the other member caught up');
    expect(sentTexts(reader.client, conv)).to.deep.equal(texts);
  });

  it('signs the other tabs out when one logs out: none takes over, and what waited in the outbox is never sent', async () => {
    tap = tapSockets();
    const conv = freshConv();
    const dbName = freshDb();
    const [leader, ...followers] = await threeTabs(conv, {}, dbName);
    const clients = followers.map((t) => t.client);
    await clients[0].send(conv, 'before');
    await until(() => allSent([leader.client, ...clients], conv, 1), 'the first message sent');

    await stopServer(1012);
    await until(() => clients.every((c) => c.state === 'offline' || c.state === 'connecting'), 'the followers saw the outage');
    await clients[1].send(conv, 'typed before the logout');
    expect((await readOutbox(dbName)).map((r) => r.text)).to.deep.equal(['typed before the logout']);
    const socketsBefore = tap.sockets;
    await leader.client.clearLocalData(); // the leader's tab logs out
    await until(() => followers.every((t) => t.events.errors.some((e) => e.code === 'SIGNED_OUT')), 'both other tabs told of the logout');
    for (const { client, events } of followers) {
      expect(events.errors.filter((e) => e.code === 'SIGNED_OUT').map((e) => e.fatal)).to.deep.equal([true]);
      expect(client.state).to.equal('stopped');
      expect(client.items(conv), 'nothing of the user is shown any more').to.deep.equal([]);
      expect(client.pendingCount()).to.equal(0);
    }
    // The leader released its lock once the database was gone; a tab that took it would connect.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tap.sockets, 'no tab took the connection over').to.equal(socketsBefore);

    await startServer();
    const reader = await makeClient(freshUser('carol'), [conv]);
    await online(reader.client, 'the other member online');
    expect(tap.sockets, 'only the other member connected').to.equal(socketsBefore + 1);
    expect(sentTexts(reader.client, conv)).to.deep.equal(['before']);
  });

  it("stops a following tab given another user's token, so nothing typed there goes out as the outbox's user", async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const [leader, follower] = await threeTabs(conv, {}, dbName);
    follower.client.setToken(await tokenFor(freshUser('bob')));
    expect(follower.client.state).to.equal('stopped');
    expect(follower.events.errors.map((e) => [e.code, e.fatal])).to.deep.equal([['USER_CHANGED', true]]);
    let refused: unknown = null;
    await follower.client.send(conv, 'typed by bob').catch((error: unknown) => (refused = error));
    expect(refused, 'send() refuses').to.be.instanceOf(Error);
    expect(await readOutbox(dbName)).to.deep.equal([]);
    // The tabs that kept alice's token go on: the leader still holds the connection.
    expect(leader.client.state).to.equal('online');
    expect(leader.events.errors).to.deep.equal([]);
  });

  it("connects the leader with a token a following tab's host set, when the server ends the leader's session at its token's expiry", async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    // About 5 s of session left (the server's 30 s of tolerance), for both tabs; no tokenProvider.
    const stale = await tokenExpiringIn(user, -25);
    const leader = await makeClient(user, [conv], { dbName, token: stale });
    await online(leader.client, 'the first tab online');
    const follower = await makeClient(user, [conv], { dbName, token: stale });
    await online(follower.client, 'the following tab online');
    follower.client.setToken(await tokenFor(user));

    await until(() => leader.events.states.some((s) => s.code === 4001), "the server to end the stale token's session", 15_000);
    await online(leader.client, 'the leader online again with the renewed token');
    await online(follower.client, 'the follower online with it');
    expect(leader.events.errors).to.deep.equal([]);
    expect(follower.events.errors).to.deep.equal([]);
    await follower.client.send(conv, 'after the renewal');
    await until(() => allSent([leader.client, follower.client], conv, 1), 'the message sent in both tabs');
  });

  it("opens the next session with the leader's token when a tab whose token has expired takes over", async () => {
    tap = tapSockets();
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const leader = await makeClient(user, [conv], { dbName, token: await tokenFor(user) });
    await online(leader.client, 'the first tab online');
    // A tab opened long ago: the server would refuse its own token (expired beyond the tolerance).
    const follower = await makeClient(user, [conv], { dbName, token: await tokenExpiringIn(user, -120) });
    await online(follower.client, 'the following tab online');
    expect(tap.sockets).to.equal(1);

    await follower.client.send(conv, 'queued in the old tab');
    await until(() => allSent([leader.client, follower.client], conv, 1), 'sent through the leader');
    await leader.client.stop(); // the leader's tab closes
    await until(() => tap!.sockets === 2, 'the old tab took over and opened a socket');
    await online(follower.client, 'the old tab online with the token it took');
    expect(follower.events.errors).to.deep.equal([]);
    await follower.client.send(conv, 'after the takeover');
    await until(() => allSent([follower.client], conv, 2), 'delivered after the takeover');
  });

  it("opens the next session with the token the leader's tokenProvider renewed, when a tab takes over", async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    let asked = 0;
    const leader = await makeClient(user, [conv], {
      dbName,
      token: undefined,
      // About 5 s of session for the first token (the server's 30 s of tolerance), then a fresh one.
      tokenProvider: async () => (asked++ === 0 ? tokenExpiringIn(user, -25) : tokenFor(user)),
    });
    await online(leader.client, 'the first tab online');
    // A tab opened long ago: its own token would be refused.
    const follower = await makeClient(user, [conv], { dbName, token: await tokenExpiringIn(user, -120) });
    await online(follower.client, 'the following tab online');
    await until(() => leader.events.states.some((s) => s.code === 4001), "the server to end the first token's session", 15_000);
    await online(leader.client, 'the leader online with the renewed token');
    // Past the first token's tolerance too: only the renewed one opens a session now.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await leader.client.stop(); // the leader's tab closes
    await online(follower.client, 'the old tab online with the renewed token');
    expect(follower.events.errors).to.deep.equal([]);
    await follower.client.send(conv, 'after the takeover');
    await until(() => allSent([follower.client], conv, 1), 'delivered after the takeover');
  });

  it('shows no session in a tab that takes over from a crashed leader while it waits for its token', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const leader = await makeClient(user, [conv], { dbName });
    await online(leader.client, 'the first tab online');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const follower = await makeClient(user, [conv], {
      dbName,
      token: undefined,
      tokenProvider: async () => {
        await held;
        return tokenFor(user);
      },
    });
    await online(follower.client, 'the following tab online');
    // The leader's tab crashes: it says nothing on the channel, only its lock goes.
    const post = BroadcastChannel.prototype.postMessage;
    BroadcastChannel.prototype.postMessage = function (this: BroadcastChannel, message: unknown) {
      if ((message as { type?: string } | null)?.type !== 'resign') post.call(this, message);
    };
    try {
      await leader.client.stop();
    } finally {
      BroadcastChannel.prototype.postMessage = post;
    }
    await until(() => follower.client.state !== 'online', 'the taken-over tab to stop showing a session');
    expect(follower.client.state).to.equal('connecting');
    release();
    await online(follower.client, 'online through its own socket');
  });

  it('tells a tab that joins while the leader stops nothing of its own stop: that tab hears of the next leader', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const leader = await makeClient(user, [conv], { dbName });
    await online(leader.client, 'the first tab online');
    const follower = await makeClient(user, [conv], { dbName });
    await online(follower.client, 'the following tab online');
    const heard: Array<{ type: string; change?: { to: string } }> = [];
    const channel = new BroadcastChannel(tabGroupName(dbName, [conv]));
    channel.onmessage = (event: MessageEvent) => heard.push(event.data as (typeof heard)[number]);
    // Holds the outbox, so the leader's stop waits for a send's write: the window a joining tab can fall in.
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(dbName);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    let held = true;
    const outbox = db.transaction('outbox', 'readwrite').objectStore('outbox');
    const spin = (): void => {
      if (held) outbox.count().onsuccess = spin;
    };
    spin();
    try {
      // Its write waits for the outbox; a send the stop overtook would reject, which changes nothing here.
      const sent = leader.client.send(conv, 'written while the leader stops').catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 100));
      const stopping = leader.client.stop();
      channel.postMessage({ type: 'join' });
      // An answer not given can only be shown by waiting: far longer than the channel takes.
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Still in the group, its stop held up by the write: the join reached a leader that could answer.
      expect(heard.map((m) => m.type)).to.not.include('resign');
      held = false;
      await Promise.all([sent, stopping]);
      await until(() => heard.some((m) => m.type === 'resign'), 'the leader to resign');
      expect(heard.filter((m) => m.type === 'state' && m.change?.to === 'stopped')).to.deep.equal([]);
    } finally {
      held = false;
      db.close();
      channel.close();
    }
    await online(follower.client, 'the following tab online through its own socket');
  });

  it('restarts with the newer token when a tab asks for a restart with an older one', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    // About 5 s of session (the server's 30 s of tolerance), then a fatal 4001: no tokenProvider.
    const leader = await makeClient(user, [conv], { dbName, token: await tokenExpiringIn(user, -25) });
    await online(leader.client, 'the first tab online');
    const follower = await makeClient(user, [conv], { dbName, token: await tokenExpiringIn(user, -25) });
    await online(follower.client, 'the following tab online');
    await until(() => leader.client.state === 'stopped', "the server to end the token's session", 15_000);
    const before = leader.events.states.length;
    leader.client.setToken(await tokenFor(user));
    // A tab whose host had not heard of that token yet asks for a restart with its expired one.
    const channel = new BroadcastChannel(tabGroupName(dbName, [conv]));
    channel.postMessage({ type: 'restart', token: await tokenExpiringIn(user, -120) });
    channel.close();
    await online(leader.client, 'the leader online with the newer token');
    // Straight there: no hello with the older token, refused with 4001 on the way.
    expect(leader.events.states.slice(before).map((s) => s.code)).to.not.include(4001);
    await leader.client.send(conv, 'after the restart');
    await until(() => allSent([leader.client, follower.client], conv, 1), 'delivered after the restart');
  });

  it('loses and doubles nothing when the leader closes in the middle of a burst', async () => {
    const conv = freshConv();
    const [leader, ...followers] = await threeTabs(conv);
    const clients = followers.map((t) => t.client);
    const texts = Array.from({ length: 30 }, (_, i) => `b${i}`);
    const sending = (async () => {
      for (const [i, text] of texts.entries()) await clients[i % 2].send(conv, text);
    })();
    await until(() => sentTexts(clients[0], conv).length >= 3, 'part of the burst sent');
    await leader.client.stop();
    await sending;
    await until(() => allSent(clients, conv, 30), 'the whole burst sent in both remaining tabs', 20_000);
    const reader = await makeClient(freshUser('carol'), [conv]);
    await until(() => sentTexts(reader.client, conv).length === 30, 'the other member caught up');
    expect(sentTexts(reader.client, conv)).to.deep.equal(texts);
    for (const c of clients) expect(sentTexts(c, conv)).to.deep.equal(texts);
  });

  it('lets a following tab page back to the first message, through the leader when the cache runs out', async () => {
    const conv = freshConv();
    await seedMessages(conv, 450);
    const [leader, follower] = await threeTabs(conv);
    expect(leader!.client.items(conv).length).to.be.below(450);
    const seqsOf = (client: ImbedClient) => client.items(conv).map((i) => i.seq);
    for (let page = 0; page < 20 && seqsOf(follower!.client)[0] !== 1; page++) {
      if (!(await follower!.client.loadOlder(conv))) break;
    }
    expect(seqsOf(follower!.client)).to.deep.equal([...Array(450).keys()].map((i) => i + 1));
    // The leader's own view has no gap: it took in what the store held before fetching the page before it.
    const own = seqsOf(leader!.client);
    expect(own).to.deep.equal([...Array(own.length).keys()].map((i) => 451 - own.length + i));
  });

  it('lets following tabs retry and discard a refused message, in the shared outbox', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const tabs = await threeTabs(conv, {}, dbName);
    const clients = tabs.map((t) => t.client);
    // Every tab knows the server's text limit, heard by the one holding the connection.
    await until(() => clients.every((c) => c.state === 'online'), 'every tab online');
    expect(clients.map((c) => c.maxText)).to.deep.equal([1000, 1000, 1000]);
    const tooLong = await clients[2].send(conv, 'x'.repeat(1001)).then(() => null, (e: { code?: string }) => e);
    expect(tooLong?.code).to.equal('TEXT_TOO_LONG');
    const long = await clients[1].send(conv, REFUSED_TEXT);
    await until(() => clients.every((c) => c.items(conv)[0]?.status === 'failed'), 'the refusal shown in every tab');
    expect(tabs[2].events.errors.map((e) => [e.code, e.cmid])).to.deep.equal([['REJECTED', long.cmid]]);

    await clients[2].retry(long.cmid);
    await until(() => tabs[2].events.errors.length === 2, 'refused again after the retry');
    await until(() => clients.every((c) => c.items(conv)[0]?.status === 'failed'), 'failed again in every tab');
    await clients[1].discard(long.cmid);
    await until(() => clients.every((c) => c.items(conv).length === 0), 'the discarded item gone from every tab');
    expect(await readOutbox(dbName)).to.deep.equal([]);
  });

  it('sends what a client of other conversations left in the shared outbox, and tells nobody here of that conversation', async () => {
    const [mine, theirs] = [freshConv(), freshConv()];
    const dbName = freshDb();
    const user = freshUser('alice');
    // A page of the other conversation, offline: its message waits in the database's outbox.
    const other = await makeClient(user, [theirs], { dbName, url: DEAD_URL });
    await other.client.send(theirs, 'left in the outbox');
    await other.client.send(theirs, REFUSED_TEXT);
    await other.client.stop();
    const here = await makeClient(user, [mine], { dbName });
    await online(here.client, 'the client of the other conversation online');
    const changes: string[] = [];
    here.client.addEventListener('change', (e) => changes.push(e.detail.conv));
    const reader = await makeClient(freshUser('bob'), [theirs]);
    await until(() => sentTexts(reader.client, theirs).includes('left in the outbox'), 'the waiting message delivered');
    await reader.client.send(theirs, 'an answer there');
    await until(() => sentTexts(reader.client, theirs).length === 2, 'the answer stored');
    await here.client.send(mine, 'a message here');
    await until(() => allSent([here.client], mine, 1), 'the own message sent');
    expect((await readOutbox(dbName)).map((r) => [r.text, r.status])).to.deep.equal([[REFUSED_TEXT, 'failed']]);
    expect(here.events.messages.map((m) => m.conv)).to.not.include(theirs);
    expect(here.events.errors).to.deep.equal([]);
    expect(changes).to.not.include(theirs);
  });

  it('gives each client its own socket with multiTab: false, and the server dedupes the shared outbox', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const writer = await makeClient(user, [conv], { url: DEAD_URL, dbName, multiTab: false });
    const texts = ['q1', 'q2', 'q3', 'q4', 'q5'];
    for (const text of texts) await writer.client.send(conv, text);
    await writer.client.stop();

    tap = tapSockets();
    // Started together, each loads the same outbox and sends it on a socket of its own.
    const tabs = await Promise.all([1, 2, 3].map(() => makeClient(user, [conv], { dbName, multiTab: false })));
    const clients = tabs.map((t) => t.client);
    await until(() => allSent(clients, conv, 5), 'the outbox sent in every client');
    expect(tap.sockets).to.equal(3);
    for (const c of clients) expect(c.items(conv).map((i) => [i.text, i.seq])).to.deep.equal(texts.map((t, i) => [t, i + 1]));
    const reader = await makeClient(freshUser('carol'), [conv]);
    await until(() => sentTexts(reader.client, conv).length === 5, 'the other member caught up');
    expect(sentTexts(reader.client, conv)).to.deep.equal(texts);
    expect(await readOutbox(dbName)).to.deep.equal([]);
  });
});
