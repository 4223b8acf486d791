/**
 * The in-memory `ChatStore`: the fallback when IndexedDB cannot be opened (private modes, some WebViews)
 * or when the host asks for `storage: 'memory'`. Same contract; nothing survives a reload.
 */
import type { Message } from '../protocol/index.js';
import { extendDown, requeued, type AcceptResult, type ChatStore, type HeldRange, type OutboxRecord } from './store.js';
import type { ItemError } from './types.js';

/** A `ChatStore` held in memory for the life of the page. */
export class MemoryStore implements ChatStore {
  get kind() {
    return 'memory' as const;
  }

  #nextId = 1;
  readonly #outbox: OutboxRecord[] = [];
  readonly #messages = new Map<string, Map<number, Message>>();
  readonly #ranges = new Map<string, HeldRange>();

  async loadConversation(conv: string, opts: { from?: number; limit?: number } = {}): Promise<{ messages: Message[] } & HeldRange> {
    const range = this.#range(conv);
    const from = opts.from ?? (opts.limit === undefined ? 0 : Math.max(range.floor, range.cursor - opts.limit + 1));
    return { messages: this.#sorted(conv).filter((m) => m.seq >= from), ...range };
  }

  async loadOlder(conv: string, below: number, limit: number): Promise<Message[]> {
    return this.#sorted(conv).filter((m) => m.seq < below && m.seq >= below - limit);
  }

  async loadOutbox(afterId = 0): Promise<OutboxRecord[]> {
    return this.#outbox.filter((r) => (r.id ?? 0) > afterId).map((r) => ({ ...r }));
  }

  async addToOutbox(record: Omit<OutboxRecord, 'id'>, newerThan?: number): Promise<{ record: OutboxRecord; newer: OutboxRecord[] }> {
    if (this.#outbox.some((r) => r.cmid === record.cmid)) throw new Error(`cmid ${record.cmid} is already in the outbox`);
    const stored = { ...record, id: this.#nextId++ };
    this.#outbox.push(stored);
    return { record: { ...stored }, newer: newerThan === undefined ? [] : await this.loadOutbox(newerThan) };
  }

  async markFailed(cmid: string, error: ItemError): Promise<boolean> {
    const record = this.#outbox.find((r) => r.cmid === cmid);
    if (!record) return false;
    record.status = 'failed';
    record.error = error;
    return true;
  }

  async requeue(cmid: string): Promise<OutboxRecord | null> {
    const i = this.#outbox.findIndex((r) => r.cmid === cmid);
    if (i < 0) return null;
    const [record] = this.#outbox.splice(i, 1);
    const moved = { ...requeued(record), id: this.#nextId++ };
    this.#outbox.push(moved);
    return { ...moved };
  }

  async removeFromOutbox(cmid: string): Promise<void> {
    const i = this.#outbox.findIndex((r) => r.cmid === cmid);
    if (i >= 0) this.#outbox.splice(i, 1);
  }

  async acceptMessages(conv: string, msgs: readonly Message[], older?: { more: boolean }): Promise<AcceptResult> {
    let held = this.#messages.get(conv);
    if (!held) this.#messages.set(conv, (held = new Map()));
    // Held by seq, and no longer in the outbox: a message is never both pending and stored.
    const removed: string[] = [];
    for (const m of msgs) {
      held.set(m.seq, { ...m });
      const i = this.#outbox.findIndex((r) => r.cmid === m.cmid);
      if (i >= 0) {
        this.#outbox.splice(i, 1);
        removed.push(m.cmid);
      }
    }
    const before = this.#range(conv);
    const range = older ? extendDown(before, msgs, older.more) : before;
    while (held.has(range.cursor + 1)) range.cursor += 1;
    this.#ranges.set(conv, range);
    return { ...range, removed };
  }

  async forgetConversation(conv: string): Promise<void> {
    this.#messages.delete(conv);
    this.#ranges.delete(conv);
  }

  close(): void {}

  #range(conv: string): HeldRange {
    return this.#ranges.get(conv) ?? { cursor: 0, floor: 1 };
  }

  #sorted(conv: string): Message[] {
    return [...(this.#messages.get(conv)?.values() ?? [])].sort((a, b) => a.seq - b.seq).map((m) => ({ ...m }));
  }
}
