/**
 * Registers `<imbed-chat>`. Import this module for the tag; import `imbed-chat.component.js` for the
 * class alone (to register it under another name, or not at all).
 */
import { ImbedChat } from './imbed-chat.component.js';

export { ImbedChat };

// Two copies of the bundle on one page (say, a script tag and an npm import) must not throw.
if (!customElements.get('imbed-chat')) customElements.define('imbed-chat', ImbedChat);

declare global {
  interface HTMLElementTagNameMap {
    'imbed-chat': ImbedChat;
  }
}
