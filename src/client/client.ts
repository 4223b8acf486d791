/**
 * `ImbedClient`: the headless core. It owns the outbox, the cache, the session and the one state funnel;
 * the socket (connection.ts), liveness (heartbeat.ts), the token (token-source.ts), what a close means
 * (close-policy.ts), storage (storage.ts, store.ts, memory-store.ts), the in-memory copy (mirror.ts)
 * and the sharing of one socket by the tabs of a browser (tab-group.ts) are its parts. The promise it
 * keeps: a message typed reaches every other member exactly once, in order, through offline periods,
 * reloads, server restarts and the closing of the tab that holds the socket.
 */
import { deleteDB } from 'idb';
import {
  CONV_PATTERN,
  ErrorCode,
  LIMITS,
  ProtocolError,
  checkText,
  type ClientFrame,
  type Message,
  type ServerFrame,
} from '../protocol/index.js';
import { listenToBrowser } from './browser-hints.js';
import { CloseNotebook, decideOnClose } from './close-policy.js';
import { Connection, type Backoff } from './connection.js';
import { messageOf } from './error-text.js';
import { ImbedEventTarget } from './events.js';
import { Heartbeat, pingInterval } from './heartbeat.js';
import { newCmid } from './ids.js';
import { DatabasePeers } from './database-peers.js';
import { LeaderElection, multiTabSupported, tabGroupName } from './leader.js';
import { loadTabGroup } from './load-tab-group.js';
import { Mirror } from './mirror.js';
import { Session, type SessionHost } from './session.js';
import { settleWithin } from './settle-within.js';
import { ClientStorage, FIRST_PAGE } from './storage.js';
import type { TabGroup, TabGroupHost } from './tab-group.js';
import { tokenSubject } from './token.js';
import { TokenSource } from './token-source.js';
import {
  ClientErrorCode,
  type ChatItem,
  type ConnectionState,
  type ImbedClientEventMap,
  type ImbedClientOptions,
  type StateChange,
  type StorageKind,
} from './types.js';

/** How long a client waits for the tab group's code before it runs a socket of its own (ms). */
export const GROUP_LOAD_TIMEOUT = 10_000;

/**
 * The databases a `clearLocalData()` of this page is deleting, by name. A client that would open one (the
 * same user signing in again right after a logout) waits for the deletion, `DELETION_WAIT` ms at most:
 * opened meanwhile, the database would be deleted under it and the new session signed out.
 */
const deleting = new Map<string, Promise<unknown>>();
const DELETION_WAIT = 5_000;

/**
 * The WebSocket URL for `url`: `ws:` and `wss:` as they are, `http:` and `https:` turned into them (as
 * newer browsers do themselves, and older ones refuse to), and a path (`/ws`, `//chat.example.com/ws`,
 * `./ws`) read against the document's base address as `new WebSocket` reads it (a `<base href>`, a srcdoc
 * frame's parent), so a server on the page's own origin needs no host name. Throws a TypeError for
 * anything else (`chat.example.com` is a typo for a host, not a path), which `new WebSocket` would throw
 * inside reconnecting-websocket, where nothing reports it. (Not in connection.ts: the script build's
 * check of what that module reads of the socket library would take `URL.protocol` for the socket's.)
 */
export function socketUrl(url: string): string {
  const parsed = new URL(url, /^[./]/.test(url) ? globalThis.document?.baseURI : undefined);
  if (!/^(ws|http)s?:$/.test(parsed.protocol)) throw new TypeError(`not a WebSocket URL (wss:// or ws://): ${url}`);
  parsed.protocol = parsed.protocol.replace('http', 'ws');
  return parsed.href;
}

/**
 * The headless imbed client for one user and a set of conversations.
 *
 * Call `start()` once; `items(conv)` is then a synchronous view of stored messages followed by the outbox,
 * and `send()` stores a message in the outbox, resolving once it is stored there; the first attempt to
 * deliver it may leave before the write (the server stores a message sent twice once, by its cmid).
 * Listen to `state`, `change`, `message`, `error` and `storage` (see `ImbedClientEventMap`).
 *
 * After a fatal close (`state` becomes `stopped` with an `error` event, `fatal: true`), `reconnect()` does
 * nothing: the host fixes the cause (e.g. `setToken`) and calls `start()` again. After `stop()` the client
 * is finished; create a new one.
 */
export class ImbedClient extends ImbedEventTarget {
  /** Resolves once storage is open and the cache is loaded into memory (after `start()`). */
  readonly ready: Promise<void>;

  /** What the host passed to the constructor. */
  readonly #options: ImbedClientOptions;
  /** The last state change; its `to` is the current state. */
  #lastChange: StateChange = { from: 'idle', to: 'idle', reason: 'created' };
  #user: string | null;
  #name: string | null = null;
  /** The server's longest text, from `welcome` (this tab's or the group leader's); null until one is heard. */
  #maxText: number | null = null;
  /** The token of the last `hello`: a 4001 with another one set since is healed by connecting with that. */
  #helloToken: string | null = null;
  /** The server's WebSocket URL (`url`, an `http(s):` one as `ws(s):`). */
  readonly #url: string;
  readonly #tokens: TokenSource;
  /**
   * The user the outbox and cache belong to: the token's user when storage opened (the default database
   * is named after it), else the first user `welcome` states. A session for anyone else is refused.
   */
  #owner: string | null = null;
  /** What the server said on the current socket about its close. */
  readonly #closeNotes = new CloseNotebook();
  readonly #conversations: readonly string[];
  readonly #mirror = new Mirror(() => ({ user: this.#user, name: this.#name }));
  readonly #heartbeat: Heartbeat;
  readonly #storage: ClientStorage;
  #dbName = '';
  #connection: Connection | null = null;
  #started = false;
  #finished = false;
  /** Another client deleted the database (`SIGNED_OUT`): a send whose write was under way is not kept. */
  #signedOut?: boolean;
  /** The stop, once begun. */
  #stopping?: Promise<void>;
  /** What the stop runs before another tab may take the lead (a logout's deletion); null once it has handed over. */
  #beforeHandover: Array<() => Promise<void>> | null = [];
  #resolveReady!: () => void;
  /** Stops listening to the browser's hints about the network (see `start`). */
  #unlistenToBrowser: () => void = () => {};

  /** The protocol work of the current socket; null between sockets. */
  #session: Session | null = null;
  /**
   * With several tabs: the other clients of this database (null when this client keeps to itself), the
   * election of the one that holds the group's socket (null outside a group), and the group, once another
   * client was met and its code loaded.
   */
  #peers: DatabasePeers | null = null;
  /** Whether the page was frozen while in a tab group, which it left (see `#onFreeze`). */
  #frozen = false;
  /** Per conversation, the highest seq the leader stored as history, not news: read back without events. */
  readonly #history = new Map<string, number>();
  /** Conversations whose next read-back is all history, stored before this tab heard of them. */
  readonly #readBackAsHistory = new Set<string>();
  /**
   * When the server accepts this client again (`Date.now()` ms, after 4029), whichever connection tries
   * next (`ConnectionHooks.notBefore`); the person's "Retry now" clears it.
   */
  #notBefore = 0;
  #election: LeaderElection | null = null;
  #tabs: TabGroup | null = null;
  /** Items on their way into the outbox (queued `send()`s and `retry()`s) that are not in flight. */
  #unsentItems = 0;
  /** Conversations to read back from the store at the next refresh; null when none is scheduled. */
  #stale: Set<string> | null = null;

  constructor(options: ImbedClientOptions) {
    super();
    this.#options = options;
    // Early, rather than wedge the connection in `connecting`.
    this.#url = socketUrl(options.url);
    if (!options.token && !options.tokenProvider) throw new TypeError('ImbedClient needs `token` or `tokenProvider`');
    if (options.conversations.length > LIMITS.maxConvs) throw new TypeError(`ImbedClient follows at most ${LIMITS.maxConvs} conversations`);
    for (const conv of options.conversations) {
      if (!CONV_PATTERN.test(conv)) throw new TypeError(`not a conversation id: ${conv}`);
    }
    this.#conversations = [...new Set(options.conversations)];
    this.#tokens = new TokenSource(options, () => this.#backoff(), (error) => this.#emitError(error));
    this.#user = tokenSubject(this.#tokens.token);
    this.ready = new Promise((resolve) => (this.#resolveReady = resolve));
    this.#storage = new ClientStorage(this.#mirror, this.#conversations, {
      failed: (message) => this.#emitError({ code: ClientErrorCode.STORAGE_FAILED, message, retryable: false, fatal: false }),
      movedToMemory: (reason) => this.#movedToMemory(reason),
      outboxChanged: () => (this.#finished ? undefined : this.#serial(() => this.#reloadFromStore([]))),
      finished: () => this.#finished,
    });
    this.#heartbeat = new Heartbeat(
      options.heartbeatTimeout ?? 10_000,
      () => this.#sendFrame({ type: 'ping' }),
      () => this.#connection?.restart(4008, `no answer within ${options.heartbeatTimeout ?? 10_000} ms`),
    );
  }

  /** The connection state; changes are announced by `state` events. */
  get state(): ConnectionState {
    return this.#lastChange.to;
  }

  /** The user id: the token's `sub` (read without verifying) until `welcome` states it. */
  get user(): string | null {
    return this.#user;
  }

  /**
   * The longest text `send()` takes, in UTF-16 code units: the server's `welcome.limits.maxText` once
   * this client (or the tab holding the group's connection) has heard it and when it is lower than the
   * protocol's 4000, else 4000. A message queued before the server's limit was heard may still be
   * refused as TEXT_TOO_LONG.
   */
  get maxText(): number {
    return this.#maxText ?? LIMITS.maxText;
  }

  /** Where the outbox and cache live; null until storage is open. */
  get storageKind(): StorageKind | null {
    return this.#storage.kind;
  }

  /**
   * Opens storage, loads the cache and connects. Idempotent while running; after a fatal close it
   * connects again (the host has fixed the cause, e.g. with `setToken`). Does nothing after `stop()`.
   */
  start(): void {
    if (this.#finished) return;
    if (this.#started) {
      if (this.state !== 'stopped' || this.#connection || !this.#storage.kind) return;
      if (this.#following()) this.#tabs?.restart(this.#tokens.token);
      else this.#connect();
      return;
    }
    this.#started = true;
    this.#unlistenToBrowser = listenToBrowser({
      offline: () => this.#onBrowserOffline(),
      hint: () => this.#onBrowserHint(),
      freeze: () => this.#onFreeze(),
      resume: () => this.#onResume(),
    });
    void this.#openStorage().then(() => {
      if (!this.#finished) this.#connectOrJoin();
    });
  }

  /**
   * Closes the socket for good and closes storage once pending writes are done; state becomes `stopped`.
   * Every call resolves when that is done, not only the first.
   */
  stop(): Promise<void> {
    if (!this.#stopping) {
      // Set before the stop begins: a listener of its own events that calls stop() gets this promise too.
      let settle!: (stopped: Promise<void>) => void;
      this.#stopping = new Promise((resolve) => (settle = resolve));
      settle(this.#stop());
    }
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#finished = true;
    // A token nobody will use: storage opening behind it must not wait for a provider that hangs.
    this.#tokens.abandon();
    this.#unlistenToBrowser();
    const session = this.#session;
    this.#closeSocket('client stopped');
    this.#setState('stopped', 'stopped by the host');
    if (this.#started) await this.ready;
    await this.#storage.idle();
    // Closing the session started its last batch of ack writes, and live messages are stored outside the
    // queue; they must be stored (and announced to the other tabs) before the tab group hands over and
    // the store closes.
    await session?.allStored();
    this.#storage.close();
    try {
      // A logout's deletion, asked for by now (also while the stop was under way): before another tab may
      // lead, which then hears of the deletion rather than send what waited in the outbox.
      for (const task of this.#beforeHandover!) await task();
    } finally {
      this.#beforeHandover = null;
      // Handed over only now, so the next leader reads an outbox in which this tab's last acks are stored.
      this.#leaveGroup();
      this.#peers?.close();
    }
  }

  /**
   * Queues `text` for `conv`. Rejects with a `ProtocolError` (TEXT_EMPTY, TEXT_TOO_LONG against
   * `maxText`, BAD_FRAME) before storing anything; otherwise the item is written to the outbox and
   * the promise resolves with it as `pending` once the write is durable. When online and nothing older is
   * waiting, it is sent at once, before that write; it never goes out before older pending items (also
   * not before those of an outbox a page left in IndexedDB that is being moved into the host's store:
   * it waits for them, at most 10 s). Rejects when the client stopped before it could be stored.
   */
  async send(conv: string, text: string): Promise<ChatItem> {
    const invalid = checkText(text, null, this.maxText);
    if (invalid) throw invalid;
    if (!this.#follows(conv)) {
      throw new ProtocolError(ErrorCode.BAD_FRAME, `\`conv\` ${conv} is not one of this client's conversations`);
    }
    this.#mustRun();
    await this.ready;
    await this.#storage.adopted();
    // Stopped meanwhile (a logout): its store may be deleted already, and nothing may be added to it.
    if (this.#finished) throw new Error('ImbedClient stopped before the message was stored');
    // Chosen once, outside the task: if the task is run again after a storage failure, a copy that
    // did reach IndexedDB carries the same cmid, so the server stores the message once either way.
    const cmid = newCmid();
    const createdAt = Date.now();
    // Sent now rather than in turn when every item added before this one is in flight already: work
    // queued ahead (writes waiting for their IndexedDB commits) then delays the write, not the message.
    // Its answer is handled in the queue after the task below, which stores it first. Sending before the
    // write loses nothing: a page closed before it had not resolved `send()` either, and a copy that
    // reaches the server twice (resent after a reload) is stored once by its cmid.
    // With another client on this database (any tab, whatever it follows), an item it stored first may
    // not be known here yet: this one goes out in turn, after the read-back.
    const sendNow = () => (!this.#peers || this.#peers.alone) && this.#session?.sendNew({ conv, cmid, text });
    const pass = this.#unsentItems === 0 && sendNow() ? () => {} : this.#holdSends();
    return this.#serial(async () => {
      const store = this.#storage.require();
      // Other tabs write to the same outbox: read back what is newer than this copy (this item included),
      // so items go out in the order they were stored, whichever tab stored them.
      const writing = store.addToOutbox({ conv, cmid, text, createdAt, status: 'pending' }, this.#peers ? this.#mirror.outboxHighWater() : undefined);
      // The items added before it are in flight or in the copy now: it goes out if they all have.
      if (sendNow()) pass();
      const { record, newer } = await writing;
      if (this.#peers) this.#mirror.mergeOutbox(newer);
      else this.#mirror.addOutbox(record);
      pass();
      this.emit('change', { conv });
      this.#tabs?.outboxChanged();
      this.#session?.drain();
      return this.#mirror.items(conv).find((i) => i.cmid === record.cmid)!;
    }).then((item) => {
      if (this.#signedOut) throw new Error('ImbedClient was signed out elsewhere before the message was stored');
      return item;
    }).finally(pass);
  }

  /** Throws unless the client runs: before `start()` nothing would ever open the storage a call waits for. */
  #mustRun(): void {
    if (!this.#started || this.#finished) throw new Error(this.#finished ? 'ImbedClient is stopped: make a new one' : 'ImbedClient is not running: call start() first');
  }

  /** Puts a failed item back in the outbox as pending, after everything already queued, and sends it in turn. */
  async retry(cmid: string): Promise<void> {
    this.#mustRun();
    await this.ready;
    const pass = this.#holdSends();
    await this.#serial(async () => {
      const item = this.#mirror.findOutbox(cmid);
      if (!item || item.status !== 'failed') return;
      const store = this.#storage.require();
      const moved = await store.requeue(cmid);
      // Taken out of the copy and put back at the end, where the store moved it.
      this.#mirror.updateOutbox(cmid, null);
      if (this.#peers) this.#mirror.mergeOutbox(await store.loadOutbox(this.#mirror.outboxHighWater()));
      else if (moved) this.#mirror.addOutbox(moved);
      this.emit('change', { conv: item.conv });
      this.#tabs?.outboxChanged();
      this.#session?.drain();
    }).finally(pass);
  }

  /** Removes a failed item from the outbox. Rejects for a pending item: it may already be on its way. */
  async discard(cmid: string): Promise<void> {
    this.#mustRun();
    await this.ready;
    // Decided in turn: a retry queued before this call has made the item pending by then.
    const pending = await this.#serial(async () => {
      const item = this.#mirror.findOutbox(cmid);
      if (item?.status !== 'failed') return item;
      await this.#storage.require().removeFromOutbox(cmid);
      this.#mirror.updateOutbox(cmid, null);
      this.emit('change', { conv: item.conv });
      this.#tabs?.outboxChanged();
    });
    if (pending) throw new Error('only failed items can be discarded');
  }

  /** Stored messages of `conv` by seq, then its outbox items (pending and failed) in outbox order. */
  items(conv: string): readonly ChatItem[] {
    return this.#mirror.items(conv);
  }

  /**
   * Whether this client follows `conv`. Its socket may carry others: sending an item another client of
   * the database left in the shared outbox subscribes it to that item's conversation, which is stored
   * here but raises no event.
   */
  #follows(conv: string): boolean {
    return this.#conversations.includes(conv);
  }

  /**
   * Makes the page of `conv` just older than `items(conv)` available to it: from the local cache, else
   * from the server while connected. Resolves true when it added messages (a `change` follows), false when
   * there are none older, the server cannot be asked now, or after `stop()`.
   */
  async loadOlder(conv: string): Promise<boolean> {
    // After stop() its store is closed: nothing can be asked.
    if (this.#storage.kind === null || this.#finished) return false;
    if (await this.#olderFromCache(conv)) return true;
    // A follower tab has no session: the leader fetches the page and stores it, and this tab reads it.
    if (this.#following()) {
      const { floor } = this.#mirror.held(conv);
      return !!this.#tabs && floor > 1 && (await this.#tabs.requestOlder(conv, floor)) && this.#olderFromCache(conv);
    }
    return (await this.#session?.requestOlder(conv)) ?? false;
  }

  /** Adds the page of `conv` the store holds just below the loaded messages; false when it holds none. */
  #olderFromCache(conv: string): Promise<boolean> {
    return this.#serial(async () => {
      const { low, floor } = this.#mirror.held(conv);
      if (low <= floor) return false;
      const older = await this.#storage.require().loadOlder(conv, low, FIRST_PAGE);
      this.#mirror.addOlder(conv, older);
      if (older.length === 0) return false;
      this.emit('change', { conv });
      return true;
    });
  }

  /** Outbox items still pending, in `conv` or in all conversations. */
  pendingCount(conv?: string): number {
    return this.#mirror.pendingCount(conv);
  }

  /**
   * "Retry now": skips the backoff wait, or checks a connection that looks alive. A no-op when not
   * started, after `stop()`, and after a fatal close (call `start()` again once the cause is fixed).
   */
  reconnect(): void {
    this.#retry(true);
  }

  /** "Retry now" by the person, or on the browser's hint that it may help (which waits out the server's hold). */
  #retry(byPerson: boolean): void {
    // Nor while frozen or in the back-forward cache (a `visibilitychange` follows `pagehide`): it joins its group on return.
    if (!this.#started || this.#finished || this.#frozen || this.state === 'stopped' || !this.#storage.kind) return;
    // A wait for the token provider is cut short; it is all there is to do while an attempt waits on it.
    // Not when the browser's `offline` closed that attempt meanwhile: the wait then ends with nothing.
    if (this.#tokens.skipWait() && this.#connection) return;
    if (byPerson) this.#notBefore = 0;
    if (this.#following()) this.#tabs?.reconnect(byPerson);
    else if (!this.#connection) this.#connect();
    else if (this.#connection.isWaiting) this.#connection.retryNow();
    else if (this.#session?.established) this.#heartbeat.check();
  }

  /**
   * Sets the token used by the next `hello`. When the server ends the session because the token it
   * opened with expired (4001), a token set since is used to connect again, as a `tokenProvider`'s is.
   * The other tabs of the group (see `multiTab`) take it too when it expires later than theirs, so the
   * tab that holds the connection, now or after this one closes, opens it with the newest token.
   */
  setToken(token: string): void {
    const user = tokenSubject(token);
    // Another user's: a tab that follows another's connection would store what is typed as the outbox's
    // user, so every tab stops for it at once rather than the one that holds the connection at welcome.
    if (user !== null && this.#owner !== null && user !== this.#owner) {
      void this.stop();
      this.#emitError({ code: ClientErrorCode.USER_CHANGED, message: this.#userChanged(user), retryable: false, fatal: true });
      return;
    }
    this.#tokens.set(token);
    this.#tabs?.shareToken(token);
  }

  // ---- events ----

  #emitError(error: ImbedClientEventMap['error']['detail']): void {
    this.emit('error', error);
  }

  /** An error of the shared connection: every tab of the group hears of it. */
  #emitSharedError(error: ImbedClientEventMap['error']['detail']): void {
    this.#emitError(error);
    this.#tabs?.announceError(error);
  }

  // ---- the state funnel ----

  /** The only place the state changes: one `state` event with the old and new state and why. */
  #setState(to: ConnectionState, reason: string, code?: number): void {
    const from = this.#lastChange.to;
    if (from === to) return;
    this.#lastChange = code === undefined ? { from, to, reason } : { from, to, reason, code };
    this.emit('state', this.#lastChange);
    // A leader's state is its followers' state (see lastChange in #tabHost for when it is not).
    this.#tabs?.announceState();
  }

  /**
   * Every close and failed attempt comes here, and only here is it decided whether to reconnect, get a
   * new token first, or stop. reconnecting-websocket has already scheduled the next attempt; stopping
   * cancels it.
   */
  #onClose(code: number, reason: string): void {
    const established = this.#session?.established ?? false;
    const { refusal, retryAfter } = this.#closeNotes.take();
    // A token set since the hello is the new one already: a 4001 is healed by connecting with it.
    const renewed = this.#tokens.token !== this.#helloToken;
    const decision = decideOnClose(code, reason, {
      established,
      canRefreshToken: this.#options.tokenProvider !== undefined || renewed,
      ...(refusal && { refusal }),
    });
    if (decision.action === 'stop') return this.#stopFor(decision.errorCode, decision.reason, '', code);
    this.#endSession();
    // Only the hello's token is expired.
    if (decision.action === 'refresh' && !renewed) this.#tokens.expire();
    // Too many connections: reconnecting before the server's `retryAfter` would only be refused again.
    if (retryAfter !== null) this.#notBefore = Date.now() + retryAfter;
    this.#setState('offline', decision.reason, code);
    // AUTH_UNAVAILABLE: the token may be fine, the server could not check it; the host should hear of it.
    if (decision.action === 'retry' && refusal) this.#emitSharedError({ ...refusal, retryable: true, fatal: false });
  }

  /** Takes the server's text limit, never above the protocol's: that is also what a frame is sure to hold (`maxFrame`). */
  #takeMaxText(limit = 0): void {
    this.#maxText = limit > 0 && limit < LIMITS.maxText ? limit : null;
  }

  /** Closes the socket for good (its close is not reported) and ends its session. */
  #closeSocket(reason: string): void {
    this.#connection?.stop(1000, reason);
    this.#connection = null;
    this.#endSession();
  }

  /** Forgets everything tied to the socket that just closed. The outbox stays; unacknowledged items are resent. */
  #endSession(): void {
    this.#session?.close();
    this.#session = null;
    this.#heartbeat.stop();
  }

  // ---- storage ----

  async #openStorage(): Promise<void> {
    // The default database name needs the user, which only the token knows.
    if (this.#options.dbName === undefined) await this.#tokens.obtain(() => !this.#finished);
    if (this.#finished && !this.#tokens.token) {
      // Stopped before any token came: no user to name a database after, and nothing to open one for.
      this.#resolveReady();
      return;
    }
    this.#user ??= tokenSubject(this.#tokens.token);
    this.#owner = this.#user;
    const name = this.#databaseName('anonymous')!;
    const deletion = deleting.get(name);
    if (deletion) await settleWithin(deletion, DELETION_WAIT, '').catch(() => {});
    const reason = await this.#storage.open(name, this.#options, (why, deleted) =>
      deleted ? this.#deletedElsewhere(why) : this.#emitError({ code: ClientErrorCode.STORAGE_FAILED, message: why, retryable: false, fatal: false }),
    );
    const { kind } = this.#storage.require();
    this.#dbName = name;
    this.#resolveReady();
    this.emit('storage', reason === undefined ? { kind } : { kind, reason });
    if (kind === 'memory' && this.#options.storage !== 'memory') {
      this.#emitError({ code: ClientErrorCode.STORAGE_UNAVAILABLE, message: `messages will not survive a reload: ${reason}`, retryable: false, fatal: false });
    }
    for (const conv of this.#conversations) this.emit('change', { conv });
  }

  /**
   * Another client of this database deleted it for a logout (another tab, or another element of this
   * page): this one stops as well, forgets what it showed, and sends nothing of what waited.
   */
  #deletedElsewhere(reason: string): void {
    if (this.#finished) return;
    this.#signedOut = true;
    // Forgotten now, and again once the stop is done: work queued before it (a send's write, a frame's
    // messages) may put something back in the copy meanwhile.
    const forget = () => {
      this.#mirror.clear();
      for (const conv of this.#conversations) this.emit('change', { conv });
    };
    void this.stop().catch(() => {}).then(forget);
    forget();
    this.#emitError({ code: ClientErrorCode.SIGNED_OUT, message: reason, retryable: false, fatal: true });
  }

  /**
   * The store failed mid-session and memory took over: says so like a failure at start-up does, and leaves
   * the tab group: the other tabs could no longer read what this one stores, so it runs a socket of its own.
   */
  #movedToMemory(reason: string): void {
    this.emit('storage', { kind: 'memory', reason });
    this.#emitError({ code: ClientErrorCode.STORAGE_UNAVAILABLE, message: `messages will not survive a reload: ${reason}`, retryable: false, fatal: false });
    if (!this.#peers) return;
    this.#leavePeers();
    if (!this.#connection && !this.#finished) this.#connect();
  }

  /** Stops meeting the other clients of the database, and leaves their group. */
  #leavePeers(): void {
    this.#peers?.close();
    this.#peers = null;
    this.#leaveGroup();
  }

  /**
   * The browser freezes the page (a background tab on Android, Chrome's tab freezing): frozen, it could
   * neither serve the other tabs the connection it holds nor take it over when its turn came, and they
   * would wait for it. So it gives up both until it resumes, and then joins again.
   */
  #onFreeze(): void {
    // Stopped by a fatal error, it waits for the host, not for a resume.
    if (!this.#peers || this.state === 'stopped') return;
    this.#leavePeers();
    this.#closeSocket('page frozen');
    this.#setState('offline', 'the page is frozen');
    this.#frozen = true;
  }

  #onResume(): void {
    if (!this.#frozen || this.#finished) return;
    this.#frozen = false;
    this.#connectOrJoin();
  }

  /**
   * Holds back every later `send()` from going out ahead of the queue, for an item on its way into the
   * outbox that is not in flight: it would be overtaken. Returns the release, which may be called more than once.
   */
  #holdSends(): () => void {
    this.#unsentItems += 1;
    let held = true;
    return () => {
      if (held) this.#unsentItems -= 1;
      held = false;
    };
  }

  /** Runs `task` in the client's one queue of work (see `ClientStorage.serial`). */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    return this.#storage.serial(task);
  }

  /**
   * Stores messages (and removes their outbox items) in one transaction and, while it commits, updates the
   * copy and tells listeners, so a message shows as soon as it arrives. Resolves once it is stored.
   */
  async #accept(conv: string, msgs: readonly Message[]): Promise<void> {
    // Signed out elsewhere: what frames queued before the stop bring is not shown.
    if (msgs.length === 0 || this.#signedOut) return;
    // Its transaction exists now: whatever this queue writes next commits after it. Showing the messages
    // before the commit risks nothing: the server holds them, and a page closed before the commit syncs
    // them again from its stored cursor. If the write fails, the move to memory copies the copy, them included.
    const writing = this.#storage.require().acceptMessages(conv, msgs);
    const { added, changed } = this.#mirror.acceptMessages(conv, msgs);
    const followed = this.#follows(conv);
    if (followed) {
      if (changed) this.emit('change', { conv });
      for (const message of added) if (message.from !== this.#user) this.emit('message', { message });
    }
    const { cursor } = await writing;
    this.#tabs?.stored(conv, msgs.map((m) => m.seq));
    // The store's cursor beyond the copy's: another tab on this database stored messages this copy lacks.
    if (followed && cursor > this.#mirror.cursor(conv)) await this.#reloadFromStore([conv]);
  }

  /**
   * Reads back what other tabs changed in the store: the messages of `convs` and the whole outbox. The
   * store is the source of truth; the channel only said where to look. A leader then drains what
   * followers added.
   */
  async #reloadFromStore(convs: readonly string[]): Promise<void> {
    const store = this.#storage.require();
    const loaded = [];
    for (const conv of convs) loaded.push({ conv, ...(await store.loadConversation(conv, { from: this.#mirror.held(conv).low })) });
    const outbox = await store.loadOutbox();
    // Signed out elsewhere while reading: what was read is no longer shown, nor announced.
    if (this.#signedOut) return;
    const { changed, added } = this.#mirror.catchUp(loaded, outbox);
    // Taken once the reads are done: a flag set while they ran (a new leader heard) is this read's.
    const asHistory = convs.filter((conv) => this.#readBackAsHistory.delete(conv));
    for (const conv of changed) if (this.#follows(conv)) this.emit('change', { conv });
    for (const message of added) {
      const news = !asHistory.includes(message.conv) && message.seq > (this.#history.get(message.conv) ?? 0);
      if (news && message.from !== this.#user) this.emit('message', { message });
    }
    // What comes after the history read back is news. A mark the leader sent while this read ran stays:
    // its messages may have committed after the read, and come with the next one.
    for (const conv of asHistory) this.#history.set(conv, Math.max(this.#mirror.cursor(conv), this.#history.get(conv) ?? 0));
    this.#session?.drain();
  }

  /**
   * Leader: tells the followers, before they are stored, that the messages of `msgs` the copy does not hold
   * are history; returns their seqs. One it holds came live, as news, and was announced so: a first visit's
   * page may end with it, and "history up to" its seq would have the followers take it for history too.
   */
  #historySeqs(conv: string, msgs: readonly Message[]): number[] {
    const seqs = msgs.filter((m) => !this.#mirror.message(conv, m.seq)).map((m) => m.seq);
    this.#tabs?.history(conv, seqs);
    return seqs;
  }

  /** Drops the copy of `conv` (its outbox items stay): what is stored of it next is a first visit's history. */
  #forgetCopy(conv: string): void {
    this.#mirror.loadConversation(conv, [], { cursor: 0, floor: 1 });
    if (this.#follows(conv)) this.emit('change', { conv });
  }

  #markHistory(conv: string, upTo: number): void {
    this.#history.set(conv, Math.max(upTo, this.#history.get(conv) ?? 0));
  }

  /**
   * Before reading back what a leader this tab did not follow may have stored: a copy that holds nothing of
   * a conversation yet, and never did, reads back history, stored before this tab heard of it. One that
   * held it empty reads back news, as the leader stored it.
   */
  #readBackUnknownAsHistory(): void {
    for (const conv of this.#conversations) if (!this.#mirror.isKnown(conv)) this.#readBackAsHistory.add(conv);
  }

  /** Schedules one reload for every hint that arrives before it runs. */
  #markStale(conv: string | null): void {
    if (this.#finished) return;
    const scheduled = this.#stale !== null;
    this.#stale ??= new Set();
    if (conv !== null && this.#follows(conv)) this.#stale.add(conv);
    if (scheduled) return;
    void this.#serial(() => {
      const convs = [...(this.#stale ?? [])];
      this.#stale = null;
      return this.#reloadFromStore(convs);
    });
  }

  // ---- connection ----

  #backoff(): Backoff {
    return { min: this.#options.minReconnectDelay ?? 500, max: this.#options.maxReconnectDelay ?? 15_000 };
  }

  /**
   * With IndexedDB, Web Locks and BroadcastChannel, stands for the lead of the tab group of this database
   * and conversations (one socket per browser), and starts the group once it meets another client of the
   * database, or finds the lock held: a holder that never says `here` (a tab of an older build) still
   * leads, and this client follows it; otherwise, or with `multiTab: false`, runs a socket of its own.
   */
  #connectOrJoin(): void {
    if (this.#options.multiTab === false || this.#storage.kind !== 'indexeddb' || !multiTabSupported()) {
      this.#connect();
      return;
    }
    const name = tabGroupName(this.#dbName, this.#conversations);
    // What this election started acts only while it is the client's: not after a stop, nor after the
    // page was frozen and joined again under a new one.
    const peers = (this.#peers = new DatabasePeers(this.#dbName, () => this.#startGroup(name, election)));
    const election: LeaderElection = (this.#election = new LeaderElection(
      name,
      () => {
        // A follower showed the old leader's session, which ended with it: until this tab's own opens
        // (after a token, perhaps from a slow tokenProvider), there is none.
        if (/^(online|syncing|authenticating)$/.test(this.state)) this.#setState('connecting', 'taking over the connection');
        // The old leader may have stored acks and followers added items since this tab last looked; one
        // this tab could not hear (its group had not started) may have stored pages of history too.
        if (!this.#tabs) this.#readBackUnknownAsHistory();
        void this.#serial(() => this.#reloadFromStore(this.#conversations))
          .catch(() => {})
          .then(() => {
            if (this.#election === election && !this.#finished && !this.#connection) this.#connect();
          });
      },
      () => peers.meet(),
      () => {
        // Another tab took the lead while this one could not run (tab-group.ts, `STALL`): its socket goes,
        // and it joins its group again, as a follower now.
        if (this.#election !== election || this.#finished) return;
        this.#leavePeers();
        this.#closeSocket('another tab took over the connection');
        this.#setState('connecting', 'another tab took over the connection');
        this.#connectOrJoin();
      },
    ));
  }

  /**
   * Loads the group's code and starts the group. If it cannot load within `GROUP_LOAD_TIMEOUT` (offline
   * on a first visit, a deploy without the part), this client runs a socket of its own (`#runAlone`); so
   * does a follower whose leader does not answer (tab-group.ts, `JOIN_TIMEOUT`).
   */
  #startGroup(name: string, election: LeaderElection): void {
    // A load that hangs counts as failed: until the group starts, a leader cannot hear its followers. One
    // that settles after the client left that election (or stopped) does nothing. Neither failure's
    // reason is shown, so the deadline's message is empty.
    settleWithin(loadTabGroup(), GROUP_LOAD_TIMEOUT, '').then((TabGroup) => {
      if (this.#election === election && !this.#finished) this.#tabs = new TabGroup(name, this.#tabHost());
    }, () => this.#election === election && this.#runAlone());
  }

  /**
   * Whether another tab holds (or is about to hold) the socket this client shares: it stands in the
   * election and has not won it, whether or not its group has started yet. Such a client never connects.
   */
  #following(): boolean {
    return this.#election !== null && !this.#election.won;
  }

  /**
   * Leaves the tab group and the election for a socket of its own, as with `multiTab: false`, when the
   * group cannot start: the server stores each item once by its cmid, whichever tab sends it. Does
   * nothing once the election is left or the client stopped.
   */
  #runAlone(): void {
    if (!this.#election || this.#finished) return;
    this.#leaveGroup();
    if (!this.#connection) this.#connect();
  }

  /** Leaves the tab group, if any, then the election: a leader's lock goes to the next tab in line. */
  #leaveGroup(): void {
    this.#tabs?.stop();
    this.#tabs = null;
    this.#election?.stop();
    this.#election = null;
  }

  /** What the tab group may do to the client. */
  #tabHost(): TabGroupHost {
    return {
      leading: () => this.#election?.won ?? false,
      refresh: (conv, history) => {
        if (conv && history) this.#markHistory(conv, history);
        this.#markStale(conv);
      },
      history: (conv, upTo) => this.#markHistory(conv, upTo),
      forget: (conv) => {
        // Its marks went with the messages. The copy goes after any read-back under way, which may bring
        // back what the leader deleted; a mark the leader sends next is kept.
        this.#history.delete(conv);
        // Then read back: a read-back before this one that took in a hint meanwhile may have found the leader's page.
        void this.#serial(() => (this.#forgetCopy(conv), this.#reloadFromStore([conv])));
      },
      refreshAll: () => {
        this.#readBackUnknownAsHistory();
        for (const conv of this.#conversations) this.#markStale(conv);
      },
      follow: ({ to, reason, code }, me) => {
        if (this.#finished) return;
        if (me?.maxText) this.#takeMaxText(me.maxText);
        if (me?.user && (me.user !== this.#user || me.name !== this.#name)) {
          this.#user = me.user;
          this.#name = me.name;
          this.#mirror.invalidateAll();
        }
        this.#setState(to, reason, code);
      },
      // Once stopping, its own `stopped` is not the followers' state: they hear the next leader's.
      lastChange: () => (this.#finished ? null : this.#lastChange),
      me: () => ({ user: this.#user, name: this.#name, maxText: this.#maxText }),
      reconnect: (byPerson) => this.#retry(byPerson),
      takeOver: () => {
        // Not while stopping: a logout under way must not be overtaken by a send.
        if (!this.#finished) this.#election?.takeOver();
      },
      restart: (token) => {
        if (token) this.setToken(token);
        this.start();
      },
      // Loads what the store holds first (the follower has all of it), so the page fetched joins this copy.
      older: (conv) => {
        void (async () => {
          while (await this.#olderFromCache(conv));
          await this.#session?.requestOlder(conv);
        })().catch(() => {});
      },
      report: (error) => {
        if (!this.#finished) this.#emitError(error);
      },
      unanswered: () => this.#runAlone(),
      token: () => this.#tokens.token,
      takeToken: (token) => this.#tokens.set(token),
    };
  }

  #connect(): void {
    const connection: Connection = new Connection(
      this.#url,
      this.#backoff(),
      {
        prepare: async () => {
          const current = () => this.#connection === connection && !this.#finished;
          await this.#tokens.obtain(current);
          if (current()) this.#setState('connecting', 'opening a connection');
        },
        open: () => this.#onOpen(),
        frame: (frame) => this.#onFrame(frame),
        close: (code, reason) => this.#onClose(code, reason),
        refused: (error) => this.#stopFor(ClientErrorCode.BAD_OPTIONS, `the browser will not open a WebSocket to ${this.#url}: ${error}`),
        // Kept by the client: a connection made anew (after the browser's `offline`) waits for it too.
        notBefore: () => this.#notBefore,
      },
    );
    this.#connection = connection;
  }

  #sendFrame(frame: ClientFrame): boolean {
    return this.#connection?.send(frame) ?? false;
  }

  #onOpen(): void {
    this.#endSession();
    this.#closeNotes.clear();
    this.#session = new Session(this.#sessionHost());
    // hello is the only frame sent before welcome; the outbox waits for the session.
    // The other tabs take it if it lasts longer than theirs (a `tokenProvider` renewed it): the tab that
    // takes over the connection from this one opens it with this token.
    this.#tabs?.shareToken(this.#tokens.token);
    this.#sendFrame({ type: 'hello', token: (this.#helloToken = this.#tokens.token ?? ''), convs: this.#conversations.map((conv) => ({ conv, after: this.#mirror.cursor(conv) })) });
    this.#setState('authenticating', 'hello sent');
    this.#heartbeat.expectAnswer();
  }

  #onFrame(frame: ServerFrame): void {
    this.#heartbeat.received();
    if (frame.type === 'pong') return;
    // Read at once, not in turn: the close that follows is decided before queued frames are handled.
    if (this.#closeNotes.note(frame)) return;
    // Bound to the socket it came on: a closed session still stores what its frames carried.
    const session = this.#session;
    if (session) void this.#serial(() => session.handle(frame));
  }

  /** What a session may do to the client. */
  #sessionHost(): SessionHost {
    return {
      conversations: this.#conversations,
      mirror: this.#mirror,
      me: () => ({ user: this.#user ?? '', name: this.#name ?? this.#user ?? '' }),
      send: (frame) => this.#sendFrame(frame),
      // The session stores acks and live messages outside serial(), so they need the storage fallback of their own.
      accept: (conv, msgs) => this.#storage.withFallback(() => this.#accept(conv, msgs)),
      forget: async (conv) => {
        try {
          await this.#storage.require().forgetConversation!(conv);
        } catch (e) {
          // A store that cannot (an app's without the op) keeps the copy, and what is typed stays durable.
          return this.#emitError({ code: ClientErrorCode.STORAGE_FAILED, message: `kept a stale copy of ${conv}: ${messageOf(e)}`, retryable: false, fatal: false });
        }
        this.#tabs?.forget(conv);
        this.#history.delete(conv);
        this.#forgetCopy(conv);
      },
      acceptOlder: (conv, msgs, more) => this.#storage.withFallback(async () => {
        // History, not news: no `message` events.
        const seqs = this.#historySeqs(conv, msgs);
        const range = await this.#storage.require().acceptMessages(conv, msgs, { more });
        this.#tabs?.stored(conv, seqs, true);
        this.#mirror.acceptOlder(conv, msgs, range);
        this.emit('change', { conv });
      }),
      fail: async (item, error) => {
        // Gone from the store (another client of the database discarded it): gone from here too, not sent again.
        const kept = await this.#storage.require().markFailed(item.cmid, error);
        this.#mirror.updateOutbox(item.cmid, kept ? { ...item, status: 'failed', error } : null);
        if (this.#follows(item.conv)) this.emit('change', { conv: item.conv });
        this.#tabs?.outboxChanged();
      },
      welcomed: (welcome) => {
        if (this.#owner !== null && welcome.user !== this.#owner) return this.#refuseUser(welcome.user);
        this.#owner = welcome.user;
        this.#connection?.established();
        this.#user = welcome.user;
        this.#name = welcome.name;
        this.#takeMaxText(welcome.limits?.maxText);
        this.#mirror.invalidateAll();
        this.#heartbeat.start(pingInterval(this.#options.heartbeatInterval, welcome.heartbeat));
        this.#setState('syncing', 'catching up');
      },
      caughtUp: () => this.#setState('online', 'caught up'),
      report: (error) => {
        // A refusal of an item sent for another client of the database (see #follows) is not this host's.
        const item = error.cmid && this.#mirror.findOutbox(error.cmid);
        if (!item || this.#follows(item.conv)) this.#emitSharedError({ ...error, fatal: false });
      },
    };
  }

  /**
   * Stops before anything is sent: the server recognised `user`, but the outbox and cache belong to
   * `owner`, and draining them now would send one user's messages as another's.
   */
  #refuseUser(user: string): void {
    this.#stopFor(ClientErrorCode.USER_CHANGED, this.#userChanged(user), 'another user');
  }

  #userChanged(user: string): string {
    return `the token is for ${user}, but this client's messages belong to ${this.#owner}; create a new client for ${user}`;
  }

  /**
   * Stops for good because nothing can succeed until the host acts (a fatal close, another user, a URL
   * the browser will not open), and tells the host and the other tabs why with `errorCode`.
   */
  #stopFor(errorCode: string, reason: string, socketReason = '', code?: number): void {
    this.#closeSocket(socketReason);
    this.#setState('stopped', reason, code);
    this.#emitSharedError({ code: errorCode, message: reason, retryable: false, fatal: true });
  }

  // ---- the browser's hints about the network ----

  #onBrowserOffline(): void {
    if (this.#finished || this.state === 'stopped' || !this.#connection) return;
    // The socket may linger for minutes on a dead network; close it now and wait for `online`.
    this.#closeSocket('browser offline');
    this.#setState('offline', 'the browser is offline');
  }

  #onBrowserHint(): void {
    // A hidden tab skips the liveness check of a socket it has; but a tab whose socket was closed on
    // `offline` must reconnect when the network returns, or its outbox waits until someone looks.
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden' && this.#connection) return;
    this.#retry(false);
  }

  /**
   * Stops the client and deletes its IndexedDB database and what the store of `openStore` holds (cached
   * messages and the outbox, unsent messages included), for a logout: the next person on this device finds
   * nothing of this user's. The other clients of the database (other tabs) stop with `SIGNED_OUT`.
   * Tries both, and rejects naming what could not be deleted, so a logout never reports success over a
   * user's messages left behind: also when the database is named after a user no token has named yet
   * (a `tokenProvider` that had not answered). A client of this page that opens the same database
   * meanwhile (the user signing in again at once) opens it once the deletion is done.
   */
  async clearLocalData(): Promise<void> {
    const name = this.#dbName || this.#databaseName();
    const done = this.#clearLocalData();
    if (name) {
      const settled = done.catch(() => {});
      deleting.set(name, settled);
      void settled.then(() => deleting.get(name) === settled && deleting.delete(name));
    }
    return done;
  }

  async #clearLocalData(): Promise<void> {
    const left: string[] = [];
    // Deleted before another tab may take the lead: the deletion stops the tabs that share the database
    // (see #deletedElsewhere) before one of them could send what waited in the outbox.
    const remove = async (): Promise<void> => {
      // The database this client opened; else the one it would open, when its name is known.
      const name = this.#dbName || this.#databaseName();
      if (this.#options.storage === 'memory') return;
      await this.#storage.deleteHosted(name, this.#options.openStore).catch((error: unknown) => left.push(`the app's store (${messageOf(error)})`));
      // Through a promise: without IndexedDB at all, deleteDB throws rather than reject.
      if (name) await Promise.resolve(name).then(deleteDB).catch((error: unknown) => left.push(`IndexedDB ${name} (${messageOf(error)})`));
      // The database is named after the user, and no token named one: it cannot be found.
      else left.push('IndexedDB (no token named the user)');
    };
    // Deleted before the stop hands over, unless it has (then once it is done).
    const handover = this.#beforeHandover;
    handover?.push(remove);
    await this.stop();
    if (!handover) await remove();
    if (left.length) throw new Error(`local data not deleted: ${left.join(', ')}`);
  }

  /**
   * The database's name: `dbName`, else one per server and user (the user as the token names them, else
   * `unnamed`); null when there is neither.
   */
  #databaseName(unnamed?: string): string | null {
    const user = this.#user ?? tokenSubject(this.#tokens.token) ?? unnamed;
    return this.#options.dbName ?? (user === undefined ? null : `imbed:${new URL(this.#url).host}:${user}`);
  }
}
