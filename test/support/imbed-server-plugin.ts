/**
 * A @web/test-runner plugin that runs a real imbed server (own port, SQLite file in a temp dir) for
 * browser tests, and gives them one command, `imbed-server`, to drive it:
 * - `{ action: 'info' }` -> `{ url }`, the WebSocket URL;
 * - `{ action: 'token', user, name?, expiresIn? }` -> `{ token }`, also while the server is stopped;
 * - `{ action: 'stop', code? }` closes every socket (default 1012) and stops listening, keeping the database;
 * - `{ action: 'start' }` listens again on the same port with the same database;
 * - `{ action: 'drop' }` closes every client socket with 1012 but keeps listening;
 * - `{ action: 'start-limited', limits }` -> `{ url }`: a second server (same secret, own database, port
 *   0) enforcing `limits` over no limits at all; `{ action: 'stop-limited' }` closes it;
 * - `{ action: 'admin', method, path, body? }` calls the admin API (`/admin/v1/` + path) -> `{ status, body }`;
 * - `{ action: 'seed', conv, count }` -> `{ head }` stores `count` messages of varied length from `seeder` in
 *   one transaction, straight into the database (no live delivery), for tests of long histories;
 * - `{ action: 'backup' }` copies the database as `sqlite3 .backup` does, while the server runs;
 *   `{ action: 'restore' }` stops the server (1012), puts that copy in the database's place (its `-wal`
 *   and `-shm` gone), and starts it again: a restore as docs/deploy.md describes it.
 * The shared server enforces no rate, connection or repeat limits: tests send bursts of one user. Its
 * filter rejects texts holding `REFUSED_MARK` (refused-text.ts), and its `maxText` is 1000.
 * The server lives on its own port, so every browser test is also a cross-origin test.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createImbedServer, NO_LIMITS, type ImbedServer, type LimitsConfig, type MessageFilter } from '../../src/server/index.ts';
import { Auth } from '../../src/server/auth.ts';
import { Store } from '../../src/server/store.ts';
import { REFUSED_MARK } from './refused-text.ts';

interface Command {
  action: 'info' | 'token' | 'stop' | 'start' | 'drop' | 'start-limited' | 'stop-limited' | 'admin' | 'seed' | 'backup' | 'restore';
  /** For `seed`: the conversation and how many messages. */
  conv?: string;
  count?: number;
  /** For `start-limited`: the limits laid over none. */
  limits?: Partial<LimitsConfig>;
  user?: string;
  name?: string;
  code?: number;
  /** For `token`: seconds from now (negative: already expired) or a jose time span. */
  expiresIn?: string | number;
  /** For `admin`: the HTTP method, the path under `/admin/v1/` and the JSON body. */
  method?: string;
  path?: string;
  body?: unknown;
}

export function imbedServerPlugin() {
  const dir = mkdtempSync(join(tmpdir(), 'imbed-wtr-'));
  const db = join(dir, 'imbed.db');
  const backup = join(dir, 'backup.db');
  const secret = 'browser-test-secret-of-at-least-32-bytes';
  const adminSecret = 'browser-test-admin-secret-of-32-bytes-or-more';
  let server: ImbedServer | null = null;
  let limited: ImbedServer | null = null;
  let port = 0;
  /** A second connection to the shared database, for `seed`. */
  let seeder: Store | null = null;
  /** Signs as the server would, so a token can be had while the server is stopped without starting it. */
  const auth = new Auth({ secret });

  /** Refuses for good any text holding the mark: a message the server refuses however the client checked it. */
  const filter: MessageFilter = ({ text }) =>
    text.includes(REFUSED_MARK) ? { action: 'reject', reason: `the test server refuses texts marked ${REFUSED_MARK}` } : { action: 'allow' };

  async function start(): Promise<ImbedServer> {
    // maxText 1000 (below the protocol's 4000) lets client tests see the client take on the server's limit,
    // and a message queued before it was heard refused with TEXT_TOO_LONG.
    server = await createImbedServer({ port, host: '127.0.0.1', db, secret, adminSecret, dev: true, maxText: 1000, filter, limits: NO_LIMITS, log: () => {} });
    port = server.port;
    return server;
  }

  return {
    name: 'imbed-server',
    async serverStart() {
      await start();
    },
    async serverStop() {
      seeder?.close();
      await limited?.close();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    },
    async executeCommand({ command, payload }: { command: string; payload?: unknown }) {
      if (command !== 'imbed-server') return undefined;
      const p = (payload ?? {}) as Command;
      switch (p.action) {
        case 'info':
          return { url: `ws://127.0.0.1:${port}/ws` };
        case 'token':
          return { token: await auth.sign(p.user ?? 'alice', { name: p.name, expiresIn: p.expiresIn }) };
        case 'stop':
          await server?.close({ code: p.code ?? 1012 });
          server = null;
          return { ok: true };
        case 'start':
          if (!server) await start();
          return { ok: true };
        case 'drop':
          server?.dropConnections(p.code ?? 1012);
          return { ok: true };
        case 'start-limited':
          await limited?.close();
          limited = await createImbedServer({
            port: 0, host: '127.0.0.1', db: join(dir, `limited-${Date.now()}.db`), secret, dev: true,
            limits: { ...NO_LIMITS, ...p.limits }, log: () => {},
          });
          return { url: `ws://127.0.0.1:${limited.port}/ws` };
        case 'stop-limited':
          await limited?.close();
          limited = null;
          return { ok: true };
        case 'admin': {
          const res = await fetch(`http://127.0.0.1:${port}/admin/v1/${p.path ?? ''}`, {
            method: p.method ?? 'GET',
            headers: { Authorization: `Bearer ${adminSecret}`, 'Content-Type': 'application/json' },
            ...(p.body !== undefined && { body: JSON.stringify(p.body) }),
          });
          return { status: res.status, body: await res.json() };
        }
        case 'seed': {
          // Written beside the running server, which holds the database's lock.
          seeder ??= new Store(db, { shared: true });
          const conv = p.conv ?? 'seeded';
          const now = Date.now();
          const results = seeder.appendAll(Array.from({ length: p.count ?? 1 }, (_, i) => ({
            conv, from: 'seeder', name: 'Seeder', cmid: `seed-${conv}-${now}-${i}`, ts: now + i,
            // Lengths from one line to several, so bubbles differ in height.
            text: `seeded ${i + 1} ` + 'lorem ipsum dolor sit amet '.repeat(i % 7),
          })));
          return { head: results.at(-1)?.message.seq ?? 0 };
        }
        case 'backup': {
          const source = new Database(db, { readonly: true });
          try {
            await source.backup(backup);
          } finally {
            source.close();
          }
          return { ok: true };
        }
        case 'restore':
          await server?.close({ code: 1012 });
          server = null;
          seeder?.close();
          seeder = null;
          for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
          copyFileSync(backup, db);
          await start();
          return { ok: true };
        default:
          throw new Error(`unknown imbed-server action ${String(p.action)}`);
      }
    },
  };
}
