/** Turning whatever was thrown into the sentence an `error` event or a storage reason carries. */

/** The message of a thrown `Error`, else the thrown value as a string (a rejection may carry anything). */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
