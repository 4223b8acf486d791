/**
 * Shared helpers of the server tests: a server on port 0 over a SQLite file in a temp dir, and a
 * WebSocket client that records every frame so tests can wait for one of a type.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { PROTOCOL } from '../../src/protocol/index.ts';
import type { Cursor, ServerFrame } from '../../src/protocol/index.ts';
import { createImbedServer, NO_LIMITS, type ImbedServer, type ImbedServerOptions } from '../../src/server/index.ts';

export const SECRET = 'server-test-secret-of-at-least-32-bytes';

/** How long a helper waits for something that should happen before it fails the test. */
const WAIT_MS = 5000;

/** A temp dir holding a database path; `remove()` deletes it. */
export function tempDb(): { dir: string; db: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'imbed-server-test-'));
  return { dir, db: join(dir, 'imbed.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts a server on 127.0.0.1 port 0 with the test secret and no logging. Access is `open` unless a
 * test asks for `members`: most tests use conversations nobody created through the admin API. Rate,
 * connection and repeat limits are off unless `options.limits` says otherwise: many tests send bursts
 * of one user on purpose.
 */
export function startServer(db: string, options: Partial<ImbedServerOptions> = {}): Promise<ImbedServer> {
  return createImbedServer({ db, port: 0, host: '127.0.0.1', secret: SECRET, access: 'open', log: () => {}, limits: NO_LIMITS, ...options });
}

export function wsUrl(server: ImbedServer, path = '/ws'): string {
  return `ws://127.0.0.1:${server.port}${path}`;
}

type FrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

/** A ws client that keeps every frame it receives, in order, until a test takes it. */
export class TestClient {
  readonly ws: WebSocket;
  /** Frames received and not yet taken by `next`. */
  readonly inbox: ServerFrame[] = [];
  /** Every frame received, in arrival order, whether taken or not. */
  readonly received: ServerFrame[] = [];
  /** Resolves with the close code and reason once the socket has closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  private wake: (() => void) | null = null;

  constructor(url: string, protocols: string | string[] | undefined = PROTOCOL) {
    this.ws = new WebSocket(url, protocols);
    this.ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      this.inbox.push(frame);
      this.received.push(frame);
      this.wake?.();
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake?.();
      });
    });
    this.ws.on('error', () => {});
  }

  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Takes the first received frame of `type` (earlier frames of other types stay in the inbox). */
  async next<T extends ServerFrame['type']>(type: T): Promise<FrameOf<T>> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const i = this.inbox.findIndex((f) => f.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as FrameOf<T>;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${type}`);
      if (Date.now() > deadline) throw new Error(`no ${type} frame within ${WAIT_MS} ms; inbox: ${JSON.stringify(this.inbox)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Takes the first `n` received frames of `type`, in arrival order. */
  async take<T extends ServerFrame['type']>(type: T, n: number): Promise<FrameOf<T>[]> {
    const out: FrameOf<T>[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(type));
    return out;
  }

  /** A ping/pong round trip: every frame sent before it has been handled once this resolves. */
  async roundTrip(): Promise<void> {
    const ref = `rt-${Math.random().toString(36).slice(2)}`;
    this.send({ type: 'ping', ref });
    for (;;) {
      const pong = await this.next('pong');
      if (pong.ref === ref) return;
    }
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

/** Opens a client and completes hello/welcome as `user`. */
export async function openSession(
  server: ImbedServer,
  user: string,
  convs: Cursor[] = [],
  opts: { name?: string } = {},
): Promise<{ client: TestClient; welcome: FrameOf<'welcome'> }> {
  const client = new TestClient(wsUrl(server));
  await client.opened();
  client.send({ type: 'hello', token: await server.signToken(user, opts), convs });
  const welcome = await client.next('welcome');
  return { client, welcome };
}

/** Opens a WebSocket by hand and then never answers anything, like a frozen peer. */
export function frozenPeer(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${PROTOCOL}\r\n\r\n`,
      );
    });
    socket.once('data', (chunk) => (String(chunk).startsWith('HTTP/1.1 101') ? resolve(socket) : reject(new Error(String(chunk)))));
    socket.on('error', () => {});
  });
}

/** A valid cmid, unique per call within a test run. */
let cmidCounter = 0;
export function newCmid(prefix = 'cmid'): string {
  cmidCounter++;
  return `${prefix}-${process.pid}-${cmidCounter.toString().padStart(6, '0')}`;
}

/** A token signed with the test secret, for servers started in another process. */
export function signTestToken(user: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
}

const CLI = fileURLToPath(new URL('../../src/server/cli.ts', import.meta.url));

/** The CLI running in a child process; `stdout`/`stderr` collect its output. */
export interface CliProcess {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (or the signal that ended it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `imbed-server` with `args` through tsx. `env` is added to this process's environment without IMBED_SECRET. */
export function runCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const { IMBED_SECRET: _drop, ...base } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: CliProcess = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (proc.stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (proc.stderr += chunk));
  return proc;
}

/** Waits for the CLI's start line and returns the port it printed. */
export async function cliPort(proc: CliProcess): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const match = /imbed server on http:\/\/[^\s:]+:(\d+) \(ws path \/ws\)/.exec(proc.stdout);
    if (match) return Number(match[1]);
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`CLI exited: ${proc.stderr}`);
    if (Date.now() > deadline) throw new Error(`CLI did not start: ${proc.stdout} ${proc.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
