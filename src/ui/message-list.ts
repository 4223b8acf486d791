/**
 * The message list: one node per `ChatItem` in view, keyed by `cmid` so the node a person is looking at
 * survives pending -> sent. Every piece of user text goes through a Lit text binding, never markup; a
 * URL in it becomes a link only through `splitLinks`, whose checked `href` is bound as an attribute.
 */
import { html, nothing, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { ifDefined } from 'lit/directives/if-defined.js';
import type { ChatItem } from '../client/index.js';
import { formatFullTime, formatTime } from './format.js';
import { alertIcon, checkIcon, clockIcon } from './icons.js';
import { splitLinks } from './links.js';
import type { Localized } from './i18n.js';
import type { Strings } from './strings.js';

export interface MessageActions {
  retry(cmid: string): void;
  discard(cmid: string): void;
}

/**
 * Message text as text nodes, its http(s) URLs as links. A link opens in a new browsing context, so the
 * embedding page never navigates away, with no `window.opener` and no referrer for the page it opens.
 */
function renderText(text: string): Array<string | TemplateResult> {
  return splitLinks(text).map((piece) =>
    'href' in piece
      ? html`<a part="link" href=${piece.href} target="_blank" rel="noopener noreferrer">${piece.text}</a>`
      : piece.text,
  );
}

function renderStatus(item: ChatItem, strings: Strings): TemplateResult | typeof nothing {
  if (!item.mine) return nothing;
  switch (item.status) {
    case 'pending':
      return html`<span class="status" part="status" title=${strings.sending} role="img" aria-label=${strings.sending}>${clockIcon}</span>`;
    case 'sent':
      return html`<span class="status" part="status" title=${strings.sent} role="img" aria-label=${strings.sent}>${checkIcon}</span>`;
    case 'failed':
      return html`<span class="status" part="status" title=${strings.failed} role="img" aria-label=${strings.failed}>${alertIcon}</span>`;
  }
}

function renderFailure(item: ChatItem, actions: MessageActions, strings: Strings): TemplateResult | typeof nothing {
  if (item.status !== 'failed') return nothing;
  return html`<div class="failure" part="failure">
    <span part="failure-reason">${item.error?.message ?? strings.failed}</span>
    <button type="button" part="retry-button" aria-label=${strings.retryLabel} @click=${() => actions.retry(item.cmid)}>
      ${strings.retry}
    </button>
    <button type="button" part="discard-button" aria-label=${strings.discardLabel} @click=${() => actions.discard(item.cmid)}>
      ${strings.discard}
    </button>
  </div>`;
}

function renderItem(item: ChatItem, previous: ChatItem | undefined, actions: MessageActions, words: Localized): TemplateResult {
  // A run is consecutive messages from one sender; the name is shown once at its start.
  const startsRun = !previous || previous.from !== item.from || previous.mine !== item.mine;
  const side = item.mine ? 'mine' : 'theirs';
  return html`<div
    class="message ${side} ${startsRun ? 'starts-run' : ''}"
    part="message message-${side}"
    data-status=${item.status}
    data-cmid=${item.cmid}
    data-seq=${ifDefined(item.seq ?? undefined)}
  >
    ${!item.mine && startsRun ? html`<span class="sender" part="sender">${item.name}</span>` : nothing}
    <p class="bubble" part="text" dir="auto">${renderText(item.text)}</p>
    <div class="meta" part="meta">
      <time part="time" datetime=${new Date(item.ts).toISOString()} title=${formatFullTime(item.ts, words.tag)}>${formatTime(item.ts, words.tag)}</time>
      ${renderStatus(item, words.strings)}
    </div>
    ${renderFailure(item, actions, words.strings)}
  </div>`;
}

/** Most message nodes in the DOM at once, however long the conversation; a list this short is rendered whole. */
const MAX_NODES = 200;
/** Assumed pitch (height plus gap) of a message never measured, until some are. */
const GUESS = 56;

/**
 * The virtualised message list: renders the window of items around the viewport plus a viewport's worth
 * above and below, with spacers standing for the rest, so a conversation of 10,000 messages keeps at most
 * `MAX_NODES` nodes. Nodes are keyed by `cmid`. Each rendered node's pitch is measured (ResizeObserver, then
 * the distance to the next node, which counts gaps and margins); unmeasured ones are guessed as the mean.
 * The node at the top of the viewport stays put through every render (scroll anchoring done here, as
 * Safari has no `overflow-anchor`), whether older items are prepended or guesses give way to measures.
 */
export class MessageList implements ReactiveController {
  #pitch = new Map<string, number>();
  #measured = 0;
  #total = 0;
  #items: readonly ChatItem[] = [];
  #start = 0;
  #end = 0;
  #anchor: { node: Element; top: number } | null = null;
  #observed = new Set<Element>();
  #observer = new ResizeObserver(() => this.#measure());
  #wantsOlder = false;

  /** `onTop` is called when the reader reaches the oldest rendered item: time to load older ones. */
  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly log: () => HTMLElement | null,
    private readonly onTop: () => Promise<unknown> | undefined,
  ) {
    host.addController(this);
  }

  hostDisconnected(): void {
    this.#observer.disconnect();
    this.#observed.clear();
  }

  /** Before the DOM changes: notes the first node the reader sees and where. */
  hostUpdate(): void {
    const log = this.log();
    this.#anchor = null;
    if (!log) return;
    const top = log.getBoundingClientRect().top;
    for (const node of this.#rows(log)) {
      const box = node.getBoundingClientRect();
      if (box.bottom > top) {
        this.#anchor = { node, top: box.top };
        break;
      }
    }
  }

  /** After the DOM changed: puts the anchor node back where it was, and measures new nodes. */
  hostUpdated(): void {
    const log = this.log();
    if (!log) return;
    const anchor = this.#anchor;
    if (anchor?.node.isConnected) log.scrollTop += anchor.node.getBoundingClientRect().top - anchor.top;
    for (const node of this.#observed) {
      if (!node.isConnected) {
        this.#observer.unobserve(node);
        this.#observed.delete(node);
      }
    }
    for (const node of this.#rows(log)) {
      if (!this.#observed.has(node)) {
        this.#observed.add(node);
        this.#observer.observe(node);
      }
    }
    this.scrolled();
  }

  /**
   * The items of one conversation, oldest first (the window of them), or the empty-conversation hint.
   * `atBottom`: this render ends at the newest item (the view is about to stick to the bottom).
   */
  render(items: readonly ChatItem[], actions: MessageActions, words: Localized, atBottom: boolean): TemplateResult {
    if (items.length === 0) return html`<p class="empty" part="empty">${words.strings.emptyConversation}</p>`;
    this.#follow(items);
    const n = items.length;
    if (n <= MAX_NODES) [this.#start, this.#end] = [0, n];
    else if (atBottom || this.#end <= this.#start) this.#fit(n, n - 1, -1);
    const { start, end } = this.#clamp(n);
    let above = 0;
    let below = 0;
    for (let i = 0; i < start; i++) above += this.#guess(items[i]!);
    for (let i = end; i < n; i++) below += this.#guess(items[i]!);
    return html`${above ? html`<div aria-hidden="true" style="height:${above}px;flex:none"></div>` : nothing}${repeat(
      items.slice(start, end),
      (item) => item.cmid,
      (item, i) => renderItem(item, items[start + i - 1], actions, words),
    )}${below ? html`<div aria-hidden="true" style="height:${below}px;flex:none"></div>` : nothing}`;
  }

  /**
   * The reader scrolled (or the list changed): renders another window when the viewport nears the edge of
   * this one, and asks for older items once the oldest rendered item is near the top.
   */
  scrolled(): void {
    const log = this.log();
    const n = this.#items.length;
    if (!log || n === 0) return;
    const view = log.clientHeight;
    const top = log.scrollTop;
    if (this.#start === 0 && top < view && !this.#wantsOlder) {
      const loading = this.onTop();
      if (loading) {
        this.#wantsOlder = true;
        void loading.finally(() => {
          this.#wantsOlder = false;
        });
      }
    }
    if (n <= MAX_NODES) return;
    let y = 0;
    let first = 0;
    while (first < n - 1 && y + this.#guess(this.#items[first]!) < top) y += this.#guess(this.#items[first++]!);
    let last = first;
    for (let bottom = y; last < n - 1 && bottom < top + view; last++) bottom += this.#guess(this.#items[last]!);
    // Inside the window with half a viewport to spare at either edge: nothing to render.
    const margin = Math.ceil(view / 2 / this.#mean());
    if ((first - margin >= this.#start || this.#start === 0) && (last + margin < this.#end || this.#end === n)) return;
    const [start, end] = [this.#start, this.#end];
    this.#fit(n, first, 1);
    if (start !== this.#start || end !== this.#end) this.host.requestUpdate();
  }

  /** The window from `from` (spreading one way by `dir`) covering about three viewports, and `MAX_NODES` at most. */
  #fit(n: number, from: number, dir: 1 | -1): void {
    const view = this.log()?.clientHeight || 600;
    const count = Math.min(MAX_NODES, Math.ceil((3 * view) / this.#mean()) + 2);
    if (dir < 0) [this.#start, this.#end] = [Math.max(0, n - count), n];
    else {
      this.#start = Math.max(0, from - Math.ceil(count / 3));
      this.#end = Math.min(n, this.#start + count);
      this.#start = Math.max(0, this.#end - count);
    }
  }

  #clamp(n: number): { start: number; end: number } {
    this.#end = Math.min(this.#end, n);
    this.#start = Math.max(0, Math.min(this.#start, this.#end - 1));
    return { start: this.#start, end: this.#end };
  }

  /** Keeps the window on the same items when older ones are prepended (their indexes move, not they). */
  #follow(items: readonly ChatItem[]): void {
    const before = this.#items;
    this.#items = items;
    const first = before[this.#start];
    if (before === items || !first || items[this.#start]?.cmid === first.cmid) return;
    const at = items.findIndex((i) => i.cmid === first.cmid);
    if (at < 0) return;
    this.#end += at - this.#start;
    this.#start = at;
  }

  #mean(): number {
    return this.#measured ? this.#total / this.#measured : GUESS;
  }

  #guess(item: ChatItem): number {
    return this.#pitch.get(item.cmid) ?? this.#mean();
  }

  #rows(log: HTMLElement): HTMLElement[] {
    return [...log.querySelectorAll<HTMLElement>('.message')];
  }

  /** Records each rendered node's pitch: the distance to the next node (its own height for the last). */
  #measure(): void {
    const log = this.log();
    if (!log) return;
    const rows = this.#rows(log);
    rows.forEach((row, i) => {
      const next = rows[i + 1];
      const pitch = next ? next.offsetTop - row.offsetTop : row.offsetHeight;
      const cmid = row.dataset.cmid!;
      const held = this.#pitch.get(cmid);
      if (held === undefined) this.#measured += 1;
      this.#total += pitch - (held ?? 0);
      this.#pitch.set(cmid, pitch);
    });
  }
}
