import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, until } from '../support/browser.ts';
import { ServerProcess } from '../support/server-process.ts';

/**
 * The demo as `npm start` serves it: the pages come from the chat server's own origin and name it by its
 * path alone (`server="/ws"`), as a site that attaches imbed to its own http server would.
 */

type DemoChat = HTMLElement & { server: string; send(text: string): Promise<void>; client: { state: string; items(conv: string): Array<{ text: string }> } | null };

/** The state of the `index`th `<imbed-chat>` in the page (in document order). */
const chatState = (page: Page, index = 0) =>
  page.evaluate((index) => (document.querySelectorAll('imbed-chat')[index] as DemoChat | undefined)?.client?.state, index);

describe('the demo pages, served by the chat server', () => {
  const chat = new ServerProcess();
  let browser: Browser;

  before(async () => {
    await chat.start();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await chat.stop();
  });

  it('connect to the server by its path on their own origin, and carry a message from alice to bob', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${chat.httpUrl}/?conversation=demo-${Date.now().toString(36)}`);
    await until(async () => (await chatState(page, 0)) === 'online' && (await chatState(page, 1)) === 'online', 'both demo chats online');
    assert.equal(await page.evaluate(() => (document.querySelector('imbed-chat') as DemoChat).server), '/ws');
    const text = `across ${Math.random()}`;
    await page.evaluate((text) => (document.querySelector('.pane[data-user="alice"] imbed-chat') as DemoChat).send(text), text);
    await until(
      () => page.evaluate((text) => {
        const bob = document.querySelector('.pane[data-user="bob"] imbed-chat') as DemoChat;
        return bob.client!.items(new URLSearchParams(location.search).get('conversation')!).some((item) => item.text === text);
      }, text),
      "the message in bob's chat",
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  for (const name of ['inline', 'theming', 'zh-CN']) {
    it(`${name}.html comes online`, async () => {
      const page = await browser.newPage();
      await page.goto(`${chat.httpUrl}/${name}.html`);
      await until(async () => (await chatState(page)) === 'online', `the chat of ${name}.html online`);
      await page.close();
    });
  }
});
