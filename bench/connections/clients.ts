/**
 * The client side of `bench:connections`, in a process of its own (one process may hold 20,000 open
 * files; the server needs its own 10,000). Each client is a real socket doing what a real client does:
 *
 * - imbed: `hello` with an HS256 token of its own user and one conversation, then after `welcome` a
 *   `ping` every `welcome.heartbeat` ms (as src/client/heartbeat.ts does);
 * - socketio: socket.io-client over WebSocket with the token and conversation in `auth`; Socket.IO's
 *   heartbeat is driven by the server, and the client answers its pings;
 * - ws: a bare WebSocket that sends a ping frame of text every `heartbeat` ms.
 *
 * Reports to the bench over IPC: `connected` once all are (or failed), then `report` when asked: how
 * many are open, and how many closed or failed after connecting (a spurious disconnect: nobody closes
 * them on purpose before the bench stops this process).
 */
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { io as ioClient } from 'socket.io-client';
import WebSocket from 'ws';
import { PROTOCOL } from '../../src/protocol/index.ts';

export type ServerKind = 'imbed' | 'socketio' | 'ws';

/** Sent to the bench once every client has connected or failed to. */
export interface ConnectedReport {
  type: 'connected';
  connected: number;
  failed: number;
  firstError: string | null;
  ms: number;
}

/** Sent to the bench when asked: the state of the clients now. */
export interface ClientsReport {
  type: 'report';
  open: number;
  /** Closes and errors of sockets after they had connected. */
  disconnects: number;
  firstDisconnect: string | null;
  pingsSent: number;
  pongs: number;
}

/** How many clients may be connecting at once. */
const CONCURRENCY = 100;
/** A client that has not connected after this long counts as failed. */
const CONNECT_TIMEOUT_MS = 30_000;
/** Clients per conversation: a small group chat each. */
const CLIENTS_PER_CONV = 10;

const { values } = parseArgs({
  options: {
    kind: { type: 'string' },
    url: { type: 'string' },
    connections: { type: 'string' },
    heartbeat: { type: 'string' },
  },
  strict: true,
});
const kind = values.kind as ServerKind;
const url = values.url!;
const total = Number(values.connections);
const heartbeat = Number(values.heartbeat);
const key = new TextEncoder().encode(process.env.IMBED_SECRET ?? '');

const stats = { open: 0, disconnects: 0, firstDisconnect: null as string | null, pingsSent: 0, pongs: 0 };

function disconnected(what: string): void {
  stats.open -= 1;
  stats.disconnects += 1;
  stats.firstDisconnect ??= what;
}

/** Valid for a day, beyond any run: the server ends a session when its token expires, which would count as a disconnect. */
function token(user: string): Promise<string> {
  return new SignJWT({ name: `Bench ${user}` }).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuedAt().setExpirationTime('24h').sign(key);
}

/** Opens client `i` and resolves once it is connected the way its server defines it. */
async function connect(i: number): Promise<void> {
  const user = `bench-${i}`;
  const conv = `bench-room-${Math.floor(i / CLIENTS_PER_CONV)}`;
  if (kind === 'socketio') return connectSocketIo(await token(user), conv);
  if (kind === 'imbed') return connectImbed(await token(user), conv);
  return connectWs();
}

function connectImbed(jwt: string, conv: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, PROTOCOL);
    let ready = false;
    let pinger: NodeJS.Timeout | undefined;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', token: jwt, convs: [{ conv, after: 0 }] })));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; heartbeat?: number; code?: string };
      if (frame.type === 'pong') stats.pongs += 1;
      else if (frame.type === 'welcome') {
        ready = true;
        stats.open += 1;
        pinger = setInterval(() => {
          stats.pingsSent += 1;
          ws.send('{"type":"ping"}');
        }, frame.heartbeat);
        resolve();
      } else if (frame.type === 'error' && !ready) reject(new Error(`error ${frame.code} before welcome`));
    });
    ws.on('error', (err) => {
      if (!ready) reject(err);
    });
    ws.on('close', (code, reason) => {
      clearInterval(pinger);
      if (ready) disconnected(`imbed close ${code} ${reason.toString()}`);
      else reject(new Error(`closed ${code} ${reason.toString()} before welcome`));
    });
  });
}

function connectSocketIo(jwt: string, conv: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = ioClient(url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: jwt, conv } });
    let ready = false;
    socket.on('connect', () => {
      ready = true;
      stats.open += 1;
      resolve();
    });
    // Socket.IO's heartbeat: the server pings and the client answers; counted as a ping and its pong.
    socket.io.on('ping', () => {
      stats.pingsSent += 1;
      stats.pongs += 1;
    });
    socket.on('connect_error', (err) => {
      if (!ready) reject(err);
    });
    socket.on('disconnect', (reason) => {
      if (ready) disconnected(`socket.io disconnect: ${reason}`);
    });
  });
}

function connectWs(): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let ready = false;
    let pinger: NodeJS.Timeout | undefined;
    ws.on('open', () => {
      ready = true;
      stats.open += 1;
      pinger = setInterval(() => {
        stats.pingsSent += 1;
        ws.send('{"type":"ping"}');
      }, heartbeat);
      resolve();
    });
    ws.on('message', () => (stats.pongs += 1));
    ws.on('error', (err) => {
      if (!ready) reject(err);
    });
    ws.on('close', (code) => {
      clearInterval(pinger);
      if (ready) disconnected(`ws close ${code}`);
    });
  });
}

async function connectAll(): Promise<ConnectedReport> {
  const started = performance.now();
  let next = 0;
  let connected = 0;
  let failed = 0;
  let firstError: string | null = null;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          connect(i),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('connect timeout')), CONNECT_TIMEOUT_MS))),
        ]);
        connected += 1;
      } catch (err) {
        failed += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      } finally {
        clearTimeout(timer);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, total) }, worker));
  return { type: 'connected', connected, failed, firstError, ms: performance.now() - started };
}

process.on('message', (request: { type: string }) => {
  if (request.type === 'report') process.send!({ type: 'report', ...stats } satisfies ClientsReport);
});
process.send!(await connectAll());
