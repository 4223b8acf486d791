/**
 * The look of `<imbed-chat>`, as one adopted stylesheet. Hosts theme it through the `--imbed-*` custom
 * properties (documented on the element and in docs/theming.md) and reach inner nodes through
 * `::part()`; nothing here is built from user data. Layout uses logical properties only, so a
 * right-to-left page (`dir="rtl"` on the element or an ancestor) mirrors it.
 */
import { css, unsafeCSS, type CSSResult } from 'lit';

/**
 * The default colours of each theme, by `--imbed-*` name without the prefix. Own bubbles take the
 * accent pair. Every text colour meets WCAG AA (4.5:1) on the background it is drawn on, and the
 * accent (focus rings) 3:1 on the background; test/ui/theme.test.ts computes the ratios from this table.
 */
export const THEMES = {
  light: {
    bg: '#ffffff',
    fg: '#111827',
    muted: '#6b7280',
    border: '#d1d5db',
    accent: '#2563eb',
    'accent-fg': '#ffffff',
    'bubble-theirs': '#f1f3f5',
    'bubble-theirs-fg': '#111827',
    'banner-bg': '#fff7e6',
    'banner-fg': '#7a4b00',
    danger: '#b91c1c',
    'danger-bg': '#fdecec',
  },
  dark: {
    bg: '#0f172a',
    fg: '#f1f5f9',
    muted: '#94a3b8',
    border: '#334155',
    accent: '#3b82f6',
    'accent-fg': '#0f172a',
    'bubble-theirs': '#1e293b',
    'bubble-theirs-fg': '#f1f5f9',
    'banner-bg': '#3a2a05',
    'banner-fg': '#fcd34d',
    danger: '#f87171',
    'danger-bg': '#3b1212',
  },
} as const;

export type ThemeName = keyof typeof THEMES;
export type ThemeColour = keyof (typeof THEMES)['light'];

/** Text colours and the backgrounds they are drawn on, for the contrast check. */
export const TEXT_PAIRS: ReadonlyArray<readonly [text: ThemeColour, background: ThemeColour]> = [
  ['fg', 'bg'],
  ['muted', 'bg'],
  ['danger', 'bg'],
  ['accent-fg', 'accent'],
  ['bubble-theirs-fg', 'bubble-theirs'],
  ['banner-fg', 'banner-bg'],
  ['danger', 'danger-bg'],
];

/**
 * A theme's colours as the private `--_*` properties the rules below (and the launcher's) draw with:
 * each the host's `--imbed-*` property, else the theme's default.
 */
function themeColours(name: ThemeName): CSSResult {
  return unsafeCSS(Object.entries(THEMES[name]).map(([colour, value]) => `--_${colour}:var(--imbed-${colour},${value});`).join(''));
}

export const chatStyles = css`
  :host {
    color-scheme: light;
    ${themeColours('light')}
    --_bubble-mine: var(--imbed-bubble-mine, var(--_accent));
    --_bubble-mine-fg: var(--imbed-bubble-mine-fg, var(--_accent-fg));
    --_radius: var(--imbed-radius, 14px);
    /* One spacing unit in px, not em: paddings stay even across the smaller type of times and notes. */
    --_sp: var(--imbed-spacing, 8px);

    display: flex;
    flex-direction: column;
    height: 100%;
    min-height: 240px;
    box-sizing: border-box;
    background: var(--_bg);
    color: var(--_fg);
    font-family: var(--imbed-font-family, system-ui, -apple-system, 'Segoe UI', Roboto, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif);
    font-size: var(--imbed-font-size, 15px);
    line-height: 1.4;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    overflow: hidden;
    position: relative;
  }
  :host([theme='dark']) {
    color-scheme: dark;
    ${themeColours('dark')}
  }
  /* theme="auto" (the default) follows the reader's system setting. */
  @media (prefers-color-scheme: dark) {
    :host(:not([theme='light'])) {
      color-scheme: dark;
      ${themeColours('dark')}
    }
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
    padding-block: 0.25em;
    padding-inline: 0.8em;
  }
  /* The accent is 3:1 against the background in both themes (WCAG 2.4.7, 1.4.11). */
  button:focus-visible,
  textarea:focus-visible,
  [part~='log']:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }
  /* Drawn inside: the log and the panel's close button touch edges that clip. */
  [part~='log']:focus-visible,
  .close:focus-visible {
    outline-offset: -2px;
  }

  /* The wrapper of everything only carries the language of the words: the layout is the host's flex column. */
  .root {
    display: contents;
  }
  /* The banner stays in the tree when empty so screen readers keep the live region registered. */
  .banner {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: calc(var(--_sp) / 4) var(--_sp);
    padding-block: calc(var(--_sp) * 0.75);
    padding-inline: calc(var(--_sp) * 1.75);
    background: var(--_banner-bg);
    color: var(--_banner-fg);
    font-size: 0.875em;
    border-block-end: 1px solid var(--_border);
  }
  .banner[data-empty] {
    padding: 0;
    border: 0;
    height: 0;
    overflow: hidden;
  }
  .banner[data-tone='error'] {
    background: var(--_danger-bg);
    color: var(--_danger);
  }
  .banner-line {
    margin: 0;
  }
  /* The banner's and a failed message's buttons: outlined in the text colour of the line they sit on. */
  .banner button,
  .failure button {
    background: transparent;
    color: inherit;
    border-color: currentColor;
    font-size: 0.95em;
    padding-block: 0.1em;
    padding-inline: 0.7em;
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
    padding-block: calc(var(--_sp) * 1.5);
    padding-inline: calc(var(--_sp) * 1.75);
    /* A column only so that the empty-conversation hint can centre itself; messages space themselves. */
    display: flex;
    flex-direction: column;
  }
  .empty {
    margin: auto;
    color: var(--_muted);
    font-size: 0.9em;
  }

  /*
   * The messages stack in block layout, cheaper to update than flex when one arrives: each is as wide as
   * its content (80% at most), others' on the inline-start side, own ones pushed to the inline-end side.
   * Inline margins are logical, so the sides swap in right-to-left text.
   */
  .message {
    /* Holds its visually hidden sender name, which would otherwise be placed outside the scrolling log. */
    position: relative;
    display: flex;
    flex-direction: column;
    inline-size: fit-content;
    max-inline-size: 80%;
    align-items: flex-start;
    margin-block-start: calc(var(--_sp) / 2.5);
  }
  .message.mine {
    margin-inline-start: auto;
    align-items: flex-end;
  }
  .message.starts-run {
    margin-block-start: calc(var(--_sp) * 1.4);
  }
  .sender {
    /* A name without a break (an email, an id) wraps rather than widening the log sideways. */
    overflow-wrap: anywhere;
    font-size: 0.8em;
    font-weight: 600;
    color: var(--_muted);
    margin-block: 0 calc(var(--_sp) / 4);
    margin-inline: calc(var(--_sp) * 1.5);
  }
  .bubble {
    /* Invisible, except in forced-colors mode (Windows High Contrast), which draws it: bubbles keep their shape. */
    border: 1px solid transparent;
    padding-block: calc(var(--_sp) * 0.75);
    padding-inline: calc(var(--_sp) * 1.5);
    border-radius: var(--_radius);
    background: var(--_bubble-theirs);
    color: var(--_bubble-theirs-fg);
    text-align: start;
    /* User text keeps its line breaks and never overflows the bubble, even a 500-character URL. */
    white-space: pre-wrap;
    overflow-wrap: anywhere;
    word-break: normal;
    margin: 0;
  }
  /* The corner nearest the sender's side is tighter, pointing the bubble at its side in either direction. */
  .theirs .bubble {
    border-end-start-radius: calc(var(--_radius) / 4);
  }
  .mine .bubble {
    background: var(--_bubble-mine);
    color: var(--_bubble-mine-fg);
    border-end-end-radius: calc(var(--_radius) / 4);
  }
  /* Readable on both bubbles; isolated so bidi controls before a link cannot reorder it. */
  [part~='link'] {
    color: var(--imbed-link-color, currentColor);
    unicode-bidi: isolate;
  }
  /* The bubble's own text colour: it has 4.5:1 on either bubble, where the accent may not. */
  [part~='link']:focus-visible {
    outline: 2px solid currentColor;
    outline-offset: 1px;
  }
  .message[data-status='failed'] .bubble {
    background: transparent;
    color: var(--_fg);
    border: 1px dashed var(--_danger);
  }
  .meta {
    display: flex;
    align-items: center;
    gap: calc(var(--_sp) / 2);
    font-size: 0.75em;
    color: var(--_muted);
    margin-block: calc(var(--_sp) / 4) 0;
    margin-inline: calc(var(--_sp) * 1.5);
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
    gap: calc(var(--_sp) / 2);
    font-size: 0.8em;
    color: var(--_danger);
    margin-block: calc(var(--_sp) / 2) 0;
    margin-inline: var(--_sp);
  }

  /* Centred with auto margins rather than left/translate, which would not mirror. */
  .new-messages {
    position: absolute;
    inset-inline: 0;
    inset-block-end: calc(var(--_sp) * 1.5);
    margin-inline: auto;
    inline-size: fit-content;
    background: var(--_accent);
    color: var(--_accent-fg);
    box-shadow: 0 2px 8px rgb(0 0 0 / 0.2);
    font-size: 0.85em;
  }

  .composer {
    display: flex;
    flex-direction: column;
    padding-block: var(--_sp);
    padding-inline: calc(var(--_sp) * 1.5);
    border-block-start: 1px solid var(--_border);
  }
  .composer-row {
    display: flex;
    align-items: flex-end;
    gap: var(--_sp);
  }
  textarea {
    /* Sized by the row, not by its text (field-sizing: content would squeeze the send button). */
    flex: 1 1 0;
    min-inline-size: 4em;
    resize: none;
    font: inherit;
    color: inherit;
    background: transparent;
    /* The field's only outline: 3:1 against the background (WCAG 1.4.11), so the muted colour, not the dividers'. */
    border: 1px solid var(--_muted);
    border-radius: calc(var(--_radius) * 0.8);
    padding-block: var(--_sp);
    padding-inline: calc(var(--_sp) * 1.5);
    text-align: start;
    min-height: 2.5em;
    max-height: 8em;
    field-sizing: content;
  }
  textarea::placeholder {
    color: var(--_muted);
    opacity: 1;
  }
  .send {
    flex: none;
    white-space: nowrap;
    background: var(--_accent);
    color: var(--_accent-fg);
    padding-block: var(--_sp);
    padding-inline: calc(var(--_sp) * 2.25);
  }
  /* aria-disabled, not disabled: a disabled button drops out of the tab order and says nothing when pressed. */
  .send[aria-disabled='true'] {
    opacity: 0.5;
  }
  .composer-note {
    display: flex;
    justify-content: space-between;
    gap: calc(var(--_sp) * 2);
    font-size: 0.8em;
    color: var(--_muted);
    margin-block: calc(var(--_sp) / 2) 0;
    margin-inline: 0;
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
