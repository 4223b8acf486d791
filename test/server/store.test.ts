import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSqlite, Store } from '../../src/server/store.ts';
import { tempDb } from './helpers.ts';

describe('Store', () => {
  let tmp: ReturnType<typeof tempDb>;
  let store: Store;
  const message = (cmid: string, from = 'alice', conv = 'c') => ({ conv, cmid, from, name: from, text: `t-${cmid}`, ts: 1000 });

  beforeEach(() => {
    tmp = tempDb();
    store = new Store(tmp.db);
  });
  afterEach(() => {
    store.close();
    tmp.remove();
  });

  it('numbers messages per conversation from 1', () => {
    assert.equal(store.append(message('m-000001')).message.seq, 1);
    assert.equal(store.append(message('m-000002')).message.seq, 2);
    assert.equal(store.append(message('m-000003', 'alice', 'other')).message.seq, 1);
    assert.deepEqual([store.head('c'), store.head('other'), store.head('none')], [2, 1, 0]);
  });

  it('returns the original message for a repeated (sender, cmid), even with other content', () => {
    const first = store.append(message('m-000001'));
    const again = store.append({ ...message('m-000001', 'alice', 'elsewhere'), text: 'changed', ts: 2000 });
    assert.deepEqual(again, { dup: true, message: first.message });
    assert.equal(store.head('elsewhere'), 0);
  });

  it('pages with more until the end', () => {
    for (let i = 1; i <= 5; i++) store.append(message(`m-00000${i}`));
    const page = store.page('c', 0, 2);
    assert.deepEqual([page.msgs.map((m) => m.seq), page.more, page.head], [[1, 2], true, 5]);
    assert.deepEqual(page.msgs[0], { conv: 'c', seq: 1, cmid: 'm-000001', from: 'alice', name: 'alice', text: 't-m-000001', ts: 1000 });
    const last = store.page('c', 4, 2);
    assert.deepEqual([last.msgs.map((m) => m.seq), last.more], [[5], false]);
  });

  it('keeps the first value of a meta key', () => {
    assert.equal(store.metaOrInit('k', () => 'one'), 'one');
    assert.equal(store.metaOrInit('k', () => 'two'), 'one');
  });

  it('stores several messages in order in one transaction, a repeated cmid once', () => {
    const results = store.appendAll([message('m-000001'), message('m-000002'), message('m-000001'), message('m-000003', 'alice', 'other')]);
    assert.deepEqual(results.map((r) => [r.message.cmid, r.message.conv, r.message.seq, r.dup]), [
      ['m-000001', 'c', 1, false],
      ['m-000002', 'c', 2, false],
      ['m-000001', 'c', 1, true],
      ['m-000003', 'other', 1, false],
    ]);
    assert.deepEqual(store.page('c', 0, 10).msgs.map((m) => m.cmid), ['m-000001', 'm-000002']);
  });

  it('stores none of several messages when one of them fails', () => {
    store.append(message('m-000001'));
    assert.throws(() => store.appendAll([message('m-000002'), { ...message('m-000003'), text: null as unknown as string }, message('m-000004')]));
    assert.equal(store.head('c'), 1);
    assert.deepEqual(store.page('c', 0, 10).msgs.map((m) => m.cmid), ['m-000001']);
  });

  it('leaves the head unchanged when an insert fails inside the transaction', () => {
    store.append(message('m-000001'));
    assert.throws(() => store.append({ ...message('m-000002'), text: null as unknown as string }));
    assert.equal(store.head('c'), 1);
    assert.equal(store.append(message('m-000003')).message.seq, 2);
  });

  it('refuses a second store on the database while the first is open, and opens it once that one closed', () => {
    store.append(message('m-000001'));
    assert.throws(() => new Store(tmp.db), (err: Error) => {
      assert.match(err.message, /another imbed server is using the database .*\.db \(it holds .*\.db\.lock\): stop it first/);
      return true;
    });
    // A tool writing beside the server leaves the lock to it.
    const beside = new Store(tmp.db, { shared: true });
    assert.equal(beside.append(message('m-000002')).message.seq, 2);
    beside.close();
    store.close();
    store = new Store(tmp.db);
    assert.equal(store.head('c'), 2);
  });

  it('refuses a second store reaching the database through a symbolic link, and names a stray lock file', () => {
    const link = join(tmp.dir, 'link.db');
    symlinkSync(tmp.db, link);
    assert.throws(() => new Store(link), /another imbed server is using the database .*link\.db/);
    const other = join(tmp.dir, 'other.db');
    writeFileSync(`${other}.lock`, 'a pid file\n'.repeat(20));
    assert.throws(() => new Store(other), /other\.db\.lock is not the lock file imbed keeps beside the database .*: move it away/);
  });
});

describe('loadSqlite', () => {
  it('loads better-sqlite3, and says how to install it when it is missing', () => {
    assert.equal(typeof loadSqlite().SqliteError, 'function');
    const missing = () => {
      throw Object.assign(new Error("Cannot find module 'better-sqlite3'"), { code: 'MODULE_NOT_FOUND' });
    };
    assert.throws(() => loadSqlite(missing), /npm install better-sqlite3/);
  });
});
