/**
 * One server of `npm run bench:fanout`, run in a child process of its own so its CPU time can be read
 * from /proc. Forked with an IPC channel; `process.argv[2]` is a JSON `ServerSpec`. Tells its parent
 * `{ port }` once it listens, then runs until it is killed.
 *
 * - `imbed`: the imbed server over a temp SQLite file (WAL, synchronous=FULL), HS256 tokens, access
 *   `members`, one conversation created beforehand with every bench user as a member.
 * - `socketio`: the Socket.IO chat server exactly as the classic tutorial builds it.
 * - `ws`: a bare `ws` broadcast server, the floor: each message is sent as received to every client.
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer } from 'ws';
import { createImbedServer, type LimitsConfig } from '../src/server/index.ts';
import { Store } from '../src/server/store.ts';

export type ServerKind = 'imbed' | 'socketio' | 'ws';

export interface ServerSpec {
  kind: ServerKind;
  /** imbed only: the HS256 secret the load generator signs its tokens with. */
  secret: string;
  /** imbed only: the conversation every client joins, and its members. */
  conv: string;
  users: string[];
  /** imbed only: limits laid over the defaults. */
  limits: Partial<LimitsConfig>;
}

const spec = JSON.parse(process.argv[2]!) as ServerSpec;

async function main(): Promise<number> {
  switch (spec.kind) {
    case 'imbed':
      return startImbed();
    case 'socketio':
      return startSocketIo();
    case 'ws':
      return startBareWs();
  }
}

async function startImbed(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'imbed-fanout-'));
  const db = join(dir, 'imbed.db');
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const store = new Store(db);
  store.createConversation({ id: spec.conv, kind: 'group', title: 'bench', members: spec.users, now: Date.now() });
  store.close();
  const server = await createImbedServer({ db, port: 0, host: '127.0.0.1', secret: spec.secret, access: 'members', limits: spec.limits, log: () => {} });
  return server.port;
}

function startSocketIo(): Promise<number> {
  const http = createServer();
  const io = new SocketIoServer(http);
  io.on('connection', (s) => s.on('chat message', (msg) => io.emit('chat message', msg)));
  return listen(http);
}

function startBareWs(): Promise<number> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws) => ws.on('message', (data) => {
    for (const c of wss.clients) c.send(data);
  }));
  return listen(http);
}

function listen(http: ReturnType<typeof createServer>): Promise<number> {
  return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve((http.address() as { port: number }).port)));
}

process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
main().then(
  (port) => process.send!({ port }),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
