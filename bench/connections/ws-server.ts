/**
 * The bare `ws` server of `bench:connections`: the floor any WebSocket server pays per connection. It
 * answers every frame with a pong and counts connections for GET /healthz; no auth, no rooms, no timers.
 *
 * Usage: node --import tsx bench/connections/ws-server.ts   (prints `listening on http://127.0.0.1:PORT`)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const PONG = '{"type":"pong"}';

const http = createServer((req, res) => {
  if (req.url !== '/healthz') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ connections: wss.clients.size }));
});
const wss = new WebSocketServer({ server: http });
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', () => ws.send(PONG));
});
http.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${(http.address() as AddressInfo).port}`));
