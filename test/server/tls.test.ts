import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:https';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { PROTOCOL } from '../../src/protocol/index.ts';
import type { ImbedServer } from '../../src/server/index.ts';
import { startServer, tempDb } from './helpers.ts';

// A self-signed certificate for localhost and 127.0.0.1, used only by this test.
const cert = readFileSync(new URL('./fixtures/localhost-cert.pem', import.meta.url));
const key = readFileSync(new URL('./fixtures/localhost-key.pem', import.meta.url));

describe('wss served directly', () => {
  let server: ImbedServer;
  const tmp = tempDb();
  before(async () => {
    server = await startServer(tmp.db, { tls: { cert, key } });
  });
  after(async () => {
    await server.close();
    tmp.remove();
  });

  it('completes hello/welcome over wss for a client that trusts the certificate', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/ws`, PROTOCOL, { ca: cert });
    const token = await server.signToken('alice');
    const welcome = await new Promise<{ type: string; user: string }>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', token, convs: [] })));
      ws.on('message', (data) => resolve(JSON.parse(String(data)) as { type: string; user: string }));
      ws.on('error', reject);
    });
    ws.close();
    assert.equal(welcome.type, 'welcome');
    assert.equal(welcome.user, 'alice');
  });

  it('serves its HTTP routes over https', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      get(`https://127.0.0.1:${server.port}/healthz`, { ca: cert }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    assert.equal(status, 200);
  });

  it('fails the handshake for a client that does not trust the certificate', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/ws`, PROTOCOL);
    const error = await new Promise<Error>((resolve) => ws.on('error', resolve));
    assert.match(error.message, /self[- ]signed/i);
  });
});

describe('a wss server and connections that say nothing', () => {
  it('drops a connection that never starts its TLS handshake once helloTimeout has passed', async () => {
    const tmp = tempDb();
    const server = await startServer(tmp.db, { tls: { cert, key }, helloTimeout: 300 });
    // Node's TLS handshake timeout alone held it 120 s, counted by no per-address limit.
    const silent = connect(server.port, '127.0.0.1');
    silent.on('error', () => {});
    silent.resume();
    try {
      const closed = new Promise<'closed'>((resolve) => silent.once('close', () => resolve('closed')));
      const bound = new Promise<'open'>((resolve) => setTimeout(resolve, 5_000, 'open').unref());
      assert.equal(await Promise.race([closed, bound]), 'closed');
    } finally {
      silent.destroy();
      await server.close();
      tmp.remove();
    }
  });
});

describe('closing a wss server', () => {
  it('resolves within about a second while a connection never starts its TLS handshake', async () => {
    const tmp = tempDb();
    const server = await startServer(tmp.db, { tls: { cert, key } });
    const accepted = new Promise((resolve) => server.http.once('connection', resolve));
    // Node would wait 120 s (its TLS handshake timeout) for this socket to say anything.
    const silent = connect(server.port, '127.0.0.1');
    silent.on('error', () => {});
    try {
      await accepted;
      const closed = await Promise.race([server.close().then(() => 'resolved'), new Promise((resolve) => setTimeout(resolve, 3000, 'timed out'))]);
      assert.equal(closed, 'resolved');
    } finally {
      silent.destroy();
      tmp.remove();
    }
  });
});

describe('starting with a certificate that cannot be read', () => {
  it('rejects and leaves the database closed for the next server', async () => {
    const tmp = tempDb();
    try {
      await assert.rejects(startServer(tmp.db, { tls: { cert: 'x', key: 'x' } }));
      // SQLite removes the write-ahead log when the last connection to the database closes.
      assert.equal(existsSync(`${tmp.db}-wal`), false);
      const next = await startServer(tmp.db);
      await next.close();
    } finally {
      tmp.remove();
    }
  });
});
