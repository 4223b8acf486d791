/**
 * The hybrid-app bridge, contract v1 (docs/webview.md): when a native host is present (Android's
 * `window.ImbedNative` from `addJavascriptInterface`, or iOS's `window.webkit.messageHandlers.imbed`),
 * it forwards the events of one `<imbed-chat>` to it as JSON messages `{v: 1, type, ...}` and applies
 * the commands the host sends in through `Imbed.bridge.receive(...)`. It uses only the element's public
 * API, adds no global of its own and never listens to the window's `message` event. It also carries the
 * operations of the store an app that declares `storage` keeps for the chat (native-store.ts).
 */
import type { ChatStore, ImbedClient } from '../client/index.js';
import type { ImbedChat } from './imbed-chat.component.js';
import type { ImbedErrorDetail, ImbedMessageDetail, ImbedStatusDetail } from './events.js';
import { BRIDGE_VERSION, BridgeErrorCode, nativeMeta, nativeSink } from './bridge-contract.js';
import { NativeStore, STORAGE_TIMEOUT, StorageRequests, type StorageRequest, type StorageResult } from './native-store.js';

export { BRIDGE_VERSION, BridgeErrorCode };

/** Commands this build applies, announced in `ready.capabilities`. */
const COMMANDS = ['open', 'close', 'setToken', 'setTheme', 'setLocale', 'logout'] as const;

export type BridgeCommandType = (typeof COMMANDS)[number];

/** What `ready.capabilities` lists: the commands, and `storage`, the optional store the app may keep. */
const CAPABILITIES = [...COMMANDS, 'storage'] as const;

/** A command from the native host. `id` picks the `<imbed-chat>` with that id instead of the bridged one. */
export type BridgeCommand = ({ v: 1; id?: string } & (
  | { type: 'open' | 'close' | 'logout' }
  | { type: 'setToken'; token: string }
  | { type: 'setTheme'; theme: 'light' | 'dark' | 'auto' }
  | { type: 'setLocale'; lang: string }
)) | StorageResult;

/** A message to the native host. */
export type BridgeMessage = StorageRequest | ({ v: 1 } & (
  | { type: 'ready'; user: string | null; capabilities: Array<(typeof CAPABILITIES)[number]> }
  | { type: 'unread'; count: number }
  | { type: 'message'; conv: string; from: string; name: string; text: string; ts: number; seq: number }
  | { type: 'open' | 'close' | 'signedOut' }
  | { type: 'status'; state: string; pending: number }
  | { type: 'error'; code: string; message: string; fatal: boolean; command?: string; conv?: string }
));

const THEMES = ['light', 'dark', 'auto'];
/** A BCP 47 tag in its common shape (`zh-CN`, `en`, `zh-Hant-TW`): enough to refuse junk. */
const LANG = /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,4}$/;

/** `value` for a message: a string or number as JSON, anything else by its type (a BigInt or a cycle cannot be printed). */
function shown(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? JSON.stringify(value) : typeof value;
}

function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

/** What is wrong with `input` as a command, or null when it is a well-formed v1 command. */
function problemWith(input: Record<string, unknown>): [code: string, why: string] | null {
  if (input.v !== BRIDGE_VERSION) return [BridgeErrorCode.UNSUPPORTED_VERSION, `bridge version ${shown(input.v)} is not supported; this build speaks v${BRIDGE_VERSION}`];
  if (input.id !== undefined && input.type !== 'storageResult' && !isText(input.id, 256)) return [BridgeErrorCode.BAD_COMMAND, '`id` must be a non-empty string'];
  switch (input.type) {
    case 'open':
    case 'close':
    case 'logout':
      return null;
    case 'setToken':
      return isText(input.token, 16_384) ? null : [BridgeErrorCode.BAD_COMMAND, '`token` must be a non-empty string'];
    case 'setTheme':
      return THEMES.includes(input.theme as string) ? null : [BridgeErrorCode.BAD_COMMAND, '`theme` must be "light", "dark" or "auto"'];
    case 'setLocale':
      return typeof input.lang === 'string' && LANG.test(input.lang) ? null : [BridgeErrorCode.BAD_COMMAND, '`lang` must be a language tag such as "en" or "zh-CN"'];
    case 'storageResult':
      if (!Number.isSafeInteger(input.id) || typeof input.ok !== 'boolean') return [BridgeErrorCode.BAD_COMMAND, '`storageResult` needs the numeric `id` of its request and a boolean `ok`'];
      return input.error === undefined || typeof input.error === 'string' ? null : [BridgeErrorCode.BAD_COMMAND, '`error` must be a string'];
    default:
      return [BridgeErrorCode.BAD_COMMAND, `unknown command type ${shown(input.type)}`];
  }
}

/** An event the chat raised before the bridge's code arrived, with the element that raised it (bridge-script.ts). */
export type EarlyEvent = [from: EventTarget | null, event: Event];

/** The element events the bridge forwards, each turned into its message to the native host. */
const FORWARDED: Record<string, (detail: never) => BridgeMessage> = {
  'imbed-unread': ({ count }: { count: number }) => ({ v: 1, type: 'unread', count }),
  'imbed-message': ({ message: { conv, from, name, text, ts, seq } }: ImbedMessageDetail) => ({ v: 1, type: 'message', conv, from, name, text, ts, seq }),
  'imbed-open': () => ({ v: 1, type: 'open' }),
  'imbed-close': () => ({ v: 1, type: 'close' }),
  'imbed-status': ({ to, pending }: ImbedStatusDetail) => ({ v: 1, type: 'status', state: to, pending }),
  'imbed-error': ({ code, message, fatal, conv }: ImbedErrorDetail) => ({ v: 1, type: 'error', code, message, fatal, ...(conv !== undefined && { conv }) }),
  'imbed-ready': ({ user }: { user: string | null }) => ready(user),
};

function ready(user: string | null): BridgeMessage {
  return { v: 1, type: 'ready', user, capabilities: [...CAPABILITIES] };
}

/**
 * The bridge between one `<imbed-chat>` and the native host, available as `Imbed.bridge` in the script
 * build and as `bridge` from the package. With a native host present it attaches itself to the first
 * `<imbed-chat>` in the document (waiting for one to appear); `attach(element)` picks another.
 */
export class WebViewBridge {
  readonly version = BRIDGE_VERSION;
  #element: ImbedChat | null = null;
  /** Whether to pick up the first `<imbed-chat>` by itself: until `attach` or `detach`, and again once an attached element leaves. */
  #auto = true;
  #observer: MutationObserver | null = null;
  /** Storage operations sent to the app and waiting for its `storageResult`. */
  readonly #storage = new StorageRequests(
    (request) => {
      const sink = nativeSink();
      if (!sink) throw new Error('there is no native side');
      sink(request);
    },
    () => {
      // Longer than a timer can wait is as long as it can: setTimeout fires at once past 2³¹−1 ms.
      const ms = Number(nativeMeta()?.dataset.storageTimeout);
      return ms > 0 ? Math.min(ms, 2 ** 31 - 1) : STORAGE_TIMEOUT;
    },
  );
  /** The client the host last heard `ready` for: the element says `imbed-ready` once per client. */
  #readyFor: ImbedClient | null = null;
  /** What was said before this code arrived and waits for its element to be attached (see `replay`). */
  #early: EarlyEvent[] = [];
  readonly #forward = (event: Event): void => {
    const message = FORWARDED[event.type]!((event as CustomEvent).detail as never);
    const client = this.#element?.client ?? null;
    if (message.type === 'ready') this.#readyFor = client;
    this.post(message);
    // Bound while that client was reconnecting, after its `imbed-ready`: the host hears `ready` now.
    if (message.type === 'status' && message.state === 'online' && client && this.#readyFor !== client) this.#ready(client.user);
  };

  /** The `<imbed-chat>` whose events go to the native host, or null. */
  get element(): ImbedChat | null {
    return this.#element;
  }

  /**
   * Forwards `element`'s events to the native host (instead of any element attached before) until it
   * leaves the document or `detach()` is called. Sends `ready` at once if its client is already online.
   */
  attach(element: ImbedChat): void {
    this.#auto = false;
    this.#bind(element);
  }

  /**
   * The store of database `name` kept by the app (docs/webview.md, "Storage ladder"), for an element's
   * client (`openStore`): each operation is a `storage` message, answered by a `storageResult`.
   */
  openStore(name: string): ChatStore {
    return new NativeStore(name, this.#storage);
  }

  /** Stops forwarding events, and picking up elements by itself, until the next `attach`. */
  detach(): void {
    this.#auto = false;
    this.#bind(null);
    this.#sync();
  }

  /**
   * The native host's way in: `Imbed.bridge.receive({v: 1, type: 'open'})`, or the same as a JSON
   * string. Never throws: a command it cannot apply is answered with an `error` message to the host.
   * Returns whether the command was applied (the result `evaluateJavascript` hands back).
   */
  receive(input: unknown): boolean {
    let command: unknown = input;
    try {
      if (typeof input === 'string') command = JSON.parse(input);
    } catch {
      return this.#refuse(BridgeErrorCode.BAD_COMMAND, 'the command is not valid JSON');
    }
    if (typeof command !== 'object' || command === null || Array.isArray(command)) {
      return this.#refuse(BridgeErrorCode.BAD_COMMAND, 'a command is an object {v, type, ...}');
    }
    const fields = command as Record<string, unknown>;
    const type = typeof fields.type === 'string' ? fields.type : undefined;
    const problem = problemWith(fields);
    if (problem) return this.#refuse(problem[0], problem[1], type);
    const valid = command as BridgeCommand;
    // An answer to the chat's own request: no element is involved.
    if (valid.type === 'storageResult') {
      return this.#storage.answer(valid) || this.#refuse(BridgeErrorCode.BAD_COMMAND, `no storage request ${valid.id} is waiting (answered already, or too late)`, type);
    }
    const target = this.#target(valid.id);
    if (!target) return this.#refuse(BridgeErrorCode.NO_ELEMENT, valid.id ? `no <imbed-chat> with id "${valid.id}"` : 'no <imbed-chat> in the document', type);
    try {
      switch (valid.type) {
        case 'open': target.open(); break;
        case 'close': target.close(); break;
        case 'setToken': target.setToken(valid.token); break;
        case 'setTheme': target.theme = valid.theme; break;
        case 'setLocale': target.lang = valid.lang; break;
        // The local database is deleted asynchronously; `signedOut` tells the host it is gone, and
        // LOGOUT_FAILED that the user is signed out with some of it left.
        case 'logout':
          target.logout().then(
            () => this.post({ v: 1, type: 'signedOut' }),
            (error: unknown) => this.#refuse(BridgeErrorCode.LOGOUT_FAILED, error instanceof Error ? error.message : String(error), 'logout'),
          );
          break;
      }
    } catch (error) {
      return this.#refuse(BridgeErrorCode.BAD_COMMAND, error instanceof Error ? error.message : String(error), type);
    }
    return true;
  }

  /** Sends one message to the native host, if there is one; a failing host never breaks the page. */
  post(message: BridgeMessage): void {
    try {
      nativeSink()?.(message);
    } catch (error) {
      console.warn('imbed: the native bridge refused a message', error);
    }
  }

  /**
   * Takes what was said before this code arrived (the script build's stand-in keeps it: the first
   * catch-up's messages, a storage warning), each with the element it came from, and passes on those of
   * the element attached now; those of another wait for its `attach`.
   */
  replay(events: EarlyEvent[]): void {
    this.#early = events;
    this.#passEarly();
  }

  #passEarly(): void {
    this.#early = this.#early.filter(([from, event]) => from !== this.#element || (this.#forward(event), false));
  }

  /** Attaches by itself when a native host is present: called by the package's entry, and when the script build takes the part. */
  start(): void {
    if (nativeSink()) this.#sync();
  }

  #ready(user: string | null): void {
    this.#readyFor = this.#element?.client ?? null;
    this.post(ready(user));
  }

  #refuse(code: string, message: string, command?: string): false {
    this.post({ v: 1, type: 'error', code, message, fatal: false, ...(command ? { command } : {}) });
    return false;
  }

  #target(id: string | undefined): ImbedChat | null {
    if (id === undefined) return this.#element ?? document.querySelector('imbed-chat');
    // The attached element first: inside a shadow root, getElementById does not find it.
    if (this.#element?.id === id) return this.#element;
    const found = document.getElementById(id);
    return found && (found === this.#element || found.localName === 'imbed-chat') ? (found as ImbedChat) : null;
  }

  #bind(element: ImbedChat | null): void {
    if (element === this.#element) return;
    for (const name of Object.keys(FORWARDED)) this.#element?.removeEventListener(name, this.#forward);
    this.#element = element;
    if (!element) return;
    for (const name of Object.keys(FORWARDED)) element.addEventListener(name, this.#forward);
    // What the element said before the bridge listened (its code may arrive late, or `attach` come late):
    // the handshake if its client is online (else at its next `online`), the count, the connection's state.
    const client = element.client;
    if (client?.state === 'online') this.#ready(client.user);
    if (element.unread) this.post({ v: 1, type: 'unread', count: element.unread });
    if (client) this.post({ v: 1, type: 'status', state: client.state, pending: client.pendingCount(element.conversation) });
    this.#passEarly();
    // No one is signed in yet (no token once its attributes are applied): an app that brings the token
    // itself waits for a `ready` before its `setToken`, so it gets one, for no user.
    void element.updateComplete.then(() => {
      if (this.#element === element && !element.client && !element.token && !element.tokenProvider) this.#ready(null);
    });
    this.#watch();
  }

  /**
   * Drops an element that left the document and, with a native host and no explicit choice, picks
   * up the first `<imbed-chat>`. A mutation observer sees elements come and go in the document (not
   * inside other shadow roots: hosts that nest the element there call `attach`/`detach`).
   */
  #sync(): void {
    if (this.#element && !this.#element.isConnected) {
      this.#auto = true;
      this.#bind(null);
    }
    const auto = this.#auto && nativeSink() !== null;
    if (!this.#element && auto) this.#bind(document.querySelector('imbed-chat'));
    if (!this.#element && !auto) {
      this.#observer?.disconnect();
      this.#observer = null;
    } else {
      this.#watch();
    }
  }

  #watch(): void {
    if (this.#observer) return;
    this.#observer = new MutationObserver(() => this.#sync());
    this.#observer.observe(document, { childList: true, subtree: true });
  }
}

/**
 * The page's one bridge. It starts (attaches itself when a native host is there) when the package's
 * entry runs, or when its code arrives as a part of the script build and is taken: never from a part
 * `imbed.js` refuses.
 */
export const bridge = new WebViewBridge();
