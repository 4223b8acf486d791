import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** What a page downloads first: the loader must stay small enough to put on every page of a site. */
const LAUNCHER_BUDGET = 3 * 1024;

/** Gzip size (level 9, as the build's size report measures) of a built file. */
function gzipped(relative: string): number {
  const path = fileURLToPath(new URL(`../../${relative}`, import.meta.url));
  assert.ok(existsSync(path), `${relative} is missing: run \`npm run build\` first`);
  return gzipSync(readFileSync(path), { level: 9 }).length;
}

describe('bundle weight', () => {
  it(`keeps dist/imbed-launcher.js under ${LAUNCHER_BUDGET / 1024} KB gzip`, () => {
    const launcher = gzipped('dist/imbed-launcher.js');
    // The full widget's size is printed for the record; the launcher is what this budget guards.
    const widget = gzipped('dist/imbed.js');
    console.log(`gzip: dist/imbed-launcher.js ${(launcher / 1024).toFixed(2)} KB (budget ${LAUNCHER_BUDGET / 1024} KB), dist/imbed.js ${(widget / 1024).toFixed(2)} KB`);
    assert.ok(launcher < LAUNCHER_BUDGET, `dist/imbed-launcher.js is ${launcher} bytes gzip, over the ${LAUNCHER_BUDGET}-byte budget`);
  });
});
