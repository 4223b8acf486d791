/**
 * `load`, run at most once per page: every call shares its promise, so a part is fetched once, and a
 * part that cannot load (not deployed, offline, blocked) is reported once rather than at every update.
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let part: Promise<T> | undefined;
  return () => {
    if (!part) {
      part = load();
      part.catch((error: unknown) => console.warn('imbed: a part of the chat did not load; it goes without', error));
    }
    return part;
  };
}
