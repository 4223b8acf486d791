/**
 * The fuzzer's own promises: a frame it labels as bad JSON must not parse, or the server's right
 * answer (BAD_FRAME for `{}`) would be reported as a server fault.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../chaos/prng.ts';
import { FrameFuzzer, type FuzzTokens } from './fuzz-frames.ts';

const TOKENS: FuzzTokens = { good: 'g.g.g', refused: ['not-a-jwt'], expired: 'e.e.e' };

/** A Prng that returns `script` first, then the seeded sequence. */
class ScriptedPrng extends Prng {
  constructor(
    private readonly script: number[],
    seed: number,
  ) {
    super(seed);
  }

  override next(): number {
    return this.script.length > 0 ? this.script.shift()! : super.next();
  }
}

function parses(data: string | Buffer): boolean {
  try {
    JSON.parse(data.toString());
    return true;
  } catch {
    return false;
  }
}

describe('fuzz frames', () => {
  it('never labels text that parses as bad JSON, even when the random printable draw is `{}`', () => {
    // Draws in order: the mix's roll (bad JSON), the truncated variant's length, the random text's
    // length (1) and its one character (`}`), then the variant (random printable, the last of 19).
    const fuzzer = new FrameFuzzer(new ScriptedPrng([0.05, 0.5, 0, 93.5 / 95, 18.5 / 19], 1), 'fz', TOKENS);
    const frame = fuzzer.next('anon');
    assert.match(frame.label, /^bad-json\//);
    assert.equal(parses(frame.data), false, `${frame.label}: ${String(frame.data)}`);
  });

  it('draws only unparsable bad JSON over 200,000 frames', () => {
    const fuzzer = new FrameFuzzer(new Prng(20261206), 'fz', TOKENS);
    let badJson = 0;
    for (let i = 0; i < 200_000; i++) {
      const frame = fuzzer.next(i % 2 ? 'anon' : 'ready');
      if (!frame.label.startsWith('bad-json/')) continue;
      badJson++;
      assert.equal(parses(frame.data), false, `${frame.label}: ${String(frame.data)}`);
    }
    assert.ok(badJson > 10_000, `only ${badJson} bad-JSON frames drawn`);
  });
});
