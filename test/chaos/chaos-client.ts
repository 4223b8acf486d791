/**
 * One chat user of a chaos run: a browser profile (context), its open pages (tabs), and its own TCP proxy
 * to the server. Sends go through one ordered lane per user, so the per-sender order the run checks is the
 * order the runner asked for, also when a page dies in the middle of a `send()`.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { closeTab, crashRenderer, freeze, reload } from '../support/faults.ts';
import { renderedMessages, type RenderedMessage } from '../support/browser.ts';
import type { TcpProxy } from '../support/tcp-proxy.ts';
import type { ChaosPageApi } from './host-site.ts';

export type PageFault = 'reload' | 'crash' | 'freeze' | 'close-tab';

export type Item = Awaited<ReturnType<ChaosPageApi['items']>>[number];

/** Everything a client shows and holds at the end of a run. */
export interface ClientSnapshot {
  user: string;
  items: Item[];
  rendered: RenderedMessage[];
  outbox: Awaited<ReturnType<ChaosPageApi['outbox']>>;
  errors: ReturnType<ChaosPageApi['errors']>;
  state: string;
}

/** How long a page may take to come back (load, open IndexedDB) before the run gives up on it. */
const READY_TIMEOUT = 60_000;
/** Attempts at one send across page faults before it is recorded as an error. */
const SEND_ATTEMPTS = 20;
/** A `send()` slower than this (ms) is noted on the run's timeline. */
const SLOW_SEND = 1000;

/** One open page of a user (a tab), and the page fault it is going through, if any. */
class Tab {
  /** Set while a page fault runs: sends to this tab wait for the page to come back. */
  fault: Promise<void> | null = null;
  expectCrash = false;

  constructor(public page: Page) {}
}

export class ChaosClient {
  /** Texts whose `send()` resolved: durably in the outbox, in the order they were queued. */
  readonly queued: string[] = [];
  /** Sends that failed inside the page (a product error) or never got through: `text: reason`. */
  readonly sendErrors: string[] = [];
  /** Uncaught errors and crashes the pages reported that the run did not cause. */
  readonly pageErrors: string[] = [];
  private lane: Promise<void> = Promise.resolve();
  /** Where the client notes, on the run's timeline, a send that took long or had to be made again. */
  onNote: (line: string) => void = () => {};

  private constructor(
    readonly user: string,
    readonly context: BrowserContext,
    readonly proxy: TcpProxy,
    private readonly url: string,
    private readonly tabs: Tab[],
  ) {}

  /**
   * Opens `user`'s page `tabs` times in a profile of its own (the tabs share IndexedDB, as a person's
   * tabs do), each talking to the server through `proxy`.
   */
  static async open(browser: Browser, siteUrl: string, conv: string, user: string, proxy: TcpProxy, tabs = 1): Promise<ChaosClient> {
    const context = await browser.newContext();
    const url = `${siteUrl}/chaos.html?${new URLSearchParams({ user, conv, ws: proxy.url })}`;
    const client = new ChaosClient(user, context, proxy, url, []);
    for (let i = 0; i < tabs; i++) {
      const tab = new Tab(await context.newPage());
      client.tabs.push(tab);
      client.watch(tab);
      await tab.page.goto(url);
      await client.ready(tab.page);
    }
    return client;
  }

  /** How many tabs the user has open. */
  get tabCount(): number {
    return this.tabs.length;
  }

  /**
   * Queues `text` behind this user's earlier sends, typed in tab `tab`; resolves once the page's outbox
   * holds it (or it failed).
   */
  send(text: string, tab = 0): Promise<void> {
    this.lane = this.lane.then(() => this.deliver(text, this.tabs[tab]!));
    return this.lane;
  }

  /** Runs one page fault on tab `index`; sends to it meanwhile wait for the page to come back. */
  async pageFault(kind: PageFault, ms: number, index = 0, lifecycle = false): Promise<void> {
    const tab = this.tabs[index]!;
    let done!: () => void;
    tab.fault = new Promise((resolve) => (done = resolve));
    try {
      switch (kind) {
        case 'reload':
          await reload(tab.page);
          break;
        case 'crash':
          tab.expectCrash = true;
          tab.page = await crashRenderer(tab.page);
          tab.expectCrash = false;
          this.watch(tab);
          break;
        case 'freeze':
          await freeze(tab.page, ms, { lifecycle });
          break;
        case 'close-tab':
          await closeTab(tab.page);
          await new Promise((r) => setTimeout(r, ms));
          tab.page = await this.context.newPage();
          this.watch(tab);
          await tab.page.goto(this.url);
          break;
      }
      await this.ready(tab.page);
    } finally {
      tab.fault = null;
      done();
    }
  }

  /** What each tab holds and shows now. */
  async snapshots(): Promise<ClientSnapshot[]> {
    const all: ClientSnapshot[] = [];
    for (const [i, { page }] of this.tabs.entries()) {
      await this.ready(page);
      const [items, outbox, errors, state] = await page.evaluate(async () => {
        const chaos = window.chaos!;
        return [await chaos.items(), await chaos.outbox(), chaos.errors(), chaos.state()] as const;
      });
      const user = this.tabs.length > 1 ? `${this.user}/tab${i + 1}` : this.user;
      all.push({ user, items, rendered: await renderedMessages(page), outbox, errors, state });
    }
    return all;
  }

  /** Every tab's items (cheap enough to poll). */
  async items(): Promise<Item[][]> {
    return Promise.all(this.tabs.map(({ page }) => page.evaluate(async () => (await window.chaos?.items()) ?? [])));
  }

  private watch(tab: Tab): void {
    const page = tab.page;
    page.on('pageerror', (err) => this.pageErrors.push(`${this.user}: ${err.message}`));
    page.on('crash', () => {
      if (!tab.expectCrash) this.pageErrors.push(`${this.user}: the renderer crashed on its own`);
    });
  }

  private async ready(page: Page): Promise<void> {
    await page.waitForFunction(() => window.chaos !== undefined, undefined, { timeout: READY_TIMEOUT, polling: 50 });
  }

  private async deliver(text: string, tab: Tab): Promise<void> {
    // Set once a `send()` was handed to a page that then went away: from then on every attempt first
    // finds out whether the message got through, and sends it again only when it did not. (An attempt
    // that sent without looking, after a look that failed, stored one text under two cmids.)
    let unsure = false;
    for (let attempt = 1; attempt <= SEND_ATTEMPTS; attempt++) {
      await tab.fault;
      try {
        if (unsure) {
          if (await this.arrived(tab, text)) {
            this.queued.push(text);
            return;
          }
          this.onNote(`${this.user} ${text}: sent again, its page went away during the send`);
        }
        const page = tab.page;
        await this.ready(page);
        const began = Date.now();
        unsure = true;
        const error = await page.evaluate((t) => window.chaos!.send(t), text);
        if (Date.now() - began > SLOW_SEND) this.onNote(`${this.user} ${text}: send() took ${Date.now() - began} ms`);
        if (error === null) this.queued.push(text);
        else this.sendErrors.push(`${this.user} ${text}: send() rejected: ${error}`);
        return;
      } catch {
        // The page went away (reload, crash, closed tab) under the send or under the look: try again.
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.sendErrors.push(`${this.user} ${text}: could not be handed to the page in ${SEND_ATTEMPTS} attempts`);
  }

  /**
   * Whether `text`, handed to a page that went away before its `send()` resolved, got through. If the
   * outbox write committed first, the message is queued. If not, it may still have reached the server,
   * since a message goes out before its write when nothing older waits (docs/guarantees.md): only once
   * the page is back online, caught up with the server, does a missing text mean it never left.
   * Throws when the page goes away again meanwhile.
   */
  private async arrived(tab: Tab, text: string): Promise<boolean> {
    await tab.fault;
    await this.ready(tab.page);
    // `?.`: the page may reload again meanwhile, and a predicate that throws is reported as the page's own error.
    // Not online in time: no answer either way, so this throws too, and the next attempt looks again.
    await tab.page.waitForFunction(() => window.chaos?.state() === 'online', undefined, { timeout: READY_TIMEOUT, polling: 50 });
    const texts = await tab.page.evaluate(async () => (await window.chaos!.items()).map((i) => i.text));
    return texts.includes(text);
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => {});
  }
}
