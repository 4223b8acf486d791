import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLOSE_CODES, ERROR_CODES } from '../../src/protocol/codes.ts';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const advice = { retry: 'reconnect', refresh: 'get a new token, reconnect', stop: 'stop' } as const;

describe('docs/protocol.md code tables', () => {
  it('lists every error code with its retryable flag', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      const row = `| \`${code}\` | ${info.retryable ? 'yes' : 'no'} |`;
      assert.ok(doc.includes(row), `missing or wrong row for ${code}: ${row}`);
    }
  });

  it('lists every close code with its name and what the client should do', () => {
    for (const [code, info] of Object.entries(CLOSE_CODES)) {
      const row = `| ${code} | \`${info.name}\` | ${advice[info.reconnect]} |`;
      assert.ok(doc.includes(row), `missing or wrong row for ${code}: ${row}`);
    }
  });

  it('documents no code that the protocol module does not define', () => {
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \| (?:yes|no) \|/gm)].map((m) => m[1]);
    assert.deepEqual(documented.sort(), Object.keys(ERROR_CODES).sort());
    const closes = [...doc.matchAll(/^\| (\d{4}) \| `/gm)].map((m) => Number(m[1]));
    assert.deepEqual(closes.sort(), Object.keys(CLOSE_CODES).map(Number).sort());
  });
});
