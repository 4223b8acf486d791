import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { freePort } from '../support/server-process.ts';
import { until } from '../support/browser.ts';

/** A WebSocket client that records what it hears and whether it was closed. */
class Peer {
  readonly heard: string[] = [];
  closed = false;
  closeCode: number | null = null;
  readonly ws: WebSocket;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data) => this.heard.push(data.toString()));
    this.ws.on('error', () => {});
    this.ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === WebSocket.OPEN) return resolve();
      this.ws.once('open', () => resolve());
      this.ws.once('close', () => reject(new Error('closed before opening')));
    });
  }
}

describe('the fault-injecting TCP proxy', () => {
  let echo: WebSocketServer;
  /** Every text the echo server received, in order. */
  let received: string[];
  /** The server side of each connection of the current test: closed or not. */
  let serverSides: Array<{ closed: boolean }>;
  const serverClosed = () => serverSides.filter((side) => side.closed).length;
  let proxy: TcpProxy;
  const peers: Peer[] = [];

  function peer(): Peer {
    const p = new Peer(proxy.url);
    peers.push(p);
    return p;
  }

  before(async () => {
    echo = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/ws' });
    await new Promise<void>((resolve) => echo.once('listening', () => resolve()));
    echo.on('connection', (ws) => {
      // Bound now: a connection of an earlier test that closes late does not count for this one.
      const sides = serverSides;
      const side = { closed: false };
      sides.push(side);
      ws.on('error', () => {});
      ws.on('message', (data) => {
        received.push(data.toString());
        ws.send(data.toString());
      });
      ws.on('close', () => (side.closed = true));
    });
  });
  after(() => new Promise<void>((resolve) => echo.close(() => resolve())));

  beforeEach(async () => {
    received = [];
    serverSides = [];
    proxy = await TcpProxy.start((echo.address() as AddressInfo).port);
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) p.ws.terminate();
    await proxy.close();
  });

  it('forwards both ways and counts its connections', async () => {
    const p = peer();
    await p.opened();
    assert.equal(proxy.connections, 1);
    assert.match(proxy.url, /^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    p.ws.send('hello');
    await until(() => p.heard.length === 1, 'the echo');
    assert.deepEqual(p.heard, ['hello']);
    p.ws.close();
    await until(() => proxy.connections === 0, 'the pair to be gone after a clean close');
    assert.equal(serverClosed(), 1);
  });

  it('cutAll disconnects both sides for real', async () => {
    const p = peer();
    await p.opened();
    proxy.cutAll();
    await until(() => p.closed && serverClosed() === 1, 'both sides to see the disconnect');
    assert.equal(p.closeCode, 1006, 'no close frame: an abnormal closure');
    assert.equal(proxy.connections, 0);
  });

  it('delay keeps every chunk in order, even when the delay shrinks mid-stream', async () => {
    const p = peer();
    await p.opened();
    proxy.delay(40);
    const texts = Array.from({ length: 60 }, (_, i) => `m${i}`);
    for (const t of texts.slice(0, 30)) p.ws.send(t);
    proxy.delay(0);
    for (const t of texts.slice(30)) p.ws.send(t);
    await until(() => p.heard.length === texts.length, 'every echo');
    assert.deepEqual(received, texts);
    assert.deepEqual(p.heard, texts);
  });

  it('pause holds every byte until resume, then delivers them in order', async () => {
    const p = peer();
    await p.opened();
    proxy.pause();
    p.ws.send('one');
    p.ws.send('two');
    await until(() => proxy.heldBytes > 0, 'the proxy to hold the frames');
    assert.deepEqual(received, [], 'nothing reached the server while paused');
    proxy.resume();
    await until(() => p.heard.length === 2, 'the echoes after resume');
    assert.deepEqual(p.heard, ['one', 'two']);
    assert.equal(proxy.heldBytes, 0);
  });

  it('blackhole drops bytes silently and keeps both sockets open; heal ends the broken pair', async () => {
    const p = peer();
    await p.opened();
    proxy.blackhole('both');
    p.ws.send('into the void');
    await until(() => proxy.droppedBytes > 0, 'the frame to be dropped');
    assert.deepEqual(received, []);
    assert.equal(p.closed, false, 'the client was not told');
    assert.equal(serverClosed(), 0, 'the server was not told');
    assert.equal(proxy.connections, 1);

    proxy.heal();
    await until(() => p.closed && serverClosed() === 1, 'the broken pair to be closed on heal');
    const fresh = peer();
    await fresh.opened();
    fresh.ws.send('after heal');
    await until(() => fresh.heard.length === 1, 'the echo on a new connection');
    assert.deepEqual(received, ['after heal']);
  });

  it('blackhole toClient lets the server hear the client but not the other way round', async () => {
    const p = peer();
    await p.opened();
    proxy.blackhole('toClient');
    p.ws.send('one way');
    await until(() => received.length === 1 && proxy.droppedBytes > 0, 'the server to receive and its echo to be dropped');
    assert.deepEqual(p.heard, []);
    assert.equal(p.closed, false);
  });

  it('a blackholed client is not told when the server side dies', async () => {
    const p = peer();
    await p.opened();
    proxy.blackhole('toClient');
    for (const ws of echo.clients) ws.terminate();
    await until(() => serverClosed() === 1, 'the server side to be gone');
    assert.equal(proxy.connections, 1, 'the client side of the pair is kept open');
    assert.equal(p.closed, false, 'a half-open link: the client still believes it is connected');
    proxy.heal();
    await until(() => p.closed, 'heal to close the dead client side');
  });

  it('refuse drops new connections at once and leaves open ones alone', async () => {
    const open = peer();
    await open.opened();
    proxy.refuse(true);
    const refused = peer();
    await assert.rejects(refused.opened(), /closed before opening/);
    assert.equal(proxy.connections, 1);
    open.ws.send('still here');
    await until(() => open.heard.length === 1, 'the open connection to keep working');
    proxy.refuse(false);
    const later = peer();
    await later.opened();
    assert.equal(proxy.connections, 2);
  });

  it('closes the client side when the target is down, without an unhandled error', async () => {
    const down = await TcpProxy.start(await freePort());
    try {
      const p = new Peer(down.url);
      peers.push(p);
      await assert.rejects(p.opened(), /closed before opening/);
      await until(() => down.connections === 0, 'the failed pair to be forgotten');
    } finally {
      await down.close();
    }
  });

  it('close destroys every connection and stops listening', async () => {
    const p = peer();
    await p.opened();
    await proxy.close();
    await until(() => p.closed, 'the client to be disconnected');
    const late = peer();
    await assert.rejects(late.opened(), /closed before opening/);
    proxy = await TcpProxy.start((echo.address() as AddressInfo).port);
  });
});
