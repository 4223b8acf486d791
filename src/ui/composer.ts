/**
 * The composer: a labelled textarea and a send button. Enter sends, Shift+Enter inserts a newline,
 * and an Enter that commits an IME composition never sends.
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { Strings } from './strings.js';

/** Show the character counter once the draft is this close to the limit. */
export const COUNTER_THRESHOLD = 0.8;

/**
 * Whether a keydown on the composer should send. `composing` is the element's own
 * compositionstart/compositionend tracking: Safari fires compositionend *before* the committing
 * keydown and reports `isComposing: false` on it (https://bugs.webkit.org/show_bug.cgi?id=165004),
 * but it does report keyCode 229 there, as Chrome does for IME keydowns.
 */
export function isSendKey(event: KeyboardEvent, composing: boolean): boolean {
  if (event.key !== 'Enter') return false;
  if (event.isComposing || event.keyCode === 229 || composing) return false;
  return !event.shiftKey;
}

export interface ComposerModel {
  draft: string;
  /** The longest text the client takes (its `maxText`). */
  maxText: number;
  /** A refusal to show under the input (too long, or the client's own refusal). */
  error: string;
}

export interface ComposerHandlers {
  input(event: InputEvent): void;
  keydown(event: KeyboardEvent): void;
  compositionstart(): void;
  compositionend(): void;
  submit(event: Event): void;
}

/**
 * The composer's form. The textarea's value is not bound: the person's typing owns it, and the element
 * writes its draft into it after an update where the two differ (ImbedChat `updated`). A boolean bound to
 * an ARIA attribute is written as its `true` or `false`.
 */
export function renderComposer(model: ComposerModel, on: ComposerHandlers, strings: Strings): TemplateResult {
  const length = model.draft.length;
  const showCounter = length >= model.maxText * COUNTER_THRESHOLD;
  const over = length > model.maxText;
  const blank = model.draft.trim() === '';
  const hasNote = showCounter || Boolean(model.error);
  return html`<form class="composer" part="composer" @submit=${on.submit}>
    <div class="composer-row">
      <textarea
        part="composer-input"
        rows="1"
        dir="auto"
        aria-label=${strings.composerLabel}
        placeholder=${strings.composerPlaceholder}
        aria-invalid=${over}
        aria-describedby="composer-note"
        @input=${on.input}
        @keydown=${on.keydown}
        @compositionstart=${on.compositionstart}
        @compositionend=${on.compositionend}
      ></textarea>
      <button class="send" type="submit" part="send-button" aria-disabled=${blank}>${strings.send}</button>
    </div>
    <p class="composer-note" id="composer-note" ?data-empty=${!hasNote}>
      <span class="composer-error" part="composer-error" aria-live="polite">${model.error}</span>
      ${showCounter
        ? html`<span class="counter" part="counter" ?data-over=${over}>${strings.charactersLeft(model.maxText - length)}</span>`
        : nothing}
    </p>
  </form>`;
}
