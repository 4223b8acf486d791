/**
 * The message filter hook: a function the server asks about every new message before storing it, which
 * allows it, rejects it with a reason the sender sees, or rewrites its text. `wordListFilter` is a
 * simple one over a list of words.
 */

/** The message as the filter sees it. */
export interface FilterMessage {
  conv: string;
  /** The sender's user id (from the verified token). */
  from: string;
  /** The sender's display name. */
  name: string;
  text: string;
}

/** Where the message comes from. */
export interface FilterContext {
  user: string;
  conv: string;
  /** The session id, as in `welcome.session` and the server log. */
  session: string;
  /** The client address (see `trustProxy`). */
  ip: string;
}

/** What the filter decides. A `reject` reason is shown to the sender as is. */
export type FilterResult =
  | { action: 'allow' }
  | { action: 'reject'; reason: string }
  | { action: 'rewrite'; text: string };

/**
 * A message filter. It is synchronous on purpose: the sends that arrive together are stored in one
 * transaction in arrival order, and an asynchronous verdict would let a later send overtake an earlier
 * one. A filter that throws, or rewrites to text the protocol does not allow, refuses the message.
 */
export type MessageFilter = (message: FilterMessage, context: FilterContext) => FilterResult;

export interface WordListOptions {
  /** `reject` refuses a message holding a listed word; `mask` replaces each letter of it with `*`. */
  mode: 'reject' | 'mask';
  /** The reason a rejected sender sees; it never names the word. */
  reason?: string;
}

/**
 * A filter matching whole words of `words`, case-insensitively, in any script ("ass" matches "Ass!" but
 * not "class"). Empty entries are ignored; an entry may hold several words ("bad word").
 */
export function wordListFilter(words: readonly string[], { mode, reason = 'the message contains words that are not allowed here' }: WordListOptions): MessageFilter {
  const entries = [...new Set(words.map((w) => w.trim().normalize('NFC')).filter((w) => w !== ''))];
  if (entries.length === 0) return () => ({ action: 'allow' });
  // Longest first, so "bad word" wins over "bad" where both match.
  entries.sort((a, b) => b.length - a.length);
  const alternatives = entries.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+'));
  // \b only knows ASCII word characters; these lookarounds treat every letter, mark and digit as one.
  const pattern = new RegExp(`(?<![\\p{L}\\p{M}\\p{N}_])(?:${alternatives.join('|')})(?![\\p{L}\\p{M}\\p{N}_])`, 'giu');
  return (message) => {
    const text = message.text.normalize('NFC');
    pattern.lastIndex = 0;
    if (!pattern.test(text)) return { action: 'allow' };
    if (mode === 'reject') return { action: 'reject', reason };
    pattern.lastIndex = 0;
    return { action: 'rewrite', text: text.replace(pattern, (word) => word.replace(/[\p{L}\p{M}\p{N}]/gu, '*')) };
  };
}

/** Reads a word list: one entry per line; blank lines and lines starting with `#` are skipped. */
export function parseWordList(contents: string): string[] {
  return contents
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Runs `filter` on a message that passed every other check: the text to store, or why it is refused.
 * Fails closed: a filter that throws, answers something unknown or rewrites to text that `isValid`
 * refuses is a server fault, logged, and the message is refused rather than stored unchecked.
 */
export function applyFilter(
  filter: MessageFilter,
  message: FilterMessage,
  context: FilterContext,
  isValid: (text: string) => boolean,
  log: (line: string) => void,
): { ok: true; text: string } | { ok: false; reason: string } {
  const failed = { ok: false as const, reason: 'the server could not check this message' };
  let result: FilterResult;
  try {
    result = filter(message, context);
  } catch (err) {
    log(`session ${context.session} message filter threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return failed;
  }
  switch (result?.action) {
    case 'allow':
      return { ok: true, text: message.text };
    case 'reject':
      return { ok: false, reason: typeof result.reason === 'string' && result.reason !== '' ? result.reason : 'the message was refused' };
    case 'rewrite':
      if (typeof result.text === 'string' && isValid(result.text)) return { ok: true, text: result.text };
      log(`session ${context.session} message filter rewrote to text the protocol does not allow`);
      return failed;
    default:
      log(`session ${context.session} message filter answered ${describe(result)}, not allow, reject or rewrite (it must be synchronous)`);
      return failed;
  }
}

function describe(value: unknown): string {
  if (value instanceof Promise || (typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function')) return 'a promise';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
