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

/**
 * One client's candidacy: `onLead` runs when this client becomes the leader, which it stays until `stop()`,
 * or until another client takes the lock from it (`takeOver()`, when this one could not run): then `onLost`.
 * `onTaken` runs once, at the start, when another client holds the lock: this one is not alone, whether or
 * not that client ever says so on any channel (a tab of an older build, a lost message). The lock says so
 * itself: asked for with `ifAvailable` first, the browser grants it or answers at once that it is held, so
 * no timer guesses and no `navigator.locks.query()` snapshot needs reading. A holder that leaves just after
 * still counts as met: this client then leads with its group started early, and its sends wait for their
 * outbox write as with any other tab. (A reloaded page does not see its previous page's lock: Chromium
 * releases it before the new page asks.)
 */
export class LeaderElection {
  readonly #abort = new AbortController();
  readonly #request: (options: LockOptions) => void;
  #release: (() => void) | null = null;
  #won = false;
  #stopped = false;

  constructor(name: string, onLead: () => void, onTaken: () => void, onLost: () => void = () => {}) {
    const request = (this.#request = (options: LockOptions) => {
      let answered = false;
      navigator.locks.request(name, options, (lock) => {
        answered = true;
        return take(lock);
      }).catch(() => {
        // Aborted by stop(), or by takeOver() leaving the line, while waiting: nothing to release. A
        // request the browser refused without an answer (a document that is not fully active, storage it
        // denies) would leave this client waiting for a lead that never comes: it leads without the lock,
        // and the server drops a message that two tabs send twice. After an answer, either the lock this
        // client held was taken by another, or its own callback failed (leading nothing).
        if (this.#stopped || options.signal?.aborted) return;
        if (!answered) void lead();
        else if (this.#won) {
          this.#won = false;
          this.#release = null;
          onLost();
        }
      });
    });
    const lead = () => {
      this.#won = true;
      onLead();
      // Held until stop(); the browser also releases it when this tab goes away.
      return new Promise<void>((resolve) => (this.#release = resolve));
    };
    const take = (lock: Lock | null) => {
      if (this.#stopped) return undefined;
      if (lock) return lead();
      // Held by another client: wait in line, which alone would never say that the lock is taken.
      request({ signal: this.#abort.signal });
      onTaken();
      return undefined;
    };
    // First without waiting: the browser grants the lock if it is free, else answers at once with none.
    // (`signal` may not go with `ifAvailable`; this request never waits, so it needs none.)
    request({ ifAvailable: true });
  }

  /** Whether this client holds the lock: it leads until `stop()`, or until another takes it over. */
  get won(): boolean {
    return this.#won;
  }

  /**
   * Takes the lock from the holder, which cannot run (a dialog, a long task): the browser releases it
   * there, and that client hears of it (`onLost`) when it runs again.
   */
  takeOver(): void {
    if (this.#stopped || this.#won) return;
    // Out of the line first, or the lock would come to this client a second time.
    this.#abort.abort();
    this.#request({ steal: true });
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
