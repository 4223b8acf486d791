/**
 * Tokens: HS256 JWTs whose `sub` is the user id and whose optional `name` claim is the display name.
 * The user id of a session always comes from here, never from a frame.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import { CloseCode } from '../protocol/index.js';
import type { Store } from './store.js';

/** Longest display name kept from a token; a longer one is cut, so one claim cannot bloat every frame. */
const MAX_NAME = 64;

export type VerifyResult =
  | { ok: true; user: string; name: string }
  | { ok: false; code: typeof CloseCode.TOKEN_EXPIRED | typeof CloseCode.UNAUTHORIZED; reason: string };

export interface SignOptions {
  name?: string;
  /** A jose time span (`'2h'`, `'30 min'`) or a number of seconds from now (negative: already expired). */
  expiresIn?: string | number;
}

/** Signs and verifies imbed tokens with one HS256 secret. */
export class Auth {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  /** A token for `user`, valid for `expiresIn` (default 24 h). */
  async sign(user: string, opts: SignOptions = {}): Promise<string> {
    const jwt = new SignJWT(opts.name === undefined ? {} : { name: opts.name })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user)
      .setIssuedAt();
    const exp = opts.expiresIn ?? '24h';
    jwt.setExpirationTime(typeof exp === 'number' ? Math.floor(Date.now() / 1000) + exp : exp);
    return jwt.sign(this.key);
  }

  /** Never throws: a bad token is a result with the close code the connection must get. */
  async verify(token: string): Promise<VerifyResult> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        return { ok: false, code: CloseCode.UNAUTHORIZED, reason: 'token has no sub' };
      }
      const name = typeof payload.name === 'string' && payload.name.trim() !== '' ? payload.name.slice(0, MAX_NAME) : payload.sub;
      return { ok: true, user: payload.sub, name };
    } catch (err) {
      if (err instanceof errors.JWTExpired) return { ok: false, code: CloseCode.TOKEN_EXPIRED, reason: 'token expired' };
      return { ok: false, code: CloseCode.UNAUTHORIZED, reason: 'invalid token' };
    }
  }
}

/**
 * The HS256 secret: the option, else `IMBED_SECRET`, else (dev only) a random one kept in the database
 * so that tokens handed out survive a restart. Throws when none applies.
 */
export function resolveSecret(option: string | undefined, dev: boolean, store: Store): string {
  const secret = option ?? process.env.IMBED_SECRET;
  if (secret !== undefined && secret !== '') return secret;
  if (dev) return store.metaOrInit('dev_secret', () => randomBytes(32).toString('base64url'));
  throw new Error('imbed: no token secret. Pass `secret`, set IMBED_SECRET, or use dev mode for a generated one.');
}

/**
 * Whether `user` may read and write `conv`. Every authenticated user may, for now; membership rules
 * will live here so that every frame handler already asks.
 */
export function canAccess(_user: string, _conv: string): boolean {
  return true;
}
