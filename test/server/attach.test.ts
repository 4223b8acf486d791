import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import WebSocket from 'ws';
import { createImbedServer, type ImbedServer } from '../../src/server/index.ts';
import { newCmid, SECRET, tempDb, TestClient } from './helpers.ts';

describe('attach mode on a host http.Server', () => {
  const tmp = tempDb();
  let host: Server;
  let hostSockets: WebSocketServer;
  let imbed: ImbedServer;
  let base: string;

  before(async () => {
    host = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`host answered ${req.url}`);
    });
    // The host's own socket endpoint, like a dev server's /wds.
    hostSockets = new WebSocketServer({ noServer: true });
    host.on('upgrade', (req, socket, head) => {
      if (req.url === '/wds') hostSockets.handleUpgrade(req, socket, head, (ws) => ws.send('host socket'));
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    imbed = await createImbedServer({ db: tmp.db, server: host, path: '/chat', secret: SECRET, access: 'open', log: () => {} });
    base = `127.0.0.1:${(host.address() as AddressInfo).port}`;
  });
  after(async () => {
    await imbed.close();
    hostSockets.close();
    await new Promise<void>((resolve) => host.close(() => resolve()));
    tmp.remove();
  });

  it('reports the host server and its port', () => {
    assert.equal(imbed.http, host);
    assert.equal(imbed.port, (host.address() as AddressInfo).port);
  });

  it('serves imbed on its path', async () => {
    const client = new TestClient(`ws://${base}/chat`);
    await client.opened();
    client.send({ type: 'hello', token: await imbed.signToken('alice'), convs: [] });
    assert.equal((await client.next('welcome')).user, 'alice');
    client.send({ type: 'send', conv: 'attach', cmid: newCmid(), text: 'hi' });
    assert.equal((await client.next('sent')).seq, 1);
    await client.close();
  });

  it('leaves HTTP requests to the host handler, including imbed route names', async () => {
    for (const path of ['/', '/healthz', '/dev/token?user=a']) {
      const res = await fetch(`http://${base}${path}`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), `host answered ${path}`);
    }
  });

  it('leaves other upgrade paths to the host', async () => {
    const ws = new WebSocket(`ws://${base}/wds`);
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    assert.equal(first, 'host socket');
    ws.close();
  });

  it('answers 404 to another upgrade path when the host has no upgrade handler of its own', async () => {
    const bare = createServer((req, res) => res.end('host'));
    // An upgraded socket nobody answered would keep `close()` waiting: dropped at the end whatever happened.
    const accepted = new Set<Socket>();
    bare.on('connection', (s) => accepted.add(s));
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    const other = tempDb();
    const attached = await createImbedServer({ db: other.db, server: bare, path: '/chat', secret: SECRET, log: () => {} });
    try {
      const port = (bare.address() as AddressInfo).port;
      // Without an answer the socket would stay open for good: Node leaves an upgraded socket to its listeners.
      const socket = connect(port, '127.0.0.1');
      socket.write('GET /elsewhere HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk));
      const ended = await Promise.race([
        new Promise<string>((resolve) => socket.once('end', () => resolve('ended by the server'))),
        new Promise<string>((resolve) => setTimeout(resolve, 2000, 'still open after 2 s')),
      ]);
      socket.destroy();
      assert.equal(ended, 'ended by the server');
      assert.match(answer, /^HTTP\/1\.1 404 /);
      // A second imbed server on the same host leaves the first one's path to it, and still answers others.
      const third = tempDb();
      const second = await createImbedServer({ db: third.db, server: bare, path: '/other-chat', secret: SECRET, log: () => {} });
      try {
        const client = new TestClient(`ws://127.0.0.1:${port}/chat`);
        await client.opened();
        client.send({ type: 'hello', token: await attached.signToken('alice'), convs: [] });
        assert.equal((await client.next('welcome')).user, 'alice');
        await client.close();
        const status = await new Promise<number>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/neither`);
          ws.on('error', () => {}); // terminate() before the handshake completes reports one
          ws.once('unexpected-response', (_req, res) => {
            resolve(res.statusCode ?? 0);
            ws.terminate();
          });
          ws.once('open', () => reject(new Error('opened')));
          setTimeout(() => reject(new Error('no answer within 2 s')), 2000);
        });
        assert.equal(status, 404);
      } finally {
        await second.close();
        third.remove();
      }
    } finally {
      await attached.close();
      for (const s of accepted) s.destroy();
      await new Promise<void>((resolve) => bare.close(() => resolve()));
      other.remove();
    }
  });

  it('on close ends the sockets it refused, and leaves the host\'s own sockets open', async () => {
    const other = tempDb();
    const lines: string[] = [];
    const guarded = await createImbedServer({ db: other.db, server: host, path: '/guarded', origins: ['https://app.example'], secret: SECRET, log: (line) => lines.push(line) });
    const hostSocket = new WebSocket(`ws://${base}/wds`);
    await new Promise((resolve, reject) => {
      hostSocket.once('message', resolve);
      hostSocket.once('error', reject);
    });
    // Refused for its origin; it reads its close frame but, like a frozen page, never answers it.
    const refused = connect((host.address() as AddressInfo).port, '127.0.0.1');
    refused.write(
      'GET /guarded HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nOrigin: https://evil.example\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: imbed.v1\r\n\r\n',
    );
    refused.on('error', () => {});
    refused.resume();
    const refusedEnded = new Promise<string>((resolve) => refused.once('close', () => resolve('ended by the server')));
    try {
      while (!lines.some((line) => line.startsWith('refused origin'))) await new Promise((resolve) => setTimeout(resolve, 10));
      await guarded.close();
      assert.equal(await Promise.race([refusedEnded, new Promise((resolve) => setTimeout(resolve, 3000, 'still open after 3 s'))]), 'ended by the server');
      assert.equal(hostSocket.readyState, WebSocket.OPEN);
    } finally {
      refused.destroy();
      hostSocket.close();
      other.remove();
    }
  });

  it('refuses a second imbed server on a path another already serves on the same host', async () => {
    const other = tempDb();
    const listeners = host.listenerCount('upgrade');
    const duplicate = createImbedServer({ db: other.db, server: host, path: '/chat', secret: SECRET, log: () => {} });
    try {
      await assert.rejects(duplicate, /another imbed server already serves \/chat on this http server/);
      assert.equal(host.listenerCount('upgrade'), listeners);
      // Two listeners on one path would both hand the socket to ws, whose second handleUpgrade throws.
      const client = new TestClient(`ws://${base}/chat`);
      await client.opened();
      client.send({ type: 'hello', token: await imbed.signToken('alice'), convs: [] });
      assert.equal((await client.next('welcome')).user, 'alice');
      await client.close();
    } finally {
      await duplicate.then((server) => server.close(), () => {});
      other.remove();
    }
  });

  it('keeps the host listening after close', async () => {
    const other = tempDb();
    const second = await createImbedServer({ db: other.db, server: host, path: '/second', secret: SECRET, log: () => {} });
    const client = new TestClient(`ws://${base}/second`);
    await client.opened();
    await second.close();
    assert.equal((await client.closed).code, 1001);
    assert.equal(host.listening, true);
    assert.equal((await fetch(`http://${base}/x`)).status, 200);
    other.remove();
  });
});

describe('admin API in attach mode while the server closes', () => {
  const admin = 'attach-admin-secret-of-at-least-32-bytes';
  const tmp = tempDb();
  let host: Server;
  let imbed: ImbedServer;
  /** Resolves once the host has handed an admin request to imbed. */
  let handed: Promise<void>;

  before(async () => {
    let hand: () => void;
    handed = new Promise((resolve) => (hand = resolve));
    host = createServer((req, res) => {
      if (imbed.handleAdmin(req, res)) hand();
      else res.end('host answered');
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    imbed = await createImbedServer({ db: tmp.db, server: host, secret: SECRET, adminSecret: admin, log: () => {} });
  });
  after(async () => {
    await imbed.close();
    await new Promise<void>((resolve) => host.close(() => resolve()));
    tmp.remove();
  });

  it('answers 503 SERVER_CLOSED to a POST whose body arrives after close(), not 500', async () => {
    const body = JSON.stringify({ id: 'late', kind: 'group', members: ['alice'] });
    const req = request({
      host: '127.0.0.1',
      port: (host.address() as AddressInfo).port,
      path: '/admin/v1/conversations',
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    });
    const answer = new Promise<{ status: number; json: { error: { code: string } } }>((resolve, reject) => {
      req.once('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.once('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
      });
      req.once('error', reject);
    });
    req.flushHeaders();
    await handed;
    await imbed.close();
    req.end(body);
    const { status, json } = await answer;
    assert.deepEqual([status, json.error.code], [503, 'SERVER_CLOSED']);
  });
});
