/**
 * The in-memory copy of the newest part of what the store holds for the followed conversations: the
 * newest page is loaded at start (so a reloaded page renders at once, offline included, however long the
 * history), older pages as the reader asks for them, and every write is followed. It makes `items()`
 * synchronous.
 */
import type { Message } from '../protocol/index.js';
import type { HeldRange, OutboxRecord } from './store.js';
import type { ChatItem } from './types.js';

interface ConversationCopy {
  messages: Map<number, Message>;
  /** Highest seq held without a gap. */
  cursor: number;
  /** Lowest seq of the gap-free run held here down from `cursor` (`cursor + 1` when it holds none). */
  low: number;
  /** Lowest seq of the store's held range: below `low` down to it, older messages are read from the store. */
  floor: number;
  /** Caught up with while it held none of it (an empty page reaching the first message), here or as the store says. */
  known?: boolean | undefined;
  /** The rendered items, rebuilt lazily after a change. */
  view: readonly ChatItem[] | null;
}

/** Who "me" is, for `mine` and for the sender of pending items. */
export interface Me {
  user: string | null;
  name: string | null;
}

/** Messages by conversation and seq, cursors, and the outbox in outbox order. */
export class Mirror {
  readonly #me: () => Me;
  readonly #convs = new Map<string, ConversationCopy>();
  #outbox: OutboxRecord[] = [];
  /** The item made of each message and outbox record, while the user and their name stay the same. */
  #made = new WeakMap<object, ChatItem>();

  constructor(me: () => Me) {
    this.#me = me;
  }

  /** Replaces the copy of `conv` with (the newest part of) what the store holds, and its held range. */
  loadConversation(conv: string, messages: readonly Message[], range: HeldRange): void {
    const copy = { ...range, messages: new Map(messages.map((m) => [m.seq, m])), low: range.cursor + 1, view: null };
    this.#convs.set(conv, copy);
    reach(copy);
  }

  /**
   * What is held of `conv` here (`low`) and in the store (`floor`), to know where older messages come from.
   * The copy's own fields, read-only: read them at once, they follow later changes.
   */
  held(conv: string): { readonly cursor: number; readonly low: number; readonly floor: number } {
    return this.#copy(conv);
  }

  /**
   * Adds older messages read from the store (just below `low`). None means the store holds nothing
   * below `low` after all (it was replaced by a memory copy of this one): older ones come from the server.
   */
  addOlder(conv: string, msgs: readonly Message[]): void {
    const copy = this.#copy(conv);
    if (msgs.length === 0) copy.floor = copy.low;
    for (const m of msgs) copy.messages.set(m.seq, m);
    reach(copy);
  }

  /**
   * Records a page of history the store has just accepted (`acceptOlder`), with the store's held range:
   * starts this copy's range there when it held none. An empty page says there is nothing below what the
   * copy holds: held empty, the conversation is `known`. Returns the messages it did not hold before.
   */
  acceptOlder(conv: string, msgs: readonly Message[], range: HeldRange): Message[] {
    const copy = this.#copy(conv);
    const first = msgs[0];
    if (copy.cursor === 0 && first) [copy.cursor, copy.low] = [first.seq - 1, first.seq];
    copy.known ||= !first;
    copy.floor = range.floor;
    const { added } = this.acceptMessages(conv, msgs);
    reach(copy);
    return added;
  }

  /** Replaces the outbox copy (records in outbox order). */
  loadOutbox(records: readonly OutboxRecord[]): void {
    this.#outbox = [...records];
    this.invalidateAll();
  }

  cursor(conv: string): number {
    return this.#copy(conv).cursor;
  }

  /**
   * Whether this device has held `conv` caught up, even while it was empty: messages from seq 1 that it
   * gets then are news, not the history of a first visit.
   */
  isKnown(conv: string): boolean {
    const copy = this.#copy(conv);
    return !!copy.known || copy.cursor > 0;
  }

  /** The highest seq held for `conv`, gap or not. */
  highestSeq(conv: string): number {
    const copy = this.#copy(conv);
    let highest = copy.cursor;
    for (const seq of copy.messages.keys()) if (seq > highest) highest = seq;
    return highest;
  }

  /** Every message held for `conv`, by seq. */
  storedMessages(conv: string): Message[] {
    return [...this.#copy(conv).messages.values()].sort((a, b) => a.seq - b.seq);
  }

  message(conv: string, seq: number): Message | undefined {
    return this.#copy(conv).messages.get(seq);
  }

  /**
   * Records messages the store accepts, and drops outbox items with the same cmids. Returns the messages
   * this copy did not hold before (for `message` events) and whether anything changed.
   */
  acceptMessages(conv: string, msgs: readonly Message[]): { added: Message[]; changed: boolean } {
    const copy = this.#copy(conv);
    const added: Message[] = [];
    let replaced = false;
    for (const m of msgs) {
      const held = copy.messages.get(m.seq);
      // Seqs never change, but the sender's own copy is replaced once the server says its filter
      // stored different text (the `msg` that follows a rewritten `sent`).
      if (held?.text === m.text) continue;
      copy.messages.set(m.seq, m);
      if (held) replaced = true;
      else added.push(m);
    }
    const cmids = new Set(msgs.map((m) => m.cmid));
    const before = this.#outbox.length;
    this.#outbox = this.#outbox.filter((r) => !cmids.has(r.cmid));
    // The copy's cursor counts only what the copy holds: taking the store's would skip messages that
    // another tab stored, and the next sync would start after them.
    const cursorBefore = copy.cursor;
    while (copy.messages.has(copy.cursor + 1)) copy.cursor += 1;
    const changed = added.length > 0 || replaced || this.#outbox.length !== before || copy.cursor !== cursorBefore;
    if (changed) copy.view = null;
    return { added, changed };
  }

  /**
   * Catches up with what another tab wrote to the store: the messages of some conversations as the
   * store holds them now, and the whole outbox. Returns the conversations whose items changed and the
   * messages this copy did not hold before (for `message` events), by seq.
   */
  catchUp(convs: ReadonlyArray<{ conv: string; messages: readonly Message[] } & HeldRange>, outbox: readonly OutboxRecord[]): { changed: Set<string>; added: Message[] } {
    const changed = new Set<string>();
    const added: Message[] = [];
    for (const { conv, messages, cursor, floor, known } of convs) {
      // Another tab started the range with a page of history: this copy's range starts where the store's does.
      const copy = this.#copy(conv);
      copy.known ||= known;
      if (copy.cursor === 0 && cursor > 0) [copy.cursor, copy.low] = [floor - 1, floor];
      copy.floor = Math.min(copy.floor, floor);
      const result = this.acceptMessages(conv, messages);
      if (result.changed) changed.add(conv);
      added.push(...result.added);
    }
    const signature = (records: readonly OutboxRecord[]) => {
      const byConv = new Map<string, string>();
      for (const r of records) byConv.set(r.conv, `${byConv.get(r.conv) ?? ''}${r.id}:${r.status},`);
      return byConv;
    };
    // An item whose message this copy holds is acknowledged: its removal from the store may not have
    // committed when the read ran (acks are written beside the queue), and it must not come back as pending.
    const stored = new Map<string, Set<string>>();
    const acknowledged = (r: OutboxRecord) => {
      let cmids = stored.get(r.conv);
      if (!cmids) stored.set(r.conv, (cmids = new Set(Array.from(this.#convs.get(r.conv)?.messages.values() ?? [], (m) => m.cmid))));
      return cmids.has(r.cmid);
    };
    outbox = outbox.filter((r) => !acknowledged(r));
    const before = signature(this.#outbox);
    const after = signature(outbox);
    for (const conv of new Set([...before.keys(), ...after.keys()])) {
      if (before.get(conv) !== after.get(conv)) changed.add(conv);
    }
    this.loadOutbox(outbox);
    return { changed, added };
  }

  outboxItems(): readonly OutboxRecord[] {
    return this.#outbox;
  }

  /** The highest outbox id this copy holds (0 when the outbox is empty): newer records have higher ids. */
  outboxHighWater(): number {
    return this.#outbox.reduce((high, r) => Math.max(high, r.id ?? 0), 0);
  }

  /**
   * Adds records just read from the store (e.g. everything above `outboxHighWater()`, including items other
   * tabs wrote), each in its place by id, replacing any copy of the same item.
   */
  mergeOutbox(records: readonly OutboxRecord[]): void {
    for (const record of records) {
      this.#outbox = this.#outbox.filter((r) => r.cmid !== record.cmid && r.id !== record.id);
      const at = this.#outbox.findIndex((r) => (r.id ?? 0) > (record.id ?? 0));
      this.#outbox.splice(at < 0 ? this.#outbox.length : at, 0, record);
      this.#copy(record.conv).view = null;
    }
  }

  findOutbox(cmid: string): OutboxRecord | undefined {
    return this.#outbox.find((r) => r.cmid === cmid);
  }

  /** Appends a record just written to the store's outbox. */
  addOutbox(record: OutboxRecord): void {
    this.#outbox.push(record);
    this.#copy(record.conv).view = null;
  }

  /** Replaces (in place) or removes an outbox record. */
  updateOutbox(cmid: string, record: OutboxRecord | null): void {
    const i = this.#outbox.findIndex((r) => r.cmid === cmid);
    if (i < 0) return;
    const conv = this.#outbox[i].conv;
    if (record) this.#outbox[i] = record;
    else this.#outbox.splice(i, 1);
    this.#copy(conv).view = null;
  }

  /** Stored messages by seq, then this conversation's outbox items in outbox order. */
  items(conv: string): readonly ChatItem[] {
    const copy = this.#copy(conv);
    if (copy.view) return copy.view;
    const { user, name } = this.#me();
    // The item of an unchanged message or record is the same object as before, so a renderer can tell what changed.
    const made = this.#made;
    const itemOf = <T extends object>(source: T, make: (source: T) => ChatItem): ChatItem => {
      let item = made.get(source);
      if (!item) made.set(source, (item = make(source)));
      return item;
    };
    const stored = this.storedMessages(conv).map((m) =>
      itemOf(m, (): ChatItem => ({ conv: m.conv, cmid: m.cmid, seq: m.seq, from: m.from, name: m.name, text: m.text, ts: m.ts, status: 'sent', mine: m.from === user })),
    );
    // An outbox record is the user's own, not yet given a seq; `error` only when it failed.
    const outgoing = this.#outbox
      .filter((r) => r.conv === conv)
      .map((r) =>
        itemOf(r, (): ChatItem => ({
          conv: r.conv,
          cmid: r.cmid,
          seq: null,
          from: user ?? '',
          name: name ?? user ?? '',
          text: r.text,
          ts: r.createdAt,
          status: r.status,
          mine: true,
          ...(r.error && { error: r.error }),
        })),
      );
    copy.view = Object.freeze([...stored, ...outgoing]);
    return copy.view;
  }

  /** Outbox items with status `pending`, in `conv` or in all conversations. */
  pendingCount(conv?: string): number {
    return this.#outbox.filter((r) => r.status === 'pending' && (conv === undefined || r.conv === conv)).length;
  }

  /** Forgets everything it holds (the user's data was deleted by a logout). */
  clear(): void {
    this.#convs.clear();
    this.loadOutbox([]);
  }

  /** Forgets every rendered view (the user or their name became known). */
  invalidateAll(): void {
    this.#made = new WeakMap();
    for (const copy of this.#convs.values()) copy.view = null;
  }

  #copy(conv: string): ConversationCopy {
    let copy = this.#convs.get(conv);
    if (!copy) this.#convs.set(conv, (copy = { messages: new Map(), cursor: 0, low: 1, floor: 1, view: null }));
    return copy;
  }
}

/** Moves `low` down over the messages the copy holds just below it, and forgets the rendered view. */
function reach(copy: ConversationCopy): void {
  copy.low = Math.min(copy.low, copy.cursor + 1);
  while (copy.messages.has(copy.low - 1)) copy.low -= 1;
  copy.view = null;
}
