/**
 * Which web pages may open a WebSocket to this server, judged by the upgrade's `Origin` header.
 *
 * A browser always sends the page's origin and a page cannot forge it, so the allowlist keeps other
 * sites from using the server with a token they got hold of. Clients that are not browsers (servers,
 * native apps) send no `Origin` and may forge one anyway: for them the token is the only check, and
 * an upgrade without `Origin` is allowed.
 */

/** `'*'`: any origin. A list: exact origins (`https://app.example`), subdomain patterns (`https://*.shop.example`) or `null`. */
export type OriginPolicy = '*' | readonly string[];

/** Decides whether an upgrade whose `Origin` and `Host` headers are given may proceed. */
export type OriginCheck = (origin: string | undefined, host: string | undefined) => boolean;

/** Top-level names for local or private use (RFC 2606, 6761, 6762, ICANN's .internal, and common LAN ones). */
const PRIVATE_NAMES = ['localhost', 'test', 'example', 'invalid', 'local', 'internal', 'lan', 'home', 'corp'];

/**
 * Builds the check of `policy`. Without a policy only same-origin pages (the `Origin`'s host equals
 * the `Host` header, as for a host app that attaches imbed to its own server) and non-browser
 * clients pass. Throws on an entry that is not an origin, so a typo fails at start, not at run time.
 */
export function createOriginCheck(policy: OriginPolicy | undefined): OriginCheck {
  if (policy === '*') return () => true;
  const exact = new Set<string>();
  const suffixes: Array<{ protocol: string; suffix: string }> = [];
  for (const entry of policy ?? []) {
    if (entry === 'null') {
      exact.add('null');
      continue;
    }
    const wildcard = /^(https?:)\/\/\*\.(.+)$/.exec(entry);
    if (wildcard) {
      const base = parseOrigin(`${wildcard[1]}//${wildcard[2]}`, entry);
      // `*.com` would let in every site of a top-level domain; names kept for local and private use
      // (`*.localhost`, `*.test`, `*.local`, `*.internal`, ...) are one machine's or one network's. A suffix
      // of more labels under which anyone may register (`*.co.uk`, `*.github.io`) is not caught.
      if (!base.hostname.includes('.') && !PRIVATE_NAMES.includes(base.hostname)) {
        throw new Error(`imbed: origin entry ${JSON.stringify(entry)} lets in every site under .${base.hostname}; name the domain the pages are on, as in ${wildcard[1]}//*.example.com`);
      }
      suffixes.push({ protocol: wildcard[1]!, suffix: `.${base.host}` });
      continue;
    }
    exact.add(parseOrigin(entry, entry).origin);
  }
  return (origin, host) => {
    if (origin === undefined) return true;
    if (exact.has(origin)) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.origin !== origin) return false;
    if (host !== undefined && url.host === host.toLowerCase()) return true;
    return suffixes.some((s) => url.protocol === s.protocol && url.host.endsWith(s.suffix));
  };
}

/** Reads an allowlist from a comma-separated string (`IMBED_ORIGINS`, `--origin a,b`); `*` means any. */
export function parseOriginList(text: string): OriginPolicy {
  const entries = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return entries.includes('*') ? '*' : entries;
}

function parseOrigin(text: string, entry: string): URL {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // Said below.
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new Error(
      `imbed: origin allowlist entry ${JSON.stringify(entry)} is not an origin: scheme, host and a port other than the default, ` +
        'nothing after them, like https://app.example or http://localhost:3000',
    );
  }
  return url;
}
