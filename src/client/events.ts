/**
 * The client's typed events: `addEventListener` and `removeEventListener` that know
 * `ImbedClientEventMap`, so a listener's event is typed by its name, and the one way they are dispatched.
 */
import type { ImbedClientEventMap } from './types.js';

/**
 * The typed overloads of `ImbedEventTarget`'s listener methods. Declared, not implemented: the methods
 * are `EventTarget`'s own, so the typing costs the bundle nothing.
 */
export interface ImbedEventTarget {
  addEventListener<K extends keyof ImbedClientEventMap>(type: K, listener: (this: this, ev: ImbedClientEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof ImbedClientEventMap>(type: K, listener: (this: this, ev: ImbedClientEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** An `EventTarget` whose listeners are typed by `ImbedClientEventMap`; the base of `ImbedClient`. */
export class ImbedEventTarget extends EventTarget {
  /** Dispatches `type` as a plain `CustomEvent` (not bubbling) carrying `detail`. */
  protected emit<K extends keyof ImbedClientEventMap>(type: K, detail: ImbedClientEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
