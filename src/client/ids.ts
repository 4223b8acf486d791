/** Client message ids (cmids): the key the server dedupes resends by, so they must be unique per sender forever. */

/**
 * A new cmid: 16 random bytes (128 bits) in base64url, 22 characters, matching the protocol's CMID_PATTERN.
 *
 * Uses `crypto.getRandomValues`, not `crypto.randomUUID`: the latter exists only in secure contexts, and
 * imbed also runs in plain-http pages and WebViews (https://developer.mozilla.org/docs/Web/API/Crypto/randomUUID).
 */
export function newCmid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // 16 bytes are 22 base64 characters and the padding `==`, which is cut off.
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').slice(0, 22);
}
