import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLOSE_CODES, CLOSE_DESCRIPTIONS, CloseCode, ERROR_CODES, ERROR_DESCRIPTIONS, ErrorCode, reconnectAdvice } from '../../src/protocol/codes.ts';

describe('reconnectAdvice', () => {
  it('retries after going away, restart, too big, internal error and heartbeat timeout', () => {
    for (const code of [1001, 1009, 1011, 1012, 4004, 4008]) assert.equal(reconnectAdvice(code), 'retry', String(code));
  });

  it('asks for a new token after 4001', () => {
    assert.equal(reconnectAdvice(CloseCode.TOKEN_EXPIRED), 'refresh');
  });

  it('stops after unsupported protocol, unauthorized and bad hello', () => {
    for (const code of [4002, 4003, 4005]) assert.equal(reconnectAdvice(code), 'stop', String(code));
  });

  it('stops on an unknown 4xxx code and retries on any other unknown code', () => {
    assert.equal(reconnectAdvice(4000), 'stop');
    assert.equal(reconnectAdvice(4999), 'stop');
    assert.equal(reconnectAdvice(1006), 'retry');
    assert.equal(reconnectAdvice(1000), 'retry');
    assert.equal(reconnectAdvice(3000), 'retry');
    assert.equal(reconnectAdvice(5000), 'retry');
  });
});

describe('code tables', () => {
  it('describes every close code under its own name', () => {
    for (const [name, code] of Object.entries(CloseCode)) {
      assert.equal(CLOSE_CODES[code].name, name);
      assert.ok(CLOSE_DESCRIPTIONS[code].length > 0);
    }
    assert.equal(Object.keys(CLOSE_CODES).length, Object.keys(CloseCode).length);
  });

  it('describes every error code, and only the transient ones are retryable', () => {
    assert.deepEqual(Object.keys(ERROR_CODES).sort(), Object.values(ErrorCode).sort());
    for (const code of Object.values(ErrorCode)) assert.ok(ERROR_DESCRIPTIONS[code].length > 0);
    const retryable = Object.entries(ERROR_CODES).filter(([, info]) => info.retryable).map(([code]) => code);
    assert.deepEqual(retryable.sort(), ['AUTH_UNAVAILABLE', 'HELLO_REQUIRED', 'INTERNAL', 'RATE_LIMITED', 'TOKEN_EXPIRED', 'TOO_MANY_CONNECTIONS']);
  });
});
