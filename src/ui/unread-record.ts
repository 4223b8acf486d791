/**
 * What the person has seen of a conversation, kept in the page origin's localStorage: the highest seq
 * they saw and how many messages from others arrived after it. It lets the unread count survive a
 * reload and count what arrived while no page was open, and it lets the lazy launcher draw the badge
 * before the widget has loaded. It imports nothing, so the launcher can bundle it without Lit.
 */

/** One conversation's read state for one user: `s` the highest seq seen, `n` the unread count after it. */
export interface UnreadRecord {
  u: string;
  s: number;
  n: number;
}

/**
 * The localStorage key of a conversation's record: per chat server and conversation, like the widget's
 * attributes. Each record is written there and under the same key followed by `#` and its user: the
 * first is what a launcher that does not know the user yet shows, the second keeps each user's count
 * when two of them chat on one page or share the browser.
 */
export function unreadKey(server: string, conversation: string): string {
  return `imbed:unread:${server}#${conversation}`;
}

/**
 * The stored record under `key`, or null when there is none, it is not readable, or storage is not
 * available at all (a sandboxed frame, storage blocked by the browser's settings: reading throws there).
 */
export function readUnread(key: string): UnreadRecord | null {
  try {
    const record = JSON.parse(localStorage.getItem(key) ?? 'null') as Partial<UnreadRecord> | null;
    return typeof record?.u === 'string' && Number.isSafeInteger(record.s) && Number.isSafeInteger(record.n) && record.n! >= 0
      ? (record as UnreadRecord)
      : null;
  } catch {
    return null;
  }
}

/**
 * The record under `key` when it is `user`'s: another user's count is not this person's to see (the same
 * browser, someone else signed in). With `user` null (not known yet) any record is taken.
 */
export function readOwnUnread(key: string, user: string | null): UnreadRecord | null {
  const own = user === null ? null : readUnread(userKey(key, user));
  const latest = readUnread(key);
  // The conversation's latest record when it is theirs and newer: another tab wrote it, or an earlier version.
  return latest && (user === null || latest.u === user) && latest.s >= (own?.s ?? 0) ? latest : own;
}

/** Records waiting for `writeUnreadSoon`'s write, with their keys, by user key. */
const waiting = new Map<string, [string, UnreadRecord]>();

/**
 * Stores `record` under `key` once the current task is over: a message's render does not wait for
 * localStorage, and the records of a burst of messages cost one write.
 */
export function writeUnreadSoon(key: string, record: UnreadRecord): void {
  if (waiting.size === 0) {
    setTimeout(() => {
      for (const [key, record] of waiting.values()) writeUnread(key, record);
    });
  }
  waiting.set(userKey(key, record.u), [key, record]);
}

/**
 * Stores `record` under `key` and its user's key now; without storage the count just lives in memory.
 */
export function writeUnread(key: string, record: UnreadRecord): void {
  const own = userKey(key, record.u);
  waiting.delete(own);
  try {
    const saved = JSON.stringify(record);
    localStorage.setItem(own, saved);
    localStorage.setItem(key, saved);
  } catch {
    // Quota or blocked storage: the badge still works for this page's lifetime.
  }
}

/**
 * Removes `user`'s records under `key` (and forgets a write `writeUnreadSoon` has not made yet): they
 * signed out. With `user` null (a token provider that has not answered yet), the conversation's latest.
 */
export function forgetUnread(key: string, user: string | null): void {
  user ??= readUnread(key)?.u ?? null;
  try {
    if (user !== null) {
      waiting.delete(userKey(key, user));
      localStorage.removeItem(userKey(key, user));
    }
    localStorage.removeItem(key);
  } catch {
    // Storage not available: there is nothing to remove.
  }
}

/** The key of `user`'s own record under a conversation's `key` (ids hold no `#`). */
function userKey(key: string, user: string): string {
  return `${key}#${user}`;
}
