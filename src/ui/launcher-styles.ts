/**
 * The look of `mode="launcher"`: the host becomes a fixed corner holding the round button, and the panel
 * opens above it (full screen on narrow viewports). Logical properties throughout, so a right-to-left page
 * gets the launcher in its own end corner. Colours come from the chat's theme variables.
 */
import { css, unsafeCSS } from 'lit';
import { FULL_SCREEN } from './full-screen.js';

export { FULL_SCREEN };

export const launcherStyles = css`
  /* The safe areas (a landscape phone's notch) at the inline start and end: the left and right ones, the
     other way round in a right-to-left page. A browser without :dir() takes the left-to-right pair. */
  :host {
    --_safe-start: env(safe-area-inset-left, 0px);
    --_safe-end: env(safe-area-inset-right, 0px);
  }
  :host(:dir(rtl)) {
    --_safe-start: env(safe-area-inset-right, 0px);
    --_safe-end: env(safe-area-inset-left, 0px);
  }
  /* Not over \`hidden\`: this rule comes after the chat's own \`:host([hidden])\`, with the same weight. */
  :host([mode='launcher']:not([hidden])) {
    --_offset: var(--imbed-launcher-offset, 20px);
    --_size: var(--imbed-launcher-size, 56px);
    position: fixed;
    inset: auto;
    inset-block-end: calc(var(--_offset) + env(safe-area-inset-bottom, 0px));
    inset-inline-end: calc(var(--_offset) + var(--_safe-end));
    z-index: var(--imbed-z-index, 2147483000);
    display: block;
    inline-size: auto;
    block-size: auto;
    height: auto;
    min-height: 0;
    border: 0;
    border-radius: 0;
    background: transparent;
    overflow: visible;
  }
  /* On a touch screen the button is at least 44 px (mobile-styles.ts): the panel's arithmetic takes the size drawn. */
  @media (pointer: coarse) {
    :host([mode='launcher']:not([hidden])) {
      --_size: max(var(--imbed-launcher-size, 56px), 44px);
    }
  }
  /* An open chat above the page's other launchers, whose buttons would cover its composer. */
  :host([mode='launcher'][opened]:not([hidden])) {
    z-index: calc(var(--imbed-z-index, 2147483000) + 1);
  }
  :host([mode='launcher'][position='bottom-start']) {
    inset-inline-end: auto;
    inset-inline-start: calc(var(--_offset) + var(--_safe-start));
  }

  .launcher {
    position: relative;
    display: grid;
    place-items: center;
    inline-size: var(--_size);
    block-size: var(--_size);
    padding: 0;
    border-radius: 50%;
    background: var(--_accent, var(--imbed-accent, #2563eb));
    color: var(--_accent-fg, var(--imbed-accent-fg, #ffffff));
    box-shadow: 0 4px 14px rgb(0 0 0 / 0.25);
  }
  /* A ring of the page-independent pair bg/accent, so it shows on whatever page the button floats over. */
  .launcher:focus-visible {
    box-shadow: 0 0 0 2px var(--_bg), 0 4px 14px rgb(0 0 0 / 0.25);
  }
  .launcher svg {
    inline-size: 26px;
    block-size: 26px;
  }
  .unread-badge {
    position: absolute;
    inset-block-start: -4px;
    inset-inline-end: -4px;
    min-inline-size: 22px;
    block-size: 22px;
    padding: 0 6px;
    border-radius: 11px;
    background: var(--_danger, var(--imbed-danger, #b91c1c));
    /* The page background on the danger colour: AA contrast in both themes (white on the dark theme's light red is not). */
    color: var(--_bg, #ffffff);
    font-size: 12px;
    font-weight: 700;
    line-height: 22px;
    text-align: center;
  }
  .unread-badge[hidden] {
    display: none;
  }

  .panel {
    position: absolute;
    inset-block-end: calc(100% + 12px);
    inset-inline-end: 0;
    display: flex;
    flex-direction: column;
    /* As wide as fits beside the offsets and both side safe areas: it is aligned to the button's side. */
    inline-size: min(var(--imbed-panel-width, 380px), calc(100vw - 2 * var(--_offset) - env(safe-area-inset-left, 0px) - env(safe-area-inset-right, 0px)));
    /* As tall as fits between the button and the offset below the top safe area (a notch, a status bar). */
    block-size: min(var(--imbed-panel-height, 600px), calc(100vh - var(--_above) - var(--_offset) - env(safe-area-inset-top, 0px)));
    block-size: min(var(--imbed-panel-height, 600px), calc(100dvh - var(--_above) - var(--_offset) - env(safe-area-inset-top, 0px)));
    background: var(--_bg, var(--imbed-bg, #ffffff));
    border: 1px solid var(--_border, var(--imbed-border, #e5e7eb));
    border-radius: var(--_radius, var(--imbed-radius, 14px));
    box-shadow: 0 12px 40px rgb(0 0 0 / 0.2);
    overflow: hidden;
    /* How far the panel's bottom sits above the viewport's: the offset, the bottom safe area, the button and the gap. */
    --_above: calc(var(--_offset) + env(safe-area-inset-bottom, 0px) + var(--_size) + 12px);
  }
  /* The panel is fixed to the layout viewport: where the keyboard overlays the page instead of resizing
     it (iOS, Chrome's default), lift the composer by what the keyboard covers of the panel. A margin, so
     the composer's own box (and its padding, the theme's) moves up whole. */
  .panel .composer {
    margin-bottom: max(0px, var(--imbed-keyboard-inset, 0px) - var(--_above));
  }
  :host([position='bottom-start']) .panel {
    inset-inline-end: auto;
    inset-inline-start: 0;
  }
  .panel[hidden] {
    display: none;
  }
  .panel-header {
    display: flex;
    align-items: center;
    gap: 0.5em;
    padding-block: 0.25em;
    padding-inline: 0.9em 0.25em;
    border-block-end: 1px solid var(--_border, var(--imbed-border, #e5e7eb));
  }
  .panel-title {
    flex: 1 1 auto;
    margin: 0;
    font-size: 1em;
    font-weight: 600;
  }
  .close {
    display: grid;
    place-items: center;
    inline-size: 44px;
    block-size: 44px;
    padding: 0;
    background: transparent;
    color: inherit;
  }
  .close svg {
    inline-size: 20px;
    block-size: 20px;
  }

  /* A phone: the panel takes the whole screen, its content kept clear of notches and the home indicator. */
  @media ${unsafeCSS(FULL_SCREEN)} {
    .panel {
      position: fixed;
      inset: 0;
      inline-size: 100vw;
      inline-size: 100dvw;
      block-size: 100vh;
      block-size: 100dvh;
      border: 0;
      border-radius: 0;
      padding: env(safe-area-inset-top, 0px) env(safe-area-inset-right, 0px) env(safe-area-inset-bottom, 0px) env(safe-area-inset-left, 0px);
      /* Only the home indicator's safe area, which the keyboard covers too. */
      --_above: env(safe-area-inset-bottom, 0px);
    }
    /* It would cover the composer; the panel's own close button takes its place. */
    :host([opened]) .launcher {
      display: none;
    }
  }
`;
