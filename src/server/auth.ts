/**
 * Tokens: JWTs whose `sub` is the user id and whose optional `name` claim is the display name, verified
 * with one key source: an HS256 secret, a public key (PEM, SPKI), or a JWKS URL. The user id of a
 * session always comes from here, never from a frame. See docs/auth.md.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { CloseCode, ErrorCode, toWellFormed, USER_PATTERN } from '../protocol/index.js';
import type { ImbedServerOptions } from './index.js';
import type { Store } from './store.js';

/** Longest display name kept from a token; a longer one is cut, so one claim cannot bloat every frame. */
const MAX_NAME = 64;

/**
 * The display name a `name` claim gives: at most `MAX_NAME` UTF-16 units, cut between characters, with
 * any lone surrogate (which JSON allows) made U+FFFD. SQLite would store such a half as U+FFFD anyway, so
 * the live copy of a message and its history would name the sender differently.
 */
export function displayName(claim: string): string {
  // A pair the cut splits loses its first half; any other lone half is the claim's own.
  const splits = /[\uD800-\uDBFF][\uDC00-\uDFFF]/.test(claim.slice(MAX_NAME - 1, MAX_NAME + 1));
  return toWellFormed(claim.slice(0, splits ? MAX_NAME - 1 : MAX_NAME));
}

/** How long one fetch of the JWKS may take before the hello is answered with AUTH_UNAVAILABLE. */
const JWKS_TIMEOUT_MS = 5_000;
/**
 * A token with an unknown `kid` refetches the JWKS at most this often, so forged kids cannot flood the IdP.
 * A kid unknown to a set younger than this is answered AUTH_UNAVAILABLE (retry), not TOKEN_INVALID: the
 * set may predate a key rotation, and the client's retry after the cooldown fetches the new set.
 */
const JWKS_COOLDOWN_MS = 30_000;
/** A fetched JWKS is used for this long, then fetched again (picks up rotated keys). */
const JWKS_MAX_AGE_MS = 10 * 60_000;
/**
 * After the JWKS could not be fetched, hellos are answered AUTH_UNAVAILABLE without asking again for this
 * long: an identity provider that is down or answering 429 gets one request per interval, not one per
 * hello of every client (and of anyone sending made-up tokens) retrying meanwhile.
 */
const JWKS_RETRY_MS = 5_000;

/** Algorithms accepted from a JWKS. */
const JWKS_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

/**
 * Seconds by which `exp` and `nbf` may be off. A server whose clock runs a little behind the
 * identity provider's would otherwise refuse fresh tokens (`nbf` = now) with TOKEN_CLAIMS, which stops
 * the client for good.
 */
const CLOCK_TOLERANCE_S = 30;

/** How tokens are verified. Exactly one of `secret`, `publicKey` and `jwksUrl`. */
export interface AuthConfig {
  /** HS256 shared secret; the only source `sign()` works with. */
  secret?: string;
  /** PEM text of the public key (SPKI, `-----BEGIN PUBLIC KEY-----`): RSA, EC P-256/P-384 or Ed25519. */
  publicKey?: string;
  /** URL of the identity provider's JSON Web Key Set; keys are chosen by the token's `kid`. */
  jwksUrl?: string;
  /** Required `aud` claim (the token's `aud` must be or contain it). */
  audience?: string;
  /** Required `iss` claim. */
  issuer?: string;
}

/** The failures of `verify`: the error code of the `error` frame sent first, and the close code after it. */
export type VerifyFailure = {
  ok: false;
  code: typeof CloseCode.TOKEN_EXPIRED | typeof CloseCode.UNAUTHORIZED | typeof CloseCode.INTERNAL_ERROR;
  error:
    | typeof ErrorCode.TOKEN_MISSING
    | typeof ErrorCode.TOKEN_MALFORMED
    | typeof ErrorCode.TOKEN_INVALID
    | typeof ErrorCode.TOKEN_CLAIMS
    | typeof ErrorCode.TOKEN_EXPIRED
    | typeof ErrorCode.AUTH_UNAVAILABLE;
  reason: string;
};

/** A token that verified: its user, display name, and when it stops being accepted (`exp` plus the tolerance, ms since the epoch). */
export type VerifyResult = { ok: true; user: string; name: string; expiresAt: number } | VerifyFailure;

export interface SignOptions {
  name?: string;
  /** A jose time span (`'2h'`, `'30 min'`) or a number of seconds from now (negative: already expired). */
  expiresIn?: string | number;
}

/** The JWKS could not be fetched or read, or is too recent to refetch: the token may be fine, the server just cannot tell now. */
class KeySourceUnavailable extends Error {}

/** Verifies imbed tokens with the configured key source, and signs them when that source is a secret. */
export class Auth {
  private readonly key: Uint8Array | KeyObject | JWTVerifyGetKey;
  private readonly secret: Uint8Array | null;
  private readonly algorithms: string[];

  constructor(private readonly config: AuthConfig) {
    const sources = [config.secret, config.publicKey, config.jwksUrl].filter((s) => s !== undefined && s !== '');
    if (sources.length !== 1) throw new Error(`imbed: give exactly one token key source (secret, public key or JWKS URL), got ${sources.length}`);
    if (config.secret) {
      this.secret = new TextEncoder().encode(config.secret);
      this.key = this.secret;
      this.algorithms = ['HS256'];
    } else if (config.publicKey) {
      this.secret = null;
      let key: KeyObject;
      try {
        key = createPublicKey({ key: config.publicKey, format: 'pem' });
      } catch (err) {
        throw new Error(`imbed: the public key is not a PEM public key (SPKI): ${err instanceof Error ? err.message : String(err)}`);
      }
      this.key = key;
      this.algorithms = algorithmsFor(key);
    } else {
      this.secret = null;
      let url: URL;
      try {
        url = new URL(config.jwksUrl!);
      } catch {
        throw new Error(`imbed: the JWKS URL is not a URL: ${config.jwksUrl}`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`imbed: the JWKS URL must be http(s): ${config.jwksUrl}`);
      const remote = createRemoteJWKSet(url, { timeoutDuration: JWKS_TIMEOUT_MS, cooldownDuration: JWKS_COOLDOWN_MS, cacheMaxAge: JWKS_MAX_AGE_MS });
      /**
       * The last failure to fetch the set, until when it stands in for asking again, and the keys of the
       * set held meanwhile (imported once, for that while).
       */
      let unreachable: { reason: string; until: number; keys?: ReturnType<typeof createLocalJWKSet> } | null = null;
      this.key = async (header, token) => {
        if (unreachable && Date.now() < unreachable.until) {
          // Not asked for again yet: a set still fresh answers with the keys it holds, and nothing else.
          const held = remote.fresh ? remote.jwks() : undefined;
          const why = `${unreachable.reason}; asked again from ${new Date(unreachable.until).toISOString()}`;
          if (!held) throw new KeySourceUnavailable(why);
          unreachable.keys ??= createLocalJWKSet(held);
          try {
            return await unreachable.keys(header, token);
          } catch (err) {
            // The key may be one published since the set was fetched.
            if (err instanceof errors.JWKSNoMatchingKey) throw new KeySourceUnavailable(why);
            throw err;
          }
        }
        // Read before the lookup: when the set is cooling down, jose answers an unknown kid from the set
        // it has rather than fetching it again, and that set may predate a key rotation.
        const coolingDown = remote.coolingDown;
        try {
          return await remote(header, token);
        } catch (err) {
          if (err instanceof errors.JWKSNoMatchingKey && coolingDown) {
            throw new KeySourceUnavailable(`the token's key is not in the key set fetched less than ${JWKS_COOLDOWN_MS / 1000} s ago; retry`);
          }
          // Against a set fetched for this very lookup, these say the token names a key the set does
          // not hold: a forged or foreign token.
          if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported) throw err;
          // Anything else is the set itself: unreachable, timed out, not 200, not a JWKS.
          const reason = err instanceof Error ? err.message : String(err);
          unreachable = { reason, until: Date.now() + JWKS_RETRY_MS };
          throw new KeySourceUnavailable(reason);
        }
      };
      this.algorithms = JWKS_ALGORITHMS;
    }
  }

  /** Whether `sign()` works: only with an HS256 secret (a public key cannot sign). */
  get canSign(): boolean {
    return this.secret !== null;
  }

  /** A token for `user`, valid for `expiresIn` (default 24 h). Throws unless the key source is a secret. */
  async sign(user: string, opts: SignOptions = {}): Promise<string> {
    if (!this.secret) {
      throw new Error('imbed: this server verifies tokens with a public key or JWKS and cannot sign them; your backend signs them with its private key (see docs/auth.md)');
    }
    const jwt = new SignJWT(opts.name === undefined ? {} : { name: opts.name })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user)
      .setIssuedAt();
    if (this.config.audience !== undefined) jwt.setAudience(this.config.audience);
    if (this.config.issuer !== undefined) jwt.setIssuer(this.config.issuer);
    const exp = opts.expiresIn ?? '24h';
    jwt.setExpirationTime(typeof exp === 'number' ? Math.floor(Date.now() / 1000) + exp : exp);
    return jwt.sign(this.secret);
  }

  /** Never throws: a refused token is a result with the error code and close code the connection must get. */
  async verify(token: string): Promise<VerifyResult> {
    if (token.trim() === '') return fail(ErrorCode.TOKEN_MISSING, 'no token');
    // Decoded first, so that "not a JWT at all" is told apart from "a JWT that does not verify".
    try {
      decodeProtectedHeader(token);
      decodeJwt(token);
    } catch {
      return fail(ErrorCode.TOKEN_MALFORMED, 'token is not a JWT');
    }
    try {
      const options = {
        algorithms: this.algorithms,
        // A token without `exp` would be good forever once leaked.
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
        ...(this.config.audience !== undefined && { audience: this.config.audience }),
        ...(this.config.issuer !== undefined && { issuer: this.config.issuer }),
      };
      // Two calls because jwtVerify's overloads (a key, or a function picking one) do not take the union.
      const { payload } =
        typeof this.key === 'function' ? await jwtVerify(token, this.key, options) : await jwtVerify(token, this.key, options);
      if (typeof payload.sub !== 'string' || payload.sub === '') return fail(ErrorCode.TOKEN_CLAIMS, 'token has no sub');
      // The admin API only takes ids of this form, so a user with any other sub could never be a member.
      if (!USER_PATTERN.test(payload.sub)) return fail(ErrorCode.TOKEN_CLAIMS, 'sub is not a valid user id (1-128 characters of A-Z a-z 0-9 _ . : @ | + -)');
      const shown = typeof payload.name === 'string' ? displayName(payload.name) : '';
      const name = shown.trim() !== '' ? shown : payload.sub;
      return { ok: true, user: payload.sub, name, expiresAt: (payload.exp! + CLOCK_TOLERANCE_S) * 1000 };
    } catch (err) {
      return refusal(err);
    }
  }
}

function fail(error: VerifyFailure['error'], reason: string): VerifyFailure {
  const code =
    error === ErrorCode.TOKEN_EXPIRED ? CloseCode.TOKEN_EXPIRED : error === ErrorCode.AUTH_UNAVAILABLE ? CloseCode.INTERNAL_ERROR : CloseCode.UNAUTHORIZED;
  return { ok: false, code, error, reason };
}

/** Maps what jwtVerify threw to the refusal the client gets. Order matters: JWTExpired is a JWTClaimValidationFailed. */
function refusal(err: unknown): VerifyFailure {
  if (err instanceof KeySourceUnavailable) return fail(ErrorCode.AUTH_UNAVAILABLE, `cannot check tokens now: ${err.message}`);
  if (err instanceof errors.JWTExpired) return fail(ErrorCode.TOKEN_EXPIRED, 'token expired');
  if (err instanceof errors.JWTClaimValidationFailed) return fail(ErrorCode.TOKEN_CLAIMS, `token claim ${err.claim}: ${err.reason}`);
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return fail(ErrorCode.TOKEN_INVALID, 'token algorithm not accepted');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return fail(ErrorCode.TOKEN_INVALID, 'token key unknown');
  if (err instanceof errors.JWTInvalid) return fail(ErrorCode.TOKEN_CLAIMS, 'token claims are not valid');
  // JWSSignatureVerificationFailed, JWSInvalid (e.g. a header jose refuses) and a key that does not fit the alg.
  return fail(ErrorCode.TOKEN_INVALID, 'invalid token');
}

/** The algorithms a public key can verify; an RSA key never verifies HS256, so no alg confusion. */
function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'PS256'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return ['ES256'];
      if (curve === 'secp384r1') return ['ES384'];
      throw new Error(`imbed: unsupported EC curve ${curve ?? 'unknown'} for the public key (use P-256 or P-384)`);
    }
    case 'ed25519':
      return ['EdDSA'];
    default:
      throw new Error(`imbed: unsupported public key type ${key.asymmetricKeyType ?? 'unknown'} (use RSA, EC or Ed25519)`);
  }
}

/** Shorter secrets (HS256's, the admin API's) are warned about: they can be guessed. */
const MIN_SECRET_BYTES = 32;

/**
 * The warning for `secret` (called `what`) when it is set and shorter than `MIN_SECRET_BYTES`, saying what
 * a guess gives (`risk`); else null.
 */
export function weakSecret(what: string, secret: string | undefined, risk: string): string | null {
  return secret && Buffer.byteLength(secret) < MIN_SECRET_BYTES
    ? `the ${what} is shorter than ${MIN_SECRET_BYTES} bytes: ${risk}; make one with openssl rand -base64 32`
    : null;
}

/**
 * What in `config` lets tokens through that the person running the server likely did not mean to
 * accept, one sentence each, for the server to log at start.
 */
export function authWarnings(config: AuthConfig): string[] {
  const warnings: string[] = [];
  if (config.jwksUrl !== undefined) {
    const { protocol, hostname } = new URL(config.jwksUrl);
    if (protocol === 'http:' && !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(hostname)) {
      warnings.push(`the JWKS URL is plain http: whoever sits between this server and ${hostname} can hand it keys of their own and sign tokens for any user; use https`);
    }
  }
  const weak = weakSecret('token secret', config.secret, 'anyone holding a token it signed can guess it offline, then sign tokens for any user');
  if (weak) warnings.push(weak);
  if (config.secret === undefined && config.audience === undefined) {
    warnings.push('no audience is required (audience, --audience, IMBED_AUDIENCE): any token the identity provider signs for another application is accepted here too');
  }
  return warnings;
}

/** The key-source options of `ImbedServerOptions`. */
export type AuthOptions = Pick<ImbedServerOptions, 'secret' | 'publicKey' | 'jwksUrl' | 'audience' | 'issuer'>;

/** The environment's key-source variables, by the option that hides them. */
const KEY_VARIABLES = [
  ['secret', 'IMBED_SECRET', 'the secret option'],
  ['publicKey', 'IMBED_PUBLIC_KEY', 'the public key given (publicKey, --public-key-file)'],
  ['jwksUrl', 'IMBED_JWKS_URL', 'the JWKS URL given (jwksUrl, --jwks-url)'],
] as const;

/**
 * The warning, naming them, when a key source in the options hides key-source variables set in the
 * environment (`--public-key-file` while `IMBED_SECRET` is still set): whoever reads the environment
 * would take the wrong key for the one in use. Else null. A variable holding the value the options give
 * (`secret: process.env.IMBED_SECRET`) is in use, not ignored.
 */
export function ignoredKeyVariables(options: AuthOptions, env: NodeJS.ProcessEnv = process.env): string | null {
  const used = KEY_VARIABLES.find(([option]) => options[option]);
  if (!used) return null;
  const ignored = KEY_VARIABLES.filter(([option, variable]) => env[variable] && env[variable] !== options[option]).map(([, variable]) => variable);
  if (ignored.length === 0) return null;
  const names = ignored.join(' and ');
  return `${names} ${ignored.length > 1 ? 'are' : 'is'} set but ignored: ${used[2]} is the token key source; unset ${names} so no one takes ${ignored.length > 1 ? 'them' : 'it'} for the key in use`;
}

/**
 * The verification config: the options' key source, else the environment's (`IMBED_SECRET`,
 * `IMBED_PUBLIC_KEY` with PEM text, `IMBED_JWKS_URL`), else (dev only) a random HS256 secret kept in the
 * database so that tokens handed out survive a restart. A key source in the options hides every one in
 * the environment; more than one in the same place is an error. `audience` and `issuer` fall back to
 * `IMBED_AUDIENCE` and `IMBED_ISSUER`. Throws when no key source applies.
 */
export function resolveAuthConfig(options: AuthOptions, dev: boolean, store: Store, env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const given = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
  const fromOptions = { secret: given(options.secret), publicKey: given(options.publicKey), jwksUrl: given(options.jwksUrl) };
  const fromEnv = { secret: given(env.IMBED_SECRET), publicKey: given(env.IMBED_PUBLIC_KEY), jwksUrl: given(env.IMBED_JWKS_URL) };
  const count = (s: typeof fromOptions) => Object.values(s).filter((v) => v !== undefined).length;
  let source = count(fromOptions) > 0 ? fromOptions : fromEnv;
  if (count(source) > 1) {
    const where = source === fromOptions ? 'options' : 'environment (IMBED_SECRET, IMBED_PUBLIC_KEY, IMBED_JWKS_URL)';
    throw new Error(`imbed: more than one token key source in the ${where}; give exactly one`);
  }
  if (count(source) === 0) {
    if (!dev) {
      throw new Error('imbed: no token key source. Pass `secret`, `publicKey` or `jwksUrl`, set IMBED_SECRET, IMBED_PUBLIC_KEY or IMBED_JWKS_URL, or use dev mode for a generated secret.');
    }
    source = { secret: store.metaOrInit('dev_secret', () => randomBytes(32).toString('base64url')), publicKey: undefined, jwksUrl: undefined };
  }
  // The key is the secret's UTF-8 bytes as given: a newline kept from a secret file would make a key
  // the backend does not sign with, and every token would be refused as TOKEN_INVALID.
  if (source.secret !== undefined && /^\s|\s$/.test(source.secret)) {
    const name = source === fromOptions ? 'the secret option' : 'IMBED_SECRET';
    throw new Error(`imbed: the token secret (${name}) starts or ends with white space (a newline from a secret file?): it is used as given, so tokens signed with the secret without it would all be refused; remove the white space`);
  }
  const config: AuthConfig = {};
  if (source.secret !== undefined) config.secret = source.secret;
  if (source.publicKey !== undefined) config.publicKey = source.publicKey;
  if (source.jwksUrl !== undefined) config.jwksUrl = source.jwksUrl;
  const audience = given(options.audience) ?? given(env.IMBED_AUDIENCE);
  const issuer = given(options.issuer) ?? given(env.IMBED_ISSUER);
  if (audience !== undefined) config.audience = audience;
  if (issuer !== undefined) config.issuer = issuer;
  return config;
}
