/**
 * Which tab holds the connection: an election with the Web Locks API. Every client of one database and
 * conversation set asks for the same exclusive lock and holds it for as long as it runs; the holder is
 * the leader. The browser hands the lock to the next waiting tab when the leader releases it, and also
 * when the leader's tab closes or crashes, so a successor needs no timeout of its own
 * (https://w3c.github.io/web-locks/#lock-lifetime).
 */

/** Whether this browsing context can take part in an election and talk to the other tabs. */
export function multiTabSupported(): boolean {
  return typeof navigator !== 'undefined' && navigator.locks !== undefined && typeof BroadcastChannel !== 'undefined';
}

/**
 * The lock and channel name of the tabs that share one connection: same database AND the same
 * conversations (sorted, so their order in the options does not matter). Tabs following other
 * conversations must not share a socket whose `hello` does not name theirs, so they elect their own
 * leader; the outbox they share is still sent safely twice at worst, since the server dedupes by cmid.
 */
export function tabGroupName(dbName: string, conversations: readonly string[]): string {
  return `imbed-leader:${dbName}:${[...conversations].sort().join(',')}`;
}

/** One client's candidacy: `onLead` runs when this client becomes the leader, which it stays until `stop()`. */
export class LeaderElection {
  readonly #abort = new AbortController();
  #release: (() => void) | null = null;
  #won = false;
  #stopped = false;

  constructor(name: string, onLead: () => void) {
    navigator.locks
      .request(name, { signal: this.#abort.signal }, () => {
        if (this.#stopped) return undefined;
        this.#won = true;
        onLead();
        // Held until stop(); the browser also releases it when this tab goes away.
        return new Promise<void>((resolve) => (this.#release = resolve));
      })
      .catch(() => {
        // Aborted by stop() while waiting: nothing to release.
      });
  }

  /** Whether this client holds the lock: it leads until `stop()`. */
  get won(): boolean {
    return this.#won;
  }

  /** Gives up the lead, or the place in the queue for it. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#won = false;
    if (this.#release) this.#release();
    else this.#abort.abort();
  }
}
