/**
 * The admin API: server-to-server HTTP + JSON under `/admin/v1/`, for a customer's backend to create
 * conversations and manage their members. Every request carries `Authorization: Bearer <admin secret>`;
 * without a configured secret the API is off. Documented in docs/admin-api.md.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONV_PATTERN, USER_PATTERN } from '../protocol/index.js';
import type { Conversation, Store } from './store.js';
import { DIRECT_MEMBERS } from './store.js';

/** The path prefix every admin route lives under. */
export const ADMIN_PREFIX = '/admin/v1/';

/**
 * Largest request body, in bytes. The largest conversation the field rules allow (1000 members of 128
 * characters, about 131 KB as JSON) fits within it twice over: indented JSON, a long title and the id
 * take little of the rest.
 */
export const MAX_ADMIN_BODY = 256 * 1024;
/** Most members `POST /conversations` takes at once; add more with `PUT .../members/:user`. */
export const MAX_INITIAL_MEMBERS = 1000;
/** Longest conversation title, in UTF-16 code units. */
export const MAX_TITLE = 200;

/** The `error.code` of every admin API failure, with its HTTP status. */
export const AdminErrorCode = {
  ADMIN_DISABLED: 'ADMIN_DISABLED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  BAD_JSON: 'BAD_JSON',
  BAD_REQUEST: 'BAD_REQUEST',
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  CONVERSATION_EXISTS: 'CONVERSATION_EXISTS',
  DIRECT_FULL: 'DIRECT_FULL',
  INTERNAL: 'INTERNAL',
  SERVER_CLOSED: 'SERVER_CLOSED',
} as const;
export type AdminErrorCode = (typeof AdminErrorCode)[keyof typeof AdminErrorCode];

const STATUS: Readonly<Record<AdminErrorCode, number>> = {
  ADMIN_DISABLED: 404,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BAD_JSON: 400,
  BAD_REQUEST: 400,
  BODY_TOO_LARGE: 413,
  CONVERSATION_EXISTS: 409,
  DIRECT_FULL: 409,
  INTERNAL: 500,
  SERVER_CLOSED: 503,
};

class AdminError extends Error {
  constructor(
    readonly code: AdminErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface AdminContext {
  /** The admin secret; undefined or empty turns the API off. */
  secret: string | undefined;
  store: Store;
  /** Membership of `conv` changed: sessions that may no longer read it must stop receiving it. */
  membershipChanged: (conv: string) => void;
  log: (line: string) => void;
}

/**
 * Builds the admin request handler. It answers every request under `/admin/v1/` and returns true, or
 * returns false without touching the response for any other path. It never throws.
 */
export function createAdminHandler(ctx: AdminContext): (req: IncomingMessage, res: ServerResponse) => boolean {
  // Hashing both sides gives equal lengths, so timingSafeEqual neither throws nor leaks the length.
  const secretHash = ctx.secret ? sha256(ctx.secret) : null;

  function authorize(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    if (!match || !timingSafeEqual(sha256(match[1]!), secretHash!)) {
      throw new AdminError(AdminErrorCode.UNAUTHORIZED, 'missing or wrong admin secret: send `Authorization: Bearer <IMBED_ADMIN_SECRET>`', {
        'WWW-Authenticate': 'Bearer realm="imbed-admin"',
      });
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
    if (!secretHash) throw new AdminError(AdminErrorCode.ADMIN_DISABLED, 'the admin API is off: start the server with an admin secret (IMBED_ADMIN_SECRET)');
    authorize(req);
    refuseIfClosed();
    const method = req.method ?? 'GET';
    const [first, id, third, user, ...rest] = segments;
    if (first === 'conversations' && segments.length === 1) {
      allow(method, ['POST']);
      const body = await readJson(req);
      // In attach mode the host's server outlives close(): the body may have arrived after it.
      refuseIfClosed();
      return reply(res, 201, { conversation: create(body) });
    }
    if (first === 'conversations' && segments.length === 2) {
      allow(method, ['GET']);
      return reply(res, 200, { conversation: find(convId(id!)) });
    }
    if (first === 'conversations' && third === 'members' && segments.length === 4 && rest.length === 0) {
      allow(method, ['PUT', 'DELETE']);
      return reply(res, 200, method === 'PUT' ? addMember(convId(id!), userId(user!)) : removeMember(convId(id!), userId(user!)));
    }
    if (first === 'users' && third === 'conversations' && segments.length === 3) {
      allow(method, ['GET']);
      return reply(res, 200, { conversations: ctx.store.conversationsOf(userId(id!)) });
    }
    throw new AdminError(AdminErrorCode.NOT_FOUND, `no admin route ${method} ${ADMIN_PREFIX}${segments.join('/')}`);
  }

  /** Throws SERVER_CLOSED once the server's close() has closed the database: there is nothing to serve from. */
  function refuseIfClosed(): void {
    if (!ctx.store.isOpen) throw new AdminError(AdminErrorCode.SERVER_CLOSED, 'the imbed server is closed: its database is closed');
  }

  function create(body: Record<string, unknown>): Conversation {
    const id = body.id === undefined ? randomBytes(12).toString('base64url') : body.id;
    if (!isId(CONV_PATTERN, id)) throw bad(`\`id\` must be a conversation id of ${CONV_ID_RULE}`);
    const kind = body.kind;
    if (kind !== 'direct' && kind !== 'group') throw bad('`kind` must be "direct" or "group"');
    const title = body.title ?? null;
    if (title !== null && (typeof title !== 'string' || title.length > MAX_TITLE)) throw bad(`\`title\` must be a string of at most ${MAX_TITLE} characters, or null`);
    const members = body.members ?? [];
    if (!Array.isArray(members) || members.length > MAX_INITIAL_MEMBERS) throw bad(`\`members\` must be an array of at most ${MAX_INITIAL_MEMBERS} user ids`);
    members.forEach((m: unknown, i) => {
      if (!isId(USER_PATTERN, m)) throw bad(`\`members[${i}]\` must be a user id of ${USER_ID_RULE}`);
    });
    const unique = [...new Set(members as string[])];
    if (kind === 'direct' && unique.length !== DIRECT_MEMBERS) throw bad(`\`members\` of a direct conversation must be ${DIRECT_MEMBERS} different users`);
    const result = ctx.store.createConversation({ id, kind, title, members: unique, now: Date.now() });
    if (!result.ok) throw new AdminError(AdminErrorCode.CONVERSATION_EXISTS, `conversation ${id} already exists`);
    ctx.log(`admin created ${kind} conversation ${id} with ${unique.length} members`);
    // It may have been open before (messages, live subscribers): only its members may follow it now.
    notify(id);
    return result.conversation;
  }

  function find(id: string): Conversation {
    const found = ctx.store.conversation(id);
    if (!found) throw unknownConversation(id);
    return found;
  }

  function addMember(conv: string, user: string): { conversation: Conversation; changed: boolean } {
    const result = ctx.store.addMember(conv, user, Date.now());
    if (!result.ok) {
      if (result.reason === 'unknown') throw unknownConversation(conv);
      throw new AdminError(AdminErrorCode.DIRECT_FULL, `direct conversation ${conv} already has ${DIRECT_MEMBERS} members`);
    }
    if (result.changed) ctx.log(`admin added ${user} to ${conv}`);
    return { conversation: result.conversation, changed: result.changed };
  }

  function removeMember(conv: string, user: string): { conversation: Conversation; changed: boolean } {
    const result = ctx.store.removeMember(conv, user);
    if (!result.ok) throw unknownConversation(conv);
    if (result.changed) {
      ctx.log(`admin removed ${user} from ${conv}`);
      notify(conv);
    }
    return { conversation: result.conversation, changed: result.changed };
  }

  /**
   * Tells live sessions about a membership change that is already stored. If that fails, the answer is
   * still an error, because a removed member may keep receiving the conversation until they reconnect,
   * but it says the change is stored: a bare INTERNAL answer tells the caller nothing was changed.
   */
  function notify(conv: string): void {
    try {
      ctx.membershipChanged(conv);
    } catch (err) {
      ctx.log(`admin stored a membership change of ${conv} but could not update live sessions: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      throw new AdminError(
        AdminErrorCode.INTERNAL,
        `the change to conversation ${conv} is stored, but live sessions could not be updated: sessions that lost access may keep receiving it until they reconnect`,
      );
    }
  }

  return (req, res) => {
    const segments = adminSegments(req.url);
    if (segments === null) return false;
    route(req, res, segments).catch((err: unknown) => {
      if (!(err instanceof AdminError)) ctx.log(`admin ${req.method} ${req.url} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      const error = err instanceof AdminError ? err : new AdminError(AdminErrorCode.INTERNAL, 'the server failed to handle the request');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A body left unread (refused before reading, or too large) is not worth keeping the socket for.
      if (!req.complete) {
        res.setHeader('Connection', 'close');
        req.resume();
      }
      reply(res, STATUS[error.code], { error: { code: error.code, message: error.message } }, error.headers);
    });
    return true;
  };
}

/**
 * The path segments after `/admin/v1/`, percent-decoded; null when the path is not an admin path. The
 * path as sent must name the API itself: one that only leads there once `\` or dot segments are
 * resolved (`/admin\v1/…`, `/x/../admin/v1/…`) is not, so a proxy rule that guards `/admin/` holds.
 */
function adminSegments(url: string | undefined): string[] | null {
  const sent = (url ?? '/').split('?', 1)[0]!;
  if (!sent.startsWith(ADMIN_PREFIX.slice(0, -1)) || sent.includes('\\') || sent.split('/').some((part) => /^(?:\.|%2e){1,2}$/i.test(part))) return null;
  let pathname: string;
  try {
    pathname = new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return null;
  }
  if (pathname !== ADMIN_PREFIX.slice(0, -1) && !pathname.startsWith(ADMIN_PREFIX)) return null;
  const parts = pathname.slice(ADMIN_PREFIX.length).split('/');
  if (parts.at(-1) === '') parts.pop();
  return parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      // Not valid percent-encoding: keep it raw, and the id check refuses it with a message.
      return p;
    }
  });
}

function allow(method: string, methods: string[]): void {
  if (!methods.includes(method)) {
    throw new AdminError(AdminErrorCode.METHOD_NOT_ALLOWED, `${method} is not allowed here; use ${methods.join(' or ')}`, { Allow: methods.join(', ') });
  }
}

/**
 * What the admin API takes as a conversation or user id: the protocol's, but for `.` and `..`. No admin
 * path can carry those (adminSegments refuses dot segments), so a conversation or member of that id
 * could never be read or removed.
 */
const CONV_ID_RULE = '1-128 characters of A-Z a-z 0-9 _ . : -, not . or ..';
const USER_ID_RULE = '1-128 characters of A-Z a-z 0-9 _ . : @ | + -, not . or ..';

/** Whether `id` is an id of `pattern` (the protocol's conversation or user ids) that a path can carry. */
function isId(pattern: RegExp, id: unknown): id is string {
  return typeof id === 'string' && pattern.test(id) && id !== '.' && id !== '..';
}

function convId(id: string): string {
  if (!isId(CONV_PATTERN, id)) throw bad(`the conversation id must be ${CONV_ID_RULE}`);
  return id;
}

function userId(user: string): string {
  if (!isId(USER_PATTERN, user)) throw bad(`the user id must be ${USER_ID_RULE}`);
  return user;
}

function bad(message: string): AdminError {
  return new AdminError(AdminErrorCode.BAD_REQUEST, message);
}

function unknownConversation(id: string): AdminError {
  return new AdminError(AdminErrorCode.NOT_FOUND, `no conversation ${id} (conversations are created with POST ${ADMIN_PREFIX}conversations)`);
}

/** Reads a JSON object body of at most MAX_ADMIN_BODY bytes. */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  // Its `end` would never come: the request would wait for good.
  if (req.readableEnded) throw new AdminError(AdminErrorCode.INTERNAL, 'the request body was read before the admin API got it: call handleAdmin before any body parser');
  const tooLarge = () => new AdminError(AdminErrorCode.BODY_TOO_LARGE, `the body is larger than ${MAX_ADMIN_BODY} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > MAX_ADMIN_BODY) throw tooLarge();
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_ADMIN_BODY) {
        chunks.push(chunk);
        return;
      }
      // Keep the socket readable (the rest is discarded) so the 413 answer can still be written.
      req.off('data', onData);
      req.off('end', onEnd);
      req.resume();
      reject(tooLarge());
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AdminError(AdminErrorCode.BAD_JSON, 'the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AdminError(AdminErrorCode.BAD_JSON, 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
