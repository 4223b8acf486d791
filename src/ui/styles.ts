/**
 * The look of `<imbed-chat>`, as one adopted stylesheet. Hosts theme it through the `--imbed-*` custom
 * properties below (documented on the element) and reach inner nodes through `::part()`; nothing here
 * is built from user data.
 */
import { css } from 'lit';

export const chatStyles = css`
  :host {
    --_accent: var(--imbed-accent, #2563eb);
    --_accent-fg: var(--imbed-accent-fg, #ffffff);
    --_bg: var(--imbed-bg, #ffffff);
    --_fg: var(--imbed-fg, #111827);
    --_muted: var(--imbed-muted, #6b7280);
    --_border: var(--imbed-border, #e5e7eb);
    --_radius: var(--imbed-radius, 14px);
    --_bubble-mine: var(--imbed-bubble-mine, var(--_accent));
    --_bubble-mine-fg: var(--imbed-bubble-mine-fg, var(--_accent-fg));
    --_bubble-theirs: var(--imbed-bubble-theirs, #f1f3f5);
    --_bubble-theirs-fg: var(--imbed-bubble-theirs-fg, var(--_fg));
    --_danger: var(--imbed-danger, #b91c1c);
    --_banner-bg: var(--imbed-banner-bg, #fff7e6);
    --_banner-fg: var(--imbed-banner-fg, #7a4b00);

    display: flex;
    flex-direction: column;
    height: 100%;
    min-height: 240px;
    box-sizing: border-box;
    background: var(--_bg);
    color: var(--_fg);
    font: var(--imbed-font, 15px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    overflow: hidden;
    position: relative;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }

  button {
    font: inherit;
    cursor: pointer;
    border-radius: 999px;
    border: 1px solid transparent;
    padding: 0.25em 0.8em;
  }
  button:focus-visible,
  textarea:focus-visible,
  [part~='log']:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }

  /* The banner stays in the tree when empty so screen readers keep the live region registered. */
  .banner {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.25em 0.75em;
    padding: 0.45em 0.9em;
    background: var(--_banner-bg);
    color: var(--_banner-fg);
    font-size: 0.875em;
    border-bottom: 1px solid var(--_border);
  }
  .banner[data-empty] {
    padding: 0;
    border: 0;
    height: 0;
    overflow: hidden;
  }
  .banner[data-tone='error'] {
    background: #fdecec;
    color: var(--_danger);
  }
  .banner-line {
    margin: 0;
  }
  .banner button {
    background: transparent;
    color: inherit;
    border-color: currentColor;
    font-size: 0.95em;
    padding: 0.1em 0.7em;
  }

  .log-area {
    flex: 1 1 auto;
    min-height: 0;
    position: relative;
    display: flex;
    flex-direction: column;
  }
  .log {
    flex: 1 1 auto;
    min-height: 0;
    overflow-y: auto;
    overscroll-behavior: contain;
    padding: 0.75em 0.9em;
    display: flex;
    flex-direction: column;
    gap: 0.2em;
  }
  .empty {
    margin: auto;
    color: var(--_muted);
    font-size: 0.9em;
  }

  .message {
    display: flex;
    flex-direction: column;
    max-width: 80%;
    align-self: flex-start;
    align-items: flex-start;
  }
  .message.mine {
    align-self: flex-end;
    align-items: flex-end;
  }
  .message.starts-run {
    margin-top: 0.5em;
  }
  .sender {
    font-size: 0.8em;
    font-weight: 600;
    color: var(--_muted);
    margin: 0 0.75em 0.15em;
  }
  .bubble {
    padding: 0.45em 0.8em;
    border-radius: var(--_radius);
    background: var(--_bubble-theirs);
    color: var(--_bubble-theirs-fg);
    /* User text keeps its line breaks and never overflows the bubble, even a 500-character URL. */
    white-space: pre-wrap;
    overflow-wrap: anywhere;
    word-break: normal;
    margin: 0;
  }
  .mine .bubble {
    background: var(--_bubble-mine);
    color: var(--_bubble-mine-fg);
  }
  /* Readable on both bubbles; isolated so bidi controls before a link cannot reorder it. */
  [part~='link'] {
    color: var(--imbed-link-color, currentColor);
    unicode-bidi: isolate;
  }
  .message[data-status='pending'] .bubble {
    opacity: 0.7;
  }
  .message[data-status='failed'] .bubble {
    background: transparent;
    color: var(--_fg);
    border: 1px dashed var(--_danger);
  }
  .meta {
    display: flex;
    align-items: center;
    gap: 0.35em;
    font-size: 0.75em;
    color: var(--_muted);
    margin: 0.15em 0.75em 0;
  }
  .status {
    display: inline-flex;
    align-items: center;
  }
  .status svg {
    width: 1.1em;
    height: 1.1em;
  }
  .failure {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    justify-content: flex-end;
    gap: 0.4em;
    font-size: 0.8em;
    color: var(--_danger);
    margin: 0.25em 0.5em 0;
  }
  .failure button {
    font-size: 0.95em;
    padding: 0.1em 0.7em;
    background: transparent;
    border-color: currentColor;
    color: inherit;
  }

  .new-messages {
    position: absolute;
    left: 50%;
    transform: translateX(-50%);
    bottom: 0.75em;
    background: var(--_accent);
    color: var(--_accent-fg);
    box-shadow: 0 2px 8px rgb(0 0 0 / 0.2);
    font-size: 0.85em;
  }

  .composer {
    display: flex;
    flex-direction: column;
    padding: 0.6em 0.75em;
    border-top: 1px solid var(--_border);
  }
  .composer-row {
    display: flex;
    align-items: flex-end;
    gap: 0.5em;
  }
  textarea {
    flex: 1 1 auto;
    resize: none;
    font: inherit;
    color: inherit;
    background: transparent;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 0.8);
    padding: 0.5em 0.75em;
    min-height: 2.5em;
    max-height: 8em;
    field-sizing: content;
  }
  .send {
    background: var(--_accent);
    color: var(--_accent-fg);
    padding: 0.5em 1.1em;
  }
  /* Dimmed, not disabled: a disabled button drops out of the tab order and says nothing when pressed. */
  .send[data-blank] {
    opacity: 0.5;
  }
  .composer-note {
    display: flex;
    justify-content: space-between;
    gap: 1em;
    font-size: 0.8em;
    color: var(--_muted);
    margin: 0.3em 0 0;
  }
  /* Collapsed rather than display: none, so the error's live region stays registered. */
  .composer-note[data-empty] {
    margin: 0;
    height: 0;
    overflow: hidden;
  }
  .composer-error {
    color: var(--_danger);
  }
  .counter[data-over] {
    color: var(--_danger);
    font-weight: 600;
  }

  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
`;
