/**
 * The imbed server: a WebSocket endpoint speaking protocol v1 over SQLite storage, either on its own
 * port (with health, bundle, dev-token and demo routes) or attached to a host's http.Server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, ErrorCode, LIMITS, PROTOCOL, ProtocolError, errorFrame } from '../protocol/index.js';
import { Access, AccessMode, isAccessMode } from './access.js';
import { createAdminHandler } from './admin.js';
import { Auth, authWarnings, ignoredKeyVariables, resolveAuthConfig, weakSecret } from './auth.js';
import { GroupCommit } from './commits.js';
import { answerIgnoringUpgrade, createRequestHandler, rejectUpgrade } from './http.js';
import { Hub } from './hub.js';
import { clientAddress, CONNECTION_RETRY_AFTER, isPrivateAddress, LimitsRegistry, resolveLimits, type LimitsConfig } from './limits.js';
import type { MessageFilter } from './filter.js';
import { createOriginCheck, parseOriginList, type OriginCheck, type OriginPolicy } from './origins.js';
import { Outbound } from './outbound.js';
import { CLOSE_GRACE_MS, closeWithin, deadlineTick, Session, truncateReason, type SessionContext } from './session.js';
import { Store, type StoreHealth } from './store.js';

export { wordListFilter, parseWordList, type MessageFilter, type FilterMessage, type FilterContext, type FilterResult, type WordListOptions } from './filter.js';
export { DEFAULT_LIMITS, NO_LIMITS, type LimitsConfig } from './limits.js';

export interface ImbedServerOptions {
  /** SQLite file path; its folder is created if missing. */
  db: string;
  /**
   * Attach mode: handle WebSocket upgrades for `path` only; every other request and upgrade is left to the
   * host. Several imbed servers may share one http.Server, each on its own path.
   */
  server?: Server;
  /** Own mode (no `server`): listen here. Port 0 picks a free port; read it from `ImbedServer.port`. */
  port?: number;
  host?: string;
  /** WebSocket path, default `/ws`. */
  path?: string;
  /**
   * Own mode: serve `https`/`wss` with this certificate chain and private key (PEM text). Without it
   * the server speaks plain `http`/`ws`, for use behind a TLS-terminating proxy (docs/deploy.md).
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Web pages allowed to open a WebSocket, by origin: `'*'` for any, or a list of origins
   * (`https://app.example`), subdomain patterns (`https://*.shop.example`) and `'null'` (opaque origins:
   * file pages, but also every sandboxed iframe on the web, so list it only for a WebView that needs
   * it). Else `IMBED_ORIGINS` (comma-separated). Default: any in dev mode; otherwise no page of another
   * host. Pages served from the server's own host and clients that send no `Origin` (not browsers)
   * always pass, whatever the list. A refused page's socket is closed with 4006.
   */
  origins?: OriginPolicy;
  /**
   * Enables `GET /dev/token` and, without a key source, a generated HS256 secret kept in the database.
   * With a public key or JWKS the server cannot sign, and `/dev/token` answers 403 saying so.
   */
  dev?: boolean;
  /**
   * HS256 secret shared with the backend that signs tokens. The token key source is exactly one of
   * `secret`, `publicKey` and `jwksUrl`; when none is given, the one of the environment applies
   * (`IMBED_SECRET`, `IMBED_PUBLIC_KEY`, `IMBED_JWKS_URL`), else (dev) a generated secret, else creation
   * fails. The key is the secret's UTF-8 bytes as given (not base64-decoded); one that starts or ends
   * with white space is refused. See docs/auth.md.
   */
  secret?: string;
  /** PEM text of the public key (SPKI) for RS256/PS256, ES256/ES384 or EdDSA tokens; else `IMBED_PUBLIC_KEY`. */
  publicKey?: string;
  /** URL of the identity provider's JWKS (keys picked by `kid`, cached 10 min); else `IMBED_JWKS_URL`. */
  jwksUrl?: string;
  /** Required `aud` claim; else `IMBED_AUDIENCE`; default none checked. */
  audience?: string;
  /** Required `iss` claim; else `IMBED_ISSUER`; default none checked. */
  issuer?: string;
  /**
   * Who may use a conversation (docs/admin-api.md): `'members'` (default) only members of conversations
   * created through the admin API; `'open'` (default in dev mode) also lets every authenticated user
   * into conversations that were never created there.
   */
  access?: AccessMode;
  /** Bearer secret of the admin API (`/admin/v1/`); else `IMBED_ADMIN_SECRET`; without one the admin API is off. */
  adminSecret?: string;
  /**
   * Longest message text, 1 to `LIMITS.maxText` (4000, the default): a longer text could make a frame over
   * `maxFrame`. Stated in `welcome.limits`.
   */
  maxText?: number;
  /** Ping interval in ms asked of clients in `welcome.heartbeat`, 10 to 3600000, default 15000. */
  heartbeatInterval?: number;
  /**
   * A socket that sends nothing for this long (ms, 10 to 10800000, longer than heartbeatInterval) is
   * terminated, default 3 x heartbeatInterval. Checked every second (a quarter of the timeout when shorter), so it happens up to
   * that much later.
   */
  idleTimeout?: number;
  /**
   * A socket without `hello` for this long (ms, 10 to 3600000) is closed with 4004, default 10000; checked as
   * `idleTimeout` is. In own mode it also bounds reading an HTTP request's headers (the WebSocket upgrade's,
   * and every route's: 408 past it) and, with `tls`, the TLS handshake.
   */
  helloTimeout?: number;
  /** One line per event; default console.log. */
  log?: (line: string) => void;
  /**
   * Rate, connection, refusal and repeat limits laid over `DEFAULT_LIMITS` (see src/server/limits.ts);
   * `0` turns one off, `NO_LIMITS` turns them all off. Each is an integer from 0 (`maxBufferedBytes`
   * from 1); creation fails naming any other. Refusals are `RATE_LIMITED`, `SPAM` and
   * `TOO_MANY_CONNECTIONS` errors with `retryAfter` where waiting helps (docs/protocol.md).
   */
  limits?: Partial<LimitsConfig>;
  /**
   * Count connections per address by the last `X-Forwarded-For` entry (the address your proxy saw)
   * instead of the socket's peer. Only set it behind a proxy that appends that header: otherwise a
   * client can claim any address. Default false.
   */
  trustProxy?: boolean;
  /** Asked about every new message before it is stored: allow, reject with a reason, or rewrite it. */
  filter?: MessageFilter;
  /**
   * Least time in ms between two group commits, default 0. The sends of every connection that arrive
   * meanwhile are stored in one transaction and reach each connection in one write, which saves
   * server CPU per delivered message under load, at the cost of up to this much latency. 0 commits
   * once per turn of the event loop, which already groups the sends that arrive together. At most 60000
   * (the CLI takes up to 1000).
   */
  commitInterval?: number;
}

/** What `ImbedServer.health()` says: ok, or why not. */
export type ServerHealth = StoreHealth;

export interface ImbedServer {
  /** The listening port (own mode), or the host server's port (attach mode, 0 if it is not listening). */
  readonly port: number;
  /** The http.Server the WebSocket endpoint lives on (own or the host's). */
  readonly http: Server;
  /** A token for `user`, signed with the server's HS256 secret (default validity 24 h). Rejects with a public key or JWKS. */
  signToken(user: string, opts?: { name?: string; expiresIn?: string | number }): Promise<string>;
  /**
   * The admin API (docs/admin-api.md): answers a request under `/admin/v1/` and returns true, or returns
   * false for any other path. Own mode routes to it already; in attach mode the host calls it first in
   * its request listener.
   */
  handleAdmin(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * Whether the server can take messages: `{ ok: false, reason }` while storage is failing (another
   * process holds the database's write lock, the disk is full...), once `close()` was called, and after.
   * Own mode answers `GET /healthz` with it (503 when not ok); in attach mode the host's health check
   * asks it. While storage fails, a call tries a small write (one a second at most), so it turns ok again once
   * one goes through.
   */
  health(): ServerHealth;
  /** Closes every client socket with `code` (default 1012), keeps listening. Throws a RangeError, closing nothing, for a code a close frame may not carry. */
  dropConnections(code?: number, reason?: string): void;
  /**
   * Closes every socket with `code` (default 1001), answering new WebSockets 503 meanwhile, then stops
   * listening (own mode) or leaves its path to the host (attach mode), and closes the database. Resolves
   * within about a second even if clients never answer. Rejects with a RangeError, closing nothing, for a
   * code a close frame may not carry.
   */
  close(opts?: { code?: number }): Promise<void>;
}

/**
 * Per http server, the `upgrade` listener of each imbed server on it and the path it serves: each leaves
 * the others' paths to them, and tells the host's own listeners from theirs.
 */
const attached = new WeakMap<Server, Map<object, string>>();

/** Whether an imbed server on `server` serves `path`. */
function servesPath(server: Server, path: string): boolean {
  return [...(attached.get(server)?.values() ?? [])].includes(path);
}

/** Most characters of a client's `Origin` header written to the log: the header is the client's to make up. */
const MAX_LOGGED_ORIGIN = 200;

const CLOSE_REASONS: Readonly<Record<number, string>> = {
  [CloseCode.GOING_AWAY]: 'server shutting down',
  [CloseCode.SERVICE_RESTART]: 'server restarting',
};

const HOUR = 3_600_000;

/**
 * `value` of option `name` when it is an integer from `min` to `max`; throws otherwise. A NaN, a 0 or a
 * huge interval would not fail loudly later: it would close every connection at once, or never.
 */
function whole(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`imbed: ${name} must be an integer from ${min} to ${max}, got ${typeof value === 'number' ? value : JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Starts an imbed server; resolves once it accepts connections. Rejects when no token key source can be
 * found, or when another imbed server already serves `path` on the same http server.
 */
export async function createImbedServer(options: ImbedServerOptions): Promise<ImbedServer> {
  const log = options.log ?? ((line: string) => console.log(`[imbed] ${line}`));
  const path = options.path ?? '/ws';
  // A path without its slash never matches a request's: every client would get 404.
  if (!path.startsWith('/')) throw new Error(`imbed: path must start with '/', got ${JSON.stringify(path)}`);
  // Listening on '' means every interface, which the default (localhost) is there to avoid.
  if (options.host === '') throw new Error("imbed: host must name an interface or address (0.0.0.0 for every one), got ''");
  const dev = options.dev ?? false;
  const heartbeat = whole('heartbeatInterval', options.heartbeatInterval ?? 15_000, 10, HOUR);
  const idleTimeout = whole('idleTimeout', options.idleTimeout ?? 3 * heartbeat, 10, 3 * HOUR);
  // Clients ping every heartbeat: a bound no longer than that drops every one of them in turn, for good.
  if (idleTimeout <= heartbeat) {
    throw new Error(`imbed: idleTimeout must be longer than heartbeatInterval (${heartbeat} ms), got ${idleTimeout}`);
  }
  const helloTimeout = whole('helloTimeout', options.helloTimeout ?? 10_000, 10, HOUR);
  const commitInterval = whole('commitInterval', options.commitInterval ?? 0, 0, 60_000);
  const accessMode = options.access ?? (dev ? AccessMode.OPEN : AccessMode.MEMBERS);
  if (!isAccessMode(accessMode)) throw new Error(`imbed: access must be 'members' or 'open', got ${JSON.stringify(accessMode)}`);
  const maxText = whole('maxText', options.maxText ?? LIMITS.maxText, 1, LIMITS.maxText);
  const limits = resolveLimits(options.limits);
  const adminSecret = options.adminSecret ?? process.env.IMBED_ADMIN_SECRET;
  // Node reads header values as latin1 while clients send UTF-8, and trims them: a secret with other
  // characters, or white space at either end (a secret file's newline), would never match.
  if (adminSecret && !/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(adminSecret)) {
    throw new Error('imbed: the admin secret must be printable ASCII with no white space at either end (a newline from a secret file?): an Authorization header carries nothing else; make one with openssl rand -base64 32');
  }
  // Both servers' listeners would take the same upgrade, and ws throws on the second, inside the host's
  // upgrade event: the host process would crash at the first client.
  if (options.server && servesPath(options.server, path)) {
    throw new Error(`imbed: another imbed server already serves ${path} on this http server; give each its own path`);
  }
  const store = new Store(options.db);
  let auth: Auth;
  try {
    const config = resolveAuthConfig(options, dev, store);
    auth = new Auth(config);
    const ignored = ignoredKeyVariables(options);
    if (ignored) log(`warning: ${ignored}`);
    for (const warning of authWarnings(config)) log(`warning: ${warning}`);
  } catch (err) {
    store.close();
    throw err;
  }

  let originAllowed: OriginCheck;
  try {
    const envOrigins = process.env.IMBED_ORIGINS;
    originAllowed = createOriginCheck(options.origins ?? (envOrigins ? parseOriginList(envOrigins) : dev ? '*' : undefined));
  } catch (err) {
    store.close();
    throw err;
  }

  const hub = new Hub<Session>();
  const sessions = new Set<Session>();
  /**
   * Sockets upgraded only to be closed with a code that says why (origin, protocol, per-address limit).
   * They are not sessions, but ws would wait 30 s for their close frame, so `close` ends them too.
   */
  const refused = new Set<WebSocket>();
  const outbound = new Outbound();
  /** Resolves `whenAllClosed()` once the last session and refused socket have closed. */
  let nothingLeftOpen: (() => void) | null = null;
  const ctx: SessionContext = {
    store,
    hub,
    auth,
    access: new Access(store, accessMode),
    maxText,
    heartbeat,
    idleTimeout,
    helloTimeout,
    log,
    limits: new LimitsRegistry(limits),
    filter: options.filter,
    commits: new GroupCommit(store, hub, outbound, log, commitInterval),
    outbound,
    sessionClosed: (session) => {
      sessions.delete(session);
      ctx.limits.releaseIp(session.ip);
      closedOne();
    },
  };

  const weakAdmin = weakSecret('admin secret', adminSecret, 'it can be guessed, and it grants every conversation');
  if (weakAdmin) log(`warning: ${weakAdmin}`);
  const handleAdmin = createAdminHandler({
    secret: adminSecret,
    store,
    // Stops live delivery to every session that may no longer read the conversation (removed member, or
    // an open conversation just restricted to members). All of them stop hearing before any is told, so
    // a send a revocation stores (one that arrived before the change) reaches only those who still may.
    membershipChanged: (conv) => {
      const lost = hub.subscribers(conv).filter((session) => !ctx.access.can(session.userId, conv) && hub.unsubscribe(conv, session));
      for (const session of lost) session.revoked(conv);
    },
    log,
  });

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: LIMITS.maxFrame,
    // A browser that offered protocols fails the handshake (1006, no reason) when none is echoed. So a
    // client offering only other versions gets its first one echoed and then a 4002 close it can read.
    handleProtocols: (offered) => (offered.has(PROTOCOL) ? PROTOCOL : (offered.values().next().value ?? false)),
  });

  const trustProxy = options.trustProxy ?? false;
  let proxyWarned = false;
  /**
   * Says once per server, at the first per-address refusal of a loopback or private address, that a
   * reverse proxy needs --trust-proxy: without it every client counts as the proxy's address, and the
   * per-address caps become caps on the whole server.
   */
  function warnAboutProxy(ip: string): void {
    if (proxyWarned || trustProxy || !isPrivateAddress(ip)) return;
    proxyWarned = true;
    log(`connections from ${ip} reached a per-address limit (${ctx.limits.config.connectionsPerIp} open, ${ctx.limits.config.refusalsPerIp} refused a minute); if this server is behind a reverse proxy, start it with --trust-proxy (trustProxy: true), else every client counts as the proxy's address`);
  }

  /**
   * Closes an upgraded socket that gets no session with `code` and `reason` (after `error`, when given),
   * keeping it among the refused sockets until it has closed.
   */
  function refuse(ws: WebSocket, code: number, reason: string, error?: ProtocolError): void {
    refused.add(ws);
    ws.once('close', () => {
      refused.delete(ws);
      closedOne();
    });
    ws.on('error', (err) => log(`refused socket error: ${err.message}`));
    if (error) ws.send(JSON.stringify(errorFrame(error)));
    // Refusals at a high rate from one address must not pile up as open sockets.
    closeWithin(ws, code, reason);
  }

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    if (ws.protocol !== PROTOCOL) {
      refuse(ws, CloseCode.UNSUPPORTED_PROTOCOL, `unsupported protocol; this server speaks ${PROTOCOL}`);
      log(`refused connection offering ${ws.protocol || 'no protocol'}`);
      return;
    }
    const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustProxy);
    // Refused here, the connection costs no session, no per-address slot and no token verification.
    const penalty = ctx.limits.refusalWait(ip);
    if (penalty > 0) {
      const error = new ProtocolError(ErrorCode.TOO_MANY_CONNECTIONS, 'too many connections from this address were refused lately', null, penalty);
      refuse(ws, CloseCode.TOO_MANY_CONNECTIONS, 'too many refused connections from this address', error);
      warnAboutProxy(ip);
      return;
    }
    if (!ctx.limits.acquireIp(ip)) {
      const error = new ProtocolError(ErrorCode.TOO_MANY_CONNECTIONS, 'too many open connections from this address', null, CONNECTION_RETRY_AFTER);
      refuse(ws, CloseCode.TOO_MANY_CONNECTIONS, 'too many connections from this address', error);
      log(`refused connection from ${ip}: too many connections`);
      warnAboutProxy(ip);
      return;
    }
    const session = new Session(ws, ctx, ip);
    sessions.add(session);
    log(`session ${session.id} open from ${ip}`);
  }

  function noneOpen(): boolean {
    return sessions.size === 0 && refused.size === 0;
  }

  /** A session or a refused socket closed: `whenAllClosed()` resolves once it was the last. */
  function closedOne(): void {
    if (noneOpen()) nothingLeftOpen?.();
  }

  function whenAllClosed(): Promise<void> {
    if (noneOpen()) return Promise.resolve();
    return new Promise((resolve) => (nothingLeftOpen = resolve));
  }

  let closing = false;
  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Own mode: an upgrade to anything but a WebSocket is an ordinary request, for the server's own request
    // listener (the host's server, in attach mode, decides that for itself).
    if (!options.server && !/^websocket$/i.test(req.headers.upgrade ?? '')) {
      return answerIgnoringUpgrade(req, socket as Socket, head, (request, res) => httpServer.emit('request', request, res), requestTimeout);
    }
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      pathname = '';
    }
    if (pathname !== path) {
      if (!options.server) return rejectUpgrade(socket, 404, 'Not Found');
      // Attach mode: another upgrade handler of the host (a dev server's own socket), or another imbed
      // server on its own path, may want it. With none, nobody would ever answer or close the socket:
      // Node leaves an upgraded socket to its listeners.
      const imbed = attached.get(httpServer)!;
      const hostListens = httpServer.listeners('upgrade').some((listener) => !imbed.has(listener));
      if (!hostListens && !servesPath(httpServer, pathname)) rejectUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (closing) return rejectUpgrade(socket, 503, 'Service Unavailable');
    const origin = req.headers.origin;
    if (!originAllowed(origin, req.headers.host)) {
      // A browser shows a refused handshake as a bare 1006 and would retry forever; a coded close
      // after the handshake tells the page, and the person running it, what is wrong.
      wss.handleUpgrade(req, socket, head, (ws) => refuse(ws, CloseCode.ORIGIN_NOT_ALLOWED, truncateReason(`origin ${origin} is not allowed`)));
      log(`refused origin ${origin?.slice(0, MAX_LOGGED_ORIGIN)} from ${req.socket.remoteAddress ?? 'unknown'}; allow it with --origin or IMBED_ORIGINS`);
      return;
    }
    wss.handleUpgrade(req, socket, head, onConnection);
  }

  let httpServer: Server;
  /**
   * Own mode: every TCP connection of the server, for `close` to drop. `httpServer.close()` waits for
   * each, and `closeAllConnections()` knows only HTTP ones, not upgraded sockets nor TLS handshakes that
   * never finish (Node gives up on those after 120 s).
   */
  const sockets = new Set<Socket>();
  /** Own mode: how long an HTTP request may take to arrive whole. */
  const requestTimeout = Math.max(helloTimeout, 30_000);
  if (options.server) {
    httpServer = options.server;
  } else {
    // A certificate Node cannot read throws here as surely as a port in use: either way the database
    // and the limits' sweeper must not outlive the failed start.
    try {
      const handler = createRequestHandler({
        dev,
        connections: () => sessions.size,
        health,
        signDevToken: (user, name) => auth.sign(user, name === undefined ? {} : { name }),
        admin: handleAdmin,
        devTokensOff: auth.canSign ? null : 'dev tokens are off: this server verifies tokens with a public key or JWKS and cannot sign them; get a token from your identity provider (see docs/auth.md)',
        log,
      });
      // A request, the WebSocket upgrade included, must be read whole within helloTimeout, as a hello must
      // come: Node's defaults (60 s for the headers, checked every 30 s) let one address hold thousands of
      // sockets that never finish their upgrade, none of them counted by the per-address limit.
      // Over TLS the header timeout counts from the end of the handshake, which Node gives 120 s: as long as a hello.
      const timeouts = { headersTimeout: helloTimeout, requestTimeout, connectionsCheckingInterval: Math.min(helloTimeout, 1000) };
      httpServer = options.tls
        ? createTlsServer({ ...timeouts, handshakeTimeout: helloTimeout, cert: options.tls.cert, key: options.tls.key }, handler)
        : createServer(timeouts, handler);
      httpServer.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      await listen(httpServer, options.port ?? 8787, options.host ?? '127.0.0.1');
      // A listening server reports a failed accept (out of file descriptors) as 'error': unheard, it would end the process.
      httpServer.on('error', (err) => log(`http server error: ${err.message}`));
    } catch (err) {
      ctx.limits.dispose();
      store.close();
      throw err;
    }
  }
  httpServer.on('upgrade', onUpgrade);
  let imbed = attached.get(httpServer);
  if (!imbed) attached.set(httpServer, (imbed = new Map()));
  imbed.set(onUpgrade, path);
  const deadlines = setInterval(() => {
    const now = performance.now();
    for (const session of sessions) session.checkDeadlines(now);
  }, deadlineTick(ctx));
  deadlines.unref();

  function closeAll(code: number, reason?: string): void {
    const text = reason ?? CLOSE_REASONS[code] ?? '';
    for (const session of sessions) session.close(code, text);
  }

  function health(): ServerHealth {
    if (closing) return { ok: false, reason: store.isOpen ? 'server closing' : 'server closed' };
    return store.health();
  }

  let closed: Promise<void> | null = null;
  async function shutdown(code: number): Promise<void> {
    closing = true;
    closeAll(code);
    const allClosed = whenAllClosed();
    const grace = new Promise<'timeout'>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS, 'timeout').unref());
    if ((await Promise.race([allClosed, grace])) === 'timeout') {
      for (const s of sessions) s.terminate();
      for (const ws of refused) ws.terminate();
      await allClosed;
    }
    // Only now: until here onUpgrade answers this path's upgrades 503. Without it they would reach the
    // request handler as plain requests (404) in own mode, or the host's listeners in attach mode.
    httpServer.off('upgrade', onUpgrade);
    attached.get(httpServer)?.delete(onUpgrade);
    clearInterval(deadlines);
    wss.close();
    if (!options.server) {
      const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      // Keep-alive HTTP sockets, silent TLS handshakes and any socket ws still holds would keep it waiting.
      for (const socket of sockets) socket.destroy();
      await stopped;
    }
    store.close();
    ctx.limits.dispose();
    log(`server closed (${code})`);
  }

  return {
    get port() {
      const address = httpServer.address();
      return address && typeof address === 'object' ? (address as AddressInfo).port : 0;
    },
    http: httpServer,
    signToken: (user, opts = {}) => auth.sign(user, opts),
    handleAdmin,
    health,
    dropConnections(code = CloseCode.SERVICE_RESTART, reason) {
      checkCloseCode(code);
      closeAll(code, reason);
    },
    close(opts = {}) {
      const code = opts.code ?? CloseCode.GOING_AWAY;
      try {
        checkCloseCode(code);
      } catch (err) {
        return Promise.reject(err);
      }
      closed ??= shutdown(code);
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

/**
 * Throws unless a close frame may carry `code` (RFC 6455 section 7.4: 1004-1006 and 1015 are never sent).
 * Checked before any socket is touched: ws throws on such a code, which would leave the sessions before it
 * closed and the rest open, ignoring their frames.
 */
function checkCloseCode(code: number): void {
  if (Number.isInteger(code) && ((code >= 1000 && code <= 1014 && (code < 1004 || code > 1006)) || (code >= 3000 && code <= 4999))) return;
  throw new RangeError(`${code} is not a close code a server may send (1000-1003, 1007-1014 or 3000-4999)`);
}

