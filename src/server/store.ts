/**
 * Message storage on SQLite: numbered migrations, prepared statements, and the one transaction that
 * turns a `send` into a stored message with a gap-free seq. Synchronous by design (better-sqlite3):
 * a whole `send` runs without yielding, so no other frame can interleave between seq and insert.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Message } from '../protocol/index.js';

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

export interface NewMessage {
  conv: string;
  cmid: string;
  from: string;
  name: string;
  text: string;
  ts: number;
}

/**
 * The imbed database. Every method is synchronous and either fully applies or throws with nothing
 * changed.
 */
export class Store {
  private readonly db: Database.Database;
  private readonly stmt: Statements;
  private readonly appendAllTx: (ms: readonly NewMessage[]) => AppendResult[];

  /** Opens (creating it and its folder if missing) and migrates the database at `file`. */
  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    // WAL lets readers run during a write; synchronous=FULL fsyncs the WAL on every commit, so a
    // message acked with `sent` survives kill -9 and power loss (NORMAL would only survive kill -9).
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // Another process (a second server, a backup tool) may hold the write lock for a moment.
    this.db.pragma('busy_timeout = 5000');
    try {
      migrate(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }

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
    const txAll = this.db.transaction((ms: readonly NewMessage[]) => ms.map(appendOne));
    // IMMEDIATE takes the write lock up front: a deferred transaction that reads first could fail
    // with SQLITE_BUSY on upgrade if another process writes the same file.
    this.appendAllTx = (ms) => txAll.immediate(ms);
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
    return this.appendAllTx(ms);
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

  /** The highest seq stored in `conv`, 0 when it has no message. */
  head(conv: string): number {
    return this.stmt.head.get(conv)?.head ?? 0;
  }

  /** Returns the meta value of `key`, first storing `make()` if there is none (first writer wins). */
  metaOrInit(key: string, make: () => string): string {
    const existing = this.stmt.getMeta.get(key);
    if (existing) return existing.value;
    this.stmt.putMetaIfAbsent.run(key, make());
    return this.stmt.getMeta.get(key)!.value;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Statements are compiled once here, not per call. */
function prepare(db: Database.Database) {
  return {
    findByCmid: db.prepare<[string, string], { conv: string; seq: number; name: string; text: string; ts: number }>(
      'SELECT conv, seq, name, text, ts FROM messages WHERE sender = ? AND cmid = ?',
    ),
    bumpHead: db.prepare<[string], { head: number }>(
      'INSERT INTO conversations (id, head) VALUES (?, 1) ON CONFLICT (id) DO UPDATE SET head = head + 1 RETURNING head',
    ),
    insert: db.prepare<[string, number, string, string, string, string, number]>(
      'INSERT INTO messages (conv, seq, sender, name, cmid, text, ts) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    page: db.prepare<[string, number, number], Message>(
      'SELECT conv, seq, cmid, sender AS "from", name, text, ts FROM messages WHERE conv = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    head: db.prepare<[string], { head: number }>('SELECT head FROM conversations WHERE id = ?'),
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    putMetaIfAbsent: db.prepare<[string, string]>('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)'),
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
