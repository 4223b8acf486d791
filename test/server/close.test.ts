import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { PROTOCOL } from '../../src/protocol/index.ts';
import { NO_LIMITS } from '../../src/server/index.ts';
import { frozenPeer, newCmid, openSession, startServer, tempDb, wsUrl } from './helpers.ts';

/** Resolves with 'resolved' when `promise` does within `ms`, else with 'timed out'. */
function within(promise: Promise<unknown>, ms: number): Promise<'resolved' | 'timed out'> {
  return Promise.race([promise.then(() => 'resolved' as const), new Promise<'timed out'>((resolve) => setTimeout(resolve, ms, 'timed out'))]);
}

/** Resolves once `lines`, where a server's log writes, holds one matching `pattern`. */
async function logged(lines: string[], pattern: RegExp): Promise<void> {
  while (!lines.some((line) => pattern.test(line))) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('closing and dropping connections', () => {
  let tmp: ReturnType<typeof tempDb>;
  beforeEach(() => {
    tmp = tempDb();
  });
  afterEach(() => tmp.remove());

  it('closes clients with 1001 by default and stops listening', async () => {
    const server = await startServer(tmp.db);
    const port = server.port;
    const { client } = await openSession(server, 'alice');
    await server.close();
    const { code, reason } = await client.closed;
    assert.deepEqual([code, reason], [1001, 'server shutting down']);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  });

  it('closes clients with 1012 when asked for a restart', async () => {
    const server = await startServer(tmp.db);
    const { client } = await openSession(server, 'alice');
    await server.close({ code: 1012 });
    const { code, reason } = await client.closed;
    assert.deepEqual([code, reason], [1012, 'server restarting']);
  });

  it('is idempotent', async () => {
    const server = await startServer(tmp.db);
    await Promise.all([server.close(), server.close()]);
    await server.close();
  });

  it('resolves even when a client never answers the close handshake', async () => {
    const server = await startServer(tmp.db);
    const peer = await frozenPeer(server.port);
    const ended = new Promise<void>((resolve) => peer.once('close', () => resolve()));
    await server.close();
    await ended;
    assert.equal(peer.destroyed, true);
  });

  it('resolves within about a second when sockets refused for their origin, protocol or address never answer the close', async () => {
    const lines: string[] = [];
    const server = await startServer(tmp.db, { origins: ['https://app.example'], limits: { ...NO_LIMITS, connectionsPerIp: 1 }, log: (line) => lines.push(line) });
    // None of these peers reads anything, so none ever answers its close frame.
    const peers: Socket[] = [];
    const open = (origin: string, protocol: string) => {
      const socket = connect(server.port, '127.0.0.1', () =>
        socket.write(
          'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Origin: ${origin}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
        ),
      );
      socket.on('error', () => {});
      peers.push(socket);
    };
    try {
      open('https://evil.example', PROTOCOL);
      await logged(lines, /refused origin https:\/\/evil\.example/);
      open('https://app.example', 'imbed.v2');
      await logged(lines, /refused connection offering imbed\.v2/);
      open('https://app.example', PROTOCOL);
      await logged(lines, /session \S+ open from/);
      open('https://app.example', PROTOCOL);
      await logged(lines, /refused connection from \S+: too many connections/);
      assert.equal(await within(server.close(), 3000), 'resolved');
    } finally {
      for (const peer of peers) peer.destroy();
    }
  });

  it('answers 503 to a new WebSocket while it waits for clients to answer its close', async () => {
    const server = await startServer(tmp.db);
    const peer = await frozenPeer(server.port);
    const closed = server.close();
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(wsUrl(server), PROTOCOL);
        // terminate() before the handshake completes reports one, once answered; before, it is the failure.
        ws.on('error', reject);
        ws.once('close', () => reject(new Error('closed without an HTTP answer')));
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.once('open', () => reject(new Error('opened')));
      });
      assert.equal(status, 503);
    } finally {
      await closed;
      peer.destroy();
    }
  });

  it('drops every client with 1012 but keeps serving new ones', async () => {
    const server = await startServer(tmp.db);
    try {
      const { client: a } = await openSession(server, 'alice');
      const { client: b } = await openSession(server, 'bob');
      server.dropConnections();
      assert.equal((await a.closed).code, 1012);
      assert.equal((await b.closed).code, 1012);
      const { client } = await openSession(server, 'alice');
      client.send({ type: 'send', conv: 'drop', cmid: newCmid(), text: 'back' });
      assert.equal((await client.next('sent')).seq, 1);
    } finally {
      await server.close();
    }
  });

  it('drops with the given code and reason', async () => {
    const server = await startServer(tmp.db);
    try {
      const { client } = await openSession(server, 'alice');
      server.dropConnections(1011, 'maintenance');
      assert.deepEqual(await client.closed, { code: 1011, reason: 'maintenance' });
    } finally {
      await server.close();
    }
  });

  it('refuses a close code a close frame may not carry, closing no one', async () => {
    const server = await startServer(tmp.db);
    try {
      const { client: a } = await openSession(server, 'alice');
      const { client: b } = await openSession(server, 'bob');
      for (const code of [1005, 1006, 1015, 999, 5000, 1000.5]) {
        assert.throws(() => server.dropConnections(code), RangeError);
        await assert.rejects(server.close({ code }), RangeError);
      }
      // Both sessions still answer: none was marked closed with its socket left open.
      for (const client of [a, b]) {
        client.send({ type: 'ping', ref: 7 });
        assert.equal((await client.next('pong')).ref, 7);
      }
      server.dropConnections(4000, 'valid');
      assert.deepEqual(await a.closed, { code: 4000, reason: 'valid' });
    } finally {
      await server.close();
    }
  });

  it('listens again on the same port with the same database after close', async () => {
    const first = await startServer(tmp.db);
    const port = first.port;
    const { client } = await openSession(first, 'alice');
    client.send({ type: 'send', conv: 'reopen', cmid: newCmid(), text: 'x' });
    await client.next('sent');
    await first.close({ code: 1012 });
    const second = await startServer(tmp.db, { port });
    try {
      assert.equal(second.port, port);
      const { welcome } = await openSession(second, 'alice', [{ conv: 'reopen', after: 0 }]);
      assert.deepEqual(welcome.convs, [{ conv: 'reopen', head: 1 }]);
    } finally {
      await second.close();
    }
  });
});
