/**
 * One server of `npm run bench:fanout`, run in a child process of its own so its CPU time can be read
 * from /proc. Forked with an IPC channel; `process.argv[2]` is a JSON `ServerSpec`. Tells its parent
 * `{ port }` once it listens, then runs until it is killed.
 *
 * - `imbed`: the imbed server over a temp SQLite file (WAL, synchronous=FULL), HS256 tokens, access
 *   `members`, one conversation created beforehand with every bench user as a member.
 * - `baseline`: the same, from the source tree of another checkout (`root`), to compare two versions
 *   of imbed in the same machine state.
 * - `socketio`: the Socket.IO chat server exactly as the classic tutorial builds it.
 * - `ws`: a bare `ws` broadcast server, the floor: each message is sent as received to every client.
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer } from 'ws';
import type { ImbedServerOptions, LimitsConfig } from '../src/server/index.ts';

export type ServerKind = 'imbed' | 'baseline' | 'socketio' | 'ws';

export interface ServerSpec {
  kind: ServerKind;
  /** imbed only: the HS256 secret the load generator signs its tokens with. */
  secret: string;
  /** imbed only: the conversation every client joins, and its members. */
  conv: string;
  users: string[];
  /** imbed only: limits laid over the defaults. */
  limits: Partial<LimitsConfig>;
  /** imbed only: `commitInterval`. */
  commitInterval: number;
  /** baseline only: the checkout whose src/server runs. */
  root?: string;
}

const spec = JSON.parse(process.argv[2]!) as ServerSpec;

async function main(): Promise<number> {
  switch (spec.kind) {
    case 'imbed':
      return startImbed(fileURLOf('..'));
    case 'baseline':
      return startImbed(pathToFileURL(`${resolve(spec.root!)}/`).href);
    case 'socketio':
      return startSocketIo();
    case 'ws':
      return startBareWs();
  }
}

function fileURLOf(relative: string): string {
  return new URL(`${relative}/`, import.meta.url).href;
}

async function startImbed(root: string): Promise<number> {
  const { createImbedServer } = (await import(new URL('src/server/index.ts', root).href)) as typeof import('../src/server/index.ts');
  const { Store } = (await import(new URL('src/server/store.ts', root).href)) as typeof import('../src/server/store.ts');
  const dir = mkdtempSync(join(tmpdir(), 'imbed-fanout-'));
  const db = join(dir, 'imbed.db');
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const store = new Store(db);
  store.createConversation({ id: spec.conv, kind: 'group', title: 'bench', members: spec.users, now: Date.now() });
  store.close();
  const options: ImbedServerOptions = { db, port: 0, host: '127.0.0.1', secret: spec.secret, access: 'members', limits: spec.limits, commitInterval: spec.commitInterval, log: () => {} };
  const server = await createImbedServer(options);
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
