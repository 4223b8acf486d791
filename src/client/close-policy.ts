/**
 * What a closed socket means for the client: the one place that turns a close code into "try again",
 * "get a new token first" or "stop", with the sentence a person sees, and the notes kept of the `error`
 * frames that announce a close (why a `hello` was refused, how long a 4029 asks to wait). Free of I/O,
 * so every code is testable without a server that misbehaves on purpose.
 */
import { CLOSE_CODES, CloseCode, ErrorCode, reconnectAdvice, type CloseCodeInfo, type ServerFrame } from '../protocol/index.js';

/** Error codes the server sends just before closing a refused `hello`: they say why, the close says what to do. */
const HELLO_REFUSALS: ReadonlySet<string> = new Set([
  ErrorCode.TOKEN_MISSING,
  ErrorCode.TOKEN_MALFORMED,
  ErrorCode.TOKEN_INVALID,
  ErrorCode.TOKEN_CLAIMS,
  ErrorCode.TOKEN_EXPIRED,
  ErrorCode.AUTH_UNAVAILABLE,
]);

/** The client's decision after a close, and the reason it states. */
export type CloseDecision =
  | { action: 'retry'; reason: string }
  | { action: 'refresh'; reason: string }
  | { action: 'stop'; reason: string; errorCode: string };

/** Facts about the connection that closed. */
export interface CloseContext {
  /** Whether `welcome` had arrived on this socket: a close before it is a failed attempt. */
  established: boolean;
  /** Whether the host gave a `tokenProvider`, so a 4001 close can be healed. */
  canRefreshToken: boolean;
  /**
   * The `error` frame the server sent just before this close to say exactly why (TOKEN_MISSING,
   * TOKEN_MALFORMED, TOKEN_INVALID, TOKEN_CLAIMS, TOKEN_EXPIRED, AUTH_UNAVAILABLE). Its code is reported
   * instead of the close code's name, which only says what to do.
   */
  refusal?: { code: string; message: string };
}

/**
 * Decides what to do after a close with `code` and `reason`. A 1000 close always means retry: the server
 * never ends a live session with it, and reconnecting-websocket reports failed attempts (connect timeout,
 * socket error) as a synthetic 1000 close.
 */
export function decideOnClose(code: number, reason: string, ctx: CloseContext): CloseDecision {
  const advice = reconnectAdvice(code);
  const info = (CLOSE_CODES as Record<number, CloseCodeInfo | undefined>)[code];
  const said = reason ? `: ${reason}` : '';
  // The server's reason for refusing `hello` when it sent one, else the close code's name (4001 has one).
  const stop = (why: string): CloseDecision => ({ action: 'stop', reason: why, errorCode: ctx.refusal?.code ?? info?.name ?? `CLOSE_${code}` });
  if (advice === 'refresh') return ctx.canRefreshToken ? { action: 'refresh', reason: `token expired, getting a new one${said}` } : stop('token expired');
  if (advice === 'stop') {
    switch (code) {
      case CloseCode.UNSUPPORTED_PROTOCOL:
        return stop(`this page's imbed is incompatible with the server${said || ': unsupported protocol'}`);
      case CloseCode.UNAUTHORIZED:
        return stop(`the server refused the token${said}`);
      case CloseCode.BAD_HELLO:
        return stop(`the server refused this client's hello${said}`);
      case CloseCode.ORIGIN_NOT_ALLOWED:
        return stop(`this site is not allowed to use the chat server${said}`);
      default:
        return stop(`the server closed the connection for good (${code})${said}`);
    }
  }
  if (ctx.refusal?.code === ErrorCode.AUTH_UNAVAILABLE) return { action: 'retry', reason: `the server cannot check the token now${said}` };
  if (!ctx.established) return { action: 'retry', reason: `could not connect${said}` };
  if (code === CloseCode.HEARTBEAT_TIMEOUT) return { action: 'retry', reason: reason || 'the connection stopped answering' };
  return { action: 'retry', reason: `connection lost${said}` };
}

/** What the server said on one socket about the close that follows, read by that close. */
export interface CloseNotes {
  /** The server's stated reason for refusing the socket's `hello`. */
  refusal: { code: string; message: string } | null;
  /** `retryAfter` of a `TOO_MANY_CONNECTIONS` error: the 4029 close behind it waits that long. */
  retryAfter: number | null;
}

/**
 * Keeps, for the current socket, the `error` frames that announce its close. They are read as they
 * arrive, not in turn with the other frames: the close that follows is decided before queued frames are
 * handled.
 */
export class CloseNotebook {
  #notes: CloseNotes = { refusal: null, retryAfter: null };

  /**
   * Notes what `frame` says about the coming close. True when the frame says nothing else: a refused
   * `hello` is no refusal of a message, and the close right behind it reports it.
   */
  note(frame: ServerFrame): boolean {
    if (frame.type !== 'error') return false;
    if (HELLO_REFUSALS.has(frame.code)) {
      this.#notes.refusal = { code: frame.code, message: frame.message };
      return true;
    }
    if (frame.code === ErrorCode.TOO_MANY_CONNECTIONS) this.#notes.retryAfter = frame.retryAfter ?? null;
    return false;
  }

  /** The notes of the socket that closed; the next socket starts with none. */
  take(): CloseNotes {
    const notes = this.#notes;
    this.clear();
    return notes;
  }

  /** Forgets the notes: a new socket opened. */
  clear(): void {
    this.#notes = { refusal: null, retryAfter: null };
  }
}
