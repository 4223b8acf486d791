/**
 * Where the client keeps what must survive a reload: the outbox (messages typed but not yet acknowledged),
 * the messages it holds, and one cursor per conversation. `ChatStore` is the interface; `openIdbStore`
 * is the IndexedDB implementation and `MemoryStore` (memory-store.ts) the fallback with the same contract.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Message } from '../protocol/index.js';
import { settleWithin } from './settle-within.js';
import type { ItemError, StorageKind } from './types.js';

/** One outbox entry. `id` is the IndexedDB autoIncrement key, so ascending ids are outbox order. */
export interface OutboxRecord {
  id?: number;
  conv: string;
  cmid: string;
  text: string;
  /** Local creation time, ms since the epoch. */
  createdAt: number;
  status: 'pending' | 'failed';
  /** Why the server refused it, when `failed`. */
  error?: ItemError;
}

/** What `acceptMessages` did, so the in-memory mirror can follow. */
export interface AcceptResult extends HeldRange {
  /** The highest seq now held in the conversation without a gap. */
  cursor: number;
  /** Cmids whose outbox items were removed because their message is now stored. */
  removed: string[];
}

/**
 * What a conversation's cache holds: every message with seq in `[floor, cursor]` (none when `cursor` is 0),
 * plus possibly some above `cursor` after a gap. `floor` is 1 once the cache reaches the first message.
 * `known` says the device caught up with the conversation while it held none of it: it stored an empty
 * page of history that reaches the first message (see `acceptMessages`), the conversation being empty.
 * What comes from seq 1 on is news then, not a first visit's history. A store that leaves it out still
 * works; such a conversation's first messages are then history after a reload, not news.
 */
export interface HeldRange {
  cursor: number;
  floor: number;
  known?: boolean;
}

/**
 * The storage contract shared by the IndexedDB store, the memory fallback and any store a host supplies
 * (`ImbedClientOptions.openStore`). Every method is one transaction.
 */
export interface ChatStore {
  readonly kind: StorageKind;
  /**
   * The stored messages of `conv` by seq, from seq `from` up (default: the newest `limit` of the held
   * range, and everything above it), and its held range. Start-up reads only the newest page.
   */
  loadConversation(conv: string, opts?: { from?: number; limit?: number }): Promise<{ messages: Message[] } & HeldRange>;
  /** Up to `limit` stored messages of `conv` just below seq `below`, by seq (the held range is gap-free). */
  loadOlder(conv: string, below: number, limit: number): Promise<Message[]>;

  /** The outbox in outbox order: all of it, or only the records with an id above `afterId`. */
  loadOutbox(afterId?: number): Promise<OutboxRecord[]>;
  /**
   * Appends to the outbox; resolves with the record including its id once durable and, with `newerThan`,
   * every record with a higher id (this one included) read in the same transaction: what other tabs added.
   */
  addToOutbox(record: Omit<OutboxRecord, 'id'>, newerThan?: number): Promise<{ record: OutboxRecord; newer: OutboxRecord[] }>;
  /** Marks an outbox item failed; false when it is gone (acknowledged meanwhile, e.g. by another tab). */
  markFailed(cmid: string, error: ItemError): Promise<boolean>;
  /** Moves an item to the end of the outbox as `pending`; null when it is gone. */
  requeue(cmid: string): Promise<OutboxRecord | null>;
  /** Removes an outbox item (a no-op when it is gone). */
  removeFromOutbox(cmid: string): Promise<void>;
  /**
   * Stores `msgs` of `conv` idempotently by seq, removes any outbox items with the same cmids and
   * advances the cursor, all in ONE transaction: a message is never both pending and stored, and a
   * crash between the two cannot resend it under a new position. With `older`, `msgs` are a page of
   * history answered to `sync` with `before` (ascending, gap-free): the held range extends down over it,
   * or starts there when nothing was held; `more` false means it reaches the first message (empty, while
   * nothing is held: the conversation is empty, and becomes `known`).
   */
  acceptMessages(conv: string, msgs: readonly Message[], older?: { more: boolean }): Promise<AcceptResult>;
  /**
   * Deletes the messages of `conv` and its held range, in one transaction, keeping its outbox items: the
   * server's copy of the conversation went back (a database restored from a backup), and this one no
   * longer matches it. With a store supplied through `openStore` that lacks it, or when it fails, the
   * client keeps its copy as it is and reports `STORAGE_FAILED`.
   */
  forgetConversation?(conv: string): Promise<void>;
  close(): void;
  /**
   * Deletes everything the store holds, for a logout; called after `close`. Only stores supplied through
   * `openStore` have it (the client deletes its IndexedDB database by name), and they need it: without
   * it, a logout rejects, saying the store's data is left.
   */
  deleteDatabase?(): Promise<void>;
}

interface ImbedDB extends DBSchema {
  outbox: { key: number; value: OutboxRecord; indexes: { cmid: string } };
  messages: { key: [string, number]; value: Message };
  /**
   * `floor` is absent in records of caches filled forward from seq 1 (before backward paging): it is 1.
   * A record says the conversation is `known`: only one caught up with while empty has a record with
   * `after` 0. Builds from before the mark read such a record as nothing held, and only ever write
   * records over it, so the mark needs no new schema version.
   */
  cursors: { key: string; value: { conv: string; after: number; floor?: number } };
}

/**
 * Current schema version; `upgrade` migrates from every older one. 2 adds `floor` to cursor records
 * (absent: 1, so no data moves); the bump makes a tab still running an older build close the database
 * (`blocking`) instead of rewriting cursor records without the floor.
 */
const DB_VERSION = 2;

/** Told of an open database the browser takes away; `deleted` when another client deleted it (a logout). */
export type OnLost = (reason: string, deleted?: boolean) => void;

/**
 * Opens (creating or migrating) the IndexedDB store `name`. Rejects when IndexedDB is unavailable, throws,
 * fails, or stays blocked longer than `timeoutMs` (private modes and some WebViews do each of these, e.g.
 * Firefox private browsing before v115: https://bugzilla.mozilla.org/show_bug.cgi?id=781982).
 * `onLost` is called when another tab needs a newer schema, or the browser closes the database, or
 * another client deletes it (`deleted`).
 */
export async function openIdbStore(name: string, timeoutMs: number, onLost: OnLost): Promise<ChatStore> {
  const opening = openDB<ImbedDB>(name, DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        const outbox = db.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true });
        outbox.createIndex('cmid', 'cmid', { unique: true });
        db.createObjectStore('messages', { keyPath: ['conv', 'seq'] });
        db.createObjectStore('cursors', { keyPath: 'conv' });
      }
    },
    blocking(_version, next) {
      // Another tab deletes the database (a logout: no next version), or runs a newer imbed that must
      // upgrade the schema: let it, rather than block it forever.
      db?.close();
      if (next === null) onLost('signed out: another tab (or chat) deleted the local database', true);
      else onLost('the local database was closed for a newer version of imbed in another tab; reload this page');
    },
    terminated() {
      onLost('the browser closed the local database unexpectedly');
    },
  });
  let db: IDBPDatabase<ImbedDB> | undefined;
  try {
    db = await settleWithin(opening, timeoutMs, `IndexedDB did not open within ${timeoutMs} ms`);
  } catch (e) {
    // If it opens after all, close it so it never blocks a later upgrade (an open that failed has none to close).
    opening.then((late) => late.close(), () => {});
    throw e;
  }
  return new IdbStore(db);
}

/**
 * The part of idb's database the store uses. imbed.js is built without idb's shortcut methods (`db.get`,
 * `db.getAll`, `db.put`, ...; build/trim-dependencies.ts), so every read and write opens its own
 * transaction.
 */
type ImbedDatabase = Pick<IDBPDatabase<ImbedDB>, 'transaction' | 'close'>;

class IdbStore implements ChatStore {
  get kind() {
    return 'indexeddb' as const;
  }

  readonly #db: ImbedDatabase;

  constructor(db: ImbedDatabase) {
    this.#db = db;
  }

  async loadConversation(conv: string, opts: { from?: number; limit?: number } = {}): Promise<{ messages: Message[] } & HeldRange> {
    const tx = handled(this.#db.transaction(['messages', 'cursors'], 'readonly'));
    const held = heldRange(await tx.objectStore('cursors').get(conv));
    // The held range is gap-free, so the newest page is one key range: no cursor walk.
    const from = opts.from ?? (opts.limit === undefined ? 0 : Math.max(held.floor, held.cursor - opts.limit + 1));
    const [messages] = await Promise.all([tx.objectStore('messages').getAll(IDBKeyRange.bound([conv, from], [conv, Infinity])), tx.done]);
    return { messages, ...held };
  }

  async loadOlder(conv: string, below: number, limit: number): Promise<Message[]> {
    if (below <= 1) return [];
    return handled(this.#db.transaction('messages')).store.getAll(IDBKeyRange.bound([conv, Math.max(1, below - limit)], [conv, below - 1]));
  }

  async loadOutbox(afterId = 0): Promise<OutboxRecord[]> {
    return handled(this.#db.transaction('outbox')).store.getAll(IDBKeyRange.lowerBound(afterId, true));
  }

  async addToOutbox(record: Omit<OutboxRecord, 'id'>, newerThan?: number): Promise<{ record: OutboxRecord; newer: OutboxRecord[] }> {
    // Requests of one transaction run in order: the read sees the add, and both cost one round trip.
    const tx = this.#db.transaction('outbox', 'readwrite');
    const [id, newer] = await Promise.all([
      tx.store.add(record as OutboxRecord),
      newerThan === undefined ? [] : tx.store.getAll(IDBKeyRange.lowerBound(newerThan, true)),
      tx.done,
    ]);
    return { record: { ...record, id }, newer };
  }

  async markFailed(cmid: string, error: ItemError): Promise<boolean> {
    const tx = this.#outboxWrite();
    const record = await tx.store.index('cmid').get(cmid);
    if (record) await tx.store.put({ ...record, status: 'failed', error });
    await tx.done;
    return record !== undefined;
  }

  async requeue(cmid: string): Promise<OutboxRecord | null> {
    const tx = this.#outboxWrite();
    const record = await tx.store.index('cmid').get(cmid);
    let moved: OutboxRecord | null = null;
    if (record) {
      await tx.store.delete(record.id!);
      const fresh = requeued(record);
      moved = { ...fresh, id: await tx.store.add(fresh) };
    }
    await tx.done;
    return moved;
  }

  async removeFromOutbox(cmid: string): Promise<void> {
    const tx = this.#outboxWrite();
    const key = await tx.store.index('cmid').getKey(cmid);
    if (key !== undefined) await tx.store.delete(key);
    await tx.done;
  }

  async acceptMessages(conv: string, msgs: readonly Message[], older?: { more: boolean }): Promise<AcceptResult> {
    // Nothing awaited here but IndexedDB requests of this transaction: awaiting anything else lets it
    // auto-commit half-way (https://github.com/jakearchibald/idb#transaction-lifetime). The requests are
    // issued together and awaited together: a batch of acks costs a few round trips, not three per message.
    const tx = handled(this.#db.transaction(['messages', 'outbox', 'cursors'], 'readwrite'));
    const messages = tx.objectStore('messages');
    const outbox = tx.objectStore('outbox');
    const cursors = tx.objectStore('cursors');
    const puts = msgs.map((m) => messages.put({ conv: m.conv, seq: m.seq, cmid: m.cmid, from: m.from, name: m.name, text: m.text, ts: m.ts }));
    const [keys, held] = await Promise.all([Promise.all(msgs.map((m) => outbox.index('cmid').getKey(m.cmid))), cursors.get(conv), ...puts]);
    const removed: string[] = [];
    const deletes = keys.flatMap((key, i) => {
      if (key === undefined) return [];
      removed.push(msgs[i]!.cmid);
      return [outbox.delete(key)];
    });
    const before = heldRange(held);
    const range = older ? extendDown(before, msgs, older.more) : before;
    // The seqs held after the cursor, in order (usually just this batch): the cursor moves over the gap-free run.
    const [after] = await Promise.all([messages.getAllKeys(IDBKeyRange.bound([conv, range.cursor + 1], [conv, Infinity])), ...deletes]);
    let cursor = range.cursor;
    for (const [, seq] of after) {
      if (seq !== cursor + 1) break;
      cursor = seq;
    }
    // The cursor's write and the commit are awaited together: one round trip to IndexedDB fewer per batch.
    // A new range object (see `extendDown`): the floor moved, or an empty conversation became known.
    const moved = cursor !== before.cursor || range !== before;
    await Promise.all([moved && cursors.put({ conv, after: cursor, floor: range.floor }), tx.done]);
    return { cursor, floor: range.floor, removed };
  }

  async forgetConversation(conv: string): Promise<void> {
    const tx = handled(this.#db.transaction(['messages', 'cursors'], 'readwrite'));
    await Promise.all([tx.objectStore('messages').delete(IDBKeyRange.bound([conv, 0], [conv, Infinity])), tx.objectStore('cursors').delete(conv), tx.done]);
  }

  close(): void {
    this.#db.close();
  }

  /** A write transaction on the outbox (see `handled`). */
  #outboxWrite() {
    return handled(this.#db.transaction('outbox', 'readwrite'));
  }
}

/**
 * `tx`, its `done` marked as handled: a method that stops at a failed request rejects with that
 * request's error, and the abort that follows is the same failure, not an unhandled rejection on the page.
 */
function handled<T extends { done: Promise<void> }>(tx: T): T {
  tx.done.catch(() => {});
  return tx;
}

/** `record` as it goes back into the outbox: pending, without its error, and without an id until it is added. */
export function requeued({ id: _id, error: _error, ...rest }: OutboxRecord): OutboxRecord {
  return { ...rest, status: 'pending' };
}

/** The held range a cursor record states (a record without `floor` was filled forward from seq 1). */
export function heldRange(record: { after: number; floor?: number } | undefined): HeldRange {
  return { cursor: record?.after ?? 0, floor: record?.floor ?? 1, known: !!record };
}

/**
 * The range once a backward page `msgs` is stored: started there when empty, extended when it touches the
 * floor; known when the page is empty and reaches the first message while nothing is held. A range that
 * changes is a new object.
 */
export function extendDown(range: HeldRange, msgs: readonly Message[], more: boolean): HeldRange {
  const first = msgs[0];
  if (!first) return more || range.cursor > 0 ? range : { cursor: 0, floor: 1, known: true };
  const last = msgs[msgs.length - 1]!;
  const floor = more ? first.seq : 1;
  if (range.cursor === 0) return { cursor: last.seq, floor };
  return last.seq >= range.floor - 1 && floor < range.floor ? { ...range, floor } : range;
}
