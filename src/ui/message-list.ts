/**
 * The message list: one node per `ChatItem`, keyed by `cmid` so the node a person is looking at
 * survives pending -> sent. Every piece of user text goes through a Lit text binding, never markup; a
 * URL in it becomes a link only through `splitLinks`, whose checked `href` is bound as an attribute.
 */
import { html, nothing, type TemplateResult } from 'lit';
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

/** The items of one conversation, oldest first, or the empty-conversation hint, in the words of `words`. */
export function renderMessages(items: readonly ChatItem[], actions: MessageActions, words: Localized): TemplateResult {
  if (items.length === 0) return html`<p class="empty" part="empty">${words.strings.emptyConversation}</p>`;
  return html`${repeat(
    items,
    (item) => item.cmid,
    (item, index) => renderItem(item, items[index - 1], actions, words),
  )}`;
}
