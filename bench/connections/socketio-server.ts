/**
 * The Socket.IO server of `bench:connections`, doing what an imbed session does: verify the client's
 * HS256 token (the same secret and claims) before accepting it, and join the client's conversation as a
 * room. Socket.IO's own heartbeat runs at the bench's interval (the server pings every `heartbeat` ms and
 * waits two more intervals for the pong, so a dead socket goes after 3 intervals, as with imbed);
 * WebSocket transport only, as the clients use.
 *
 * Usage: IMBED_SECRET=... BENCH_HEARTBEAT=5000 node --import tsx bench/connections/socketio-server.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { Server } from 'socket.io';

const key = new TextEncoder().encode(process.env.IMBED_SECRET ?? '');
const heartbeat = Number(process.env.BENCH_HEARTBEAT ?? 15_000);

const http = createServer((req, res) => {
  if (req.url !== '/healthz') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ connections: io.engine.clientsCount }));
});
const io = new Server(http, { transports: ['websocket'], serveClient: false, pingInterval: heartbeat, pingTimeout: 2 * heartbeat });
io.use((socket, next) => {
  const { token } = socket.handshake.auth as { token?: unknown };
  if (typeof token !== 'string') return next(new Error('token missing'));
  jwtVerify(token, key, { algorithms: ['HS256'] }).then(
    ({ payload }) => {
      socket.data.user = payload.sub;
      next();
    },
    () => next(new Error('token invalid')),
  );
});
io.on('connection', (socket) => {
  const { conv } = socket.handshake.auth as { conv?: unknown };
  if (typeof conv === 'string') void socket.join(conv);
});
http.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${(http.address() as AddressInfo).port}`));
