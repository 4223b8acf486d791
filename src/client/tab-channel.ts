/**
 * What the tabs of one group (see leader.ts) say to each other over a BroadcastChannel. The channel only
 * carries hints: what changed and where. Message contents and outbox items are always read back from
 * IndexedDB, which every tab shares and which stays the one source of truth.
 */
import type { ClientErrorDetail, ConnectionState, Me, StateChange } from './types.js';

/** Every message of the channel, by sender. */
export type TabMessage =
  // From any tab: the shared outbox changed (an item added, retried, discarded, refused or acknowledged).
  | { type: 'outbox' }
  // From a follower: it has just joined and wants the leader's state.
  | { type: 'join' }
  // From a follower: "retry now": `byPerson` when its host called `reconnect()`, not when its page became
  // visible or online (which leaves a wait the server asked for as it is).
  | { type: 'reconnect'; byPerson?: boolean }
  // From a follower whose host called `start()` after a fatal close, with the token it has now.
  | { type: 'restart'; token: string | null }
  // From the leader (`leader` names it): its connection state changed, or a follower joined; who the
  // user is and the server's text limit, once known.
  | ({ type: 'state'; leader: string; change: StateChange } & Me)
  // From a follower: it holds everything the store has of `conv`; the leader should fetch the page before it.
  | { type: 'older'; conv: string }
  // From the leader: messages of `conv` with these seqs are now stored; `history` when they are not news
  // (a first visit's page, an older page).
  | { type: 'stored'; conv: string; seqs: number[]; history?: boolean }
  // From the leader, before it stores them: the messages of `conv` up to seq `upTo` it is storing are
  // history. Said first, so a read-back another hint started that finds them already knows.
  | { type: 'history'; conv: string; upTo: number }
  // From the leader: it dropped its copy of `conv` and the store's, which the server's messages no longer
  // match (its database went back); followers drop theirs, and what the leader stores next is history.
  | { type: 'forget'; conv: string }
  // From the leader: an error a person should hear of (a refused message, a fatal close).
  | { type: 'error'; error: ClientErrorDetail }
  // From the leader: it is stopping; another tab takes over.
  | { type: 'resign'; leader: string }
  // From any tab: the token it holds, when the group starts and whenever its host sets one.
  | { type: 'token'; token: string };

export type TabMessageType = TabMessage['type'];

const TYPES: ReadonlySet<string> = new Set<TabMessageType>(['outbox', 'join', 'reconnect', 'restart', 'state', 'older', 'stored', 'history', 'forget', 'error', 'resign', 'token']);
const STATES: ReadonlySet<string> = new Set<ConnectionState>(['idle', 'connecting', 'authenticating', 'syncing', 'online', 'offline', 'stopped']);

/**
 * The message in `data`, or null when it is not one this version understands (another imbed version
 * may share the channel): unknown messages are ignored, as unknown frames are on the wire.
 */
export function parseTabMessage(data: unknown): TabMessage | null {
  if (typeof data !== 'object' || data === null) return null;
  const m = data as Record<string, unknown>;
  if (typeof m.type !== 'string' || !TYPES.has(m.type)) return null;
  switch (m.type) {
    case 'state': {
      const change = m.change as Record<string, unknown> | null;
      if (typeof m.leader !== 'string' || typeof change !== 'object' || change === null || !STATES.has(String(change.to))) return null;
      return m as TabMessage;
    }
    case 'stored':
      return typeof m.conv === 'string' && Array.isArray(m.seqs) ? (m as TabMessage) : null;
    case 'history':
      return typeof m.conv === 'string' && Number.isFinite(m.upTo) ? (m as TabMessage) : null;
    case 'older':
    case 'forget':
      return typeof m.conv === 'string' ? (m as TabMessage) : null;
    case 'error':
      return typeof m.error === 'object' && m.error !== null ? (m as TabMessage) : null;
    case 'resign':
      return typeof m.leader === 'string' ? (m as TabMessage) : null;
    case 'token':
      return typeof m.token === 'string' ? (m as TabMessage) : null;
    default:
      return m as TabMessage;
  }
}

/**
 * A typed BroadcastChannel. Messages reach every other instance with the same name in this origin (other
 * tabs, and other clients in the same page), never the instance that posted them.
 */
export class TabChannel {
  readonly #channel: BroadcastChannel;

  constructor(name: string, onMessage: (message: TabMessage) => void) {
    this.#channel = new BroadcastChannel(name);
    this.#channel.onmessage = (event: MessageEvent) => {
      const message = parseTabMessage(event.data);
      if (message) onMessage(message);
    };
  }

  post(message: TabMessage): void {
    try {
      this.#channel.postMessage(message);
    } catch {
      // Posting on a closed channel throws; a stopping client has nothing left to say.
    }
  }

  close(): void {
    this.#channel.close();
  }
}
