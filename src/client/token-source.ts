/**
 * Where the token of the next `hello` comes from: the one the host gave (`token`, `setToken`) or, when
 * there is none or the server said it expired, the host's `tokenProvider`, asked with backoff until it
 * answers. A provider call that hangs counts as a failure after `tokenTimeout`, so it cannot hold the
 * connection forever.
 */
import { backoffDelay, type Backoff } from './connection.js';
import { messageOf } from './error-text.js';
import { settleWithin } from './settle-within.js';
import { ClientErrorCode, type ImbedClientEventMap, type ImbedClientOptions } from './types.js';

/** Default of `tokenTimeout`: how long one `tokenProvider` call may take before it counts as failed. */
const TOKEN_TIMEOUT = 10_000;

/** The client's token, and the asking of `tokenProvider` for a new one. */
export class TokenSource {
  readonly #options: Pick<ImbedClientOptions, 'token' | 'tokenProvider' | 'tokenTimeout'>;
  readonly #backoff: () => Backoff;
  readonly #report: (error: ImbedClientEventMap['error']['detail']) => void;
  #current: string | null;
  #needed: boolean;
  /** The token the server last said expired: a provider that gives it again has not renewed it. */
  #expired: string | null = null;
  /** Ends the backoff between two `tokenProvider` attempts ("retry now"); null when not waiting. */
  #endWait: (() => void) | null = null;
  /**
   * Stops waiting for the `tokenProvider` call in progress (see `abandon`); null before the first. After a
   * call settled it is that call's, and calling it does nothing.
   */
  #stopWaiting: (() => void) | null = null;

  constructor(
    options: Pick<ImbedClientOptions, 'token' | 'tokenProvider' | 'tokenTimeout'>,
    backoff: () => Backoff,
    report: (error: ImbedClientEventMap['error']['detail']) => void,
  ) {
    this.#options = options;
    this.#backoff = backoff;
    this.#report = report;
    this.#current = options.token ?? null;
    this.#needed = this.#current === null;
  }

  /** The token for the next `hello`; null until the host or the provider gave one. */
  get token(): string | null {
    return this.#current;
  }

  /** Uses `token` for the next `hello`; the provider is not asked while it is usable. */
  set(token: string): void {
    this.#current = token;
    this.#needed = false;
  }

  /** The server said the token expired: the next `obtain` asks the provider again. */
  expire(): void {
    this.#needed = true;
    this.#expired = this.#current;
  }

  /** "Retry now" while waiting between two provider attempts: ends the wait. False when not waiting. */
  skipWait(): boolean {
    if (!this.#endWait) return false;
    this.#endWait();
    return true;
  }

  /** The client stopped: a pending `obtain` ends now, without waiting for the provider's answer or the backoff. */
  abandon(): void {
    this.#stopWaiting?.();
    this.#endWait?.();
  }

  /**
   * Asks `tokenProvider` until it gives a token (with backoff between failures, each reported as a
   * non-fatal error), while `wanted()` holds. A no-op when a usable token is already there. A call that
   * does not settle within `tokenTimeout` is a failure, so a hung provider cannot hold the connection.
   */
  async obtain(wanted: () => boolean): Promise<void> {
    const provider = this.#options.tokenProvider;
    const timeout = this.#options.tokenTimeout ?? TOKEN_TIMEOUT;
    for (let failures = 0; provider && this.#needed && wanted(); ) {
      try {
        const token = await Promise.race([
          settleWithin(Promise.resolve().then(provider), timeout, `tokenProvider did not answer within ${timeout} ms`),
          new Promise<never>((_, reject) => (this.#stopWaiting = () => reject(new Error('abandoned')))),
        ]);
        if (typeof token !== 'string' || token === '') throw new Error('tokenProvider gave no token');
        // A cache that goes by a clock behind the server's would give it again, and again.
        if (token === this.#expired) throw new Error('tokenProvider gave the token the server said expired');
        this.set(token);
      } catch (e) {
        if (!wanted()) return;
        failures += 1;
        this.#report({ code: ClientErrorCode.TOKEN_UNAVAILABLE, message: `could not get a token: ${messageOf(e)}`, retryable: true, fatal: false });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoffDelay(failures, this.#backoff()));
          this.#endWait = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#endWait = null;
      }
    }
  }
}
