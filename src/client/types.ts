/**
 * The public shapes of the headless client: what `ImbedClient` promises to the UI and to hosts.
 */
import type { ErrorCode, Message } from '../protocol/index.js';
import type { ChatStore } from './store.js';

/**
 * The connection's life cycle. `online` is the only state in which the outbox drains.
 * - `idle`: created, not started;
 * - `connecting`: opening a socket (first time or after a drop);
 * - `authenticating`: socket open, `hello` sent, waiting for `welcome`;
 * - `syncing`: catching up history and resending the outbox;
 * - `online`: caught up; new messages are sent at once;
 * - `offline`: no socket; the browser reports no network, or the last attempt failed and a retry is scheduled;
 * - `stopped`: will not reconnect (stopped by the host, or a fatal close such as a protocol mismatch).
 */
export const ConnectionState = {
  IDLE: 'idle',
  CONNECTING: 'connecting',
  AUTHENTICATING: 'authenticating',
  SYNCING: 'syncing',
  ONLINE: 'online',
  OFFLINE: 'offline',
  STOPPED: 'stopped',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** Payload of every state change: the old and new state, and why. */
export interface StateChange {
  from: ConnectionState;
  to: ConnectionState;
  /** Human-readable reason, e.g. "server restarting" or the close reason. */
  reason: string;
  /** The WebSocket close code that caused the change, when there was one. */
  code?: number;
}

/** What the tab holding a group's connection tells the others about its session, as far as known. */
export interface Me {
  user: string | null;
  name: string | null;
  /** The server's `welcome.limits.maxText`; absent from a tab of a build that did not share it. */
  maxText?: number | null;
}

export type MessageStatus = 'pending' | 'sent' | 'failed';

/** Why the server refused a message, or why the client gave up on it. */
export interface ItemError {
  code: ErrorCode | string;
  message: string;
  retryable: boolean;
}

/**
 * What the client's `error` event reports: a refusal or failure a person should hear of. `cmid` names the
 * message it is about; `conv` the conversation, when the refusal is about it rather than one message
 * (`FORBIDDEN`: the user is not, or no longer, a member); `retryAfter` (ms) for `RATE_LIMITED` and
 * `TOO_MANY_CONNECTIONS`, until the client tries again; `fatal` that the client stopped.
 */
export interface ClientErrorDetail extends ItemError {
  cmid?: string;
  fatal: boolean;
  retryAfter?: number;
  conv?: string;
}

/** One line of a conversation as the UI renders it: a stored message, or an outbox item not yet acknowledged. */
export interface ChatItem {
  conv: string;
  cmid: string;
  /** Server seq; null while pending or failed. */
  seq: number | null;
  from: string;
  name: string;
  text: string;
  /** Server commit time for sent messages; local creation time for pending and failed ones. */
  ts: number;
  status: MessageStatus;
  /** True when the current user sent it. */
  mine: boolean;
  error?: ItemError;
}

/**
 * Where the client keeps its outbox and cache: IndexedDB, a store the host supplied (`native`: a hybrid
 * app's own database, through the WebView bridge), or `memory`, which means nothing survives a reload.
 */
export type StorageKind = 'indexeddb' | 'native' | 'memory';

export interface ImbedClientOptions {
  /**
   * WebSocket URL of the imbed server, e.g. `wss://chat.example.com/ws`, or a path read against the page's
   * address (`/ws` for a server on the page's own origin).
   */
  url: string;
  /** A JWT for `hello`. Either this or `tokenProvider`. */
  token?: string;
  /**
   * Called for a token before the first connection (and to name the local database) and after a 4001
   * close (expired). A rejection, or no answer within `tokenTimeout`, is reported as a non-fatal
   * `TOKEN_UNAVAILABLE` error and asked again after a backoff; the outbox waits meanwhile. Every token
   * must be for the same user: a token for another user stops the client with `USER_CHANGED`.
   */
  tokenProvider?: () => Promise<string>;
  /**
   * How long one `tokenProvider` call may take, in ms (default 10000). A call that takes longer counts
   * as failed, so a provider that never settles cannot hold the connection forever; its late answer is
   * ignored.
   */
  tokenTimeout?: number;
  /** Conversation ids to follow. */
  conversations: string[];
  /**
   * IndexedDB database name (or the name `openStore` is given); default derived from the server host and
   * the token's user. Give each user their own: a client opened with a name reads what another left
   * under it, cached history and unsent messages alike, and would send those as its own user's.
   */
  dbName?: string;
  /** `memory` forces the in-memory store (nothing survives a reload). Default `auto`. */
  storage?: 'auto' | 'memory';
  /**
   * Opens the store to use instead of IndexedDB, given the database name (e.g. the WebView bridge's
   * store in the app's own database, docs/webview.md). A rejection falls back to IndexedDB, with the
   * reason in the `storage` event; a store that fails later is replaced by memory, as IndexedDB is. Once
   * it opens, an outbox an earlier page left in IndexedDB under the same name (it fell back) is moved
   * into it. Ignored with `storage: 'memory'`.
   */
  openStore?: (name: string) => Promise<ChatStore>;
  /**
   * Ping interval in ms. By default the server's `welcome.heartbeat` (15000 unless the server sets
   * another); a longer interval is lowered to it, since the server drops a socket silent for three. 0 or
   * less is ignored.
   */
  heartbeatInterval?: number;
  /** How long after a ping silence means a dead link, in ms (default 10000). */
  heartbeatTimeout?: number;
  /** Reconnect backoff bounds in ms (defaults 500 and 15000). */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  /**
   * Share one connection between the tabs of this origin that use the same database and the same
   * conversations (default true). One tab, elected with the Web Locks API, holds the socket and drains
   * the shared outbox; the others read and write the shared IndexedDB and follow its state, and one of
   * them takes over when it closes. `false` gives every client its own socket, which is also what
   * happens with memory storage, without Web Locks or BroadcastChannel, when the code that coordinates
   * tabs (loaded when a second one appears or the lead is found taken) cannot load within 10 s, and when
   * the tab holding the lead does not answer a waiting one within 10 s; the server's dedupe by cmid keeps
   * that safe. With `false` a client also does not listen for other tabs, so order is kept among each
   * tab's own messages only (docs/guarantees.md).
   */
  multiTab?: boolean;
}

/** Events `ImbedClient` dispatches (plain `CustomEvent`s, not bubbling). */
export interface ImbedClientEventMap {
  /** The connection state changed. */
  state: CustomEvent<StateChange>;
  /** The rendered items of a conversation changed (new message, ack, failure, retry, load). */
  change: CustomEvent<{ conv: string }>;
  /** A message from someone else arrived live or through sync. */
  message: CustomEvent<{ message: Message }>;
  /** Something went wrong that a person should hear of (refused message, fatal close, storage). */
  error: CustomEvent<ClientErrorDetail>;
  /** The storage backend was chosen; `reason` says why when it is not the one asked for (memory, or IndexedDB instead of `openStore`'s). */
  storage: CustomEvent<{ kind: StorageKind; reason?: string }>;
}

/**
 * Codes of `error` events that come from the client itself rather than from an `error` frame. Fatal
 * closes use the close code's name from the protocol (`UNSUPPORTED_PROTOCOL`, `UNAUTHORIZED`, ...).
 */
export const ClientErrorCode = {
  /**
   * The local database (IndexedDB, or the store of `openStore`) could not be opened, or failed during the
   * session: the memory store is used and nothing survives a reload.
   */
  STORAGE_UNAVAILABLE: 'STORAGE_UNAVAILABLE',
  /** The local database failed or was closed while in use (e.g. for a newer imbed in another tab). */
  STORAGE_FAILED: 'STORAGE_FAILED',
  /** `tokenProvider` rejected, or did not answer within `tokenTimeout`; it is asked again after a backoff. */
  TOKEN_UNAVAILABLE: 'TOKEN_UNAVAILABLE',
  /**
   * The server recognised another user than the one this client's outbox and cache belong to (e.g.
   * `tokenProvider` returned a token for someone else), or `setToken` was given one (the client stops at
   * once, also in a tab that follows another's connection). The client stops without sending anything, so
   * one user's pending messages can never go out as another's; create a new client for the new user.
   */
  USER_CHANGED: 'USER_CHANGED',
  /**
   * Another client of this database (another tab, or another element of the page) logged out and deleted
   * it: this client stops, shows nothing of the user's any more and sends nothing that waited (fatal).
   */
  SIGNED_OUT: 'SIGNED_OUT',
  /**
   * `<imbed-chat>`'s `server` is not a URL, or its `conversation` not an id the protocol allows (`ImbedClient`
   * throws a `TypeError` for these): no client runs until the host sets usable ones. Also the fatal error
   * of a client whose URL the browser will not open a WebSocket to (`ws://` from an https page): it stops.
   */
  BAD_OPTIONS: 'BAD_OPTIONS',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];
