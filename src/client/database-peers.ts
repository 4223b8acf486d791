/**
 * Whether any other client of this browser uses the same database, whatever conversations it follows.
 * Tab groups (leader.ts) are per database AND conversation set, but the outbox is per database: a tab of
 * another group can hold items this one has never read back. So a leader sends a new item before its
 * outbox write commits (client.ts, `send`) only while it has never met another client on its database.
 *
 * Each client says `here` on a channel of its database when it starts and answers a newcomer's `here`
 * with `also`. A client met stays counted, even after it closes: a tab that left may have left items in
 * the outbox, and waiting for the write (as with several tabs) costs a millisecond, never order. A page
 * back from the back-forward cache cannot know who came meanwhile, so it counts as not alone.
 *
 * A client that finds its group's lock held (leader.ts) counts as having met one too: the holder may never
 * speak on this channel (a tab of a build from before it existed), or their `here` and `also` may be lost.
 * Meeting one is also what starts the tab group (tab-group.ts): a client that has met no one leads alone.
 */
import { newCmid } from './ids.js';

interface PeerMessage {
  peer: 'here' | 'also';
  id: string;
}

export class DatabasePeers {
  readonly #id = newCmid();
  #met = false;
  readonly #channel: BroadcastChannel;
  readonly #onMeet: () => void;
  readonly #onPageShow = (event: PageTransitionEvent) => {
    if (event.persisted) this.meet();
  };

  /** `onMeet` runs once, when the first other client is met. */
  constructor(dbName: string, onMeet: () => void) {
    this.#onMeet = onMeet;
    this.#channel = new BroadcastChannel(`imbed-db:${dbName}`);
    this.#channel.onmessage = ({ data }: MessageEvent<Partial<PeerMessage> | null>) => {
      if (typeof data?.id !== 'string' || data.id === this.#id || (data.peer !== 'here' && data.peer !== 'also')) return;
      this.meet();
      if (data.peer === 'here') this.#post('also');
    };
    addEventListener('pageshow', this.#onPageShow);
    this.#post('here');
  }

  /** No other client on this database has been met since this one started. */
  get alone(): boolean {
    return !this.#met;
  }

  close(): void {
    removeEventListener('pageshow', this.#onPageShow);
    this.#channel.close();
  }

  /** Counts another client of this database as met, heard here or not (e.g. it holds the group's lock). */
  meet(): void {
    if (this.#met) return;
    this.#met = true;
    this.#onMeet();
  }

  #post(peer: PeerMessage['peer']): void {
    this.#channel.postMessage({ peer, id: this.#id } satisfies PeerMessage);
  }
}
