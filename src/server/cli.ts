#!/usr/bin/env node
/**
 * `imbed-server`: runs the imbed server on its own port until SIGTERM/SIGINT (clients see 1001) or
 * SIGUSR2 (nodemon's restart signal; clients see 1012 and reconnect with a spread-out delay).
 */
import { parseArgs } from 'node:util';
import { CloseCode } from '../protocol/index.js';
import { createImbedServer } from './index.js';

const USAGE = `Usage: imbed-server [--port 8787] [--host 127.0.0.1] [--db ./data/imbed.db] [--dev]

Runs the imbed chat server: WebSocket endpoint at /ws, GET /healthz, /imbed.js and the demo pages.

Options:
  --port <n>    port to listen on; 0 picks a free one (default 8787)
  --host <h>    address to bind (default 127.0.0.1)
  --db <file>   SQLite database file, created if missing (default ./data/imbed.db)
  --dev         dev mode: GET /dev/token?user=NAME, and a generated token secret
                when IMBED_SECRET is not set
  -h, --help    show this help

Environment:
  IMBED_SECRET  HS256 secret your backend signs user tokens with (required without --dev)
`;

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '8787' },
        host: { type: 'string', default: '127.0.0.1' },
        db: { type: 'string', default: './data/imbed.db' },
        dev: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    console.error(`imbed-server: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    console.error(`imbed-server: --port must be an integer 0-65535, got ${JSON.stringify(values.port)}`);
    process.exit(2);
  }
  if (!values.dev && !process.env.IMBED_SECRET) {
    console.error('imbed-server: IMBED_SECRET is not set. Set it to the secret your backend signs user tokens with, or pass --dev for local use.');
    process.exit(1);
  }
  void start(port, values.host, values.db, values.dev);
}

async function start(port: number, host: string, db: string, dev: boolean): Promise<void> {
  let server;
  try {
    server = await createImbedServer({ port, host, db, dev });
  } catch (err) {
    console.error(`imbed-server: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  // The actual port, so `--port 0` tells its caller where to connect.
  const shownHost = host.includes(':') ? `[${host}]` : host;
  console.log(`imbed server on http://${shownHost}:${server.port} (ws path /ws)${dev ? ', dev mode' : ''}`);

  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    server.close({ code }).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`imbed-server: close failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop(CloseCode.GOING_AWAY));
  process.on('SIGINT', () => stop(CloseCode.GOING_AWAY));
  process.on('SIGUSR2', () => stop(CloseCode.SERVICE_RESTART));
}

main();
