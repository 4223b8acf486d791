/**
 * A @web/test-runner plugin that runs a real imbed server (own port, SQLite file in a temp dir) for
 * browser tests, and gives them one command, `imbed-server`, to drive it:
 * - `{ action: 'info' }` -> `{ url }`, the WebSocket URL;
 * - `{ action: 'token', user, name?, expiresIn? }` -> `{ token }`;
 * - `{ action: 'stop', code? }` closes every socket (default 1012) and stops listening, keeping the database;
 * - `{ action: 'start' }` listens again on the same port with the same database;
 * - `{ action: 'drop' }` closes every client socket with 1012 but keeps listening.
 * The server lives on its own port, so every browser test is also a cross-origin test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createImbedServer, type ImbedServer } from '../../src/server/index.ts';

interface Command {
  action: 'info' | 'token' | 'stop' | 'start' | 'drop';
  user?: string;
  name?: string;
  code?: number;
  /** For `token`: seconds from now (negative: already expired) or a jose time span. */
  expiresIn?: string | number;
}

export function imbedServerPlugin() {
  const dir = mkdtempSync(join(tmpdir(), 'imbed-wtr-'));
  const db = join(dir, 'imbed.db');
  const secret = 'browser-test-secret';
  let server: ImbedServer | null = null;
  let port = 0;

  async function start(): Promise<ImbedServer> {
    // maxText 1000 (below the protocol's 4000) lets client tests see a server-side TEXT_TOO_LONG refusal.
    server = await createImbedServer({ port, host: '127.0.0.1', db, secret, dev: true, maxText: 1000, log: () => {} });
    port = server.port;
    return server;
  }

  return {
    name: 'imbed-server',
    async serverStart() {
      await start();
    },
    async serverStop() {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    },
    async executeCommand({ command, payload }: { command: string; payload?: unknown }) {
      if (command !== 'imbed-server') return undefined;
      const p = (payload ?? {}) as Command;
      switch (p.action) {
        case 'info':
          return { url: `ws://127.0.0.1:${port}/ws` };
        case 'token': {
          const s = server ?? (await start());
          return { token: await s.signToken(p.user ?? 'alice', { name: p.name, expiresIn: p.expiresIn }) };
        }
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
        default:
          throw new Error(`unknown imbed-server action ${String(p.action)}`);
      }
    },
  };
}
