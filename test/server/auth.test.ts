import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import type { ImbedServer } from '../../src/server/index.ts';
import { authWarnings, displayName } from '../../src/server/auth.ts';
import { openSession, SECRET, startServer, tempDb, TestClient, wsUrl } from './helpers.ts';

interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  pem: string;
}

async function keyPair(alg: 'RS256' | 'ES256'): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicKey, pem: await exportSPKI(publicKey) };
}

interface TokenSpec {
  alg?: string;
  kid?: string;
  sub?: string | null;
  /** null: no `exp` claim at all. */
  exp?: number | string | null;
  claims?: JWTPayload;
}

/** A token as an identity provider would sign it: `sub` alice and one hour of validity unless told otherwise. */
function sign(key: CryptoKey | Uint8Array, spec: TokenSpec = {}): Promise<string> {
  const jwt = new SignJWT({ name: 'Alice', ...spec.claims })
    .setProtectedHeader({ alg: spec.alg ?? 'HS256', ...(spec.kid !== undefined && { kid: spec.kid }) })
    .setIssuedAt();
  if (spec.exp !== null) jwt.setExpirationTime(spec.exp ?? '1h');
  if (spec.sub !== null) jwt.setSubject(spec.sub ?? 'alice');
  return jwt.sign(key);
}

const secretKey = (secret: string) => new TextEncoder().encode(secret);
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

type HelloOutcome =
  | { welcome: { user: string; name: string } }
  | { error: { code: string; ref: unknown; retryable: boolean }; close: number };

/** Sends one hello with `token` and reports the welcome, or the error frame and the close that followed it. */
async function hello(server: ImbedServer, token: string): Promise<HelloOutcome> {
  const client = new TestClient(wsUrl(server));
  await client.opened();
  client.send({ type: 'hello', token, convs: [], ref: 'h1' });
  const { code } = await client.closed.then(
    (c) => c,
    () => ({ code: -1 }),
  );
  const welcome = client.received.find((f) => f.type === 'welcome');
  if (welcome) return { welcome: { user: welcome.user, name: welcome.name } };
  const error = client.received.find((f) => f.type === 'error');
  assert.ok(error, `no welcome and no error before close ${code}`);
  return { error: { code: error.code, ref: error.ref, retryable: error.retryable }, close: code };
}

/** Like `hello`, but closes the session after welcome so the socket does not linger. */
async function accepted(server: ImbedServer, token: string): Promise<{ user: string; name: string }> {
  const client = new TestClient(wsUrl(server));
  await client.opened();
  client.send({ type: 'hello', token, convs: [] });
  const welcome = await client.next('welcome');
  await client.close();
  return { user: welcome.user, name: welcome.name };
}

async function refused(server: ImbedServer, token: string): Promise<[string, number]> {
  const outcome = await hello(server, token);
  assert.ok('error' in outcome, `expected a refusal, got ${JSON.stringify(outcome)}`);
  // Every refusal names the hello it answers.
  assert.equal(outcome.error.ref, 'h1');
  return [outcome.error.code, outcome.close];
}

/**
 * A JWKS endpoint on port 0 that counts its requests; `serve` swaps the set, as an identity provider
 * rotating keys does, and `down` makes it answer that status instead (null: up again).
 */
async function jwksServer(
  initial: object[],
): Promise<{ url: string; requests: () => number; serve: (keys: object[]) => void; down: (status: number | null) => void; close: () => Promise<void> }> {
  let requests = 0;
  let keys = initial;
  let status: number | null = null;
  const server: Server = createServer((req, res) => {
    requests += 1;
    if (status !== null) res.writeHead(status).end('unavailable');
    else res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    requests: () => requests,
    serve: (next) => {
      keys = next;
    },
    down: (next) => {
      status = next;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** How long the server waits before it refetches a JWKS for an unknown kid (30 s), plus a margin. */
const PAST_JWKS_COOLDOWN_MS = 31_000;

/**
 * Moves the clock (Date only; timers run for real) past the JWKS refetch cooldown, the way waiting
 * 30 s would, and keeps it there until `mock.timers.reset()`.
 */
function afterCooldown(): void {
  mock.timers.enable({ apis: ['Date'], now: Date.now() + PAST_JWKS_COOLDOWN_MS });
}

describe('displayName', () => {
  it('cuts a long name between characters and keeps no lone surrogate', () => {
    assert.equal(displayName('a'.repeat(63) + '😀'), 'a'.repeat(63));
    assert.equal(displayName('x'.repeat(62) + '😀b'), 'x'.repeat(62) + '😀');
    assert.equal(displayName('a\uD800b\uDC00'), 'a\uFFFDb\uFFFD');
    assert.equal(displayName('Bob\uD800'), 'Bob\uFFFD');
    assert.equal(displayName('李雷 😀'), '李雷 😀');
  });
});

describe('auth with an HS256 secret', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  const key = secretKey(SECRET);

  before(async () => {
    server = await startServer(tmp.db);
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('accepts a token signed with the secret, taking user and name from sub and name', async () => {
    assert.deepEqual(await accepted(server, await sign(key)), { user: 'alice', name: 'Alice' });
  });

  it('refuses an expired token with TOKEN_EXPIRED and 4001, retryable with a new token', async () => {
    const outcome = await hello(server, await sign(key, { exp: Math.floor(Date.now() / 1000) - 60 }));
    assert.deepEqual(outcome, { error: { code: 'TOKEN_EXPIRED', ref: 'h1', retryable: true }, close: 4001 });
  });

  it('ends a session when its token expires: TOKEN_EXPIRED, then 4001, after storing what was sent', { timeout: 10_000 }, async () => {
    // Expired 28 s ago, so still accepted for the 30 s of tolerance: about 2 s left.
    const token = await sign(key, { exp: Math.floor(Date.now() / 1000) - 28 });
    const client = new TestClient(wsUrl(server));
    await client.opened();
    client.send({ type: 'hello', token, convs: [] });
    await client.next('welcome');
    const openedAt = performance.now();
    client.send({ type: 'send', conv: 'expiring', cmid: 'expiring-cmid-1', text: 'just in time' });
    const sent = await client.next('sent');
    const { code } = await client.closed;
    assert.equal(code, 4001);
    assert.ok(performance.now() - openedAt < 5_000, 'closed within the token\'s last seconds and one deadline tick');
    const error = client.received.find((f) => f.type === 'error');
    assert.deepEqual(error && [error.code, error.retryable], ['TOKEN_EXPIRED', true]);
    // The message stays stored: a new session sees it.
    const { client: later } = await openSession(server, 'alice', [{ conv: 'expiring', after: 0 }]);
    later.send({ type: 'sync', conv: 'expiring', after: 0 });
    const history = await later.next('history');
    assert.deepEqual(history.msgs.map((m) => [m.seq, m.text]), [[sent.seq, 'just in time']]);
    await later.close();
  });

  it('refuses a token signed with another secret as TOKEN_INVALID with 4003', async () => {
    assert.deepEqual(await refused(server, await sign(secretKey('not-the-secret'))), ['TOKEN_INVALID', 4003]);
  });

  it('refuses a token whose payload was changed after signing as TOKEN_INVALID', async () => {
    const [header, , signature] = (await sign(key)).split('.');
    const token = `${header}.${b64({ sub: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 })}.${signature}`;
    assert.deepEqual(await refused(server, token), ['TOKEN_INVALID', 4003]);
  });

  it('refuses an unsigned alg none token as TOKEN_INVALID', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', exp: 9999999999 })}.`;
    assert.deepEqual(await refused(server, token), ['TOKEN_INVALID', 4003]);
  });

  it('refuses what is not a JWT as TOKEN_MALFORMED', async () => {
    for (const token of ['abc', 'a.b.c', `${b64({ alg: 'HS256' })}.not-json.sig`]) {
      assert.deepEqual(await refused(server, token), ['TOKEN_MALFORMED', 4003], token);
    }
  });

  it('refuses an empty token as TOKEN_MISSING with 4003, not as a malformed hello', async () => {
    assert.deepEqual(await refused(server, ''), ['TOKEN_MISSING', 4003]);
  });

  it('refuses a token without sub as TOKEN_CLAIMS', async () => {
    assert.deepEqual(await refused(server, await sign(key, { sub: null })), ['TOKEN_CLAIMS', 4003]);
  });

  it('refuses a token without exp as TOKEN_CLAIMS: it would never expire', async () => {
    assert.deepEqual(await refused(server, await sign(key, { exp: null })), ['TOKEN_CLAIMS', 4003]);
  });

  it('accepts a token valid from 10 s ahead: a server clock a little behind the issuer is tolerated', async () => {
    const token = await sign(key, { claims: { nbf: Math.floor(Date.now() / 1000) + 10 } });
    assert.equal((await accepted(server, token)).user, 'alice');
  });

  it('refuses a token not valid for another 2 minutes (nbf beyond the tolerance) as TOKEN_CLAIMS', async () => {
    const token = await sign(key, { claims: { nbf: Math.floor(Date.now() / 1000) + 120 } });
    assert.deepEqual(await refused(server, token), ['TOKEN_CLAIMS', 4003]);
  });

  it('accepts subs of the user id form, such as emails and identity-provider subs', async () => {
    for (const sub of ['alice@example.com', 'auth0|64f1c2', 'google-oauth2|1234', 'a', 'x'.repeat(128)]) {
      assert.equal((await accepted(server, await sign(key, { sub }))).user, sub);
    }
  });

  it('refuses a sub that is not a valid user id as TOKEN_CLAIMS: the admin API could never make it a member', async () => {
    for (const sub of ['alice smith', 'a/b', 'x'.repeat(129), '名前', 'a\nb']) {
      assert.deepEqual(await refused(server, await sign(key, { sub })), ['TOKEN_CLAIMS', 4003], JSON.stringify(sub));
    }
  });
});

describe('auth with audience and issuer', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  const key = secretKey(SECRET);

  before(async () => {
    server = await startServer(tmp.db, { audience: 'imbed', issuer: 'https://app.example' });
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('accepts a token with the expected aud and iss', async () => {
    const token = await sign(key, { claims: { aud: 'imbed', iss: 'https://app.example' } });
    assert.equal((await accepted(server, token)).user, 'alice');
  });

  it('refuses a wrong or missing aud or iss as TOKEN_CLAIMS', async () => {
    const cases: JWTPayload[] = [
      { aud: 'other', iss: 'https://app.example' },
      { iss: 'https://app.example' },
      { aud: 'imbed', iss: 'https://evil.example' },
      { aud: 'imbed' },
    ];
    for (const claims of cases) {
      assert.deepEqual(await refused(server, await sign(key, { claims })), ['TOKEN_CLAIMS', 4003], JSON.stringify(claims));
    }
  });

  it('signs its own tokens with the configured aud and iss, so they are accepted', async () => {
    assert.equal((await accepted(server, await server.signToken('bob'))).user, 'bob');
  });
});

for (const alg of ['RS256', 'ES256'] as const) {
  describe(`auth with an ${alg} public key (PEM)`, () => {
    const tmp = tempDb();
    let server: ImbedServer;
    let pair: KeyPair;

    before(async () => {
      pair = await keyPair(alg);
      server = await startServer(tmp.db, { secret: undefined, publicKey: pair.pem });
    });
    after(async () => {
      await server.close();
      tmp.remove();
    });

    it('accepts a token signed with the matching private key', async () => {
      assert.deepEqual(await accepted(server, await sign(pair.privateKey, { alg })), { user: 'alice', name: 'Alice' });
    });

    it('refuses a token signed with another private key as TOKEN_INVALID', async () => {
      const other = await keyPair(alg);
      assert.deepEqual(await refused(server, await sign(other.privateKey, { alg })), ['TOKEN_INVALID', 4003]);
    });

    it('refuses an HS256 token signed with the public key PEM as its secret (algorithm confusion)', async () => {
      const token = await sign(secretKey(pair.pem), { alg: 'HS256' });
      assert.deepEqual(await refused(server, token), ['TOKEN_INVALID', 4003]);
    });

    it('refuses an alg none token as TOKEN_INVALID', async () => {
      const token = `${b64({ alg: 'none' })}.${b64({ sub: 'alice', exp: 9999999999 })}.`;
      assert.deepEqual(await refused(server, token), ['TOKEN_INVALID', 4003]);
    });

    it('cannot sign tokens, and says the backend must', async () => {
      await assert.rejects(server.signToken('alice'), /cannot sign/);
    });
  });
}

describe('auth with a JWKS URL', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  let pair: KeyPair;

  before(async () => {
    pair = await keyPair('RS256');
    jwks = await jwksServer([{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }]);
    server = await startServer(tmp.db, { secret: undefined, jwksUrl: jwks.url });
  });
  after(async () => {
    await server.close();
    await jwks.close();
    tmp.remove();
  });

  it('accepts tokens signed with a key of the set, fetching the set once for both', async () => {
    assert.equal((await accepted(server, await sign(pair.privateKey, { alg: 'RS256', kid: 'k1' }))).user, 'alice');
    assert.equal((await accepted(server, await sign(pair.privateKey, { alg: 'RS256', kid: 'k1', sub: 'bob' }))).user, 'bob');
    assert.equal(jwks.requests(), 1);
  });

  it('refuses a made-up kid as TOKEN_INVALID when the set fetched again for it still lacks the key', async () => {
    const other = await keyPair('RS256');
    const token = await sign(other.privateKey, { alg: 'RS256', kid: 'made-up' });
    const before = jwks.requests();
    // Past the refetch cooldown, so the unknown kid makes the server fetch the set again.
    afterCooldown();
    try {
      assert.deepEqual(await refused(server, token), ['TOKEN_INVALID', 4003]);
    } finally {
      mock.timers.reset();
    }
    assert.equal(jwks.requests(), before + 1);
  });

  it('refuses a token of a key not in the set but naming a known kid as TOKEN_INVALID', async () => {
    const other = await keyPair('RS256');
    assert.deepEqual(await refused(server, await sign(other.privateKey, { alg: 'RS256', kid: 'k1' })), ['TOKEN_INVALID', 4003]);
  });
});

describe('auth with a JWKS URL during key rotation', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  let oldKey: KeyPair;
  let newKey: KeyPair;
  const jwk = async (pair: KeyPair, kid: string) => ({ ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' });

  before(async () => {
    oldKey = await keyPair('RS256');
    newKey = await keyPair('RS256');
    jwks = await jwksServer([await jwk(oldKey, 'old')]);
    server = await startServer(tmp.db, { secret: undefined, jwksUrl: jwks.url });
  });
  after(async () => {
    await server.close();
    await jwks.close();
    tmp.remove();
  });

  it('tells a token of a newly published key to retry (AUTH_UNAVAILABLE, 1011) within the cooldown, and accepts it after', async () => {
    assert.equal((await accepted(server, await sign(oldKey.privateKey, { alg: 'RS256', kid: 'old' }))).user, 'alice');
    assert.equal(jwks.requests(), 1);
    jwks.serve([await jwk(oldKey, 'old'), await jwk(newKey, 'new')]);
    const token = await sign(newKey.privateKey, { alg: 'RS256', kid: 'new' });

    // The set was fetched moments ago and may not be refetched yet: not a forgery the client must stop for.
    assert.deepEqual(await hello(server, token), { error: { code: 'AUTH_UNAVAILABLE', ref: 'h1', retryable: true }, close: 1011 });
    assert.equal(jwks.requests(), 1, 'the cooldown holds: no refetch');

    afterCooldown();
    try {
      assert.equal((await accepted(server, token)).user, 'alice');
    } finally {
      mock.timers.reset();
    }
    assert.equal(jwks.requests(), 2);
  });

  it('does not refetch for a made-up kid within the cooldown, and tells it to retry', async () => {
    // Loads the set if no test did yet; either way it was fetched less than 30 s ago.
    await accepted(server, await sign(oldKey.privateKey, { alg: 'RS256', kid: 'old' }));
    const before = jwks.requests();
    const forged = await sign((await keyPair('RS256')).privateKey, { alg: 'RS256', kid: 'made-up' });
    assert.deepEqual(await refused(server, forged), ['AUTH_UNAVAILABLE', 1011]);
    assert.equal(jwks.requests(), before);
  });
});

describe('auth with an unreachable JWKS URL', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  let pair: KeyPair;

  before(async () => {
    pair = await keyPair('RS256');
    // A port that was just free and is closed again: fetching the set fails with "connection refused".
    const gone = await jwksServer([]);
    await gone.close();
    server = await startServer(tmp.db, { secret: undefined, jwksUrl: gone.url });
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('answers AUTH_UNAVAILABLE (retryable) and closes with 1011, not TOKEN_INVALID', async () => {
    const outcome = await hello(server, await sign(pair.privateKey, { alg: 'RS256', kid: 'k1' }));
    assert.deepEqual(outcome, { error: { code: 'AUTH_UNAVAILABLE', ref: 'h1', retryable: true }, close: 1011 });
  });
});

describe('auth with a JWKS URL that answers errors', () => {
  const tmp = tempDb();
  let server: ImbedServer;
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  let pair: KeyPair;
  const jwk = async (kid: string) => ({ ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' });

  before(async () => {
    pair = await keyPair('RS256');
    jwks = await jwksServer([]);
    server = await startServer(tmp.db, { secret: undefined, jwksUrl: jwks.url });
  });
  after(async () => {
    mock.timers.reset();
    await server.close();
    await jwks.close();
    tmp.remove();
  });

  it('asks the identity provider once per 5 s while it fails, not once per hello, and keeps using a set it holds', async () => {
    jwks.down(503);
    const token = await sign(pair.privateKey, { alg: 'RS256', kid: 'k1' });
    for (let i = 0; i < 10; i++) assert.deepEqual(await refused(server, token), ['AUTH_UNAVAILABLE', 1011]);
    assert.equal(jwks.requests(), 1);

    // Up again, and 5 s later: asked again, and the token is accepted.
    jwks.down(null);
    jwks.serve([await jwk('k1')]);
    mock.timers.enable({ apis: ['Date'], now: Date.now() + 5_100 });
    assert.equal((await accepted(server, token)).user, 'alice');
    assert.equal(jwks.requests(), 2);

    // Down again, past the cooldown: made-up kids ask once; the set held still verifies its own keys.
    jwks.down(429);
    mock.timers.reset();
    mock.timers.enable({ apis: ['Date'], now: Date.now() + 5_100 + PAST_JWKS_COOLDOWN_MS });
    const forged = await sign((await keyPair('RS256')).privateKey, { alg: 'RS256', kid: 'made-up' });
    for (let i = 0; i < 10; i++) assert.deepEqual(await refused(server, forged), ['AUTH_UNAVAILABLE', 1011]);
    assert.equal(jwks.requests(), 3);
    assert.equal((await accepted(server, token)).user, 'alice');
    assert.equal(jwks.requests(), 3);
  });
});

describe('auth configuration', () => {
  it('warns at start of a JWKS fetched over plain http from another host, and of tokens for any audience', async () => {
    assert.deepEqual(authWarnings({ secret: SECRET }), []);
    assert.deepEqual(authWarnings({ jwksUrl: 'https://id.example.com/jwks.json', audience: 'imbed' }), []);
    assert.deepEqual(authWarnings({ jwksUrl: 'http://127.0.0.1:9000/jwks.json', audience: 'imbed' }), [], 'loopback');
    const [http, ...rest] = authWarnings({ jwksUrl: 'http://id.example.com/jwks.json', audience: 'imbed' });
    assert.match(http!, /plain http.*id\.example\.com.*use https/);
    assert.deepEqual(rest, []);
    const [audience] = authWarnings({ jwksUrl: 'https://id.example.com/jwks.json' });
    assert.match(audience!, /no audience is required/);

    // The server logs them as it starts.
    const tmp = tempDb();
    const lines: string[] = [];
    const pair = await keyPair('ES256');
    const server = await startServer(tmp.db, { secret: undefined, publicKey: pair.pem, log: (line) => lines.push(line) });
    try {
      assert.deepEqual(lines.filter((line) => line.startsWith('warning:')), [`warning: ${audience}`]);
    } finally {
      await server.close();
      tmp.remove();
    }
  });

  it('warns at start of a token secret or an admin secret short enough to guess', async () => {
    const [short, ...others] = authWarnings({ secret: 'changeme', audience: 'imbed' });
    assert.match(short!, /token secret is shorter than 32 bytes.*openssl rand -base64 32/);
    assert.deepEqual(others, []);
    assert.deepEqual(authWarnings({ secret: 'x'.repeat(32) }), []);

    const tmp = tempDb();
    const lines: string[] = [];
    const server = await startServer(tmp.db, { secret: 'changeme', adminSecret: 'admin', log: (line) => lines.push(line) });
    try {
      const warnings = lines.filter((line) => line.startsWith('warning:'));
      assert.equal(warnings.length, 2, warnings.join('\n'));
      assert.match(warnings[0]!, /token secret is shorter than 32 bytes/);
      assert.match(warnings[1]!, /admin secret is shorter than 32 bytes/);
    } finally {
      await server.close();
      tmp.remove();
    }
  });

  it('refuses to start with a token secret that starts or ends with white space, from the options or IMBED_SECRET', async () => {
    const tmp = tempDb();
    const saved = { ...process.env };
    try {
      for (const secret of [`${SECRET}\n`, ` ${SECRET}`, `${SECRET}\t`]) {
        await assert.rejects(startServer(tmp.db, { secret }), /the token secret \(the secret option\) starts or ends with white space/, JSON.stringify(secret));
      }
      process.env.IMBED_SECRET = `${SECRET}\r\n`;
      await assert.rejects(startServer(tmp.db, { secret: undefined }), /the token secret \(IMBED_SECRET\) starts or ends with white space/);
    } finally {
      process.env = saved;
      tmp.remove();
    }
  });

  it('warns at start, naming it, of a key-source variable of the environment that a key source in the options hides', async () => {
    const tmp = tempDb();
    const pair = await keyPair('ES256');
    const saved = { ...process.env };
    process.env.IMBED_SECRET = 'a-secret-in-the-environment-of-32-bytes-or-more';
    const warnings = async (options: Parameters<typeof startServer>[1]) => {
      const lines: string[] = [];
      const server = await startServer(tmp.db, { audience: 'imbed', ...options, log: (line) => lines.push(line) });
      await server.close();
      return lines.filter((line) => line.startsWith('warning:'));
    };
    try {
      assert.deepEqual(await warnings({ secret: undefined, publicKey: pair.pem }), [
        'warning: IMBED_SECRET is set but ignored: the public key given (publicKey, --public-key-file) is the token key source; unset IMBED_SECRET so no one takes it for the key in use',
      ]);
      assert.deepEqual(await warnings({ secret: process.env.IMBED_SECRET }), [], 'the variable is the key in use');
      process.env.IMBED_JWKS_URL = 'https://id.example.com/jwks.json';
      const [both, ...rest] = await warnings({ secret: SECRET });
      assert.match(both!, /^warning: IMBED_SECRET and IMBED_JWKS_URL are set but ignored: the secret option is the token key source/);
      assert.deepEqual(rest, []);
    } finally {
      process.env = saved;
      tmp.remove();
    }
  });

  it('refuses to start with two key sources', async () => {
    const tmp = tempDb();
    const { pem } = await keyPair('ES256');
    await assert.rejects(startServer(tmp.db, { publicKey: pem }), /exactly one/);
    tmp.remove();
  });

  it('refuses to start outside dev mode without any key source', async () => {
    const tmp = tempDb();
    const saved = { ...process.env };
    // The key sources of the environment would otherwise stand in for the missing options.
    for (const name of ['IMBED_SECRET', 'IMBED_PUBLIC_KEY', 'IMBED_JWKS_URL']) delete process.env[name];
    try {
      await assert.rejects(startServer(tmp.db, { secret: undefined }), /no token key source/);
    } finally {
      process.env = saved;
      tmp.remove();
    }
  });

  it('takes the public key from IMBED_PUBLIC_KEY when no option gives a key source', async () => {
    const tmp = tempDb();
    const pair = await keyPair('ES256');
    const saved = { ...process.env };
    delete process.env.IMBED_SECRET;
    delete process.env.IMBED_JWKS_URL;
    process.env.IMBED_PUBLIC_KEY = pair.pem;
    process.env.IMBED_AUDIENCE = 'imbed-env';
    let server: ImbedServer | undefined;
    try {
      server = await startServer(tmp.db, { secret: undefined });
    } finally {
      process.env = saved;
    }
    try {
      assert.equal((await accepted(server, await sign(pair.privateKey, { alg: 'ES256', claims: { aud: 'imbed-env' } }))).user, 'alice');
      assert.deepEqual(await refused(server, await sign(pair.privateKey, { alg: 'ES256' })), ['TOKEN_CLAIMS', 4003]);
    } finally {
      await server.close();
      tmp.remove();
    }
  });

  it('answers /dev/token in dev mode with 403 and the reason when the server verifies with a public key', async () => {
    const tmp = tempDb();
    const { pem } = await keyPair('RS256');
    const server = await startServer(tmp.db, { secret: undefined, publicKey: pem, dev: true });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/dev/token?user=alice`);
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as { error: string }).error, /public key or JWKS/);
    } finally {
      await server.close();
      tmp.remove();
    }
  });
});
