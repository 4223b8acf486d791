/**
 * The headless imbed client: connection, heartbeat, outbox, sync, cache and events, with no UI.
 * Hosts and `src/ui/` import everything from here.
 */
export { ImbedClient } from './client.js';
export { tokenSubject } from './token.js';
export * from './types.js';
export type { AcceptResult, ChatStore, HeldRange, OutboxRecord } from './store.js';
export { ProtocolError, ErrorCode, CloseCode, LIMITS } from '../protocol/index.js';
export type { Message } from '../protocol/index.js';
