/**
 * The shared frame of end-to-end scenarios: a real server process, a host site on another origin,
 * Chromium with one browser context (one profile) per user, and the checks every scenario ends with.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ServerProcess } from './server-process.ts';
import { launchChromium, renderedMessages, startHostSite, tokenRoute, until } from './browser.ts';
import { servePages, type PageServer, type Route } from './page-server.ts';

export interface StoredMessage {
  seq: number;
  cmid: string;
  sender: string;
  text: string;
}

export class Scenario {
  readonly server = new ServerProcess();
  readonly conv = `e2e-${Date.now().toString(36)}`;
  private site!: PageServer;
  private browser!: Browser;
  private contexts = new Map<string, BrowserContext>();
  /** Pages a scenario builds itself, by path (see `serve`), and the site that serves them. */
  private readonly served: Record<string, Route> = {};
  private pagesSite: PageServer | null = null;

  async start(): Promise<void> {
    await this.server.start();
    const signToken = (user: string) => this.server.token(user);
    this.site = await startHostSite(this.server.httpUrl, signToken);
    this.served['/token'] = tokenRoute(signToken);
    this.pagesSite = await servePages(this.served);
    this.browser = await launchChromium();
  }

  async dispose(): Promise<void> {
    await this.browser?.close();
    await this.site?.close();
    await this.pagesSite?.close();
    await this.server.dispose();
  }

  /** Opens the host page as `user` (each user has a browser profile of their own) and waits for the widget. */
  async open(user: string): Promise<Page> {
    const page = await this.newPage(user);
    await page.goto(`${this.site.url}/embed.html?user=${encodeURIComponent(user)}&conv=${this.conv}`);
    await this.waitForWidget(page);
    return page;
  }

  /** The browser profile of `user`, created on first use: every page of one user shares its IndexedDB. */
  async context(user: string): Promise<BrowserContext> {
    let context = this.contexts.get(user);
    if (!context) {
      context = await this.browser.newContext();
      this.contexts.set(user, context);
    }
    return context;
  }

  /** A new tab in `user`'s profile that reports its page errors on the console. Not navigated yet. */
  async newPage(user: string): Promise<Page> {
    const page = await (await this.context(user)).newPage();
    page.on('pageerror', (err) => console.error(`[${user}] page error:`, err));
    return page;
  }

  /**
   * Serves `html` at `/scenario/<name>` on a second host site (another origin; its `/token?user=U`
   * signs a token for U like the first one's) and returns its URL. For pages a scenario builds itself,
   * e.g. one that creates an `ImbedClient` with short heartbeat or backoff options. A real HTTP server,
   * not a Playwright route: Chromium treats a routed page as public and blocks its requests to loopback.
   */
  serve(name: string, html: string): string {
    const path = `/scenario/${name}`;
    this.served[path] = { body: html };
    return `${this.pagesSite!.url}${path}`;
  }

  async waitForWidget(page: Page): Promise<void> {
    await page.locator('imbed-chat [part~="composer-input"]').waitFor();
  }

  /** Types `text` into the composer and presses Enter, as a person would. */
  async type(page: Page, text: string): Promise<void> {
    const input = page.locator('imbed-chat [part~="composer-input"]');
    await input.fill(text);
    await input.press('Enter');
  }

  /** The server's log of the conversation, read from its SQLite file. */
  log(): StoredMessage[] {
    const db = new Database(this.server.db, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT seq, cmid, sender, text FROM messages WHERE conv = ? ORDER BY seq').all(this.conv) as StoredMessage[];
    } finally {
      db.close();
    }
  }

  /** Waits until every page renders `count` messages, all sent. */
  async quiesce(pages: Page[], count: number, timeout = 60_000): Promise<void> {
    for (const page of pages) {
      await until(async () => {
        const list = await renderedMessages(page);
        return list.length === count && list.every((m) => m.status === 'sent');
      }, `${count} sent messages on ${page.url()}`, timeout);
    }
  }

  /**
   * The checks every scenario ends with: each cmid stored once, seq 1..N without a gap, every page's
   * rendered list equal to the server's log, and each sender's messages in the order they were sent.
   */
  async assertConsistent(pages: Page[], sentBy: Record<string, string[]>): Promise<void> {
    const log = this.log();
    assert.deepEqual(log.map((m) => m.seq), log.map((_, i) => i + 1), 'seq runs 1..N with no gap');
    assert.equal(new Set(log.map((m) => m.cmid)).size, log.length, 'each cmid is stored once');
    for (const [user, texts] of Object.entries(sentBy)) {
      assert.deepEqual(log.filter((m) => m.sender === user).map((m) => m.text), texts, `${user}'s messages, once each, in the order sent`);
    }
    const expected = log.map((m) => ({ cmid: m.cmid, status: 'sent', seq: m.seq, text: m.text }));
    for (const page of pages) {
      assert.deepEqual(await renderedMessages(page), expected, `the list on ${page.url()} equals the server's log`);
      await this.assertOutboxSettled(page);
    }
  }

  /**
   * Every outbox item of the page's `<imbed-chat>` is either acknowledged or shown as failed with a retry
   * action: nothing is left pending, and each failed message carries its retry button.
   */
  async assertOutboxSettled(page: Page): Promise<void> {
    const outbox = await page.evaluate(() => {
      const chat = document.querySelector('imbed-chat') as (HTMLElement & { client: { pendingCount(): number } | null }) | null;
      const failed = [...(chat?.shadowRoot?.querySelectorAll<HTMLElement>('[part~="message"][data-status="failed"]') ?? [])];
      return {
        pending: chat?.client?.pendingCount() ?? -1,
        failedWithoutRetry: failed.filter((node) => !node.querySelector('[part~="retry-button"]')).map((node) => node.dataset.cmid),
      };
    });
    assert.equal(outbox.pending, 0, `no outbox item is left pending on ${page.url()}`);
    assert.deepEqual(outbox.failedWithoutRetry, [], `every failed message on ${page.url()} offers a retry`);
  }
}
