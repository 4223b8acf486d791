/**
 * Registers `<imbed-chat>`. Import this module for the tag; import `imbed-chat.component.js` for the
 * class alone (to register it under another name, or not at all).
 */
import { ImbedChat } from './imbed-chat.component.js';

export { ImbedChat };

// define() throws NotSupportedError when the tag is taken (two copies of the bundle: a script tag and an
// npm import) and when the class already has a name (a host's define('my-chat', ImbedChat) from
// 'imbed/element', one constructor taking one name; <imbed-chat> then stays undefined, and a subclass can
// take that name). Either way loading this module must not throw.
try {
  customElements.define('imbed-chat', ImbedChat);
} catch {}

declare global {
  interface HTMLElementTagNameMap {
    'imbed-chat': ImbedChat;
  }
}
