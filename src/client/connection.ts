/**
 * One logical connection to the imbed server over reconnecting-websocket (RWS), with its traps guarded.
 * This layer moves frames and schedules attempts; every decision about what a close means lives in the
 * client (`ImbedClient.onClose`), which calls back into `stop()` or lets the next attempt proceed.
 *
 * RWS 4.4 traps, read from its source (node_modules/reconnecting-websocket/dist/reconnecting-websocket-mjs.js):
 * 1. it flushes its own send queue before our `open` handler runs: we turn the queue off
 *    (`maxEnqueuedMessages: 0`) and send nothing but `hello` until `welcome` (the outbox is ours);
 * 2. it reports a connect timeout or a socket `error` as a synthetic clean close with code 1000, so 1000
 *    never means "the server said goodbye" (its `_disconnect` defaults the code to 1000; see also
 *    https://github.com/pladaria/reconnecting-websocket/pull/193);
 * 3. it reconnects after any close, fatal codes included: the client calls `stop()` for those;
 * 4. it has no heartbeat (https://github.com/pladaria/reconnecting-websocket/issues/98; see heartbeat.ts);
 * 5. a rejecting URL provider leaves `_connectLock` set forever, so no attempt is ever made again; and
 *    `close()` during its wait leaves the lock set too, so a stopped instance is never reused: our provider
 *    never rejects, and `stop()` throws the instance away;
 * 6. its own backoff has no jitter and restarts at zero after every long-lived connection, so a server
 *    restart would get every client back at the same instant: we set its delays to 0 and wait in the
 *    URL provider instead, with growth and per-attempt jitter, where "retry now" can cut the wait short;
 * 7. a WebSocket constructor that throws (Chromium and Firefox throw a SecurityError for `ws://` from an
 *    https page, and for a port they block) rejects inside its connect chain, where nothing reports it,
 *    and leaves `_connectLock` set: the socket class we give it reports the throw first.
 */
import ReconnectingWebSocket from 'reconnecting-websocket';
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
  /** The socket closed or an attempt failed; RWS will try again unless `stop()` is called now. */
  close(code: number, reason: string): void;
  /**
   * The browser would not create a socket for the URL (trap 7), so no attempt can ever succeed; RWS makes
   * none again. `error` is what the WebSocket constructor threw.
   */
  refused(error: unknown): void;
  /**
   * When the server accepts this client again (`Date.now()` ms; 4029 with `retryAfter`), 0 for any time:
   * no attempt is made before it, whatever the backoff says. The owner keeps it, so it outlives this
   * connection and a "Retry now" by the person can clear it.
   */
  notBefore?(): number;
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

/** A self-healing socket to `url`: connects on construction, reconnects after each close until `stop()`. */
export class Connection {
  readonly #url: string;
  readonly #backoff: Backoff;
  readonly #hooks: ConnectionHooks;
  readonly #rws: ReconnectingWebSocket;
  #stopped = false;
  /** Consecutive closes since the last established session; drives the backoff. */
  #failures = 0;
  #skipWait: (() => void) | null = null;

  constructor(url: string, backoff: Backoff, hooks: ConnectionHooks, protocols: string[] = [PROTOCOL]) {
    this.#url = url;
    this.#backoff = backoff;
    this.#hooks = hooks;
    this.#rws = new ReconnectingWebSocket(() => this.#nextUrl(), protocols, {
      // Trap 7. The error is thrown on as well (the page still sees it as an unhandled rejection of RWS's
      // chain, the browser's own words for what is wrong): RWS is left waiting on its lock, and the owner stops.
      WebSocket: class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          try {
            super(url, protocols);
          } catch (error) {
            hooks.refused(error);
            throw error;
          }
        }
      },
      maxEnqueuedMessages: 0,
      minReconnectionDelay: 0,
      maxReconnectionDelay: 0,
      // A slow mobile handshake can take several seconds; RWS's 4 s default would abort good attempts.
      connectionTimeout: 10_000,
    });
    this.#rws.addEventListener('open', () => {
      if (!this.#stopped) this.#hooks.open();
    });
    this.#rws.addEventListener('message', (event) => {
      if (this.#stopped || typeof event.data !== 'string') return;
      const frame = parseServerFrame(event.data);
      if (frame) this.#hooks.frame(frame);
    });
    this.#rws.addEventListener('close', (event) => {
      if (this.#stopped) return;
      this.#failures += 1;
      this.#hooks.close(event.code, event.reason ?? '');
    });
  }

  /** Whether a socket is open right now (it may still be before `welcome`). */
  get isOpen(): boolean {
    return !this.#stopped && this.#rws.readyState === ReconnectingWebSocket.OPEN;
  }

  /** Whether an attempt is waiting out its backoff. */
  get isWaiting(): boolean {
    return this.#skipWait !== null;
  }

  /** Sends one frame; false when no socket is open (the frame is dropped, never queued). */
  send(frame: ClientFrame): boolean {
    if (!this.isOpen) return false;
    this.#rws.send(JSON.stringify(frame));
    return true;
  }

  /** The session is established (welcome arrived): the next drop starts the backoff from the beginning. */
  established(): void {
    this.#failures = 0;
  }

  /**
   * Ends the current wait ("retry now"), though no sooner than the server's time (`hooks.notBefore`); a
   * no-op when no attempt is waiting.
   */
  retryNow(): void {
    this.#skipWait?.();
  }

  /** Closes the socket with `code` and connects again (e.g. the heartbeat found the link dead). */
  restart(code: number, reason: string): void {
    if (this.#stopped) return;
    // RWS's reconnect() closes the socket and dispatches the close to our listener synchronously,
    // without waiting for a close handshake a dead link would never complete.
    this.#rws.reconnect(code, reason);
  }

  /** Closes for good; no event is reported after this. */
  stop(code = 1000, reason = ''): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#skipWait?.();
    this.#rws.close(code, reason);
  }

  async #nextUrl(): Promise<string> {
    // Never reject (trap 5), and do not wait for an instance that is being thrown away.
    if (this.#stopped) return this.#url;
    try {
      // How long the server's time is still away (none once stopped).
      const held = () => (this.#stopped ? 0 : (this.#hooks.notBefore?.() ?? 0) - Date.now());
      const delay = Math.max(backoffDelay(this.#failures, this.#backoff), held());
      if (delay > 0) {
        await new Promise<void>((resolve) => {
          let timer = setTimeout(resolve, delay);
          // Cut short to the server's time, if it named one (and the person has not overruled it).
          this.#skipWait = () => {
            clearTimeout(timer);
            timer = setTimeout(resolve, held());
          };
        });
        this.#skipWait = null;
      }
      if (!this.#stopped) await this.#hooks.prepare();
    } catch {
      // prepare() may not reject; if it does, attempt anyway with what we have.
    }
    return this.#url;
  }
}
