/**
 * Hostile frames for the server fuzz test, each with the outcome protocol v1 promises for it. Every
 * choice comes from a seeded `Prng`, so a seed replays the same frames (the server's timing still varies).
 *
 * The expected outcome is written by hand per generator, from `docs/protocol.md`, not computed with
 * `parseClientFrame`: an oracle that reuses the code under test could not catch it being wrong.
 */
import { ErrorCode, LIMITS, type Ref, type ServerFrame } from '../../src/protocol/index.ts';
import type { Prng } from '../chaos/prng.ts';

/** One acceptable answer to a frame. `ref` is checked exactly when present (`null`: the error has ref null). */
export type Answer =
  | { type: 'error'; codes: readonly ErrorCode[]; ref?: Ref | null }
  | { type: 'pong'; ref?: Ref }
  | { type: 'sent'; cmid: string }
  | { type: 'history'; conv: string; ref?: Ref }
  | { type: 'welcome'; ref?: Ref };

/** What the server may do with one frame: answer it with one of `answers`, stay silent, or close. */
export interface Expectation {
  answers: readonly Answer[];
  /** No answer at all is right (unknown types; the error before an auth close may be left out). */
  silent: boolean;
  /** Close codes this frame may cause. */
  closes: readonly number[];
  /**
   * A `send` waits for its group commit (the end of the socket read), so when a later frame of the same
   * burst closes the connection, its `sent` may never be written: the client resends it.
   */
  lostOnClose?: boolean;
}

/** A frame to send and what must come of it. */
export interface FuzzFrame {
  /** Generator and variant, for failure reports and the tally. */
  label: string;
  data: string | Buffer;
  /** A text or binary message, or `wire`: bytes written straight to the TCP socket (a hand-made WebSocket frame). */
  as: 'text' | 'binary' | 'wire';
  expect: Expectation;
  /** A `send` that may be stored: its cmid, conv and text, for the database check. */
  stores?: { cmid: string; conv: string; text: string };
}

/** Tokens the generators put in `hello`, signed beforehand (signing is asynchronous, generating is not). */
export interface FuzzTokens {
  /** A valid token of the connection's user. */
  good: string;
  /** Missing, malformed or forged tokens: the server closes with 4003. */
  refused: readonly string[];
  /** Signed correctly but expired: 4001. */
  expired: string;
}

export type SessionPhase = 'anon' | 'ready';

/** Conversation ids the fuzz writes to; some are names a plain-object map would trip over. */
export const FUZZ_CONVS = ['fuzz-a', 'fuzz-b', '__proto__', 'constructor', 'hasOwnProperty', 'x'.repeat(128), 'a.b:c_d-e'] as const;

/** Errors from limits that may answer any frame (the rate limiter counts every frame). */
const ANY_FRAME_CODES: readonly ErrorCode[] = [ErrorCode.RATE_LIMITED];
/** Closes any frame may bring: a flood far over the rate limit. */
const ANY_FRAME_CLOSES: readonly number[] = [1008];
/** Outcomes of a well-formed `send` besides `sent`: membership, anti-spam and filter rules. */
const SEND_REFUSALS: readonly ErrorCode[] = [ErrorCode.FORBIDDEN, ErrorCode.SPAM, ErrorCode.REJECTED];
const TOKEN_REFUSALS: readonly ErrorCode[] = [ErrorCode.TOKEN_MISSING, ErrorCode.TOKEN_MALFORMED, ErrorCode.TOKEN_INVALID, ErrorCode.TOKEN_CLAIMS];

/** Whether `frame` (parsed and valid per `parseServerFrame`) is an acceptable `answer`. */
export function answers(answer: Answer, frame: ServerFrame): boolean {
  if (frame.type !== answer.type) return false;
  switch (answer.type) {
    case 'error': {
      const f = frame as Extract<ServerFrame, { type: 'error' }>;
      return answer.codes.includes(f.code) && (answer.ref === undefined || f.ref === answer.ref);
    }
    case 'sent':
      return (frame as Extract<ServerFrame, { type: 'sent' }>).cmid === answer.cmid;
    case 'history':
      return (frame as Extract<ServerFrame, { type: 'history' }>).conv === answer.conv && refIs(frame, answer.ref);
    case 'pong':
    case 'welcome':
      return refIs(frame, answer.ref);
  }
}

function refIs(frame: ServerFrame, ref: Ref | undefined): boolean {
  return (frame as { ref?: Ref }).ref === ref;
}

/** Whether `frame` answers any frame at all: the rate limit's error, which must say when to retry. */
export function answersAnyFrame(frame: ServerFrame): boolean {
  return frame.type === 'error' && ANY_FRAME_CODES.includes(frame.code) && typeof frame.retryAfter === 'number';
}

export function closesAnyFrame(code: number): boolean {
  return ANY_FRAME_CLOSES.includes(code);
}

// ---- building JSON with values JSON.stringify cannot write (1e309, -0, 9007199254740993) ----

/** A JSON token written verbatim. */
class Raw {
  constructor(readonly text: string) {}
}
const raw = (text: string) => new Raw(text);

/** JSON.stringify, except that `Raw` values are written as their text. */
function json(value: unknown): string {
  const raws: string[] = [];
  const out = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Raw) {
      raws.push(v.text);
      return `\u0001raw${raws.length - 1}\u0001`;
    }
    return v;
  });
  return out.replace(/"\\u0001raw(\d+)\\u0001"/g, (_m, i: string) => raws[Number(i)]!);
}

/** Pads a JSON object frame with a `pad` field so that it is exactly `bytes` long in UTF-8. */
function padTo(bytes: number, frame: Record<string, unknown>, unit: string): string {
  const base = json({ ...frame, pad: '' });
  const room = bytes - Buffer.byteLength(base);
  const unitBytes = Buffer.byteLength(unit);
  const units = Math.max(0, Math.floor(room / unitBytes));
  const rest = room - units * unitBytes;
  return json({ ...frame, pad: unit.repeat(units) + 'a'.repeat(Math.max(0, rest)) });
}

// ---- outcome shorthands ----

function error(codes: ErrorCode | readonly ErrorCode[], ref: Ref | null): Expectation {
  return { answers: [{ type: 'error', codes: typeof codes === 'string' ? [codes] : codes, ref }], silent: false, closes: [] };
}
const silent: Expectation = { answers: [], silent: true, closes: [] };
const tooBig: Expectation = { answers: [], silent: true, closes: [1009] };

/**
 * Frames for one connection, from one seeded `Prng`. `cmids` names every send it generated, so a
 * later one can resend an earlier cmid (the server must answer with the original, `dup`).
 */
export class FrameFuzzer {
  private count = 0;
  private readonly cmids: string[] = [];

  constructor(
    private readonly prng: Prng,
    /** Makes cmids unique across fuzzers and runs: the worker and the seed. */
    private readonly cmidPrefix: string,
    private readonly tokens: FuzzTokens,
  ) {}

  /**
   * A burst of `n` frames for a connection in `phase`. With `endWithHello` (only in `anon`), a hello
   * follows them: good or bad, it ends the anonymous phase, so nothing is generated after it.
   */
  batch(phase: SessionPhase, n: number, endWithHello: boolean): FuzzFrame[] {
    const frames = Array.from({ length: n }, () => this.next(phase));
    if (endWithHello && phase === 'anon') frames.push(this.hello('anon'));
    return frames;
  }

  /** A flood: hundreds of cheap frames in one burst. */
  flood(phase: SessionPhase, n: number): FuzzFrame[] {
    return Array.from({ length: n }, () => {
      const pick = this.prng.int(0, 5);
      return pick < 3 ? this.valid(phase, true) : pick === 3 ? this.badJson() : pick === 4 ? this.unknownType() : this.refs();
    });
  }

  /** One frame of the mix; never a hello before a session (that ends the phase: see `batch`). */
  next(phase: SessionPhase): FuzzFrame {
    const p = this.prng;
    const roll = p.int(0, 99);
    if (roll < 10) return this.badJson();
    if (roll < 15) return this.nonObject();
    if (roll < 20) return this.typeProblems();
    if (roll < 26) return this.unknownType();
    if (roll < 34) return this.badSend();
    if (roll < 39) return this.badSync(phase);
    if (roll < 42) return phase === 'ready' ? (p.chance(0.5) ? this.hello(phase) : this.badHelloInSession()) : this.refs();
    if (roll < 47) return this.refs();
    if (roll < 51) return this.protoKeys(phase);
    if (roll < 54) return this.huge();
    if (roll < 56) return this.deep();
    if (roll < 59) return this.binary();
    if (roll < 60) return p.chance(0.5) ? this.badUtf8() : this.wire();
    if (roll < 64) return this.controlChars(phase);
    return this.valid(phase, false);
  }

  // ---- generators ----

  private cmid(): string {
    // Padded so that even the shortest prefix makes the 8 characters a cmid needs.
    const id = `${this.cmidPrefix}-${(this.count++).toString(36).padStart(6, '0')}`;
    this.cmids.push(id);
    return id;
  }

  private conv(): string {
    return this.prng.pick(FUZZ_CONVS);
  }

  /** A ref that the server must echo, or none. */
  private goodRef(): Ref | undefined {
    return this.prng.pick<Ref | undefined>([undefined, 0, 7, -3, Number.MAX_SAFE_INTEGER, '', 'r-1', 'NaN', '__proto__', '\udc00', 'é'.repeat(64)]);
  }

  /** A well-formed `send`/`sync`/`ping` and its promised answer. */
  private valid(phase: SessionPhase, cheap: boolean): FuzzFrame {
    const kind = cheap ? this.prng.pick(['ping', 'ping', 'send'] as const) : this.prng.pick(['ping', 'sync', 'send', 'send', 'resend'] as const);
    const ref = this.goodRef();
    if (kind === 'ping') return { label: 'valid/ping', data: json({ type: 'ping', ref }), as: 'text', expect: { answers: [{ type: 'pong', ref }], silent: false, closes: [] } };
    if (kind === 'sync') {
      const conv = this.conv();
      const after = this.prng.pick([0, 1, 5, 1000, Number.MAX_SAFE_INTEGER]);
      const limit = this.prng.pick([undefined, 1, 200, 1_000_000]);
      const data = json({ type: 'sync', conv, after, limit, ref });
      return { label: 'valid/sync', data, as: 'text', expect: phase === 'anon' ? error(ErrorCode.HELLO_REQUIRED, ref ?? null) : syncAnswer(conv, ref) };
    }
    const resend = kind === 'resend' && this.cmids.length > 0;
    const cmid = resend ? this.prng.pick(this.cmids) : this.cmid();
    const conv = this.conv();
    const text = this.prng.pick(['hi', 'Hello 👋', 'x'.repeat(LIMITS.maxText), '😀'.repeat(LIMITS.maxText / 2), '\u200b', 'a\u0000b']);
    return this.sendFrame(resend ? 'valid/resend' : 'valid/send', phase, { type: 'send', conv, cmid, text }, conv, cmid, text);
  }

  private sendFrame(label: string, phase: SessionPhase, frame: Record<string, unknown>, conv: string, cmid: string, text: string): FuzzFrame {
    const expect: Expectation =
      phase === 'anon'
        ? error(ErrorCode.HELLO_REQUIRED, cmid)
        : { answers: [{ type: 'sent', cmid }, { type: 'error', codes: SEND_REFUSALS, ref: cmid }], silent: false, closes: [], lostOnClose: true };
    return { label, data: json(frame), as: 'text', expect, ...(phase === 'ready' && { stores: { cmid, conv, text } }) };
  }

  private badJson(): FuzzFrame {
    const whole = json({ type: 'ping', ref: 1 });
    const variants: Array<[string, string]> = [
      ['truncated', whole.slice(0, this.prng.int(0, whole.length - 1))],
      ['empty', ''],
      ['whitespace', ' \n\t '],
      ['trailing comma', '{"type":"ping",}'],
      ['single quotes', "{'type':'ping'}"],
      ['extra brace', '{"type":"ping"}}'],
      ['trailing garbage', '{"type":"ping"} x'],
      ['NaN literal', '{"type":"ping","ref":NaN}'],
      ['Infinity literal', '{"type":"ping","ref":Infinity}'],
      ['comment', '{"type":"ping"/* hi */}'],
      ['raw control character in a string', '{"type":"pi\u0001ng"}'],
      ['raw NUL outside a string', '{"type":"ping"}\u0000'],
      ['byte order mark', '\ufeff{"type":"ping"}'],
      ['bad escape', '{"type":"\\x70ing"}'],
      ['short unicode escape', '{"type":"\\u12"}'],
      ['unterminated string', '{"type":"ping'],
      ['hex number', '{"type":"ping","ref":0x10}'],
      ['leading zero', '{"type":"ping","ref":007}'],
      ['random printable', this.unparsablePrintable()],
    ];
    const [variant, data] = this.prng.pick(variants);
    return { label: `bad-json/${variant}`, data, as: 'text', expect: error(ErrorCode.BAD_JSON, null) };
  }

  /** `{` and 1 to 200 printable ASCII characters, drawn again in the rare case they parse (`{}`, `{} `). */
  private unparsablePrintable(): string {
    for (;;) {
      const text = '{' + Array.from({ length: this.prng.int(1, 200) }, () => String.fromCharCode(this.prng.int(32, 126))).join('');
      try {
        JSON.parse(text);
      } catch {
        return text;
      }
    }
  }

  private nonObject(): FuzzFrame {
    const data = this.prng.pick(['[]', '[{"type":"ping"}]', '42', '-0', '1e309', 'null', 'true', '"ping"', '"{\\"type\\":\\"ping\\"}"', '[[[[[]]]]]']);
    return { label: `non-object/${data.slice(0, 12)}`, data, as: 'text', expect: error(ErrorCode.BAD_JSON, null) };
  }

  private typeProblems(): FuzzFrame {
    const ref = this.goodRef();
    const [variant, frame] = this.prng.pick<[string, Record<string, unknown>]>([
      ['no type', { ref }],
      ['null type', { type: null, ref }],
      ['number type', { type: 5, ref }],
      ['array type', { type: ['ping'], ref }],
      ['object type', { type: { ping: 1 }, ref }],
      ['boolean type', { type: true, ref }],
    ]);
    return { label: `type/${variant}`, data: json(frame), as: 'text', expect: error(ErrorCode.BAD_FRAME, ref ?? null) };
  }

  /** Unknown types are ignored by design (protocol.md: "Unknown frame types are ignored"). */
  private unknownType(): FuzzFrame {
    const type = this.prng.pick(['PING', 'Ping', ' ping', 'ping\u0000', '', 'welcome', 'sent', 'error', 'msg', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'typing', 'x'.repeat(1000)]);
    if (this.prng.chance(0.2)) {
      // Whatever it carries: a bad ref of an unknown frame is not the server's to judge.
      return { label: 'unknown-type/bad ref', data: json({ type, ref: this.prng.pick([1.5, { r: 1 }, 'r'.repeat(65)]) }), as: 'text', expect: silent };
    }
    const extra = this.prng.pick<Record<string, unknown>>([{}, { conv: 'fuzz-a', text: 'hi' }, { nested: { a: [1, { b: null }] } }, { ref: 'r' }]);
    return { label: `unknown-type/${type.slice(0, 16)}`, data: json({ type, ...extra }), as: 'text', expect: silent };
  }

  /** Field errors are checked before the session state, so they get the same answer before and after hello. */
  private badSend(): FuzzFrame {
    const ref = this.goodRef();
    const cmid = this.cmid();
    const conv = this.conv();
    const p = this.prng;
    const cmidCases: Array<[string, unknown]> = [['missing', undefined], ['number', 12345678], ['short', 'abc'], ['65 long', 'c'.repeat(65)], ['space', 'abc def gh'], ['slash', 'abcd/efgh'], ['NUL', 'abcdefg\u0000'], ['emoji', 'abcdefg😀']];
    const convCases: Array<[string, unknown]> = [['missing', undefined], ['number', 1], ['empty', ''], ['129 long', 'c'.repeat(129)], ['slash', 'a/b'], ['space', 'a b'], ['NUL', '\u0000aaa'], ['array', ['fuzz-a']]];
    const textCases: Array<[string, unknown, ErrorCode]> = [
      ['missing', undefined, ErrorCode.BAD_FRAME],
      ['number', 5, ErrorCode.BAD_FRAME],
      ['null', null, ErrorCode.BAD_FRAME],
      ['array', ['hi'], ErrorCode.BAD_FRAME],
      ['empty', '', ErrorCode.TEXT_EMPTY],
      ['spaces', '   ', ErrorCode.TEXT_EMPTY],
      ['tab newline', '\t\n\r', ErrorCode.TEXT_EMPTY],
      ['nbsp and BOM', '\u00a0\ufeff\u2028', ErrorCode.TEXT_EMPTY],
      ['lone high surrogate', 'x\ud800', ErrorCode.BAD_FRAME],
      ['lone low surrogate', '\udc00x', ErrorCode.BAD_FRAME],
      ['reversed pair', 'a\ude00\ud83d', ErrorCode.BAD_FRAME],
      ['one over maxText', 'x'.repeat(LIMITS.maxText + 1), ErrorCode.TEXT_TOO_LONG],
      ['emoji over maxText', '😀'.repeat(LIMITS.maxText / 2 + 1), ErrorCode.TEXT_TOO_LONG],
    ];
    const which = p.int(0, 2);
    if (which === 0) {
      const [variant, bad] = p.pick(cmidCases);
      // Without a valid cmid, the error echoes the frame's ref instead.
      return { label: `send/cmid ${variant}`, data: json({ type: 'send', conv, cmid: bad, text: 'hi', ref }), as: 'text', expect: error(ErrorCode.BAD_FRAME, ref ?? null) };
    }
    if (which === 1) {
      const [variant, bad] = p.pick(convCases);
      return { label: `send/conv ${variant}`, data: json({ type: 'send', conv: bad, cmid, text: 'hi' }), as: 'text', expect: error(ErrorCode.BAD_FRAME, cmid) };
    }
    const [variant, bad, code] = p.pick(textCases);
    return { label: `send/text ${variant}`, data: json({ type: 'send', conv, cmid, text: bad }), as: 'text', expect: error(code, cmid) };
  }

  private badSync(phase: SessionPhase): FuzzFrame {
    const ref = this.goodRef();
    const conv = this.conv();
    const p = this.prng;
    const bad: Array<[string, Record<string, unknown>]> = [
      ['conv missing', { after: 0 }],
      ['conv number', { conv: 7, after: 0 }],
      ['conv 129', { conv: 'c'.repeat(129), after: 0 }],
      ['after missing', { conv }],
      ['after -1', { conv, after: -1 }],
      ['after 1.5', { conv, after: 1.5 }],
      ['after string', { conv, after: '5' }],
      ['after NaN string', { conv, after: 'NaN' }],
      ['after Infinity string', { conv, after: 'Infinity' }],
      ['after null', { conv, after: null }],
      ['after true', { conv, after: true }],
      ['after 1e309', { conv, after: raw('1e309') }],
      ['after -1e309', { conv, after: raw('-1e309') }],
      ['after 2^53+1', { conv, after: raw('9007199254740993') }],
      ['limit 0', { conv, after: 0, limit: 0 }],
      ['limit -1', { conv, after: 0, limit: -1 }],
      ['limit 1.5', { conv, after: 0, limit: 1.5 }],
      ['limit string', { conv, after: 0, limit: '10' }],
      ['limit null', { conv, after: 0, limit: null }],
      ['limit 1e309', { conv, after: 0, limit: raw('1e309') }],
      ['limit -0', { conv, after: 0, limit: raw('-0') }],
    ];
    const fine: Array<[string, Record<string, unknown>]> = [
      ['after -0', { conv, after: raw('-0') }],
      ['after 1e2', { conv, after: raw('1e2') }],
      ['after 2^53-1', { conv, after: raw('9007199254740991') }],
      ['limit 1e6', { conv, after: 0, limit: raw('1e6') }],
      ['limit 1.0', { conv, after: 0, limit: raw('1.0') }],
    ];
    if (p.chance(0.25)) {
      const [variant, fields] = p.pick(fine);
      const expect = phase === 'anon' ? error(ErrorCode.HELLO_REQUIRED, ref ?? null) : syncAnswer(conv, ref);
      return { label: `sync/${variant}`, data: json({ type: 'sync', ...fields, ref }), as: 'text', expect };
    }
    const [variant, fields] = p.pick(bad);
    return { label: `sync/${variant}`, data: json({ type: 'sync', ...fields, ref }), as: 'text', expect: error(ErrorCode.BAD_FRAME, ref ?? null) };
  }

  /** A hello. Before a session: a good one gets `welcome`, anything else a coded close. After: ALREADY_HELLO. */
  private hello(phase: SessionPhase): FuzzFrame {
    const ref = this.goodRef();
    const convs = this.prng.pick([[], [{ conv: 'fuzz-a', after: 0 }], FUZZ_CONVS.map((conv) => ({ conv, after: 0 }))]);
    if (phase === 'ready') {
      const token = this.prng.pick([this.tokens.good, 'garbage']);
      return { label: 'hello/second', data: json({ type: 'hello', token, convs, ref }), as: 'text', expect: error(ErrorCode.ALREADY_HELLO, ref ?? null) };
    }
    const roll = this.prng.int(0, 9);
    if (roll < 5) {
      return { label: 'hello/good', data: json({ type: 'hello', token: this.tokens.good, convs, ref }), as: 'text', expect: { answers: [{ type: 'welcome', ref }], silent: false, closes: [] } };
    }
    if (roll < 8) {
      const token = this.prng.pick(this.tokens.refused);
      const expect: Expectation = { answers: [{ type: 'error', codes: TOKEN_REFUSALS }], silent: true, closes: [4003] };
      return { label: 'hello/refused token', data: json({ type: 'hello', token, convs, ref }), as: 'text', expect };
    }
    if (roll < 9) {
      const expect: Expectation = { answers: [{ type: 'error', codes: [ErrorCode.TOKEN_EXPIRED] }], silent: true, closes: [4001] };
      return { label: 'hello/expired token', data: json({ type: 'hello', token: this.tokens.expired, convs, ref }), as: 'text', expect };
    }
    return this.badHello();
  }

  /** A malformed hello before a session: BAD_FRAME and 4005 (an empty or oversized token may count as a token refusal: 4003). */
  private badHello(): FuzzFrame {
    const [variant, frame] = this.badHelloFields();
    const expect: Expectation = {
      answers: [{ type: 'error', codes: [ErrorCode.BAD_FRAME, ErrorCode.TOKEN_MISSING, ErrorCode.TOKEN_MALFORMED] }],
      silent: false,
      closes: [4005, 4003],
    };
    return { label: `hello/bad ${variant}`, data: json(frame), as: 'text', expect };
  }

  /** A malformed hello on a connection that has a session: an error, and the session goes on. */
  private badHelloInSession(): FuzzFrame {
    const [variant, frame] = this.badHelloFields();
    // BAD_FRAME from validation; ALREADY_HELLO if a token problem is left to verification instead.
    return { label: `hello/bad in session ${variant}`, data: json(frame), as: 'text', expect: error([ErrorCode.BAD_FRAME, ErrorCode.ALREADY_HELLO], null) };
  }

  private badHelloFields(): [string, Record<string, unknown>] {
    const good = this.tokens.good;
    return this.prng.pick<[string, Record<string, unknown>]>([
      ['token missing', { type: 'hello', convs: [] }],
      ['token number', { type: 'hello', token: 42, convs: [] }],
      ['token empty', { type: 'hello', token: '', convs: [] }],
      ['token 8193', { type: 'hello', token: 't'.repeat(8193), convs: [] }],
      ['convs object', { type: 'hello', token: good, convs: { conv: 'a', after: 0 } }],
      ['convs 101', { type: 'hello', token: good, convs: Array.from({ length: 101 }, (_, i) => ({ conv: `c${i}`, after: 0 })) }],
      ['convs item null', { type: 'hello', token: good, convs: [null] }],
      ['convs after -1', { type: 'hello', token: good, convs: [{ conv: 'a', after: -1 }] }],
      ['convs after 1e309', { type: 'hello', token: good, convs: [{ conv: 'a', after: raw('1e309') }] }],
      ['convs bad conv', { type: 'hello', token: good, convs: [{ conv: 'a b', after: 0 }] }],
      ['bad ref', { type: 'hello', token: good, convs: [], ref: { r: 1 } }],
    ]);
  }

  private refs(): FuzzFrame {
    if (this.prng.chance(0.5)) {
      const ref = this.goodRef();
      return { label: 'ref/echoed', data: json({ type: 'ping', ref }), as: 'text', expect: { answers: [{ type: 'pong', ref }], silent: false, closes: [] } };
    }
    const [variant, ref] = this.prng.pick<[string, unknown]>([
      ['65 long', 'r'.repeat(65)],
      ['1.5', 1.5],
      ['1e309', raw('1e309')],
      ['2^53+1', raw('9007199254740993')],
      ['null', null],
      ['true', true],
      ['object', { a: 1 }],
      ['array', [1]],
    ]);
    return { label: `ref/bad ${variant}`, data: json({ type: 'ping', ref }), as: 'text', expect: error(ErrorCode.BAD_FRAME, null) };
  }

  private protoKeys(phase: SessionPhase): FuzzFrame {
    const p = this.prng;
    const variant = p.int(0, 5);
    const pong: Expectation = { answers: [{ type: 'pong' }], silent: false, closes: [] };
    if (variant === 0) return { label: 'proto/__proto__ ref', data: '{"type":"ping","__proto__":{"ref":5}}', as: 'text', expect: pong };
    if (variant === 1) return { label: 'proto/constructor.prototype', data: '{"type":"ping","constructor":{"prototype":{"isAdmin":true,"ref":9}}}', as: 'text', expect: pong };
    if (variant === 2) return { label: 'proto/type under __proto__', data: '{"__proto__":{"type":"ping"}}', as: 'text', expect: error(ErrorCode.BAD_FRAME, null) };
    if (variant === 3) {
      const cmid = this.cmid();
      const data = `{"type":"send","conv":"fuzz-a","cmid":"${cmid}","__proto__":{"text":"from the prototype"}}`;
      return { label: 'proto/text under __proto__', data, as: 'text', expect: error(ErrorCode.BAD_FRAME, cmid) };
    }
    if (variant === 4) {
      // Fields the server must take from the token, never from the frame; the database check proves it.
      const cmid = this.cmid();
      const conv = p.pick(['__proto__', 'constructor', 'hasOwnProperty']);
      const frame = JSON.parse(
        `{"type":"send","conv":"${conv}","cmid":"${cmid}","text":"proto conv","from":"admin","name":"Admin","seq":1,"ts":0,"__proto__":{"from":"admin"}}`,
      ) as Record<string, unknown>;
      return this.sendFrame('proto/send with from and __proto__', phase, frame, conv, cmid, 'proto conv');
    }
    // Duplicate keys: the last one wins in JSON.parse, so this is a ping.
    return { label: 'proto/duplicate type key', data: '{"type":"send","conv":"fuzz-a","cmid":"dupkey-0001","text":"x","type":"ping"}', as: 'text', expect: pong };
  }

  private huge(): FuzzFrame {
    const max = LIMITS.maxFrame;
    const p = this.prng;
    const unit = p.pick(['a', 'é', '€', '😀']);
    const ref = this.goodRef();
    const size = p.pick([max - p.int(0, 64), max, max + 1, max + p.int(2, 4000), 4 * max]);
    const data = padTo(size, { type: 'ping', ref }, unit);
    const bytes = Buffer.byteLength(data);
    if (bytes > max) return { label: `huge/over maxFrame (${unit})`, data, as: 'text', expect: tooBig };
    if (p.chance(0.3)) {
      // Just under the limit, of an unknown type: ignored like any unknown type.
      const unknown = padTo(size, { type: 'bulk' }, unit);
      if (Buffer.byteLength(unknown) <= max) return { label: `huge/unknown type under maxFrame (${unit})`, data: unknown, as: 'text', expect: silent };
    }
    return { label: `huge/under maxFrame (${unit})`, data, as: 'text', expect: { answers: [{ type: 'pong', ref }], silent: false, closes: [] } };
  }

  private deep(): FuzzFrame {
    const depth = this.prng.pick([1000, 10_000, 32_000]);
    const arrays = '['.repeat(depth) + ']'.repeat(depth);
    const variant = this.prng.int(0, 4);
    // V8 parses JSON iteratively; were it recursive, the RangeError would also be BAD_JSON.
    if (variant === 0) return { label: `deep/${depth} arrays`, data: arrays, as: 'text', expect: error(ErrorCode.BAD_JSON, null) };
    if (variant === 1) return { label: `deep/${depth} unclosed`, data: '['.repeat(depth * 2), as: 'text', expect: error(ErrorCode.BAD_JSON, null) };
    if (variant === 2) {
      return { label: `deep/${depth} in a ping`, data: `{"type":"ping","nested":${arrays}}`, as: 'text', expect: { answers: [{ type: 'pong' }, { type: 'error', codes: [ErrorCode.BAD_JSON], ref: null }], silent: false, closes: [] } };
    }
    if (variant === 3) {
      const levels = Math.min(depth, 10_000); // 6 bytes a level: more would pass maxFrame
      const objects = '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
      return { label: `deep/objects without type`, data: objects, as: 'text', expect: error([ErrorCode.BAD_FRAME, ErrorCode.BAD_JSON], null) };
    }
    return { label: `deep/${depth} as ref`, data: `{"type":"ping","ref":${arrays}}`, as: 'text', expect: error([ErrorCode.BAD_FRAME, ErrorCode.BAD_JSON], null) };
  }

  private binary(): FuzzFrame {
    const p = this.prng;
    const variant = p.int(0, 3);
    if (variant === 0) return { label: 'binary/valid JSON ping', data: Buffer.from('{"type":"ping","ref":1}'), as: 'binary', expect: error(ErrorCode.BINARY_UNSUPPORTED, null) };
    if (variant === 1) return { label: 'binary/empty', data: Buffer.alloc(0), as: 'binary', expect: error(ErrorCode.BINARY_UNSUPPORTED, null) };
    if (variant === 2 && p.chance(0.2)) return { label: 'binary/over maxFrame', data: Buffer.alloc(LIMITS.maxFrame + 1, 7), as: 'binary', expect: tooBig };
    const bytes = Buffer.from(Array.from({ length: p.int(1, 512) }, () => p.int(0, 255)));
    return { label: 'binary/random bytes', data: bytes, as: 'binary', expect: error(ErrorCode.BINARY_UNSUPPORTED, null) };
  }

  /**
   * A text frame that is not UTF-8 (a raw lone surrogate, an overlong encoding, a stray continuation
   * byte). RFC 6455 requires closing with 1007, so this is the one frame that is answered by a close.
   */
  private badUtf8(): FuzzFrame {
    const bytes = this.prng.pick([
      [0xed, 0xa0, 0x80],
      [0xc0, 0xaf],
      [0x80],
      [0xff, 0xfe],
      [0xf4, 0x90, 0x80, 0x80],
    ]);
    const data = Buffer.concat([Buffer.from('{"type":"ping","ref":"'), Buffer.from(bytes), Buffer.from('"}')]);
    return { label: 'text/invalid UTF-8', data, as: 'text', expect: { answers: [], silent: true, closes: [1007] } };
  }

  /**
   * A WebSocket frame made by hand, breaking the framing rules of RFC 6455 or following them in ways a
   * library client never does (fragments, non-minimal lengths). Broken framing closes with 1002.
   */
  private wire(): FuzzFrame {
    const ping = Buffer.from('{"type":"ping","ref":"wire"}');
    const pong: Expectation = { answers: [{ type: 'pong', ref: 'wire' }], silent: false, closes: [] };
    const broken: Expectation = { answers: [], silent: true, closes: [1002] };
    const cases: Array<[string, Buffer, Expectation]> = [
      ['unmasked', wsFrame({ opcode: 1, payload: ping, mask: false }), broken],
      ['RSV1 without an extension', wsFrame({ rsv: 4, opcode: 1, payload: ping }), broken],
      ['RSV3', wsFrame({ rsv: 1, opcode: 1, payload: ping }), broken],
      ['reserved data opcode', wsFrame({ opcode: 3, payload: ping }), broken],
      ['reserved control opcode', wsFrame({ opcode: 0xb, payload: Buffer.from('x') }), broken],
      ['ping over 125 bytes', wsFrame({ opcode: 9, payload: Buffer.alloc(126) }), broken],
      ['fragmented ping', wsFrame({ fin: false, opcode: 9, payload: Buffer.from('x') }), broken],
      ['continuation without a start', wsFrame({ opcode: 0, payload: ping }), broken],
      ['text inside a fragmented text', Buffer.concat([wsFrame({ fin: false, opcode: 1, payload: ping.subarray(0, 5) }), wsFrame({ opcode: 1, payload: ping })]), broken],
      ['close with code 1005', wsFrame({ opcode: 8, payload: Buffer.from([0x03, 0xed]) }), broken],
      ['close with a 1-byte body', wsFrame({ opcode: 8, payload: Buffer.from([3]) }), broken],
      ['close reason not UTF-8', wsFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0xff]) }), { answers: [], silent: true, closes: [1007] }],
      ['length 2^63-1', Buffer.from([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]), tooBig],
      // The server echoes a client's close with the client's code.
      ['close 1000', wsFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }), { answers: [], silent: true, closes: [1000] }],
      ['ping frame', wsFrame({ opcode: 9, payload: Buffer.from('hi') }), silent],
      ['fragmented text', Buffer.concat([wsFrame({ fin: false, opcode: 1, payload: ping.subarray(0, 9) }), wsFrame({ fin: false, opcode: 0, payload: ping.subarray(9, 12) }), wsFrame({ opcode: 0, payload: ping.subarray(12) })]), pong],
      ['16-bit length for a short frame', wsFrame({ opcode: 1, payload: ping, longLength: true }), pong],
    ];
    const [variant, data, expect] = this.prng.pick(cases);
    return { label: `wire/${variant}`, data, as: 'wire', expect };
  }

  private controlChars(phase: SessionPhase): FuzzFrame {
    const text = this.prng.pick([
      'nul \u0000 inside',
      Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('') + 'x',
      'del \u007f c1 \u0085 \u009f',
      'line sep \u2028 para sep \u2029',
      'rtl \u202e override \u202c',
      'zwj 👩\u200d👩\u200d👧',
      '\ufffe\uffff nonchars',
      'pair 😀 ok',
    ]);
    const conv = this.conv();
    const cmid = this.cmid();
    return this.sendFrame('text/control characters', phase, { type: 'send', conv, cmid, text }, conv, cmid, text);
  }
}

/** A client-to-server WebSocket frame (RFC 6455 section 5.2), masked unless told otherwise. */
export function wsFrame(opts: { fin?: boolean; rsv?: number; opcode: number; payload: Buffer; mask?: boolean; longLength?: boolean }): Buffer {
  const { fin = true, rsv = 0, opcode, payload, mask = true } = opts;
  const maskBit = mask ? 0x80 : 0;
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  if (payload.length < 126 && !opts.longLength) head.push(maskBit | payload.length);
  else head.push(maskBit | 126, payload.length >> 8, payload.length & 0xff);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const body = mask ? Buffer.from(payload.map((b, i) => b ^ key[i % 4]!)) : payload;
  return Buffer.concat([Buffer.from(head), mask ? key : Buffer.alloc(0), body]);
}

function syncAnswer(conv: string, ref: Ref | undefined): Expectation {
  return { answers: [{ type: 'history', conv, ref }, { type: 'error', codes: [ErrorCode.FORBIDDEN], ref: ref ?? null }], silent: false, closes: [] };
}
