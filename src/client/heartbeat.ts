/**
 * Liveness of one socket. WebSockets give no timely signal when a TCP link dies half-open (a laptop
 * sleeps, a phone changes network): the browser may wait minutes for the OS to give up, and
 * reconnecting-websocket has no heartbeat of its own (https://github.com/pladaria/reconnecting-websocket/issues/98).
 * So the client pings, and silence for `timeout` after a ping means the link is dead.
 */

/**
 * The ping interval: the host's `heartbeatInterval`, at most the server's `welcome.heartbeat`, which is the
 * default. An interval that is none (0 or less) would ping without pause: the host's is then ignored, the
 * server's taken as 15 s.
 */
export function pingInterval(host: number | undefined, server: number): number {
  const asked = server > 0 ? server : 15_000;
  return host !== undefined && host > 0 ? Math.min(host, asked) : asked;
}

/** Pings every `interval` ms and calls `onDead` when nothing at all arrives within `timeout` ms after a ping. */
export class Heartbeat {
  readonly #timeout: number;
  readonly #ping: () => void;
  readonly #onDead: () => void;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;

  constructor(timeout: number, ping: () => void, onDead: () => void) {
    this.#timeout = timeout;
    this.#ping = ping;
    this.#onDead = onDead;
  }

  /** Starts (or restarts) pinging every `interval` ms. */
  start(interval: number): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => this.check(), interval);
  }

  /** Sends a ping now and expects any frame within the timeout (used on `online`, `pageshow`, visibility). */
  check(): void {
    this.#ping();
    this.expectAnswer();
  }

  /**
   * Declares the link dead unless some frame arrives within the timeout. Also bounds the wait for
   * `welcome` after `hello`. An armed deadline is kept: a second check must not postpone it.
   */
  expectAnswer(): void {
    if (this.#deadline !== undefined) return;
    this.#deadline = setTimeout(() => {
      this.#deadline = undefined;
      this.#onDead();
    }, this.#timeout);
  }

  /** Any frame from the server proves the link alive. */
  received(): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  /** Stops pinging and drops the deadline, as a frame arriving does. */
  stop(): void {
    clearInterval(this.#pingTimer);
    this.received();
  }
}
