/**
 * Keeps `--imbed-keyboard-inset` on the host: how many CSS px of the layout viewport's bottom the
 * on-screen keyboard covers, from `window.visualViewport`, so the launcher's panel can lift its composer
 * above the keyboard (src/ui/launcher-styles.ts). Listens only while the host is in the document.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export const KEYBOARD_INSET = '--imbed-keyboard-inset';

export class KeyboardInsetController implements ReactiveController {
  readonly #host: ReactiveControllerHost & HTMLElement;

  constructor(host: ReactiveControllerHost & HTMLElement) {
    this.#host = host;
    host.addController(this);
  }

  hostConnected(): void {
    const viewport = window.visualViewport;
    if (!viewport) return;
    viewport.addEventListener('resize', this.#measure);
    viewport.addEventListener('scroll', this.#measure);
    this.#measure();
  }

  hostDisconnected(): void {
    window.visualViewport?.removeEventListener('resize', this.#measure);
    window.visualViewport?.removeEventListener('scroll', this.#measure);
    this.#host.style.removeProperty(KEYBOARD_INSET);
  }

  /**
   * The part of the layout viewport below the visual one. Where the keyboard resizes the page itself
   * (Android WebView with `adjustResize`, Chrome with `interactive-widget=resizes-content`) this is 0 and
   * nothing needs lifting. While the reader pinch-zooms the gap is the zoom, not a keyboard: 0 too.
   */
  readonly #measure = (): void => {
    const viewport = window.visualViewport!;
    const inset = viewport.scale > 1.01 ? 0 : Math.max(0, Math.round(window.innerHeight - viewport.height - viewport.offsetTop));
    if (inset > 0) this.#host.style.setProperty(KEYBOARD_INSET, `${inset}px`);
    else this.#host.style.removeProperty(KEYBOARD_INSET);
  };
}
