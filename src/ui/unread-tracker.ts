/**
 * The unread count of the conversation `<imbed-chat>` shows: messages from others above the highest seq
 * the person has seen. What they saw is kept per user in localStorage (unread-record.ts), so the count
 * survives a reload, counts what arrived while no page was open, follows what the person saw in another
 * tab, and lets the lazy launcher draw the badge before the widget loads.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ImbedClient } from '../client/index.js';
import { imbedEvent } from './events.js';
import { newestStored } from './message-list.js';
import { forgetUnread, readOwnUnread, unreadKey, writeUnreadSoon } from './unread-record.js';

/** The element whose shown conversation is tracked: nothing is counted without a client and a conversation. */
export interface UnreadHost extends ReactiveControllerHost, HTMLElement {
  readonly client: ImbedClient | null;
  readonly server: string;
  readonly conversation: string;
}

/**
 * The read state of the shown conversation: `seen` is the highest seq seen, null on a first visit until
 * its history is in; `stored` the count last stored; `saved` what was last written, so renders do not
 * write it again.
 */
interface ReadState {
  key: string;
  client: ImbedClient;
  conversation: string;
  /** The client's user when the record was read: null until a token provider's first welcome. */
  user: string | null;
  seen: number | null;
  stored: number;
  saved: string;
}

/** Tracks the count for an element, which it tells of each change with `imbed-unread`. */
export class UnreadTracker implements ReactiveController {
  readonly #host: UnreadHost;
  #read: ReadState | null = null;
  /** The count as last told: what the element shows. */
  tally = 0;

  constructor(host: UnreadHost) {
    this.#host = host;
    host.addController(this);
  }

  hostConnected(): void {
    addEventListener('storage', this.#onStorage);
  }

  hostDisconnected(): void {
    removeEventListener('storage', this.#onStorage);
  }

  /**
   * Unread messages: those from others with a seq above the seen one, counted from the newest item.
   * Before any item is loaded, the stored count stands in, so a reload does not flash the badge to 0.
   */
  recount(): number {
    const read = this.#state();
    if (read?.seen == null) return 0;
    const items = read.client.items(read.conversation);
    if (items.length === 0) return read.stored;
    let count = 0;
    for (let i = items.length - 1; i >= 0; i--) {
      const { seq, mine } = items[i]!;
      if (seq === null) continue;
      if (seq <= read.seen) break;
      if (!mine) count++;
    }
    return count;
  }

  /**
   * Moves the seen seq to the newest message while the person `sees` it (the page visible, the panel
   * open, not scrolled up from it), so the count goes back to 0; a first visit starts there once its
   * history is in (the client `wasOnline`), so old history is never unread. Then updates the count and
   * stores both. The element runs it in every update and when the page becomes visible.
   */
  trackSeen(sees: boolean, wasOnline: boolean): void {
    const read = this.#state();
    const user = read?.client.user;
    if (!read) return this.#set(0);
    // Known from the token, or only after welcome with a token provider: until then only the count shows.
    if (!user) return this.#set(this.recount());
    const newest = newestStored(read.client.items(read.conversation))?.seq ?? 0;
    if (sees || (read.seen === null && wasOnline)) {
      read.seen = Math.max(read.seen ?? 0, newest);
    }
    const count = this.recount();
    if (read.seen !== null) {
      const record = { u: user, s: read.seen, n: count };
      const saved = JSON.stringify(record);
      if (saved !== read.saved) writeUnreadSoon(read.key, record);
      read.saved = saved;
    }
    this.#set(count);
  }

  /** Forgets the shown conversation's record, also in storage: the person signed out. */
  forgetSeen(): void {
    if (this.#read) forgetUnread(this.#read.key, this.#read.user);
    this.#read = null;
    this.#set(0);
  }

  /**
   * The read state of the shown conversation, loaded from storage when the client or conversation
   * changed. A record of another user is not this person's: it is ignored, and overwritten once seen.
   */
  #state(): ReadState | null {
    const { client, server, conversation } = this.#host;
    if (!client || !conversation) return (this.#read = null);
    const key = unreadKey(server, conversation);
    // Read again once the user is known: a record read before may be another user's.
    if (this.#read?.key !== key || this.#read.client !== client || this.#read.user !== client.user) {
      const own = readOwnUnread(key, client.user);
      this.#read = { key, client, conversation, user: client.user, seen: own?.s ?? null, stored: own?.n ?? 0, saved: '' };
    }
    return this.#read;
  }

  #set(count: number): void {
    if (count === this.tally) return;
    this.tally = count;
    // Within an update (`track` runs in willUpdate) this asks for none: the count renders with it.
    this.#host.requestUpdate();
    this.#host.dispatchEvent(imbedEvent('imbed-unread', { count }));
  }

  /**
   * Another tab of this origin stored the read state of this conversation: what the person saw there is
   * seen here too, so this tab's badge follows and its next write does not take the record back.
   */
  readonly #onStorage = (event: StorageEvent): void => {
    const read = this.#read;
    const stored = read && event.key?.startsWith(read.key) ? readOwnUnread(read.key, read.user) : null;
    if (stored && stored.s > (read!.seen ?? -1)) {
      read!.seen = stored.s;
      // Its count too: it stands for the messages until this tab holds them.
      read!.stored = stored.n;
      this.#host.requestUpdate();
    }
  };
}
