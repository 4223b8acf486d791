import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { CloseCode, PROTOCOL } from '../../src/protocol/index.ts';
import type { ImbedServer, ImbedServerOptions } from '../../src/server/index.ts';
import { createOriginCheck, parseOriginList } from '../../src/server/origins.ts';
import { startServer, tempDb, wsUrl } from './helpers.ts';

/** Opens a socket with the given Origin header; resolves with `welcome` or with the close. */
async function connect(server: ImbedServer, origin?: string): Promise<{ welcome: boolean; code?: number; reason?: string }> {
  const ws = new WebSocket(wsUrl(server), PROTOCOL, origin === undefined ? {} : { origin });
  ws.on('open', async () => ws.send(JSON.stringify({ type: 'hello', token: await server.signToken('alice'), convs: [] })));
  return new Promise((resolve, reject) => {
    ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'welcome') {
        ws.close();
        resolve({ welcome: true });
      }
    });
    ws.on('close', (code, reason) => resolve({ welcome: false, code, reason: reason.toString() }));
    ws.on('error', reject);
  });
}

describe('origin check', () => {
  it('allows exact origins, subdomain patterns, null when listed, and clients without an Origin', () => {
    const allowed = createOriginCheck(['https://app.example', 'https://*.shop.example', 'null']);
    assert.equal(allowed('https://app.example', 'chat.example'), true);
    assert.equal(allowed('https://eu.shop.example', 'chat.example'), true);
    assert.equal(allowed('https://a.b.shop.example', 'chat.example'), true);
    assert.equal(allowed('null', 'chat.example'), true);
    assert.equal(allowed(undefined, 'chat.example'), true);
  });

  it('refuses look-alikes: other scheme, port, suffix tricks and the bare parent of a pattern', () => {
    const allowed = createOriginCheck(['https://app.example', 'https://*.shop.example']);
    for (const origin of [
      'http://app.example',
      'https://app.example:8443',
      'https://app.example.evil.test',
      'https://evilapp.example',
      'https://shop.example',
      'https://evilshop.example',
      'http://eu.shop.example',
      'https://app.example/',
      'null',
      'not an origin',
    ]) {
      assert.equal(allowed(origin, 'chat.example'), false, origin);
    }
  });

  it('without a list allows only pages served from the same host', () => {
    const allowed = createOriginCheck(undefined);
    assert.equal(allowed('https://chat.example', 'chat.example'), true);
    assert.equal(allowed('http://localhost:8787', 'localhost:8787'), true);
    assert.equal(allowed('https://other.example', 'chat.example'), false);
    assert.equal(createOriginCheck('*')('https://other.example', 'chat.example'), true);
  });

  it('fails at start on an entry that is not an origin', () => {
    for (const bad of ['app.example', 'localhost:3000', 'https://app.example/path', 'ftp://app.example', 'https://']) {
      assert.throws(() => createOriginCheck([bad]), /not an origin: scheme, host and a port other than the default.*like https:\/\/app\.example or http:\/\/localhost:3000/, bad);
    }
    assert.deepEqual(parseOriginList(' https://a.example , https://b.example ,'), ['https://a.example', 'https://b.example']);
    assert.equal(parseOriginList('https://a.example,*'), '*');
  });

  it('fails at start on a pattern over a whole top-level domain, and takes one over localhost', () => {
    for (const bad of ['https://*.com', 'http://*.org']) {
      assert.throws(() => createOriginCheck([bad]), /lets in every site under \.(com|org); name the domain/, bad);
    }
    const allowed = createOriginCheck(['http://*.localhost', 'http://*.test', 'https://*.local', 'https://*.internal']);
    assert.equal(allowed('http://app.localhost', 'chat.example'), true);
    assert.equal(allowed('http://shop.test', 'chat.example'), true);
    assert.equal(allowed('https://printer.local', 'chat.example'), true);
    assert.equal(allowed('http://app.example', 'chat.example'), false);
  });
});

describe('origin allowlist on upgrades', () => {
  let server: ImbedServer | undefined;
  let remove = () => {};
  afterEach(async () => {
    await server?.close();
    server = undefined;
    remove();
  });

  async function start(options: Partial<ImbedServerOptions>): Promise<ImbedServer> {
    const tmp = tempDb();
    remove = tmp.remove;
    server = await startServer(tmp.db, options);
    return server;
  }

  it('closes a foreign page with 4006 and a reason naming its origin, and lets a listed one in', async () => {
    const s = await start({ origins: ['https://app.example'] });
    const refused = await connect(s, 'https://evil.example');
    assert.equal(refused.welcome, false);
    assert.equal(refused.code, CloseCode.ORIGIN_NOT_ALLOWED);
    assert.match(refused.reason ?? '', /origin https:\/\/evil\.example is not allowed/);
    assert.deepEqual(await connect(s, 'https://app.example'), { welcome: true });
    assert.deepEqual(await connect(s), { welcome: true }, 'a client without Origin (not a browser) is not affected');
  });

  it('logs at most the first 200 characters of a refused Origin header, which the client makes up', async () => {
    const lines: string[] = [];
    const s = await start({ origins: ['https://app.example'], log: (line) => lines.push(line) });
    const origin = `https://${'a'.repeat(7000)}.example`;
    assert.equal((await connect(s, origin)).code, CloseCode.ORIGIN_NOT_ALLOWED);
    const refusal = lines.find((l) => l.startsWith('refused origin'));
    assert.ok(refusal !== undefined);
    assert.ok(refusal.includes(origin.slice(0, 200)));
    assert.ok(!refusal.includes(origin.slice(0, 201)));
  });

  it('in production without a list refuses other sites but not the same origin', async () => {
    const s = await start({});
    assert.equal((await connect(s, 'https://evil.example')).code, CloseCode.ORIGIN_NOT_ALLOWED);
    assert.deepEqual(await connect(s, `http://127.0.0.1:${s.port}`), { welcome: true });
  });

  it('in dev mode lets any origin in', async () => {
    const s = await start({ dev: true });
    assert.deepEqual(await connect(s, 'https://anywhere.example'), { welcome: true });
  });

  it('refuses to start with a malformed allowlist entry', async () => {
    const tmp = tempDb();
    remove = tmp.remove;
    await assert.rejects(startServer(tmp.db, { origins: ['app.example'] }), /not an origin/);
  });
});
