/**
 * The launcher mode of `<imbed-chat>`: a floating round button with the unread badge, and the panel
 * that holds the chat while it is open. Templates only; the element owns the state and the handlers.
 */
import { html, type TemplateResult } from 'lit';

/** The badge never grows wider than this many digits: above it shows `99+`. */
const BADGE_MAX = 99;

const chatIcon = html`<svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2"><path d="M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 4v-4A1.5 1.5 0 0 1 4 14.5z" stroke-linejoin="round"/></svg>`;

const closeIcon = html`<svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2"><path d="M6 6l12 12M18 6L6 18" stroke-linecap="round"/></svg>`;

/** The badge's text: empty at 0, then the count, capped at `99+`. */
export function badgeText(count: number): string {
  return count <= 0 ? '' : count > BADGE_MAX ? `${BADGE_MAX}+` : String(count);
}

export interface LauncherModel {
  opened: boolean;
  unread: number;
  /** The button's accessible name, which carries the unread count for screen readers. */
  label: string;
}

/**
 * The floating button. The badge is hidden from assistive technology: the label already says the count.
 * `keydown` is the panel's, so Escape closes from the button too.
 */
export function renderLauncherButton(model: LauncherModel, toggle: () => void, keydown: (event: KeyboardEvent) => void): TemplateResult {
  const badge = badgeText(model.unread);
  return html`<button
    type="button"
    class="launcher"
    part="launcher-button"
    aria-label=${model.label}
    aria-expanded=${model.opened ? 'true' : 'false'}
    aria-controls="panel"
    @click=${toggle}
    @keydown=${keydown}
  >
    ${model.opened ? closeIcon : chatIcon}
    <span class="unread-badge" part="unread-badge" aria-hidden="true" ?hidden=${!badge}>${badge}</span>
  </button>`;
}

export interface PanelModel {
  opened: boolean;
  title: string;
  closeLabel: string;
  /** Full screen, the panel covers the page: assistive technology keeps to it (`aria-modal`). */
  modal: boolean;
}

/**
 * The panel, with a header and a close button: a non-modal dialog beside the page (which stays usable);
 * a modal one when full screen (480 px wide or less). Escape closes it; `keydown` is the element's
 * handler for that.
 */
export function renderPanel(model: PanelModel, body: TemplateResult, close: () => void, keydown: (event: KeyboardEvent) => void): TemplateResult {
  return html`<div
    id="panel"
    class="panel"
    part="panel"
    role="dialog"
    aria-modal=${model.modal}
    aria-labelledby="panel-title"
    ?hidden=${!model.opened}
    @keydown=${keydown}
  >
    <div class="panel-header" part="panel-header">
      <h2 class="panel-title" id="panel-title" part="panel-title">${model.title}</h2>
      <button type="button" class="close" part="close-button" aria-label=${model.closeLabel} @click=${close}>${closeIcon}</button>
    </div>
    ${body}
  </div>`;
}
