import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

/**
 * Gzip budgets (bytes) of the browser scripts. The launcher is what a page downloads first and must stay
 * small enough to put on every page of a site; each part is what `imbed.js` loads on first use
 * (src/ui/parts-script.ts), and every part needs a line here. The bridge carries the store an app may
 * keep for the chat (src/ui/native-store.ts), and only WebViews load it. The widget's goal is 25 KB
 * (docs/performance.md says how far it is); its line holds it at its present weight, so that a change
 * that makes it heavier raises the line on purpose, saying why, until it gets there.
 */
const BUDGETS: Record<string, number> = {
  'imbed.js': 32.7 * 1024,
  'imbed-launcher.js': 3 * 1024,
  'imbed-zh-CN.js': 1.5 * 1024,
  'imbed-notify.js': 1.5 * 1024,
  'imbed-launcher-mode.js': 2.5 * 1024,
  'imbed-bridge.js': 3 * 1024,
  'imbed-tab-group.js': 1.9 * 1024,
};

/** Where the weight of `dist/imbed.js` comes from, module by module. */
const HINT = 'see where the bytes come from with `node --import tsx bench/size.ts`';

/** Gzip size (level 9, as the build's size report measures) of a built file. */
function gzipped(name: string): number {
  const path = `${dist}${name}`;
  assert.ok(existsSync(path), `dist/${name} is missing: run \`npm run build\` first`);
  return gzipSync(readFileSync(path), { level: 9 }).length;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;

describe('bundle weight', () => {
  for (const [name, budget] of Object.entries(BUDGETS)) {
    it(`keeps dist/${name} under ${kb(budget)} gzip`, () => {
      const size = gzipped(name);
      console.log(`gzip: dist/${name} ${kb(size)} (budget ${kb(budget)})`);
      assert.ok(size <= budget, `dist/${name} is ${size} bytes gzip (${kb(size)}), over its ${budget}-byte budget: ${HINT}`);
    });
  }

  it('writes every script in ASCII only, so none depends on the charset it is served with', () => {
    // A host serving the files as `text/javascript` without `charset=utf-8`, on a page that declares no
    // encoding, would show "…" and the Chinese words garbled.
    for (const name of Object.keys(BUDGETS)) {
      const text = readFileSync(`${dist}${name}`, 'latin1');
      const at = text.search(/[^\x00-\x7f]/);
      assert.equal(at, -1, `dist/${name} has a non-ASCII byte at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 30), at + 10))}`);
    }
  });

  it('has a budget for every script the build writes beside imbed.js', () => {
    const scripts = readdirSync(dist).filter((name) => /^imbed-.+\.js$/.test(name));
    assert.deepEqual(scripts.filter((name) => !(name in BUDGETS)), [], 'scripts without a line in BUDGETS');
    console.log(`gzip: dist/imbed.js is ${kb(gzipped('imbed.js') - 25 * 1024)} over its 25 KB goal`);
  });
});
