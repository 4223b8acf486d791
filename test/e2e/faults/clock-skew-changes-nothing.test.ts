import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { Scenario } from '../../support/scenario.ts';
import { renderedMessages, until } from '../../support/browser.ts';

const HOUR = 3_600_000;

/**
 * An init script that makes the page's clock (`Date.now()`, `new Date()`, `Date()`) run `shift` ms off
 * from the real one. A string, not a function: tsx would wrap a function's inner names in a helper the
 * page does not have.
 */
function shiftClock(shift: number): string {
  return `(() => {
    const Real = Date;
    function Shifted(...args) {
      if (!new.target) return new Real(Real.now() + ${shift}).toString();
      return args.length === 0 ? new Real(Real.now() + ${shift}) : new Real(...args);
    }
    Shifted.prototype = Real.prototype;
    Shifted.now = () => Real.now() + ${shift};
    Shifted.parse = Real.parse;
    Shifted.UTC = Real.UTC;
    globalThis.Date = Shifted;
  })();`;
}

/** How far the page's clock is from this process's, in ms. */
async function skewOf(page: Page): Promise<number> {
  const before = Date.now();
  const theirs = await page.evaluate(() => Date.now());
  return theirs - (before + Date.now()) / 2;
}

describe('client clocks an hour off', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('delivers everything once, in the order the server gave, whatever the senders\' clocks say', async () => {
    const context = async (user: string, shift: number) => (await s.context(user)).addInitScript({ content: shiftClock(shift) });
    await context('ahead', HOUR);
    await context('behind', -HOUR);
    const ahead = await s.open('ahead');
    const behind = await s.open('behind');
    const exact = await s.open('exact');
    assert.ok(Math.abs((await skewOf(ahead)) - HOUR) < 60_000, 'the first page runs an hour ahead');
    assert.ok(Math.abs((await skewOf(behind)) + HOUR) < 60_000, 'the second page runs an hour behind');

    const sentBy: Record<string, string[]> = { ahead: [], behind: [] };
    const say = async (page: Page, user: 'ahead' | 'behind', text: string) => {
      await s.type(page, text);
      sentBy[user].push(text);
    };
    for (let i = 1; i <= 4; i++) {
      await say(behind, 'behind', `behind, online ${i}`);
      await say(ahead, 'ahead', `ahead, online ${i}`);
    }
    await s.quiesce([ahead, behind, exact], 8);

    // Queued while the server is down, the outbox holds items stamped two hours apart.
    await s.server.stop();
    for (let i = 1; i <= 3; i++) {
      await say(ahead, 'ahead', `ahead, offline ${i}`);
      await say(behind, 'behind', `behind, offline ${i}`);
    }
    await until(async () => (await renderedMessages(ahead)).filter((m) => m.status === 'pending').length === 3, 'three pending on the fast clock');
    await s.server.start();

    await s.quiesce([ahead, behind, exact], 14);
    await s.assertConsistent([ahead, behind, exact], sentBy);
  });
});
