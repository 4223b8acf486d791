/** Reading the claims the client needs from a JWT, without verifying it (the server verifies). */

/** The payload of a JWT, decoded without checking the signature; null when the token is not a readable JWT. */
export function tokenClaims(token: string | undefined | null): { sub?: unknown; exp?: unknown } | null {
  const part = token?.split('.')[1];
  if (!part) return null;
  try {
    // atob needs no padding: the forgiving-base64 decode adds it (https://infra.spec.whatwg.org/#forgiving-base64-decode).
    const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const payload: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    return typeof payload === 'object' ? payload : null;
  } catch {
    return null;
  }
}

/**
 * The `sub` claim of a JWT, decoded from its payload without checking the signature, or null when the
 * token is not a readable JWT. Used only to name the local database and to mark own messages before
 * `welcome` states the user for sure.
 */
export function tokenSubject(token: string | undefined | null): string | null {
  const sub = tokenClaims(token)?.sub;
  return typeof sub === 'string' && sub !== '' ? sub : null;
}

/**
 * Whether `offered` is the better token for the next `hello` than `held`: both readable JWTs of the same
 * user, `offered` expiring later (a token without `exp` never expires).
 */
export function isLaterToken(offered: string | null, held: string | null): boolean {
  const a = tokenClaims(offered);
  const b = tokenClaims(held);
  const expiry = (claims: { exp?: unknown }) => (typeof claims.exp === 'number' ? claims.exp : Infinity);
  return !!a && !!b && typeof a.sub === 'string' && a.sub === b.sub && expiry(a) > expiry(b);
}
