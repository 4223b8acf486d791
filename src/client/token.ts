/** Reading the claims the client needs from a JWT, without verifying it (the server verifies). */

/**
 * The `sub` claim of a JWT, decoded from its payload without checking the signature, or null when the
 * token is not a readable JWT. Used only to name the local database and to mark own messages before
 * `welcome` states the user for sure.
 */
export function tokenSubject(token: string | undefined | null): string | null {
  if (!token) return null;
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    // atob needs no padding: the forgiving-base64 decode adds it (https://infra.spec.whatwg.org/#forgiving-base64-decode).
    const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    const payload: unknown = JSON.parse(json);
    const sub = (payload as { sub?: unknown } | null)?.sub;
    return typeof sub === 'string' && sub !== '' ? sub : null;
  } catch {
    return null;
  }
}
