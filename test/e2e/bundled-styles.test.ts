import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { chatStyles } from '../../src/ui/styles.ts';
import { launcherStyles } from '../../src/ui/launcher-styles.ts';
import { mobileStyles } from '../../src/ui/mobile-styles.ts';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const bundlePath = `${dist}imbed.js`;
/** Where the page loads the script build from; the launcher's styles come in a part beside it. */
const ORIGIN = 'https://imbed.test';

/** The source stylesheets of `<imbed-chat>`, as Lit builds them from the unminified `css` templates. */
const SOURCES = { chatStyles, launcherStyles, mobileStyles };

/**
 * Each rule as the browser serializes it. The browser keeps the token stream of custom properties and
 * `var()` as written, so the one visible trace of the build's CSS minifier, no space after a comma there,
 * is evened out; everything else (selectors, at-rules, declarations) must match exactly.
 */
async function rules(page: Page, cssText: string): Promise<string[]> {
  const serialized = await page.evaluate((text) => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(text);
    return [...sheet.cssRules].map((rule) => rule.cssText);
  }, cssText);
  return serialized.map((rule) => rule.replace(/,\s+/g, ','));
}

describe('the styles of the script-tag build', () => {
  let browser: Browser;
  let page: Page;

  before(async () => {
    assert.ok(existsSync(bundlePath), 'dist/imbed.js is missing: run `npm run build` first');
    browser = await launchChromium();
    page = await browser.newPage();
    await page.route((url) => url.origin === ORIGIN, (route) =>
      route.fulfill({ contentType: 'text/javascript', body: readFileSync(`${dist}${new URL(route.request().url()).pathname.slice(1)}`, 'utf8') }),
    );
    await page.setContent(`<!doctype html><html lang="en"><head><script src="${ORIGIN}/imbed.js"></script></head><body></body></html>`);
  });

  after(async () => {
    await browser?.close();
  });

  it('adopts every source stylesheet rule for rule, though its CSS was minified', async () => {
    const adopted = await page.evaluate(async () => {
      const element = document.createElement('imbed-chat');
      // In launcher mode, so that the launcher's styles (a part of their own) are adopted too.
      element.setAttribute('mode', 'launcher');
      document.body.append(element);
      await (element as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
      return element.shadowRoot!.adoptedStyleSheets.map((sheet) => [...sheet.cssRules].map((rule) => rule.cssText).join('\n'));
    });
    assert.ok(adopted.length >= Object.keys(SOURCES).length, `only ${adopted.length} stylesheets adopted`);
    const bundled = await Promise.all(adopted.map((text) => rules(page, text)));
    for (const [name, source] of Object.entries(SOURCES)) {
      const expected = await rules(page, source.cssText);
      assert.ok(expected.length > 0, `${name} has no rules`);
      assert.ok(
        bundled.some((sheet) => JSON.stringify(sheet) === JSON.stringify(expected)),
        `no stylesheet of the bundle matches ${name}; its first rule in the source: ${expected[0]}`,
      );
    }
  });

  it('ships none of the comments of the source CSS', () => {
    const bundle = readdirSync(dist).filter((name) => /^imbed.*\.js$/.test(name)).map((name) => readFileSync(`${dist}${name}`, 'utf8')).join('\n');
    const comments = Object.values(SOURCES).flatMap((source) => source.cssText.match(/\/\*[\s\S]*?\*\//g) ?? []);
    assert.ok(comments.length > 0, 'the source styles have no comments to look for');
    const shipped = comments.filter((comment) => bundle.includes(comment));
    assert.deepEqual(shipped, []);
  });
});
