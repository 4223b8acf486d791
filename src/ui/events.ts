/**
 * The events `<imbed-chat>` dispatches, in one typed map. All bubble and are `composed`, so a host
 * page hears them on `document` even though they start inside the element's shadow root.
 */
import type { ClientErrorDetail, Message, StateChange } from '../client/index.js';

/** Detail of `imbed-message`: a message from someone else arrived (live or through catch-up). */
export interface ImbedMessageDetail {
  message: Message;
}

/** Detail of `imbed-status`: a connection state change, plus how many of this conversation's messages wait to send. */
export interface ImbedStatusDetail extends StateChange {
  pending: number;
}

/** Detail of `imbed-error`: something went wrong that a person should hear of. `fatal` means the chat stopped. */
export type ImbedErrorDetail = ClientErrorDetail;

/** Detail of `imbed-unread`: how many messages from others arrived unseen (panel closed or page hidden). */
export interface ImbedUnreadDetail {
  count: number;
}

/** Detail of `imbed-ready`: the element's client is online for the first time; `user` is who it is signed in as. */
export interface ImbedReadyDetail {
  user: string | null;
}

/** Every event `<imbed-chat>` dispatches, by name. */
export interface ImbedChatEventMap {
  'imbed-message': CustomEvent<ImbedMessageDetail>;
  'imbed-status': CustomEvent<ImbedStatusDetail>;
  'imbed-error': CustomEvent<ImbedErrorDetail>;
  'imbed-open': CustomEvent<Record<string, never>>;
  'imbed-close': CustomEvent<Record<string, never>>;
  'imbed-unread': CustomEvent<ImbedUnreadDetail>;
  'imbed-ready': CustomEvent<ImbedReadyDetail>;
}

export type ImbedChatEventName = keyof ImbedChatEventMap;

/**
 * The event `name` with `detail`, bubbling and `composed` as every `<imbed-chat>` event is; the map
 * types the detail each name carries.
 */
export function imbedEvent<K extends ImbedChatEventName>(name: K, detail: ImbedChatEventMap[K]['detail']): ImbedChatEventMap[K] {
  return new CustomEvent(name, { detail, bubbles: true, composed: true }) as ImbedChatEventMap[K];
}

declare global {
  // Lets `el.addEventListener('imbed-message', (e) => e.detail.message)` type-check on any element or on document.
  interface HTMLElementEventMap extends ImbedChatEventMap {}
  interface DocumentEventMap extends ImbedChatEventMap {}
}
