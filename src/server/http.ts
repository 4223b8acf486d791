/**
 * HTTP routes of a server that owns its port: health and the browser bundle, and with `--dev` dev tokens
 * and the demo pages.
 * A server attached to a host's http.Server serves none of these: the host owns its routes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreHealth } from './store.js';

/** A user id a dev token may be issued for. */
const DEV_USER = /^[A-Za-z0-9_.-]{1,64}$/;

/** The answer of `/dev/token` on a production server. */
const PRODUCTION_DEV_TOKEN =
  'dev tokens are off: this server runs without --dev. Your backend must sign user tokens (see docs/auth.md).';

/** How long browsers may use the scripts of dist/ without asking; after that they revalidate with their ETag. */
const BUNDLE_CACHE = 'public, max-age=300';

/**
 * A browser script of dist/: `imbed.js`, `imbed-launcher.js` and the parts `imbed.js` loads from beside
 * itself (`imbed-zh-CN.js`, `imbed-bridge.js`, ...); names of letters and dashes only. The nginx advice in
 * docs/deploy.md passes the same paths on.
 */
const SCRIPT = /^\/imbed(?:-[A-Za-z-]+)?\.js$/;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.mjs': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface RouteContext {
  dev: boolean;
  connections: () => number;
  /** Whether the server can take messages; `/healthz` answers 503 with the reason when not. */
  health: () => StoreHealth;
  signDevToken: (user: string, name?: string) => Promise<string>;
  /** Why `/dev/token` cannot sign in dev mode (the key source is not a secret); null when it can. */
  devTokensOff?: string | null;
  /** The admin API (admin.ts): true when it answered the request. */
  admin?: (req: IncomingMessage, res: ServerResponse) => boolean;
  log: (line: string) => void;
}

/**
 * The root folder of the imbed package: the nearest folder above this module whose package.json is
 * named "imbed". Works from `src/server/` (tsx) and from `dist/node/server/` (compiled).
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'imbed') return dir;
      } catch {
        // An unreadable package.json is not ours; keep walking up.
      }
    }
    if (dirname(dir) === dir) throw new Error(`imbed: no package.json named "imbed" above ${from}`);
  }
}

/** Builds the request listener of an own-port server. It never throws; failures answer 500. */
export function createRequestHandler(ctx: RouteContext): (req: IncomingMessage, res: ServerResponse) => void {
  const root = packageRoot();
  const demoDir = join(root, 'demo');

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // `//` and the like read as a URL without a host: the client's mistake, not the server's.
      return text(res, 400, 'bad path\n');
    }
    switch (url.pathname) {
      case '/healthz': {
        // 503 while storage fails or the server closes, so a load balancer or orchestrator stops sending
        // clients here: they would connect, send, and be closed with 1011 "storage failure".
        const health = ctx.health();
        return json(res, health.ok ? 200 : 503, { ...health, connections: ctx.connections() });
      }
      case '/dev/token':
        return devToken(url, res);
    }
    if (SCRIPT.test(url.pathname)) {
      // Cached for a few minutes, so a page reloaded while the chat server is down still gets the widget
      // from the browser's cache and can show (and later send) its outbox. The launcher loads imbed.js,
      // and imbed.js its parts, from the folder it came from: all are served, and cached, alike.
      return serveFile(req, res, join(root, 'dist', url.pathname.slice(1)), { 'Access-Control-Allow-Origin': '*', 'Cache-Control': BUNDLE_CACHE }, `${url.pathname.slice(1)} not built: run npm run build\n`);
    }
    // The demo's pages are for a laptop: a production server publishes only the chat and its scripts.
    if (!ctx.dev) return text(res, 404, 'not found (the demo pages are served with --dev only)\n');
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return text(res, 400, 'bad path\n');
    }
    if (path.includes('\0')) return text(res, 400, 'bad path\n');
    const file = resolve(demoDir, '.' + (path.endsWith('/') ? path + 'index.html' : path));
    // Resolving may climb out of demo/ with `..`: serve only what stays inside.
    if (!file.startsWith(demoDir + sep)) return text(res, 404, 'not found\n');
    return serveFile(req, res, file, {}, 'not found\n');
  }

  async function devToken(url: URL, res: ServerResponse): Promise<void> {
    // Refused loudly rather than with a bare 404, so whoever wired a page to it learns why and what to do.
    if (!ctx.dev) return json(res, 403, { error: PRODUCTION_DEV_TOKEN }, true);
    if (ctx.devTokensOff) return json(res, 403, { error: ctx.devTokensOff }, true);
    const user = url.searchParams.get('user') ?? '';
    if (!DEV_USER.test(user)) return json(res, 400, { error: 'user must be 1-64 characters of [A-Za-z0-9_.-]' }, true);
    const name = url.searchParams.get('name') ?? undefined;
    return json(res, 200, { token: await ctx.signDevToken(user, name) }, true);
  }

  return (req, res) => {
    if (ctx.admin?.(req, res)) return;
    route(req, res).catch((err: unknown) => {
      ctx.log(`http ${req.method} ${req.url} failed: ${String(err)}`);
      if (!res.headersSent) text(res, 500, 'internal error\n');
      else res.destroy();
    });
  };
}

async function serveFile(req: IncomingMessage, res: ServerResponse, file: string, headers: Record<string, string>, missing: string): Promise<void> {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return text(res, 404, missing, headers);
  const body = await readFile(file);
  const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
  const common = { 'Cache-Control': 'no-cache', ...headers, ETag: etag };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, common).end();
    return;
  }
  res.writeHead(200, {
    ...common,
    'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': body.length,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function json(res: ServerResponse, status: number, body: unknown, cors = false): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    ...(cors && { 'Access-Control-Allow-Origin': '*' }),
  });
  res.end(data);
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

/** Answers a request Node handed to `upgrade` listeners with `status` and no body, and closes its socket. */
export function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Answers, as an ordinary HTTP/1.1 request, one that asked to upgrade to something other than a WebSocket:
 * `curl --http2` asks for h2c on every request to an `http:` URL, and HTTP lets a server ignore the ask.
 * Node hands such a request to `upgrade` listeners instead of the request handler, with its body's first
 * bytes (`head`) and the socket, and ends the request's stream: the handler gets a request of its own,
 * whose body is `head` and what follows on the socket up to `Content-Length`, read as the handler reads it
 * (a chunked body is not decoded: 400). The socket is closed after the answer, or at `timeoutMs`. Nothing
 * it is sent throws out of it: a throw closes the socket.
 */
export function answerIgnoringUpgrade(
  upgrade: IncomingMessage,
  socket: Socket,
  head: Buffer,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  timeoutMs: number,
): void {
  socket.on('error', () => {});
  const deadline = setTimeout(() => socket.destroy(), timeoutMs);
  socket.once('close', () => clearTimeout(deadline));
  // Pipelined behind a request whose answer is still being written on this socket (Node emits `upgrade`
  // all the same): that answer goes out whole, then the connection closes, this request unanswered.
  const earlier = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (earlier) {
    earlier.once('finish', () => socket.destroySoon());
    return;
  }
  try {
    answer(upgrade, socket, head, handler);
  } catch {
    socket.destroy();
  }
}

/** `answerIgnoringUpgrade` once the socket is this request's alone. */
function answer(upgrade: IncomingMessage, socket: Socket, head: Buffer, handler: (req: IncomingMessage, res: ServerResponse) => void): void {
  let left = Number(upgrade.headers['content-length'] ?? 0);
  if (upgrade.headers['transfer-encoding'] !== undefined || !Number.isSafeInteger(left) || left < 0) return rejectUpgrade(socket, 400, 'Bad Request');
  const { method, url, headers, rawHeaders, httpVersion, httpVersionMajor, httpVersionMinor } = upgrade;
  // Reading it resumes the socket (IncomingMessage's own `_read`), which `take` pauses while it is full.
  const req = Object.assign(new IncomingMessage(socket), { method, url, headers, rawHeaders, httpVersion, httpVersionMajor, httpVersionMinor });
  const take = (chunk: Buffer): void => {
    const part = chunk.subarray(0, left);
    left -= part.length;
    if (part.length > 0 && !req.push(part)) socket.pause();
    if (left > 0) return;
    socket.off('data', take);
    req.complete = true;
    req.push(null);
  };
  take(head);
  if (left > 0) socket.on('data', take);
  // A client gone before the whole body came: the request is aborted, as Node's own would be.
  socket.once('close', () => left > 0 && req.destroy(new Error('aborted')));
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', () => {
    socket.off('data', take);
    res.detachSocket(socket);
    socket.destroySoon();
  });
  handler(req, res);
}
