/**
 * The tabs of one browser that share a database and a conversation set, as a group with one connection:
 * the elected leader (leader.ts) holds the socket and drains the shared outbox; followers write to the
 * shared IndexedDB themselves and hear over the channel (tab-channel.ts) what to read back. This module
 * decides who says what to whom; `ImbedClient` does the work, through `TabGroupHost`.
 *
 * A page with one tab never needs it: `ImbedClient` holds the election and meets the other clients of its
 * database itself (database-peers.ts), and loads this module only once it meets one or finds the lock
 * held (load-tab-group.ts). So a group may start late, on either side: a leader that starts one announces
 * its state and reads the outbox back, and a follower asks for the state; either way each hears what the
 * other did meanwhile.
 *
 * A leader of a build from before database-peers.ts (its group always ran) answers a follower's `join`
 * too. One that never does, a leader of this build that has not met the follower (their `here` and `also`
 * lost), has no group to hear it: after `JOIN_TIMEOUT` the follower gives up on it and runs a socket of
 * its own rather than follow no one.
 */
import { newCmid } from './ids.js';
import { TabChannel, type TabMessage } from './tab-channel.js';
import { isLaterToken } from './token.js';
import type { ClientErrorDetail, Me, StateChange } from './types.js';

/**
 * How long a follower waits for a leader's state after its `join` (ms): as long as a leader that met it
 * meanwhile may take to load this code and start its group (client.ts, `GROUP_LOAD_TIMEOUT`).
 */
export const JOIN_TIMEOUT = 10_000;

/** How often a leader says it still runs, by telling its state again (ms). */
export const BEAT = 5_000;

/**
 * A leader not heard for this long may not run: its script blocked by a dialog (`alert()`), a long task
 * or a debugger, and the socket it holds with it. A follower the person is looking at then asks it
 * (`join`, which leaders of every build answer, also from a background tab whose timers run once a
 * minute), and takes the lead from it when a beat later it has still heard nothing (ms). Not a follower
 * in the background: there its own timers may run once a minute.
 */
export const STALL = 15_000;

/** What the group needs from the client that belongs to it. */
export interface TabGroupHost {
  /** Whether this client holds the connection for the group (it won the election). */
  leading(): boolean;
  /**
   * Read back from the store the outbox and, when given, the messages of `conv`; a leader then drains.
   * Those of `conv` up to seq `history` are history the leader fetched, not news (no `message` events).
   */
  refresh(conv: string | null, history?: number): void;
  /** Follower: the messages of `conv` up to seq `upTo` are history, whenever a read-back finds them. */
  history(conv: string, upTo: number): void;
  /** Follower: a leader it has not heard before (it joined, or took over): read everything back. */
  refreshAll(): void;
  /** Follower: the leader dropped the messages of `conv` from the store; drop the copy's too. */
  forget(conv: string): void;
  /** Follower: take on the leader's state (through the one state funnel) and the user it reported. */
  follow(change: Omit<StateChange, 'from'>, me?: Me): void;
  /**
   * Leader: the last state change, to tell a follower that joins; null once the leader is stopping: its
   * own `stopped` is not the followers' state, and they hear the next leader's after its `resign`.
   */
  lastChange(): StateChange | null;
  /** Leader: who the user is, as far as known. */
  me(): Me;
  /** Leader: a follower asked for "retry now": its person did, or its browser hinted that it may help. */
  reconnect(byPerson: boolean): void;
  /** Leader: a follower's host called `start()` after a fatal close. */
  restart(token: string | null): void;
  /** Leader: a follower holds all the store has of `conv` and wants the page before it from the server. */
  older(conv: string): void;
  /** Follower: an error the leader reported. */
  report(error: ClientErrorDetail): void;
  /** Follower: no leader answered its `join` within `JOIN_TIMEOUT`; it should leave the group and connect itself. */
  unanswered(): void;
  /** Follower in view: the leader has not been heard for `STALL`; take the lead from it. */
  takeOver(): void;
  /** The token this client would open its next session with; null when it has none. */
  token(): string | null;
  /** Another tab holds a token of the same user that expires later: use it from the next `hello`. */
  takeToken(token: string): void;
}

/** One client's membership of its tab group, from when it meets another client (or finds the lock held) until `stop()`. */
export class TabGroup {
  readonly #host: TabGroupHost;
  /** Names this client in the group, so followers notice a new leader. */
  readonly #id = newCmid();
  /** The leader this client last heard from, as a follower. */
  #leaderId: string | null = null;
  /** Follower: `requestOlder` calls waiting for the leader to store messages of their conversation below `below`. */
  readonly #olderWaits = new Map<string, Array<{ below: number; done: (stored: boolean) => void }>>();
  readonly #channel: TabChannel;
  /** Follower: runs out when no leader has answered its `join` (see `JOIN_TIMEOUT`). */
  #joinDeadline: ReturnType<typeof setTimeout> | undefined;
  /** Follower: when the leader was last heard, and last asked whether it runs (`performance.now()`). */
  #heardAt = performance.now();
  #askedAt = 0;
  /** The leader's beat, and the follower's check of it; when it last ran. */
  readonly #beat: ReturnType<typeof setInterval>;
  #beatAt = performance.now();

  /** `name` is the group's (leader.ts `tabGroupName`). */
  constructor(name: string, host: TabGroupHost) {
    this.#host = host;
    this.#channel = new TabChannel(name, (message) => this.#onMessage(message));
    if (host.leading()) {
      // Followers that came before this group did may have stored items and asked for the state.
      this.#greet();
    } else {
      // Ask the leader for its state; a follower has none of its own. One that took the lead meanwhile
      // needs no answer. Then say the outbox changed: this client may have stored items before its group
      // started, and a leader of an older build does not read the outbox back on `join`.
      this.#channel.post({ type: 'join' });
      this.#channel.post({ type: 'outbox' });
      this.#joinDeadline = setTimeout(() => {
        if (!host.leading()) host.unanswered();
      }, JOIN_TIMEOUT);
    }
    this.#beat = setInterval(() => this.#onBeat(), BEAT);
    // Whichever tab opens the next session (the leader after its token expires, a follower that takes
    // over) has the token of the same user that lasts longest, whichever tab's host set it.
    this.shareToken(host.token());
  }

  /** Any role: the host set a token; the other tabs take it if it lasts longer than theirs. */
  shareToken(token: string | null): void {
    if (token) this.#channel.post({ type: 'token', token });
  }

  /** The shared outbox changed in the store (any role). */
  outboxChanged(): void {
    this.#channel.post({ type: 'outbox' });
  }

  /** Leader: it is about to store messages of `conv` with these seqs, which are history, not news. */
  history(conv: string, seqs: readonly number[]): void {
    if (seqs.length > 0) this.#channel.post({ type: 'history', conv, upTo: Math.max(...seqs) });
  }

  /** Leader: it dropped the messages of `conv` from the store, which the server's no longer match. */
  forget(conv: string): void {
    this.#channel.post({ type: 'forget', conv });
  }

  /** Leader: messages of `conv` were stored (and their outbox items removed); `history` when not news. */
  stored(conv: string, seqs: number[], history?: boolean): void {
    this.#channel.post({ type: 'stored', conv, seqs, ...(history && { history }) });
  }

  /** Leader: tells the followers its state (`lastChange`), which just changed or a follower asked for. */
  announceState(): void {
    const change = this.#host.lastChange();
    if (change && this.#host.leading()) this.#channel.post({ type: 'state', leader: this.#id, change, ...this.#host.me() });
  }

  /** Leader: an error every tab's person should hear of. */
  announceError(error: ClientErrorDetail): void {
    if (this.#host.leading()) this.#channel.post({ type: 'error', error });
  }

  /** Follower: asks the leader to retry now. */
  reconnect(byPerson: boolean): void {
    this.#channel.post({ type: 'reconnect', byPerson });
  }

  /** Follower: asks a leader stopped by a fatal close to start again, with this tab's token. */
  restart(token: string | null): void {
    this.#channel.post({ type: 'restart', token });
  }

  /**
   * Follower: asks the leader to fetch the page of `conv` before what the store holds, which starts at
   * `below`. Resolves true once the leader stored messages of `conv` below it (read them from the store),
   * false after `timeoutMs` or on `stop()`. Messages stored meanwhile that are not older (live ones,
   * acks) do not end the wait.
   */
  requestOlder(conv: string, below: number, timeoutMs = 10_000): Promise<boolean> {
    return new Promise((resolve) => {
      const waits = this.#olderWaits.get(conv) ?? [];
      this.#olderWaits.set(conv, waits);
      const timer = setTimeout(() => wait.done(false), timeoutMs);
      const wait = {
        below,
        done: (stored: boolean): void => {
          clearTimeout(timer);
          const at = waits.indexOf(wait);
          if (at >= 0) waits.splice(at, 1);
          resolve(stored);
        },
      };
      waits.push(wait);
      this.#channel.post({ type: 'older', conv });
    });
  }

  /** Leaves the group; a leader says so first, so followers wait for the next one (the client then gives up the lock). */
  stop(): void {
    if (this.#host.leading()) this.#channel.post({ type: 'resign', leader: this.#id });
    clearTimeout(this.#joinDeadline);
    clearInterval(this.#beat);
    this.#channel.close();
    for (const waits of this.#olderWaits.values()) for (const { done } of [...waits]) done(false);
  }

  /** Leader: reads back the outbox followers may have added to, then tells them its state. */
  #greet(): void {
    this.#host.refresh(null);
    this.announceState();
  }

  /**
   * A leader tells its state again. A follower in view asks a leader it has not heard for `STALL`
   * whether it runs, and takes the lead from it when a beat later there was no answer.
   */
  #onBeat(): void {
    const now = performance.now();
    // This tab ran late itself (blocked, throttled): what it did not hear meanwhile says nothing.
    if (now - this.#beatAt > 2 * BEAT) this.#heardAt = now;
    this.#beatAt = now;
    if (this.#host.leading()) return this.announceState();
    if (document.visibilityState !== 'visible' || now - this.#heardAt < STALL) return;
    if (this.#askedAt < this.#heardAt) {
      this.#askedAt = now;
      this.#channel.post({ type: 'join' });
    } else if (now - this.#askedAt >= BEAT) {
      this.#heardAt = now;
      this.#host.takeOver();
    }
  }

  #onMessage(message: TabMessage): void {
    // What only a leader says (`older` aside): it runs.
    if (/^(state|stored|history|forget|error|resign)$/.test(message.type)) this.#heardAt = performance.now();
    switch (message.type) {
      case 'outbox':
        return this.#host.refresh(null);
      case 'stored':
        this.#host.refresh(message.conv, message.history ? Math.max(0, ...message.seqs) : 0);
        for (const { below, done } of [...(this.#olderWaits.get(message.conv) ?? [])]) if (message.seqs.some((seq) => seq < below)) done(true);
        return;
      case 'history':
        return this.#host.history(message.conv, message.upTo);
      case 'forget':
        if (!this.#host.leading()) this.#host.forget(message.conv);
        return;
      case 'older':
        if (this.#host.leading()) this.#host.older(message.conv);
        return;
      case 'join':
        // A follower that joins late may have stored items before its group started.
        if (this.#host.leading()) this.#greet();
        return;
      case 'reconnect':
        if (this.#host.leading()) this.#host.reconnect(message.byPerson === true);
        return;
      case 'restart':
        // A tab whose host had not heard of the newer token yet asks with its older one: the leader keeps its
        // own. Any other token may be the fix for the refusal that stopped it (not only for an expiry).
        if (this.#host.leading()) this.#host.restart(isLaterToken(this.#host.token(), message.token) ? null : message.token);
        return;
      case 'state':
        clearTimeout(this.#joinDeadline);
        if (!this.#host.leading()) {
          // A leader that crashed may have stored messages it never announced: read everything back.
          if (message.leader !== this.#leaderId) {
            this.#leaderId = message.leader;
            this.#host.refreshAll();
          }
          const { to, reason, code } = message.change;
          this.#host.follow(code === undefined ? { to, reason } : { to, reason, code }, message);
        }
        return;
      case 'error':
        if (!this.#host.leading()) this.#host.report(message.error);
        return;
      case 'token': {
        // A tab that says it holds an earlier one answers with its own: the first word of the tab whose
        // group started first reached no one.
        const held = this.#host.token();
        if (isLaterToken(message.token, held)) this.#host.takeToken(message.token);
        else if (isLaterToken(held, message.token)) this.shareToken(held);
        return;
      }
      case 'resign':
        // Only the leader followed so far: a late word from an earlier one must not undo its successor's state.
        if (!this.#host.leading() && message.leader === this.#leaderId) {
          this.#host.follow({ to: 'connecting', reason: 'the tab holding the connection closed; another takes over' });
        }
        return;
    }
  }
}
