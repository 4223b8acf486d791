/**
 * A text the browser tests' server refuses for good: its message filter rejects any text holding
 * `[refused]` with REJECTED (not retryable). Tests use it for a message that fails on the server
 * whatever the client checked before sending. Imports nothing, so browser tests and the server's
 * plugin (imbed-server-plugin.ts) can share it.
 */
export const REFUSED_MARK = '[refused]';

/** A text holding the mark, so the test server refuses it. */
export const REFUSED_TEXT = `the server refuses this ${REFUSED_MARK}`;
