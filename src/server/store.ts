/**
 * Message storage on SQLite: numbered migrations, prepared statements, and the one transaction that
 * turns a `send` into a stored message with a gap-free seq. Synchronous by design (better-sqlite3):
 * a whole `send` runs without yielding, so no other frame can interleave between seq and insert.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Message } from '../protocol/index.js';

/**
 * better-sqlite3, or an error that says how to get it. It is an optional dependency of the package (an
 * app that only embeds the chat must install where the native driver cannot be built), so a server may
 * find it missing: a bare ERR_MODULE_NOT_FOUND would not say that installing it is the fix.
 */
export function loadSqlite(require: (id: string) => unknown = createRequire(import.meta.url)): typeof Database {
  try {
    return require('better-sqlite3') as typeof Database;
  } catch (err) {
    throw new Error('imbed server: its SQLite driver, better-sqlite3, is not installed or could not load (an optional dependency of imbed, skipped where it could not be built): run `npm install better-sqlite3`', { cause: err });
  }
}

const Sqlite = loadSqlite();

/**
 * Schema steps; step i brings `PRAGMA user_version` from i to i + 1. Append new steps, never edit one
 * that has shipped: databases in the field have already run it.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE conversations (
     id   TEXT PRIMARY KEY,
     head INTEGER NOT NULL
   );
   CREATE TABLE messages (
     conv   TEXT    NOT NULL,
     seq    INTEGER NOT NULL,
     sender TEXT    NOT NULL,
     name   TEXT    NOT NULL,
     cmid   TEXT    NOT NULL,
     text   TEXT    NOT NULL,
     ts     INTEGER NOT NULL,
     PRIMARY KEY (conv, seq),
     UNIQUE (sender, cmid)
   ) WITHOUT ROWID;`,
  // Membership. A conversation row exists once it has a message; \`kind\` is set only when it was created
  // through the admin API, and such a conversation is open to its members only (see access.ts).
  `ALTER TABLE conversations ADD COLUMN kind TEXT CHECK (kind IN ('direct', 'group'));
   ALTER TABLE conversations ADD COLUMN title TEXT;
   ALTER TABLE conversations ADD COLUMN created_at INTEGER;
   CREATE TABLE members (
     conv     TEXT    NOT NULL,
     user     TEXT    NOT NULL,
     added_at INTEGER NOT NULL,
     PRIMARY KEY (conv, user)
   ) WITHOUT ROWID;
   CREATE INDEX members_by_user ON members (user, conv);`,
];

/** The schema version this code expects (the number of migration steps). */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** What `append` did: stored a new message, or found the sender's cmid already stored (`dup`). */
export interface AppendResult {
  dup: boolean;
  /** For a dup: the original message (its conv, seq and ts), not the resent one. */
  message: Message;
}

/** One page of a conversation after a seq. */
export interface Page {
  msgs: Message[];
  more: boolean;
  head: number;
}

export type ConversationKind = 'direct' | 'group';

/** A conversation created through the admin API, with its members (sorted). */
export interface Conversation {
  id: string;
  kind: ConversationKind;
  title: string | null;
  /** Creation time, ms since the epoch. */
  createdAt: number;
  members: string[];
}

/** How many members a direct conversation has, and at most may have. */
export const DIRECT_MEMBERS = 2;

/** What `createConversation` did; `exists` when a conversation with that id was created before. */
export type CreateResult = { ok: true; conversation: Conversation } | { ok: false; reason: 'exists' };

/** What `addMember`/`removeMember` did; `changed` is false when there was nothing to do. */
export type MemberResult =
  | { ok: true; changed: boolean; conversation: Conversation }
  | { ok: false; reason: 'unknown' | 'direct-full' };

/** Whether a conversation is restricted to members (`managed`) and whether a user is one of them. */
export interface Membership {
  managed: boolean;
  member: boolean;
}

/** Whether the database takes writes now, and if not, why. */
export type StoreHealth = { ok: true } | { ok: false; reason: string };

export interface NewMessage {
  conv: string;
  cmid: string;
  from: string;
  name: string;
  text: string;
  ts: number;
}

/** How long a write waits for another process's write lock (ms). */
const BUSY_TIMEOUT = 5000;

/**
 * The imbed database. Every method is synchronous and either fully applies or throws with nothing
 * changed.
 */
export class Store {
  private readonly db: Database.Database;
  /** Holds the database for this server alone while open (see `holdLock`); null in memory. */
  private readonly lock: Database.Database | null;
  private readonly stmt: Statements;
  private readonly appendAllTx: Database.Transaction<(ms: readonly NewMessage[]) => AppendResult[]>;
  /** Whether writes fail at once on another process's write lock instead of waiting `BUSY_TIMEOUT` (see `write`). */
  private failFast = false;
  /** Why the last write failed when storage could not be written at all (`isStorageUnavailable`); null once a write gets through. */
  private failure: string | null = null;
  /** When `health()` last tried a write of its own (`performance.now()`). */
  private probedAt = -Infinity;
  private readonly probeTx: Database.Transaction<(now: number) => void>;
  private readonly createTx: Database.Transaction<(c: { id: string; kind: ConversationKind; title: string | null; members: readonly string[]; now: number }) => CreateResult>;
  private readonly addTx: Database.Transaction<(conv: string, user: string, now: number) => MemberResult>;
  private readonly removeTx: Database.Transaction<(conv: string, user: string) => MemberResult>;

  /**
   * Opens (creating it and its folder if missing) and migrates the database at `file`, for this server
   * alone; `shared` leaves the lock to the server that holds it, for a tool that writes beside it.
   */
  constructor(file: string, { shared = false } = {}) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    // '' is a temporary database SQLite deletes on close: no other server can open it.
    const lock = file === ':memory:' || file === '' || shared ? null : holdLock(file);
    let db: Database.Database | undefined;
    try {
      db = new Sqlite(file);
      // WAL lets readers run during a write; synchronous=FULL fsyncs the WAL on every commit, so a
      // message acked with `sent` survives kill -9 and power loss (NORMAL would only survive kill -9).
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      // Another process (a backup tool, a sqlite3 shell) may hold the write lock for a moment.
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT}`);
      migrate(db);
    } catch (err) {
      db?.close();
      lock?.close();
      throw openError(file, err);
    }
    this.db = db;
    this.lock = lock;

    this.stmt = prepare(this.db);

    const appendOne = (m: NewMessage): AppendResult => {
      const found = this.stmt.findByCmid.get(m.from, m.cmid);
      if (found) {
        return { dup: true, message: { conv: found.conv, seq: found.seq, cmid: m.cmid, from: m.from, name: found.name, text: found.text, ts: found.ts } };
      }
      const { head } = this.stmt.bumpHead.get(m.conv)!;
      this.stmt.insert.run(m.conv, head, m.from, m.name, m.cmid, m.text, m.ts);
      return { dup: false, message: { conv: m.conv, seq: head, cmid: m.cmid, from: m.from, name: m.name, text: m.text, ts: m.ts } };
    };
    this.appendAllTx = this.db.transaction((ms: readonly NewMessage[]) => ms.map(appendOne));

    this.createTx = this.db.transaction((c: { id: string; kind: ConversationKind; title: string | null; members: readonly string[]; now: number }): CreateResult => {
      if (this.stmt.getConversation.get(c.id)) return { ok: false, reason: 'exists' };
      this.stmt.createConversation.run(c.id, c.kind, c.title, c.now);
      for (const user of c.members) this.stmt.addMember.run(c.id, user, c.now);
      return { ok: true, conversation: this.conversation(c.id)! };
    });
    this.addTx = this.db.transaction((conv: string, user: string, now: number): MemberResult => {
      const found = this.conversation(conv);
      if (!found) return { ok: false, reason: 'unknown' };
      if (found.members.includes(user)) return { ok: true, changed: false, conversation: found };
      if (found.kind === 'direct' && found.members.length >= DIRECT_MEMBERS) return { ok: false, reason: 'direct-full' };
      this.stmt.addMember.run(conv, user, now);
      return { ok: true, changed: true, conversation: this.conversation(conv)! };
    });
    this.removeTx = this.db.transaction((conv: string, user: string): MemberResult => {
      if (!this.stmt.getConversation.get(conv)) return { ok: false, reason: 'unknown' };
      const changed = this.stmt.removeMember.run(conv, user).changes > 0;
      return { ok: true, changed, conversation: this.conversation(conv)! };
    });
    // A real write, committed: taking the lock alone would not find a full disk or a read-only file.
    this.probeTx = this.db.transaction((now: number) => void this.stmt.putMeta.run('write_probe', String(now)));
  }

  /**
   * Stores `m` with seq = the conversation's head + 1, or, when this sender already stored this cmid,
   * returns the original message with `dup: true` and stores nothing. One transaction: commit or nothing.
   */
  append(m: NewMessage): AppendResult {
    return this.appendAll([m])[0]!;
  }

  /**
   * `append` for several messages, in order, in ONE transaction: one commit (one fsync) for all of them,
   * and all or nothing. A cmid repeated within `ms` is stored once; its later copies are `dup`.
   */
  appendAll(ms: readonly NewMessage[]): AppendResult[] {
    return this.write(this.appendAllTx, ms);
  }

  /**
   * Where `from` already stored `cmid`, and its stored text, or null. A new cmid is not found in the
   * UNIQUE (sender, cmid) index, so asking this of every `send` costs one index lookup; only a resend
   * reads its row.
   */
  findSent(from: string, cmid: string): { conv: string; seq: number; text: string } | null {
    return this.stmt.findSent.get(from, cmid) ?? null;
  }

  /** Messages of `conv` with seq > `after`, ascending, at most `limit`, and whether more follow. */
  page(conv: string, after: number, limit: number): Page {
    const rows = this.stmt.page.all(conv, after, limit + 1);
    // Read the head after the rows, so a page never states a head lower than its own last seq.
    const head = this.head(conv);
    const more = rows.length > limit;
    if (more) rows.pop();
    return { msgs: rows, more, head };
  }

  /**
   * The newest `limit` messages of `conv` with seq < `before`, ascending, and whether older ones exist:
   * a client that holds nothing yet shows the newest page without downloading the whole history.
   */
  pageBefore(conv: string, before: number, limit: number): Page {
    const rows = this.stmt.pageBefore.all(conv, before, limit + 1);
    const head = this.head(conv);
    const more = rows.length > limit;
    if (more) rows.pop();
    return { msgs: rows.reverse(), more, head };
  }

  /** The highest seq stored in `conv`, 0 when it has no message. */
  head(conv: string): number {
    return this.stmt.head.get(conv)?.head ?? 0;
  }

  /**
   * Creates conversation `id` with its members. A conversation that exists only because it has messages
   * (never created here) becomes restricted to `members`, keeping its messages.
   */
  createConversation(c: { id: string; kind: ConversationKind; title: string | null; members: readonly string[]; now: number }): CreateResult {
    return this.write(this.createTx, c);
  }

  /** The conversation created with `createConversation`, or null (unknown, or only has messages). */
  conversation(id: string): Conversation | null {
    const row = this.stmt.getConversation.get(id);
    if (!row) return null;
    return { id, kind: row.kind, title: row.title, createdAt: row.created_at, members: this.stmt.membersOf.all(id).map((r) => r.user) };
  }

  /** Adds `user` to conversation `conv` (nothing to do when already there); a direct one takes two at most. */
  addMember(conv: string, user: string, now: number): MemberResult {
    return this.write(this.addTx, conv, user, now);
  }

  /** Removes `user` from conversation `conv` (nothing to do when not there). */
  removeMember(conv: string, user: string): MemberResult {
    return this.write(this.removeTx, conv, user);
  }

  /** One query for the access check of every frame. */
  membership(conv: string, user: string): Membership {
    const row = this.stmt.membership.get(user, conv);
    return { managed: row !== undefined && row.managed === 1, member: row?.member === 1 };
  }

  /** The conversations `user` is a member of, by id. */
  conversationsOf(user: string): Array<Omit<Conversation, 'members'>> {
    return this.stmt.conversationsOf.all(user).map((r) => ({ id: r.id, kind: r.kind, title: r.title, createdAt: r.created_at }));
  }

  /** Returns the meta value of `key`, first storing `make()` if there is none (first writer wins). */
  metaOrInit(key: string, make: () => string): string {
    const existing = this.stmt.getMeta.get(key);
    if (existing) return existing.value;
    this.stmt.putMetaIfAbsent.run(key, make());
    return this.stmt.getMeta.get(key)!.value;
  }

  /**
   * Whether the database takes writes: not once closed, nor while storage is failing (the last write
   * found it locked by another process past the busy timeout, the disk full, an I/O error...). While it
   * is failing, a call tries a write of its own (one a second at most), so it reports the recovery even
   * when no client is left to send. Like any write, it fails at once, without waiting, while the lock another process
   * held past the busy timeout is still held (see `write`).
   */
  health(): StoreHealth {
    if (!this.db.open) return { ok: false, reason: 'database closed' };
    // One probe a second at most: a probe that meets the lock may wait the busy timeout, holding the event loop.
    if (this.failure !== null && performance.now() - this.probedAt >= 1000) {
      this.probedAt = performance.now();
      try {
        this.write(this.probeTx, Date.now());
      } catch {
        // `write` kept why.
      }
    }
    return this.failure === null ? { ok: true } : { ok: false, reason: `storage failing: ${this.failure}` };
  }

  /** Whether the database is open: false once `close()` ran. */
  get isOpen(): boolean {
    return this.db.open;
  }

  close(): void {
    if (this.db.open) this.db.close();
    if (this.lock?.open) this.lock.close();
  }

  /**
   * Runs write transaction `tx` with `args`. IMMEDIATE takes the write lock up front: a deferred
   * transaction that reads first could fail with SQLITE_BUSY on upgrade if another process writes the
   * same file. The wait for another process's write lock holds the event loop, every connection with it.
   * Once one write has waited the whole timeout, that process holds the lock for long (a shell left in a
   * transaction, a tool writing a long batch): until a write gets through again, writes fail at once
   * rather than each holding everything for the timeout (K sessions storing their sends alone would take
   * K times as long).
   */
  private write<A extends unknown[], T>(tx: Database.Transaction<(...args: A) => T>, ...args: A): T {
    try {
      const result = tx.immediate(...args);
      if (this.failFast) this.waitForLock(true);
      this.failure = null;
      return result;
    } catch (err) {
      if (!this.failFast && err instanceof Sqlite.SqliteError && err.code.startsWith('SQLITE_BUSY')) this.waitForLock(false);
      if (isStorageUnavailable(err)) this.failure = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  private waitForLock(wait: boolean): void {
    this.failFast = !wait;
    this.db.pragma(`busy_timeout = ${wait ? BUSY_TIMEOUT : 0}`);
  }
}

/**
 * Takes the lock that keeps a second server off the database at `file`: an exclusive transaction, never
 * ended, on the SQLite file `<file>.lock` beside it. SQLite's lock on the database itself would also
 * keep out the backup tools, which must read it while the server runs. The operating system drops the
 * lock when the process ends, however it ends (kill -9 included), so a left-over lock file stops no one.
 */
function holdLock(file: string): Database.Database {
  // Beside the file itself: SQLite follows a symbolic link to the database, and so does the lock.
  let target: string;
  try {
    target = realpathSync(file);
  } catch {
    target = join(realpathSync(dirname(file)), basename(file));
  }
  const path = `${target}.lock`;
  let lock: Database.Database | undefined;
  try {
    lock = new Sqlite(path, { timeout: 0 });
    // No journal file beside it: the transaction never writes.
    lock.pragma('journal_mode = MEMORY');
    lock.exec('BEGIN EXCLUSIVE');
    return lock;
  } catch (err) {
    lock?.close();
    if (err instanceof Sqlite.SqliteError && err.code.startsWith('SQLITE_BUSY')) {
      throw new Error(`imbed: another imbed server is using the database ${file} (it holds ${path}): stop it first, or give this server a database of its own; one database serves one server`, { cause: err });
    }
    if (err instanceof Sqlite.SqliteError && err.code.startsWith('SQLITE_NOTADB')) {
      throw new Error(`imbed: ${path} is not the lock file imbed keeps beside the database (${err.message}): move it away, and imbed creates its own`, { cause: err });
    }
    throw openError(path, err);
  }
}

/**
 * What opening `file` failed with, saying what to fix where SQLite's words do not: they name neither the
 * file nor the cause.
 */
function openError(file: string, err: unknown): unknown {
  if (!(err instanceof Sqlite.SqliteError)) return err;
  if (err.code.startsWith('SQLITE_CANTOPEN')) {
    return new Error(`imbed: cannot open the database ${file} (${err.message}): it must be a file, or not exist yet, in a folder this process may write`, { cause: err });
  }
  if (err.code.startsWith('SQLITE_NOTADB')) {
    return new Error(`imbed: ${file} is not an SQLite database (${err.message}): point db (--db) at the imbed database, or at a file that does not exist yet`, { cause: err });
  }
  if (err.code.startsWith('SQLITE_BUSY')) {
    return new Error(`imbed: the database ${file} is locked (${err.message}): another process holds it (a sqlite3 shell left in a transaction, an imbed server of an older version?), and only one imbed server may use a database`, { cause: err });
  }
  return err;
}

/**
 * Whether `err` says the database cannot be written at all now (locked by another process past the busy
 * timeout, I/O error, disk full, read-only, closed), as opposed to one write being refused: retrying
 * the same writes one by one would only fail the same way, each after its own busy timeout.
 */
export function isStorageUnavailable(err: unknown): boolean {
  if (err instanceof Sqlite.SqliteError) {
    return /^SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|CORRUPT|NOTADB|PROTOCOL)/.test(err.code);
  }
  return err instanceof TypeError && /database connection is not open/.test(err.message);
}

/** Statements are compiled once here, not per call. */
function prepare(db: Database.Database) {
  return {
    findByCmid: db.prepare<[string, string], { conv: string; seq: number; name: string; text: string; ts: number }>(
      'SELECT conv, seq, name, text, ts FROM messages WHERE sender = ? AND cmid = ?',
    ),
    findSent: db.prepare<[string, string], { conv: string; seq: number; text: string }>('SELECT conv, seq, text FROM messages WHERE sender = ? AND cmid = ?'),
    bumpHead: db.prepare<[string], { head: number }>(
      'INSERT INTO conversations (id, head) VALUES (?, 1) ON CONFLICT (id) DO UPDATE SET head = head + 1 RETURNING head',
    ),
    insert: db.prepare<[string, number, string, string, string, string, number]>(
      'INSERT INTO messages (conv, seq, sender, name, cmid, text, ts) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    page: db.prepare<[string, number, number], Message>(
      'SELECT conv, seq, cmid, sender AS "from", name, text, ts FROM messages WHERE conv = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    pageBefore: db.prepare<[string, number, number], Message>(
      'SELECT conv, seq, cmid, sender AS "from", name, text, ts FROM messages WHERE conv = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    head: db.prepare<[string], { head: number }>('SELECT head FROM conversations WHERE id = ?'),
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    putMetaIfAbsent: db.prepare<[string, string]>('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)'),
    putMeta: db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    getConversation: db.prepare<[string], { kind: ConversationKind; title: string | null; created_at: number }>(
      'SELECT kind, title, created_at FROM conversations WHERE id = ? AND kind IS NOT NULL',
    ),
    // head 0: the conversation has no message yet; the first one's bumpHead makes it 1.
    createConversation: db.prepare<[string, ConversationKind, string | null, number]>(
      `INSERT INTO conversations (id, head, kind, title, created_at) VALUES (?, 0, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, title = excluded.title, created_at = excluded.created_at`,
    ),
    membersOf: db.prepare<[string], { user: string }>('SELECT user FROM members WHERE conv = ? ORDER BY user'),
    addMember: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO members (conv, user, added_at) VALUES (?, ?, ?)'),
    removeMember: db.prepare<[string, string]>('DELETE FROM members WHERE conv = ? AND user = ?'),
    membership: db.prepare<[string, string], { managed: number; member: number }>(
      `SELECT kind IS NOT NULL AS managed, EXISTS (SELECT 1 FROM members WHERE conv = c.id AND user = ?) AS member
       FROM conversations c WHERE id = ?`,
    ),
    conversationsOf: db.prepare<[string], { id: string; kind: ConversationKind; title: string | null; created_at: number }>(
      `SELECT c.id, c.kind, c.title, c.created_at FROM members m JOIN conversations c ON c.id = m.conv
       WHERE m.user = ? AND c.kind IS NOT NULL ORDER BY c.id`,
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

function migrate(db: Database.Database): void {
  const run = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(`imbed: database schema version ${version} is newer than this server (${MIGRATIONS.length}); upgrade imbed`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      // PRAGMA takes no bound parameters; v is a trusted integer.
      db.pragma(`user_version = ${v + 1}`);
    }
  });
  run.immediate();
}
