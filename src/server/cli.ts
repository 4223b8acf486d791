#!/usr/bin/env node
/**
 * `imbed-server`: runs the imbed server on its own port until SIGTERM/SIGINT (clients see 1001) or
 * SIGUSR2 (nodemon's restart signal; clients see 1012 and reconnect with a spread-out delay). A second
 * SIGTERM/SIGINT exits without waiting for clients.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloseCode } from '../protocol/index.js';
import { isAccessMode } from './access.js';
import { createImbedServer, DEFAULT_LIMITS, NO_LIMITS, parseWordList, wordListFilter, type ImbedServerOptions, type LimitsConfig } from './index.js';
import { packageRoot } from './http.js';
import { parseOriginList } from './origins.js';
import { SCHEMA_VERSION } from './store.js';

const USAGE = `Usage: imbed-server [--port 8787] [--host 127.0.0.1] [--db ./data/imbed.db] [--dev]

Runs the imbed chat server: WebSocket endpoint at /ws, GET /healthz and /imbed.js (and its parts).

Options:
  --port <n>    port to listen on; 0 picks a free one (default 8787)
  --host <h>    address to bind (default 127.0.0.1)
  --db <file>   SQLite database file, created if missing (default ./data/imbed.db)
  --dev         dev mode: GET /dev/token?user=NAME, the demo pages at /, and a
                generated token secret when no token key source is set
  --origin <list>
                web pages allowed to connect, comma-separated origins such as
                https://app.example or https://*.shop.example, or * for any
                (default: any in dev mode, else only this server's own origin)
  --tls-cert <file>, --tls-key <file>
                serve https/wss with this PEM certificate chain and key
  --public-key-file <pem>
                verify RS256/ES256 (also PS256, ES384, EdDSA) tokens with this
                PEM public key (SPKI) instead of a secret
  --jwks-url <url>
                verify tokens with the keys of this JWKS (your identity provider)
  --audience <aud>
                refuse tokens whose aud claim is not this
  --issuer <iss>
                refuse tokens whose iss claim is not this
  --heartbeat <ms>
                ping interval asked of clients (default 15000); a socket silent
                for three intervals is dropped
  --commit-interval <ms>
                least time between two group commits (default 0: every turn
                of the event loop commits what arrived); a few ms saves CPU
                per delivered message under load, at up to that much latency
  --access members|open
                who may use a conversation: members only of conversations
                created with the admin API (default), or also everyone in
                conversations never created there (default with --dev);
                see docs/admin-api.md
  --frames-per-second <n>
                frames one connection may send per second, bursts of twice
                that (default 20; 0 = no limit)
  --messages-per-minute <n>
                messages one user may send per minute over all connections,
                after a burst of 30 (default 60; 0 = no limit)
  --connections-per-user <n>
                open connections per user (default 20; 0 = no limit)
  --connections-per-ip <n>
                open connections per client address (default 100; 0 = no limit)
  --refusals-per-ip <n>
                connections of one client address that may be refused at hello
                (bad token, no hello) per minute; past it its connections are
                refused at once for a while (default 100; 0 = no limit)
  --max-identical <n>
                most messages with the same text per user within 30 s; more
                are refused as spam (default 3; 0 = no limit)
  --no-limits   turn every limit above off (load tests)
  --trust-proxy count connections by the last X-Forwarded-For address (the one
                your proxy saw); only behind a proxy that sets it
  --block-words <file>
                refuse messages containing a word of this file (one per line,
                # starts a comment); whole words, any case
  --mask-words  with --block-words: replace those words' letters with * instead
  --version     print the version of imbed and exit
  -h, --help    show this help

Environment:
  IMBED_SECRET  HS256 secret your backend signs user tokens with; one token key
                source is required without --dev (see docs/auth.md)
  IMBED_PUBLIC_KEY, IMBED_JWKS_URL
                the other key sources: PEM text, or a JWKS URL
  IMBED_AUDIENCE, IMBED_ISSUER
                as for --audience and --issuer
  IMBED_ORIGINS the origin allowlist, as for --origin
  IMBED_ADMIN_SECRET
                bearer secret of the admin API at /admin/v1/ (off without it;
                an environment variable only, so it never shows in ps)
`;

/** The version of the imbed package this server is, from its package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Flags that set one limit each, and the limit they set. */
const LIMIT_FLAGS = [
  ['frames-per-second', 'framesPerSecond'],
  ['messages-per-minute', 'messagesPerMinute'],
  ['connections-per-user', 'connectionsPerUser'],
  ['connections-per-ip', 'connectionsPerIp'],
  ['refusals-per-ip', 'refusalsPerIp'],
  ['max-identical', 'identicalTexts'],
] as const satisfies ReadonlyArray<readonly [string, keyof LimitsConfig]>;

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '8787' },
        host: { type: 'string', default: '127.0.0.1' },
        db: { type: 'string', default: './data/imbed.db' },
        dev: { type: 'boolean', default: false },
        origin: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'public-key-file': { type: 'string' },
        'jwks-url': { type: 'string' },
        audience: { type: 'string' },
        issuer: { type: 'string' },
        access: { type: 'string' },
        heartbeat: { type: 'string' },
        'commit-interval': { type: 'string' },
        'frames-per-second': { type: 'string' },
        'messages-per-minute': { type: 'string' },
        'connections-per-user': { type: 'string' },
        'connections-per-ip': { type: 'string' },
        'refusals-per-ip': { type: 'string' },
        'max-identical': { type: 'string' },
        'no-limits': { type: 'boolean', default: false },
        'trust-proxy': { type: 'boolean', default: false },
        'block-words': { type: 'string' },
        'mask-words': { type: 'boolean', default: false },
        version: { type: 'boolean', default: false },
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
  if (values.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    console.error(`imbed-server: --port must be an integer 0-65535, got ${JSON.stringify(values.port)}`);
    process.exit(2);
  }
  // SQLite takes an empty path for a temporary database, deleted when it closes, and `:memory:` for one
  // in memory: either way every acknowledged message would be lost at the next restart.
  if (values.db === '' || values.db === ':memory:') {
    console.error(`imbed-server: --db must name a database file, got ${JSON.stringify(values.db)}`);
    process.exit(2);
  }
  // Node binds an empty host to every interface, the opposite of leaving --host out.
  if (values.host === '') {
    console.error('imbed-server: --host must be an address to bind, such as 127.0.0.1 or 0.0.0.0, got ""');
    process.exit(2);
  }
  const keySources = [values['public-key-file'], values['jwks-url'], process.env.IMBED_SECRET, process.env.IMBED_PUBLIC_KEY, process.env.IMBED_JWKS_URL];
  if (!values.dev && !keySources.some((source) => source)) {
    console.error(
      'imbed-server: no token key source. Set IMBED_SECRET to the secret your backend signs user tokens with, or pass --public-key-file or --jwks-url (docs/auth.md), or pass --dev for local use.',
    );
    process.exit(1);
  }
  const options: ImbedServerOptions = { port, host: values.host, db: values.db, dev: values.dev };
  if (values['public-key-file'] !== undefined) {
    try {
      options.publicKey = readFileSync(values['public-key-file'], 'utf8');
    } catch (err) {
      console.error(`imbed-server: cannot read the public key: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    }
  }
  if (values['jwks-url'] !== undefined) options.jwksUrl = values['jwks-url'];
  if (values.audience !== undefined) options.audience = values.audience;
  if (values.issuer !== undefined) options.issuer = values.issuer;
  if (values.origin !== undefined) options.origins = parseOriginList(values.origin);
  if (values.access !== undefined) {
    if (!isAccessMode(values.access)) {
      console.error(`imbed-server: --access must be members or open, got ${JSON.stringify(values.access)}`);
      process.exit(2);
    }
    options.access = values.access;
  }
  if (values.heartbeat !== undefined) {
    const heartbeat = Number(values.heartbeat);
    if (!/^\d+$/.test(values.heartbeat) || heartbeat < 1000 || heartbeat > 3_600_000) {
      console.error(`imbed-server: --heartbeat must be an integer from 1000 to 3600000 (ms), got ${JSON.stringify(values.heartbeat)}`);
      process.exit(2);
    }
    options.heartbeatInterval = heartbeat;
  }
  const commitInterval = values['commit-interval'];
  if (commitInterval !== undefined) {
    if (!/^\d+$/.test(commitInterval) || Number(commitInterval) > 1000) {
      console.error(`imbed-server: --commit-interval must be an integer from 0 to 1000 (ms), got ${JSON.stringify(commitInterval)}`);
      process.exit(2);
    }
    options.commitInterval = Number(commitInterval);
  }
  options.limits = values['no-limits'] ? { ...NO_LIMITS } : {};
  for (const [flag, key] of LIMIT_FLAGS) {
    const value = values[flag];
    if (value === undefined) continue;
    // A string of digits too long for a number would become Infinity or lose its last digits.
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      console.error(`imbed-server: --${flag} must be an integer >= 0, got ${JSON.stringify(value)}`);
      process.exit(2);
    }
    // A limit given on top of --no-limits takes what goes with it from the defaults, as the help states
    // it: the 30 s window of --max-identical, the burst of 30 of --messages-per-minute.
    if (key === 'identicalTexts') options.limits.identicalTexts = { ...DEFAULT_LIMITS.identicalTexts, count: Number(value) };
    else options.limits[key] = Number(value);
    if (key === 'messagesPerMinute') options.limits.messagesBurst = DEFAULT_LIMITS.messagesBurst;
  }
  options.trustProxy = values['trust-proxy'];
  if (values['block-words'] !== undefined) {
    try {
      const words = parseWordList(readFileSync(values['block-words'], 'utf8'));
      options.filter = wordListFilter(words, { mode: values['mask-words'] ? 'mask' : 'reject' });
    } catch (err) {
      console.error(`imbed-server: cannot read the word list: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    }
  } else if (values['mask-words']) {
    console.error('imbed-server: --mask-words needs --block-words');
    process.exit(2);
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    console.error('imbed-server: --tls-cert and --tls-key go together');
    process.exit(2);
  }
  if (values['tls-cert'] !== undefined && values['tls-key'] !== undefined) options.tls = readTls(values['tls-cert'], values['tls-key']);
  void start(options);
}

/**
 * The certificate chain and private key of these files, or an exit naming the file at fault: Node's own
 * error for either ("PEM routines::no start line") says neither which file it read nor that the two may
 * be swapped.
 */
function readTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const fail = (message: string): never => {
    console.error(`imbed-server: ${message}`);
    process.exit(1);
  };
  const why = (err: unknown) => (err instanceof Error ? err.message : String(err));
  let cert: Buffer, key: Buffer;
  try {
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  } catch (err) {
    return fail(`cannot read the TLS files: ${why(err)}`);
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (err) {
    return fail(`--tls-cert ${certFile} is not a PEM certificate (${why(err)}); --tls-cert takes the certificate chain, --tls-key the private key`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    return fail(`--tls-key ${keyFile} is not a PEM private key (${why(err)}); --tls-cert takes the certificate chain, --tls-key the private key`);
  }
  if (!certificate.checkPrivateKey(privateKey)) fail(`--tls-key ${keyFile} is not the private key of the certificate in --tls-cert ${certFile}`);
  return { cert, key };
}

async function start(options: ImbedServerOptions): Promise<void> {
  const { host = '127.0.0.1', dev = false } = options;
  let server;
  try {
    server = await createImbedServer(options);
  } catch (err) {
    console.error(`imbed-server: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  // The actual port, so `--port 0` tells its caller where to connect.
  const shownHost = host.includes(':') ? `[${host}]` : host;
  // The version and schema, so a log tells which server ran on which database (docs/deploy.md, Upgrading).
  console.log(`imbed server on ${options.tls ? 'https' : 'http'}://${shownHost}:${server.port} (ws path /ws), version ${packageVersion()}, database schema ${SCHEMA_VERSION}${dev ? ', dev mode' : ''}`);

  let stopping = false;
  /**
   * Closes the server and exits (0, or 1 if closing failed). A SIGINT or SIGTERM while it closes exits
   * at once: a person pressing Ctrl-C again, or a supervisor done waiting, wants the process gone now.
   * Its code is 128 + the signal's number (130, 143), what a shell reports for a process that signal
   * ended, so the stop is never taken for a clean one. Nothing acknowledged is lost: a message is
   * committed before its ack. A second SIGUSR2 asks for the restart already under way and is ignored.
   */
  const stop = (code: number, signal: NodeJS.Signals) => {
    if (stopping) {
      if (signal === 'SIGUSR2') return;
      console.error(`imbed-server: ${signal} while stopping, exiting without waiting for clients`);
      process.exit(128 + constants.signals[signal]);
    }
    stopping = true;
    server.close({ code }).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`imbed-server: close failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop(CloseCode.GOING_AWAY, 'SIGTERM'));
  process.on('SIGINT', () => stop(CloseCode.GOING_AWAY, 'SIGINT'));
  process.on('SIGUSR2', () => stop(CloseCode.SERVICE_RESTART, 'SIGUSR2'));
}

main();
