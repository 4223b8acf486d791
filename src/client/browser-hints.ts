/**
 * The browser's hints about the network: `offline` says a socket is probably dead; `online`, `pageshow`
 * (a page back from the back-forward cache) and `visibilitychange` say it is worth checking again. None
 * is trusted as proof; they only make the client act sooner than its heartbeat or backoff would. And
 * `freeze` and `resume`, which bracket a time the page does not run at all.
 */

/** What the client does on a hint. */
export interface BrowserHintHandlers {
  /** The browser says it lost the network. */
  offline(): void;
  /** The network or the page came back, or the page became visible or hidden. */
  hint(): void;
  /** The browser freezes the page (Page Lifecycle `freeze`): nothing of it runs until `resume`. */
  freeze(): void;
  resume(): void;
}

/** Listens to the browser's hints until the returned function is called; a no-op outside a browser page. */
export function listenToBrowser({ offline, hint, freeze, resume }: BrowserHintHandlers): () => void {
  if (typeof window === 'undefined') return () => {};
  const listen = (on: boolean): void => {
    const method = on ? 'addEventListener' : 'removeEventListener';
    window[method]('offline', offline);
    window[method]('online', hint);
    window[method]('pageshow', hint);
    document[method]('visibilitychange', hint);
    document[method]('freeze', freeze);
    document[method]('resume', resume);
  };
  listen(true);
  return () => listen(false);
}
