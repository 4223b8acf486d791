/**
 * Validation of untrusted frames, shared by the server (frames from clients) and the client (frames
 * from the server). Pure functions over strings and plain objects: no DOM, no Node.
 */
import { ERROR_CODES, ErrorCode } from './codes.js';
import { LIMITS } from './frames.js';
import type { ClientFrame, ErrorFrame, Ref, ServerFrame } from './frames.js';

/** A conversation id: 1-128 characters from letters, digits and `_ . : -`. */
export const CONV_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/**
 * A user id (a token's `sub`, a message's `from`, an admin API member): 1-128 characters from letters,
 * digits and `_ . : @ | + -`, so emails and identity-provider subs such as `auth0|abc` fit.
 */
export const USER_PATTERN = /^[A-Za-z0-9_.:@|+-]{1,128}$/;
/** A client message id: 8-64 characters from letters, digits, `_` and `-` (a UUID or base64url id fits). */
export const CMID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

/** Why a frame was refused: the code, a message naming the field, and the ref to echo. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly ref: Ref | null;
  /** For `RATE_LIMITED` and `TOO_MANY_CONNECTIONS`: ms until the same frame may be sent again. */
  readonly retryAfter: number | undefined;
  constructor(code: ErrorCode, message: string, ref: Ref | null = null, retryAfter?: number) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.ref = ref;
    this.retryAfter = retryAfter === undefined ? undefined : Math.max(0, Math.ceil(retryAfter));
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }
}

/** The `error` frame that reports `error` (a function, not a method, so browser bundles leave it out). */
export function errorFrame(error: ProtocolError): ErrorFrame {
  const frame: ErrorFrame = { type: 'error', code: error.code, message: error.message, ref: error.ref, retryable: error.retryable };
  if (error.retryAfter !== undefined) frame.retryAfter = error.retryAfter;
  return frame;
}

export type ParseResult<T> = { ok: true; frame: T } | { ok: false; error: ProtocolError };

/** Whether `v` can serve as a `ref`: a string of at most 64 characters or a safe integer. */
export function isRef(v: unknown): v is Ref {
  return (typeof v === 'string' && v.length <= 64) || Number.isSafeInteger(v);
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

function isSeq(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

type Obj = Record<string, unknown>;

function readRef(o: Obj): Ref | null {
  return isRef(o.ref) ? o.ref : null;
}

function fail(code: ErrorCode, message: string, ref: Ref | null): { ok: false; error: ProtocolError } {
  return { ok: false, error: new ProtocolError(code, message, ref) };
}

/** `raw` as a JSON object, or why it is none (the message of a BAD_JSON refusal). */
function parseObject(raw: string): Obj | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return 'frame is not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'frame is not a JSON object';
  return value as Obj;
}

/** Checks message text: a well-formed string of 1..maxText UTF-16 code units with something besides white space. */
export function checkText(text: unknown, ref: Ref | null, maxText: number = LIMITS.maxText): ProtocolError | null {
  if (!isString(text)) return new ProtocolError(ErrorCode.BAD_FRAME, '`text` must be a string', ref);
  if (text.length > maxText) return new ProtocolError(ErrorCode.TEXT_TOO_LONG, `\`text\` is longer than ${maxText} characters`, ref);
  if (text.trim() === '') return new ProtocolError(ErrorCode.TEXT_EMPTY, '`text` is empty', ref);
  if (!isWellFormed(text)) return new ProtocolError(ErrorCode.BAD_FRAME, '`text` has an unpaired surrogate', ref);
  return null;
}

/** Half of a surrogate pair without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function isWellFormed(s: string): boolean {
  // String.prototype.isWellFormed is ES2024; the regex is the same test for older engines.
  const f = (s as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof f === 'function') return f.call(s);
  return s.search(LONE_SURROGATE) < 0;
}

/** `s` with every lone surrogate made U+FFFD, as String.prototype.toWellFormed (ES2024) does. */
export function toWellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

/**
 * Longest `hello` token, in characters: room for identity providers that put many groups or roles in
 * their tokens, well within `LIMITS.maxFrame`.
 */
const MAX_TOKEN = 16_384;

/** The client frame types this protocol version reads (the compiler holds it to `ClientFrame`). */
const KNOWN_TYPES: Record<ClientFrame['type'], true> = { hello: true, send: true, sync: true, ping: true };

/**
 * Parses a text frame from a client. Unknown types come back as `{ ok: true, frame: null }`: the
 * protocol says they are ignored, so newer clients can talk to older servers.
 */
export function parseClientFrame(raw: string, maxText: number = LIMITS.maxText): ParseResult<ClientFrame | null> {
  const o = parseObject(raw);
  if (isString(o)) return fail(ErrorCode.BAD_JSON, o, null);
  const ref = readRef(o);
  // Only a frame the server reads has its `ref` checked: an unknown type is ignored whatever it carries.
  if (o.ref !== undefined && ref === null && isString(o.type) && Object.hasOwn(KNOWN_TYPES, o.type)) {
    // An error about a send carries its cmid, when it has a readable one.
    const about = o.type === 'send' && isString(o.cmid) && CMID_PATTERN.test(o.cmid) ? o.cmid : null;
    return fail(ErrorCode.BAD_FRAME, '`ref` must be a string of at most 64 characters or an integer', about);
  }
  switch (o.type) {
    case 'hello': {
      // An empty token is well-formed: the server refuses it as TOKEN_MISSING (4003), which tells a
      // host that forgot to give one apart from a client that sends broken frames.
      if (!isString(o.token) || o.token.length > MAX_TOKEN) {
        return fail(ErrorCode.BAD_FRAME, `\`token\` must be a string of at most ${MAX_TOKEN} characters`, ref);
      }
      const convs = o.convs === undefined ? [] : o.convs;
      if (!Array.isArray(convs) || convs.length > LIMITS.maxConvs) {
        return fail(ErrorCode.BAD_FRAME, `\`convs\` must be an array of at most ${LIMITS.maxConvs} cursors`, ref);
      }
      const cursors = [];
      for (const c of convs as unknown[]) {
        const cur = c as Obj | null;
        if (typeof cur !== 'object' || cur === null || !isString(cur.conv) || !CONV_PATTERN.test(cur.conv) || !isSeq(cur.after)) {
          return fail(ErrorCode.BAD_FRAME, '`convs` items must be {conv, after} with a valid conversation id and a seq >= 0', ref);
        }
        cursors.push({ conv: cur.conv, after: cur.after });
      }
      const frame: ClientFrame = { type: 'hello', token: o.token, convs: cursors };
      if (ref !== null) frame.ref = ref;
      return { ok: true, frame };
    }
    case 'send': {
      const cmidRef = isString(o.cmid) && CMID_PATTERN.test(o.cmid) ? o.cmid : ref;
      if (!isString(o.cmid) || !CMID_PATTERN.test(o.cmid)) {
        return fail(ErrorCode.BAD_FRAME, '`cmid` must be 8-64 characters of [A-Za-z0-9_-]', ref);
      }
      if (!isString(o.conv) || !CONV_PATTERN.test(o.conv)) {
        return fail(ErrorCode.BAD_FRAME, '`conv` must be 1-128 characters of [A-Za-z0-9_.:-]', cmidRef);
      }
      const textError = checkText(o.text, cmidRef, maxText);
      if (textError) return { ok: false, error: textError };
      return { ok: true, frame: { type: 'send', conv: o.conv, cmid: o.cmid, text: o.text as string } };
    }
    case 'sync': {
      if (!isString(o.conv) || !CONV_PATTERN.test(o.conv)) {
        return fail(ErrorCode.BAD_FRAME, '`conv` must be 1-128 characters of [A-Za-z0-9_.:-]', ref);
      }
      if ((o.after === undefined) === (o.before === undefined)) {
        return fail(ErrorCode.BAD_FRAME, 'exactly one of `after` and `before` is required', ref);
      }
      if (o.after !== undefined && !isSeq(o.after)) return fail(ErrorCode.BAD_FRAME, '`after` must be an integer >= 0', ref);
      if (o.before !== undefined && !(isSeq(o.before) && o.before >= 1)) {
        return fail(ErrorCode.BAD_FRAME, '`before` must be an integer >= 1', ref);
      }
      if (o.limit !== undefined && !(Number.isSafeInteger(o.limit) && (o.limit as number) >= 1)) {
        return fail(ErrorCode.BAD_FRAME, '`limit` must be an integer >= 1', ref);
      }
      const frame: ClientFrame = isSeq(o.after) ? { type: 'sync', conv: o.conv, after: o.after } : { type: 'sync', conv: o.conv, before: o.before as number };
      if (o.limit !== undefined) frame.limit = o.limit as number;
      if (ref !== null) frame.ref = ref;
      return { ok: true, frame };
    }
    case 'ping': {
      const frame: ClientFrame = { type: 'ping' };
      if (ref !== null) frame.ref = ref;
      return { ok: true, frame };
    }
    default:
      if (!isString(o.type)) return fail(ErrorCode.BAD_FRAME, '`type` must be a string', ref);
      return { ok: true, frame: null };
  }
}

function isMessage(m: unknown): boolean {
  const o = m as Obj | null;
  return (
    typeof o === 'object' && o !== null &&
    isString(o.conv) && isSeq(o.seq) && (o.seq as number) >= 1 &&
    isString(o.cmid) && isString(o.from) && isString(o.name) &&
    isString(o.text) && Number.isFinite(o.ts)
  );
}

/**
 * Parses a text frame from the server. Returns null for anything unreadable or of an unknown type,
 * which a client ignores; a frame of a known type with wrong fields is also null (never trusted).
 */
export function parseServerFrame(raw: string): ServerFrame | null {
  const o = parseObject(raw);
  if (isString(o)) return null;
  switch (o.type) {
    case 'welcome':
      return isString(o.user) && Array.isArray(o.convs) && Number.isFinite(o.heartbeat) &&
        (o.denied === undefined || (Array.isArray(o.denied) && o.denied.every(isString)))
        ? (o as unknown as ServerFrame)
        : null;
    case 'sent':
      return isString(o.conv) && isString(o.cmid) && isSeq(o.seq) && Number.isFinite(o.ts) ? (o as unknown as ServerFrame) : null;
    case 'msg':
      return isMessage(o) ? (o as unknown as ServerFrame) : null;
    case 'history':
      return isString(o.conv) && Array.isArray(o.msgs) && o.msgs.every(isMessage) && typeof o.more === 'boolean' && isSeq(o.head)
        ? (o as unknown as ServerFrame)
        : null;
    case 'pong':
      return o as unknown as ServerFrame;
    case 'error':
      return isString(o.code) && isString(o.message) && typeof o.retryable === 'boolean' &&
        (o.retryAfter === undefined || (Number.isFinite(o.retryAfter) && (o.retryAfter as number) >= 0)) &&
        (o.conv === undefined || isString(o.conv))
        ? (o as unknown as ServerFrame)
        : null;
    default:
      return null;
  }
}
