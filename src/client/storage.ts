/**
 * The client's local storage: choosing where the outbox and cache live (the host's store when it gave
 * one, else IndexedDB when it opens and can be read, else memory, with the reason a person is told), the
 * one queue in which every store write and every frame is handled, and the move to memory when the store
 * fails mid-session, so nothing typed is lost while the page stays open.
 */
import { messageOf } from './error-text.js';
import { MemoryStore } from './memory-store.js';
import type { Mirror } from './mirror.js';
import { settleWithin } from './settle-within.js';
import { openIdbStore, type ChatStore, type OnLost } from './store.js';
import type { ImbedClientOptions, StorageKind } from './types.js';

/** Messages per conversation read at start: the newest, enough to fill the view; older ones follow on demand. */
export const FIRST_PAGE = 100;

/**
 * How long the host's store may take to open before IndexedDB is used instead, and IndexedDB before the
 * memory store is.
 */
const STORAGE_OPEN_TIMEOUT = 5_000;
/**
 * How long start-up waits for the move of an outbox left in IndexedDB into the host's store: IndexedDB
 * can hang in the WebViews that keep their storage in the app. A move that takes longer goes on, and
 * the outbox is read again when it ends.
 */
const ADOPT_TIMEOUT = 1_000;
/** How long a send waits for a move that is adding records after start-up, so it goes out after them. */
const ADOPT_SEND_WAIT = 10_000;

/** What the host said about where to keep things. */
type StorageOptions = Pick<ImbedClientOptions, 'storage' | 'openStore'>;

/** Deletes everything a host's store holds; rejects when it has no way to (no `deleteDatabase`), rather than leave it unsaid. */
async function deleteAll(store: ChatStore): Promise<void> {
  if (!store.deleteDatabase) throw new Error('it has no deleteDatabase');
  await store.deleteDatabase();
}

/** Makes the outbox of `memory` the mirror's, in its order, and gives the mirror the ids memory holds the items under. */
async function copyOutbox(mirror: Mirror, memory: ChatStore): Promise<void> {
  const records = [...mirror.outboxItems()];
  for (const { cmid } of await memory.loadOutbox()) await memory.removeFromOutbox(cmid);
  for (const { id: _id, ...record } of records) await memory.addToOutbox(record);
  mirror.loadOutbox(await memory.loadOutbox());
}

/**
 * Moves into the host's `store` the outbox that a page which could not open it (its code did not load)
 * left in IndexedDB under the same name: those messages would otherwise wait there, unsent, until a page
 * fell back to IndexedDB again. Each record leaves IndexedDB once `store` holds it, so a move cut short
 * (by a failure, or by `stopped()`, checked before each record: a logout's deletion must not be followed
 * by one) is finished by the next page, and a page still using that database (it fell back, this one did
 * not) keeps it: nothing but the moved records is taken from it. `adding` runs before each record it
 * adds. Never rejects: resolves with whether it added any.
 */
async function adoptOutbox(name: string, store: ChatStore, stopped: () => boolean, adding: () => void): Promise<boolean> {
  let added = false;
  try {
    if (!(await indexedDB.databases?.())?.some((db) => db.name === name)) return false;
    const left = await openIdbStore(name, STORAGE_OPEN_TIMEOUT, () => {});
    try {
      const held = new Set((await store.loadOutbox()).map((r) => r.cmid));
      for (const { id: _id, ...record } of await left.loadOutbox()) {
        if (stopped()) break;
        if (!held.has(record.cmid)) {
          adding();
          await store.addToOutbox(record);
          added = true;
        }
        await left.removeFromOutbox(record.cmid);
      }
    } finally {
      left.close();
    }
  } catch {
    // What was not moved stays in IndexedDB for the next page; what was is read again (see `open`).
  }
  return added;
}

/** What the storage may do to the client that owns it. */
export interface StorageHost {
  /** A task failed for good (also after the move to memory): a person should hear of it. */
  failed(message: string): void;
  /** The store failed mid-session and memory holds everything now, for `reason`. */
  movedToMemory(reason: string): void;
  /** Whether the client has stopped: a failure then is no reason to move. */
  finished(): boolean;
  /** Records were added to the store's outbox outside the queue (an outbox moved over late): read it again. */
  outboxChanged(): Promise<unknown> | void;
}

/** The store in use and the one queue of work over it. */
export class ClientStorage {
  readonly #mirror: Mirror;
  readonly #conversations: readonly string[];
  readonly #host: StorageHost;
  #store: ChatStore | null = null;
  /** Every store write and every frame is handled in turn, so the mirror follows the store in order. */
  #work: Promise<unknown> = Promise.resolve();
  /** The move to memory after the store failed mid-session, once started. */
  #movingToMemory: Promise<void> | null = null;
  /** The store `openStore` gave, kept after a move to memory so that a logout can still delete it. */
  #hosted: ChatStore | null = null;
  /** A move of a left outbox that went on past start-up, until the mirror has read what it added; null when none does. */
  #adopting: Promise<void> | null = null;
  /**
   * Whether that move has begun adding records: only then do sends wait for it (see `adopted`). One that
   * finds nothing to add (or hangs before it finds any) holds nothing up.
   */
  #adding = false;

  constructor(mirror: Mirror, conversations: readonly string[], host: StorageHost) {
    this.#mirror = mirror;
    this.#conversations = conversations;
    this.#host = host;
  }

  /** Where the outbox and cache live; null until storage is open. */
  get kind(): StorageKind | null {
    return this.#store?.kind ?? null;
  }

  /**
   * Opens the database `name` (memory when `storage` says so; the host's store when it supplies one and it
   * opens, else IndexedDB; memory when that cannot be opened or read) and loads the cache of the
   * conversations and the outbox into the mirror. Never rejects. Resolves with the reason the store is not
   * the one asked for, when it is not, so a person can be told. `onLost` hears of an open database the
   * browser takes away later.
   */
  async open(name: string, { storage, openStore }: StorageOptions, onLost: OnLost): Promise<string | undefined> {
    let store: ChatStore | undefined;
    let reason: string | undefined;
    if (storage === 'memory') {
      store = new MemoryStore();
      reason = 'the host asked for memory storage';
    } else {
      try {
        // Remembered for a logout even when it cannot be read below: whatever it holds must then go too.
        if (openStore) this.#hosted = store = await this.#openHosted(openStore, name);
      } catch (e) {
        // One rung down the ladder: without the host's store, IndexedDB keeps things instead.
        reason = `the app's storage is unavailable (${messageOf(e)})`;
      }
      try {
        store ??= await openIdbStore(name, STORAGE_OPEN_TIMEOUT, onLost);
      } catch (e) {
        store = new MemoryStore();
        reason = `IndexedDB is unavailable (${messageOf(e)})`;
      }
    }
    let late: Promise<boolean> | undefined;
    try {
      if (store === this.#hosted) {
        const moving = adoptOutbox(name, store, () => this.#host.finished(), () => (this.#adding = true));
        // What is not moved by then is left to finish; the client reads the outbox again when it has,
        // once this store is the client's (below: before, it would find none open).
        const moved = await settleWithin(moving.then(() => true), ADOPT_TIMEOUT, '').catch(() => false);
        if (!moved) late = moving;
      }
      for (const conv of this.#conversations) {
        const { messages, ...range } = await store.loadConversation(conv, { limit: FIRST_PAGE });
        this.#mirror.loadConversation(conv, messages, range);
      }
      this.#mirror.loadOutbox(await store.loadOutbox());
    } catch (e) {
      // A database that opens but cannot be read is no better than none.
      store.close();
      store = new MemoryStore();
      reason = `the local database cannot be read (${messageOf(e)})`;
    }
    this.#store = store;
    if (late) {
      this.#adopting = late
        .then((added) => added && this.#host.outboxChanged())
        .catch(() => {})
        .then(() => {
          this.#adopting = null;
        });
    }
    return reason;
  }

  /**
   * Deletes what the host's store holds, for a logout (the client deletes IndexedDB itself); rejects when it
   * could not. A client that did not open the store `openStore` gives (it never started, or that store
   * failed to open and IndexedDB stood in) opens the one named `name` to delete it: an earlier session may
   * have left messages there.
   */
  async deleteHosted(name: string | null, openStore: StorageOptions['openStore']): Promise<void> {
    if (this.#hosted) return deleteAll(this.#hosted);
    if (!openStore || !name) return;
    const store = await this.#openHosted(openStore, name);
    try {
      await deleteAll(store);
    } finally {
      store.close();
    }
  }

  /** The host's store `name`; a host whose store does not open in time (its code did not load) has none. */
  #openHosted(openStore: NonNullable<StorageOptions['openStore']>, name: string): Promise<ChatStore> {
    return settleWithin(Promise.resolve().then(() => openStore(name)), STORAGE_OPEN_TIMEOUT, `it did not open within ${STORAGE_OPEN_TIMEOUT} ms`);
  }

  /**
   * Resolves once the records a late move is adding are in the mirror (at once when no move is adding
   * any), or after `ADOPT_SEND_WAIT`: a message typed meanwhile is stored, and sent, after the ones typed
   * before it on a page that could not reach the host's store.
   */
  async adopted(): Promise<void> {
    if (this.#adding && this.#adopting) await settleWithin(this.#adopting, ADOPT_SEND_WAIT, '').catch(() => {});
  }

  /** The open store; throws before `open`. */
  require(): ChatStore {
    if (!this.#store) throw new Error('storage is not open');
    return this.#store;
  }

  /** Runs `task` after every earlier task, with the storage fallback; a failure is reported, not allowed to break the chain. */
  serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#work.then(async () => {
      const ranOn = this.#store;
      const value = await this.withFallback(task);
      // A write outside the queue failed while this task ran on the store it replaces: the move copied the
      // mirror before this task's outbox change (written to that store, then applied to the mirror) was in it.
      if (ranOn?.kind !== 'memory' && this.#movingToMemory && !this.#host.finished()) {
        await this.#movingToMemory;
        await copyOutbox(this.#mirror, this.require());
      }
      return value;
    });
    this.#work = result.catch((e: unknown) => this.#host.failed(messageOf(e)));
    return result;
  }

  /** Resolves once every task queued so far has run. */
  async idle(): Promise<void> {
    await this.#work.catch(() => {});
  }

  /**
   * Runs a storage task; when the store fails in the middle of a session (IndexedDB's quota used up, its
   * database deleted or closed by the browser; the app's store refusing or not answering), moves to memory
   * and runs it again there. Safe because every task is a store write followed by updates of the mirror,
   * and store writes are idempotent or all-or-nothing.
   */
  async withFallback<T>(task: () => Promise<T>): Promise<T> {
    // The store the task ran against: a failure of IndexedDB (or the app's store) is moved past even when
    // another task moved the client to memory meanwhile; a frame sent by the task may already be out.
    const ranOn = this.#store;
    try {
      return await task();
    } catch (e) {
      if (ranOn?.kind === 'memory' || this.#host.finished()) throw e;
      // Ack and live-message writes run outside serial(), so two failures can race here: both wait for one move.
      await (this.#movingToMemory ??= this.#moveToMemory(e));
      return task();
    }
  }

  /** Closes the store; the client calls it once every queued task has run. */
  close(): void {
    this.#store?.close();
  }

  /** Replaces a failing store by a memory store holding what the mirror holds, and says so. */
  async #moveToMemory(cause: unknown): Promise<void> {
    const reason = `${this.#store?.kind === 'native' ? "the app's storage" : 'IndexedDB'} failed during the session (${messageOf(cause)})`;
    // A memory store holding what the mirror holds: the messages of the conversations it loaded, and every
    // outbox item this page knows (the mirror's outbox is reloaded from it: memory numbers items anew).
    const memory = new MemoryStore();
    for (const conv of this.#conversations) {
      const { cursor, low } = this.#mirror.held(conv);
      const held = this.#mirror.storedMessages(conv);
      // Its held range is what the mirror holds without a gap: older pages then come from the server. Held
      // empty and known, that is an empty page down to the first message, which marks it known there too.
      if (this.#mirror.isKnown(conv)) await memory.acceptMessages(conv, held.filter((m) => m.seq >= low && m.seq <= cursor), { more: low > 1 });
      await memory.acceptMessages(conv, held.filter((m) => m.seq > cursor));
    }
    await copyOutbox(this.#mirror, memory);
    this.#store?.close();
    this.#store = memory;
    this.#host.movedToMemory(reason);
  }
}
