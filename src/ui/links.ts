/**
 * Finds the web links in message text, so the message list can render them as `<a>` while everything
 * else stays text. Only absolute `http:` and `https:` URLs typed with their scheme become links, and a
 * link's `href` is what `new URL()` made of the typed text, never the raw text itself.
 */

/** One piece of message text: plain text, or a link whose `text` is exactly what was typed. */
export type TextPart = { text: string } | { href: string; text: string };

/**
 * A scheme, `//`, something other than a third slash (browsers would quietly skip it and take what
 * follows for the host), then everything up to white space, `<`, `>`, `"`, a backtick or an invisible or
 * control character (`\p{C}`: bidi overrides, zero-width spaces, NUL). None of these belongs in a URL a
 * person typed, and letting them in would let a link's visible text disguise where it goes. Nor does CJK
 * or full-width punctuation (`。`, `（`, `！`, `：`; not the marks that stand for characters, `々` `〇`): Chinese
 * and Japanese put no space around a link, and
 * a parser reads a full-width `！` or `）` in a host as the ASCII one, linking somewhere else.
 */
const CANDIDATE = /\bhttps?:\/\/[^\s<>"`\p{C}/\\\u3000-\u3004\u3008-\u3020\u3030\u303D\uFF00-\uFF65][^\s<>"`\p{C}\u3000-\u3004\u3008-\u3020\u3030\u303D\uFF00-\uFF65]*/giu;

/**
 * In a host, a Chinese, Japanese or Korean character right after an ASCII letter or digit is the
 * sentence going on: `打开https://example.com看看`. (A host of such characters only, `https://例子.测试`,
 * stays whole, and a path may hold them: `https://zh.wikipedia.org/wiki/中国`.)
 */
const HOST_THEN_CJK = /^https?:\/\/[^/?#]*?[0-9a-z](?=[\u3040-\u9fff\uac00-\ud7af])/i;

/** Characters that end the sentence around a link far more often than they end the URL itself. */
const TRAILING = '.,:;!?\'*\u2019\u201D\u00BB\u2026';

/**
 * Drops trailing punctuation, and a `)` or `]` that closes a bracket opened before the link:
 * `(see https://a.test/x_(y)).` keeps `…_(y)`.
 */
function trimTrailing(candidate: string): string {
  const unmatched = (close: string, open: string) => candidate.split(close).length - candidate.split(open).length;
  let parens = unmatched(')', '(');
  let brackets = unmatched(']', '[');
  let end = candidate.length;
  while (end > 0) {
    const last = candidate[end - 1]!;
    if (TRAILING.includes(last)) end--;
    else if (last === ')' && parens-- > 0) end--;
    else if (last === ']' && brackets-- > 0) end--;
    else break;
  }
  return candidate.slice(0, end);
}

/** The URL a link may point at, or null when the candidate is not one we link. */
function linkTarget(candidate: string): string | null {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  // The pattern already asked for the scheme; check what the parser concluded, since that is what the browser follows.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  // `https://bank.test@evil.test` reads as one host and goes to another: credentials in a link are a spoof.
  if (url.username || url.password) return null;
  return url.href;
}

/**
 * Splits `text` into plain and link parts, in order. Joining every part's `text` gives back `text`
 * exactly; adjacent plain text is one part. A candidate that does not parse as an http(s) URL with a
 * host, or that carries credentials, stays plain text.
 */
export function splitLinks(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let plainFrom = 0;
  for (const match of text.matchAll(CANDIDATE)) {
    const typed = trimTrailing(HOST_THEN_CJK.exec(match[0])?.[0] ?? match[0]);
    const href = linkTarget(typed);
    if (href === null) continue;
    if (match.index > plainFrom) parts.push({ text: text.slice(plainFrom, match.index) });
    parts.push({ href, text: typed });
    plainFrom = match.index + typed.length;
  }
  if (plainFrom < text.length) parts.push({ text: text.slice(plainFrom) });
  return parts;
}
