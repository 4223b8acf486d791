/**
 * The client's typed events: `addEventListener` and `removeEventListener` that know
 * `ImbedClientEventMap`, so a listener's event is typed by its name, and the one way they are dispatched.
 */
import type { ImbedClientEventMap } from './types.js';

/** An `EventTarget` whose listeners are typed by `ImbedClientEventMap`; the base of `ImbedClient`. */
export class ImbedEventTarget extends EventTarget {
  override addEventListener<K extends keyof ImbedClientEventMap>(type: K, listener: (this: this, ev: ImbedClientEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null | ((ev: Event) => unknown), options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  override removeEventListener<K extends keyof ImbedClientEventMap>(type: K, listener: (this: this, ev: ImbedClientEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null | ((ev: Event) => unknown), options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /** Dispatches `type` as a plain `CustomEvent` (not bubbling) carrying `detail`. */
  protected emit<K extends keyof ImbedClientEventMap>(type: K, detail: ImbedClientEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
