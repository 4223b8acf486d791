import { expect } from '@esm-bundle/chai';
import { LeaderElection, tabGroupName } from '../../src/client/leader.js';
import { JOIN_TIMEOUT } from '../../src/client/tab-group.js';
import { freshConv, until } from '../browser-support/server.js';
import { firstTab, freshDb, freshUser, makeClient, online, sentTexts, stopAll, tapSockets, type SocketTap } from './support.js';

// A client whose tab group's lock is held by a client it never meets on its database's channel
// (database-peers.ts): a tab of a build from before that channel existed, or one whose `here` and `also`
// were lost. Such a holder leads, so the client must start its group and follow it, or run a socket of its
// own when nobody answers, rather than wait for a meeting that never comes.

const releases: Array<() => void> = [];

/** Takes the Web Lock `name` for this page and holds it until the test ends, as another tab's leader would. */
function holdLock(name: string): Promise<void> {
  return new Promise((held) => {
    void navigator.locks.request(name, () => new Promise<void>((release) => (releases.push(release), held())));
  });
}

describe('a tab whose group lock is held by a client that never says here', () => {
  let tap: SocketTap | null = null;
  let channel: BroadcastChannel | null = null;
  let restorePost: (() => void) | null = null;
  afterEach(async () => {
    tap?.restore();
    tap = null;
    channel?.close();
    channel = null;
    restorePost?.();
    restorePost = null;
    await stopAll();
    for (const release of releases.splice(0)) release();
  });

  it('runs a socket of its own once the holder has not answered within the join deadline, and delivers in order', async () => {
    tap = tapSockets();
    const conv = freshConv();
    const dbName = freshDb();
    await holdLock(tabGroupName(dbName, [conv]));
    const tab = await makeClient(freshUser('alice'), [conv], { dbName });
    await tab.client.send(conv, 'past a silent holder');
    await until(() => sentTexts(tab.client, conv).length === 1, 'the message delivered by the tab itself', JOIN_TIMEOUT + 10_000);
    expect(tap.sockets, 'sockets opened').to.equal(1);

    // Not alone on its database (the holder may have stored items it has yet to read back), so a new
    // item goes out only once its outbox write is done, after a read-back.
    const framesOutWhenStored: number[] = [];
    const original = IDBObjectStore.prototype.add;
    IDBObjectStore.prototype.add = function (this: IDBObjectStore, ...args: Parameters<typeof original>) {
      const request = original.apply(this, args);
      if (this.name === 'outbox') request.addEventListener('success', () => framesOutWhenStored.push(tap!.sent.filter((f) => f.type === 'send').length));
      return request;
    };
    try {
      await tab.client.send(conv, 'after its write');
    } finally {
      IDBObjectStore.prototype.add = original;
    }
    expect(framesOutWhenStored, 'send frames out when the second item was stored').to.deep.equal([1]);
    await until(() => sentTexts(tab.client, conv).length === 2, 'the second message delivered');

    const reader = await makeClient(freshUser('carol'), [conv]);
    await until(() => sentTexts(reader.client, conv).length === 2, 'the other member got both');
    expect(sentTexts(reader.client, conv)).to.deep.equal(['past a silent holder', 'after its write']);
  });

  it('follows a holder of an older build, which answers join on the tab channel, and opens no socket', async () => {
    tap = tapSockets();
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    const name = tabGroupName(dbName, [conv]);
    await holdLock(name);
    // What a leader of a build from before database-peers.ts says: its group always ran.
    const heard: string[] = [];
    channel = new BroadcastChannel(name);
    channel.onmessage = ({ data }: MessageEvent<{ type: string }>) => {
      heard.push(data.type);
      if (data.type === 'join') {
        channel!.postMessage({ type: 'state', leader: 'older-build', change: { from: 'syncing', to: 'online', reason: 'caught up' }, user, name: 'alice' });
      }
    };
    const tab = await makeClient(user, [conv], { dbName });
    await online(tab.client, 'the tab online, following the holder');
    // After `join`, `outbox`: an older build's leader reads the outbox back only when told, and this tab
    // may have stored items before its group started. Then its token, which an older leader ignores.
    expect(heard).to.deep.equal(['join', 'outbox', 'token']);

    // Still a follower past the join deadline: the holder answered.
    await new Promise((resolve) => setTimeout(resolve, JOIN_TIMEOUT + 500));
    expect(tab.client.state).to.equal('online');
    await tab.client.send(conv, 'for the holder to send');
    await until(() => heard.filter((type) => type === 'outbox').length === 2, 'the holder told of the new outbox item');
    expect(tap.sockets, 'sockets opened').to.equal(0);
  });

  it('runs a socket of its own when the leader of this build never met it, and both tabs deliver', async () => {
    // The database channel loses every `here` and `also`: the two tabs never meet.
    const post = BroadcastChannel.prototype.postMessage;
    BroadcastChannel.prototype.postMessage = function (this: BroadcastChannel, message: unknown) {
      if (!this.name.startsWith('imbed-db:')) post.call(this, message);
    };
    restorePost = () => (BroadcastChannel.prototype.postMessage = post);
    tap = tapSockets();
    const { conv, dbName, user, first } = await firstTab('the first tab online, leading');
    const second = await makeClient(user, [conv], { dbName });
    await second.client.send(conv, 'from the second');
    await first.client.send(conv, 'from the first');
    await until(() => sentTexts(second.client, conv).includes('from the second'), 'the second tab delivered its message', JOIN_TIMEOUT + 10_000);
    expect(tap.sockets, 'a socket in each tab').to.equal(2);

    const reader = await makeClient(freshUser('carol'), [conv]);
    await until(() => sentTexts(reader.client, conv).length === 2, 'the other member got both');
    expect([...sentTexts(reader.client, conv)].sort()).to.deep.equal(['from the first', 'from the second']);
  });
});

describe('a tab whose browser refuses the Web Lock request', () => {
  afterEach(async () => {
    delete (navigator.locks as { request?: unknown }).request;
    await stopAll();
  });

  it('leads without the lock rather than wait for good, and delivers', async () => {
    // As a document that is not fully active, or whose storage the browser denies, is answered.
    navigator.locks.request = () => Promise.reject(new DOMException('the request was denied', 'SecurityError'));
    const conv = freshConv();
    const { client } = await makeClient(freshUser('alice'), [conv]);
    await online(client, 'the client online without the lock');
    await client.send(conv, 'no lock needed');
    await until(() => sentTexts(client, conv).includes('no lock needed'), 'the message sent');
  });

  it('does not lead beside the holder when the browser answered and its own callback failed', async () => {
    // The browser answers that the lock is held, and lets the place in line wait.
    navigator.locks.request = ((_name: string, options: LockOptions, callback: LockGrantedCallback<unknown>) =>
      options.ifAvailable ? Promise.resolve().then(() => callback(null)) : new Promise(() => {})) as LockManager['request'];
    let leads = 0;
    const election = new LeaderElection('imbed-leader:failing-callback', () => (leads += 1), () => {
      throw new Error('onTaken failed');
    });
    // Absence can only be shown by waiting: far longer than the stubbed answer takes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([leads, election.won]).to.deep.equal([0, false]);
    election.stop();
  });
});

describe('a leading tab that cannot run', () => {
  it('loses the lock to a client that takes it over, hears so, and leaves nothing of either in line', async () => {
    const name = `imbed-leader:take-over-${freshConv()}`;
    const events: string[] = [];
    const candidate = (who: string) =>
      new LeaderElection(name, () => events.push(`${who} leads`), () => events.push(`${who} waits`), () => events.push(`${who} lost`));
    const a = candidate('a');
    await until(() => a.won, 'a to lead');
    const b = candidate('b');
    await until(() => events.includes('b waits'), 'b in line');
    b.takeOver();
    await until(() => b.won && events.includes('a lost'), 'b to lead, and a to hear that it lost');
    expect([a.won, b.won]).to.deep.equal([false, true]);
    expect(events.filter((event) => event.endsWith('leads'))).to.deep.equal(['a leads', 'b leads']);
    a.stop();
    b.stop();
    // Neither left a place in line that would take the lock: the next client leads at once.
    const c = candidate('c');
    await until(() => c.won, 'c to lead');
    expect(events.filter((event) => event.endsWith('leads'))).to.deep.equal(['a leads', 'b leads', 'c leads']);
    c.stop();
  });
});
