/** Shared set-up for the `<imbed-chat>` browser tests: mount elements against the real test server and read their shadow DOM. */
import { ImbedClient } from '../../src/client/index.js';
import '../../src/ui/imbed-chat.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';
import { freshConv, serverUrl, tokenFor, until } from '../browser-support/server.js';

const mounted: HTMLElement[] = [];
const others: ImbedClient[] = [];

/** A user id no other test uses, so each test gets its own IndexedDB database and outbox. */
export function freshUser(name: string): string {
  return `${name}-${Math.random().toString(36).slice(2, 10)}`;
}

export interface MountOptions {
  user: string;
  name?: string;
  conversation: string;
  /** CSS height of the element; the host sizes it. */
  height?: string;
}

/** Adds an `<imbed-chat>` configured through its attributes, as a page would write it. */
export async function mountChat(options: MountOptions): Promise<ImbedChat> {
  const el = document.createElement('imbed-chat');
  el.setAttribute('server', await serverUrl());
  el.setAttribute('token', await tokenFor(options.user, options.name));
  el.setAttribute('conversation', options.conversation);
  el.style.height = options.height ?? '400px';
  el.style.display = 'flex';
  document.body.append(el);
  mounted.push(el);
  await el.updateComplete;
  return el;
}

/** Alice and Bob, each with an `<imbed-chat>` in `conversation`, both online. */
export async function twoPeople(conversation = freshConv(), height?: string): Promise<{ alice: ImbedChat; bob: ImbedChat }> {
  const alice = await mountChat({ user: freshUser('alice'), name: 'Alice', conversation, ...(height && { height }) });
  const bob = await mountChat({ user: freshUser('bob'), name: 'Bob', conversation, ...(height && { height }) });
  await untilOnline(alice);
  await untilOnline(bob);
  return { alice, bob };
}

/** Adds an empty `<imbed-chat>` (a host will set `client` and `conversation` itself). */
export function mountBare(): ImbedChat {
  const el = document.createElement('imbed-chat');
  el.style.height = '400px';
  document.body.append(el);
  mounted.push(el);
  return el;
}

/** Adds a launcher as a page would write it: no size or display set by the host. */
export async function mountLauncher(conversation = freshConv(), user = freshUser('alice')): Promise<ImbedChat> {
  const el = document.createElement('imbed-chat');
  el.setAttribute('mode', 'launcher');
  el.setAttribute('server', await serverUrl());
  el.setAttribute('token', await tokenFor(user));
  el.setAttribute('conversation', conversation);
  document.body.append(el);
  mounted.push(el);
  await el.updateComplete;
  return el;
}

/** Removes every element the test mounted (their own clients stop on removal). */
export function unmountAll(): void {
  for (const el of mounted.splice(0)) el.remove();
}

/** Someone else in `conversation`, with a client of their own and no element; `stopOthers` stops it. */
export async function otherUser(conversation: string, name = 'Bob'): Promise<ImbedClient> {
  const client = new ImbedClient({ url: await serverUrl(), token: await tokenFor(freshUser('bob'), name), conversations: [conversation], storage: 'memory' });
  others.push(client);
  client.start();
  await until(() => client.state === 'online', 'the other user to come online', 15_000);
  return client;
}

/** Stops every client `otherUser` started. */
export async function stopOthers(): Promise<void> {
  await Promise.all(others.splice(0).map((client) => client.stop()));
}

/** Makes the page look hidden to the widget (as when the person switches tabs). */
export function hideDocument(): void {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
  document.dispatchEvent(new Event('visibilitychange'));
}

/** Undoes `hideDocument`. */
export function showDocument(): void {
  // Removing the own property uncovers the real getter on Document.prototype.
  delete (document as { visibilityState?: unknown }).visibilityState;
  document.dispatchEvent(new Event('visibilitychange'));
}

export function root(el: ImbedChat): ShadowRoot {
  if (!el.shadowRoot) throw new Error('imbed-chat has no shadow root');
  return el.shadowRoot;
}

export function part<T extends Element = HTMLElement>(el: ImbedChat, name: string): T {
  const node = root(el).querySelector<T>(`[part~="${name}"]`);
  if (!node) throw new Error(`no part "${name}" in imbed-chat`);
  return node;
}

export function maybePart<T extends Element = HTMLElement>(el: ImbedChat, name: string): T | null {
  return root(el).querySelector<T>(`[part~="${name}"]`);
}

export function messageNodes(el: ImbedChat): HTMLElement[] {
  return [...root(el).querySelectorAll<HTMLElement>('[part~="message"]')];
}

/** The rendered text of each message bubble, oldest first. */
export function texts(el: ImbedChat): string[] {
  return messageNodes(el).map((node) => node.querySelector('[part~="text"]')?.textContent ?? '');
}

export function bannerText(el: ImbedChat): string {
  return (part(el, 'banner').textContent ?? '').replace(/\s+/g, ' ').trim();
}

export async function untilOnline(el: ImbedChat, what = 'the chat to come online'): Promise<void> {
  await until(() => el.client?.state === 'online', what, 15_000);
  await el.updateComplete;
}

/** Types into the composer as a person would paste it: sets the value and fires `input`. */
export function fillComposer(el: ImbedChat, text: string): HTMLTextAreaElement {
  const input = part<HTMLTextAreaElement>(el, 'composer-input');
  input.value = text;
  input.dispatchEvent(new InputEvent('input', { bubbles: true, composed: true, inputType: 'insertText', data: text }));
  return input;
}

/** The status of the message with `text`, or null while it is not rendered. */
export function statusOf(el: ImbedChat, text: string): string | null {
  return messageNode(el, text)?.dataset.status ?? null;
}

/** The node of the message whose bubble reads `text`, if rendered. */
export function messageNode(el: ImbedChat, text: string): HTMLElement | undefined {
  return messageNodes(el).find((n) => n.querySelector('[part~="text"]')?.textContent === text);
}
