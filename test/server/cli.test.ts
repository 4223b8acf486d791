import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { cliPort, frozenPeer, runCli, SECRET, tempDb, TestClient, signTestToken } from './helpers.ts';

describe('imbed-server CLI', () => {
  const tmp = tempDb();
  after(() => tmp.remove());

  it('prints usage for --help and exits 0', async () => {
    const proc = runCli(['--help']);
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
    assert.match(proc.stdout, /Usage: imbed-server/);
    assert.match(proc.stdout, /IMBED_SECRET/);
  });

  it('prints the version of the package for --version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const proc = runCli(['--version']);
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
    assert.equal(proc.stdout, `${version}\n`);
  });

  it('exits 2 with a message on an unknown flag', async () => {
    const proc = runCli(['--prot', '1']);
    assert.equal((await proc.exited).code, 2);
    assert.match(proc.stderr, /--prot/);
  });

  it('exits 2 on a port that is not a number', async () => {
    const proc = runCli(['--port', 'abc', '--dev', '--db', `${tmp.dir}/a.db`]);
    assert.equal((await proc.exited).code, 2);
    assert.match(proc.stderr, /--port/);
  });

  it('exits 2 on an empty or in-memory --db or an empty --host instead of opening a database that forgets or binding every interface', async () => {
    for (const args of [['--db', ''], ['--db='], ['--db', ':memory:'], ['--host', '', '--db', `${tmp.dir}/host.db`]]) {
      const proc = runCli(['--port', '0', '--dev', ...args]);
      const started = new Promise<string>((resolve) => proc.child.stdout!.on('data', () => proc.stdout.includes('imbed server on') && resolve('started')));
      const outcome = await Promise.race([proc.exited.then(({ code }) => code), started]);
      proc.child.kill('SIGKILL');
      assert.equal(outcome, 2, JSON.stringify(args));
      assert.match(proc.stderr, args[0].startsWith('--db') ? /--db must name a database file/ : /--host must be an address/, JSON.stringify(args));
    }
  });

  it('exits 1 naming the database file when --db is a directory, not a database, or locked by another process', async () => {
    const folder = `${tmp.dir}/a-folder.db`;
    mkdirSync(folder);
    const text = `${tmp.dir}/notes.txt`;
    writeFileSync(text, 'not a database\n');
    for (const [db, message] of [
      [folder, /cannot open the database .*a-folder\.db \(unable to open database file\): it must be a file/],
      [text, /notes\.txt is not an SQLite database \(file is not a database\)/],
    ] as const) {
      const proc = runCli(['--port', '0', '--dev', '--db', db]);
      assert.equal((await proc.exited).code, 1, db);
      assert.match(proc.stderr, message, db);
    }

    const locked = `${tmp.dir}/locked.db`;
    const holder = new Database(locked);
    holder.pragma('journal_mode = WAL');
    holder.exec('BEGIN IMMEDIATE');
    try {
      const proc = runCli(['--port', '0', '--dev', '--db', locked]);
      assert.equal((await proc.exited).code, 1);
      assert.match(proc.stderr, /the database .*locked\.db is locked \(database is locked\): another process holds it .*only one imbed server may use a database/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('exits 1 naming the file when --tls-cert and --tls-key are swapped, not PEM, or do not belong together', async () => {
    const cert = fileURLToPath(new URL('./fixtures/localhost-cert.pem', import.meta.url));
    const key = fileURLToPath(new URL('./fixtures/localhost-key.pem', import.meta.url));
    const junk = `${tmp.dir}/junk.pem`;
    writeFileSync(junk, 'not PEM\n');
    const otherKey = `${tmp.dir}/other-key.pem`;
    writeFileSync(otherKey, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    for (const [certFile, keyFile, message] of [
      [key, cert, /--tls-cert .*localhost-key\.pem is not a PEM certificate \(.*\); --tls-cert takes the certificate chain, --tls-key the private key/],
      [cert, junk, /--tls-key .*junk\.pem is not a PEM private key/],
      [cert, otherKey, /--tls-key .*other-key\.pem is not the private key of the certificate in --tls-cert .*localhost-cert\.pem/],
    ] as const) {
      const proc = runCli(['--port', '0', '--dev', '--db', `${tmp.dir}/tls.db`, '--tls-cert', certFile, '--tls-key', keyFile]);
      assert.equal((await proc.exited).code, 1, keyFile);
      assert.match(proc.stderr, message, keyFile);
    }
  });

  it('exits 2 on a heartbeat below one second', async () => {
    const proc = runCli(['--heartbeat', '10', '--dev', '--db', `${tmp.dir}/hb.db`]);
    assert.equal((await proc.exited).code, 2);
    assert.match(proc.stderr, /--heartbeat/);
  });

  it('states the --heartbeat interval in welcome', async () => {
    const proc = runCli(['--port', '0', '--db', `${tmp.dir}/hb2.db`, '--heartbeat', '5000'], { IMBED_SECRET: SECRET });
    const port = await cliPort(proc);
    const client = new TestClient(`ws://127.0.0.1:${port}/ws`);
    await client.opened();
    client.send({ type: 'hello', token: await signTestToken('alice'), convs: [] });
    assert.equal((await client.next('welcome')).heartbeat, 5000);
    proc.child.kill('SIGTERM');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
  });

  it('exits 2 on a commit interval that is not a whole number of ms up to 1000', async () => {
    for (const value of ['-5', '2.5', 'soon', '1001']) {
      const proc = runCli([`--commit-interval=${value}`, '--dev', '--db', `${tmp.dir}/ci.db`]);
      assert.equal((await proc.exited).code, 2, value);
      assert.match(proc.stderr, /--commit-interval must be an integer from 0 to 1000/, value);
    }
  });

  it('exits 2 naming the flag on a limit that is not a whole number a limit can hold', async () => {
    for (const [flag, value] of [['--frames-per-second', '-1'], ['--messages-per-minute', 'NaN'], ['--connections-per-ip', '9'.repeat(400)], ['--refusals-per-ip', '-1'], ['--max-identical', '9007199254740993']]) {
      const proc = runCli([`${flag}=${value}`, '--port', '0', '--dev', '--db', `${tmp.dir}/limit.db`]);
      const started = new Promise<string>((resolve) => proc.child.stdout!.on('data', () => proc.stdout.includes('imbed server on') && resolve('started')));
      const outcome = await Promise.race([proc.exited.then(({ code }) => code), started]);
      proc.child.kill('SIGKILL');
      assert.equal(outcome, 2, flag);
      assert.match(proc.stderr, new RegExp(`${flag} must be an integer >= 0`), flag);
    }
  });

  it('stores and acknowledges with --commit-interval', async () => {
    await withCliClient(['--db', `${tmp.dir}/ci2.db`, '--commit-interval', '20'], async (client) => {
      for (const cmid of ['cmid-interval-1', 'cmid-interval-2']) client.send({ type: 'send', conv: 'c', cmid, text: cmid });
      assert.deepEqual([(await client.next('sent')).seq, (await client.next('sent')).seq], [1, 2]);
    });
  });

  it('lets a message rate given with --no-limits start with the burst of 30 its help states', async () => {
    await withCliClient(['--db', `${tmp.dir}/burst.db`, '--no-limits', '--messages-per-minute', '600'], async (client) => {
      const cmids = Array.from({ length: 31 }, (_, i) => `cmid-burst-${i}`);
      for (const cmid of cmids) client.send({ type: 'send', conv: 'c', cmid, text: cmid });
      await client.roundTrip();
      const answers = client.inbox.filter((f) => f.type === 'sent' || f.type === 'error');
      assert.deepEqual(answers.map((f) => (f.type === 'sent' ? 'sent' : f.code)), [...Array<string>(30).fill('sent'), 'RATE_LIMITED']);
    });
  });

  it('exits 1 naming the database when another server runs on it, and starts on it once that one was killed', async () => {
    const db = `${tmp.dir}/one-server.db`;
    const first = runCli(['--port', '0', '--dev', '--db', db], { IMBED_SECRET: SECRET });
    try {
      await cliPort(first);
      const second = runCli(['--port', '0', '--dev', '--db', db], { IMBED_SECRET: SECRET });
      const started = await cliPort(second).then(() => true, () => false);
      if (started) second.child.kill('SIGKILL');
      assert.equal(started, false, 'a second server started on the database');
      assert.equal((await second.exited).code, 1);
      assert.match(second.stderr, /another imbed server is using the database .*one-server\.db \(it holds .*one-server\.db\.lock\): stop it first/);
    } finally {
      // Killed with no chance to clean up: the lock file stays, the lock does not.
      first.child.kill('SIGKILL');
      await first.exited;
    }
    const third = runCli(['--port', '0', '--dev', '--db', db], { IMBED_SECRET: SECRET });
    await cliPort(third);
    third.child.kill('SIGTERM');
    assert.deepEqual(await third.exited, { code: 0, signal: null });
  });

  /**
   * Runs `imbed-server --dev --port 0` with `args`, and `use` with a client welcomed as alice in
   * conversation `c`; then stops it with SIGTERM, which must end it with 0.
   */
  async function withCliClient(args: string[], use: (client: TestClient) => Promise<void>): Promise<void> {
    const proc = runCli(['--port', '0', '--dev', ...args], { IMBED_SECRET: SECRET });
    try {
      const port = await cliPort(proc);
      const client = new TestClient(`ws://127.0.0.1:${port}/ws`);
      await client.opened();
      client.send({ type: 'hello', token: await signTestToken('alice'), convs: [{ conv: 'c', after: 0 }] });
      await client.next('welcome');
      await use(client);
    } catch (err) {
      proc.child.kill('SIGKILL');
      throw new Error(`${String(err)}\nstdout: ${proc.stdout}\nstderr: ${proc.stderr}`);
    }
    proc.child.kill('SIGTERM');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
  }

  it('exits 1 naming IMBED_SECRET when started without it outside dev mode', async () => {
    const proc = runCli(['--port', '0', '--db', `${tmp.dir}/b.db`]);
    assert.equal((await proc.exited).code, 1);
    assert.match(proc.stderr, /IMBED_SECRET/);
  });

  it('prints the actual port, the version and the database schema as it starts, and closes clients with 1001 on SIGTERM, exiting 0', async () => {
    const proc = runCli(['--port', '0', '--db', `${tmp.dir}/c.db`, '--dev'], { IMBED_SECRET: SECRET });
    const port = await cliPort(proc);
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const db = new Database(`${tmp.dir}/c.db`, { readonly: true });
    const schema = db.pragma('user_version', { simple: true }) as number;
    db.close();
    const line = `imbed server on http://127.0.0.1:${port} (ws path /ws), version ${version}, database schema ${schema}, dev mode`;
    assert.ok(proc.stdout.split('\n').includes(line), proc.stdout);
    const client = new TestClient(`ws://127.0.0.1:${port}/ws`);
    await client.opened();
    client.send({ type: 'hello', token: await signTestToken('alice'), convs: [] });
    await client.next('welcome');
    proc.child.kill('SIGTERM');
    assert.equal((await client.closed).code, 1001);
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
  });

  it('exits at once with 130 on a second signal while it waits for a client to answer its close', async () => {
    const proc = runCli(['--port', '0', '--db', `${tmp.dir}/twice.db`], { IMBED_SECRET: SECRET });
    const peer = await frozenPeer(await cliPort(proc));
    try {
      const closing = new Promise((resolve) => peer.once('data', resolve));
      proc.child.kill('SIGTERM');
      // The peer has its close frame, so the first signal is being handled; it never answers.
      await closing;
      proc.child.kill('SIGINT');
      assert.deepEqual(await proc.exited, { code: 130, signal: null });
      assert.match(proc.stderr, /SIGINT while stopping/);
    } finally {
      peer.destroy();
    }
  });

  it('closes clients with 1012 on SIGUSR2 (restart), exiting 0', async () => {
    const proc = runCli(['--port', '0', '--db', `${tmp.dir}/d.db`], { IMBED_SECRET: SECRET });
    const port = await cliPort(proc);
    assert.doesNotMatch(proc.stdout, /dev mode/);
    const client = new TestClient(`ws://127.0.0.1:${port}/ws`);
    await client.opened();
    client.send({ type: 'hello', token: await signTestToken('alice'), convs: [] });
    await client.next('welcome');
    proc.child.kill('SIGUSR2');
    assert.equal((await client.closed).code, 1012);
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
  });

  it('verifies with --public-key-file and --audience instead of IMBED_SECRET, warning that IMBED_SECRET is ignored', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const pem = `${tmp.dir}/imbed-pub.pem`;
    writeFileSync(pem, await exportSPKI(publicKey));
    const proc = runCli(['--port', '0', '--db', `${tmp.dir}/e.db`, '--public-key-file', pem, '--audience', 'imbed'], { IMBED_SECRET: SECRET });
    const port = await cliPort(proc);
    assert.match(proc.stdout, /warning: IMBED_SECRET is set but ignored: the public key given \(publicKey, --public-key-file\) is the token key source/);
    const token = (aud: string) =>
      new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('alice').setAudience(aud).setExpirationTime('1h').sign(privateKey);
    const ok = new TestClient(`ws://127.0.0.1:${port}/ws`);
    await ok.opened();
    ok.send({ type: 'hello', token: await token('imbed'), convs: [] });
    assert.equal((await ok.next('welcome')).user, 'alice');
    const wrongAudience = new TestClient(`ws://127.0.0.1:${port}/ws`);
    await wrongAudience.opened();
    wrongAudience.send({ type: 'hello', token: await token('another-app'), convs: [] });
    assert.equal((await wrongAudience.next('error')).code, 'TOKEN_CLAIMS');
    assert.equal((await wrongAudience.closed).code, 4003);
    const secretSigned = new TestClient(`ws://127.0.0.1:${port}/ws`);
    await secretSigned.opened();
    secretSigned.send({ type: 'hello', token: await signTestToken('alice'), convs: [] });
    assert.equal((await secretSigned.next('error')).code, 'TOKEN_INVALID');
    await ok.close();
    proc.child.kill('SIGTERM');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
  });
});
