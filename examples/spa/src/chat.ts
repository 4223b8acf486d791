/**
 * Connects an `<imbed-chat>` with a client the page owns, and reports its `imbed-*` events on the page.
 * The class comes from `imbed/element`, which registers no tag: that is `main.ts`'s `import 'imbed'`.
 */
import { ImbedChat } from 'imbed/element';
import { ImbedClient } from 'imbed/client';

export interface ChatOptions {
  /** WebSocket URL of the imbed server. */
  server: string;
  /** Asked for a fresh token before each connection that needs one. */
  token: () => Promise<string>;
}

/**
 * Hands `chat` an `ImbedClient` for its conversation and starts it. The element renders and drives the
 * client but never stops it: call `client.stop()` when the page is done with the chat.
 */
export function connectChat(chat: ImbedChat, { server, token }: ChatOptions): ImbedClient {
  // An `<imbed-chat>` nobody registered is a plain HTMLElement: setting `client` on it would do nothing.
  if (!(chat instanceof ImbedChat)) throw new Error('<imbed-chat> is not registered: import "imbed" first');

  const status = document.getElementById('status');
  chat.addEventListener('imbed-status', (event) => {
    const { to, pending } = event.detail;
    if (status) status.textContent = pending > 0 ? `${to}, ${pending} waiting to send` : to;
  });
  chat.addEventListener('imbed-message', (event) => {
    const { name, text } = event.detail.message;
    if (document.hidden) document.title = `${name}: ${text}`;
  });
  chat.addEventListener('imbed-error', (event) => {
    if (event.detail.fatal) console.error(`chat stopped: ${event.detail.code} ${event.detail.message}`);
  });

  const client = new ImbedClient({ url: server, tokenProvider: token, conversations: [chat.conversation] });
  chat.client = client;
  client.start();
  return client;
}
