/**
 * Who listens to which conversation, and fan-out of new messages to them.
 */
import type { TextFrame } from './outbound.js';

/** The part of a session the hub needs: a way to push a frame encoded once for every subscriber. */
export interface Subscriber {
  /** `alone`: nothing else is written to this connection in the current batch (no need to hold its socket). */
  sendFrame(frame: TextFrame, alone?: boolean): void;
}

const NONE: ReadonlySet<never> = new Set();

/** Conversation subscriptions of every live connection of one server. */
export class Hub<S extends Subscriber = Subscriber> {
  private readonly members = new Map<string, Set<S>>();
  private readonly convsOf = new Map<S, Set<string>>();

  subscribe(conv: string, sub: S): void {
    let set = this.members.get(conv);
    if (!set) this.members.set(conv, (set = new Set()));
    set.add(sub);
    let convs = this.convsOf.get(sub);
    if (!convs) this.convsOf.set(sub, (convs = new Set()));
    convs.add(conv);
  }

  /** Forgets the subscription of `sub` to `conv`; false when it had none. */
  unsubscribe(conv: string, sub: S): boolean {
    const set = this.members.get(conv);
    if (!set?.delete(sub)) return false;
    if (set.size === 0) this.members.delete(conv);
    const convs = this.convsOf.get(sub);
    convs?.delete(conv);
    if (convs?.size === 0) this.convsOf.delete(sub);
    return true;
  }

  /** The subscribers of `conv` now (a copy: safe to unsubscribe while iterating). */
  subscribers(conv: string): S[] {
    return [...(this.members.get(conv) ?? [])];
  }

  /**
   * The subscribers of `conv`, live (no copy, for fan-out): one that unsubscribes during the iteration
   * is skipped from then on, as a Set iterator does.
   */
  live(conv: string): ReadonlySet<S> {
    return this.members.get(conv) ?? NONE;
  }

  /** How many conversations `sub` is subscribed to. */
  count(sub: S): number {
    return this.convsOf.get(sub)?.size ?? 0;
  }

  /** Whether `sub` is subscribed to `conv`. */
  has(conv: string, sub: S): boolean {
    return this.members.get(conv)?.has(sub) ?? false;
  }

  /** Forgets every subscription of `sub` (its connection closed). */
  unsubscribeAll(sub: S): void {
    const convs = this.convsOf.get(sub);
    if (!convs) return;
    for (const conv of convs) {
      const set = this.members.get(conv);
      set?.delete(sub);
      if (set?.size === 0) this.members.delete(conv);
    }
    this.convsOf.delete(sub);
  }
}
