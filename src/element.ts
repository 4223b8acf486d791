/**
 * `imbed/element`: the `<imbed-chat>` class and its event types, without registering any tag, for hosts
 * that register it under their own name or in a scoped registry. A class takes one name per registry: a
 * page that also loads `imbed` (which registers `imbed-chat`) registers a subclass,
 * `customElements.define('my-chat', class extends ImbedChat {})`, to have both.
 */
export { ImbedChat } from './ui/imbed-chat.component.js';
export type * from './ui/events.js';
/** The words of the element's `strings` property: every entry optional there. */
export type { Strings } from './ui/strings.js';
