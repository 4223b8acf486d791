/**
 * Every code imbed puts on the wire: the `code` of an `error` frame and the close codes the server
 * uses. This module is the single list; `docs/protocol.md` has the same table for people, and a test
 * keeps the two in step.
 */

const ERROR_NAMES = [
  'BAD_JSON',
  'BAD_FRAME',
  'BINARY_UNSUPPORTED',
  'HELLO_REQUIRED',
  'ALREADY_HELLO',
  'TOKEN_MISSING',
  'TOKEN_MALFORMED',
  'TOKEN_INVALID',
  'TOKEN_CLAIMS',
  'TOKEN_EXPIRED',
  'AUTH_UNAVAILABLE',
  'TEXT_EMPTY',
  'TEXT_TOO_LONG',
  'FORBIDDEN',
  'TOO_MANY_CONVERSATIONS',
  'RATE_LIMITED',
  'SPAM',
  'REJECTED',
  'TOO_MANY_CONNECTIONS',
  'INTERNAL',
] as const;

/** The error codes whose frame may succeed when sent again later; every other code fails the same way again. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'HELLO_REQUIRED',
  'TOKEN_EXPIRED',
  'AUTH_UNAVAILABLE',
  'RATE_LIMITED',
  'TOO_MANY_CONNECTIONS',
  'INTERNAL',
]);

/** Codes carried by `error` frames, each named by itself: `ErrorCode.BAD_JSON === 'BAD_JSON'`. */
export const ErrorCode = Object.fromEntries(ERROR_NAMES.map((name) => [name, name])) as {
  readonly [K in (typeof ERROR_NAMES)[number]]: K;
};
export type ErrorCode = (typeof ERROR_NAMES)[number];

export interface ErrorCodeInfo {
  /** Whether the same frame may succeed when sent again later (on this or a new connection). */
  readonly retryable: boolean;
}

/** What a client may do with each error code. `retryable` says whether sending the same frame again may succeed. */
export const ERROR_CODES = Object.fromEntries(
  ERROR_NAMES.map((name) => [name, { retryable: RETRYABLE.has(name) }]),
) as Readonly<Record<ErrorCode, ErrorCodeInfo>>;

/**
 * One sentence per error code for people: what went wrong. Apart from {@link ERROR_CODES} so that a
 * browser bundle, which never shows them, leaves them out.
 */
export const ERROR_DESCRIPTIONS: Readonly<Record<ErrorCode, string>> = {
  BAD_JSON: 'The text frame is not valid JSON, or not a JSON object.',
  BAD_FRAME: 'A known frame type with a missing or invalid field; the message names the field.',
  BINARY_UNSUPPORTED: 'Binary frames are not part of protocol v1.',
  HELLO_REQUIRED: 'The frame needs an established session: send `hello` and wait for `welcome` first.',
  ALREADY_HELLO: 'A second `hello` on a connection that already has a session.',
  TOKEN_MISSING: 'The `hello` token is empty. Sent just before the 4003 close.',
  TOKEN_MALFORMED: 'The token is not a JWT (three base64url parts with a JSON header and payload). Sent just before the 4003 close.',
  TOKEN_INVALID: "The token's signature does not verify, its algorithm is not accepted, or its key is unknown (forged). Sent just before the 4003 close.",
  TOKEN_CLAIMS: 'The token verifies but a claim is wrong: no `sub` or one that is not a valid user id, wrong `aud` or `iss`, or not valid yet (`nbf`). Sent just before the 4003 close.',
  TOKEN_EXPIRED: 'The token has expired (`exp`); get a new one. Sent just before the 4001 close.',
  AUTH_UNAVAILABLE: "The server could not check the token now (its JWKS URL is unreachable, or the token names a key its JWKS did not have when fetched less than 30 s ago, as after a key rotation). Sent just before a 1011 close; reconnect later with the same token.",
  TEXT_EMPTY: 'The message text is empty or only white space.',
  TEXT_TOO_LONG: 'The message text is longer than `limits.maxText` UTF-16 code units.',
  FORBIDDEN: 'The user may not read or write this conversation (not a member).',
  TOO_MANY_CONVERSATIONS: 'The connection already follows the most conversations one connection may (1,000, counting those of `hello`, `sync` and `send`); nothing was stored. Open another connection for more.',
  RATE_LIMITED: 'Too many frames on this connection or messages from this user; nothing was stored. Send the same frame again after `retryAfter` ms.',
  SPAM: 'The same text was sent too many times in a short while; it was not stored.',
  REJECTED: "The server's message filter refused the text; the message says why.",
  TOO_MANY_CONNECTIONS: 'This user or address has too many open connections, or the address had too many connections refused at `hello` lately; the server closes with 4029. Reconnect after `retryAfter` ms.',
  INTERNAL: 'The server failed to handle the frame (storage error); nothing was stored, send it again. After a failed `send` the server also closes with 1011.',
};

/**
 * WebSocket close codes. 1000-1015 are the standard ones imbed uses on purpose; 4000-4999 are imbed's own.
 * `reconnect` is what a client should do after the close:
 * - `retry`: reconnect with backoff;
 * - `refresh`: get a new token, then reconnect;
 * - `stop`: do not reconnect; the reason needs a person or a code change.
 */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TOKEN_EXPIRED: 4001,
  UNSUPPORTED_PROTOCOL: 4002,
  UNAUTHORIZED: 4003,
  HELLO_TIMEOUT: 4004,
  BAD_HELLO: 4005,
  ORIGIN_NOT_ALLOWED: 4006,
  HEARTBEAT_TIMEOUT: 4008,
  TOO_MANY_CONNECTIONS: 4029,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export type ReconnectAdvice = 'retry' | 'refresh' | 'stop';

export interface CloseCodeInfo {
  readonly name: keyof typeof CloseCode;
  readonly reconnect: ReconnectAdvice;
}

/** Close codes after which a client should not simply reconnect; every other one of {@link CloseCode} retries. */
const NOT_RETRY: Partial<Record<keyof typeof CloseCode, ReconnectAdvice>> = {
  TOKEN_EXPIRED: 'refresh',
  UNSUPPORTED_PROTOCOL: 'stop',
  UNAUTHORIZED: 'stop',
  BAD_HELLO: 'stop',
  ORIGIN_NOT_ALLOWED: 'stop',
};

/** Each close code's name and the reconnect advice for it. */
export const CLOSE_CODES = Object.fromEntries(
  Object.entries(CloseCode).map(([name, code]) => [
    code,
    { name, reconnect: NOT_RETRY[name as keyof typeof CloseCode] ?? 'retry' },
  ]),
) as Readonly<Record<CloseCode, CloseCodeInfo>>;

/** One sentence per close code for people, apart from {@link CLOSE_CODES} for the same reason as {@link ERROR_DESCRIPTIONS}. */
export const CLOSE_DESCRIPTIONS: Readonly<Record<CloseCode, string>> = {
  1000: 'Closed on purpose. The server never ends a live session with it; a client that did not ask for it reconnects.',
  1001: 'The server is shutting down.',
  1002: 'A WebSocket frame broke RFC 6455 framing (unmasked, reserved bits or opcode, oversized or fragmented control frame).',
  1007: 'A text frame (or a close reason) was not valid UTF-8.',
  1008: 'The connection broke a limit it was told about (a flood of frames far over the rate limit, more than 64 frames or 256 KiB sent before `welcome`, or not reading what the server sends); reconnect with backoff.',
  1009: 'A frame was larger than `limits.maxFrame` bytes; the frame is lost, the client reconnects.',
  1011: 'The server hit an unexpected error on this connection, e.g. it could not store a `send`.',
  1012: 'The server is restarting; reconnect with a spread-out delay.',
  4001: 'The token has expired, at `hello` or later in the session; get a new one and reconnect.',
  4002: 'The client did not offer a protocol version this server speaks (`Sec-WebSocket-Protocol`). The close reason lists the supported ones.',
  4003: 'The token in `hello` is missing, malformed, forged, or has a wrong claim; the `error` frame before the close says which.',
  4004: 'No `hello` arrived in time after the connection opened.',
  4005: 'The `hello` frame was malformed; sending it again would fail the same way.',
  4006: "The page's origin is not in the server's origin allowlist.",
  4008: 'Used by clients: nothing arrived within the heartbeat bound, the link is presumed dead.',
  4029: 'This user or address has too many open connections, or the address had too many refused at `hello` lately. An `error` frame with `retryAfter` comes first; reconnect no sooner.',
};

/** What a client should do after a close with `code`. Unknown codes in 4000-4999 stop; anything else retries. */
export function reconnectAdvice(code: number): ReconnectAdvice {
  const info = (CLOSE_CODES as Record<number, CloseCodeInfo | undefined>)[code];
  if (info) return info.reconnect;
  return code >= 4000 && code <= 4999 ? 'stop' : 'retry';
}
