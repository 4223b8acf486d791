import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_LIMITS, wordListFilter, type ImbedServer, type ImbedServerOptions, type MessageFilter } from '../../src/server/index.ts';
import { parseWordList } from '../../src/server/filter.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPort, newCmid, openSession, runCli, SECRET, signTestToken, startServer, tempDb, TestClient } from './helpers.ts';

const ctx = { user: 'alice', conv: 'c', session: 's', ip: '127.0.0.1' };
const msg = (text: string) => ({ conv: 'c', from: 'alice', name: 'Alice', text });

describe('wordListFilter', () => {
  it('rejects whole words in any case, with a reason that does not name them', () => {
    const filter = wordListFilter(['heck', 'Dang it'], { mode: 'reject' });
    const verdict = filter(msg('What the HECK?'), ctx);
    assert.equal(verdict.action, 'reject');
    assert.doesNotMatch((verdict as { reason: string }).reason, /heck/i);
    assert.equal(filter(msg('dang   IT all'), ctx).action, 'reject', 'a listed phrase matches across any white space');
    assert.deepEqual(filter(msg('checkmate, heckle'), ctx), { action: 'allow' }, 'only whole words');
  });

  it('masks each letter of a listed word and leaves the rest', () => {
    const filter = wordListFilter(['heck'], { mode: 'mask' });
    assert.deepEqual(filter(msg('Heck! oh heck, heckle'), ctx), { action: 'rewrite', text: '****! oh ****, heckle' });
  });

  it('treats letters of every script as word characters', () => {
    const filter = wordListFilter(['мат', 'ärger'], { mode: 'mask' });
    assert.deepEqual(filter(msg('Мат и ÄRGER'), ctx), { action: 'rewrite', text: '*** и *****' });
    assert.deepEqual(filter(msg('математика, Ärgernis'), ctx), { action: 'allow' });
  });

  it('reads a word list file: one entry per line, # comments and blank lines skipped', () => {
    assert.deepEqual(parseWordList('# words\nheck\r\n\n  dang it  \n'), ['heck', 'dang it']);
  });
});

describe('anti-spam and the message filter', () => {
  let tmp: ReturnType<typeof tempDb> | null = null;
  let server: ImbedServer | null = null;
  const clients: TestClient[] = [];

  async function serve(options: Partial<ImbedServerOptions>): Promise<void> {
    tmp = tempDb();
    server = await startServer(tmp.db, { limits: { ...NO_LIMITS, identicalTexts: { count: 3, windowMs: 30_000 } }, ...options });
  }

  async function session(user: string, convs: { conv: string; after: number }[] = []): Promise<TestClient> {
    const { client } = await openSession(server!, user, convs);
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await server?.close();
    server = null;
    tmp?.remove();
    tmp = null;
  });

  async function storedTexts(client: TestClient, conv: string): Promise<string[]> {
    client.send({ type: 'sync', conv, after: 0 });
    return (await client.next('history')).msgs.map((m) => m.text);
  }

  it('refuses the same text repeated past the limit as SPAM, comparing it trimmed, collapsed and in lower case', async () => {
    await serve({});
    const alice = await session('alice');
    const conv = 'spam-burst';
    for (const text of ['Buy now', '  buy   NOW ', 'BUY NOW']) alice.send({ type: 'send', conv, cmid: newCmid(), text });
    await alice.take('sent', 3);
    const cmid = newCmid();
    alice.send({ type: 'send', conv, cmid, text: 'buy now' });
    const error = await alice.next('error');
    assert.equal(error.code, 'SPAM');
    assert.equal(error.ref, cmid);
    assert.equal(error.retryable, false);
    alice.send({ type: 'send', conv, cmid: newCmid(), text: 'something else' });
    await alice.next('sent');
    assert.deepEqual(await storedTexts(alice, conv), ['Buy now', '  buy   NOW ', 'BUY NOW', 'something else']);
  });

  it('counts repeats per user', async () => {
    await serve({ limits: { ...NO_LIMITS, identicalTexts: { count: 1, windowMs: 30_000 } } });
    const alice = await session('alice');
    const bob = await session('bob');
    alice.send({ type: 'send', conv: 'spam-per-user', cmid: newCmid(), text: 'hi' });
    await alice.next('sent');
    bob.send({ type: 'send', conv: 'spam-per-user', cmid: newCmid(), text: 'hi' });
    await bob.next('sent');
  });

  it('answers a resend of the same cmid as a dup, not as spam', async () => {
    await serve({ limits: { ...NO_LIMITS, identicalTexts: { count: 1, windowMs: 30_000 } } });
    const alice = await session('alice');
    const cmid = newCmid();
    alice.send({ type: 'send', conv: 'spam-dup', cmid, text: 'once' });
    const first = await alice.next('sent');
    // Another connection, as after a reconnect that lost the ack.
    const again = await session('alice');
    again.send({ type: 'send', conv: 'spam-dup', cmid, text: 'once' });
    const dup = await again.next('sent');
    assert.equal(dup.dup, true);
    assert.equal(dup.seq, first.seq);
    assert.equal(again.received.some((f) => f.type === 'error'), false);
  });

  it('answers a resend of a stored message as a dup, not as spam, after its text became a repeat', async () => {
    await serve({ limits: { ...NO_LIMITS, identicalTexts: { count: 1, windowMs: 30_000 } } });
    const cmid = newCmid();
    const alice = await session('alice');
    alice.send({ type: 'send', conv: 'spam-dup-restart', cmid, text: 'ok' });
    const first = await alice.next('sent');
    // A restart forgets recent texts; the same text under a new cmid is then the one the window holds.
    await server!.close();
    server = await startServer(tmp!.db, { limits: { ...NO_LIMITS, identicalTexts: { count: 1, windowMs: 30_000 } } });
    const again = await session('alice');
    again.send({ type: 'send', conv: 'spam-dup-restart', cmid: newCmid(), text: 'ok' });
    await again.next('sent');
    again.send({ type: 'send', conv: 'spam-dup-restart', cmid, text: 'ok' });
    await again.roundTrip();
    assert.deepEqual(again.inbox.filter((f) => f.type === 'sent' || f.type === 'error'), [{ ...first, dup: true }]);
  });

  it('answers a resend of a stored message as a dup though the filter now rejects its text', async () => {
    let blocked = false;
    await serve({ filter: () => (blocked ? { action: 'reject', reason: 'not any more' } : { action: 'allow' }) });
    const alice = await session('alice');
    const cmid = newCmid();
    alice.send({ type: 'send', conv: 'filter-dup', cmid, text: 'fine then' });
    const first = await alice.next('sent');
    blocked = true;
    alice.send({ type: 'send', conv: 'filter-dup', cmid, text: 'fine then' });
    await alice.roundTrip();
    assert.deepEqual(alice.inbox.filter((f) => f.type === 'sent' || f.type === 'error'), [{ ...first, dup: true }]);
  });

  it('counts a send refused as SPAM or by the filter towards the message rate, one refused for its form not, and asks the filter nothing over the rate', async () => {
    let asked = 0;
    await serve({
      limits: { ...NO_LIMITS, messagesPerMinute: 1, messagesBurst: 3, identicalTexts: { count: 1, windowMs: 30_000 } },
      filter: (message) => {
        asked++;
        return message.text.includes('heck') ? { action: 'reject', reason: 'not here' } : { action: 'allow' };
      },
    });
    const alice = await session('alice');
    const texts = ['hello', 'hello', ...Array.from({ length: 5 }, () => ['x'.repeat(4001), '   ']).flat(), 'oh heck', 'fresh'];
    for (const text of texts) alice.send({ type: 'send', conv: 'spam-rate', cmid: newCmid(), text });
    await alice.roundTrip();
    const outcomes = alice.inbox.filter((f) => f.type === 'sent' || f.type === 'error').map((f) => (f.type === 'error' ? f.code : f.type));
    // A burst of three: the stored one, the repeat and the filtered one; the ten of the wrong form took none.
    assert.deepEqual(outcomes, ['sent', 'SPAM', ...Array.from({ length: 5 }, () => ['TEXT_TOO_LONG', 'TEXT_EMPTY']).flat(), 'REJECTED', 'RATE_LIMITED']);
    assert.equal(asked, 2, 'the filter judged the first text and the filtered one, not the repeat nor the one over the rate');
  });

  it('refuses a message the word list rejects with REJECTED and stores nothing', async () => {
    await serve({ filter: wordListFilter(['heck'], { mode: 'reject' }) });
    const alice = await session('alice');
    const cmid = newCmid();
    alice.send({ type: 'send', conv: 'filter-reject', cmid, text: 'oh heck' });
    const error = await alice.next('error');
    assert.equal(error.code, 'REJECTED');
    assert.equal(error.ref, cmid);
    assert.equal(error.retryable, false);
    assert.doesNotMatch(error.message, /heck/);
    alice.send({ type: 'send', conv: 'filter-reject', cmid: newCmid(), text: 'oh well' });
    await alice.next('sent');
    assert.deepEqual(await storedTexts(alice, 'filter-reject'), ['oh well']);
  });

  it('stores the masked text, pushes it to the others, and gives the sender the stored text too', async () => {
    await serve({ filter: wordListFilter(['heck'], { mode: 'mask' }) });
    const conv = 'filter-mask';
    const bob = await session('bob', [{ conv, after: 0 }]);
    const alice = await session('alice');
    const cmid = newCmid();
    alice.send({ type: 'send', conv, cmid, text: 'what the heck' });
    const sent = await alice.next('sent');
    const own = await alice.next('msg');
    assert.equal(own.seq, sent.seq);
    assert.equal(own.text, 'what the ****');
    assert.equal((await bob.next('msg')).text, 'what the ****');
    assert.deepEqual(await storedTexts(bob, conv), ['what the ****']);
  });

  it('gives the sender the stored text again when it resends a message the filter rewrote', async () => {
    await serve({ filter: wordListFilter(['heck'], { mode: 'mask' }) });
    const conv = 'filter-mask-dup';
    const alice = await session('alice');
    const cmid = newCmid();
    alice.send({ type: 'send', conv, cmid, text: 'what the heck' });
    const first = await alice.next('sent');
    assert.equal((await alice.next('msg')).text, 'what the ****');
    // Another connection, as after a reconnect that lost the ack: its copy still holds the typed text.
    const again = await session('alice');
    again.send({ type: 'send', conv, cmid, text: 'what the heck' });
    assert.deepEqual(await again.next('sent'), { ...first, dup: true });
    const own = await again.next('msg');
    assert.deepEqual([own.seq, own.cmid, own.text], [first.seq, cmid, 'what the ****']);
    // A resend of text stored as typed brings no `msg`.
    const plain = newCmid();
    again.send({ type: 'send', conv, cmid: plain, text: 'all fine' });
    await again.next('sent');
    again.send({ type: 'send', conv, cmid: plain, text: 'all fine' });
    assert.equal((await again.next('sent')).dup, true);
    await again.roundTrip();
    assert.equal(again.inbox.some((f) => f.type === 'msg'), false);
  });

  it('applies a custom filter\'s rewrite, and its context names the sender and conversation', async () => {
    const seen: Array<Parameters<MessageFilter>[1]> = [];
    await serve({
      filter: (message, context) => {
        seen.push(context);
        return { action: 'rewrite', text: message.text.toUpperCase() };
      },
    });
    const alice = await session('alice');
    alice.send({ type: 'send', conv: 'filter-custom', cmid: newCmid(), text: 'quiet please' });
    await alice.next('sent');
    assert.deepEqual(await storedTexts(alice, 'filter-custom'), ['QUIET PLEASE']);
    assert.equal(seen[0]!.user, 'alice');
    assert.equal(seen[0]!.conv, 'filter-custom');
    assert.ok(seen[0]!.ip.length > 0);
  });

  it('refuses the message when the filter throws, and logs why', async () => {
    const lines: string[] = [];
    await serve({
      log: (line) => lines.push(line),
      filter: () => {
        throw new Error('word service down');
      },
    });
    const alice = await session('alice');
    alice.send({ type: 'send', conv: 'filter-throws', cmid: newCmid(), text: 'hello' });
    const error = await alice.next('error');
    assert.equal(error.code, 'REJECTED');
    assert.doesNotMatch(error.message, /word service/, 'the server\'s fault stays in the log');
    assert.doesNotMatch(error.message, /again|later/i, 'REJECTED is final: the reason must not promise that waiting helps');
    assert.ok(lines.some((l) => l.includes('word service down')));
    assert.deepEqual(await storedTexts(alice, 'filter-throws'), []);
  });

  it('refuses a rewrite to text the protocol does not allow', async () => {
    await serve({ filter: () => ({ action: 'rewrite', text: '   ' }) });
    const alice = await session('alice');
    alice.send({ type: 'send', conv: 'filter-bad-rewrite', cmid: newCmid(), text: 'hello' });
    assert.equal((await alice.next('error')).code, 'REJECTED');
    assert.deepEqual(await storedTexts(alice, 'filter-bad-rewrite'), []);
  });

  it('refuses the message when the filter answers a promise (it must be synchronous)', async () => {
    const filter = (() => Promise.resolve({ action: 'allow' })) as unknown as MessageFilter;
    await serve({ filter });
    const alice = await session('alice');
    alice.send({ type: 'send', conv: 'filter-async', cmid: newCmid(), text: 'hello' });
    assert.equal((await alice.next('error')).code, 'REJECTED');
  });

  it('refuses listed words with imbed-server --block-words <file>', async () => {
    tmp = tempDb();
    const words = join(tmp.dir, 'words.txt');
    writeFileSync(words, '# not here\nheck\n');
    const proc = runCli(['--port', '0', '--db', join(tmp.dir, 'cli.db'), '--access', 'open', '--block-words', words], { IMBED_SECRET: SECRET });
    try {
      const client = new TestClient(`ws://127.0.0.1:${await cliPort(proc)}/ws`);
      clients.push(client);
      await client.opened();
      client.send({ type: 'hello', token: await signTestToken('alice'), convs: [] });
      await client.next('welcome');
      client.send({ type: 'send', conv: 'cli-words', cmid: newCmid(), text: 'HECK no' });
      assert.equal((await client.next('error')).code, 'REJECTED');
      client.send({ type: 'send', conv: 'cli-words', cmid: newCmid(), text: 'fine' });
      await client.next('sent');
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });
});
