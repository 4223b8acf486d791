import { expect } from '@esm-bundle/chai';
import { executeServerCommand } from '@web/test-runner-commands';
import '../../src/ui/imbed-chat.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';
import type { LimitsConfig } from '../../src/server/limits.js';
import { freshConv, until } from '../browser-support/server.js';
import { DEAD_URL, freshDb, freshUser, makeClient, online, sentTexts, stopAll, tapSockets } from './support.js';

/** Starts the test runner's second server, enforcing `limits` only; resolves with its WebSocket URL. */
async function limitedServer(limits: Partial<LimitsConfig>): Promise<string> {
  return ((await executeServerCommand('imbed-server', { action: 'start-limited', limits })) as { url: string }).url;
}

/** A server allowing one connection per user, and a user whose client elsewhere holds it. */
async function connectionTaken(): Promise<{ url: string; conv: string; user: string }> {
  const url = await limitedServer({ connectionsPerUser: 1 });
  const conv = freshConv();
  const user = freshUser('alice');
  const elsewhere = await makeClient(user, [conv], { url, storage: 'memory' });
  await online(elsewhere.client);
  return { url, conv, user };
}

describe('server limits', () => {
  const mounted: HTMLElement[] = [];
  afterEach(async () => {
    for (const el of mounted.splice(0)) el.remove();
    await stopAll();
    await executeServerCommand('imbed-server', { action: 'stop-limited' });
  });

  it('waits out RATE_LIMITED and delivers every message once, in order', async () => {
    // Ten messages a second after a burst of three: the outbox of twelve is refused, then paced. The
    // frame rate makes the client keep at most ten sends in flight.
    const url = await limitedServer({ framesPerSecond: 10, messagesPerMinute: 600, messagesBurst: 3 });
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv], { url });
    const bob = await makeClient(freshUser('bob'), [conv], { url });
    await online(alice.client);
    const texts = Array.from({ length: 12 }, (_, i) => `m${i}`);
    for (const text of texts) await alice.client.send(conv, text);

    await until(() => sentTexts(bob.client, conv).length === texts.length, 'bob has every message', 20_000);
    expect(sentTexts(bob.client, conv)).to.deep.equal(texts);
    expect(bob.client.items(conv).map((i) => i.seq)).to.deep.equal(texts.map((_, i) => i + 1), 'each stored once');
    await until(() => alice.client.pendingCount() === 0, 'alice\'s outbox empty');
    expect(sentTexts(alice.client, conv)).to.deep.equal(texts);
    const refusals = alice.events.errors.filter((e) => e.code === 'RATE_LIMITED');
    expect(refusals.length).to.be.greaterThan(0, 'the server did refuse some');
    expect(refusals.every((e) => e.retryable && !e.fatal)).to.equal(true);
    expect(alice.client.items(conv).some((i) => i.status === 'failed')).to.equal(false, 'nothing failed for rate');
  });

  it('keeps draining the outbox after every send in flight is refused for good (SPAM)', async () => {
    // A frame rate of 10 keeps at most ten sends in flight; a text may be sent once a minute. The outbox is
    // written before the client ever reaches the server, so the first window is sent in one go: once the
    // first copy is acknowledged, the ten sends in flight are all repeats, each refused as SPAM.
    const url = await limitedServer({ framesPerSecond: 10, identicalTexts: { count: 1, windowMs: 60_000 } });
    const conv = freshConv();
    const user = freshUser('alice');
    const dbName = freshDb();
    const offline = await makeClient(user, [conv], { url: DEAD_URL, dbName });
    await offline.client.ready;
    const repeats = Array.from({ length: 11 }, () => 'same again');
    for (const text of [...repeats, 'after one', 'after two']) await offline.client.send(conv, text);
    await offline.client.stop();

    const alice = await makeClient(user, [conv], { url, dbName });
    await alice.client.ready;
    expect(alice.client.pendingCount(conv)).to.equal(13);
    await until(() => alice.client.pendingCount() === 0, 'the outbox drained past the refused items', 15_000);
    expect(sentTexts(alice.client, conv)).to.deep.equal(['same again', 'after one', 'after two']);
    const failed = alice.client.items(conv).filter((i) => i.status === 'failed');
    expect(failed.map((i) => i.error?.code)).to.deep.equal(Array(10).fill('SPAM'));
    expect(alice.events.errors.filter((e) => e.code === 'RATE_LIMITED')).to.deep.equal([], 'within the frame rate, so never paced');
  });

  it('tells the person in the banner that it is waiting, and keeps the messages pending', async () => {
    // One message a second, no burst beyond one: the second and third wait about a second each.
    const url = await limitedServer({ messagesPerMinute: 60, messagesBurst: 1 });
    const conv = freshConv();
    const alice = await makeClient(freshUser('alice'), [conv], { url });
    await online(alice.client);
    const el = document.createElement('imbed-chat') as ImbedChat;
    el.conversation = conv;
    el.client = alice.client;
    document.body.append(el);
    mounted.push(el);

    for (const text of ['one', 'two', 'three']) await alice.client.send(conv, text);
    const banner = () => el.shadowRoot?.querySelector('[part="banner-status"]');
    let seen = '';
    let spoken = '';
    await until(() => {
      seen = banner()?.querySelector('[aria-hidden="true"]')?.textContent ?? '';
      spoken = banner()?.querySelector('.visually-hidden')?.textContent ?? '';
      return seen.includes('Sending too fast');
    }, 'the waiting notice');
    // On screen the wait counts down with the messages waiting; a screen reader hears it once, as the
    // server gave it, without the count that falls as each message gets through.
    expect(seen).to.match(/^Sending too fast — waiting \d+ s — \d+ messages? waiting to send$/);
    expect(spoken).to.match(/^Sending too fast — waiting \d+ s$/);
    expect(alice.client.items(conv).filter((i) => i.status === 'pending').length).to.be.greaterThan(0);

    await until(() => alice.client.pendingCount() === 0, 'all sent', 20_000);
    expect(sentTexts(alice.client, conv)).to.deep.equal(['one', 'two', 'three']);
  });

  it('catches up a hundred conversations at the default frame rate on one connection', async function () {
    this.timeout(120_000);
    const url = await limitedServer({ framesPerSecond: 20 });
    const convs = Array.from({ length: 100 }, () => freshConv());
    const writer = await makeClient(freshUser('bob'), convs, { url, storage: 'memory' });
    await online(writer.client);
    for (const conv of convs) await writer.client.send(conv, `hello ${conv}`);
    await until(() => writer.client.pendingCount() === 0, 'every message stored', 60_000);
    await writer.client.stop();

    const tap = tapSockets();
    try {
      const reader = await makeClient(freshUser('alice'), convs, { url, storage: 'memory' });
      await until(() => convs.every((conv) => reader.client.items(conv).length === 1), 'every conversation caught up', 60_000);
      // Before, every refused sync was asked again together, until the server closed the flood with 1008.
      expect(reader.events.states.filter((s) => s.to === 'offline').map((s) => s.code)).to.deep.equal([]);
      expect(tap.sockets).to.equal(1);
      expect(tap.sent.filter((f) => f.type === 'sync').length).to.be.below(200);
    } finally {
      tap.restore();
    }
  });

  it('keeps the wait TOO_MANY_CONNECTIONS asked of a leading tab when another tab of its group is shown again', async () => {
    const { url, conv, user } = await connectionTaken();
    const dbName = freshDb();
    const leader = await makeClient(user, [conv], { url, dbName });
    const refusedAttempts = () => leader.events.states.filter((s) => s.code === 4029).length;
    await until(() => refusedAttempts() === 1, 'the refused attempt');
    const follower = await makeClient(user, [conv], { url, dbName });
    await until(() => follower.events.states.some((s) => s.to === 'offline'), 'the follower to take the group\'s state');
    // Its page shown again: it asks the leader to try now, which leaves the server's time as it is.
    document.dispatchEvent(new Event('visibilitychange'));
    await new Promise((r) => setTimeout(r, 1500));
    expect(refusedAttempts()).to.equal(1, 'no attempt before retryAfter');
    // Its person's "Retry now" does not wait.
    follower.client.reconnect();
    await until(() => refusedAttempts() === 2, 'the attempt the person asked for');
  });

  it('reconnects no sooner than TOO_MANY_CONNECTIONS says, and says so in the banner', async () => {
    const { url, conv, user } = await connectionTaken();
    const second = await makeClient(user, [conv], { url, storage: 'memory' });
    const el = document.createElement('imbed-chat') as ImbedChat;
    el.conversation = conv;
    el.client = second.client;
    document.body.append(el);
    mounted.push(el);

    await until(() => second.events.errors.some((e) => e.code === 'TOO_MANY_CONNECTIONS'), 'the refusal');
    const refusal = second.events.errors.find((e) => e.code === 'TOO_MANY_CONNECTIONS') as { retryAfter?: number };
    expect(refusal.retryAfter).to.be.greaterThan(0);
    await until(() => (el.shadowRoot?.querySelector('[part="banner-status"]')?.textContent ?? '').includes('Too many connections'), 'the notice');
    const refusedAttempts = () => second.events.states.filter((s) => s.code === 4029).length;
    // The error frame is reported before the close behind it arrives, so the close may come a little later.
    await until(() => refusedAttempts() === 1, 'the refused attempt closed with 4029');
    // Several of the client's own backoffs (100-1000 ms here) later, it is still waiting as told, also
    // after the browser's hints that would end a backoff (the page shown again, the network back).
    await new Promise((r) => setTimeout(r, 1000));
    document.dispatchEvent(new Event('visibilitychange'));
    window.dispatchEvent(new Event('online'));
    // The network gone and back: the connection made anew keeps the server's time too.
    window.dispatchEvent(new Event('offline'));
    await new Promise((r) => setTimeout(r, 100));
    window.dispatchEvent(new Event('online'));
    await new Promise((r) => setTimeout(r, 1500));
    expect(refusedAttempts()).to.equal(1, 'no attempt before retryAfter');
    expect(second.client.state).to.equal('offline');
    // "Retry now" tries at once: the countdown of the wait it cuts short goes, until the server answers again.
    const status = () => el.shadowRoot?.querySelector('[part="banner-status"]')?.textContent ?? '';
    el.shadowRoot!.querySelector<HTMLButtonElement>('[part="banner-retry"]')!.click();
    await el.updateComplete;
    expect(status()).to.not.include('Too many connections');
    await until(() => refusedAttempts() === 2, 'the second attempt, refused too');
    await until(() => status().includes('Too many connections'), 'the notice again');
  });
});
