/**
 * The storage ladder's middle rung (docs/webview.md, "Storage ladder"): a `ChatStore` kept by the native
 * app, for apps whose WebView storage is cleared or unavailable. Every operation goes to the app as a
 * `storage` message and resolves with its `storageResult`; an `ok: false` answer, or none within the
 * timeout, rejects it, and the client moves to memory as it does when IndexedDB fails.
 */
import type { AcceptResult, ChatStore, HeldRange, ItemError, Message, OutboxRecord } from '../client/index.js';
import { BRIDGE_VERSION } from './bridge-contract.js';

/** How long the app may take to answer one storage operation before the chat stops waiting (ms). */
export const STORAGE_TIMEOUT = 5_000;

/** The store's operations, each one message to the app and one transaction there. */
export type StorageOp =
  | 'loadConversation'
  | 'loadOlder'
  | 'loadOutbox'
  | 'addToOutbox'
  | 'markFailed'
  | 'requeue'
  | 'removeFromOutbox'
  | 'acceptMessages'
  | 'forgetConversation'
  | 'deleteDatabase';

/** One storage operation for the app: `args` are the `ChatStore` method's, absent ones as null. */
export interface StorageRequest {
  v: 1;
  type: 'storage';
  id: number;
  op: StorageOp;
  db: string;
  args: unknown[];
}

/** The app's answer to the request with the same `id`. */
export type StorageResult = { v: 1; type: 'storageResult'; id: number } & ({ ok: true; result?: unknown } | { ok: false; error?: string });

interface Waiting {
  op: StorageOp;
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The storage requests waiting for the app's answer, numbered for the life of the page from a random
 * start: the app's queue outlives a reload, and a late answer to the page before must not be taken for
 * the answer to a request of this one that happens to have its number. Every number fits in a signed
 * 32-bit integer, what an app reads it as (`getInt` in Kotlin).
 */
export class StorageRequests {
  readonly #send: (request: StorageRequest) => void;
  readonly #timeoutMs: () => number;
  #next = 1 + Math.floor(Math.random() * 2 ** 30);
  readonly #waiting = new Map<number, Waiting>();

  /** `send` hands a request to the app (it throws when there is none); `timeoutMs` bounds the wait. */
  constructor(send: (request: StorageRequest) => void, timeoutMs: () => number) {
    this.#send = send;
    this.#timeoutMs = timeoutMs;
  }

  /** Sends `op` and resolves with the app's `result`; rejects on `ok: false`, on no answer in time, or when it cannot be sent. */
  request(db: string, op: StorageOp, args: unknown[]): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timeout = this.#timeoutMs();
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`the app did not answer ${op} within ${timeout} ms`));
      }, timeout);
      this.#waiting.set(id, { op, resolve, reject, timer });
      try {
        // Through JSON: what Android's string interface carries anyway, and no `undefined` reaches WebKit.
        this.#send({ v: BRIDGE_VERSION, type: 'storage', id, op, db, args: JSON.parse(JSON.stringify(args)) });
      } catch (error) {
        this.#settle(id)?.reject(new Error(`${op} could not be handed to the app: ${error instanceof Error ? error.message : String(error)}`));
      }
    });
  }

  /** Settles the request `answer` is for; false when none waits for it (answered already, or too late). */
  answer(answer: StorageResult): boolean {
    const waiting = this.#settle(answer.id);
    if (!waiting) return false;
    if (answer.ok) waiting.resolve(answer.result ?? null);
    else waiting.reject(new Error(`the app refused ${waiting.op}: ${answer.error ?? 'no reason given'}`));
    return true;
  }

  #settle(id: number): Waiting | undefined {
    const waiting = this.#waiting.get(id);
    clearTimeout(waiting?.timer);
    this.#waiting.delete(id);
    return waiting;
  }
}

/** The `ChatStore` of database `db`, kept by the app. */
export class NativeStore implements ChatStore {
  readonly kind = 'native' as const;
  readonly #db: string;
  readonly #requests: StorageRequests;

  constructor(db: string, requests: StorageRequests) {
    this.#db = db;
    this.#requests = requests;
  }

  loadConversation(conv: string, opts: { from?: number; limit?: number } = {}): Promise<{ messages: Message[] } & HeldRange> {
    return this.#call('loadConversation', conv, opts);
  }

  loadOlder(conv: string, below: number, limit: number): Promise<Message[]> {
    return this.#call('loadOlder', conv, below, limit);
  }

  loadOutbox(afterId = 0): Promise<OutboxRecord[]> {
    return this.#call('loadOutbox', afterId);
  }

  addToOutbox(record: Omit<OutboxRecord, 'id'>, newerThan?: number): Promise<{ record: OutboxRecord; newer: OutboxRecord[] }> {
    return this.#call('addToOutbox', record, newerThan ?? null);
  }

  markFailed(cmid: string, error: ItemError): Promise<boolean> {
    return this.#call('markFailed', cmid, error);
  }

  requeue(cmid: string): Promise<OutboxRecord | null> {
    return this.#call('requeue', cmid);
  }

  async removeFromOutbox(cmid: string): Promise<void> {
    await this.#call('removeFromOutbox', cmid);
  }

  acceptMessages(conv: string, msgs: readonly Message[], older?: { more: boolean }): Promise<AcceptResult> {
    return this.#call('acceptMessages', conv, msgs, older ?? null);
  }

  async forgetConversation(conv: string): Promise<void> {
    await this.#call('forgetConversation', conv);
  }

  /** Nothing to release on this side: the app keeps its database open for the next page. */
  close(): void {}

  async deleteDatabase(): Promise<void> {
    await this.#call('deleteDatabase');
  }

  #call<T>(op: StorageOp, ...args: unknown[]): Promise<T> {
    return this.#requests.request(this.#db, op, args) as Promise<T>;
  }
}
