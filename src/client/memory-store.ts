/**
 * The in-memory `ChatStore`: the fallback when IndexedDB cannot be opened (private modes, some WebViews)
 * or when the host asks for `storage: 'memory'`. Same contract; nothing survives a reload.
 */
import type { Message } from '../protocol/index.js';
import type { AcceptResult, ChatStore, OutboxRecord } from './store.js';
import type { ItemError } from './types.js';

/** A `ChatStore` held in memory for the life of the page. */
export class MemoryStore implements ChatStore {
  readonly kind = 'memory' as const;
  private nextId = 1;
  private readonly outbox: OutboxRecord[] = [];
  private readonly messages = new Map<string, Map<number, Message>>();
  private readonly cursors = new Map<string, number>();

  async loadConversation(conv: string): Promise<{ messages: Message[]; cursor: number }> {
    const held = [...(this.messages.get(conv)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
    return { messages: held.map((m) => ({ ...m })), cursor: this.cursors.get(conv) ?? 0 };
  }

  async loadOutbox(afterId = 0): Promise<OutboxRecord[]> {
    return this.outbox.filter((r) => (r.id ?? 0) > afterId).map((r) => ({ ...r }));
  }

  async addToOutbox(record: Omit<OutboxRecord, 'id'>): Promise<OutboxRecord> {
    if (this.outbox.some((r) => r.cmid === record.cmid)) throw new Error(`cmid ${record.cmid} is already in the outbox`);
    const stored = { ...record, id: this.nextId++ };
    this.outbox.push(stored);
    return { ...stored };
  }

  async markFailed(cmid: string, error: ItemError): Promise<boolean> {
    const record = this.outbox.find((r) => r.cmid === cmid);
    if (!record) return false;
    record.status = 'failed';
    record.error = error;
    return true;
  }

  async requeue(cmid: string): Promise<OutboxRecord | null> {
    const i = this.outbox.findIndex((r) => r.cmid === cmid);
    if (i < 0) return null;
    const [record] = this.outbox.splice(i, 1);
    const moved: OutboxRecord = { conv: record.conv, cmid: record.cmid, text: record.text, createdAt: record.createdAt, status: 'pending', id: this.nextId++ };
    this.outbox.push(moved);
    return { ...moved };
  }

  async removeFromOutbox(cmid: string): Promise<void> {
    const i = this.outbox.findIndex((r) => r.cmid === cmid);
    if (i >= 0) this.outbox.splice(i, 1);
  }

  async acceptMessages(conv: string, msgs: readonly Message[]): Promise<AcceptResult> {
    let held = this.messages.get(conv);
    if (!held) this.messages.set(conv, (held = new Map()));
    const removed: string[] = [];
    for (const m of msgs) {
      held.set(m.seq, { ...m });
      const i = this.outbox.findIndex((r) => r.cmid === m.cmid);
      if (i >= 0) {
        this.outbox.splice(i, 1);
        removed.push(m.cmid);
      }
    }
    let cursor = this.cursors.get(conv) ?? 0;
    while (held.has(cursor + 1)) cursor += 1;
    this.cursors.set(conv, cursor);
    return { cursor, removed };
  }

  close(): void {}
}
