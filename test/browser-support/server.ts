/** Browser-side helpers for the `imbed-server` test-runner command (see test/support/imbed-server-plugin.ts). */
import { executeServerCommand } from '@web/test-runner-commands';

export async function serverUrl(): Promise<string> {
  return ((await executeServerCommand('imbed-server', { action: 'info' })) as { url: string }).url;
}

export async function tokenFor(user: string, name?: string): Promise<string> {
  return ((await executeServerCommand('imbed-server', { action: 'token', user, name })) as { token: string }).token;
}

/**
 * A token for `user` whose `exp` is `seconds` from now (negative: already past). Within 30 s past it is
 * still accepted, the server's clock tolerance: -28 gives a session of about 2 s.
 */
export async function tokenExpiringIn(user: string, seconds: number): Promise<string> {
  return ((await executeServerCommand('imbed-server', { action: 'token', user, expiresIn: seconds })) as { token: string }).token;
}

/** Stops the server (sockets closed with `code`, default 1012); the database is kept. */
export async function stopServer(code?: number): Promise<void> {
  await executeServerCommand('imbed-server', { action: 'stop', code });
}

export async function startServer(): Promise<void> {
  await executeServerCommand('imbed-server', { action: 'start' });
}

/** Closes every client socket from the server side; the server keeps listening. */
export async function dropConnections(code?: number): Promise<void> {
  await executeServerCommand('imbed-server', { action: 'drop', code });
}

/** Calls the test server's admin API (`/admin/v1/` + `path`), e.g. to create a conversation with members. */
export async function adminCall(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return (await executeServerCommand('imbed-server', { action: 'admin', method, path, body })) as { status: number; body: any };
}

/** Stores `count` messages ("seeded 1", "seeded 2", ...) in `conv` straight into the server's database; resolves with its head. */
export async function seedMessages(conv: string, count: number): Promise<number> {
  return ((await executeServerCommand('imbed-server', { action: 'seed', conv, count })) as { head: number }).head;
}

/** Copies the server's database while it runs, as a backup; `restoreBackup` puts the copy back. */
export async function backupDatabase(): Promise<void> {
  await executeServerCommand('imbed-server', { action: 'backup' });
}

/** Stops the server (1012), puts the copy `backupDatabase` made in the database's place, and starts it again. */
export async function restoreBackup(): Promise<void> {
  await executeServerCommand('imbed-server', { action: 'restore' });
}

/** A conversation id no other test uses. */
export function freshConv(prefix = 'c'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Resolves when `check` returns true, polling every 20 ms; rejects with `what` after `timeout` ms. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeout = 10_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
