import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
