/**
 * Group commit across connections: the `send`s every session accepted during one turn of the event
 * loop are stored in ONE transaction (one fsync with synchronous=FULL), then each session answers its
 * own, in order, with `sent` and the `msg` fan-out. Nothing is acked or pushed before the commit.
 */
import type { MsgFrame } from '../protocol/index.js';
import type { Hub, Subscriber } from './hub.js';
import { TextFrame, type Outbound } from './outbound.js';
import { isStorageUnavailable, type AppendResult, type NewMessage, type Store } from './store.js';

/** A session's side of the group commit. */
export interface CommitParty extends Subscriber {
  /** The sends waiting to be stored, in arrival order; the session forgets them (empty when none). */
  takeSends(): NewMessage[];
  /**
   * Answers one of its sends, committed: `sent`, and for a text the filter rewrote, the stored `msg`
   * (`frame`, or null for a dup, whose `msg` went out when it was first stored).
   */
  acknowledge(result: AppendResult, frame: TextFrame | null): void;
  /** Stores and answers the sends taken on their own, after a group transaction that held them failed. */
  storeAlone(sends: NewMessage[]): void;
  /** Refuses the sends taken, none of them stored, because storage is unavailable. */
  failSends(sends: NewMessage[]): void;
}

/** A committed send and the session that sent it. */
export interface Stored<P extends CommitParty> {
  party: P;
  result: AppendResult;
}

/**
 * Answers committed sends: `sent` to each sender and `msg` to every other connection of the
 * conversation. Each `msg` is encoded once; a connection that sent none of them gets them in the order
 * of `stored` (one conversation's run as one write of the same bytes), and a sender gets, in that order, its own
 * `sent`s (in its arrival order) and the others' `msg`s, so its seqs arrive in order too.
 */
export function answerStored<P extends CommitParty>(hub: Hub<P>, stored: readonly Stored<P>[]): void {
  const frames: Array<TextFrame | null> = [];
  const runs = new Map<string, TextFrame[]>();
  const senders = new Set<P>();
  for (const { party, result } of stored) {
    senders.add(party);
    // A dup's `msg` went out when it was first stored.
    const frame = result.dup ? null : TextFrame.of(JSON.stringify({ type: 'msg', ...result.message } satisfies MsgFrame));
    frames.push(frame);
    if (frame === null) continue;
    const run = runs.get(result.message.conv);
    if (run) run.push(frame);
    else runs.set(result.message.conv, [frame]);
  }
  if (runs.size === 1) {
    const [[conv, run]] = runs;
    const all = run!.length === 1 ? run![0]! : TextFrame.concat(run!);
    for (const sub of hub.live(conv!)) if (!senders.has(sub)) sub.sendFrame(all, true);
  } else {
    // Several conversations: a member gets their messages in the order they were stored, across
    // conversations too, each frame shared by all; its writes of this commit still leave in one writev.
    for (let i = 0; i < stored.length; i++) {
      const frame = frames[i];
      if (frame) for (const sub of hub.live(stored[i]!.result.message.conv)) if (!senders.has(sub)) sub.sendFrame(frame);
    }
  }
  for (const sender of senders) {
    for (let i = 0; i < stored.length; i++) {
      const { party, result } = stored[i]!;
      const frame = frames[i]!;
      if (party === sender) sender.acknowledge(result, frame);
      // One whose subscription was revoked meanwhile gets its `sent`s only.
      else if (frame !== null && hub.has(result.message.conv, sender)) sender.sendFrame(frame);
    }
  }
}

/** One server's group commit: at most one transaction per turn of the event loop for all its sessions. */
export class GroupCommit<P extends CommitParty> {
  private waiting: P[] = [];
  private scheduled = false;
  /** When the last commit started (performance.now()). */
  private lastCommit = -Infinity;

  constructor(
    private readonly store: Store,
    private readonly hub: Hub<P>,
    private readonly outbound: Outbound,
    private readonly log: (line: string) => void,
    /** Least ms between the starts of two commits (0: every turn of the event loop may commit). */
    private readonly interval = 0,
  ) {}

  /**
   * Has `party`'s sends stored with everyone else's once the frames read in this turn of the event loop
   * are handled (setImmediate runs after the I/O callbacks of the turn).
   */
  schedule(party: P): void {
    this.waiting.push(party);
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.lastCommit + this.interval - performance.now();
    if (wait < 1) setImmediate(this.commit);
    // Unref'd: a server closed meanwhile hands it nothing to store, and must not stay alive for it.
    else setTimeout(this.commit, wait).unref();
  }

  /** Stores every waiting send in one transaction, then lets each session answer its own. */
  private readonly commit = (): void => {
    this.scheduled = false;
    this.lastCommit = performance.now();
    const parties = this.waiting;
    this.waiting = [];
    // A session that answered its sends early (another frame came after them) or closed has none left.
    const batches = parties.map((p) => p.takeSends());
    const all = batches.length === 1 ? batches[0]! : batches.flat();
    if (all.length === 0) return;
    const ts = Date.now();
    for (const m of all) m.ts = ts;
    let results: AppendResult[] | null = null;
    let unavailable = false;
    try {
      results = this.store.appendAll(all);
    } catch (err) {
      // One refused write (a constraint) must not fail the other sessions' sends: those are stored
      // again per session. A database that cannot be written at all fails them all at once.
      unavailable = isStorageUnavailable(err);
      this.log(`could not store ${all.length} sends of ${parties.length} sessions together, ${unavailable ? 'refusing them all' : 'trying each session alone'}: ${String(err)}`);
    }
    this.outbound.batch(() => {
      if (results) {
        const stored: Stored<P>[] = [];
        let at = 0;
        for (let i = 0; i < parties.length; i++) for (const _ of batches[i]!) stored.push({ party: parties[i]!, result: results[at++]! });
        answerStored(this.hub, stored);
        return;
      }
      for (let i = 0; i < parties.length; i++) {
        const sends = batches[i]!;
        if (sends.length === 0) continue;
        if (unavailable) parties[i]!.failSends(sends);
        else parties[i]!.storeAlone(sends);
      }
    });
  };
}
