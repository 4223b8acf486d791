import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS } from '../../src/protocol/index.ts';
import type { ImbedServer } from '../../src/server/index.ts';
import { newCmid, openSession, startServer, tempDb, TestClient, wsUrl } from './helpers.ts';

describe('frames a client gets wrong', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  let client: TestClient;
  const conv = 'frames';

  before(async () => {
    server = await startServer(tmp.db);
    client = (await openSession(server, 'alice')).client;
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  /** The server still serves this connection and a well-behaved one after each bad frame. */
  async function stillServing(): Promise<void> {
    client.send({ type: 'send', conv, cmid: newCmid(), text: 'still here' });
    assert.ok((await client.next('sent')).seq >= 1);
    const { client: other } = await openSession(server, 'bob');
    other.send({ type: 'ping', ref: 1 });
    assert.equal((await other.next('pong')).ref, 1);
    await other.close();
  }

  const cases: Array<{ name: string; frame: string; code: string; ref: string | number | null }> = [
    { name: 'invalid JSON', frame: '{"type":', code: 'BAD_JSON', ref: null },
    { name: 'a JSON array', frame: '[1,2]', code: 'BAD_JSON', ref: null },
    { name: 'a JSON string', frame: '"hello"', code: 'BAD_JSON', ref: null },
    { name: 'a non-string type', frame: '{"type":5}', code: 'BAD_FRAME', ref: null },
    { name: 'a ref longer than 64 characters', frame: JSON.stringify({ type: 'ping', ref: 'r'.repeat(65) }), code: 'BAD_FRAME', ref: null },
    { name: 'a non-integer ref', frame: JSON.stringify({ type: 'ping', ref: 1.5 }), code: 'BAD_FRAME', ref: null },
    { name: 'a send with a numeric conv', frame: JSON.stringify({ type: 'send', conv: 1, cmid: 'abcdefgh-1', text: 'x' }), code: 'BAD_FRAME', ref: 'abcdefgh-1' },
    { name: 'a send with a bad cmid', frame: JSON.stringify({ type: 'send', conv, cmid: 'short', text: 'x', ref: 'r1' }), code: 'BAD_FRAME', ref: 'r1' },
    { name: 'a send with non-string text', frame: JSON.stringify({ type: 'send', conv, cmid: 'abcdefgh-2', text: 42 }), code: 'BAD_FRAME', ref: 'abcdefgh-2' },
    { name: 'a send with empty text', frame: JSON.stringify({ type: 'send', conv, cmid: 'abcdefgh-3', text: '' }), code: 'TEXT_EMPTY', ref: 'abcdefgh-3' },
    { name: 'a send with white-space text', frame: JSON.stringify({ type: 'send', conv, cmid: 'abcdefgh-4', text: ' \n\t ' }), code: 'TEXT_EMPTY', ref: 'abcdefgh-4' },
    { name: 'a send with too long text', frame: JSON.stringify({ type: 'send', conv, cmid: 'abcdefgh-5', text: 'x'.repeat(LIMITS.maxText + 1) }), code: 'TEXT_TOO_LONG', ref: 'abcdefgh-5' },
    { name: 'a send with a lone surrogate', frame: JSON.stringify({ type: 'send', conv, cmid: 'abcdefgh-6', text: 'a\uD800b' }), code: 'BAD_FRAME', ref: 'abcdefgh-6' },
    { name: 'a sync with a negative after', frame: JSON.stringify({ type: 'sync', conv, after: -1, ref: 3 }), code: 'BAD_FRAME', ref: 3 },
    { name: 'a sync with limit 0', frame: JSON.stringify({ type: 'sync', conv, after: 0, limit: 0, ref: 4 }), code: 'BAD_FRAME', ref: 4 },
  ];
  for (const c of cases) {
    it(`answers ${c.name} with ${c.code} and keeps serving`, async () => {
      client.send(c.frame);
      const error = await client.next('error');
      assert.equal(error.code, c.code);
      assert.equal(error.ref, c.ref);
      assert.equal(typeof error.message, 'string');
      assert.equal(error.retryable, false);
      await stillServing();
    });
  }

  it('stores nothing for a refused send', async () => {
    const refused = 'frames-refused';
    client.send({ type: 'send', conv: refused, cmid: newCmid(), text: '' });
    await client.next('error');
    client.send({ type: 'sync', conv: refused, after: 0 });
    assert.equal((await client.next('history')).head, 0);
  });

  it('answers a binary frame with BINARY_UNSUPPORTED and keeps serving', async () => {
    client.ws.send(Buffer.from('{"type":"ping"}'));
    const error = await client.next('error');
    assert.deepEqual([error.code, error.ref], ['BINARY_UNSUPPORTED', null]);
    await stillServing();
  });

  it('ignores a frame of an unknown type', async () => {
    client.send({ type: 'typing', conv, ref: 'u1' });
    await client.roundTrip();
    assert.deepEqual(client.inbox, []);
  });

  it('answers a second hello with ALREADY_HELLO and keeps the session', async () => {
    client.send({ type: 'hello', token: await server.signToken('mallory'), convs: [], ref: 'h2' });
    const error = await client.next('error');
    assert.deepEqual([error.code, error.ref], ['ALREADY_HELLO', 'h2']);
    client.send({ type: 'send', conv: 'frames-who', cmid: newCmid(), text: 'x' });
    await client.next('sent');
    client.send({ type: 'sync', conv: 'frames-who', after: 0 });
    assert.equal((await client.next('history')).msgs[0]!.from, 'alice');
  });

  it('accepts text of exactly maxText characters, counting a surrogate pair as two', async () => {
    const text = '😀'.repeat(LIMITS.maxText / 2);
    client.send({ type: 'send', conv, cmid: newCmid(), text });
    assert.ok((await client.next('sent')).seq >= 1);
  });

  it('refuses to start with a maxText the protocol does not allow, and states a lower one in welcome', async () => {
    const other = tempDb();
    try {
      for (const maxText of [LIMITS.maxText + 1, 0, 1.5]) {
        await assert.rejects(startServer(other.db, { maxText }), /maxText must be an integer from 1 to 4000/, String(maxText));
      }
      const lower = await startServer(other.db, { maxText: 500 });
      try {
        const { client: limited, welcome } = await openSession(lower, 'alice');
        assert.equal(welcome.limits.maxText, 500);
        await limited.close();
      } finally {
        await lower.close();
      }
    } finally {
      other.remove();
    }
  });

  it('closes with 1009 on a frame larger than maxFrame, and keeps serving others', async () => {
    const { client: big } = await openSession(server, 'alice');
    big.send({ type: 'send', conv, cmid: newCmid(), text: 'x'.repeat(LIMITS.maxFrame) });
    assert.equal((await big.closed).code, 1009);
    await stillServing();
  });

  it('answers frames before hello with HELLO_REQUIRED, echoing the ref, and pings with pong', async () => {
    const early = new TestClient(wsUrl(server));
    await early.opened();
    const cmid = newCmid();
    early.send({ type: 'send', conv, cmid, text: 'too early' });
    early.send({ type: 'sync', conv, after: 0, ref: 'early-sync' });
    early.send({ type: 'ping', ref: 'early-ping' });
    const errors = await early.take('error', 2);
    assert.deepEqual(errors.map((e) => [e.code, e.ref, e.retryable]), [['HELLO_REQUIRED', cmid, true], ['HELLO_REQUIRED', 'early-sync', true]]);
    assert.equal((await early.next('pong')).ref, 'early-ping');
    early.send({ type: 'hello', token: await server.signToken('alice'), convs: [] });
    assert.equal((await early.next('welcome')).user, 'alice');
    await early.close();
  });
});
