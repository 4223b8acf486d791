/** How long a part that failed to load is not asked for again (ms). */
export const PART_RETRY_AFTER = 10_000;

/**
 * `load`, shared: every call gets the same promise, so a part is fetched once. A part that cannot load
 * (not deployed, offline, blocked) is reported once per attempt, and asked for again by the first call
 * after `PART_RETRY_AFTER`, or at once with `now` (the browser is back online): a page that was offline
 * for a moment gets its launcher or its language on a later update, without a request at every update
 * meanwhile.
 */
export function loadOnce<T>(load: () => Promise<T>): (now?: boolean) => Promise<T> {
  let part: Promise<T> | undefined;
  let failedAt: number | undefined;
  return (now) => {
    if (!part || (failedAt !== undefined && (now || performance.now() - failedAt >= PART_RETRY_AFTER))) {
      failedAt = undefined;
      const attempt = (part = load());
      attempt.catch((error: unknown) => {
        failedAt = performance.now();
        console.warn('imbed: a part of the chat did not load; it goes without it for now', error);
      });
    }
    return part;
  };
}
