/**
 * Protocol v1 frames: JSON text frames, each an object with a `type` field. The shapes here are the
 * public wire contract documented in `docs/protocol.md`.
 */
import type { ErrorCode } from './codes.js';

/** The WebSocket subprotocol of this version, negotiated with `Sec-WebSocket-Protocol`. */
export const PROTOCOL = 'imbed.v1';

/** Limits every v1 server enforces; the server states its own values in `welcome.limits`. */
export const LIMITS = {
  /** Longest message text, in UTF-16 code units (what `String.length` counts). */
  maxText: 4000,
  /** Largest frame the server accepts, in bytes; a larger one closes the connection with 1009. */
  maxFrame: 64 * 1024,
  /** Most messages one `history` page holds; a larger `limit` is lowered to it. */
  syncLimit: 200,
  /** Most conversations one `hello` may resume. */
  maxConvs: 100,
} as const;

/** A client-chosen correlation value, echoed in the answer and in any `error` about the frame. */
export type Ref = string | number;

/** A stored message as every client sees it. `seq` is gap-free per conversation, starting at 1. */
export interface Message {
  conv: string;
  seq: number;
  /** The client-generated id of the message, unique per sender forever. */
  cmid: string;
  /** User id of the sender (the `sub` of the sender's token). */
  from: string;
  /** Display name of the sender (the `name` claim of the sender's token, else the user id). */
  name: string;
  text: string;
  /** Server time of the commit, ms since the epoch. */
  ts: number;
}

/** Resume position for one conversation: the highest seq the client holds without a gap (0 for none). */
export interface Cursor {
  conv: string;
  after: number;
}

// ---- client -> server ----

export interface HelloFrame {
  type: 'hello';
  token: string;
  convs: Cursor[];
  ref?: Ref;
}

export interface SendFrame {
  type: 'send';
  conv: string;
  cmid: string;
  text: string;
}

/**
 * Asks for one page of a conversation: forward from `after` (catch-up, ascending from after + 1), or
 * backward from `before` (history, the newest `limit` messages below `before`). Exactly one of the two.
 */
export type SyncFrame = {
  type: 'sync';
  conv: string;
  limit?: number;
  ref?: Ref;
} & ({ after: number; before?: never } | { before: number; after?: never });

export interface PingFrame {
  type: 'ping';
  ref?: Ref;
}

export type ClientFrame = HelloFrame | SendFrame | SyncFrame | PingFrame;

// ---- server -> client ----

export interface ConvHead {
  conv: string;
  /** The highest seq stored in the conversation (0 when empty). */
  head: number;
}

/** The limits a server enforces, stated in `welcome`. Rates are absent when the server sets none. */
export interface ServerLimits {
  maxText: number;
  maxFrame: number;
  syncLimit: number;
  /** Frames per second one connection may send, sustained (bursts up to twice that). */
  framesPerSecond?: number;
  /** Messages per minute one user may send, over all their connections. */
  messagesPerMinute?: number;
}

export interface WelcomeFrame {
  type: 'welcome';
  user: string;
  name: string;
  /** An opaque id of this connection's session, for logs. */
  session: string;
  convs: ConvHead[];
  /** Interval in ms at which the server expects the client's `ping`. */
  heartbeat: number;
  limits: ServerLimits;
  /** Conversations of `hello` this user may not access (not a member); absent when none. */
  denied?: string[];
  /** Server time, ms since the epoch. */
  ts: number;
  ref?: Ref;
}

export interface SentFrame {
  type: 'sent';
  conv: string;
  cmid: string;
  seq: number;
  ts: number;
  /** Present when the cmid had been stored before: `seq` and `ts` are the original ones. */
  dup?: true;
}

export interface MsgFrame extends Message {
  type: 'msg';
}

export interface HistoryFrame {
  type: 'history';
  conv: string;
  /** Messages with seq > `after` (or the newest below `before`), ascending, gap-free. */
  msgs: Message[];
  /**
   * Forward: messages after the last one in `msgs` exist (ask again with its seq as `after`). Backward:
   * messages before the first one exist (ask again with its seq as `before`).
   */
  more: boolean;
  head: number;
  ref?: Ref;
}

export interface PongFrame {
  type: 'pong';
  ts: number;
  ref?: Ref;
}

export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  /** The offending frame's `ref` (for `send`: its cmid), or null when it had none or was unreadable. */
  ref: Ref | null;
  retryable: boolean;
  /** When the same frame may be sent again, in ms from now (`RATE_LIMITED`, `TOO_MANY_CONNECTIONS`). */
  retryAfter?: number;
  /** The conversation the error is about, when it is not the frame's: e.g. `FORBIDDEN` after removal. */
  conv?: string;
}

export type ServerFrame = WelcomeFrame | SentFrame | MsgFrame | HistoryFrame | PongFrame | ErrorFrame;
