/**
 * Binds an `ImbedClient` to a Lit host: listens to the client's events only while the host is in the
 * document, re-renders the host on every one, and remembers the last state change and fatal error so
 * the host can explain them. The controller never starts or stops the client; whoever created it does.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ImbedClient, ImbedClientEventMap, StateChange } from '../client/index.js';

/** What the host wants to hear about, beyond the re-render the controller always requests. */
export interface ClientControllerCallbacks {
  onState?(change: StateChange): void;
  onMessage?(detail: ImbedClientEventMap['message']['detail']): void;
  onError?(detail: ImbedClientEventMap['error']['detail']): void;
}

type ClientEventName = keyof ImbedClientEventMap;
const CLIENT_EVENTS: readonly ClientEventName[] = ['state', 'change', 'message', 'error', 'storage'];
/** A client event with its name as a literal type, so checking `type` narrows `detail`. */
type ClientEvent = { [K in ClientEventName]: { type: K; detail: ImbedClientEventMap[K]['detail'] } }[ClientEventName];

export class ClientController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #callbacks: ClientControllerCallbacks;
  #current: ImbedClient | null = null;
  #subscribed: ImbedClient | null = null;
  #hostIsConnected = false;

  /** The last state change of the current client, or null before the first one. */
  lastChange: StateChange | null = null;
  /** The message of the last fatal error of the current client (why it stopped), or null. */
  fatalReason: string | null = null;
  /** Whether the current client has been online since it was bound: a later `connecting` is a reconnect. */
  wasOnline = false;
  /** Whether an attempt of the current client to connect has failed since it was last online (or bound). */
  attemptFailed = false;

  constructor(host: ReactiveControllerHost, callbacks: ClientControllerCallbacks = {}) {
    this.#host = host;
    this.#callbacks = callbacks;
    host.addController(this);
  }

  get client(): ImbedClient | null {
    return this.#current;
  }

  /** Switches to another client (or none); listens to it at once if the host is in the document. */
  setClient(client: ImbedClient | null): void {
    if (client === this.#current) return;
    this.#unsubscribe();
    this.#current = client;
    this.lastChange = null;
    this.fatalReason = null;
    this.wasOnline = client?.state === 'online';
    this.attemptFailed = false;
    if (this.#hostIsConnected) this.#subscribe();
    this.#host.requestUpdate();
  }

  hostConnected(): void {
    this.#hostIsConnected = true;
    this.#subscribe();
  }

  hostDisconnected(): void {
    this.#hostIsConnected = false;
    this.#unsubscribe();
  }

  #subscribe(): void {
    if (!this.#current || this.#subscribed === this.#current) return;
    this.#unsubscribe();
    for (const name of CLIENT_EVENTS) this.#current.addEventListener(name, this.#onEvent);
    this.#subscribed = this.#current;
    // The client may have moved on while nobody listened (the host was out of the document).
    this.#host.requestUpdate();
  }

  #unsubscribe(): void {
    if (!this.#subscribed) return;
    for (const name of CLIENT_EVENTS) this.#subscribed.removeEventListener(name, this.#onEvent);
    this.#subscribed = null;
  }

  // One bound listener for every event type, so removal always matches what was added. `change` and
  // `storage` need nothing beyond the re-render.
  readonly #onEvent = (event: Event): void => {
    const { type, detail } = event as CustomEvent as ClientEvent;
    if (type === 'state') {
      this.lastChange = detail;
      if (detail.to === 'online') this.wasOnline = true;
      this.attemptFailed = detail.to === 'offline' || (this.attemptFailed && detail.to !== 'online');
      if (detail.to !== 'stopped') this.fatalReason = null;
      this.#callbacks.onState?.(detail);
    } else if (type === 'message') {
      this.#callbacks.onMessage?.(detail);
    } else if (type === 'error') {
      if (detail.fatal) this.fatalReason = detail.message;
      this.#callbacks.onError?.(detail);
    }
    this.#host.requestUpdate();
  };
}
