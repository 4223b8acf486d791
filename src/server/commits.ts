/**
 * Group commit across connections: the `send`s every session accepted during one turn of the event
 * loop are stored in ONE transaction (one fsync with synchronous=FULL), then each session answers its
 * own, in order, with `sent` and the `msg` fan-out. Nothing is acked or pushed before the commit.
 */
import type { Outbound } from './outbound.js';
import type { AppendResult, NewMessage, Store } from './store.js';

/** A session's side of the group commit. */
export interface CommitParty {
  /** The sends waiting to be stored, in arrival order; the session forgets them (empty when none). */
  takeSends(): NewMessage[];
  /** Answers the sends taken, after they were committed: `results[i]` belongs to the i-th send. */
  answerSends(results: AppendResult[]): void;
  /** Stores and answers the sends taken on their own, after a group transaction that held them failed. */
  storeAlone(sends: NewMessage[]): void;
}

/** One server's group commit: at most one transaction per turn of the event loop for all its sessions. */
export class GroupCommit {
  private waiting: CommitParty[] = [];
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly outbound: Outbound,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Has `party`'s sends stored with everyone else's once the frames read in this turn of the event loop
   * are handled (setImmediate runs after the I/O callbacks of the turn).
   */
  schedule(party: CommitParty): void {
    this.waiting.push(party);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.commit);
  }

  /** Stores every waiting send in one transaction, then lets each session answer its own. */
  private readonly commit = (): void => {
    this.scheduled = false;
    const parties = this.waiting;
    this.waiting = [];
    // A session that answered its sends early (another frame came after them) or closed has none left.
    const batches = parties.map((p) => p.takeSends());
    const all = batches.length === 1 ? batches[0]! : batches.flat();
    if (all.length === 0) return;
    const ts = Date.now();
    for (const m of all) m.ts = ts;
    let results: AppendResult[] | null = null;
    try {
      results = this.store.appendAll(all);
    } catch (err) {
      if (parties.length > 1) this.log(`could not store ${all.length} sends of ${parties.length} sessions together, trying each session alone: ${String(err)}`);
    }
    this.outbound.batch(() => {
      let at = 0;
      for (let i = 0; i < parties.length; i++) {
        const sends = batches[i]!;
        if (sends.length === 0) continue;
        const mine = results?.slice(at, at + sends.length);
        at += sends.length;
        try {
          if (mine) parties[i]!.answerSends(mine);
          else parties[i]!.storeAlone(sends);
        } catch (err) {
          // One connection's failure must not keep the others' answers from going out.
          this.log(`answering stored sends failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        }
      }
    });
  };
}
