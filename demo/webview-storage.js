// The native app's side of the storage ladder's middle rung (docs/webview.md, "Storage ladder"), for the
// WebView demo. Loaded before webview.js and imbed.js, as the app's document-start script runs first.
// With native storage on, it adds <meta name="imbed-native" content="storage"> and keeps the chat's
// databases in one plain object saved to sessionStorage after every operation, so a reload keeps them; a
// real app would use SQLite, one transaction per operation. webview.js finds it under a symbol, not a name.
(() => {
  const SWITCH = 'imbed-demo-native-storage';
  const DATA = 'imbed-demo-native-databases';
  const on = sessionStorage.getItem(SWITCH) === 'on';
  if (on) {
    const meta = document.createElement('meta');
    meta.name = 'imbed-native';
    meta.content = 'storage';
    (document.head || document.documentElement).append(meta);
  }

  const load = () => JSON.parse(sessionStorage.getItem(DATA) || '{}');
  const rangeOf = (db, conv) => ({ cursor: 0, floor: 1, ...db.ranges[conv] });
  const sorted = (db, conv) => Object.values(db.messages[conv] || {}).sort((a, b) => a.seq - b.seq);

  // The held range once a backward page is stored (src/client/store.ts, extendDown); an empty page down
  // to the first message while nothing is held marks the conversation known (it is empty).
  function extendDown(range, msgs, more) {
    const first = msgs[0];
    if (!first) return more || range.cursor > 0 ? range : { cursor: 0, floor: 1, known: true };
    const last = msgs[msgs.length - 1];
    const floor = more ? first.seq : 1;
    if (range.cursor === 0) return { cursor: last.seq, floor };
    return last.seq >= range.floor - 1 && floor < range.floor ? { ...range, floor } : range;
  }

  // One function per operation: each reads and changes one database and returns the result.
  const ops = {
    loadConversation(db, conv, opts) {
      const range = rangeOf(db, conv);
      const from = opts?.from ?? (opts?.limit == null ? 0 : Math.max(range.floor, range.cursor - opts.limit + 1));
      return { messages: sorted(db, conv).filter((m) => m.seq >= from), ...range };
    },
    loadOlder: (db, conv, below, limit) => sorted(db, conv).filter((m) => m.seq < below && m.seq >= below - limit),
    loadOutbox: (db, afterId) => db.outbox.filter((r) => r.id > (afterId ?? 0)),
    addToOutbox(db, record, newerThan) {
      if (db.outbox.some((r) => r.cmid === record.cmid)) throw new Error(`cmid ${record.cmid} is already in the outbox`);
      const stored = { ...record, id: db.nextId++ };
      db.outbox.push(stored);
      return { record: stored, newer: newerThan == null ? [] : ops.loadOutbox(db, newerThan) };
    },
    markFailed(db, cmid, error) {
      const record = db.outbox.find((r) => r.cmid === cmid);
      if (record) Object.assign(record, { status: 'failed', error });
      return record !== undefined;
    },
    requeue(db, cmid) {
      const record = db.outbox.find((r) => r.cmid === cmid);
      if (!record) return null;
      const { id: _id, error: _error, ...rest } = record;
      const moved = { ...rest, status: 'pending', id: db.nextId++ };
      db.outbox = [...db.outbox.filter((r) => r !== record), moved];
      return moved;
    },
    removeFromOutbox(db, cmid) {
      db.outbox = db.outbox.filter((r) => r.cmid !== cmid);
      return null;
    },
    forgetConversation(db, conv) {
      delete db.messages[conv];
      delete db.ranges[conv];
      return null;
    },
    acceptMessages(db, conv, msgs, older) {
      const held = (db.messages[conv] ??= {});
      const removed = [];
      for (const m of msgs) {
        held[m.seq] = m;
        if (db.outbox.some((r) => r.cmid === m.cmid)) removed.push(m.cmid);
      }
      db.outbox = db.outbox.filter((r) => !removed.includes(r.cmid));
      const range = older ? extendDown(rangeOf(db, conv), msgs, older.more) : rangeOf(db, conv);
      while (held[range.cursor + 1]) range.cursor += 1;
      db.ranges[conv] = range;
      return { ...range, removed };
    },
  };

  let refuseNext = false;

  /** Applies one `storage` message and returns the `storageResult` to hand back through Imbed.bridge.receive. */
  function apply({ id, op, db: name, args }) {
    const answer = { v: 1, type: 'storageResult', id };
    if (refuseNext) {
      refuseNext = false;
      return { ...answer, ok: false, error: 'refused by the demo (as a full disk would)' };
    }
    const databases = load();
    try {
      if (op === 'deleteDatabase') {
        delete databases[name];
        sessionStorage.setItem(DATA, JSON.stringify(databases));
        return { ...answer, ok: true, result: null };
      }
      if (!Object.hasOwn(ops, op)) throw new Error(`unknown op ${op}`);
      const db = (databases[name] ??= { nextId: 1, outbox: [], messages: {}, ranges: {} });
      const result = ops[op](db, ...args);
      // The whole change is saved at once, or not at all: the demo's stand-in for a transaction.
      sessionStorage.setItem(DATA, JSON.stringify(databases));
      return { ...answer, ok: true, result };
    } catch (error) {
      return { ...answer, ok: false, error: String(error.message || error) };
    }
  }

  window[Symbol.for('imbed-demo-storage')] = {
    on,
    apply,
    /** Turns native storage on or off; it takes effect on the reload that follows. */
    set(value) {
      sessionStorage.setItem(SWITCH, value ? 'on' : 'off');
    },
    refuseNext() {
      refuseNext = true;
    },
    clear() {
      sessionStorage.removeItem(DATA);
    },
  };
})();
