import { expect } from '@esm-bundle/chai';
import { executeServerCommand } from '@web/test-runner-commands';
import { freshConv, seedMessages, startServer, stopServer, until } from '../browser-support/server.js';
import { freshDb, freshUser, makeClient, online, readStore, sentTexts, stopAll, tapSockets, type SocketTap } from './support.js';

/** Sends `count` numbered messages and waits until the server acknowledged them all. */
async function sendMany(client: import('../../src/client/index.js').ImbedClient, conv: string, count: number): Promise<string[]> {
  const texts = Array.from({ length: count }, (_, i) => `m${i + 1}`);
  await Promise.all(texts.map((t) => client.send(conv, t)));
  await until(() => client.pendingCount() === 0, `${count} messages acknowledged`, 60_000);
  return texts;
}

/**
 * Two tabs of `user` on one database, grouped while the server is away, then the server back: the leader
 * catches up with a follower already listening.
 */
async function twoTabsGroupedWhileAway(user: string, convs: string[], dbName: string): Promise<Awaited<ReturnType<typeof makeClient>>[]> {
  await stopServer();
  try {
    const tabs = [await makeClient(user, convs, { dbName }), await makeClient(user, convs, { dbName })];
    await until(() => tabs.every((t) => t.events.states.length > 0), 'both tabs to report a state');
    await new Promise((r) => setTimeout(r, 500));
    return tabs;
  } finally {
    await startServer();
  }
}

describe('catching up', () => {
  let tap: SocketTap | null = null;
  afterEach(async () => {
    tap?.restore();
    tap = null;
    await stopAll();
  });

  it('catches up 450 messages page by page after being away', async function () {
    this.timeout(90_000);
    const conv = freshConv();
    const dbName = freshDb();
    const alice = freshUser('alice');
    const away = await makeClient(alice, [conv], { dbName });
    const bob = await makeClient(freshUser('bob'), [conv]);
    await online(away.client);
    await bob.client.send(conv, 'm0');
    await until(() => sentTexts(away.client, conv).length === 1, 'alice has the first message');
    await away.client.stop();

    const texts = ['m0', ...(await sendMany(bob.client, conv, 450))];

    tap = tapSockets();
    const back = await makeClient(alice, [conv], { dbName });
    await online(back.client, 'alice back online', 60_000);
    expect(sentTexts(back.client, conv)).to.deep.equal(texts);
    expect(back.client.items(conv).map((i) => i.seq)).to.deep.equal(texts.map((_, i) => i + 1));
    const syncs = tap.sent.filter((f) => f.type === 'sync');
    // The first page starts at the message alice held, to check the server's is the same one.
    expect(syncs.map((f) => f.after)).to.deep.equal([0, 200, 400]);
    expect(back.events.messages.map((m) => m.seq)).to.deep.equal(texts.slice(1).map((_, i) => i + 2));
  });

  it('raises no message events for the history a first visit loads, short or long, and does for what arrives after', async function () {
    this.timeout(60_000);
    const [short, long] = [freshConv(), freshConv()];
    const bob = await makeClient(freshUser('bob'), [short, long]);
    await online(bob.client);
    await sendMany(bob.client, short, 5);
    await sendMany(bob.client, long, 250);
    const alice = freshUser('alice');
    const dbName = freshDb();
    const first = await makeClient(alice, [short, long], { dbName });
    await online(first.client);
    await until(() => first.client.items(short).length === 5 && first.client.items(long).length >= 200, 'both histories');
    // Each comes as its newest page, asked backward: history.
    expect(first.events.messages).to.deep.equal([]);
    await first.client.stop();

    await bob.client.send(short, 'while away');
    const back = await makeClient(alice, [short, long], { dbName });
    await online(back.client);
    await until(() => back.client.items(short).length === 6, 'the new message');
    expect(back.events.messages.map((m) => m.text)).to.deep.equal(['while away']);
    // Older messages it holds wait in its store; once stopped, the store is closed: nothing older can be
    // had, which is an answer, not a failure.
    await back.client.stop();
    expect(await back.client.loadOlder(long)).to.equal(false);
  });

  it('raises no message events for a first visit\'s history that the server cuts into several pages by size', async function () {
    this.timeout(60_000);
    // A server whose pages hold 8 KB at most (an eighth of its slow-reader limit): 20 messages of 1 KB
    // take three pages, though one page may hold 200 messages.
    const url = (await executeServerCommand('imbed-server', { action: 'start-limited', limits: { maxBufferedBytes: 64 * 1024 } })) as { url: string };
    try {
      const conv = freshConv();
      const bob = await makeClient(freshUser('bob'), [conv], { url: url.url, storage: 'memory' });
      await online(bob.client);
      const texts = Array.from({ length: 20 }, (_, i) => `${i + 1} ${'x'.repeat(990)}`);
      for (const text of texts) await bob.client.send(conv, text);
      await until(() => bob.client.pendingCount() === 0, 'the long messages acknowledged');
      const alice = await makeClient(freshUser('alice'), [conv], { url: url.url });
      await online(alice.client);
      await until(() => alice.client.items(conv).length > 0, 'the newest messages');
      while (await alice.client.loadOlder(conv));
      expect(sentTexts(alice.client, conv)).to.deep.equal(texts);
      await bob.client.send(conv, 'news');
      await until(() => alice.client.items(conv).length === 21, 'the news');
      expect(alice.events.messages.map((m) => m.text.slice(0, 8))).to.deep.equal(['news']);
    } finally {
      await stopAll();
      await executeServerCommand('imbed-server', { action: 'stop-limited' });
    }
  });

  it('raises message events for what arrived meanwhile in a conversation that was empty when this device last had it open', async function () {
    this.timeout(90_000);
    const [few, many] = [freshConv(), freshConv()];
    const alice = freshUser('alice');
    const dbName = freshDb();
    const first = await makeClient(alice, [few, many], { dbName });
    await online(first.client);
    await first.client.stop();
    // The mark: a cursor record at 0, which builds from before it read as nothing held.
    const marks = await readStore(dbName, 'cursors');
    expect(marks.sort((a, b) => a.conv.localeCompare(b.conv))).to.deep.equal([few, many].sort().map((conv) => ({ conv, after: 0, floor: 1 })));

    const bob = await makeClient(freshUser('bob'), [few, many]);
    await online(bob.client);
    const texts = await sendMany(bob.client, few, 2);
    // More than a page: its newest page, as history, as a first visit's (unread counts them).
    const long = await sendMany(bob.client, many, 250);
    tap = tapSockets();
    const back = await makeClient(alice, [few, many], { dbName });
    await online(back.client, 'alice back online', 60_000);
    expect(sentTexts(back.client, few)).to.deep.equal(texts);
    expect(back.events.messages.filter((m) => m.conv === few).map((m) => m.text)).to.deep.equal(texts);
    expect(tap.sent.filter((f) => f.type === 'sync' && f.conv === many).map((f) => f.before)).to.deep.equal([251]);
    expect(sentTexts(back.client, many)).to.deep.equal(long.slice(50));
    expect(back.events.messages.filter((m) => m.conv === many)).to.deep.equal([]);
  });

  for (const storage of ['auto', 'memory'] as const) {
    it(`raises message events for what a reconnect catches up in a conversation that was empty (${storage})`, async function () {
      this.timeout(30_000);
      const conv = freshConv();
      const alice = await makeClient(freshUser('alice'), [conv], { storage });
      await online(alice.client);
      // Stored while alice is away, and never sent to her live.
      await stopServer();
      try {
        await seedMessages(conv, 2);
      } finally {
        await startServer();
      }
      await until(() => alice.client.items(conv).length === 2, 'the messages stored while away');
      expect(alice.events.messages.map((m) => m.seq)).to.deep.equal([1, 2]);
    });
  }

  it('raises message events once in every tab of a group for what arrived in a conversation that was empty when last open', async function () {
    this.timeout(60_000);
    const conv = freshConv();
    const alice = freshUser('alice');
    const dbName = freshDb();
    // Two tabs had it open while it was empty: the leader marked it known in the shared database.
    const before = [await makeClient(alice, [conv], { dbName }), await makeClient(alice, [conv], { dbName })];
    await until(() => before.every((t) => t.client.state === 'online'), 'both tabs online');
    await Promise.all(before.map((t) => t.client.stop()));

    const bob = await makeClient(freshUser('bob'), [conv], { storage: 'memory' });
    await online(bob.client);
    const texts = await sendMany(bob.client, conv, 3);
    // Back while the server is away.
    const tabs = await twoTabsGroupedWhileAway(alice, [conv], dbName);
    await until(() => tabs.every((t) => t.client.items(conv).length === 3), 'both tabs to hold the replies', 30_000);
    await bob.client.send(conv, 'news');
    await until(() => tabs.every((t) => t.client.items(conv).length === 4), 'the news in both tabs');
    expect(tabs.map((t) => t.events.messages.map((m) => m.text))).to.deep.equal([[...texts, 'news'], [...texts, 'news']]);
  });

  it('raises no message events in any tab of a group for a first visit\'s history, short or long, and does for news', async function () {
    this.timeout(60_000);
    const [short, long] = [freshConv(), freshConv()];
    const bob = await makeClient(freshUser('bob'), [short, long], { storage: 'memory' });
    await online(bob.client);
    await sendMany(bob.client, short, 3);
    await sendMany(bob.client, long, 250);
    const alice = freshUser('alice');
    const dbName = freshDb();
    const tabs = await twoTabsGroupedWhileAway(alice, [short, long], dbName);
    await until(() => tabs.every((t) => t.client.items(short).length === 3 && t.client.items(long).length >= 200), 'both tabs to hold both histories', 30_000);
    await bob.client.send(short, 'news');
    await until(() => tabs.every((t) => t.client.items(short).length === 4), 'the news in both tabs');
    // The leader stored the pages as history; the other tab read them back as such.
    expect(tabs.map((t) => t.events.messages.map((m) => m.text))).to.deep.equal([['news'], ['news']]);
  });

  it('raises a message event in every tab of a group for one that came live while a first visit\'s page was on its way', async function () {
    this.timeout(60_000);
    const conv = freshConv();
    const bob = await makeClient(freshUser('bob'), [conv], { storage: 'memory' });
    await online(bob.client);
    await sendMany(bob.client, conv, 3);
    const alice = freshUser('alice');
    const dbName = freshDb();
    // The leader's first sync waits until bob's next message has reached it live: the page then ends
    // with that message, which the leader already took as news.
    tap = tapSockets();
    const liveTap = tap;
    liveTap.holdOutgoing = (f) => f.type === 'sync';
    liveTap.rewriteIncoming = (f) => {
      if (f.type === 'msg' && f.text === 'live') {
        liveTap.holdOutgoing = () => false;
        setTimeout(() => liveTap.release(), 0);
      }
      return f;
    };
    const tabs = await twoTabsGroupedWhileAway(alice, [conv], dbName);
    await until(() => liveTap.sent.some((f) => f.type === 'sync'), "the leader's first sync");
    await bob.client.send(conv, 'live');
    await until(() => tabs.every((t) => t.client.items(conv).length === 4), 'both tabs to hold all four', 30_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(tabs.map((t) => t.events.messages.map((m) => m.text))).to.deep.equal([['live'], ['live']]);
  });

  it('reads back what another tab stored instead of skipping it, on one database without a shared socket', async function () {
    this.timeout(90_000);
    const conv = freshConv();
    const dbName = freshDb();
    const alice = freshUser('alice');
    tap = tapSockets();
    // The first tab misses messages 2..449 live; the second, on the same database, stores them all.
    tap.dropIncoming = (f) => f.type === 'msg' && (f.seq as number) >= 2 && (f.seq as number) <= 449;
    const first = await makeClient(alice, [conv], { dbName, multiTab: false });
    await online(first.client);
    tap.restore();
    const second = await makeClient(alice, [conv], { dbName, multiTab: false });
    await online(second.client);
    const bob = await makeClient(freshUser('bob'), [conv]);
    await online(bob.client);

    const texts = await sendMany(bob.client, conv, 450);
    await until(() => sentTexts(second.client, conv).length === 450, 'the second tab has everything', 60_000);
    await until(() => sentTexts(first.client, conv).length === 450, 'the first tab read back what it missed', 60_000);
    expect(sentTexts(first.client, conv)).to.deep.equal(texts);
    expect(first.events.messages.map((m) => m.seq).sort((a, b) => a - b)).to.deep.equal(texts.map((_, i) => i + 1));
  });

  it('fetches the missing messages when a live message arrives after a gap', async function () {
    this.timeout(90_000);
    const conv = freshConv();
    tap = tapSockets();
    // Messages 2..449 never reach alice live, as if lost: only 1 and 450 do.
    tap.dropIncoming = (f) => f.type === 'msg' && (f.seq as number) >= 2 && (f.seq as number) <= 449;
    const alice = await makeClient(freshUser('alice'), [conv]);
    await online(alice.client);
    tap.restore();
    const bob = await makeClient(freshUser('bob'), [conv]);
    await online(bob.client);

    const texts = await sendMany(bob.client, conv, 450);
    await until(() => sentTexts(alice.client, conv).length === 450, 'alice filled the gap', 60_000);
    expect(sentTexts(alice.client, conv)).to.deep.equal(texts);
    expect(tap.received.filter((f) => f.type === 'msg').length).to.equal(450);
    const syncs = tap.sent.filter((f) => f.type === 'sync');
    expect(syncs.length).to.be.at.least(3);
    expect(syncs[0].after).to.equal(1);
    // One `message` event per seq: 1 and 450 live, the rest from sync.
    const seen = alice.events.messages.map((m) => m.seq).sort((a, b) => a - b);
    expect(seen).to.deep.equal(texts.map((_, i) => i + 1));
  });
});
