/**
 * One established connection's work: catching up each conversation page by page, filling gaps in live
 * messages, draining the outbox in order, and turning acks and refusals into store writes. A new
 * `Session` starts with every socket; a closed one may still store what its frames carried, but asks
 * nothing more of the server.
 *
 * Acks are stored in batches: while one write of acks runs, the acks that arrive wait and then go into
 * the next write together, one IndexedDB transaction for all of them (bench/flush.ts: 1,000 acks in a
 * handful of transactions instead of 1,000). Every other frame waits until the acks before it are stored,
 * so the store still sees the frames' effects in arrival order. A live message is the exception that
 * keeps to the rule: its write starts as it arrives, so the frames after it need not wait for its commit.
 */
import { ErrorCode, LIMITS } from '../protocol/index.js';
import type { ClientFrame, ErrorFrame, HistoryFrame, Message, MsgFrame, Ref, SentFrame, ServerFrame, WelcomeFrame } from '../protocol/index.js';
import { messageOf } from './error-text.js';
import type { Mirror } from './mirror.js';
import type { OutboxRecord } from './store.js';
import { ClientErrorCode, type ClientErrorDetail, type ItemError } from './types.js';

/** Most messages asked for per `sync` page. */
const SYNC_PAGE = LIMITS.syncLimit;
/** Wait before resending after a retryable refusal (INTERNAL), so a failing server is not hammered. */
export const RETRY_DELAY = 2_000;

/** What a session needs from the client that owns it. */
export interface SessionHost {
  readonly conversations: readonly string[];
  readonly mirror: Mirror;
  /** The current user id and display name (known from `welcome` on). */
  me(): { user: string; name: string };
  /** Sends on this session's socket; false when it is not open (the frame is dropped, never queued). */
  send(frame: ClientFrame): boolean;
  /**
   * Stores messages and removes their outbox items in one transaction. The transaction is created, the
   * mirror updated and listeners told before it returns (of each message from others); the promise
   * resolves once the write is stored.
   */
  accept(conv: string, msgs: readonly Message[]): Promise<void>;
  /**
   * Stores a page of history answered to `sync` with `before`, extending the held range down over it. An
   * empty one with `more` false while nothing is held marks the conversation known (`HeldRange.known`).
   */
  acceptOlder(conv: string, msgs: readonly Message[], more: boolean): Promise<void>;
  /**
   * Drops the copy of `conv` and the store's (its outbox items stay): the server's messages no longer match
   * it, as after its database was restored from a backup. The conversation is then caught up anew.
   */
  forget(conv: string): Promise<void>;
  /** Marks an outbox item failed in store and mirror, and tells listeners. */
  fail(item: OutboxRecord, error: ItemError): Promise<void>;
  /** `welcome` arrived: the session is established and catching up. */
  welcomed(welcome: WelcomeFrame): void;
  /** Every conversation is caught up: the outbox starts draining. */
  caughtUp(): void;
  /** A refusal a person should hear of; `retryAfter` (ms) when the server said how long to wait. */
  report(error: Omit<ClientErrorDetail, 'fatal'>): void;
}

/** The protocol work of one socket, from `welcome` to its close. */
export class Session {
  /** The client that owns this session. */
  readonly #host: SessionHost;
  /** The host's copy of the store, read for cursors and the outbox. */
  readonly #mirror: Mirror;
  #live = false;
  #draining = false;
  #closed = false;
  #nextRef = 1;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Set by a `RATE_LIMITED` refusal: the outbox then goes out one item at a time, each after the answer
   * to the one before, until it is empty. Pipelining everything again would only be refused again.
   */
  #paced = false;
  /**
   * Most sends in flight at once: the server's frames per second when it states one, so a long outbox
   * never arrives as a flood the server would close the connection for (1008).
   */
  #window = Infinity;
  /** How many sends, and how many catch-up syncs, may be in flight at once now. */
  get #room(): number {
    return this.#paced ? 1 : this.#window;
  }

  /** Cmids sent on this socket and not yet answered: never sent twice on one socket. */
  readonly #inflight = new Set<string>();
  /** The one catch-up `sync` in flight per conversation (`before` when it asks for the newest page). */
  readonly #syncs = new Map<string, { ref: number; after: number; before?: number; check?: string }>();
  /**
   * Conversations the catch-up after `welcome` fetches forward and has yet to check: its first page starts
   * at the message the copy holds at its cursor when it is asked, and must start with that one (see
   * `#onHistory`). A check refused for a while is asked again.
   */
  readonly #checks = new Set<string>();
  /**
   * Conversations whose catch-up `sync` waits to go out: at most `window` are in flight at once (one at a
   * time after a refusal), so following many conversations is not a flood of frames.
   */
  readonly #syncQueue = new Set<string>();
  /** `sync`s with `before` asked for by the reader scrolling up, by ref, with who waits for the answer. */
  readonly #older = new Map<number, (found: boolean) => void>();
  /** Each conversation's head as `welcome` stated it. */
  #heads = new Map<string, number>();
  /** Conversations still catching up after `welcome`; the outbox waits for all of them. */
  readonly #catchingUp = new Set<string>();
  /** Acknowledged messages waiting for the write in progress to finish; they are stored together next. */
  #acks: Message[] = [];
  /** Writes of acks in progress: one at a time while open; after `close()` the rest start at once. */
  readonly #ackWrites = new Set<Promise<void>>();
  /** Writes of live messages in progress: the frames after them do not wait for these, `stop()` does. */
  readonly #messageWrites = new Set<Promise<void>>();

  constructor(host: SessionHost) {
    this.#host = host;
    this.#mirror = host.mirror;
  }

  /** Whether `welcome` has arrived and the socket is still open. */
  get established(): boolean {
    return this.#live && !this.#closed;
  }

  /**
   * Handles one frame. Frames are handed over one at a time, in arrival order. A `sent` frame returns
   * before its ack is stored (it joins the next batch); any other frame first waits for the acks before it.
   */
  async handle(frame: ServerFrame): Promise<void> {
    if (frame.type === 'sent') return this.#onSent(frame);
    await this.acksStored();
    switch (frame.type) {
      case 'welcome':
        return this.#onWelcome(frame);
      case 'msg':
        return this.#onMsg(frame);
      case 'history':
        return this.#onHistory(frame);
      case 'error':
        return this.#onError(frame);
      // `pong` asks nothing of the session: it only proves the link alive.
    }
  }

  /**
   * Sends every pending outbox item not yet sent on this socket, in outbox order. The server handles one
   * connection's frames in order, so pipelining keeps the order and a new item never overtakes an older
   * one. Stops at the first frame the socket refuses; nothing goes out during a retry pause. At most
   * `window` sends are in flight (one at a time after a `RATE_LIMITED`); each answer lets the next go.
   */
  drain(): void {
    if (!this.#draining || this.#closed || this.#retryTimer !== undefined) return;
    let sent = false;
    for (const item of this.#mirror.outboxItems()) {
      if (this.#inflight.size >= this.#room) return;
      if (item.status !== 'pending' || this.#inflight.has(item.cmid)) continue;
      if (!this.#send(item)) return;
      sent = true;
    }
    if (!sent && this.#inflight.size === 0) this.#paced = false;
  }

  /**
   * Sends an item whose outbox write is still in flight, when `drain()` would send it next: draining, a
   * place in the window, and no pending item waiting to go before it. Otherwise the `drain()` after the
   * write sends it in turn. True when the item is in flight.
   */
  sendNew(item: { conv: string; cmid: string; text: string }): boolean {
    if (this.#inflight.has(item.cmid)) return true;
    if (!this.#draining || this.#closed || this.#retryTimer !== undefined) return false;
    if (this.#inflight.size >= this.#room) return false;
    for (const queued of this.#mirror.outboxItems()) if (queued.status === 'pending' && !this.#inflight.has(queued.cmid)) return false;
    return this.#send(item);
  }

  /** Sends an outbox item and counts it in flight; false when the socket refused the frame. */
  #send(item: { conv: string; cmid: string; text: string }): boolean {
    if (!this.#host.send({ type: 'send', conv: item.conv, cmid: item.cmid, text: item.text })) return false;
    this.#inflight.add(item.cmid);
    return true;
  }

  /**
   * The socket closed: ask nothing more. Unanswered items stay pending and go out on the next session.
   * Acks still waiting are written now, and so are those of frames handled after this: their IndexedDB
   * transactions exist before the client's queue of work is empty, so whoever reads the store after that
   * (the next session, a tab taking over) reads them stored.
   */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    // Its readers hear now; a page asked for may still be handled after this (its frame arrived before the
    // close), and is then stored as the older page it is, not taken for newly arrived messages.
    for (const [ref, done] of this.#older) {
      done(false);
      this.#older.set(ref, () => {});
    }
    this.#writeAcks();
  }

  /** Resolves once every ack this session has received is stored (or its write has failed and been reported). */
  async acksStored(): Promise<void> {
    while (this.#ackWrites.size > 0) await Promise.all(this.#ackWrites);
  }

  /** Resolves once every ack and live message this session has received is stored (or its write has failed and been reported). */
  async allStored(): Promise<void> {
    await this.acksStored();
    await Promise.all(this.#messageWrites);
  }

  async #onWelcome(welcome: WelcomeFrame): Promise<void> {
    if (this.#closed || this.#live) return;
    this.#live = true;
    const fps = welcome.limits?.framesPerSecond;
    if (fps !== undefined && fps > 0) this.#window = Math.max(1, Math.floor(fps));
    this.#host.welcomed(welcome);
    // The client may have refused the session (a token for another user than the outbox's): the denials
    // are that other user's, and nothing more is asked.
    if (this.#closed) return;
    // Not a member: the server sends nothing of these (no head, so no catch-up to wait for); say why.
    for (const conv of welcome.denied ?? []) {
      if (this.#host.conversations.includes(conv)) {
        this.#host.report({ code: ErrorCode.FORBIDDEN, message: `not a member of ${conv}`, retryable: false, conv });
      }
    }
    const heads = (this.#heads = new Map(welcome.convs.map((c) => [c.conv, c.head])));
    // The server holds fewer messages than this copy: its database went back (restored from a backup, or
    // replaced). The copy is dropped, and the conversation loaded again as on a first visit.
    for (const conv of this.#host.conversations) if ((heads.get(conv) ?? Infinity) < this.#mirror.cursor(conv)) await this.#host.forget(conv);
    if (this.#closed) return;
    const marks = [];
    for (const conv of this.#host.conversations) {
      const head = heads.get(conv);
      if ((head ?? 0) > this.#mirror.cursor(conv)) {
        // The server's messages may have gone back and on past the cursor: its message there must be ours.
        this.#checks.add(conv);
        this.#catchingUp.add(conv);
        this.#requestSync(conv);
      } else if (head === 0 && !this.#mirror.isKnown(conv)) {
        // Caught up with it while it is empty, as an empty page that reaches the first message says: what
        // it gets from now on is news, also after a reload (the store keeps the mark, `HeldRange.known`;
        // an app's store that does not is asked again at each start). A denied conversation has no head,
        // and is not marked. The marks are written together.
        marks.push(this.#host.acceptOlder(conv, [], false));
      }
    }
    await Promise.all(marks);
    this.#finishCatchUp();
  }

  #finishCatchUp(): void {
    if (!this.established || this.#draining || this.#catchingUp.size > 0) return;
    this.#draining = true;
    this.#host.caughtUp();
    this.drain();
  }

  /**
   * Asks for the messages after the cursor of `conv`, one request in flight per conversation. With nothing
   * held (a first visit), asks for the newest page instead (backward), as history: the view fills at once,
   * and older pages come as the reader scrolls up, however many pages the server cuts the history into. A
   * conversation held empty (`known`) that got a page or less meanwhile is fetched forward, as news; more
   * than that comes as a first visit's does, rather than thousands of `message` events after one glance at
   * an empty conversation.
   */
  #requestSync(conv: string): void {
    if (!this.#syncs.has(conv)) this.#syncQueue.add(conv);
    this.#askSyncs();
  }

  /** Sends the queued catch-up syncs the window has room for; none during a pause. */
  #askSyncs(): void {
    for (const conv of this.#syncQueue) {
      if (!this.established || this.#retryTimer !== undefined || this.#syncs.size >= this.#room) return;
      this.#syncQueue.delete(conv);
      const after = this.#mirror.cursor(conv);
      const head = Math.max(this.#heads.get(conv) ?? 0, this.#mirror.highestSeq(conv));
      const check = this.#checks.delete(conv) ? this.#mirror.message(conv, after)?.cmid : undefined;
      if (after === 0 && head > 0 && (head > SYNC_PAGE || !this.#mirror.isKnown(conv))) this.#syncs.set(conv, { ref: this.#sync(conv, { before: head + 1 }), after, before: head + 1 });
      else if (check) this.#syncs.set(conv, { ref: this.#sync(conv, { after: after - 1 }), after, check });
      else this.#syncs.set(conv, { ref: this.#sync(conv, { after }), after });
    }
  }

  /** Sends a `sync` for a page of `conv` after or before a seq; returns its ref. */
  #sync(conv: string, from: { after: number } | { before: number }): number {
    const ref = this.#nextRef++;
    this.#host.send({ type: 'sync', conv, ...from, limit: SYNC_PAGE, ref });
    return ref;
  }

  /**
   * Asks the server for the page of `conv` just below what the cache holds, when the cache holds all it
   * has down to its floor. Resolves true once a page is stored, false when there is nothing to ask.
   */
  requestOlder(conv: string): Promise<boolean> {
    const { low, floor } = this.#mirror.held(conv);
    if (!this.established || low > floor || floor <= 1 || this.#mirror.cursor(conv) === 0) return Promise.resolve(false);
    const ref = this.#sync(conv, { before: floor });
    return new Promise((resolve) => this.#older.set(ref, resolve));
  }

  async #accept(conv: string, msgs: readonly Message[]): Promise<void> {
    await this.#host.accept(conv, msgs);
    for (const m of msgs) this.#inflight.delete(m.cmid);
  }

  #onMsg(frame: MsgFrame): void {
    const { type: _type, ...message } = frame;
    // Shown at once, stored without holding up the frames after it: its transaction exists now, so the
    // store still sees the frames' effects in arrival order.
    const write: Promise<void> = this.#accept(message.conv, [message])
      .catch((e: unknown) => {
        // Not stored even in memory: shown for now; the store's cursor stays before it, so the next page
        // load fetches it again.
        this.#host.report({ code: ClientErrorCode.STORAGE_FAILED, message: messageOf(e), retryable: false });
      })
      .finally(() => this.#messageWrites.delete(write));
    this.#messageWrites.add(write);
    // A gap (seq beyond cursor + 1) means messages were missed: fetch them.
    if (this.#mirror.cursor(message.conv) < message.seq) this.#requestSync(message.conv);
  }

  async #onHistory(frame: HistoryFrame): Promise<void> {
    const reader = this.#takeReader(frame.ref);
    if (reader) {
      // Whatever happens to the write, the reader who asked hears back (else its view waits for good).
      let stored = false;
      try {
        await this.#host.acceptOlder(frame.conv, frame.msgs, frame.more);
        stored = frame.msgs.length > 0;
      } finally {
        reader(stored);
      }
      return;
    }
    const asked = this.#syncs.get(frame.conv);
    const backward = asked?.before !== undefined && asked.ref === frame.ref;
    const first = frame.msgs[0];
    if (asked?.check && asked.ref === frame.ref && (first?.seq !== asked.after || first.cmid !== asked.check)) {
      // The server's message at the cursor is another one: its database went back, then on past it. The
      // conversation is loaded again up to the newest message the copy holds, one that came live (and was
      // announced) included.
      this.#syncs.delete(frame.conv);
      this.#heads.set(frame.conv, Math.max(frame.head, this.#mirror.highestSeq(frame.conv)));
      await this.#host.forget(frame.conv);
      this.#requestSync(frame.conv);
      return;
    }
    // A first visit's page, asked backward, is history; a page forward is news.
    if (backward) await this.#host.acceptOlder(frame.conv, frame.msgs, frame.more);
    else await this.#accept(frame.conv, frame.msgs);
    this.#syncs.delete(frame.conv);
    this.#askSyncs();
    const cursor = this.#mirror.cursor(frame.conv);
    // A backward page's `more` speaks of older messages: only the head says whether newer ones remain.
    const behind = (frame.more && !backward) || cursor < Math.max(frame.head, this.#mirror.highestSeq(frame.conv));
    // Ask again only when this page moved the cursor, so a server that answers oddly cannot make us loop.
    if (behind && (asked === undefined || cursor > asked.after)) {
      this.#requestSync(frame.conv);
      return;
    }
    this.#catchingUp.delete(frame.conv);
    this.#finishCatchUp();
  }

  #onSent(frame: SentFrame): void {
    // `dup: true` (the server had it already, e.g. another tab sent it first) is handled the same way.
    const text = this.#mirror.findOutbox(frame.cmid)?.text ?? this.#mirror.message(frame.conv, frame.seq)?.text;
    if (text === undefined) {
      // Acknowledged, but neither outbox nor cache has its text (another tab moved it): fetch it, the
      // conversation being at least this far (it may be one `welcome` did not name). It is no longer in
      // flight from here: the page that brings it may be a backward one, which would not say so.
      this.#inflight.delete(frame.cmid);
      this.#heads.set(frame.conv, Math.max(this.#heads.get(frame.conv) ?? 0, frame.seq));
      this.#requestSync(frame.conv);
      this.drain();
      return;
    }
    const { user, name } = this.#host.me();
    this.#acks.push({ conv: frame.conv, seq: frame.seq, cmid: frame.cmid, from: user, name, text, ts: frame.ts });
    this.#writeAcks();
  }

  /**
   * Starts writing the waiting acks: the leading run of one conversation in one transaction (the store's
   * `acceptMessages` is per conversation). While open, only when no write is in progress; the next run
   * starts when it ends. After `close()` every run starts at once, in order.
   */
  #writeAcks(): void {
    while (this.#acks.length > 0 && (this.#closed || this.#ackWrites.size === 0)) {
      const conv = this.#acks[0]!.conv;
      let n = 1;
      while (n < this.#acks.length && this.#acks[n]!.conv === conv) n += 1;
      const msgs = this.#acks.splice(0, n);
      const write: Promise<void> = this.#storeAcks(conv, msgs).then(() => {
        this.#ackWrites.delete(write);
        this.#writeAcks();
      });
      this.#ackWrites.add(write);
    }
  }

  /** Stores acknowledged messages of `conv` in one transaction; never rejects (a failure is reported). */
  async #storeAcks(conv: string, msgs: Message[]): Promise<void> {
    try {
      await this.#accept(conv, msgs);
    } catch (e) {
      // The items stay in the outbox and go out again on the next session; the server's dedupe answers
      // them with their original seq.
      this.#host.report({ code: ClientErrorCode.STORAGE_FAILED, message: messageOf(e), retryable: false });
      // Not stored, so not done: the next drain sends them again and the server answers with a dup ack.
      for (const m of msgs) this.#inflight.delete(m.cmid);
      return;
    }
    if (this.#mirror.cursor(conv) < Math.max(...msgs.map((m) => m.seq))) this.#requestSync(conv);
    // An answer frees a place in the window (or, when paced, is the turn of the next item).
    this.drain();
  }

  async #onError(frame: ErrorFrame): Promise<void> {
    const error: ItemError = { code: frame.code, message: frame.message, retryable: frame.retryable };
    const retryAfter = frame.retryAfter ?? RETRY_DELAY;
    const limited = frame.code === ErrorCode.RATE_LIMITED;
    // Every frame behind it is refused too; all of them go out again, in order, once the wait is over.
    if (limited) this.#paced = true;
    // A refused `send` echoes its cmid as ref (a `sync`'s ref is a number), which frees its place in flight.
    const item = this.#mirror.findOutbox(frame.ref as string);
    if (typeof frame.ref === 'string' && this.#inflight.delete(frame.ref) && !item) {
      // The item left this copy meanwhile (another client of the database acknowledged or discarded it):
      // nothing to tell, but its place is free, or the window would stay short of it for good.
      if (limited) this.#pauseDrain(retryAfter);
      else this.drain();
      return;
    }
    if (item) {
      if (limited) {
        if (this.#pauseDrain(retryAfter)) this.#host.report({ ...error, cmid: item.cmid, retryAfter });
        return;
      }
      if (frame.retryable) {
        this.#pauseDrain(RETRY_DELAY);
        return;
      }
      // Refused for good: keep it visible as failed with the server's reason, and keep draining the rest.
      // The answer frees its place in the window like an ack does; when every send in flight is refused,
      // no ack would ever come to send what is queued behind them.
      await this.#host.fail(item, error);
      this.#host.report({ ...error, cmid: item.cmid });
      this.drain();
      return;
    }
    this.#takeReader(frame.ref)?.(false);
    const [conv, refused] = [...this.#syncs].find(([, s]) => s.ref === frame.ref) ?? [];
    if (conv !== undefined) {
      this.#syncs.delete(conv);
      if (frame.retryable) {
        if (refused?.check) this.#checks.add(conv);
        // Asked again after one pause for all of them, not a timer each that would send them together again.
        this.#syncQueue.add(conv);
        this.#pauseDrain(retryAfter);
        return;
      }
      this.#catchingUp.delete(conv);
      // Refused for good: its place goes to the next conversation waiting.
      this.#askSyncs();
      this.#finishCatchUp();
    }
    // Which conversation was refused (a denied sync, or a removal while connected), so the host can say so.
    const about = frame.conv ?? conv;
    const reported = about === undefined ? error : { ...error, conv: about };
    this.#host.report(frame.retryAfter === undefined ? reported : { ...reported, retryAfter: frame.retryAfter });
  }

  /** Who waits for the answer to the `sync` for older messages with `ref`, no longer waiting for it; undefined for any other ref. */
  #takeReader(ref: Ref | null | undefined): ((found: boolean) => void) | undefined {
    // Refs of these syncs are numbers: a string or no ref finds no one.
    const reader = this.#older.get(ref as number);
    this.#older.delete(ref as number);
    return reader;
  }

  /**
   * After a retryable refusal the outbox and the catch-up syncs pause for `ms`; nothing overtakes the
   * refused frame meanwhile. False when a pause is already running (the refusals of pipelined frames
   * behind the first one).
   */
  #pauseDrain(ms: number): boolean {
    if (this.#retryTimer !== undefined || this.#closed) return false;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#askSyncs();
      this.drain();
    }, ms);
    return true;
  }
}
