/**
 * The message list: one node per `ChatItem` in view, keyed by sender and `cmid` so the node a person is
 * looking at survives pending -> sent. Every piece of user text goes through a Lit text binding, never markup; a
 * URL in it becomes a link only through `splitLinks`, whose checked `href` is bound as an attribute.
 */
import { html, nothing, render, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { ChatItem, ItemError } from '../client/index.js';
import { formatFullTime, formatTime, untilTomorrow } from './format.js';
import { alertIcon, checkIcon, clockIcon } from './icons.js';
import { splitLinks } from './links.js';
import type { Localized } from './i18n.js';
import type { Strings } from './strings.js';

/** The newest stored message among `items` (the highest seq; own messages not yet stored come after it). */
export function newestStored(items: readonly ChatItem[]): ChatItem | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (items[i]!.seq !== null) return items[i];
  return undefined;
}

/** What the list needs from the element for the reader's failed messages. */
export interface MessageActions {
  retry(cmid: string): void;
  discard(cmid: string): void;
  /** The server's text limit, named under a message refused as too long. */
  maxText: number;
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

/** The icon of each status of an own message, and the word (in `Strings`) that names it. */
const STATUS_LOOK = {
  pending: [clockIcon, 'sending'],
  sent: [checkIcon, 'sent'],
  failed: [alertIcon, 'failed'],
} as const;

function renderStatus(item: ChatItem, strings: Strings): TemplateResult | typeof nothing {
  if (!item.mine) return nothing;
  const [icon, word] = STATUS_LOOK[item.status];
  return html`<span class="status" part="status" title=${strings[word]} role="img" aria-label=${strings[word]}>${icon}</span>`;
}

/**
 * Why the server refused one of the reader's messages, in the chat's words, by the refusal's code (the
 * error codes of docs/protocol.md): a message filter's own reason (`REJECTED`, written for the sender),
 * the server's limit (`max`) for a text too long, `notMember`, `refusedSpam`, else `refusedOther`. The
 * server's other messages are for developers, in English.
 */
export function refusalText(strings: Strings, { code, message }: ItemError, max: number): string {
  if (code === 'REJECTED' && message) return message;
  if (code === 'TEXT_TOO_LONG') return strings.tooLong(max);
  return code === 'FORBIDDEN' ? strings.notMember : code === 'SPAM' ? strings.refusedSpam : strings.refusedOther;
}

/**
 * The id of a failed message's text, which its Retry and Discard buttons are described by: with several
 * failed messages, a screen reader's list of buttons says which message each one is for. Own cmids are
 * unique and never hold a space (`CMID_PATTERN`).
 */
const textId = (item: ChatItem): string | typeof nothing => (item.status === 'failed' ? `text-${item.cmid}` : nothing);

function renderFailure(item: ChatItem, actions: MessageActions, strings: Strings): TemplateResult | typeof nothing {
  if (item.status !== 'failed') return nothing;
  return html`<div class="failure" part="failure">
    <span part="failure-reason">${item.error ? refusalText(strings, item.error, actions.maxText) : strings.failed}</span>
    <button type="button" part="retry-button" aria-label=${strings.retryLabel} aria-describedby=${textId(item)} @click=${() => actions.retry(item.cmid)}>
      ${strings.retry}
    </button>
    <button type="button" part="discard-button" aria-label=${strings.discardLabel} aria-describedby=${textId(item)} @click=${() => actions.discard(item.cmid)}>
      ${strings.discard}
    </button>
  </div>`;
}

/**
 * The key of an item's node. A cmid is unique per sender only: keyed by cmid alone, someone who reuses
 * another member's cmid would take over the node of that member's message. Own items keep the bare cmid,
 * so the node a person looks at survives pending -> sent.
 */
function keyOf(item: ChatItem): string {
  let key = keys.get(item);
  if (key === undefined) keys.set(item, (key = item.mine ? item.cmid : `${item.from}\n${item.cmid}`));
  return key;
}

/** Each item's key, made once: the client hands out the same item object until the item changes. */
const keys = new WeakMap<ChatItem, string>();

function renderItem(item: ChatItem, previous: ChatItem | undefined, actions: MessageActions, words: Localized): TemplateResult {
  // A run is consecutive messages from one sender; the name is shown once at its start.
  const startsRun = !previous || previous.from !== item.from || previous.mine !== item.mine;
  const side = item.mine ? 'mine' : 'theirs';
  return html`<div
    class="message ${side} ${startsRun ? 'starts-run' : ''}"
    part="message message-${side}"
    data-status=${item.status}
    data-cmid=${item.cmid}
    data-key=${keyOf(item)}
    data-seq=${item.seq ?? nothing}
  >
    ${!item.mine && startsRun
      ? html`<span class="sender" part="sender">${item.name}</span>`
      : // Who wrote it, for a screen reader that meets this message on its own: the screen shows it by side and run.
        html`<span class="visually-hidden">${item.mine ? words.strings.you : item.name}</span>`}
    <p class="bubble" part="text" dir="auto" id=${textId(item)}>${renderText(item.text)}</p>
    <div class="meta" part="meta">
      <time part="time" dir="auto" datetime=${new Date(item.ts).toISOString()} title=${formatFullTime(item.ts, words.tag)}>${formatTime(item.ts, words.tag)}</time>
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
 * Safari has no `overflow-anchor`; where the browser has it too, the result is the same), whether older
 * items are prepended or guesses give way to measures.
 */
export class MessageList implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #log: () => HTMLElement | null;
  readonly #onTop: () => Promise<unknown> | undefined;
  #pitch = new Map<string, number>();
  #measured = 0;
  #total = 0;
  #items: readonly ChatItem[] = [];
  #start = 0;
  #end = 0;
  #anchor?: [node: HTMLElement, top: number, scrollTop: number];
  /** What the next `hostUpdated` puts in the DOM: the window's items and the spacers' heights. */
  #view?: [start: number, end: number, above: number, below: number, actions: MessageActions, words: Localized];
  /** The node of each rendered item, by cmid: Lit renders into it, and it moves only when its item does. */
  #nodes = new Map<string, HTMLElement>();
  #spacers = [spacer(), spacer()] as const;
  /** What each node shows: its item and the one before (for the run), to render only nodes that changed. */
  #shown = new WeakMap<HTMLElement, [item: ChatItem, previous: ChatItem | undefined]>();
  #words?: Localized;
  /** The local day the shown time labels were written on; past midnight they are written again. */
  #day?: string;
  #midnight?: ReturnType<typeof setTimeout>;
  #observer = new ResizeObserver((entries) => this.#measure(entries));
  #loading?: boolean;
  #wantsOlder?: boolean;
  /** Whether the last render ended at the newest item, the view sticking to the bottom. */
  #atBottom?: boolean;

  /** `onTop` is called when the reader reaches the oldest item held: time to load older ones. */
  constructor(host: ReactiveControllerHost, log: () => HTMLElement | null, onTop: () => Promise<unknown> | undefined) {
    this.#host = host;
    this.#log = log;
    this.#onTop = onTop;
    host.addController(this);
  }

  hostConnected(): void {
    for (const node of this.#nodes.values()) this.#observer.observe(node.firstElementChild!);
    this.#atMidnight();
  }

  hostDisconnected(): void {
    this.#observer.disconnect();
    clearTimeout(this.#midnight);
  }

  /** Renders again just after the next midnight (only while in the document: the timer holds the host). */
  #atMidnight(): void {
    clearTimeout(this.#midnight);
    this.#midnight = setTimeout(() => this.#host.requestUpdate(), untilTomorrow() + 1000);
  }

  /** After the DOM changed: puts the anchor node back where it was, and measures the nodes. */
  hostUpdated(): void {
    const log = this.#log();
    if (!log) return;
    const box = log.querySelector('.rows');
    if (box) this.#place(box);
    const [node, top, scrollTop] = this.#anchor ?? [];
    // Set, not added to: a browser with its own scroll anchoring may have moved the view already.
    if (node?.isConnected) log.scrollTop = scrollTop! + node.offsetTop - top!;
    this.#anchor = undefined;
    // A render that ends at the newest item sticks to the bottom: its window is already the right one.
    if (!this.#atBottom) this.scrolled(false);
  }

  /**
   * Before the DOM changes: notes the first node the reader sees and where (`firstVisible`).
   */
  #noteAnchor(log: HTMLElement): void {
    const rows = this.#rows(log);
    const node = rows[firstVisible(rows, log)];
    this.#anchor = node && [node, node.offsetTop, log.scrollTop];
  }

  /**
   * The items of one conversation, oldest first (the window of them), or the empty-conversation hint.
   * `atBottom`: this render ends at the newest item (the view is about to stick to the bottom).
   */
  render(items: readonly ChatItem[], actions: MessageActions, words: Localized, atBottom: boolean): TemplateResult {
    if (items.length === 0) return html`<p class="empty" part="empty">${words.strings.emptyConversation}</p>`;
    // Rendered before the DOM changes (Lit commits after render): the reader's place, unless the view
    // is about to stick to the bottom anyway.
    const log = this.#log();
    this.#atBottom = atBottom;
    if (log && !atBottom) this.#noteAnchor(log);
    const n = items.length;
    // Older items prepended move the window's indexes, not its items.
    const first = this.#items[this.#start];
    const key = first && keyOf(first);
    const moved = first && keyOf(items[this.#start] ?? first) !== key ? items.findIndex((i) => keyOf(i) === key) - this.#start : 0;
    this.#items = items;
    if (moved > 0) {
      this.#start += moved;
      this.#end += moved;
    }
    if (n <= MAX_NODES || atBottom || this.#end <= this.#start) this.#fit(n);
    const start = (this.#start = Math.max(0, Math.min(this.#start, n - 1)));
    const end = (this.#end = Math.min(this.#end, n));
    let above = 0;
    let below = 0;
    items.forEach((item, i) => (i < start ? (above += this.#guess(item)) : i >= end && (below += this.#guess(item))));
    this.#view = [start, end, above, below, actions, words];
    // The rows are placed by `#place`, keyed by cmid, with spacers sized through CSSOM (a strict
    // style-src refuses style attributes).
    return html`<div class="rows"></div>`;
  }

  /** Puts the window's nodes in `box` in order, between the spacers, reusing each item's node. */
  #place(box: Element): void {
    const [start, end, above, below, actions, words] = this.#view!;
    const items = this.#items;
    const nodes = new Map<string, HTMLElement>();
    const last = this.#words;
    const day = new Date().toDateString();
    const same = day === this.#day && last?.tag === words.tag && Object.entries(words.strings).every(([key, value]) => last.strings[key as keyof Strings] === value);
    this.#words = words;
    if (day !== this.#day) {
      // Yesterday's messages lose their "today" labels at midnight, also in a chat left open and quiet.
      this.#day = day;
      if (box.isConnected) this.#atMidnight();
    }
    for (let i = start; i < end; i++) {
      const item = items[i]!;
      const previous = items[i - 1];
      const key = keyOf(item);
      const known = this.#nodes.get(key);
      const node = known ?? row();
      const [was, before] = this.#shown.get(node) ?? [];
      if (!same || was !== item || before !== previous) render(renderItem(item, previous, actions, words), node);
      // Lit keeps the message element its template made: watched from its first render to its removal.
      if (!known) this.#observer.observe(node.firstElementChild!);
      this.#shown.set(node, [item, previous]);
      nodes.set(key, node);
    }
    for (const [key, node] of this.#nodes) {
      if (nodes.has(key)) continue;
      node.remove();
      this.#observer.unobserve(node.firstElementChild!);
    }
    this.#nodes = nodes;
    const [top, bottom] = this.#spacers;
    top.style.height = `${above}px`;
    top.hidden = !above;
    bottom.style.height = `${below}px`;
    bottom.hidden = !below;
    // Only nodes out of place move (moving a node would drop the focus inside it).
    let at = box.firstChild;
    for (const node of [top, ...nodes.values(), bottom]) {
      if (node === at) at = at.nextSibling;
      else box.insertBefore(node, at);
    }
  }

  /**
   * The reader scrolled (or, `byReader` false, the list changed): renders another window when the viewport
   * nears the edge of this one, and asks for older items once the reader nears the oldest one held.
   */
  scrolled(byReader = true): void {
    const log = this.#log();
    const items = this.#items;
    const n = items.length;
    if (!log || n === 0) return;
    const view = log.clientHeight;
    const top = log.scrollTop;
    // Near the top by the reader's doing (not a first render): older items are wanted until they scroll away.
    if (byReader) this.#wantsOlder = top < view;
    if (this.#wantsOlder && this.#start === 0 && top < view && !this.#loading) {
      const loading = this.#onTop();
      this.#loading = !!loading;
      void loading?.finally(() => (this.#loading = false));
    }
    const first = this.#firstInView(log, n);
    let last = first;
    for (let y = 0; last < n - 1 && y < view; ) y += this.#guess(items[last++]!);
    // Half a viewport to spare at either edge of the window: nothing to render.
    const margin = view / 2 / this.#mean();
    if ((first - margin >= this.#start || this.#start === 0) && (last + margin < this.#end || this.#end === n)) return;
    this.#fit(n, first);
    this.#host.requestUpdate();
  }

  /**
   * The index of the item at the top of the viewport. Where the window's nodes are, read from the DOM
   * (`firstVisible`); over a spacer, counted from the window's edge in items of the mean
   * pitch. Never from the top of the list: the spacers were sized with the guesses of their render, and
   * measures taken since (or a list first laid out while hidden) would put the reader somewhere else.
   */
  #firstInView(log: HTMLElement, n: number): number {
    const rows = this.#rows(log);
    const edge = log.scrollTop + log.offsetTop;
    const head = rows[0];
    const tail = rows.at(-1);
    if (!head || !tail) return 0;
    if (edge < head.offsetTop) return Math.max(0, this.#start - Math.ceil((head.offsetTop - edge) / this.#mean()));
    const bottom = tail.offsetTop + tail.offsetHeight;
    if (edge >= bottom) return Math.min(n - 1, this.#start + rows.length + Math.floor((edge - bottom) / this.#mean()));
    return this.#start + firstVisible(rows, log);
  }

  /**
   * The window: the whole list when short, else about three viewports and `MAX_NODES` at most, from a
   * viewport above `from` (or ending at the newest item).
   */
  #fit(n: number, from?: number): void {
    const count = n <= MAX_NODES ? n : Math.min(MAX_NODES, Math.ceil((3 * (this.#log()?.clientHeight || 600)) / this.#mean()) + 2);
    this.#start = from === undefined ? n - count : Math.max(0, Math.min(n - count, Math.floor(from - count / 3)));
    this.#end = this.#start + count;
  }

  #mean(): number {
    return this.#measured ? this.#total / this.#measured : GUESS;
  }

  #guess(item: ChatItem): number {
    return this.#pitch.get(keyOf(item)) ?? this.#mean();
  }

  #rows(log: HTMLElement): HTMLElement[] {
    return [...log.querySelectorAll<HTMLElement>('.message')];
  }

  /**
   * Records the pitch of the nodes that changed size and of the ones just before them: the distance to
   * the next node (its own height for the last).
   */
  #measure(entries: readonly ResizeObserverEntry[]): void {
    const log = this.#log();
    const rows = log ? this.#rows(log) : [];
    const resized = new Set(entries.map((entry) => entry.target));
    rows.forEach((row, i) => {
      if (!resized.has(row) && !resized.has(rows[i + 1]!)) return;
      const pitch = rows[i + 1] ? rows[i + 1]!.offsetTop - row.offsetTop : row.offsetHeight;
      // A list laid out while hidden (a closed launcher panel) measures every node as 0: no measure at all.
      if (pitch <= 0) return;
      const held = this.#pitch.get(row.dataset.key!);
      if (held === undefined) this.#measured++;
      this.#total += pitch - (held ?? 0);
      this.#pitch.set(row.dataset.key!, pitch);
    });
  }
}

/**
 * The index of the first of `rows` (message nodes, in document order) that reaches below the top of the
 * log's viewport, found by bisection so that it costs a few layout reads whatever their number;
 * `rows.length` when none does.
 */
function firstVisible(rows: readonly HTMLElement[], log: HTMLElement): number {
  const edge = log.scrollTop + log.offsetTop;
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (rows[mid]!.offsetTop + rows[mid]!.offsetHeight > edge) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** The box a message renders into: it takes no part in layout itself. */
function row(): HTMLElement {
  const node = document.createElement('div');
  node.style.display = 'contents';
  return node;
}

/** Stands for the items outside the window, keeping the scroll height. */
function spacer(): HTMLElement {
  const node = document.createElement('div');
  node.ariaHidden = 'true';
  return node;
}
