import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS } from '../../src/protocol/frames.ts';
import { checkText, errorFrame, isRef, parseClientFrame, parseServerFrame, ProtocolError } from '../../src/protocol/validate.ts';

function refused(raw: string, maxText?: number): ProtocolError {
  const result = parseClientFrame(raw, maxText);
  assert.equal(result.ok, false, `expected ${raw.slice(0, 80)} to be refused`);
  return (result as { ok: false; error: ProtocolError }).error;
}

function accepted(frame: unknown): unknown {
  const result = parseClientFrame(JSON.stringify(frame));
  assert.equal(result.ok, true, JSON.stringify(result));
  return (result as { ok: true; frame: unknown }).frame;
}

const cmid = 'abcdefgh-1234';

describe('parseClientFrame', () => {
  it('parses hello, defaulting convs to none and keeping only known fields', () => {
    assert.deepEqual(accepted({ type: 'hello', token: 't', extra: 1 }), { type: 'hello', token: 't', convs: [] });
    assert.deepEqual(accepted({ type: 'hello', token: 't', convs: [{ conv: 'a', after: 3, x: 1 }], ref: 5 }), {
      type: 'hello', token: 't', convs: [{ conv: 'a', after: 3 }], ref: 5,
    });
  });

  it('refuses hello without a token, with bad cursors or with too many convs', () => {
    assert.equal(refused(JSON.stringify({ type: 'hello', ref: 'r' })).ref, 'r');
    // An empty token is left to the server's auth, which refuses it as TOKEN_MISSING.
    assert.deepEqual(accepted({ type: 'hello', token: '' }), { type: 'hello', token: '', convs: [] });
    assert.equal(refused(JSON.stringify({ type: 'hello', token: 't', convs: [{ conv: 'a', after: -1 }] })).code, 'BAD_FRAME');
    assert.equal(refused(JSON.stringify({ type: 'hello', token: 't', convs: [{ conv: 'a b', after: 0 }] })).code, 'BAD_FRAME');
    const many = Array.from({ length: LIMITS.maxConvs + 1 }, (_, i) => ({ conv: `c${i}`, after: 0 }));
    assert.equal(refused(JSON.stringify({ type: 'hello', token: 't', convs: many })).code, 'BAD_FRAME');
    // Tokens of identity providers that list many groups run past 8 KiB; 16 KiB are taken.
    assert.equal((accepted({ type: 'hello', token: 'x'.repeat(16_384) }) as { type: string }).type, 'hello');
    const long = refused(JSON.stringify({ type: 'hello', token: 'x'.repeat(16_385) }));
    assert.equal(long.code, 'BAD_FRAME');
    assert.match(long.message, /at most 16384 characters/);
  });

  it('parses send and echoes its cmid as the ref of its errors', () => {
    assert.deepEqual(accepted({ type: 'send', conv: 'c', cmid, text: 'hi', ref: 9 }), { type: 'send', conv: 'c', cmid, text: 'hi' });
    assert.equal(refused(JSON.stringify({ type: 'send', conv: '', cmid, text: 'x' })).ref, cmid);
    assert.equal(refused(JSON.stringify({ type: 'send', conv: 'c', cmid: 'short', text: 'x', ref: 2 })).ref, 2);
  });

  it('refuses empty, too long and ill-formed text with their own codes', () => {
    assert.equal(refused(JSON.stringify({ type: 'send', conv: 'c', cmid, text: '   ' })).code, 'TEXT_EMPTY');
    assert.equal(refused(JSON.stringify({ type: 'send', conv: 'c', cmid, text: 'abc' }), 2).code, 'TEXT_TOO_LONG');
    assert.equal(refused(JSON.stringify({ type: 'send', conv: 'c', cmid, text: '\uDC00x' })).code, 'BAD_FRAME');
    assert.equal(refused(JSON.stringify({ type: 'send', conv: 'c', cmid, text: null })).code, 'BAD_FRAME');
  });

  it('parses sync with and without limit, and refuses bad after and limit', () => {
    assert.deepEqual(accepted({ type: 'sync', conv: 'c', after: 0 }), { type: 'sync', conv: 'c', after: 0 });
    assert.deepEqual(accepted({ type: 'sync', conv: 'c', after: 7, limit: 10, ref: 'x' }), { type: 'sync', conv: 'c', after: 7, limit: 10, ref: 'x' });
    assert.equal(refused(JSON.stringify({ type: 'sync', conv: 'c', after: 1.5 })).code, 'BAD_FRAME');
    assert.equal(refused(JSON.stringify({ type: 'sync', conv: 'c', after: '1' })).code, 'BAD_FRAME');
    assert.equal(refused(JSON.stringify({ type: 'sync', conv: 'c', after: 0, limit: 0 })).code, 'BAD_FRAME');
  });

  it('parses ping with an optional ref', () => {
    assert.deepEqual(accepted({ type: 'ping' }), { type: 'ping' });
    assert.deepEqual(accepted({ type: 'ping', ref: 'abc' }), { type: 'ping', ref: 'abc' });
  });

  it('returns null for an unknown type so it can be ignored', () => {
    assert.equal(accepted({ type: 'typing', conv: 'c' }), null);
  });

  it('refuses non-JSON and non-objects with BAD_JSON and a null ref', () => {
    for (const raw of ['', '{', 'null', '[]', '42', '"x"']) {
      const error = refused(raw);
      assert.deepEqual([error.code, error.ref], ['BAD_JSON', null], raw);
    }
  });

  it('refuses an invalid ref with BAD_FRAME and does not echo it', () => {
    for (const ref of ['r'.repeat(65), 1.5, true, { a: 1 }, Number.MAX_SAFE_INTEGER + 2]) {
      const error = refused(JSON.stringify({ type: 'ping', ref }));
      assert.deepEqual([error.code, error.ref], ['BAD_FRAME', null], JSON.stringify(ref));
    }
  });

  it('answers a send with an invalid ref by its cmid, as every error about a send', () => {
    const error = refused(JSON.stringify({ type: 'send', conv: 'c', cmid, text: 'hi', ref: { a: 1 } }));
    assert.deepEqual([error.code, error.ref], ['BAD_FRAME', cmid]);
  });

  it('ignores an unknown type whatever its ref, so a newer client can add frames', () => {
    assert.equal(accepted({ type: 'typing', conv: 'c', ref: { id: 1 } }), null);
    assert.equal(accepted({ type: 'typing', ref: 'r'.repeat(65) }), null);
  });

  it('refuses a type that is no string with BAD_FRAME, also one that cannot be turned into a key', () => {
    for (const raw of ['{"type":{"toString":0},"ref":null}', '{"type":["send"],"ref":{"id":1}}', '{"type":7}']) {
      const error = refused(raw);
      assert.deepEqual([error.code, error.message], ['BAD_FRAME', '`type` must be a string'], raw);
    }
  });
});

describe('checkText and isRef', () => {
  it('accepts text of exactly maxText code units and well-formed surrogate pairs', () => {
    assert.equal(checkText('x'.repeat(LIMITS.maxText), null), null);
    assert.equal(checkText('😀', null), null);
    assert.equal(checkText('x'.repeat(LIMITS.maxText + 1), null)?.code, 'TEXT_TOO_LONG');
  });

  it('accepts strings up to 64 characters and safe integers as refs', () => {
    assert.equal(isRef('r'.repeat(64)), true);
    assert.equal(isRef(-3), true);
    assert.equal(isRef('r'.repeat(65)), false);
    assert.equal(isRef(null), false);
  });
});

describe('ProtocolError', () => {
  it('builds an error frame with the retryable flag of its code', () => {
    assert.deepEqual(errorFrame(new ProtocolError('INTERNAL', 'boom', 'c1')), { type: 'error', code: 'INTERNAL', message: 'boom', ref: 'c1', retryable: true });
    assert.equal(errorFrame(new ProtocolError('BAD_JSON', 'x')).retryable, false);
  });
});

describe('parseServerFrame', () => {
  const msg = { conv: 'c', seq: 1, cmid, from: 'a', name: 'A', text: 't', ts: 1 };

  it('accepts well-formed server frames', () => {
    assert.equal(parseServerFrame(JSON.stringify({ type: 'msg', ...msg }))?.type, 'msg');
    assert.equal(parseServerFrame(JSON.stringify({ type: 'history', conv: 'c', msgs: [msg], more: false, head: 1 }))?.type, 'history');
    assert.equal(parseServerFrame(JSON.stringify({ type: 'sent', conv: 'c', cmid, seq: 1, ts: 1 }))?.type, 'sent');
    assert.equal(parseServerFrame(JSON.stringify({ type: 'welcome', user: 'a', convs: [], heartbeat: 1 }))?.type, 'welcome');
  });

  it('returns null for unknown, unreadable or malformed frames', () => {
    assert.equal(parseServerFrame('nope'), null);
    assert.equal(parseServerFrame(JSON.stringify({ type: 'future' })), null);
    assert.equal(parseServerFrame(JSON.stringify({ type: 'msg', ...msg, seq: 0 })), null);
    assert.equal(parseServerFrame(JSON.stringify({ type: 'history', conv: 'c', msgs: [{ ...msg, text: 1 }], more: false, head: 1 })), null);
  });
});
