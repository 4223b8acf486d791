import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { extname, join } from 'node:path';
import Database from 'better-sqlite3';
import { jwtVerify } from 'jose';
import type { ImbedServer } from '../../src/server/index.ts';
import { packageRoot } from '../../src/server/http.ts';
import { newCmid, openSession, SECRET, startServer, tempDb, TestClient } from './helpers.ts';

const ADMIN_SECRET = 'admin-secret-of-at-least-32-bytes-long';

/** A GET with the path sent exactly as written (fetch would normalise `..` away). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Connects to `port`, lets `send` write on the socket, and resolves with all the server wrote back once it closes. */
function exchange(port: number, send: (socket: Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => send(socket));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

/**
 * Sends `lines` and `body` as one raw HTTP/1.1 request, as `curl --http2` does on a cleartext URL (it
 * asks to upgrade to h2c on every request), and resolves with the status line, headers and body.
 */
async function rawRequest(port: number, lines: string[], body = ''): Promise<{ status: number; head: string; body: string }> {
  // The body's second half a moment later: it is read from the socket, not only from what came with the headers.
  const half = Math.floor(body.length / 2);
  const text = await exchange(port, (socket) => {
    socket.write(`${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`);
    setTimeout(() => socket.end(body.slice(half)), 50);
  });
  const end = text.indexOf('\r\n\r\n');
  const head = text.slice(0, end);
  let rest = text.slice(end + 4);
  if (/^transfer-encoding: chunked$/im.test(head)) {
    let decoded = '';
    for (let size; (size = parseInt(rest, 16)) > 0; ) {
      const start = rest.indexOf('\r\n') + 2;
      decoded += rest.slice(start, start + size);
      rest = rest.slice(start + size + 2);
    }
    rest = decoded;
  }
  return { status: Number(head.split(' ')[1]), head, body: rest };
}

/** The headers of curl's request to upgrade to HTTP/2 over cleartext. */
const H2C = ['Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA'];

describe('HTTP routes', () => {
  const tmp = tempDb();
  let dev: ImbedServer;
  let prod: ImbedServer;
  const url = (s: ImbedServer, path: string) => `http://127.0.0.1:${s.port}${path}`;

  before(async () => {
    dev = await startServer(tmp.db, { dev: true });
    prod = await startServer(join(tmp.dir, 'prod.db'));
  });
  after(async () => {
    await dev.close();
    await prod.close();
    tmp.remove();
  });

  it('finds the package root named imbed', () => {
    const root = packageRoot();
    assert.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name, 'imbed');
  });

  it('answers /healthz with ok and the number of connections', async () => {
    const { client } = await openSession(dev, 'alice');
    const res = await fetch(url(dev, '/healthz'));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true, connections: 1 });
    await client.close();
  });

  it('issues a dev token for a valid user, with CORS, that opens a session', async () => {
    const res = await fetch(url(dev, '/dev/token?user=alice.b-1&name=Alice%20B'));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const { token } = (await res.json()) as { token: string };
    const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET));
    assert.deepEqual([payload.sub, payload.name], ['alice.b-1', 'Alice B']);
  });

  it('refuses a dev token for an invalid or missing user with 400', async () => {
    for (const query of ['', '?user=', '?user=a%20b', `?user=${'x'.repeat(65)}`, '?user=%2F..']) {
      assert.equal((await fetch(url(dev, `/dev/token${query}`))).status, 400, query);
    }
  });

  it('refuses /dev/token outside dev mode with 403 saying the backend must sign tokens', async () => {
    const res = await fetch(url(prod, '/dev/token?user=alice'));
    assert.equal(res.status, 403);
    const body = (await res.json()) as { token?: string; error: string };
    assert.equal(body.token, undefined);
    assert.match(body.error, /without --dev/);
    assert.match(body.error, /docs\/auth\.md/);
  });

  it('serves dist/imbed.js with CORS when built, else 404 telling to build', async () => {
    const res = await fetch(url(dev, '/imbed.js'));
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    if (existsSync(join(packageRoot(), 'dist', 'imbed.js'))) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/javascript; charset=utf-8');
      // Cacheable, so a reload while the chat server is down still finds the widget.
      assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/);
    } else {
      assert.equal(res.status, 404);
      assert.match(await res.text(), /run npm run build/);
    }
  });

  it('serves dist/imbed-launcher.js like imbed.js: CORS, cacheable, revalidated by ETag; else 404 telling to build', async () => {
    const res = await fetch(url(dev, '/imbed-launcher.js'));
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const built = join(packageRoot(), 'dist', 'imbed-launcher.js');
    if (!existsSync(built)) {
      assert.equal(res.status, 404);
      assert.match(await res.text(), /imbed-launcher\.js not built: run npm run build/);
      return;
    }
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/javascript; charset=utf-8');
    assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), readFileSync(built));
    const etag = res.headers.get('etag');
    assert.ok(etag, 'an ETag is sent');
    const again = await fetch(url(dev, '/imbed-launcher.js'), { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('access-control-allow-origin'), '*');
  });

  it('serves every part of the script build beside imbed.js, a language added later too', async () => {
    const dist = join(packageRoot(), 'dist');
    const parts = existsSync(dist) ? readdirSync(dist).filter((name) => /^imbed-[A-Za-z-]+\.js$/.test(name)) : [];
    for (const name of parts) {
      const res = await fetch(url(prod, `/${name}?v=0123456789`));
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get('access-control-allow-origin'), '*', name);
      assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/, name);
    }
    // A locale nobody built: the same route, telling what is missing.
    const missing = await fetch(url(prod, '/imbed-fr.js'));
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('access-control-allow-origin'), '*');
    assert.match(await missing.text(), /imbed-fr\.js not built: run npm run build/);
    // Only names of letters and dashes.
    assert.equal((await rawGet(prod.port, '/imbed-..%2Fpackage.js')).status, 404);
  });

  it('answers 304 to a revalidation with the current ETag', async () => {
    const first = await fetch(url(dev, '/demo.css'));
    const etag = first.headers.get('etag');
    assert.equal(first.status, 200);
    assert.ok(etag, 'an ETag is sent');
    const again = await fetch(url(dev, '/demo.css'), { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const stale = await fetch(url(dev, '/demo.css'), { headers: { 'if-none-match': '"old"' } });
    assert.equal(stale.status, 200);
  });

  it('serves demo/index.html at / and every demo file with its content type, when the demo exists', async () => {
    const demo = join(packageRoot(), 'demo');
    const res = await fetch(url(dev, '/'));
    if (!existsSync(join(demo, 'index.html'))) {
      assert.equal(res.status, 404);
      return;
    }
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(await res.text(), readFileSync(join(demo, 'index.html'), 'utf8'));
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'application/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json', '.png': 'image/png', '.ico': 'image/x-icon' };
    for (const name of readdirSync(demo)) {
      const type = types[extname(name)];
      if (!type || !statSync(join(demo, name)).isFile()) continue;
      const file = await fetch(url(dev, `/${name}`));
      assert.equal(file.status, 200, name);
      assert.equal(file.headers.get('content-type')?.split(';')[0], type, name);
      assert.deepEqual(Buffer.from(await file.arrayBuffer()), readFileSync(join(demo, name)), name);
    }
  });

  it('serves no demo page without --dev', async () => {
    for (const path of ['/', '/index.html', '/demo.css']) {
      const res = await fetch(url(prod, path));
      assert.equal(res.status, 404, path);
      assert.match(await res.text(), /--dev only/, path);
    }
    assert.equal((await fetch(url(prod, '/healthz'))).status, 200);
  });

  it('refuses paths that climb out of demo/', async () => {
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/%2e%2e%2f%2e%2e%2fetc/passwd', '/demo/../../package.json']) {
      const res = await rawGet(dev.port, path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /"name"/, path);
    }
    assert.equal((await rawGet(dev.port, '/%00')).status, 400);
    assert.equal((await rawGet(dev.port, '/%E0%A4%A')).status, 400);
  });

  it('answers 400 to a path that does not parse as one, with or without --dev', async () => {
    for (const server of [dev, prod]) {
      const res = await rawGet(server.port, '//');
      assert.deepEqual([res.status, res.body], [400, 'bad path\n']);
    }
  });

  it('answers 404 for a missing file and 405 for other methods', async () => {
    assert.equal((await fetch(url(dev, '/no-such-file.html'))).status, 404);
    const post = await fetch(url(dev, '/healthz'), { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('answers HEAD like GET without a body', async () => {
    const res = await fetch(url(dev, '/healthz'), { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  });

  it('answers a request that asks to upgrade to HTTP/2 (h2c) as HTTP/1.1, with or without a body', async () => {
    const health = await rawRequest(dev.port, ['GET /healthz HTTP/1.1', 'Host: 127.0.0.1', ...H2C]);
    assert.equal(health.status, 200, health.head);
    assert.deepEqual(JSON.parse(health.body), { ok: true, connections: 0 });
    const token = await rawRequest(dev.port, ['GET /dev/token?user=alice HTTP/1.1', 'Host: 127.0.0.1', ...H2C]);
    assert.equal(token.status, 200, token.head);
    assert.match(JSON.parse(token.body).token, /^ey/);
    // The body is read: a POST of the admin API with JSON.
    const admin = await startServer(join(tmp.dir, 'admin.db'), { access: 'members', adminSecret: ADMIN_SECRET });
    try {
      const body = JSON.stringify({ id: 'h2c-team', kind: 'group', members: ['alice'] });
      const created = await rawRequest(
        admin.port,
        ['POST /admin/v1/conversations HTTP/1.1', 'Host: 127.0.0.1', ...H2C, `Authorization: Bearer ${ADMIN_SECRET}`, 'Content-Type: application/json'],
        body,
      );
      assert.equal(created.status, 201, created.head);
      assert.equal(JSON.parse(created.body).conversation.id, 'h2c-team');
    } finally {
      await admin.close();
    }
  });

  it('answers a request pipelined before one that asks for h2c, then closes, and keeps serving', async () => {
    // Node emits the second one as an upgrade while the first one's answer (an asynchronous route) still
    // holds the socket.
    for (const first of ['GET /dev/token?user=alice HTTP/1.1', 'GET /imbed.js HTTP/1.1']) {
      const answered = await exchange(dev.port, (socket) => socket.write(`${first}\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n${H2C.join('\r\n')}\r\n\r\n`));
      assert.match(answered, /^HTTP\/1\.1 (200|404) /, first);
      assert.equal((await fetch(url(dev, '/healthz'))).status, 200, `still serving after ${first}`);
    }
  });

  it('refuses WebSocket upgrades on other paths with 404', async () => {
    const client = new TestClient(`ws://127.0.0.1:${dev.port}/other`);
    await assert.rejects(client.opened(), /404/);
  });
});

describe('health', () => {
  it('answers /healthz 503 with the reason while another process holds the write lock, and 200 again once it lets go', async () => {
    const tmp = tempDb();
    const server = await startServer(tmp.db);
    const side = new Database(tmp.db);
    try {
      const { client } = await openSession(server, 'alice', [{ conv: 'c', after: 0 }]);
      side.exec('BEGIN IMMEDIATE');
      client.send({ type: 'send', conv: 'c', cmid: newCmid(), text: 'not stored: the database is locked' });
      assert.deepEqual(await client.closed, { code: 1011, reason: 'storage failure' });

      const failing = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      assert.equal(failing.status, 503);
      const body = (await failing.json()) as { ok: boolean; reason: string };
      assert.equal(body.ok, false);
      assert.match(body.reason, /^storage failing: database is locked$/);
      assert.deepEqual(server.health(), { ok: false, reason: body.reason });

      // No client is left to send: the health check itself finds the database writable again, trying one
      // write a second at most.
      side.exec('ROLLBACK');
      let recovered = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      for (const end = Date.now() + 5000; recovered.status !== 200 && Date.now() < end; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        recovered = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      }
      assert.equal(recovered.status, 200);
      assert.equal(((await recovered.json()) as { ok: boolean }).ok, true);
      assert.deepEqual(server.health(), { ok: true });
    } finally {
      if (side.inTransaction) side.exec('ROLLBACK');
      side.close();
      await server.close();
      tmp.remove();
    }
  });

  it('tells a host in attach mode, through health(), that the server is ok, then that it is closed', async () => {
    const tmp = tempDb();
    const http = createServer();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const imbed = await startServer(tmp.db, { server: http });
      assert.deepEqual(imbed.health(), { ok: true });
      const closed = imbed.close();
      assert.deepEqual(imbed.health(), { ok: false, reason: 'server closing' });
      await closed;
      assert.deepEqual(imbed.health(), { ok: false, reason: 'server closed' });
    } finally {
      await new Promise((resolve) => http.close(resolve));
      tmp.remove();
    }
  });
});
