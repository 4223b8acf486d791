import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { ImbedClient, LIMITS, ProtocolError, tokenSubject, type ChatItem, type StateChange } from '../client/index.js';
import { describeConnection, renderBanner } from './banner.js';
import { ClientController } from './client-controller.js';
import { isSendKey, renderComposer } from './composer.js';
import { errorEvent, messageEvent, statusEvent } from './events.js';
import { renderMessages } from './message-list.js';
import { strings } from './strings.js';
import { chatStyles } from './styles.js';

/** A reader this close to the bottom of the list (px) counts as "at the bottom" and follows new messages. */
const NEAR_BOTTOM = 40;

/** Where the element's own client gets its tokens: a fixed one, or the host's provider. */
type TokenProvider = () => Promise<string>;

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
 * while it is in the document (stopped on removal, recreated when `server`, `conversation` or the
 * `tokenProvider` change, or when a new `token` is for another user; a new token for the same user is
 * handed to the running client, and a user's outbox is never sent under another user's name). Or set the `client` property to an `ImbedClient` you created: the
 * element then renders and drives it but never starts or stops it. All user text is rendered as text;
 * only its `http:` and `https:` URLs become links.
 *
 * This class does not register a tag: `import 'imbed'` (or the `imbed.js` script) registers
 * `<imbed-chat>`; `imbed/element` exports the class alone, to register under another name or not at all.
 *
 * @summary An embeddable chat window for one imbed conversation.
 *
 * @attr server - WebSocket URL of the imbed server, e.g. `wss://chat.example.com/ws`.
 * @attr token - The JWT identifying the user to the server.
 * @attr conversation - The id of the conversation to show.
 * @prop {(() => Promise<string>) | null} tokenProvider - Gives the element's own client its tokens instead of `token`: asked before each connection that needs one and after an expiry.
 * @prop {ImbedClient | null} client - The `ImbedClient` shown: set your own (the element never starts or stops it), or `null` to run one from the attributes.
 *
 * @event {CustomEvent<ImbedMessageDetail>} imbed-message - A message from someone else arrived in this conversation. `detail: {message}`.
 * @event {CustomEvent<ImbedStatusDetail>} imbed-status - The connection state changed. `detail: {from, to, reason, code?, pending}`.
 * @event {CustomEvent<ImbedErrorDetail>} imbed-error - The client reported an error. `detail: {code, message, retryable, cmid?, fatal}`.
 *
 * @csspart banner - The connection banner (`role="status"`); empty and collapsed when online with nothing waiting.
 * @csspart banner-status - The connection line in the banner.
 * @csspart banner-notice - The persistent notice that messages are kept in memory only.
 * @csspart banner-retry - The "Retry now" button shown while offline or reconnecting.
 * @csspart log - The scrolling message list (`role="log"`).
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
 * @csspart failure-reason - The server's reason for refusing the message.
 * @csspart retry-button - Sends a failed message again.
 * @csspart discard-button - Removes a failed message.
 * @csspart new-messages - The "New messages" pill shown when messages arrive while the reader is scrolled up.
 * @csspart composer - The form holding the input and the send button.
 * @csspart composer-input - The message textarea.
 * @csspart send-button - The send button.
 * @csspart composer-error - Why the last send was refused.
 * @csspart counter - Characters left, shown near the length limit.
 *
 * @cssproperty --imbed-accent - Accent colour: send button, own bubbles, focus rings. Default `#2563eb`.
 * @cssproperty --imbed-accent-fg - Text on the accent colour. Default `#ffffff`.
 * @cssproperty --imbed-bg - Background of the widget. Default `#ffffff`.
 * @cssproperty --imbed-fg - Main text colour. Default `#111827`.
 * @cssproperty --imbed-muted - Secondary text: names, times, hints. Default `#6b7280`.
 * @cssproperty --imbed-border - Borders and dividers. Default `#e5e7eb`.
 * @cssproperty --imbed-radius - Corner radius of the widget and bubbles. Default `14px`.
 * @cssproperty --imbed-font - The `font` shorthand for the widget. Default `15px/1.4 system-ui, sans-serif`.
 * @cssproperty --imbed-bubble-mine - Background of own messages. Default `var(--imbed-accent)`.
 * @cssproperty --imbed-bubble-mine-fg - Text of own messages. Default `var(--imbed-accent-fg)`.
 * @cssproperty --imbed-bubble-theirs - Background of others' messages. Default `#f1f3f5`.
 * @cssproperty --imbed-bubble-theirs-fg - Text of others' messages. Default `var(--imbed-fg)`.
 * @cssproperty --imbed-danger - Failures and errors. Default `#b91c1c`.
 * @cssproperty --imbed-link-color - Links in messages. Default: the bubble's text colour.
 * @cssproperty --imbed-banner-bg - Background of the connection banner. Default `#fff7e6`.
 * @cssproperty --imbed-banner-fg - Text of the connection banner. Default `#7a4b00`.
 */
export class ImbedChat extends LitElement {
  static override styles = chatStyles;

  /** WebSocket URL of the imbed server. */
  @property({ reflect: true }) server = '';

  /** The user's JWT. Not reflected, so it does not show up in the page's DOM. */
  @property() token = '';

  /**
   * Called for a token before each connection that needs one and after the server says the token
   * expired (close 4001), instead of a fixed `token`: e.g. `() => fetch('/chat-token').then((r) => r.text())`.
   * The outbox waits while it is asked; a provider that fails or hangs is asked again with backoff.
   */
  @property({ attribute: false }) tokenProvider: TokenProvider | null = null;

  /** The conversation shown. */
  @property({ reflect: true }) conversation = '';

  @state() private draft = '';
  @state() private composerError = '';
  @state() private newBelow = false;

  @query('.log') private log!: HTMLElement | null;
  @query('textarea') private input!: HTMLTextAreaElement | null;

  private readonly controller = new ClientController(this, {
    onState: (change) => this.onState(change),
    onMessage: ({ message }) => {
      if (message.conv === this.conversation) this.dispatchEvent(messageEvent(message));
    },
    onError: (detail) => {
      this.noteHold(detail);
      if (detail.code === 'FORBIDDEN' && detail.conv !== undefined) this.#notMemberOf.add(detail.conv);
      this.dispatchEvent(errorEvent(detail));
    },
  });

  #hostClient: ImbedClient | null = null;
  #owned: OwnedClient | null = null;
  #composing = false;
  /** The newest item at the last render, to tell "a message arrived" from any other re-render. */
  #lastCmid: string | null = null;
  #lastConversation = '';
  #scrollAfterUpdate = false;
  /** A wait the server asked for (rate limit, too many connections) and when it ends, for the banner. */
  #hold: { kind: 'rate' | 'connections'; until: number } | null = null;
  /** Conversations the server refused to this user on the current connection, for the banner. */
  #notMemberOf = new Set<string>();
  /** Re-renders the banner's countdown once a second while a wait runs. */
  #holdTimer: ReturnType<typeof setInterval> | undefined;

  /**
   * The client this element renders: the one a host set, else the one the element runs from its
   * attributes (null until `server`, `token` or `tokenProvider`, and `conversation` are set and it is connected).
   * Set it to use your own `ImbedClient` (the element will not start or stop it); set `null` to go back
   * to the attributes.
   */
  get client(): ImbedClient | null {
    return this.controller.client;
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
    if (!client || !this.conversation) throw new Error(strings.noClient);
    await client.send(this.conversation, text);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.syncClient();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.endHold();
    this.syncClient();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('server') || changed.has('token') || changed.has('tokenProvider') || changed.has('conversation')) this.syncClient();
    this.planScroll();
  }

  protected override updated(): void {
    if (this.#scrollAfterUpdate && this.log) this.log.scrollTop = this.log.scrollHeight;
    this.#scrollAfterUpdate = false;
  }

  protected override render() {
    const client = this.client;
    const items = this.items();
    const banner = describeConnection({
      state: client?.state ?? null,
      pending: client && this.conversation ? client.pendingCount(this.conversation) : 0,
      storageKind: client?.storageKind ?? null,
      wasOnline: this.controller.wasOnline,
      stopReason: this.controller.fatalReason ?? this.controller.lastChange?.reason ?? '',
      hold: this.#hold && this.#hold.until > Date.now() ? { kind: this.#hold.kind, seconds: Math.ceil((this.#hold.until - Date.now()) / 1000) } : null,
      notMember: this.#notMemberOf.has(this.conversation),
    });
    return html`
      ${renderBanner(banner, client?.state ?? null, this.onReconnect)}
      <div class="log-area">
        <div
          class="log"
          part="log"
          role="log"
          aria-live="polite"
          aria-label=${strings.logLabel}
          tabindex="0"
          @scroll=${this.onScroll}
        >
          ${renderMessages(items, { retry: this.onRetry, discard: this.onDiscard })}
        </div>
        ${this.newBelow
          ? html`<button type="button" class="new-messages" part="new-messages" @click=${this.onNewMessages}>
              ${strings.newMessages}
            </button>`
          : nothing}
      </div>
      ${renderComposer(
        { draft: this.draft, maxText: LIMITS.maxText, error: this.composerError },
        {
          input: this.onInput,
          keydown: this.onKeydown,
          compositionstart: this.onCompositionStart,
          compositionend: this.onCompositionEnd,
          submit: this.onSubmit,
        },
      )}
    `;
  }

  private items(): readonly ChatItem[] {
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
        created = new ImbedClient({
          url: this.server,
          conversations: [this.conversation],
          ...(this.tokenProvider ? { tokenProvider: this.tokenProvider } : { token: this.token }),
        });
        this.#owned = { client: created, server: this.server, token: this.token, tokenProvider: this.tokenProvider, conversation: this.conversation };
      }
      next = this.#owned!.client;
    } else {
      this.#owned = null;
    }
    this.controller.setClient(next);
    if (previous && previous !== this.#owned) void previous.client.stop();
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
    const items = this.items();
    const newest = items.length ? items[items.length - 1]! : null;
    const newestCmid = newest?.cmid ?? null;
    const log = this.log;
    const nearBottom = !log || log.scrollHeight - log.scrollTop - log.clientHeight <= NEAR_BOTTOM;
    if (this.conversation !== this.#lastConversation) {
      this.#lastConversation = this.conversation;
      this.#scrollAfterUpdate = true;
      this.newBelow = false;
    } else if (nearBottom) {
      this.#scrollAfterUpdate = true;
    } else if (newest && newestCmid !== this.#lastCmid) {
      if (newest.mine) {
        this.#scrollAfterUpdate = true;
        this.newBelow = false;
      } else {
        this.newBelow = true;
      }
    }
    this.#lastCmid = newestCmid;
  }

  /** Starts the banner's countdown for a refusal that says how long the client waits. */
  private noteHold(error: { code: string; retryAfter?: number }): void {
    const kind = error.code === 'RATE_LIMITED' ? 'rate' : error.code === 'TOO_MANY_CONNECTIONS' ? 'connections' : null;
    if (kind === null || error.retryAfter === undefined) return;
    this.#hold = { kind, until: Date.now() + error.retryAfter };
    clearInterval(this.#holdTimer);
    this.#holdTimer = setInterval(() => {
      if (this.#hold && this.#hold.until <= Date.now()) this.endHold();
      this.requestUpdate();
    }, 1000);
  }

  private endHold(): void {
    this.#hold = null;
    clearInterval(this.#holdTimer);
    this.#holdTimer = undefined;
  }

  private onState(change: StateChange): void {
    // Every new session decides membership again: its welcome lists the refused conversations anew.
    if (change.to === 'syncing') this.#notMemberOf.clear();
    const pending = this.client && this.conversation ? this.client.pendingCount(this.conversation) : 0;
    this.dispatchEvent(statusEvent(change, pending));
  }

  private readonly onScroll = (): void => {
    const log = this.log;
    if (this.newBelow && log && log.scrollHeight - log.scrollTop - log.clientHeight <= NEAR_BOTTOM) this.newBelow = false;
  };

  private readonly onNewMessages = (): void => {
    if (this.log) this.log.scrollTop = this.log.scrollHeight;
    this.newBelow = false;
  };

  private readonly onReconnect = (): void => {
    this.client?.reconnect();
  };

  private readonly onRetry = (cmid: string): void => {
    this.client?.retry(cmid).catch((error: unknown) => this.showRefusal(error));
  };

  private readonly onDiscard = (cmid: string): void => {
    this.client?.discard(cmid).catch((error: unknown) => this.showRefusal(error));
  };

  private readonly onInput = (event: InputEvent): void => {
    this.draft = (event.target as HTMLTextAreaElement).value;
    if (this.composerError && this.draft.length <= LIMITS.maxText) this.composerError = '';
  };

  private readonly onKeydown = (event: KeyboardEvent): void => {
    if (!isSendKey(event, this.#composing)) return;
    event.preventDefault();
    this.submit();
  };

  private readonly onCompositionStart = (): void => {
    this.#composing = true;
  };

  private readonly onCompositionEnd = (): void => {
    this.#composing = false;
  };

  private readonly onSubmit = (event: Event): void => {
    event.preventDefault();
    this.submit();
  };

  /** Sends the draft: nothing for blank text, a visible refusal for over-long text, else clear and keep focus. */
  private submit(): void {
    // Read the textarea itself: an `input` event may not have been handled yet when Enter arrives.
    const text = this.input?.value ?? this.draft;
    if (text.trim() === '') return;
    if (text.length > LIMITS.maxText) {
      this.draft = text;
      this.composerError = strings.tooLong(LIMITS.maxText);
      return;
    }
    this.composerError = '';
    this.draft = '';
    if (this.input) this.input.value = '';
    this.input?.focus();
    this.send(text).catch((error: unknown) => {
      // Give the text back rather than lose it, unless the person already started a new one.
      if (this.draft === '') this.draft = text;
      this.showRefusal(error);
    });
  }

  private showRefusal(error: unknown): void {
    if (error instanceof ProtocolError && error.code === 'TEXT_TOO_LONG') this.composerError = strings.tooLong(LIMITS.maxText);
    else this.composerError = error instanceof Error ? error.message : String(error);
  }
}
