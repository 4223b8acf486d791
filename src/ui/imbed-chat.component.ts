import { adoptStyles, html, LitElement, nothing, type PropertyValues } from 'lit';
import { ClientErrorCode, ImbedClient, LIMITS, ProtocolError, tokenSubject, type ChatItem, type ConnectionState } from '../client/index.js';
import { Announcer } from './announcer.js';
import { describeConnection, PENDING_NOTICE_AFTER, renderBanner } from './banner.js';
import { ClientController } from './client-controller.js';
import { isSendKey, renderComposer } from './composer.js';
import { KeyboardInsetController } from './keyboard-inset.js';
import { imbedEvent } from './events.js';
import { FULL_SCREEN } from './full-screen.js';
import type * as LauncherMode from './launcher-mode.js';
import { MessageList, newestStored } from './message-list.js';
import { mobileStyles } from './mobile-styles.js';
import type * as Notify from './notify.js';
import { loadBridge, loadLauncherMode, loadNotify } from './parts.js';
import { nativeStorageDeclared } from './bridge-contract.js';
import { loadWords, localize, type Localized } from './i18n.js';
import { inheritedLang } from './language.js';
import type { Strings } from './strings.js';
import { chatStyles } from './styles.js';
import { UnreadTracker } from './unread-tracker.js';

/** How long a chat that appeared without a client says "Connecting…" before it says what is missing (ms). */
const SETTLING = 2000;

/** How long an update waits for a part of the chat it needs before rendering without it (ms). */
const PART_WAIT = 5000;
/** How long "Retry now" says "Retrying…" once pressed (ms): long enough to be seen when the attempt fails at once. */
const RETRYING = 1000;

/** A reader this close to the bottom of the list (px) counts as "at the bottom" and follows new messages. */
const NEAR_BOTTOM = 40;

/** Whether the log is scrolled to (within `NEAR_BOTTOM` of) its newest message. */
function atNewest(log: HTMLElement): boolean {
  return log.scrollHeight - log.scrollTop - log.clientHeight <= NEAR_BOTTOM;
}

/** Where the element's own client gets its tokens: a fixed one, or the host's provider. */
type TokenProvider = () => Promise<string>;

/** Which chat a client shows: what a draft belongs to. */
interface ChatOf {
  server: string;
  conversation: string;
  user: string | null;
}

/** The chat `client` shows, for the server and conversation of `source`. */
function chatOf(source: { server: string; conversation: string }, client: ImbedClient): ChatOf {
  return { server: source.server, conversation: source.conversation, user: client.user };
}

/** Whether a draft typed for `a` may be sent in `b`: the same server and conversation, and no other user. */
function isSameChat(a: ChatOf, b: ChatOf): boolean {
  return a.server === b.server && a.conversation === b.conversation && (!a.user || !b.user || a.user === b.user);
}

interface OwnedClient {
  client: ImbedClient;
  server: string;
  token: string;
  tokenProvider: TokenProvider | null;
  conversation: string;
}

/**
 * A chat window for one conversation: message list, composer and connection banner.
 *
 * Give it `server`, `token` (or a `tokenProvider`) and `conversation` and it runs its own `ImbedClient`
 * while it is in the document (stopped on removal, unless the element is back within the same task, as
 * when a framework moves it; recreated when `server`, `conversation` or the
 * `tokenProvider` change, or when a new `token` is for another user; a new token for the same user is
 * handed to the running client, and a user's outbox is never sent under another user's name). In a hybrid
 * app that declares `<meta name="imbed-native" content="storage">`, that client keeps its outbox and cache
 * in the app, through the WebView bridge (docs/webview.md). Or set the `client` property to an `ImbedClient` you created: the
 * element then renders and drives it but never starts or stops it. All user text is rendered as text;
 * only its `http:` and `https:` URLs become links.
 *
 * This class does not register a tag: `import 'imbed'` (or the `imbed.js` script) registers
 * `<imbed-chat>`; `imbed/element` exports the class alone, to register under another name or not at all.
 *
 * @summary An embeddable chat window for one imbed conversation.
 *
 * @attr server - WebSocket URL of the imbed server, e.g. `wss://chat.example.com/ws`, or a path on the page's own origin (`/ws`).
 * @attr token - The JWT identifying the user to the server.
 * @attr conversation - The id of the conversation to show.
 * @prop {(() => Promise<string>) | null} tokenProvider - Gives the element's own client its tokens instead of `token`: asked before each connection that needs one and after an expiry. Another function starts another client (for another user, say): a framework template should pass the same function at every render (one defined once, or React's `useCallback`), not a new arrow function each time.
 * @prop {ImbedClient | null} client - The `ImbedClient` shown: set your own (the element never starts or stops it), or `null` to run one from the attributes.
 * @attr {'inline' | 'launcher'} mode - `inline` (default) fills its container; `launcher` is a floating round button with an unread badge that opens the chat in a panel (full screen at 480 px wide or less). Methods `open()`, `close()`, `toggle()`.
 * @attr {boolean} opened - Reflected: whether the launcher panel is open. In inline mode it changes nothing visible (the chat is always shown) but still fires `imbed-open`/`imbed-close`.
 * @attr {'bottom-end' | 'bottom-start'} position - The launcher's corner, in the page's writing direction: `bottom-end` (default; bottom right in left-to-right pages) or `bottom-start`.
 * @attr notify - Space-separated opt-ins for a message arriving while the page is hidden: `title` flashes the tab title, `sound` beeps, `system` shows a system notification (permission is asked on the first click that opens or sends); at most one beep and one notification a second, so messages arriving together make one. Off by default; the unread badge is always on.
 * @attr {'auto' | 'light' | 'dark'} theme - Reflected. `auto` (default) follows the reader's `prefers-color-scheme`; `light` and `dark` force one. The `--imbed-*` custom properties override either.
 * @attr lang - The language of the chat's words and times: `en` or `zh-CN` (any `zh` tag but Traditional Chinese). Unset, the nearest ancestor's `lang` decides, then the browser's `navigator.languages`; English when none is supported. Changing it re-renders.
 * @prop {Partial<Strings>} strings - Replaces single words of the chosen language, e.g. `{ send: 'Go', composerPlaceholder: 'Ask us anything' }`; functions receive counts.
 * @prop {number} unread - Read-only: messages from others newer than the newest one the person has seen in this browser, including those that arrived while no page was open (kept in the page origin's localStorage, per `server` and `conversation`). A first visit's history does not count. Back to 0 once open, visible and scrolled to the bottom.
 *
 * @event {CustomEvent<ImbedMessageDetail>} imbed-message - A message from someone else arrived in this conversation. `detail: {message}`.
 * @event {CustomEvent<ImbedStatusDetail>} imbed-status - The connection state changed. `detail: {from, to, reason, code?, pending}`.
 * @event {CustomEvent<ImbedErrorDetail>} imbed-error - The client reported an error, or `server` or `conversation` cannot be used (`BAD_OPTIONS`, fatal: no client runs until they are fixed; also when the browser will not open `server`, e.g. `ws://` from an https page). `SIGNED_OUT` (fatal): another tab of the user logged out; the element's own client stops and it shows "Signed out" until a token is set again. `detail: {code, message, retryable, fatal, cmid?, retryAfter?, conv?}`.
 * @event {CustomEvent<{}>} imbed-open - The launcher panel opened (`opened` became true). `detail: {}`.
 * @event {CustomEvent<{}>} imbed-close - The launcher panel closed (`opened` became false). `detail: {}`.
 * @event {CustomEvent<ImbedUnreadDetail>} imbed-unread - The unread count changed. `detail: {count}`.
 * @event {CustomEvent<ImbedReadyDetail>} imbed-ready - The element's client came online for the first time (once per client: again after a new token for another user, or a `logout()` and a new login). `detail: {user}`.
 *
 * @csspart banner - The connection banner (`role="status"`); empty and collapsed when online with nothing waiting for over 2 s.
 * @csspart banner-status - The connection line in the banner.
 * @csspart banner-notice - The persistent notice that messages are kept in memory only.
 * @csspart banner-retry - The "Retry now" button shown while offline or reconnecting; "Retrying…" for a second once pressed.
 * @csspart log - The scrolling message list (`role="log"`, focusable; not a live region: new messages from others are announced through a hidden status region).
 * @csspart empty - The hint shown when the conversation has no messages.
 * @csspart message - One message; also `message-mine` or `message-theirs`. Carries `data-status`, `data-cmid` and `data-seq`.
 * @csspart message-mine - A message the current user sent.
 * @csspart message-theirs - A message someone else sent.
 * @csspart sender - The sender's name above the first of their consecutive messages.
 * @csspart text - The message bubble holding the text.
 * @csspart link - A web address in a message: only `http:`/`https:` URLs, opened in a new tab with `rel="noopener noreferrer"`.
 * @csspart meta - The line under the bubble: time and status.
 * @csspart time - The message time.
 * @csspart status - The status icon of an own message (sending, sent, not sent).
 * @csspart failure - The explanation and actions under a message that was not sent.
 * @csspart failure-reason - Why the server refused the message, in the chat's language (`strings.refusedSpam`, `refusedOther`, ...).
 * @csspart retry-button - Sends a failed message again.
 * @csspart discard-button - Removes a failed message.
 * @csspart new-messages - The "New messages" pill shown when messages arrive while the reader is scrolled up.
 * @csspart composer - The form holding the input and the send button.
 * @csspart composer-input - The message textarea.
 * @csspart send-button - The send button.
 * @csspart composer-error - Why the last send was refused.
 * @csspart counter - Characters left, shown near the length limit.
 * @csspart launcher-button - Launcher mode: the floating round button that opens and closes the panel; its label carries the unread count.
 * @csspart unread-badge - Launcher mode: the count on the button, hidden at 0, `99+` above 99.
 * @csspart panel - Launcher mode: the panel holding the chat, `role="dialog"`: a non-modal dialog beside the page; a modal one when full screen (480 px wide or less), where Tab wraps inside it.
 * @csspart panel-header - Launcher mode: the panel's top bar with its title and close button.
 * @csspart panel-title - Launcher mode: the panel's title.
 * @csspart close-button - Launcher mode: closes the panel (so does Escape).
 *
 * @cssproperty --imbed-bg - Background of the widget. Light `#ffffff`, dark `#0f172a`.
 * @cssproperty --imbed-fg - Main text colour. Light `#111827`, dark `#f1f5f9`.
 * @cssproperty --imbed-muted - Secondary text: names, times, hints, placeholder; the message field's border. Light `#6b7280`, dark `#94a3b8`.
 * @cssproperty --imbed-border - Dividers and the widget's outline. Light `#d1d5db`, dark `#334155`.
 * @cssproperty --imbed-accent - Accent colour: send button, own bubbles, focus rings. Light `#2563eb`, dark `#3b82f6`.
 * @cssproperty --imbed-accent-fg - Text on the accent colour. Light `#ffffff`, dark `#0f172a`.
 * @cssproperty --imbed-bubble-mine - Background of own messages. Default: the accent.
 * @cssproperty --imbed-bubble-mine-fg - Text of own messages. Default: the accent's text colour.
 * @cssproperty --imbed-bubble-theirs - Background of others' messages. Light `#f1f3f5`, dark `#1e293b`.
 * @cssproperty --imbed-bubble-theirs-fg - Text of others' messages. Light `#111827`, dark `#f1f5f9`.
 * @cssproperty --imbed-banner-bg - Background of the connection banner. Light `#fff7e6`, dark `#3a2a05`.
 * @cssproperty --imbed-banner-fg - Text of the connection banner. Light `#7a4b00`, dark `#fcd34d`.
 * @cssproperty --imbed-danger - Errors: failed messages, refusals, the error banner's text. Light `#b91c1c`, dark `#f87171`.
 * @cssproperty --imbed-danger-bg - Background of the banner when the chat is unavailable. Light `#fdecec`, dark `#3b1212`.
 * @cssproperty --imbed-link-color - Links in messages. Default: the bubble's text colour.
 * @cssproperty --imbed-radius - Corner radius of the widget and bubbles. Default `14px`.
 * @cssproperty --imbed-font-family - The widget's typeface. Default: the system UI font, with PingFang SC, Microsoft YaHei and Noto Sans CJK SC for Chinese.
 * @cssproperty --imbed-font-size - Base text size; smaller text scales from it. Default `15px`.
 * @cssproperty --imbed-spacing - The base unit of paddings and gaps. Default `8px`.
 * @cssproperty --imbed-launcher-offset - Launcher mode: distance of the button from the viewport's edges, beyond the safe areas of its bottom and side (home indicator, a landscape phone's notch). Default `20px`.
 * @cssproperty --imbed-launcher-size - Launcher mode: diameter of the button, at least 44px on touch screens. Default `56px`.
 * @cssproperty --imbed-z-index - Launcher mode: stacking order of the button and panel over the page (an open chat one above it). Default `2147483000`.
 * @cssproperty --imbed-panel-width - Launcher mode: width of the panel (capped by the viewport). Default `380px`.
 * @cssproperty --imbed-panel-height - Launcher mode: height of the panel (capped by the viewport, leaving the offset below its top safe area). Default `600px`.
 * @cssproperty --imbed-keyboard-inset - Set by the element on itself, not by you: how much of the viewport's bottom the on-screen keyboard covers (from `visualViewport`). The launcher lifts its composer by it; a full-page inline chat can use it too.
 */
export class ImbedChat extends LitElement {
  // The launcher's styles are adopted with its code, when the element first takes `mode="launcher"`.
  static override styles = [chatStyles, mobileStyles];

  // Declared here rather than with Lit's decorators, whose helpers would weigh on the script build.
  static override properties = {
    server: { reflect: true },
    token: {},
    tokenProvider: { attribute: false },
    conversation: { reflect: true },
    mode: { reflect: true },
    opened: { type: Boolean, reflect: true },
    position: { reflect: true },
    notify: {},
    theme: { reflect: true },
    lang: { reflect: true },
    strings: { attribute: false },
    draft: { state: true, attribute: false },
    composerError: { state: true, attribute: false },
    newBelow: { state: true, attribute: false },
  };

  /** WebSocket URL of the imbed server. */
  server = '';

  /** The user's JWT. Not reflected, so it does not show up in the page's DOM. */
  token = '';

  /**
   * Called for a token before each connection that needs one and after the server says the token
   * expired (close 4001), instead of a fixed `token`: e.g. `() => fetch('/chat-token').then((r) => r.text())`.
   * The outbox waits while it is asked; a provider that fails or hangs is asked again with backoff.
   */
  tokenProvider: TokenProvider | null = null;

  /** The conversation shown. */
  conversation = '';

  /** `inline` fills the container; `launcher` is a floating button that opens the chat in a panel. */
  mode: 'inline' | 'launcher' = 'inline';

  /** Whether the launcher panel is open. Changes nothing visible in inline mode, but still fires `imbed-open`/`imbed-close`. */
  opened = false;

  /** The launcher's corner: `bottom-end` (right in left-to-right pages) or `bottom-start`. */
  position: 'bottom-end' | 'bottom-start' = 'bottom-end';

  /** Opt-ins, space-separated, for when the page is hidden: `title` (flash the tab title), `sound` (a beep), `system` (a system notification). */
  notify = '';

  /** `auto` follows `prefers-color-scheme` (in the stylesheet, so no script runs when it changes). */
  theme: 'auto' | 'light' | 'dark' = 'auto';

  /**
   * The native `lang`, made reactive so a new language re-renders. Reflected, so `:lang()` and the
   * page see it; never defaulted, so an unset element still inherits its ancestors' language. Unlike
   * other elements', it reads `undefined` (not `''`) until set.
   */
  override lang!: string;

  /** Words that replace the chosen language's, entry by entry. */
  strings: Partial<Strings> = {};

  private draft = '';
  /** Under the composer: `true` for a text over the limit (said in the words of each render), else a message. */
  private composerError: string | true = '';
  private newBelow = false;

  get #log(): HTMLElement | null {
    return this.renderRoot?.querySelector('.log') ?? null;
  }

  /** Whether the reader is at the newest message, as of their last scroll or the last render that stuck to it. */
  #atEnd = true;
  /**
   * Keeps a reader who was at the newest message there when the log or its messages change size without
   * a render (an on-screen keyboard, a rotation, a resized panel, a composer growing by a line, a web
   * font that sets the text anew).
   */
  readonly #logSize = new ResizeObserver((entries) => {
    const log = this.#log;
    if (!log) return;
    // The reader's last scroll may not have been reported yet: it counts first.
    this.#noteScroll(log);
    if (this.#atEnd) this.#toEnd(log);
    // A taller log may show more than the rendered window holds. (Only for the log: a render for its
    // rows' own change of size would change it again within this frame.)
    if (entries.some((entry) => entry.target === log)) this.#list.scrolled(false);
  });
  /** The log's scroll position when last looked at: a scroll event that finds it unchanged says nothing new. */
  #lastTop = 0;
  /** The log and the box of its rows that `#logSize` watches. */
  #sizedLog?: Element;
  #sizedRows?: Element;

  get #input(): HTMLTextAreaElement | null {
    return this.renderRoot?.querySelector('textarea') ?? null;
  }

  /** Keeps `--imbed-keyboard-inset` while the element is in the document. */
  private readonly keyboard = new KeyboardInsetController(this);

  readonly #controller = new ClientController(this, {
    onState: (change) => {
      if (change.to === 'online') this.#announceReady();
      // Every new session decides membership again: its welcome lists the refused conversations anew.
      if (change.to === 'syncing') this.#notMemberOf.clear();
      this.dispatchEvent(imbedEvent('imbed-status', { ...change, pending: this.#pending() }));
    },
    onMessage: ({ message }) => {
      if (message.conv !== this.conversation) return;
      this.dispatchEvent(imbedEvent('imbed-message', { message }));
      // The first catch-up of a client is history, not news: only what arrives after it is announced.
      if (!this.#controller.wasOnline) return;
      this.#announcer.add(message);
      if (this.isUnseen()) this.#notify?.notifier.arrived(message, this.#unread.recount());
    },
    onError: (detail) => {
      this.noteHold(detail);
      // A send refused for good shows "Not sent" in the log, which is not read out: say it.
      const failed = detail.cmid && !detail.retryable && this.#items().find((item) => item.cmid === detail.cmid);
      if (failed) this.#announcer.refused(failed.text);
      if (detail.code === 'FORBIDDEN' && detail.conv !== undefined) this.#notMemberOf.add(detail.conv);
      // Another tab (or element) logged this user out and deleted their messages here: signed out here too.
      if (detail.code === ClientErrorCode.SIGNED_OUT && this.#owned) this.#signOut();
      this.dispatchEvent(imbedEvent('imbed-error', { ...detail }));
    },
  });

  #hostClient: ImbedClient | null = null;
  #owned: OwnedClient | null = null;
  #composing = false;
  /** The newest item at the last render, to tell "a message arrived" from any other re-render. */
  #lastCmid: string | null = null;
  /** The seq of the newest stored message at the last render, to notice one from someone else. */
  #lastSeq = 0;
  #lastConversation = '';
  #scrollAfterUpdate = false;
  /** A wait the server asked for (rate limit, too many connections) and when it ends, for the banner. */
  #hold?: { kind: 'rate' | 'connections'; until: number; total: number };
  /** Set for `RETRYING` ms after "Retry now" was pressed. */
  #retrying?: ReturnType<typeof setTimeout>;
  /** Conversations the server refused to this user on the current connection, for the banner. */
  #notMemberOf = new Set<string>();
  /** Re-renders the banner's countdown once a second while a wait runs. */
  #holdTimer: ReturnType<typeof setInterval> | undefined;
  /** The render that counts a message once it has waited long enough to send (see `#waitingLong`). */
  #pendingNotice: ReturnType<typeof setTimeout> | undefined;
  /** The client `imbed-ready` was last dispatched for: once per client. */
  #readyClient?: ImbedClient;
  /** `logout()` ran and no client has replaced the one it ended: the banner says "Signed out". */
  #signedOut?: boolean;
  /** Why `server` or `conversation` cannot run a client (a malformed URL or id); the banner says so. */
  #badOptions?: string;
  /** The client this element ran last, kept after it stopped so `logout()` can still delete its data. */
  #lastOwned?: ImbedClient;
  /** Who the draft was typed for while the element was out of the document without a client (see `syncClient`). */
  #draftFor?: ChatOf;
  /** Stops the client of an element that left the document and did not come back within the task (a move). */
  #leaving: ReturnType<typeof setTimeout> | undefined;
  /** The unread count, and what the person has seen of the shown conversation. */
  readonly #unread = new UnreadTracker(this);
  /** Whether focus was inside the element when the panel started closing: only then does it go back to the launcher button. */
  #focusWasInside?: boolean;
  /** Whether the launcher's panel covers the page (the viewport is narrow); a change renders its `aria-modal` again. */
  readonly #fullScreen = matchMedia(FULL_SCREEN);
  private readonly rerender = (): void => this.requestUpdate();
  /** Whether a part failed to load or did not come in time: later updates do not wait for parts (see `scheduleUpdate`). */
  #partMissed?: boolean;
  /** Whether the launcher's part failed to load (not only came late): the chat then shows inline for good. */
  #launcherFailed?: boolean;
  /** Whether open() was called: before the first render too, it moves focus and fires `imbed-open`. */
  #openAsked?: boolean;
  /** The virtualised list, and older messages loaded as the reader nears the top. */
  readonly #list = new MessageList(this, () => this.#log, () => (this.client && this.conversation ? this.client.loadOlder(this.conversation) : undefined));
  /** Says newly arrived messages to screen readers; the log itself is not a live region. */
  readonly #announcer = new Announcer(this, () => this.localize().strings);
  /** The focused node at the start of an update, to notice when the update removes it. */
  #focusedBefore: Element | null = null;
  /** Title, sound and system notifications: their code loads with the first `notify` opt-in (parts.ts). */
  #notify?: { notifier: Notify.Notifier; parse: typeof Notify.parseNotify };
  /** The button, panel and styles of `mode="launcher"`: they load when the element first takes it (parts.ts). */
  #launcherMode?: typeof LauncherMode;

  constructor() {
    super();
    // A client set on the element before its tag was defined (a framework binding the property, a
    // lazy import) is the element's own property, hiding the accessor: take it as the host's client.
    // Lit does this for its reactive properties; `client` is an accessor of its own.
    if (this.hasOwnProperty('client')) {
      this.#hostClient = (this as { client: ImbedClient | null }).client;
      delete (this as { client?: unknown }).client;
    }
  }

  /**
   * The client this element renders: the one a host set, else the one the element runs from its
   * attributes (null until `server`, `token` or `tokenProvider`, and `conversation` are set and it is connected).
   * Set it to use your own `ImbedClient` (the element will not start or stop it); set `null` to go back
   * to the attributes.
   */
  get client(): ImbedClient | null {
    return this.#controller.client;
  }

  set client(value: ImbedClient | null) {
    if (this.#owned && value === this.#owned.client) return;
    this.#hostClient = value ?? null;
    this.syncClient();
  }

  /**
   * Sends `text` to the conversation. Resolves once the client has queued it (it shows as pending at
   * once, also while offline); rejects with the client's `ProtocolError` for empty or over-long text, or
   * with an `Error` when there is no client yet.
   */
  async send(text: string): Promise<void> {
    const client = this.client;
    if (!client || !this.conversation) throw new Error(this.localize().strings.noClient);
    await client.send(this.conversation, text);
  }

  /** How many messages from others are newer than the newest one seen here (this browser, across reloads). */
  get unread(): number {
    return this.#unread.tally;
  }

  /** Opens the launcher panel and moves focus into the composer. */
  open(): void {
    // Permission prompts and audio need a user gesture; a click that opens the chat is one.
    if (navigator.userActivation?.isActive) this.#notify?.notifier.prepare();
    this.opened = this.#openAsked = true;
  }

  /** Closes the launcher panel; focus that was in the chat goes back to the launcher button. */
  close(): void {
    this.opened = false;
  }

  /** Opens the launcher panel if it is closed, else closes it. */
  toggle(): void {
    if (this.opened) this.close();
    else this.open();
  }

  /**
   * Same as setting `token`: a new token for the same user is used from the next connection (the server
   * ends a session when its token expires, and the chat connects again with the new one), one for
   * another user switches user.
   */
  setToken(token: string): void {
    this.token = token;
  }

  /**
   * Signs out: stops the element's own client, forgets `token` and `tokenProvider`, and deletes this
   * user's local database (cached messages and unsent ones), also when the element has left the page
   * and its client has stopped. A `client` the host set is only forgotten:
   * its data is the host's to clear (`client.clearLocalData()`). Set a token again to sign in. Rejects,
   * with the user signed out all the same, when some of the local data could not be deleted.
   */
  async logout(): Promise<void> {
    // Started before syncClient() stops the client, so this is the stop that the deletion waits for. The
    // last client the element ran is deleted unless a host's client for the same user uses its database.
    const last = this.#lastOwned;
    const cleared = (this.#owned?.client ?? (last && this.#hostClient?.user === last.user ? undefined : last))?.clearLocalData();
    this.#hostClient = null;
    this.#signOut();
    await cleared;
  }

  /** Forgets the token and the client, and shows "Signed out" until a token is set again. */
  #signOut(): void {
    this.token = '';
    this.tokenProvider = null;
    this.syncClient();
    // Deleted: a second logout must not delete it again, once that user has signed in elsewhere.
    this.#lastOwned = undefined;
    this.#signedOut = true;
    this.#leaveClient();
    this.#unread.forgetSeen();
  }

  /** When the element last entered the document (`performance.now()`), and the render due when its first moments are over. */
  #appeared = 0;
  #settling?: ReturnType<typeof setTimeout>;

  override connectedCallback(): void {
    super.connectedCallback();
    this.#appeared = performance.now();
    if (!this.client) this.#settling = setTimeout(() => this.requestUpdate(), SETTLING);
    document.addEventListener('visibilitychange', this.onVisibility);
    document.addEventListener('keydown', this.onPageKeydown);
    this.#fullScreen.addEventListener('change', this.rerender);
    // The banner says "Offline" by the device's network, which may go while the client's state stays.
    addEventListener('online', this.rerender);
    addEventListener('offline', this.rerender);
    clearTimeout(this.#leaving);
    this.syncClient();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('visibilitychange', this.onVisibility);
    document.removeEventListener('keydown', this.onPageKeydown);
    this.#fullScreen.removeEventListener('change', this.rerender);
    removeEventListener('online', this.rerender);
    removeEventListener('offline', this.rerender);
    clearTimeout(this.#pendingNotice);
    clearTimeout(this.#settling);
    this.#notify?.notifier.dispose();
    // A framework that moves the element (a portal, a re-parenting) takes it out and puts it back in one
    // task: the client, its socket, the messages it holds in memory and a wait the server asked of it
    // stay. Removed for good, it stops.
    this.#leaving = setTimeout(() => {
      this.endHold();
      this.syncClient();
    });
  }

  /**
   * A language other than English loads its words on first use, the first `notify` opt-in loads the
   * notifications, and the first `mode="launcher"` the launcher (parts.ts): the update waits for them,
   * `PART_WAIT` at most (a request that hangs must not leave the chat blank); one that comes later
   * renders when it does. Once one has failed to load or come late, updates no longer wait for parts: a
   * failed one is asked for again now and then (load-once.ts), and a render that waited for that request
   * would hold up the chat with it.
   */
  protected override scheduleUpdate(): void | Promise<unknown> {
    // Renders in those words when no update waited for them (one that did is still pending: a no-op).
    const words = loadWords(this.localize().locale)?.then(() => this.requestUpdate(), () => (this.#partMissed = true));
    const notify = this.notify.trim() && !this.#notify ? loadNotify().then(
      ({ Notifier, parseNotify }) => {
        const notifier = new Notifier({
          notice: (count) => this.localize().strings.newMessageNotice(count),
          activate: () => this.open(),
        });
        this.#notify ??= { notifier, parse: parseNotify };
        // Its opt-ins are set in willUpdate; an update that waited for it is still pending (a no-op then).
        this.requestUpdate('notify');
      },
      // Reported once by the loader; the chat goes without notifications.
      () => (this.#partMissed = true),
    ) : null;
    const launcherMode = this.mode === 'launcher' && !this.#launcherMode ? loadLauncherMode().then(
      (part) => {
        // Once: an update made while a retry was pending waits for it too.
        if (this.#launcherMode) return;
        this.#launcherMode = part;
        adoptStyles(this.renderRoot as ShadowRoot, [...(this.constructor as typeof ImbedChat).elementStyles, part.launcherStyles]);
        this.requestUpdate();
      },
      // Reported once by the loader; the chat shows inline.
      () => (this.#partMissed = this.#launcherFailed = true),
    ) : null;
    if (!(words || notify || launcherMode) || this.#partMissed) return super.scheduleUpdate();
    let late: ReturnType<typeof setTimeout>;
    return Promise.race([
      Promise.all([words, notify, launcherMode]),
      new Promise((go) => (late = setTimeout(() => go((this.#partMissed = true)), PART_WAIT))),
    ]).then(() => (clearTimeout(late), super.scheduleUpdate()));
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('server') || changed.has('token') || changed.has('tokenProvider') || changed.has('conversation')) this.syncClient();
    // A draft is for one conversation, also when a host's client follows several.
    // (Out of the document the draft waits for the chat it was typed for: #carryDraft decides on return.)
    if (this.isConnected && changed.get('conversation') && changed.get('conversation') !== this.conversation) this.draft = this.composerError = '';
    if (changed.has('notify') && this.#notify) this.#notify.notifier.kinds = this.#notify.parse(this.notify);
    if (changed.has('opened') && !this.opened) this.#focusWasInside = this.shadowRoot?.activeElement != null;
    this.#focusedBefore = this.shadowRoot?.activeElement ?? null;
    this.planScroll();
    if (changed.has('opened') && this.opened) {
      // A panel that was closed had no layout to keep at the bottom: it opens on the newest message.
      this.#scrollAfterUpdate = true;
      this.newBelow = false;
    }
    // Here rather than in updated(): a count that changes renders with this update, not in another one.
    this.#trackUnread();
  }

  protected override updated(changed: PropertyValues<this>): void {
    const log = this.#log;
    if (this.#scrollAfterUpdate && log) this.#toEnd(log);
    this.#scrollAfterUpdate = false;
    if (log && log !== this.#sizedLog) this.#logSize.observe((this.#sizedLog = log));
    const rows = log?.querySelector('.rows');
    if (rows && rows !== this.#sizedRows) {
      if (this.#sizedRows) this.#logSize.unobserve(this.#sizedRows);
      this.#logSize.observe((this.#sizedRows = rows));
    }
    // The draft cleared on send or given back after a refusal: compared with the textarea's own value,
    // which typing changes, rather than with the last one rendered.
    const input = this.#input;
    if (input && input.value !== this.draft) input.value = this.draft;
    // Not on the first render, unless open() asked for it: a page that starts with the panel open has not
    // asked to move focus. Nor when it was closed and opened again (or the reverse) before this update.
    const was = changed.get('opened');
    if (changed.has('opened') && (was === undefined ? this.opened && this.#openAsked : was !== this.opened)) {
      if (this.opened) {
        if (this.mode === 'launcher') this.#input?.focus();
      } else if (this.#focusWasInside) {
        this.renderRoot.querySelector<HTMLElement>('.launcher')?.focus();
      }
      this.dispatchEvent(imbedEvent(this.opened ? 'imbed-open' : 'imbed-close', {}));
    }
    // The render removed the focused control (Retry, Discard, "Retry now", the new-messages pill): focus
    // would fall back to the page's start, so it stays in the conversation instead.
    const lost = this.#focusedBefore;
    this.#focusedBefore = null;
    if (lost && !lost.isConnected && !this.shadowRoot?.activeElement && document.activeElement === document.body) {
      if (this.mode !== 'launcher' || this.opened) this.#log?.focus({ preventScroll: true });
    }
  }

  protected override render() {
    const client = this.client;
    const state = this.#shownState();
    const items = this.#items();
    const words = this.localize();
    const strings = words.strings;
    const pending = this.#pending();
    const banner = describeConnection({
      state,
      pending,
      waitingLong: state === 'online' && pending > 0 && this.#waitingLong(items),
      storageKind: client?.storageKind ?? null,
      wasOnline: this.#controller.wasOnline,
      deviceOffline: !navigator.onLine,
      attemptFailed: this.#controller.attemptFailed,
      stopReason: this.#controller.fatalReason ?? this.#controller.lastChange?.reason ?? '',
      hold: this.#hold && this.#hold.until > Date.now() ? { kind: this.#hold.kind, seconds: Math.ceil((this.#hold.until - Date.now()) / 1000), total: this.#hold.total } : null,
      notMember: this.#notMemberOf.has(this.conversation),
    }, strings);
    const body = html`
      ${renderBanner(
        this.#badOptions ? { ...banner, status: strings.unavailable(this.#badOptions), tone: 'error' } : this.#signedOut && !client ? { ...banner, status: strings.signedOut, tone: 'info' } : banner,
        state,
        this.#retrying ? null : this.onReconnect,
        strings,
      )}
      <div class="log-area">
        <div
          class="log"
          part="log"
          role="log"
          aria-live="off"
          aria-label=${strings.logLabel}
          tabindex="0"
          @scroll=${this.onScroll}
        >
          ${items.length || state === 'online'
            ? this.#list.render(items, { retry: this.onRetry, discard: this.onDiscard, maxText: this.#maxText() }, words, this.#scrollAfterUpdate)
            : // Nothing yet, rather than "No messages yet" for a conversation whose messages are still on their way.
              nothing}
        </div>
        ${this.newBelow
          ? html`<button type="button" class="new-messages" part="new-messages" @click=${this.onNewMessages}>
              ${strings.newMessages}
            </button>`
          : nothing}
      </div>
      ${renderComposer(
        { draft: this.draft, maxText: this.#maxText(), error: this.composerError === true ? strings.tooLong(this.#maxText()) : this.composerError },
        {
          input: this.onInput,
          keydown: this.onKeydown,
          compositionstart: this.onCompositionStart,
          compositionend: this.onCompositionEnd,
          submit: this.onSubmit,
        },
        strings,
      )}
    `;
    const launcher = this.#launcherMode;
    // A screen reader reads the chat's words in the language they are in, which may not be the page's.
    return html`<div class="root" lang=${words.lang ?? nothing}>
      ${this.mode !== 'launcher' || !launcher
        ? body
        : // The button comes first in the tab order, then the panel it opens.
          html`${launcher.renderLauncherButton({ opened: this.opened, unread: this.#unread.tally, label: this.opened ? strings.closeChat : strings.openChat(this.#unread.tally) }, this.toggle, this.onPanelKeydown)}
          ${launcher.renderPanel({ opened: this.opened, title: strings.chatTitle, closeLabel: strings.closeChat, modal: this.#fullScreen.matches }, body, this.close, this.onPanelKeydown)}`}
      ${this.#announcer.render()}
    </div>`;
  }

  /**
   * The connection state the banner speaks of; null when the chat has nothing to connect with. Its own
   * client is started as it is made, and opens its storage before it connects: "Connecting…" from the
   * start. So is a chat given no client or conversation yet, for a moment after it appears (a page that
   * fetches the token first); only after that does the banner say what is missing.
   */
  #shownState(): ConnectionState | null {
    const client = this.client;
    if (client && this.conversation) return client.state === 'idle' && this.#owned?.client === client ? 'connecting' : client.state;
    return this.#appeared + SETTLING > performance.now() ? 'connecting' : null;
  }

  /**
   * Whether a message arriving now goes unseen: the launcher panel is closed, or the page is hidden. A
   * launcher whose part did not load shows the chat inline, in view.
   */
  private isUnseen(): boolean {
    // A launcher whose part is late shows inline meanwhile, but is not looked at as a chat yet; one whose
    // part failed stays inline, a chat the person sees.
    return (this.mode === 'launcher' && !this.opened && (!!this.#launcherMode || !this.#launcherFailed)) || document.visibilityState === 'hidden';
  }

  /** Counts the unread messages again; what is in view counts as seen while the person can see it. */
  #trackUnread(): void {
    this.#unread.trackSeen(!this.isUnseen() && !this.newBelow, this.#controller.wasOnline);
  }

  /** `imbed-ready`, once per client: the first time the current client is online. */
  #announceReady(): void {
    const client = this.client;
    if (!client || client === this.#readyClient) return;
    this.#readyClient = client;
    this.dispatchEvent(imbedEvent('imbed-ready', { user: client.user }));
  }

  /** The words and time locale in effect: `lang` (own or inherited), else the browser's; `strings` on top. */
  private localize(): Localized {
    return localize(this.lang || inheritedLang(this), navigator.languages, this.strings);
  }

  /**
   * Whether a message of this conversation has waited to send longer than `PENDING_NOTICE_AFTER`; if not,
   * renders again when the first would have.
   */
  #waitingLong(items: readonly ChatItem[]): boolean {
    let soonest = Infinity;
    for (const item of items) {
      if (item.status !== 'pending') continue;
      const left = item.ts + PENDING_NOTICE_AFTER - Date.now();
      if (left <= 0) return true;
      // At most the notice's own delay: an item dated in the future (a clock set back) is looked at again.
      soonest = Math.min(soonest, left, PENDING_NOTICE_AFTER);
    }
    if (soonest < Infinity) {
      clearTimeout(this.#pendingNotice);
      this.#pendingNotice = setTimeout(() => this.requestUpdate(), soonest);
    }
    return false;
  }

  /** How many of the shown conversation's messages wait to send. */
  #pending(): number {
    const client = this.client;
    return client && this.conversation ? client.pendingCount(this.conversation) : 0;
  }

  #items(): readonly ChatItem[] {
    const client = this.client;
    return client && this.conversation ? client.items(this.conversation) : [];
  }

  /**
   * Picks the client to render: the host's, else one run from the attributes while connected. The
   * controller switches to the new client before the old owned one is stopped, so the old client's
   * `stopped` is not reported as this element's status.
   */
  private syncClient(): void {
    const previous = this.#owned;
    let created: ImbedClient | null = null;
    let next: ImbedClient | null = null;
    let badOptions: string | undefined;
    if (this.#hostClient) {
      this.#owned = null;
      next = this.#hostClient;
    } else if (this.isConnected && this.server && (this.token || this.tokenProvider) && this.conversation) {
      const owned = this.#owned;
      if (
        owned && owned.server === this.server && owned.conversation === this.conversation &&
        owned.tokenProvider === this.tokenProvider && !this.isOtherUser(owned)
      ) {
        if (owned.token !== this.token) {
          owned.token = this.token;
          owned.client.setToken(this.token);
          // A rejected token stops the client for good; a new one is the fix the client waits for.
          if (owned.client.state === 'stopped') owned.client.start();
        }
      } else {
        this.#owned = null;
        try {
          created = new ImbedClient({
            url: this.server,
            conversations: [this.conversation],
            ...(this.tokenProvider ? { tokenProvider: this.tokenProvider } : { token: this.token }),
            // The app keeps the storage: the bridge's code carries it, so storage waits for that part.
            ...(nativeStorageDeclared() && { openStore: (name: string) => loadBridge().then((bridge) => bridge.openStore(name)) }),
          });
          this.#owned = { client: created, server: this.server, token: this.token, tokenProvider: this.tokenProvider, conversation: this.conversation };
        } catch (error) {
          // A malformed `server` URL or a conversation id the protocol does not allow: no client runs
          // (the previous one, of other attributes, stops) until the host sets usable ones.
          badOptions = (error as Error).message;
        }
      }
      next = this.#owned?.client ?? null;
    } else {
      this.#owned = null;
    }
    // Said once per value, not again at each update or change of another attribute while it stands.
    if (badOptions && badOptions !== this.#badOptions) {
      this.dispatchEvent(imbedEvent('imbed-error', { code: ClientErrorCode.BAD_OPTIONS, message: badOptions, retryable: false, fatal: true }));
    }
    this.#badOptions = badOptions;
    this.#carryDraft(next, previous);
    this.#controller.setClient(next);
    if (next) this.#signedOut = false;
    // A host's client may be online already: it will not say so again.
    if (next?.state === 'online' && this.isConnected) this.#announceReady();
    if (previous && previous !== this.#owned) {
      this.#lastOwned = previous.client;
      void previous.client.stop();
    }
    created?.start();
  }

  /**
   * Whether the `token` now set names another user than the one `owned` runs for (a logout and login
   * without a reload): that user gets a client, and a local database, of their own.
   */
  private isOtherUser(owned: OwnedClient): boolean {
    if (owned.tokenProvider || owned.token === this.token) return false;
    const next = tokenSubject(this.token);
    const current = owned.client.user ?? tokenSubject(owned.token);
    return next !== null && current !== null && next !== current;
  }

  /**
   * Decides, before the DOM changes, how this render moves the list: a reader at the bottom stays
   * there whatever grew (a new message, a failure note); one scrolled up stays put and gets the pill
   * when a new message from someone else arrives. Your own new message always brings you down.
   */
  private planScroll(): void {
    const items = this.#items();
    const newest = items.at(-1);
    const newestCmid = newest?.cmid ?? null;
    const stored = newestStored(items);
    const log = this.#log;
    const nearBottom = !log || atNewest(log);
    if (this.conversation !== this.#lastConversation) {
      this.#lastConversation = this.conversation;
      this.#scrollAfterUpdate = true;
      this.newBelow = false;
    } else if (nearBottom) {
      this.#scrollAfterUpdate = true;
    } else if (newest?.mine && newest.status === 'pending' && newestCmid !== this.#lastCmid) {
      // Sent from here (it shows pending first); one sent from another device arrives stored.
      this.#scrollAfterUpdate = true;
      this.newBelow = false;
    } else if (stored && stored.seq! > this.#lastSeq && !stored.mine) {
      // Compared by seq, not by the last item: own messages not yet sent (a failed one left there) stay
      // after the newest stored message, and someone else's arrives before them.
      this.newBelow = true;
    }
    this.#lastCmid = newestCmid;
    this.#lastSeq = stored?.seq ?? 0;
  }

  /** Starts the banner's countdown for a refusal that says how long the client waits. */
  private noteHold(error: { code: string; retryAfter?: number }): void {
    const kind = error.code === 'RATE_LIMITED' ? 'rate' : error.code === 'TOO_MANY_CONNECTIONS' ? 'connections' : null;
    if (kind === null || error.retryAfter === undefined) return;
    this.#hold = { kind, until: Date.now() + error.retryAfter, total: Math.ceil(error.retryAfter / 1000) };
    clearInterval(this.#holdTimer);
    this.#holdTimer = setInterval(() => {
      if (this.#hold && this.#hold.until <= Date.now()) this.endHold();
      else this.requestUpdate();
    }, 1000);
  }

  /**
   * What was typed belongs to the chat (server, conversation, user) it was typed for: another client, or
   * none while in the document (the token or conversation cleared; logout() clears it itself), starts
   * with an empty composer, so it is never sent as another user or elsewhere. An element taken out of
   * the document keeps it for a client of the same chat when it comes back. `previous` is the owned
   * client before this sync, if any.
   */
  #carryDraft(next: ImbedClient | null, previous: OwnedClient | null): void {
    const shown = this.#controller.client;
    if (shown && next !== shown) {
      if (next || this.isConnected) this.#leaveClient();
      // The chat the client was made for: the attributes may have changed already, out of the document.
      else this.#draftFor = chatOf(previous?.client === shown ? previous : this, shown);
    } else if (next && !shown && this.#draftFor && !isSameChat(this.#draftFor, chatOf(this, next))) {
      this.#leaveClient();
    }
    if (next) this.#draftFor = undefined;
  }

  /** Forgets what belonged to the client being left: the draft, its refusal, and a wait the server asked of it. */
  #leaveClient(): void {
    this.draft = '';
    this.composerError = '';
    this.#notMemberOf.clear();
    this.endHold();
  }

  private endHold(): void {
    this.#hold = undefined;
    clearInterval(this.#holdTimer);
    this.#holdTimer = undefined;
    this.requestUpdate();
  }

  // Listeners bound in the element's own templates are plain methods: Lit calls them with the element as
  // `this` (LitElement's `host` render option). Those called from elsewhere (the document, the message
  // list's own renders) are arrow functions bound to it.
  private onScroll(): void {
    this.#list.scrolled();
    if (this.#log) this.#noteScroll(this.#log);
    if (this.newBelow && this.#atEnd) {
      // The update this schedules counts the messages now in view as seen (the unread tracker).
      this.newBelow = false;
    }
  }

  private onNewMessages(): void {
    if (this.#log) this.#toEnd(this.#log);
    this.newBelow = false;
  }

  /**
   * Notes whether the reader is at the newest message, when the log has scrolled since last looked at.
   * Scroll events come late: one for a position this element set itself may find the log resized
   * meanwhile, and must not read that as the reader leaving the newest message.
   */
  #noteScroll(log: HTMLElement): void {
    if (log.scrollTop === this.#lastTop) return;
    this.#lastTop = log.scrollTop;
    this.#setAtEnd(log, atNewest(log));
  }

  /**
   * Notes whether the reader is at the newest message. While they are, the browser's own scroll anchoring
   * is off in the log: text growing above the view (a web font) would have it keep the message at the top
   * in place, carrying the newest one out of view, and its move would read as the reader's own scroll.
   */
  #setAtEnd(log: HTMLElement, atEnd: boolean): void {
    this.#atEnd = atEnd;
    log.style.overflowAnchor = atEnd ? 'none' : '';
  }

  /** Scrolls to the newest message. */
  #toEnd(log: HTMLElement): void {
    log.scrollTop = log.scrollHeight;
    this.#lastTop = log.scrollTop;
    this.#setAtEnd(log, true);
  }

  private readonly onVisibility = (): void => {
    if (document.visibilityState !== 'visible') return;
    this.#notify?.notifier.seen();
    this.#trackUnread();
  };

  private onPanelKeydown(event: KeyboardEvent): void {
    if (event.key === 'Tab') {
      this.wrapFocus(event);
      return;
    }
    // An Escape that cancels an IME composition is the input method's, not a request to close.
    if (event.key !== 'Escape' || !this.opened || event.isComposing || event.keyCode === 229 || this.#composing) return;
    event.preventDefault();
    this.close();
  }

  /**
   * A key on the page outside the chat: Escape closes the open panel there too, since the panel may cover
   * the control that has focus (WCAG 2.4.11). One the chat or the page handled already is theirs.
   */
  private readonly onPageKeydown = (event: KeyboardEvent): void => {
    if (this.mode === 'launcher' && !event.defaultPrevented) this.onPanelKeydown(event);
  };

  /**
   * Full screen, the panel covers the page: Tab wraps around inside it rather than moving to controls
   * hidden behind it (WCAG 2.4.11). Its close button and the send button are its first and last stops.
   */
  private wrapFocus(event: KeyboardEvent): void {
    if (!this.opened || !this.#fullScreen.matches) return;
    const first = this.renderRoot.querySelector<HTMLElement>('.close');
    const last = this.renderRoot.querySelector<HTMLElement>('.send');
    const active = this.shadowRoot?.activeElement;
    const next = event.shiftKey ? (active === first ? last : null) : active === last ? first : null;
    if (!next) return;
    event.preventDefault();
    next.focus();
  }

  private onReconnect(): void {
    // Retrying now cuts short the wait the server asked for: its countdown goes with it.
    if (this.#hold?.kind === 'connections') this.endHold();
    this.client?.reconnect();
    // The attempt may fail within milliseconds and leave the line as it was: the button says it is trying.
    this.#retrying = setTimeout(() => {
      this.#retrying = undefined;
      this.requestUpdate();
    }, RETRYING);
    this.requestUpdate();
  }

  private readonly onRetry = (cmid: string): void => {
    this.client?.retry(cmid).catch((error: unknown) => this.showRefusal(error));
  };

  private readonly onDiscard = (cmid: string): void => {
    this.client?.discard(cmid).catch((error: unknown) => this.showRefusal(error));
  };

  private onInput(event: InputEvent): void {
    this.draft = (event.target as HTMLTextAreaElement).value;
    if (this.composerError && this.draft.length <= this.#maxText()) this.composerError = '';
  }

  private onKeydown(event: KeyboardEvent): void {
    if (!isSendKey(event, this.#composing)) return;
    event.preventDefault();
    this.#submit();
  }

  private onCompositionStart(): void {
    this.#composing = true;
  }

  private onCompositionEnd(): void {
    this.#composing = false;
  }

  private onSubmit(event: Event): void {
    event.preventDefault();
    this.#submit();
  }

  /** The longest text the chat's client takes: the server's limit once heard. */
  #maxText(): number {
    return this.client?.maxText ?? LIMITS.maxText;
  }

  /** Sends the draft: nothing for blank text, a visible refusal for over-long text, else clear and keep focus. */
  #submit(): void {
    // Read the textarea itself: an `input` event may not have been handled yet when Enter arrives.
    const text = this.#input?.value ?? this.draft;
    // With no client yet (its token still on the way) the text stays in the composer: the banner says why.
    if (text.trim() === '' || !this.client || !this.conversation) return;
    // Sending is a user gesture: inline chats have no launcher click to ask for permissions on.
    this.#notify?.notifier.prepare();
    if (text.length > this.#maxText()) {
      this.draft = text;
      this.composerError = true;
      return;
    }
    this.composerError = '';
    this.draft = '';
    if (this.#input) this.#input.value = '';
    this.#input?.focus();
    const client = this.client;
    this.send(text).catch((error: unknown) => {
      // Give the text back rather than lose it, unless the person already started a new one, or the chat
      // is no longer theirs (signed out meanwhile: the next person must not find it).
      if (this.client !== client) return;
      if (this.draft === '') this.draft = text;
      this.showRefusal(error);
    });
  }

  private showRefusal(error: unknown): void {
    this.composerError = error instanceof ProtocolError && error.code === 'TEXT_TOO_LONG' ? true : error instanceof Error ? error.message : String(error);
  }
}
