/**
 * The browser's hints about the network: `offline` says a socket is probably dead; `online`, `pageshow`
 * (a page back from the back-forward cache) and `visibilitychange` say it is worth checking again. None
 * is trusted as proof; they only make the client act sooner than its heartbeat or backoff would. And
 * what brackets a time the page does not run at all: `freeze` and `resume`, and a `pagehide` and
 * `pageshow` that say `persisted` (the back-forward cache, where Safari also releases the page's locks).
 */

/** What the client does on a hint. */
export interface BrowserHintHandlers {
  /** The browser says it lost the network. */
  offline(): void;
  /** The network or the page came back, or the page became visible or hidden. */
  hint(): void;
  /** The browser freezes the page, or keeps it in the back-forward cache: nothing of it runs until `resume`. */
  freeze(): void;
  resume(): void;
}

/** Listens to the browser's hints until the returned function is called; a no-op outside a browser page. */
export function listenToBrowser({ offline, hint, freeze, resume }: BrowserHintHandlers): () => void {
  if (typeof window === 'undefined') return () => {};
  const hidden = (event: Event): void => {
    if ((event as PageTransitionEvent).persisted) freeze();
  };
  const shown = (event: Event): void => {
    if ((event as PageTransitionEvent).persisted) resume();
    hint();
  };
  const listen = (on: boolean): void => {
    const method = on ? 'addEventListener' : 'removeEventListener';
    window[method]('offline', offline);
    window[method]('online', hint);
    window[method]('pagehide', hidden);
    window[method]('pageshow', shown);
    document[method]('visibilitychange', hint);
    document[method]('freeze', freeze);
    document[method]('resume', resume);
  };
  listen(true);
  return () => listen(false);
}
