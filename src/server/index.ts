/**
 * The imbed server: a WebSocket endpoint speaking protocol v1 over SQLite storage, either on its own
 * port (with health, bundle, dev-token and demo routes) or attached to a host's http.Server.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, LIMITS, PROTOCOL } from '../protocol/index.js';
import { Auth, resolveSecret } from './auth.js';
import { createRequestHandler } from './http.js';
import { Hub } from './hub.js';
import { Session, type SessionContext } from './session.js';
import { Store } from './store.js';

export interface ImbedServerOptions {
  /** SQLite file path; its folder is created if missing. */
  db: string;
  /** Attach mode: handle WebSocket upgrades for `path` only; every other request and upgrade is left to the host. */
  server?: Server;
  /** Own mode (no `server`): listen here. Port 0 picks a free port; read it from `ImbedServer.port`. */
  port?: number;
  host?: string;
  /** WebSocket path, default `/ws`. */
  path?: string;
  /** Enables `GET /dev/token` and, without a secret, a generated one kept in the database. */
  dev?: boolean;
  /** HS256 secret for tokens; else `IMBED_SECRET`; else (dev) a generated one; else creation fails. */
  secret?: string;
  /** Longest message text, default `LIMITS.maxText`; stated in `welcome.limits`. */
  maxText?: number;
  /** Ping interval in ms asked of clients in `welcome.heartbeat`, default 15000. */
  heartbeatInterval?: number;
  /** A socket that sends nothing for this long is terminated, default 3 x heartbeatInterval. */
  idleTimeout?: number;
  /** A socket without `hello` for this long is closed with 4004, default 10000. */
  helloTimeout?: number;
  /** One line per event; default console.log. */
  log?: (line: string) => void;
}

export interface ImbedServer {
  /** The listening port (own mode), or the host server's port (attach mode, 0 if it is not listening). */
  readonly port: number;
  /** The http.Server the WebSocket endpoint lives on (own or the host's). */
  readonly http: Server;
  /** A token for `user`, signed with the server's secret (default validity 24 h). */
  signToken(user: string, opts?: { name?: string; expiresIn?: string | number }): Promise<string>;
  /** Closes every client socket with `code` (default 1012), keeps listening. */
  dropConnections(code?: number, reason?: string): void;
  /**
   * Closes every socket with `code` (default 1001), stops accepting connections, stops listening (own
   * mode) and closes the database. Resolves within about a second even if clients never answer.
   */
  close(opts?: { code?: number }): Promise<void>;
}

/** How long `close` waits for clients to answer the close handshake before dropping them. */
const CLOSE_GRACE_MS = 1000;

const CLOSE_REASONS: Readonly<Record<number, string>> = {
  [CloseCode.GOING_AWAY]: 'server shutting down',
  [CloseCode.SERVICE_RESTART]: 'server restarting',
};

/** Starts an imbed server; resolves once it accepts connections. Throws when no secret can be found. */
export async function createImbedServer(options: ImbedServerOptions): Promise<ImbedServer> {
  const log = options.log ?? ((line: string) => console.log(`[imbed] ${line}`));
  const path = options.path ?? '/ws';
  const dev = options.dev ?? false;
  const heartbeat = options.heartbeatInterval ?? 15_000;
  const store = new Store(options.db);
  let auth: Auth;
  try {
    auth = new Auth(resolveSecret(options.secret, dev, store));
  } catch (err) {
    store.close();
    throw err;
  }

  const hub = new Hub<Session>();
  const sessions = new Set<Session>();
  const ctx: SessionContext = {
    store,
    hub,
    auth,
    maxText: options.maxText ?? LIMITS.maxText,
    heartbeat,
    idleTimeout: options.idleTimeout ?? 3 * heartbeat,
    helloTimeout: options.helloTimeout ?? 10_000,
    log,
  };

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: LIMITS.maxFrame,
    // A browser that offered protocols fails the handshake (1006, no reason) when none is echoed. So a
    // client offering only other versions gets its first one echoed and then a 4002 close it can read.
    handleProtocols: (offered) => (offered.has(PROTOCOL) ? PROTOCOL : (offered.values().next().value ?? false)),
  });

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    if (ws.protocol !== PROTOCOL) {
      ws.on('error', (err) => log(`refused socket error: ${err.message}`));
      ws.close(CloseCode.UNSUPPORTED_PROTOCOL, `unsupported protocol; this server speaks ${PROTOCOL}`);
      log(`refused connection offering ${ws.protocol || 'no protocol'}`);
      return;
    }
    const session = new Session(ws, ctx);
    sessions.add(session);
    log(`session ${session.id} open from ${req.socket.remoteAddress ?? 'unknown'}`);
    void session.closed.then(() => sessions.delete(session));
  }

  let closing = false;
  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      pathname = '';
    }
    if (pathname !== path) {
      // Attach mode: another upgrade handler of the host (a dev server's own socket) may want it.
      if (!options.server) rejectUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (closing) return rejectUpgrade(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, onConnection);
  }

  let httpServer: Server;
  if (options.server) {
    httpServer = options.server;
  } else {
    httpServer = createServer(
      createRequestHandler({
        dev,
        connections: () => sessions.size,
        signDevToken: (user, name) => auth.sign(user, name === undefined ? {} : { name }),
        log,
      }),
    );
    try {
      await listen(httpServer, options.port ?? 8787, options.host ?? '127.0.0.1');
    } catch (err) {
      store.close();
      throw err;
    }
  }
  httpServer.on('upgrade', onUpgrade);

  function closeAll(code: number, reason?: string): Promise<void>[] {
    const text = reason ?? CLOSE_REASONS[code] ?? '';
    return [...sessions].map((s) => {
      s.close(code, text);
      return s.closed;
    });
  }

  let closed: Promise<void> | null = null;
  async function shutdown(code: number): Promise<void> {
    closing = true;
    httpServer.off('upgrade', onUpgrade);
    const pending = closeAll(code);
    const grace = new Promise<'timeout'>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS, 'timeout').unref());
    if ((await Promise.race([Promise.all(pending), grace])) === 'timeout') {
      for (const s of sessions) s.terminate();
      await Promise.all(pending);
    }
    wss.close();
    if (!options.server) {
      const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      // Keep-alive HTTP sockets would hold close() open until they time out.
      httpServer.closeAllConnections();
      await stopped;
    }
    store.close();
    log(`server closed (${code})`);
  }

  return {
    get port() {
      const address = httpServer.address();
      return address && typeof address === 'object' ? (address as AddressInfo).port : 0;
    },
    http: httpServer,
    signToken: (user, opts = {}) => auth.sign(user, opts),
    dropConnections(code = CloseCode.SERVICE_RESTART, reason) {
      void closeAll(code, reason);
    },
    close(opts = {}) {
      closed ??= shutdown(opts.code ?? CloseCode.GOING_AWAY);
      return closed;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
