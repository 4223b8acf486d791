/**
 * One logical connection to the imbed server: a WebSocket replaced after every close until `stop()`.
 * This layer moves frames and schedules attempts; every decision about what a close means lives in the
 * client (`ImbedClient.onClose`), which calls back into `stop()` or lets the next attempt proceed.
 *
 * - Nothing is queued while no socket is open: `send()` says false, and only `hello` goes out before
 *   `welcome` (the outbox is the client's).
 * - A failed attempt (socket error, or no open within the connect timeout) is reported as a close with
 *   code 1000, the code the server never ends a live session with (close-policy.ts); the browser's later
 *   1006 for that socket is not reported again.
 * - Every wait is ours, in `connect()`: growing backoff with per-attempt jitter, so a server restart does
 *   not get every client back at the same instant, and "retry now" can cut it short.
 * - There is no heartbeat here: see heartbeat.ts.
 */
import { parseServerFrame, PROTOCOL } from '../protocol/index.js';
import type { ClientFrame, ServerFrame } from '../protocol/index.js';

/** What the connection reports to its owner. */
export interface ConnectionHooks {
  /**
   * Awaited before every attempt, after the backoff wait: the place to refresh a token. May not reject
   * (a rejection is swallowed and the attempt proceeds).
   */
  prepare(): Promise<void>;
  /** A socket is open: send `hello` now. */
  open(): void;
  /** A well-formed frame from the server (unreadable and unknown frames are dropped, as the protocol says). */
  frame(frame: ServerFrame): void;
  /** The socket closed or an attempt failed; the next attempt follows unless `stop()` is called now. */
  close(code: number, reason: string): void;
}

/** Backoff bounds in ms. */
export interface Backoff {
  min: number;
  max: number;
}

/** Growth of the backoff per consecutive failed attempt. */
const GROWTH = 1.6;

/**
 * The wait before attempt number `failures` (consecutive failures since the last welcome): none for the
 * first attempt, then a base growing from `min` to `max`, plus up to the same again at random, capped at
 * `max`. The jitter spreads a crowd of clients over the window after a server restart.
 */
export function backoffDelay(failures: number, { min, max }: Backoff, random: () => number = Math.random): number {
  if (failures <= 0) return 0;
  const base = Math.min(max, min * GROWTH ** (failures - 1));
  return Math.min(max, base * (1 + random()));
}

/** How long an attempt may take to open: a slow mobile handshake can take several seconds. */
const CONNECT_TIMEOUT = 10_000;

/** A self-healing socket to `url`: connects on construction, reconnects after each close until `stop()`. */
export class Connection {
  private socket: WebSocket | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Removes the listeners of the current socket. */
  private unlisten = (): void => {};
  private stopped = false;
  /** Consecutive closes since the last established session; drives the backoff. */
  private failures = 0;
  private skipWait: (() => void) | null = null;
  /** The least wait before the next attempt, as the server asked (4029 after `retryAfter`); 0 for none. */
  private notBefore = 0;

  constructor(
    private readonly url: string,
    private readonly backoff: Backoff,
    private readonly hooks: ConnectionHooks,
    private readonly protocols: string[] = [PROTOCOL],
  ) {
    void this.connect();
  }

  /** Whether a socket is open right now (it may still be before `welcome`). */
  get isOpen(): boolean {
    return !this.stopped && this.socket?.readyState === WebSocket.OPEN;
  }

  /** Whether an attempt is waiting out its backoff. */
  get isWaiting(): boolean {
    return this.skipWait !== null;
  }

  /** Sends one frame; false when no socket is open (the frame is dropped, never queued). */
  send(frame: ClientFrame): boolean {
    if (!this.isOpen) return false;
    this.socket!.send(JSON.stringify(frame));
    return true;
  }

  /** The session is established (welcome arrived): the next drop starts the backoff from the beginning. */
  established(): void {
    this.failures = 0;
  }

  /** Ends the current wait at once ("retry now"); a no-op when no attempt is waiting. */
  retryNow(): void {
    this.skipWait?.();
  }

  /**
   * Makes the next attempt wait at least `ms` from now, whatever the backoff says: the server said when
   * it will accept this client again. "Retry now" still cuts it short.
   */
  holdOff(ms: number): void {
    this.notBefore = Math.max(this.notBefore, Date.now() + ms);
  }

  /**
   * Closes the socket with `code` and connects again (e.g. the heartbeat found the link dead). The close
   * is reported at once, without waiting for a close handshake a dead link would never complete.
   */
  restart(code: number, reason: string): void {
    if (!this.stopped && this.socket) this.drop(this.socket, code, reason);
  }

  /** Closes for good; no event is reported after this. */
  stop(code = 1000, reason = ''): void {
    if (this.stopped) return;
    this.stopped = true;
    this.skipWait?.();
    if (this.socket) this.release(this.socket, code, reason);
  }

  /** Waits out the backoff, lets the owner prepare (a token), then opens a socket. */
  private async connect(): Promise<void> {
    try {
      const delay = Math.max(backoffDelay(this.failures, this.backoff), this.notBefore - Date.now());
      this.notBefore = 0;
      // Always a timer, even for no wait: the first attempt starts after the constructor has returned.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        if (delay > 0) {
          this.skipWait = () => {
            clearTimeout(timer);
            resolve();
          };
        }
      });
      this.skipWait = null;
      if (!this.stopped) await this.hooks.prepare();
    } catch {
      // prepare() may not reject; if it does, attempt anyway with what we have.
    }
    if (this.stopped) return;
    const socket = new WebSocket(this.url, this.protocols);
    const listening = new AbortController();
    this.socket = socket;
    this.unlisten = () => listening.abort();
    this.connectTimer = setTimeout(() => this.drop(socket, 1000, 'timeout'), CONNECT_TIMEOUT);
    const on = <K extends keyof WebSocketEventMap>(type: K, listener: (event: WebSocketEventMap[K]) => void) =>
      socket.addEventListener(type, listener, { signal: listening.signal });
    on('open', () => {
      clearTimeout(this.connectTimer);
      this.hooks.open();
    });
    on('message', (event) => {
      if (typeof event.data !== 'string') return;
      const frame = parseServerFrame(event.data);
      if (frame) this.hooks.frame(frame);
    });
    on('error', () => this.drop(socket, 1000, ''));
    on('close', (event) => this.drop(socket, event.code, event.reason));
  }

  /** Ends `socket`, reports its close once, and starts the next attempt unless the owner stopped. */
  private drop(socket: WebSocket, code: number, reason: string): void {
    this.release(socket, code, reason);
    this.failures += 1;
    this.hooks.close(code, reason);
    // After the report: the owner may have stopped, or asked for a longer wait (`holdOff`).
    if (!this.stopped) void this.connect();
  }

  /** Detaches and closes `socket`, so nothing it does later is reported. */
  private release(socket: WebSocket, code: number, reason: string): void {
    clearTimeout(this.connectTimer);
    this.socket = null;
    this.unlisten();
    try {
      socket.close(code, reason);
    } catch {
      // A code the browser will not send from a page (1006, 1015): close without one.
      socket.close();
    }
  }
}
