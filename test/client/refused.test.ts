import { expect } from '@esm-bundle/chai';
import { freshConv, tokenFor, until } from '../browser-support/server.js';
import { LIMITS } from '../../src/client/index.js';
import { REFUSED_TEXT } from '../support/refused-text.js';
import { DEAD_URL, freshDb, freshUser, makeClient, online, readOutbox, sentTexts, stopAll, tapSockets, type SocketTap } from './support.js';

// The test server's maxText is 1000 (test/support/imbed-server-plugin.ts); the protocol's is 4000, which
// is all the client checks before it has heard the server's limit.
const LONG = 'x'.repeat(1500);

describe('messages the server refuses', () => {
  let tap: SocketTap | null = null;
  afterEach(async () => {
    tap?.restore();
    tap = null;
    await stopAll();
  });

  it('marks the item failed with the server\'s code, keeps draining, and does not retry by itself', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const alice = await makeClient(freshUser('alice'), [conv], { dbName });
    const bob = await makeClient(freshUser('bob'), [conv]);
    await online(alice.client);
    await alice.client.send(conv, 'before');
    const long = await alice.client.send(conv, REFUSED_TEXT);
    await alice.client.send(conv, 'after');
    await until(() => alice.client.pendingCount() === 0, 'outbox settled');

    expect(sentTexts(alice.client, conv)).to.deep.equal(['before', 'after']);
    const failed = alice.client.items(conv).find((i) => i.cmid === long.cmid)!;
    expect(failed.status).to.equal('failed');
    expect(failed.error?.code).to.equal('REJECTED');
    expect(failed.error?.message).to.contain('refuses texts marked');
    expect(alice.events.errors).to.have.length(1);
    expect(alice.events.errors[0]).to.include({ code: 'REJECTED', cmid: long.cmid, fatal: false, retryable: false });
    expect((await readOutbox(dbName)).map((r) => [r.cmid, r.status])).to.deep.equal([[long.cmid, 'failed']]);

    // A later message goes through while the failed one stays failed, not resent.
    await alice.client.send(conv, 'later');
    await until(() => sentTexts(bob.client, conv).length === 3, 'bob has three messages');
    expect(sentTexts(bob.client, conv)).to.deep.equal(['before', 'after', 'later']);
    expect(alice.events.errors).to.have.length(1);
  });

  it('drops an item another client of the database discarded once the server refuses it here, without sending it again', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    // Clients that follow the same database without a tab group between them (as tabs of other
    // conversations are): each holds its own copy of the outbox.
    const writer = await makeClient(user, [conv], { dbName, url: DEAD_URL, multiTab: false });
    await writer.client.ready;
    const refused = await writer.client.send(conv, REFUSED_TEXT);
    let letIn!: () => void;
    const gate = new Promise<void>((resolve) => (letIn = resolve));
    const token = await tokenFor(user, 'alice');
    const late = await makeClient(user, [conv], { dbName, multiTab: false, token: undefined, tokenProvider: () => gate.then(() => token) });
    await late.client.ready;
    expect(late.client.items(conv).map((i) => i.status)).to.deep.equal(['pending']);
    const first = await makeClient(user, [conv], { dbName, multiTab: false });
    await until(() => first.client.items(conv)[0]?.status === 'failed', 'refused for the first client');
    await first.client.discard(refused.cmid);

    letIn();
    await online(late.client);
    await until(() => late.client.items(conv).length === 0, 'the discarded item gone from the late client');
    await new Promise((r) => setTimeout(r, 500));
    expect(late.events.errors.filter((e) => e.cmid === refused.cmid)).to.have.length(1);
    expect(late.client.items(conv)).to.deep.equal([]);
    expect(await readOutbox(dbName)).to.deep.equal([]);
  });

  it('lets a failed item be retried (it fails again) and discarded', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const alice = await makeClient(freshUser('alice'), [conv], { dbName });
    await online(alice.client);
    const long = await alice.client.send(conv, REFUSED_TEXT);
    await until(() => alice.events.errors.length === 1, 'refused once');

    await alice.client.retry(long.cmid);
    await until(() => alice.events.errors.length === 2, 'refused again after retry');
    expect(alice.client.items(conv).map((i) => i.status)).to.deep.equal(['failed']);

    // A discard called after a retry finds the item pending again: it refuses, whenever it was called.
    const retried = alice.client.retry(long.cmid);
    let refusal: unknown;
    await alice.client.discard(long.cmid).catch((e: unknown) => (refusal = e));
    await retried;
    expect(String(refusal)).to.contain('only failed items can be discarded');
    await until(() => alice.events.errors.length === 3, 'refused again after the second retry');

    await alice.client.discard(long.cmid);
    expect(alice.client.items(conv)).to.deep.equal([]);
    expect(await readOutbox(dbName)).to.deep.equal([]);
  });

  it('takes on the server\'s text limit from welcome, and refuses longer text before storing it', async () => {
    const conv = freshConv();
    const dbName = freshDb();
    const user = freshUser('alice');
    // Before any welcome the protocol's limit is all the client knows: a longer text it queues now is
    // the server's to refuse.
    const offline = await makeClient(user, [conv], { url: DEAD_URL, dbName });
    expect(offline.client.maxText).to.equal(LIMITS.maxText);
    const queued = await offline.client.send(conv, LONG);
    await offline.client.stop();

    const alice = await makeClient(user, [conv], { dbName });
    await online(alice.client);
    expect(alice.client.maxText).to.equal(1000);
    const refused = await alice.client.send(conv, 'y'.repeat(1001)).then(() => null, (e: { code?: string }) => e);
    expect(refused?.code).to.equal('TEXT_TOO_LONG');
    await alice.client.send(conv, 'z'.repeat(1000));
    await until(() => alice.client.pendingCount() === 0, 'outbox settled');
    const items = alice.client.items(conv);
    expect(items.map((i) => [i.text.length, i.status, i.error?.code]).sort()).to.deep.equal([
      [1000, 'sent', undefined],
      [1500, 'failed', 'TEXT_TOO_LONG'],
    ]);
    expect((await readOutbox(dbName)).map((r) => r.cmid)).to.deep.equal([queued.cmid]);
  });

  it('keeps to the protocol\'s text limit when a server states a higher one', async () => {
    const conv = freshConv();
    tap = tapSockets();
    // 30,000 characters of CJK text would be a frame over limits.maxFrame: the server would close with 1009.
    tap.rewriteIncoming = (f) => (f.type === 'welcome' ? { ...f, limits: { ...(f.limits as object), maxText: 30_000 } } : f);
    const alice = await makeClient(freshUser('alice'), [conv]);
    await online(alice.client);
    expect(alice.client.maxText).to.equal(LIMITS.maxText);
    const refused = await alice.client.send(conv, '字'.repeat(LIMITS.maxText + 1)).then(() => null, (e: { code?: string }) => e);
    expect(refused?.code).to.equal('TEXT_TOO_LONG');
  });

  it('keeps an item pending after a retryable refusal and sends it again after a pause, not in a loop', async () => {
    const conv = freshConv();
    tap = tapSockets();
    let refusals = 0;
    // The first answer to the send becomes INTERNAL (retryable), as if the server's storage had hiccuped.
    tap.rewriteIncoming = (f) => {
      if (f.type !== 'sent' || f.conv !== conv || refusals > 0) return f;
      refusals += 1;
      return { type: 'error', code: 'INTERNAL', message: 'storage failed', ref: f.cmid, retryable: true };
    };
    const alice = await makeClient(freshUser('alice'), [conv]);
    await online(alice.client);
    const item = await alice.client.send(conv, 'again');
    await until(() => refusals === 1, 'refused once');
    expect(alice.client.items(conv).map((i) => i.status)).to.deep.equal(['pending']);
    await until(() => alice.client.pendingCount() === 0, 'sent on the second try');
    expect(alice.client.items(conv).map((i) => [i.cmid, i.seq, i.status])).to.deep.equal([[item.cmid, 1, 'sent']]);
    expect(tap.sent.filter((f) => f.type === 'send').map((f) => f.cmid)).to.deep.equal([item.cmid, item.cmid]);
    expect(alice.events.errors).to.deep.equal([]);
  });
});
