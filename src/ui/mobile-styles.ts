/**
 * Touch rules of `<imbed-chat>`: 44 px touch targets on coarse pointers. The launcher's panel keeps its
 * composer above the on-screen keyboard and its content clear of the safe areas (notch, home indicator)
 * itself (src/ui/launcher-styles.ts).
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
`;
