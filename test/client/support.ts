/** Shared set-up for the client tests: clients against the real test server, recorded events, clean-up. */
import { ImbedClient, type ChatItem, type ImbedClientOptions, type StateChange } from '../../src/client/index.js';
import type { Message } from '../../src/protocol/index.js';
import { backupDatabase, freshConv, serverUrl, tokenFor, until } from '../browser-support/server.js';

const running: ImbedClient[] = [];

/** A user id no other test uses. */
export function freshUser(name: string): string {
  return `${name}-${Math.random().toString(36).slice(2, 10)}`;
}

/** A database name no other test uses. */
export function freshDb(): string {
  return `imbed-test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Everything a client dispatched, in order. */
export interface Recorded {
  states: StateChange[];
  messages: Message[];
  errors: Array<{ code: string; message: string; retryable: boolean; cmid?: string; fatal: boolean }>;
  storage: Array<{ kind: string; reason?: string }>;
}

export interface TestClient {
  client: ImbedClient;
  events: Recorded;
}

/** Creates (and by default starts) a client for `user` with quick reconnects; `stopAll` cleans it up. */
export async function makeClient(
  user: string,
  conversations: string[],
  options: Partial<ImbedClientOptions> & { start?: boolean } = {},
): Promise<TestClient> {
  const { start = true, ...rest } = options;
  const client = new ImbedClient({
    url: await serverUrl(),
    token: await tokenFor(user, user.split('-')[0]),
    conversations,
    dbName: freshDb(),
    minReconnectDelay: 100,
    maxReconnectDelay: 1000,
    ...rest,
  });
  const events: Recorded = { states: [], messages: [], errors: [], storage: [] };
  client.addEventListener('state', (e) => events.states.push(e.detail));
  client.addEventListener('message', (e) => events.messages.push(e.detail.message));
  client.addEventListener('error', (e) => events.errors.push(e.detail));
  client.addEventListener('storage', (e) => events.storage.push(e.detail));
  running.push(client);
  if (start) client.start();
  return { client, events };
}

/** Stops every client the test made. */
export async function stopAll(): Promise<void> {
  await Promise.all(running.splice(0).map((c) => c.stop()));
}

export async function online(client: ImbedClient, what = 'client online', timeout = 15_000): Promise<void> {
  await until(() => client.state === 'online', what, timeout);
}

/** A first tab of a fresh user, conversation and database, online: it leads its tab group, alone. */
export async function firstTab(what = 'the first tab online'): Promise<{ conv: string; dbName: string; user: string; first: TestClient }> {
  const conv = freshConv();
  const dbName = freshDb();
  const user = freshUser('alice');
  const first = await makeClient(user, [conv], { dbName });
  await online(first.client, what);
  return { conv, dbName, user, first };
}

/** The texts of the stored (sent) items of `conv`, by seq. */
export function sentTexts(client: ImbedClient, conv: string): string[] {
  return client.items(conv).filter((i) => i.status === 'sent').map((i) => i.text);
}

export function seqs(items: readonly ChatItem[]): Array<number | null> {
  return items.map((i) => i.seq);
}

/** A URL where nothing listens: attempts fail at once, so the outbox fills without delivery. */
export const DEAD_URL = 'ws://127.0.0.1:9/ws';

/** Reads the outbox of database `dbName` directly with the IndexedDB API (not through the client). */
export function readOutbox(dbName: string): Promise<Array<{ cmid: string; text: string; status: string }>> {
  return readStore(dbName, 'outbox');
}

/** Every record of the object store `store` in the database `dbName`, read straight from IndexedDB. */
export function readStore<T = any>(dbName: string, store: 'outbox' | 'messages' | 'cursors'): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const req = db.transaction(store).objectStore(store).getAll();
      req.onsuccess = () => {
        db.close();
        resolve(req.result);
      };
      req.onerror = () => reject(req.error);
    };
  });
}

/** A record of the frames of the sockets created while a tap is installed, with ways to drop or hold them. */
export interface SocketTap {
  /** Parsed frames received, in order (including dropped ones). */
  received: Array<Record<string, unknown>>;
  /** Parsed frames sent, in order (including held ones). */
  sent: Array<Record<string, unknown>>;
  /** Sockets created while installed. */
  sockets: number;
  /** Incoming frames for which this returns true never reach the client. */
  dropIncoming: (frame: Record<string, unknown>) => boolean;
  /** What the client gets instead of an incoming frame (default: the frame itself). */
  rewriteIncoming: (frame: Record<string, unknown>) => Record<string, unknown>;
  /** Outgoing frames for which this returns true are held back until `release()`. */
  holdOutgoing: (frame: Record<string, unknown>) => boolean;
  /** Sends the held frames now, in order. */
  release(): void;
  /** Puts the browser's WebSocket back; sockets already created stay tapped. */
  restore(): void;
}

/**
 * Replaces the browser's `WebSocket` with a subclass that records, drops or holds frames, to reproduce
 * what a real network does (a lost ack, a missed message, a black-holed link) against the real server.
 */
export function tapSockets(): SocketTap {
  const Original = window.WebSocket;
  const held: Array<() => void> = [];
  const tap: SocketTap = {
    received: [],
    sent: [],
    sockets: 0,
    dropIncoming: () => false,
    rewriteIncoming: (frame) => frame,
    holdOutgoing: () => false,
    release() {
      for (const send of held.splice(0)) send();
    },
    restore() {
      window.WebSocket = Original;
    },
  };
  class TappedWebSocket extends Original {
    private readonly wrapped = new Map<unknown, EventListener>();
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      tap.sockets += 1;
    }
    override send(data: string): void {
      const frame = JSON.parse(data) as Record<string, unknown>;
      tap.sent.push(frame);
      if (tap.holdOutgoing(frame)) held.push(() => super.send(data));
      else super.send(data);
    }
    override addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void {
      if (type !== 'message') return super.addEventListener(type, listener, options);
      const wrapped = (event: Event) => {
        const frame = JSON.parse(String((event as MessageEvent).data)) as Record<string, unknown>;
        tap.received.push(frame);
        if (tap.dropIncoming(frame)) return;
        const rewritten = tap.rewriteIncoming(frame);
        const delivered = rewritten === frame ? event : new MessageEvent('message', { data: JSON.stringify(rewritten) });
        if (typeof listener === 'function') listener.call(this, delivered);
        else listener.handleEvent(delivered);
      };
      this.wrapped.set(listener, wrapped);
      super.addEventListener(type, wrapped, options);
    }
    override removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void {
      super.removeEventListener(type, this.wrapped.get(listener) ?? listener, options);
    }
  }
  window.WebSocket = TappedWebSocket as typeof WebSocket;
  return tap;
}

/**
 * Holds a readwrite transaction on `store` of the database `db` open (by keeping a request in flight)
 * until `release()`, so every other write to that store waits: IndexedDB at its slowest. `release()`
 * resolves once the transaction has ended; a test that fails before it is released by `releaseAll()`.
 */
const holds: Array<() => Promise<void>> = [];
export const releaseAll = () => Promise.all(holds.splice(0).map((release) => release()));
export async function holdWrites(db: string, store: string): Promise<{ release: () => Promise<void> }> {
  const conn = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(db);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const tx = conn.transaction(store, 'readwrite');
  let held = true;
  const spin = () => {
    if (held) tx.objectStore(store).count().onsuccess = spin;
  };
  spin();
  const ended = new Promise<void>((resolve) => (tx.oncomplete = tx.onabort = () => (conn.close(), resolve())));
  const release = () => {
    held = false;
    return ended;
  };
  holds.push(release);
  return { release };
}

/**
 * What a restore of the server's database takes away: `sender` sends m1 to m3, the database is backed up,
 * then it sends "lost 4" and "lost 5", and each of `holders` holds all five.
 */
export async function heldPastBackup(sender: ImbedClient, conv: string, holders: readonly ImbedClient[]): Promise<void> {
  for (const text of ['m1', 'm2', 'm3']) await sender.send(conv, text);
  await until(() => holders.every((c) => sentTexts(c, conv).length === 3), 'the first three');
  await backupDatabase();
  for (const text of ['lost 4', 'lost 5']) await sender.send(conv, text);
  await until(() => holders.every((c) => sentTexts(c, conv).length === 5), 'the two the backup lacks');
}
