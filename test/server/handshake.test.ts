import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { PROTOCOL } from '../../src/protocol/index.ts';
import { NO_LIMITS, type ImbedServer, type LimitsConfig } from '../../src/server/index.ts';
import { deadlineTick, MAX_QUEUED_BYTES, MAX_QUEUED_FRAMES, truncateReason } from '../../src/server/session.ts';
import { wsFrame } from './fuzz-frames.ts';
import { frozenPeer, newCmid, openSession, SECRET, startServer, tempDb, TestClient, wsUrl } from './helpers.ts';

async function opened(server: ImbedServer, protocols?: string | string[]): Promise<TestClient> {
  const client = new TestClient(wsUrl(server), protocols);
  await client.opened();
  return client;
}

function signWith(secret: string, claims: Record<string, unknown>, sub?: string): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('1h');
  if (sub !== undefined) jwt.setSubject(sub);
  return jwt.sign(new TextEncoder().encode(secret));
}

describe('handshake', () => {
  const tmp = tempDb();
  let server: ImbedServer;

  before(async () => {
    server = await startServer(tmp.db, { helloTimeout: 200, idleTimeout: 400, heartbeatInterval: 100 });
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('negotiates the imbed.v1 subprotocol', async () => {
    const client = await opened(server, ['imbed.v2', PROTOCOL]);
    assert.equal(client.ws.protocol, PROTOCOL);
    await client.close();
  });

  it('accepts then closes with 4002 naming the version when no subprotocol is offered', async () => {
    const client = new TestClient(wsUrl(server), []);
    const { code, reason } = await client.closed;
    assert.equal(code, 4002);
    assert.match(reason, /imbed\.v1/);
  });

  it('accepts then closes with 4002 when only imbed.v2 is offered', async () => {
    const client = new TestClient(wsUrl(server), 'imbed.v2');
    const { code, reason } = await client.closed;
    assert.equal(code, 4002);
    assert.match(reason, /imbed\.v1/);
  });

  it('closes with 4004 when no hello arrives within helloTimeout', async () => {
    const client = await opened(server);
    assert.equal((await client.closed).code, 4004);
  });

  for (const [code, what, hello] of [
    [4004, 'sends no hello', null],
    [4005, 'sends a malformed hello', { type: 'hello', convs: [] }],
    [4003, 'sends a hello with a bad token', { type: 'hello', token: 'not a token', convs: [] }],
  ] as const) {
    it(`drops a peer that ${what} and never answers the ${code} close`, async () => {
      // A hand-made client that reads but never answers the server's close frame: ws alone would hold
      // its connection for 30 s after the close.
      const raw = await frozenPeer(server.port);
      let received = Buffer.alloc(0);
      raw.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
      const closed = new Promise<'closed'>((resolve) => raw.once('close', () => resolve('closed')));
      if (hello) raw.write(wsFrame({ opcode: 1, payload: Buffer.from(JSON.stringify(hello)) }));
      const bound = new Promise<'open'>((resolve) => setTimeout(resolve, 3_000, 'open').unref());
      try {
        assert.equal(await Promise.race([closed, bound]), 'closed');
        // The close frame (opcode 8) carried the code before the drop.
        const at = received.indexOf(0x88);
        assert.ok(at >= 0, 'a close frame');
        assert.equal(received.readUInt16BE(at + 2), code);
      } finally {
        raw.destroy();
      }
    });
  }

  for (const [what, bytes] of [
    ['sends nothing', ''],
    ['stops halfway through its upgrade request', 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n'],
  ] as const) {
    it(`drops a connection that ${what} once helloTimeout has passed`, async () => {
      // Such sockets are counted by no per-address limit (that counts upgraded ones); Node's defaults held
      // them 60 to 90 s, enough for one address to take every file descriptor the process has.
      const raw = connect(server.port, '127.0.0.1', () => raw.write(bytes));
      raw.on('error', () => {});
      raw.resume();
      const closed = new Promise<'closed'>((resolve) => raw.once('close', () => resolve('closed')));
      const bound = new Promise<'open'>((resolve) => setTimeout(resolve, 5_000, 'open').unref());
      try {
        assert.equal(await Promise.race([closed, bound]), 'closed');
      } finally {
        raw.destroy();
      }
    });
  }

  it('states the configured heartbeat in welcome', async () => {
    const { client, welcome } = await openSession(server, 'alice');
    assert.equal(welcome.heartbeat, 100);
    await client.close();
  });

  it('terminates a socket that sends nothing for idleTimeout', async () => {
    const { client } = await openSession(server, 'alice');
    // terminate() drops TCP without a close frame: the client sees 1006.
    assert.equal((await client.closed).code, 1006);
  });

  it('terminates a silent socket no sooner than idleTimeout and within one deadline tick after it', async () => {
    const { client } = await openSession(server, 'alice');
    const silentSince = performance.now();
    assert.equal((await client.closed).code, 1006);
    const silentFor = performance.now() - silentSince;
    // The server heard hello before this client saw welcome: it may count a few ms more than the client.
    assert.ok(silentFor >= 400 - 20, `terminated after ${silentFor} ms of silence`);
    assert.ok(silentFor <= 400 + deadlineTick({ helloTimeout: 200, idleTimeout: 400 }) + 100, `terminated after ${silentFor} ms of silence`);
  });

  it('closes with 4004 after helloTimeout counted from the open, even when pings keep arriving', async () => {
    const client = await opened(server);
    const openedAt = performance.now();
    const pinger = setInterval(() => client.send({ type: 'ping' }), 50);
    const { code } = await client.closed;
    clearInterval(pinger);
    const after = performance.now() - openedAt;
    assert.equal(code, 4004);
    assert.ok(after >= 200 - 20 && after <= 200 + deadlineTick({ helloTimeout: 200, idleTimeout: 400 }) + 100, `closed after ${after} ms`);
  });

  it('checks deadlines every second, or a quarter of the shorter timeout when that is less', () => {
    assert.equal(deadlineTick({ helloTimeout: 10_000, idleTimeout: 45_000 }), 1000);
    assert.equal(deadlineTick({ helloTimeout: 200, idleTimeout: 400 }), 50);
  });

  it('refuses to start with an interval or timeout that would close every connection at once, or never', async () => {
    const other = tempDb();
    try {
      const refused: Array<[Record<string, number>, RegExp]> = [
        [{ heartbeatInterval: 0 }, /heartbeatInterval must be an integer from 10 to 3600000, got 0/],
        [{ heartbeatInterval: Number.NaN }, /heartbeatInterval must be an integer from 10 to 3600000, got NaN/],
        [{ heartbeatInterval: 2 ** 31 }, /heartbeatInterval must be an integer from 10 to 3600000/],
        [{ idleTimeout: 0 }, /idleTimeout must be an integer from 10 to 10800000, got 0/],
        // Clients that ping on time would be dropped between two pings.
        [{ idleTimeout: 15_000 }, /idleTimeout must be longer than heartbeatInterval \(15000 ms\), got 15000/],
        [{ heartbeatInterval: 2_000, idleTimeout: 500 }, /idleTimeout must be longer than heartbeatInterval \(2000 ms\), got 500/],
        [{ helloTimeout: Number.POSITIVE_INFINITY }, /helloTimeout must be an integer from 10 to 3600000/],
        [{ commitInterval: -1 }, /commitInterval must be an integer from 0 to 60000/],
        [{ commitInterval: 2.5 }, /commitInterval must be an integer from 0 to 60000/],
        [{ commitInterval: 60_001 }, /commitInterval must be an integer from 0 to 60000, got 60001/],
      ];
      for (const [options, message] of refused) await assert.rejects(startServer(other.db, options), message, JSON.stringify(options));
    } finally {
      other.remove();
    }
  });

  it('refuses to start with a path no request matches, an empty host, or an admin secret no header can carry', async () => {
    const other = tempDb();
    try {
      const refused: Array<[Record<string, string>, RegExp]> = [
        [{ path: 'ws' }, /path must start with '\/', got "ws"/],
        // '' would listen on every interface.
        [{ host: '' }, /host must name an interface or address/],
        // Node reads header values as latin1, clients send UTF-8: such a secret never matched.
        [{ adminSecret: 'p\u00e4ssw\u00f6rd-long-enough-for-the-length-check' }, /admin secret must be printable ASCII/],
        [{ adminSecret: 'a-secret-read-from-a-file-with-its-newline\n' }, /admin secret must be printable ASCII with no white space at either end/],
        [{ adminSecret: ' leading-space-secret-long-enough-for-the-check' }, /admin secret must be printable ASCII/],
      ];
      for (const [options, message] of refused) await assert.rejects(startServer(other.db, options), message, JSON.stringify(options));
    } finally {
      other.remove();
    }
  });

  it('refuses to start with a limit that would turn its protection off, or close every connection', async () => {
    const other = tempDb();
    try {
      const refused: Array<[Record<string, unknown>, RegExp]> = [
        [{ maxBufferedBytes: Number.NaN }, /limits\.maxBufferedBytes must be an integer >= 1, got NaN/],
        [{ maxBufferedBytes: 0 }, /limits\.maxBufferedBytes must be an integer >= 1, got 0/],
        [{ maxBufferedBytes: -1 }, /limits\.maxBufferedBytes must be an integer >= 1, got -1/],
        [{ framesPerSecond: Number.NaN }, /limits\.framesPerSecond must be an integer >= 0, got NaN/],
        [{ messagesPerMinute: -60 }, /limits\.messagesPerMinute must be an integer >= 0, got -60/],
        [{ messagesBurst: 2.5 }, /limits\.messagesBurst must be an integer >= 0, got 2\.5/],
        [{ connectionsPerUser: Number.POSITIVE_INFINITY }, /limits\.connectionsPerUser must be an integer >= 0, got Infinity/],
        [{ connectionsPerIp: '100' }, /limits\.connectionsPerIp must be an integer >= 0, got "100"/],
        [{ refusalsPerIp: -1 }, /limits\.refusalsPerIp must be an integer >= 0, got -1/],
        [{ identicalTexts: { count: -1, windowMs: 30_000 } }, /limits\.identicalTexts\.count must be an integer >= 0, got -1/],
        [{ identicalTexts: { count: 3, windowMs: Number.NaN } }, /limits\.identicalTexts\.windowMs must be an integer >= 0, got NaN/],
        [{ identicalTexts: 0 }, /limits\.identicalTexts must be an object \{ count, windowMs \}, got 0/],
      ];
      for (const [limits, message] of refused) {
        // A server that starts anyway is closed, so the failure does not keep the test running.
        const started = startServer(other.db, { limits: limits as Partial<LimitsConfig> }).then((s) => s.close());
        await assert.rejects(started, message, JSON.stringify(limits));
      }
      // 0 still turns a limit off where it may.
      const open = await startServer(other.db, { limits: { ...NO_LIMITS, framesPerSecond: 0, identicalTexts: { count: 0, windowMs: 0 } } });
      await open.close();
    } finally {
      other.remove();
    }
  });

  it('keeps a socket that pings alive past idleTimeout', async () => {
    const { client } = await openSession(server, 'alice');
    for (let i = 0; i < 12; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      client.send({ type: 'ping', ref: i });
      assert.equal((await client.next('pong')).ref, i);
    }
    await client.close();
  });

  it('closes with 4001 on an expired token', async () => {
    const client = await opened(server);
    client.send({ type: 'hello', token: await server.signToken('alice', { expiresIn: -60 }), convs: [] });
    const { code, reason } = await client.closed;
    assert.deepEqual([code, reason], [4001, 'token expired']);
  });

  it('closes with 4003 on a token signed with another secret', async () => {
    const client = await opened(server);
    client.send({ type: 'hello', token: await signWith('not-the-secret', {}, 'alice'), convs: [] });
    assert.equal((await client.closed).code, 4003);
  });

  it('closes with 4003 on a malformed token', async () => {
    const client = await opened(server);
    client.send({ type: 'hello', token: 'not.a.jwt', convs: [] });
    assert.equal((await client.closed).code, 4003);
  });

  it('closes with 4003 on a token without sub', async () => {
    const client = await opened(server);
    client.send({ type: 'hello', token: await signWith(SECRET, { name: 'Nobody' }), convs: [] });
    assert.equal((await client.closed).code, 4003);
  });

  it('closes with 4003 on an unsigned (alg none) token', async () => {
    const client = await opened(server);
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    client.send({ type: 'hello', token: `${part({ alg: 'none' })}.${part({ sub: 'alice', exp: 9999999999 })}.`, convs: [] });
    assert.equal((await client.closed).code, 4003);
  });

  it('sends BAD_FRAME then closes with 4005 on a hello of the wrong shape', async () => {
    const client = await opened(server);
    client.send({ type: 'hello', token: await server.signToken('alice'), convs: 'all', ref: 'h' });
    const error = await client.next('error');
    assert.deepEqual([error.code, error.ref], ['BAD_FRAME', 'h']);
    assert.equal((await client.closed).code, 4005);
  });

  it('sends BAD_FRAME then closes with 4005 on a hello without token', async () => {
    const client = await opened(server);
    client.send({ type: 'hello', convs: [] });
    assert.equal((await client.next('error')).code, 'BAD_FRAME');
    assert.equal((await client.closed).code, 4005);
  });

  it('handles frames sent right behind hello in order, after welcome', async () => {
    const conv = 'handshake-pipelined';
    const client = await opened(server);
    const cmids = [newCmid(), newCmid(), newCmid()];
    client.send({ type: 'hello', token: await server.signToken('alice', { name: 'Alice' }), convs: [{ conv, after: 0 }], ref: 'h1' });
    for (const cmid of cmids) client.send({ type: 'send', conv, cmid, text: cmid });
    client.send({ type: 'sync', conv, after: 0, ref: 's1' });
    client.send({ type: 'hello', token: 'x', convs: [], ref: 'h2' });
    const welcome = await client.next('welcome');
    assert.deepEqual([welcome.user, welcome.name, welcome.ref], ['alice', 'Alice', 'h1']);
    const sent = await client.take('sent', 3);
    assert.deepEqual(sent.map((s) => [s.cmid, s.seq]), cmids.map((c, i) => [c, i + 1]));
    const history = await client.next('history');
    assert.deepEqual(history.msgs.map((m) => m.cmid), cmids);
    const error = await client.next('error');
    assert.deepEqual([error.code, error.ref], ['ALREADY_HELLO', 'h2']);
    assert.deepEqual(client.received.map((f) => f.type), ['welcome', 'sent', 'sent', 'sent', 'history', 'error']);
    await client.close();
  });
});

describe('frames sent while hello is being verified', () => {
  let tmp: ReturnType<typeof tempDb>;
  let server: ImbedServer;
  let jwks: Server;
  let publicJwk: object;
  let key: CryptoKey;
  /** JWKS requests not answered yet: hello verification waits until the test answers them. */
  let pending: ServerResponse[];
  let jwksUrl: string;
  let requested: Promise<void>;

  before(async () => {
    const pair = await generateKeyPair('RS256');
    key = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'slow', alg: 'RS256', use: 'sig' };
  });

  // A server of its own per test: the key set, once fetched, is cached and hellos stop waiting.
  beforeEach(async () => {
    tmp = tempDb();
    pending = [];
    let onRequest: () => void;
    requested = new Promise((resolve) => (onRequest = resolve));
    jwks = createServer((_req, res) => {
      pending.push(res);
      onRequest();
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    jwksUrl = `http://127.0.0.1:${port}/jwks.json`;
    server = await startServer(tmp.db, { secret: undefined, jwksUrl });
  });
  afterEach(async () => {
    answerJwks();
    await server.close();
    jwks.closeAllConnections();
    await new Promise((resolve) => jwks.close(resolve));
    tmp.remove();
  });

  function answerJwks(): void {
    for (const res of pending.splice(0)) res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  }

  /** A client whose hello is being verified: the server is waiting for the JWKS. */
  async function verifying(): Promise<TestClient> {
    const client = new TestClient(wsUrl(server));
    await client.opened();
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'slow' }).setSubject('alice').setIssuedAt().setExpirationTime('1h').sign(key);
    client.send({ type: 'hello', token, convs: [] });
    await requested;
    return client;
  }

  it(`keeps up to ${MAX_QUEUED_FRAMES} frames and handles them in order after welcome`, async () => {
    const client = await verifying();
    for (let i = 0; i < MAX_QUEUED_FRAMES; i++) client.send({ type: 'ping', ref: i });
    // Lets the pings reach the server before the key set does, so they wait in the queue.
    await new Promise((r) => setTimeout(r, 100));
    answerJwks();
    await client.next('welcome');
    const pongs = await client.take('pong', MAX_QUEUED_FRAMES);
    assert.deepEqual(pongs.map((p) => p.ref), Array.from({ length: MAX_QUEUED_FRAMES }, (_, i) => i));
    await client.close();
  });

  it('counts each frame against the frame rate when it arrived, not all at once after welcome', async () => {
    // 25 frames a second (bursts of 50): 60 syncs sent at that pace while the key set is fetched.
    await server.close();
    server = await startServer(tmp.db, { secret: undefined, jwksUrl, limits: { ...NO_LIMITS, framesPerSecond: 25 } });
    const client = await verifying();
    for (let i = 0; i < 60; i++) {
      client.send({ type: 'sync', conv: 'paced', after: 0, ref: i });
      await new Promise((r) => setTimeout(r, 45));
    }
    answerJwks();
    await client.next('welcome');
    const pages = await client.take('history', 60);
    assert.deepEqual(pages.map((p) => p.ref), Array.from({ length: 60 }, (_, i) => i));
    assert.deepEqual(client.received.filter((f) => f.type === 'error'), []);
    await client.close();
  });

  it(`closes with 1008 at frame ${MAX_QUEUED_FRAMES + 1} before welcome`, async () => {
    const client = await verifying();
    for (let i = 0; i <= MAX_QUEUED_FRAMES; i++) client.send({ type: 'ping', ref: i });
    assert.equal((await client.closed).code, 1008);
    assert.equal(client.received.some((f) => f.type === 'welcome' || f.type === 'pong'), false);
  });

  it(`closes with 1008 past ${MAX_QUEUED_BYTES} bytes before welcome, though few frames`, async () => {
    const client = await verifying();
    const frame = JSON.stringify({ type: 'noise', pad: 'x'.repeat(60_000) });
    for (let i = 0; i * frame.length <= MAX_QUEUED_BYTES; i++) client.send(frame);
    assert.equal((await client.closed).code, 1008);
  });
});

describe('truncateReason', () => {
  it('keeps a short reason as it is', () => {
    assert.equal(truncateReason('storage failure'), 'storage failure');
  });

  it('cuts a long reason to 123 bytes of UTF-8', () => {
    assert.equal(truncateReason('x'.repeat(10_000)), 'x'.repeat(123));
  });

  it('never ends in half a surrogate pair', () => {
    // Emoji of 4 bytes each: 30 of them and the first half of the next (3 bytes as U+FFFD) make 123.
    const out = truncateReason('😀'.repeat(1000));
    assert.equal(out, '😀'.repeat(30));
    assert.ok(Buffer.byteLength(out) <= 123);
  });
});
