/**
 * Who may read and write which conversation. Every `hello`, `send` and `sync` asks `can` before it
 * touches a conversation, so live delivery, history and storage share one rule.
 */
import type { Store } from './store.js';

/**
 * - `members`: only members of a conversation created through the admin API; every other
 *   conversation is refused.
 * - `open`: a conversation created through the admin API is still restricted to its members, but one
 *   that never was (it has no member list) is open to every authenticated user.
 */
export const AccessMode = {
  MEMBERS: 'members',
  OPEN: 'open',
} as const;
export type AccessMode = (typeof AccessMode)[keyof typeof AccessMode];

export function isAccessMode(v: unknown): v is AccessMode {
  return v === AccessMode.MEMBERS || v === AccessMode.OPEN;
}

/** The access rule of one server: its mode over the membership kept in the store. */
export class Access {
  constructor(
    private readonly store: Store,
    readonly mode: AccessMode,
  ) {}

  /** Whether `user` may send to, sync and receive the live messages of `conv`. */
  can(user: string, conv: string): boolean {
    const { managed, member } = this.store.membership(conv, user);
    if (managed) return member;
    return this.mode === AccessMode.OPEN;
  }
}
