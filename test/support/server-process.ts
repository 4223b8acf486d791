/**
 * The imbed server as a child process (the built CLI, `dist/node/server/cli.js`), for tests that kill it
 * with SIGKILL or restart it on the same database and port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = join(root, 'dist/node/server/cli.js');

/** A port that was free a moment ago (the server must keep one port across restarts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export class ServerProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'imbed-proc-'));
  readonly db = join(this.dir, 'imbed.db');
  readonly secret = 'e2e-secret-' + randomBytes(24).toString('base64url');
  port = 0;
  private child: ChildProcess | null = null;
  output = '';

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** The running server's process id, or null when it is not running (e.g. to read its CPU time). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /**
   * A token for `user` signed with this server's secret, as a customer's backend would issue it
   * (`name` claim, two hours, long enough for the longest chaos run).
   */
  token(user: string, name: string = user): Promise<string> {
    return new SignJWT({ name })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user)
      .setExpirationTime('2h')
      .sign(new TextEncoder().encode(this.secret));
  }

  /** Starts the CLI in dev mode and resolves once it listens. */
  async start(): Promise<void> {
    if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` first`);
    if (!this.port) this.port = await freePort();
    // --no-limits: the scenarios, the chaos run and the bench push bursts of one user far beyond what
    // a person sends; the limits have tests of their own (test/server/limits.test.ts).
    const child = spawn(process.execPath, [cliPath, '--dev', '--no-limits', '--port', String(this.port), '--host', '127.0.0.1', '--db', this.db], {
      env: { ...process.env, IMBED_SECRET: this.secret },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        this.output += chunk.toString();
        if (this.output.includes('imbed server on')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${this.output}`)));
    });
  }

  /** SIGKILL: no shutdown code, no close frames; the sockets just die. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Graceful stop (SIGTERM: clients see 1001). */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(sig);
    await exited;
    this.child = null;
  }

  async dispose(): Promise<void> {
    await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
