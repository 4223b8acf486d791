/**
 * One client connection: hello/welcome, then `send`, `sync` and `ping`, each frame handled strictly in
 * arrival order. Only hello verification is asynchronous; frames arriving meanwhile wait in a queue.
 *
 * Group commit: the `send`s that arrive together (one read from the socket, e.g. a client draining its
 * outbox) are stored in one transaction, so they share one fsync, and are answered after that commit.
 * Any other frame first commits and answers the sends before it, so answers keep the arrival order.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import {
  CloseCode,
  ErrorCode,
  LIMITS,
  ProtocolError,
  parseClientFrame,
} from '../protocol/index.js';
import type {
  HelloFrame,
  HistoryFrame,
  MsgFrame,
  PongFrame,
  Ref,
  SendFrame,
  SentFrame,
  ServerFrame,
  SyncFrame,
  WelcomeFrame,
} from '../protocol/index.js';
import { canAccess, type Auth } from './auth.js';
import type { Hub, Subscriber } from './hub.js';
import type { AppendResult, NewMessage, Store } from './store.js';

/** What every session of one server shares. */
export interface SessionContext {
  store: Store;
  hub: Hub<Session>;
  auth: Auth;
  maxText: number;
  heartbeat: number;
  idleTimeout: number;
  helloTimeout: number;
  log: (line: string) => void;
}

type State = 'awaiting-hello' | 'verifying' | 'ready' | 'closed';

/** Default page size of `sync` without `limit`. */
const DEFAULT_SYNC_LIMIT = 100;

/**
 * A live connection. Its user is set only from a verified token. `closed` resolves once the socket
 * has closed, whoever closed it.
 */
export class Session implements Subscriber {
  readonly id = randomBytes(9).toString('base64url');
  readonly closed: Promise<void>;
  private state: State = 'awaiting-hello';
  private user = '';
  private name = '';
  /** Frames that arrived while hello was being verified, handled right after, in order. */
  private queue: Array<{ data: RawData; isBinary: boolean }> = [];
  /** Accepted `send`s not yet stored: committed together at the end of this turn of the event loop. */
  private sends: NewMessage[] = [];
  private readonly helloTimer: NodeJS.Timeout;
  private readonly idleTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: SessionContext,
  ) {
    this.helloTimer = setTimeout(() => this.close(CloseCode.HELLO_TIMEOUT, `no hello within ${ctx.helloTimeout} ms`), ctx.helloTimeout);
    // A peer that vanished without a FIN (sleeping laptop, dropped NAT entry) sends nothing; its
    // client pings every `heartbeat` ms, so silence for idleTimeout means the link is dead.
    this.idleTimer = setTimeout(() => {
      ctx.log(`session ${this.id} idle for ${ctx.idleTimeout} ms, terminated`);
      this.terminate();
    }, ctx.idleTimeout);
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.cleanup();
        ctx.log(`session ${this.id} closed ${code}${reason.length ? ` ${reason.toString()}` : ''}`);
        resolve();
      });
    });
    ws.on('error', (err) => ctx.log(`session ${this.id} socket error: ${err.message}`));
    ws.on('message', (data, isBinary) => {
      this.idleTimer.refresh();
      if (this.state === 'verifying') this.queue.push({ data, isBinary });
      else this.handle(data, isBinary);
    });
  }

  /** Sends an encoded frame if the socket is still open (a closing socket just drops it). */
  sendRaw(json: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(json);
  }

  /** Closes with `code`; frames that arrive afterwards are ignored. */
  close(code: number, reason = ''): void {
    if (this.state !== 'closed') this.cleanup();
    if (this.ws.readyState === this.ws.CONNECTING || this.ws.readyState === this.ws.OPEN) {
      this.ws.close(code, truncateReason(reason));
    }
  }

  /** Drops the TCP connection without a close handshake. */
  terminate(): void {
    this.cleanup();
    this.ws.terminate();
  }

  private cleanup(): void {
    this.state = 'closed';
    this.queue = [];
    // Never acknowledged, so the client still has them and sends them again; nothing is lost.
    this.sends = [];
    clearTimeout(this.helloTimer);
    clearTimeout(this.idleTimer);
    this.ctx.hub.unsubscribeAll(this);
  }

  private send(frame: ServerFrame): void {
    this.sendRaw(JSON.stringify(frame));
  }

  private sendError(error: ProtocolError): void {
    this.send(error.toFrame());
  }

  /** Handles one frame; never throws, so no client can take the process down. */
  private handle(data: RawData, isBinary: boolean): void {
    if (this.state === 'closed') return;
    let ref: Ref | null = null;
    try {
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
        if (this.state === 'awaiting-hello' && isHelloAttempt(raw)) {
          this.close(CloseCode.BAD_HELLO, `bad hello: ${parsed.error.message}`);
        }
        return;
      }
      const frame = parsed.frame;
      if (frame === null) return; // unknown type: ignored, so newer clients work with this server
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
      this.ctx.log(`session ${this.id} failed on a frame: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      this.storeSends();
      this.sendError(new ProtocolError(ErrorCode.INTERNAL, 'the server failed to handle the frame', ref));
    }
  }

  private onHello(frame: HelloFrame): void {
    if (this.state !== 'awaiting-hello') {
      this.sendError(new ProtocolError(ErrorCode.ALREADY_HELLO, 'this connection already has a session', frame.ref ?? null));
      return;
    }
    this.state = 'verifying';
    clearTimeout(this.helloTimer);
    this.ctx.auth.verify(frame.token).then(
      (result) => {
        if (this.state === 'closed') return;
        if (!result.ok) {
          this.ctx.log(`session ${this.id} refused: ${result.reason}`);
          this.close(result.code, result.reason);
          return;
        }
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
    const convs = [];
    try {
      // Subscribing and reading heads in one synchronous run: no message can be committed in
      // between, so every message after a head reaches this connection as `msg`.
      for (const { conv } of frame.convs) {
        if (!canAccess(user, conv)) continue;
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
    if (frame.ref !== undefined) welcome.ref = frame.ref;
    this.send(welcome);
  }

  private drainQueue(): void {
    const queued = this.queue;
    this.queue = [];
    for (const { data, isBinary } of queued) this.handle(data, isBinary);
  }

  private onSend(frame: SendFrame): void {
    if (!canAccess(this.user, frame.conv)) {
      this.storeSends();
      this.sendError(new ProtocolError(ErrorCode.FORBIDDEN, `no access to ${frame.conv}`, frame.cmid));
      return;
    }
    this.ctx.hub.subscribe(frame.conv, this);
    // The sends that arrived in the same read are all handled before a callback of setImmediate runs.
    if (this.sends.length === 0) setImmediate(() => this.storeSends());
    this.sends.push({ conv: frame.conv, cmid: frame.cmid, from: this.user, name: this.name, text: frame.text, ts: 0 });
  }

  /**
   * Stores the waiting sends in one transaction, then answers each with `sent` and pushes it to the
   * other connections, in arrival order. If the transaction fails, they are stored one by one up to the
   * one that fails, which gets the error, and the connection closes.
   */
  private storeSends(): void {
    const sends = this.sends;
    this.sends = [];
    if (sends.length === 0 || this.state === 'closed') return;
    const ts = Date.now();
    for (const m of sends) m.ts = ts;
    try {
      this.answerSends(this.ctx.store.appendAll(sends));
      return;
    } catch (err) {
      if (sends.length > 1) this.ctx.log(`session ${this.id} could not store ${sends.length} sends together, trying one by one: ${String(err)}`);
    }
    for (const m of sends) {
      try {
        this.answerSends([this.ctx.store.append(m)]);
      } catch (err) {
        this.ctx.log(`session ${this.id} could not store ${m.cmid}: ${String(err)}`);
        this.sendError(new ProtocolError(ErrorCode.INTERNAL, 'the message could not be stored; send it again', m.cmid));
        // The client may have pipelined later sends behind this one; storing those now would put them
        // ahead of it. Closing ends the connection here, and the client resends its outbox in order.
        this.close(CloseCode.INTERNAL_ERROR, 'storage failure');
        return;
      }
    }
  }

  /** `sent` for each stored send, and its `msg` to the other connections (not for a dup: pushed before). */
  private answerSends(results: AppendResult[]): void {
    for (const { message, dup } of results) {
      const sent: SentFrame = { type: 'sent', conv: message.conv, cmid: message.cmid, seq: message.seq, ts: message.ts };
      if (dup) sent.dup = true;
      this.send(sent);
      if (!dup) this.ctx.hub.publish(message.conv, JSON.stringify({ type: 'msg', ...message } satisfies MsgFrame), this);
    }
  }

  private onSync(frame: SyncFrame): void {
    const ref = frame.ref ?? null;
    if (!canAccess(this.user, frame.conv)) {
      this.sendError(new ProtocolError(ErrorCode.FORBIDDEN, `no access to ${frame.conv}`, ref));
      return;
    }
    this.ctx.hub.subscribe(frame.conv, this);
    const limit = Math.min(frame.limit ?? DEFAULT_SYNC_LIMIT, LIMITS.syncLimit);
    const page = this.ctx.store.page(frame.conv, frame.after, limit);
    const history: HistoryFrame = { type: 'history', conv: frame.conv, msgs: page.msgs, more: page.more, head: page.head };
    if (frame.ref !== undefined) history.ref = frame.ref;
    this.send(history);
  }
}

/** Whether an unparseable frame was meant as a hello (so the connection can never get a session). */
function isHelloAttempt(raw: string): boolean {
  try {
    const o = JSON.parse(raw) as unknown;
    return typeof o === 'object' && o !== null && (o as { type?: unknown }).type === 'hello';
  } catch {
    return false;
  }
}

/** A close reason is at most 123 bytes of UTF-8; ws throws on a longer one. */
function truncateReason(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}
