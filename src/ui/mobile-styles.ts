/**
 * Touch rules of `<imbed-chat>`: 44 px touch targets on coarse pointers, and the launcher's composer
 * lifted above the on-screen keyboard (`--imbed-keyboard-inset`, kept by src/ui/keyboard-inset.ts).
 * The safe areas (notch, home indicator) are the launcher panel's padding (src/ui/launcher-styles.ts).
 */
import { css } from 'lit';

export const mobileStyles = css`
  /* WCAG 2.5.5 and Apple's guidelines: every control a finger uses is at least 44 x 44 CSS px. */
  @media (pointer: coarse) {
    button {
      min-width: 44px;
      min-height: 44px;
    }
    /* iOS zooms the page into a text field under 16 px when it gets focus. */
    textarea {
      min-height: 44px;
      font-size: max(16px, 1em);
    }
  }

  /* The launcher's panel is fixed to the layout viewport: where the keyboard overlays the page instead
     of resizing it (iOS, Chrome's default), lift the composer by the covered height. The panel already
     pads the home indicator's safe area, which the keyboard covers, so that much is not added twice.
     A margin, so the composer's own box (and its padding, the theme's) moves up whole. */
  :host([mode='launcher']) .composer {
    margin-bottom: max(0px, var(--imbed-keyboard-inset, 0px) - env(safe-area-inset-bottom, 0px));
  }
`;
