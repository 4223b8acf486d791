/**
 * One client connection: hello/welcome, then `send`, `sync` and `ping`, each frame handled strictly in
 * arrival order. Only hello verification is asynchronous; frames arriving meanwhile wait in a bounded queue.
 *
 * Group commit: the `send`s that arrive during one turn of the event loop, on this connection and on
 * every other (commits.ts), are stored in one transaction, so they share one fsync, and are answered
 * after that commit. Any other frame first commits and answers this connection's sends before it, so
 * answers keep the arrival order.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { WebSocket, RawData } from 'ws';
import {
  CloseCode,
  ErrorCode,
  LIMITS,
  ProtocolError,
  errorFrame,
  checkText,
  isRef,
  parseClientFrame,
} from '../protocol/index.js';
import type {
  HelloFrame,
  MsgFrame,
  PongFrame,
  Ref,
  SendFrame,
  SentFrame,
  ServerFrame,
  SyncFrame,
  WelcomeFrame,
} from '../protocol/index.js';
import type { Access } from './access.js';
import type { Auth } from './auth.js';
import { answerStored, type CommitParty, type GroupCommit } from './commits.js';
import { applyFilter, type MessageFilter } from './filter.js';
import type { Hub, Subscriber } from './hub.js';
import { CONNECTION_RETRY_AFTER, ConnectionLimits, type FrameVerdict, type LimitsRegistry } from './limits.js';
import { netSocket, TextFrame, type Outbound } from './outbound.js';
import { isStorageUnavailable, type AppendResult, type NewMessage, type Store } from './store.js';

/** What every session of one server shares. */
export interface SessionContext {
  store: Store;
  hub: Hub<Session>;
  auth: Auth;
  access: Access;
  maxText: number;
  heartbeat: number;
  idleTimeout: number;
  helloTimeout: number;
  log: (line: string) => void;
  /** Rate and connection limits, shared by every session of the server. */
  limits: LimitsRegistry;
  /** Called once when a session's socket has closed, whoever closed it. */
  sessionClosed: (session: Session) => void;
  /** Asked about every new message before it is stored. */
  filter?: MessageFilter | undefined;
  /** Stores the sends of every session together, once per turn of the event loop. */
  commits: GroupCommit<Session>;
  /** Writes fan-out frames, and coalesces the writes of one commit per socket. */
  outbound: Outbound;
}

type State = 'awaiting-hello' | 'verifying' | 'ready' | 'closed';

/** How long a peer may take to answer the server's close handshake before its connection is dropped. */
export const CLOSE_GRACE_MS = 1000;

/**
 * Closes `ws` with `code` and drops the TCP connection if the peer has not answered the close within
 * `grace` ms: one that never answers would hold the socket for ws's 30 s, outside every limit.
 * (Terminating a socket that has closed meanwhile does nothing.)
 */
export function closeWithin(ws: WebSocket, code: number, reason: string, grace = CLOSE_GRACE_MS): void {
  ws.close(code, truncateReason(reason));
  setTimeout(() => ws.terminate(), grace).unref();
}

/**
 * How long a connection closed with frames still waiting to be written (one closed for not reading, or
 * on a slow link) may take to complete the close before it is dropped.
 */
const DRAIN_GRACE = 5_000;

/**
 * Most frames, and bytes, that may wait while hello is verified (a JWKS fetch can take seconds). A client
 * has nothing to send before `welcome` but its outbox, which it sends after; this is far beyond that,
 * and past it the connection is closed with 1008 rather than buffered without bound.
 */
export const MAX_QUEUED_FRAMES = 64;
export const MAX_QUEUED_BYTES = 256 * 1024;

/**
 * How often the server checks its sessions' deadlines, in ms: a second, or a quarter of the shorter
 * timeout when that is shorter. A timeout is enforced at most this much after it has run out.
 */
export function deadlineTick(timeouts: Pick<SessionContext, 'helloTimeout' | 'idleTimeout'>): number {
  return Math.max(10, Math.min(1000, timeouts.helloTimeout / 4, timeouts.idleTimeout / 4));
}

/** Default page size of `sync` without `limit`. */
const DEFAULT_SYNC_LIMIT = 100;

/**
 * Most `sync`s that may wait for a connection's output to drain (see `onSync`): one per conversation of
 * a `hello` and as many again for older pages. A client that asks for more while not reading what it
 * asked for is closed as not reading.
 */
const MAX_HELD_SYNCS = 2 * LIMITS.maxConvs;

/**
 * Most conversations one connection follows (`hello`, `sync` and `send` each subscribe it): ten times a
 * `hello`'s. Without a bound, a client could grow the server's memory by following conversation after
 * conversation (any id is open with `access: 'open'`).
 */
export const MAX_FOLLOWED = 10 * LIMITS.maxConvs;

/**
 * A live connection. Its user is set only from a verified token. The server calls `checkDeadlines`
 * every `deadlineTick()` ms, which enforces the hello and idle timeouts: one timer for all sessions
 * rather than two per session, whose Timeout objects and closures were the largest part of a
 * session's memory (bench/connections.ts).
 */
export class Session implements Subscriber, CommitParty {
  readonly id = randomBytes(9).toString('base64url');
  private state: State = 'awaiting-hello';
  private user = '';
  private name = '';
  /**
   * Frames that arrived while hello was being verified, handled right after, in order (none: null), each
   * with the frame rate's verdict from when it arrived.
   */
  private queue: Array<{ data: RawData; isBinary: boolean; verdict: FrameVerdict }> | null = null;
  private queuedBytes = 0;
  /** Accepted `send`s not yet stored: committed with every session's at the end of this turn of the event loop. */
  private sends: NewMessage[] = [];
  /**
   * Cmids of waiting sends whose text the filter rewrote: their sender gets the stored text as `msg`.
   * Created on the first rewrite: most connections never have one.
   */
  private rewritten: Set<string> | null = null;
  /** When the socket opened and when its last frame arrived (`performance.now()`), for the deadlines. */
  private readonly openedAt = performance.now();
  private heardAt = this.openedAt;
  /** When the token of this session stops being accepted (`performance.now()`), from `welcome` on. */
  private expiresAt = Infinity;
  /** This connection's frame rate and send deadline. */
  private readonly rate: ConnectionLimits;
  /** Whether this session holds one of its user's connection slots (released on close). */
  private holdsUserSlot = false;
  /** `sync`s waiting, in order, for what was sent to this connection to drain (see `onSync`); null when none wait. */
  private heldSyncs: SyncFrame[] | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: SessionContext,
    /** The client address, for the message filter and the logs. */
    readonly ip: string = 'unknown',
  ) {
    this.rate = new ConnectionLimits(ctx.limits, undefined, (cmid) => ctx.store.findSent(this.user, cmid) !== null);
    ws.on('close', (code, reason) => {
      this.cleanup();
      ctx.log(`session ${this.id} closed ${code}${reason.length ? ` ${reason.toString()}` : ''}`);
      ctx.sessionClosed(this);
    });
    ws.on('error', (err) => ctx.log(`session ${this.id} socket error: ${err.message}`));
    ws.on('message', (data, isBinary) => {
      this.heardAt = performance.now();
      if (this.state === 'verifying') this.enqueue(data, isBinary);
      else this.handle(data, isBinary);
    });
  }

  /** Sends an encoded frame if the socket is still open (a closing socket just drops it). */
  sendRaw(json: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ctx.outbound.hold(this.ws);
    this.ws.send(json);
    this.ctx.outbound.afterBatch(this);
  }

  /** Sends a frame encoded once for many connections, if the socket is still open. */
  sendFrame(frame: TextFrame, alone = false): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ctx.outbound.write(this.ws, frame, alone);
    this.ctx.outbound.afterBatch(this);
  }

  /** A client that stops reading would make the server buffer everything sent to it, without bound. */
  checkBuffered(): void {
    if (this.state !== 'closed' && this.ws.bufferedAmount > this.ctx.limits.config.maxBufferedBytes) this.dropSlowConsumer();
  }

  /**
   * Closes a connection that does not read: 1008 after what is already buffered, and the TCP
   * connection is dropped if the close is not through within a grace period (a peer that reads
   * nothing never completes the close handshake).
   */
  private dropSlowConsumer(): void {
    this.ctx.log(`session ${this.id} not reading: ${this.ws.bufferedAmount} bytes buffered, closing`);
    this.close(CloseCode.POLICY_VIOLATION, 'not reading');
  }

  /**
   * Closes with 4004 a connection without `hello` for `helloTimeout` ms, and drops one that sent nothing
   * for `idleTimeout` ms; `now` is `performance.now()`.
   */
  checkDeadlines(now: number): void {
    if (this.state === 'closed') return;
    if (this.state === 'awaiting-hello' && now - this.openedAt >= this.ctx.helloTimeout) {
      this.refuse(CloseCode.HELLO_TIMEOUT, `no hello within ${this.ctx.helloTimeout} ms`);
      return;
    }
    // A peer that vanished without a FIN (sleeping laptop, dropped NAT entry) sends nothing; its
    // client pings every `heartbeat` ms, so silence for idleTimeout means the link is dead.
    if (now - this.heardAt >= this.ctx.idleTimeout) {
      this.ctx.log(`session ${this.id} idle for ${this.ctx.idleTimeout} ms, terminated`);
      this.terminate();
      return;
    }
    // A session lasts as long as its token, as a new connection with that token would: a token that
    // leaked gives no session without end, and the client connects again with a new one.
    if (now >= this.expiresAt) {
      this.ctx.log(`session ${this.id} token expired, closing`);
      this.storeSends();
      this.sendError(new ProtocolError(ErrorCode.TOKEN_EXPIRED, 'token expired; connect again with a new one', null));
      this.close(CloseCode.TOKEN_EXPIRED, 'token expired');
    }
  }

  /** The user of this session; empty until `welcome`. */
  get userId(): string {
    return this.user;
  }

  /**
   * Tells the client that the user lost access to `conv` (removed while connected), which the hub no
   * longer delivers to this session, with a `FORBIDDEN` error naming the conversation. Sends that
   * arrived before the removal are stored and answered first, as they would have been anyway.
   */
  revoked(conv: string): void {
    if (this.state !== 'ready') return;
    this.storeSends();
    this.ctx.log(`session ${this.id} user ${this.user} lost access to ${conv}`);
    this.send({ type: 'error', code: ErrorCode.FORBIDDEN, message: `no longer a member of ${conv}`, ref: null, retryable: false, conv });
  }

  /**
   * Closes with `code`; frames that arrive afterwards are ignored. The TCP connection is dropped if the
   * close is not through within `grace` ms (`closeWithin`): a peer that never answers (a frozen page, a
   * hand-made client) would otherwise hold it for ws's 30 s after every deadline that closed it. Frames
   * still waiting to be written (the error that says why, answers before it) get the longer grace.
   */
  close(code: number, reason = '', grace = this.ws.bufferedAmount > 0 ? DRAIN_GRACE : CLOSE_GRACE_MS): void {
    if (this.state !== 'closed') this.cleanup();
    if (this.ws.readyState === this.ws.CONNECTING || this.ws.readyState === this.ws.OPEN) closeWithin(this.ws, code, reason, grace);
  }

  /**
   * Closes a connection that gets no session for what its client sent, or did not send in time, and
   * counts the refusal against its address (`limits.refusalsPerIp`): a client looping on refusals
   * would otherwise have the server verify token after token as fast as it can connect.
   */
  private refuse(code: number, reason: string): void {
    if (this.ctx.limits.noteRefusal(this.ip) > 0) this.ctx.log(`session ${this.id} refused; too many refused from ${this.ip} lately, its new connections are refused at once for a while`);
    this.close(code, reason);
  }

  /** Drops the TCP connection without a close handshake. */
  terminate(): void {
    this.cleanup();
    this.ws.terminate();
  }

  private cleanup(): void {
    this.state = 'closed';
    this.queue = null;
    this.queuedBytes = 0;
    // Never acknowledged, so the client still has them and sends them again; nothing is lost.
    this.sends = [];
    this.rewritten = null;
    this.heldSyncs = null;
    this.ctx.hub.unsubscribeAll(this);
    if (this.holdsUserSlot) {
      this.holdsUserSlot = false;
      this.ctx.limits.releaseUser(this.user);
    }
  }

  private send(frame: ServerFrame): void {
    this.sendRaw(JSON.stringify(frame));
  }

  private sendError(error: ProtocolError): void {
    this.send(errorFrame(error));
  }

  /**
   * Handles one frame; never throws, so no client can take the process down. `verdict`: the frame rate's
   * verdict when the frame arrived, for one that waited for `welcome`.
   */
  private handle(data: RawData, isBinary: boolean, verdict?: FrameVerdict): void {
    if (this.state === 'closed') return;
    let ref: Ref | null = null;
    let sending = false;
    try {
      if (!this.withinFrameRate(data, isBinary, verdict ?? this.rate.frame())) return;
      if (isBinary) {
        this.storeSends();
        this.sendError(new ProtocolError(ErrorCode.BINARY_UNSUPPORTED, 'binary frames are not part of protocol v1'));
        return;
      }
      const raw = data.toString();
      const parsed = parseClientFrame(raw, this.ctx.maxText);
      if (!(parsed.ok && parsed.frame?.type === 'send')) this.storeSends();
      if (!parsed.ok) {
        this.sendError(parsed.error);
        const peek = peekFrame(raw);
        // A malformed resend of the send the others wait behind is refused for good: nothing waits for it.
        if (peek?.type === 'send' && typeof peek.ref === 'string') this.rate.settled(peek.ref);
        // A hello that cannot be parsed means this connection can never get a session.
        if (this.state === 'awaiting-hello' && peek?.type === 'hello') {
          this.refuse(CloseCode.BAD_HELLO, `bad hello: ${parsed.error.message}`);
        }
        return;
      }
      const frame = parsed.frame;
      if (frame === null) return; // unknown type: ignored, so newer clients work with this server
      sending = frame.type === 'send';
      ref = frame.type === 'send' ? frame.cmid : (frame.ref ?? null);
      switch (frame.type) {
        case 'hello':
          this.onHello(frame);
          return;
        case 'ping':
          this.send({ type: 'pong', ts: Date.now(), ...(frame.ref !== undefined && { ref: frame.ref }) } satisfies PongFrame);
          return;
      }
      if (this.state !== 'ready') {
        this.sendError(new ProtocolError(ErrorCode.HELLO_REQUIRED, `send hello and wait for welcome before ${frame.type}`, ref));
        return;
      }
      if (frame.type === 'send') this.onSend(frame);
      else this.onSync(frame);
    } catch (err) {
      this.failedOn(err, ref);
      // As after a send that could not be stored: a send pipelined behind this one must not be stored
      // before the client sends this one again.
      if (sending) this.close(CloseCode.INTERNAL_ERROR, 'failed on a send');
    }
  }

  /** A frame that threw: logged, and answered `INTERNAL` after the sends before it, which are stored. */
  private failedOn(err: unknown, ref: Ref | null): void {
    this.ctx.log(`session ${this.id} failed on a frame: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    this.storeSends();
    this.sendError(new ProtocolError(ErrorCode.INTERNAL, 'the server failed to handle the frame', ref));
  }

  /**
   * The frame rate check, before anything else is done with the frame. Over the rate: `RATE_LIMITED`
   * with the wait, and a refused `send` holds every other send until it is sent again (nothing
   * overtakes it). A `ping` over the rate is still answered, so the heartbeat never starves, and so is
   * `hello`, which no client sends twice; both still count towards a flood, which closes with 1008.
   */
  private withinFrameRate(data: RawData, isBinary: boolean, verdict: FrameVerdict): boolean {
    if (verdict.ok) return true;
    if (verdict.flood) {
      this.ctx.log(`session ${this.id} flooding, closing`);
      if (this.state === 'ready') this.close(CloseCode.POLICY_VIOLATION, 'too many frames');
      else this.refuse(CloseCode.POLICY_VIOLATION, 'too many frames');
      return false;
    }
    const peek = isBinary ? null : peekFrame(data.toString());
    if (peek?.type === 'ping' || peek?.type === 'hello') return true;
    this.storeSends();
    const wait = peek?.type === 'send' ? this.rate.refuseSend(typeof peek.ref === 'string' ? peek.ref : null, verdict.retryAfter) : verdict.retryAfter;
    this.sendError(new ProtocolError(ErrorCode.RATE_LIMITED, 'too many frames; send it again later', peek?.ref ?? null, wait));
    return false;
  }

  private onHello(frame: HelloFrame): void {
    if (this.state !== 'awaiting-hello') {
      this.sendError(new ProtocolError(ErrorCode.ALREADY_HELLO, 'this connection already has a session', frame.ref ?? null));
      return;
    }
    this.state = 'verifying';
    this.ctx.auth.verify(frame.token).then(
      (result) => {
        if (this.state === 'closed') return;
        if (!result.ok) {
          this.ctx.log(`session ${this.id} refused: ${result.reason}`);
          // The close code says what to do (stop, refresh, retry); the error frame says exactly why.
          this.sendError(new ProtocolError(result.error, result.reason, frame.ref ?? null));
          // A token the server could not check now is no fault of the client's; nor is one that expired while
          // its client was away: its signature held, and after an outage every client of an address comes
          // back with one at once (it then fetches a fresh token).
          if (result.error === ErrorCode.AUTH_UNAVAILABLE || result.error === ErrorCode.TOKEN_EXPIRED) this.close(result.code, result.reason);
          else this.refuse(result.code, result.reason);
          return;
        }
        this.expiresAt = performance.now() + (result.expiresAt - Date.now());
        this.welcome(frame, result.user, result.name);
        this.drainQueue();
      },
      (err: unknown) => {
        // verify() catches everything itself; this is the last line of defence.
        this.ctx.log(`session ${this.id} hello failed: ${String(err)}`);
        this.close(CloseCode.INTERNAL_ERROR, 'hello failed');
      },
    );
  }

  private welcome(frame: HelloFrame, user: string, name: string): void {
    this.user = user;
    this.name = name;
    if (!this.ctx.limits.acquireUser(user)) {
      this.ctx.log(`session ${this.id} refused: user ${user} has too many connections`);
      this.sendError(new ProtocolError(ErrorCode.TOO_MANY_CONNECTIONS, 'too many open connections for this user', frame.ref ?? null, CONNECTION_RETRY_AFTER));
      // Dropped if it does not answer, as a socket refused before hello: it holds its per-address slot
      // meanwhile, though it counts towards no user.
      this.refuse(CloseCode.TOO_MANY_CONNECTIONS, 'too many connections for this user');
      return;
    }
    this.holdsUserSlot = true;
    const convs = [];
    const denied: string[] = [];
    try {
      // Subscribing and reading heads in one synchronous run: no message can be committed in
      // between, so every message after a head reaches this connection as `msg`.
      // A conversation named twice is answered once.
      for (const conv of new Set(frame.convs.map((cursor) => cursor.conv))) {
        if (!this.ctx.access.can(user, conv)) {
          denied.push(conv);
          continue;
        }
        this.ctx.hub.subscribe(conv, this);
        convs.push({ conv, head: this.ctx.store.head(conv) });
      }
    } catch (err) {
      this.ctx.log(`session ${this.id} welcome failed: ${String(err)}`);
      this.close(CloseCode.INTERNAL_ERROR, 'storage unavailable');
      return;
    }
    this.state = 'ready';
    this.ctx.log(`session ${this.id} user ${user} ready (${convs.length} convs)`);
    const welcome: WelcomeFrame = {
      type: 'welcome',
      user,
      name,
      session: this.id,
      convs,
      heartbeat: this.ctx.heartbeat,
      limits: { maxText: this.ctx.maxText, maxFrame: LIMITS.maxFrame, syncLimit: LIMITS.syncLimit },
      ts: Date.now(),
    };
    const { framesPerSecond, messagesPerMinute } = this.ctx.limits.config;
    if (framesPerSecond > 0) welcome.limits.framesPerSecond = framesPerSecond;
    if (messagesPerMinute > 0) welcome.limits.messagesPerMinute = messagesPerMinute;
    if (denied.length > 0) welcome.denied = denied;
    if (frame.ref !== undefined) welcome.ref = frame.ref;
    this.send(welcome);
  }

  /** Keeps a frame that arrived during hello verification, or closes once the queue is full. */
  private enqueue(data: RawData, isBinary: boolean): void {
    this.queuedBytes += byteLength(data);
    this.queue ??= [];
    if (this.queue.length >= MAX_QUEUED_FRAMES || this.queuedBytes > MAX_QUEUED_BYTES) {
      this.ctx.log(`session ${this.id} sent more than ${MAX_QUEUED_FRAMES} frames or ${MAX_QUEUED_BYTES} bytes before welcome, closing`);
      this.refuse(CloseCode.POLICY_VIOLATION, 'too many frames before welcome');
      return;
    }
    // Counted against the frame rate now: frames sent at an allowed pace while a JWKS fetch takes seconds
    // would otherwise all be counted at once after `welcome`, and refused past the burst.
    this.queue.push({ data, isBinary, verdict: this.rate.frame() });
  }

  private drainQueue(): void {
    const queued = this.queue ?? [];
    this.queue = null;
    this.queuedBytes = 0;
    for (const { data, isBinary, verdict } of queued) this.handle(data, isBinary, verdict);
  }

  private onSend(frame: SendFrame): void {
    const stored = this.ctx.store.findSent(this.user, frame.cmid);
    if (stored !== null) {
      // A resend of a stored message (its `sent` was lost) is answered as a dup whatever changed since:
      // refusing it would show the sender as failed a message everyone else can read. It goes through
      // the group commit like any send, whose transaction answers it in arrival order.
      this.rate.settled(frame.cmid);
      if (this.ctx.access.can(this.user, stored.conv) && this.mayFollow(stored.conv)) this.ctx.hub.subscribe(stored.conv, this);
      // The filter rewrote it when it was stored: the `msg` after the ack gives the sender's copy that text again.
      if (stored.text !== frame.text) (this.rewritten ??= new Set()).add(frame.cmid);
      this.queueSend(frame, frame.text);
      return;
    }
    // The same cmid again before the first is stored: answered as a dup of it, with the stored text when
    // this one said something else (the sender's copy holds this one's).
    if (this.sends.some((send) => send.cmid === frame.cmid && send.text !== frame.text)) (this.rewritten ??= new Set()).add(frame.cmid);
    const held = this.rate.sendHeld(frame.cmid);
    if (held > 0) {
      this.storeSends();
      this.sendError(new ProtocolError(ErrorCode.RATE_LIMITED, 'an earlier message waits to be sent again; send that one first', frame.cmid, held));
      return;
    }
    if (!this.ctx.access.can(this.user, frame.conv)) {
      this.storeSends();
      this.sendError(new ProtocolError(ErrorCode.FORBIDDEN, `no access to ${frame.conv}`, frame.cmid));
      return;
    }
    if (!this.mayFollow(frame.conv)) {
      this.storeSends();
      this.sendError(this.followRefusal(frame.cmid));
      return;
    }
    const text = this.admitSend(frame);
    if (text === null) return;
    this.ctx.hub.subscribe(frame.conv, this);
    this.queueSend(frame, text);
  }

  /** Adds a send to those stored together at the end of this turn of the event loop. */
  private queueSend(frame: SendFrame, text: string): void {
    // The sends that arrived in this turn, on any connection, are all handled before setImmediate runs.
    if (this.sends.length === 0) this.ctx.commits.schedule(this);
    this.sends.push({ conv: frame.conv, cmid: frame.cmid, from: this.user, name: this.name, text, ts: 0 });
  }

  /**
   * The message rate, repeat and filter checks of a `send`: the text to store, or null once the refusal
   * is answered (after the sends before it, so answers keep arrival order). A rate refusal holds every
   * other send of this connection until this one is sent again; a repeat or filter refusal concerns
   * this message only. The rate comes first and counts every message judged, refused or not: else a
   * sender could have texts judged (by a filter that may be costly) far faster than it may send them,
   * and a spammer's refused repeats would cost it nothing. A send refused before this (its form or
   * length, its conversation) costs no message.
   */
  private admitSend(frame: SendFrame): string | null {
    const refuse = (error: ProtocolError): null => {
      this.storeSends();
      this.sendError(error);
      return null;
    };
    const wait = this.rate.takeMessage(this.user, frame.cmid);
    if (wait > 0) return refuse(new ProtocolError(ErrorCode.RATE_LIMITED, 'too many messages; send it again later', frame.cmid, wait));
    if (this.ctx.limits.isRepeat(this.user, frame.cmid, frame.text)) {
      return refuse(new ProtocolError(ErrorCode.SPAM, 'the same text was sent too many times in a short while', frame.cmid));
    }
    let text = frame.text;
    if (this.ctx.filter) {
      const verdict = applyFilter(
        this.ctx.filter,
        { conv: frame.conv, from: this.user, name: this.name, text },
        { user: this.user, conv: frame.conv, session: this.id, ip: this.ip },
        (rewritten) => checkText(rewritten, null, this.ctx.maxText) === null,
        this.ctx.log,
      );
      if (!verdict.ok) return refuse(new ProtocolError(ErrorCode.REJECTED, verdict.reason, frame.cmid));
      text = verdict.text;
      if (text !== frame.text) (this.rewritten ??= new Set()).add(frame.cmid);
    }
    this.ctx.limits.noteText(this.user, frame.cmid, frame.text);
    return text;
  }

  /** Stores and answers this connection's waiting sends now, ahead of the group commit. */
  private storeSends(): void {
    const sends = this.takeSends();
    if (sends.length > 0) this.storeAlone(sends);
  }

  takeSends(): NewMessage[] {
    const sends = this.sends;
    if (sends.length === 0) return sends;
    this.sends = [];
    return this.state === 'closed' ? [] : sends;
  }

  /**
   * Stores `sends` in one transaction, then answers each with `sent` and pushes it to the other
   * connections, in arrival order. If the transaction fails, they are stored one by one up to the one
   * that fails, which gets the error, and the connection closes.
   */
  storeAlone(sends: NewMessage[]): void {
    if (this.state === 'closed') return;
    const ts = Date.now();
    for (const m of sends) m.ts = ts;
    try {
      this.answerSends(this.ctx.store.appendAll(sends));
      return;
    } catch (err) {
      if (isStorageUnavailable(err)) {
        this.ctx.log(`session ${this.id} could not store ${sends.length} sends: ${String(err)}`);
        this.failSends(sends);
        return;
      }
      if (sends.length > 1) this.ctx.log(`session ${this.id} could not store ${sends.length} sends together, trying one by one: ${String(err)}`);
    }
    for (const m of sends) {
      try {
        this.answerSends([this.ctx.store.append(m)]);
      } catch (err) {
        this.ctx.log(`session ${this.id} could not store ${m.cmid}: ${String(err)}`);
        this.failSends([m]);
        return;
      }
    }
  }

  /**
   * Answers the first of `sends`, none of which is stored, with an error and closes: the client may have
   * pipelined the later ones behind it, and storing those would put them ahead of it. The client keeps
   * them all in its outbox and resends them, in order, on its next connection.
   */
  failSends(sends: NewMessage[]): void {
    if (this.state === 'closed' || sends.length === 0) return;
    this.sendError(new ProtocolError(ErrorCode.INTERNAL, 'the message could not be stored; send it again', sends[0]!.cmid));
    this.close(CloseCode.INTERNAL_ERROR, 'storage failure');
  }

  /** `sent` for each stored send, and its `msg` to the other connections (not for a dup: pushed before). */
  private answerSends(results: AppendResult[]): void {
    answerStored(this.ctx.hub, results.map((result) => ({ party: this, result })));
  }

  acknowledge(result: AppendResult, frame: TextFrame | null): void {
    const { message, dup } = result;
    const sent: SentFrame = { type: 'sent', conv: message.conv, cmid: message.cmid, seq: message.seq, ts: message.ts };
    if (dup) sent.dup = true;
    this.send(sent);
    // The sender's copy holds the text it typed; the `msg` replaces it with what was stored.
    if (this.rewritten?.delete(message.cmid)) this.sendFrame(frame ?? TextFrame.of(JSON.stringify({ type: 'msg', ...message } satisfies MsgFrame)));
  }

  /**
   * History is sent as fast as the client reads it, never faster: while more than an eighth of the
   * slow-reader limit waits to be sent to this connection, a `sync` waits, with every later one, until
   * the socket drains. So a client catching up many conversations at once, or conversations of long
   * texts, is paced by its own reading instead of being closed as not reading; each page is itself
   * at most that size (`answerSync`). Waiting changes nothing the client can see but timing: the
   * access check, the subscription and the read of the page happen together when it is answered.
   */
  private onSync(frame: SyncFrame): void {
    const socket = netSocket(this.ws);
    if (socket === undefined || (this.heldSyncs === null && !this.backedUp(socket))) {
      this.answerSync(frame);
      return;
    }
    if (this.heldSyncs === null) {
      this.heldSyncs = [];
      socket.once('drain', () => this.releaseSyncs());
    }
    if (this.heldSyncs.length >= MAX_HELD_SYNCS) {
      this.dropSlowConsumer();
      return;
    }
    this.heldSyncs.push(frame);
  }

  /** Answers the `sync`s that waited for the socket to drain, until it is full again. */
  private releaseSyncs(): void {
    const held = this.heldSyncs;
    const socket = netSocket(this.ws);
    if (held === null || socket === undefined || this.state === 'closed') return;
    while (held.length > 0 && !this.backedUp(socket)) {
      const frame = held.shift()!;
      try {
        this.answerSync(frame);
      } catch (err) {
        this.failedOn(err, frame.ref ?? null);
      }
    }
    // An answer may have closed the connection (over the slow-reader limit after all).
    if ((this.state as State) === 'closed') return;
    if (held.length === 0) this.heldSyncs = null;
    else socket.once('drain', () => this.releaseSyncs());
  }

  /**
   * Whether more than `historyShare()` waits to be sent and the socket will say when it has drained: Node
   * emits `drain` only after a write found its buffer full (`writableNeedDrain`). Below that mark (16 KiB
   * and more) the wait is short and `drain` may never come, so a `sync` is answered at once.
   */
  private backedUp(socket: Socket): boolean {
    return socket.writableNeedDrain && this.ws.bufferedAmount > this.historyShare();
  }

  /** Whether this connection follows `conv` already or may follow one more conversation. */
  private mayFollow(conv: string): boolean {
    return this.ctx.hub.count(this) < MAX_FOLLOWED || this.ctx.hub.has(conv, this);
  }

  private followRefusal(ref: Ref | null): ProtocolError {
    return new ProtocolError(ErrorCode.TOO_MANY_CONVERSATIONS, `this connection follows ${MAX_FOLLOWED} conversations already; open another connection for more`, ref);
  }

  /** Bytes of history in one `history` frame at most, and of output above which a `sync` waits: an eighth of the slow-reader limit. */
  private historyShare(): number {
    return this.ctx.limits.config.maxBufferedBytes / 8;
  }

  private answerSync(frame: SyncFrame): void {
    const ref = frame.ref ?? null;
    if (!this.ctx.access.can(this.user, frame.conv)) {
      this.sendError(new ProtocolError(ErrorCode.FORBIDDEN, `no access to ${frame.conv}`, ref));
      return;
    }
    if (!this.mayFollow(frame.conv)) {
      this.sendError(this.followRefusal(ref));
      return;
    }
    this.ctx.hub.subscribe(frame.conv, this);
    const limit = Math.min(frame.limit ?? DEFAULT_SYNC_LIMIT, LIMITS.syncLimit);
    const forward = frame.before === undefined;
    const page = forward ? this.ctx.store.page(frame.conv, frame.after, limit) : this.ctx.store.pageBefore(frame.conv, frame.before!, limit);
    // A page of long texts holds fewer messages, and says `more`: forward the oldest of them, backward the
    // newest (the end the client reads from), always at least one.
    const encoded = page.msgs.map((m) => JSON.stringify(m));
    let kept = 0;
    let bytes = 0;
    for (let i = 0; i < encoded.length; i++) {
      bytes += Buffer.byteLength(encoded[forward ? i : encoded.length - 1 - i]!) + 1;
      if (bytes > this.historyShare() && kept > 0) break;
      kept++;
    }
    const msgs = forward ? encoded.slice(0, kept) : encoded.slice(encoded.length - kept);
    const more = page.more || kept < encoded.length;
    // Written out rather than through JSON.stringify, so each message is encoded once.
    this.sendRaw(
      `{"type":"history","conv":${JSON.stringify(frame.conv)},"msgs":[${msgs.join(',')}],"more":${more},"head":${page.head}${frame.ref === undefined ? '' : `,"ref":${JSON.stringify(frame.ref)}`}}`,
    );
  }
}

/** The type and ref of a frame, read without validating it (the ref of a `send` is its cmid). */
function peekFrame(raw: string): { type: unknown; ref: Ref | null } | null {
  try {
    const o = JSON.parse(raw) as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null) return null;
    const ref = o.type === 'send' ? o.cmid : o.ref;
    return { type: o.type, ref: isRef(ref) ? ref : null };
  } catch {
    return null;
  }
}

/** The size of a received frame's payload. */
function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, chunk) => n + chunk.length, 0);
  return data.byteLength;
}

/** Longest close reason in bytes of UTF-8 (RFC 6455: 125 for the payload, 2 of them for the code). */
const MAX_CLOSE_REASON = 123;

/**
 * `reason` cut to fit a close frame (ws throws on a longer one), in time linear in its length, never
 * ending in half a surrogate pair (which would go out as U+FFFD).
 */
export function truncateReason(reason: string): string {
  // Each UTF-16 unit is at least one byte of UTF-8, so the first 123 units hold every byte that can fit.
  let out = reason.length > MAX_CLOSE_REASON ? reason.slice(0, MAX_CLOSE_REASON) : reason;
  while (Buffer.byteLength(out) > MAX_CLOSE_REASON) out = out.slice(0, -1);
  const last = out.charCodeAt(out.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) out = out.slice(0, -1);
  return out;
}
