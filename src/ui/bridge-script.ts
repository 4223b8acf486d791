/**
 * bridge.ts for the script build (build/script-parts.ts puts it in that module's place): `Imbed.bridge`
 * keeps its API, but the bridge's code is a part, `imbed-bridge.js`, loaded only where it can be of use:
 * at once when a native host is there as `imbed.js` runs (apps inject their object before the page's
 * scripts), else on the first call. Until the code has arrived, `element` is null, `attach`, `detach`
 * and `post` take effect on arrival, and `receive` answers false (a native host waits for `ready`, which
 * only the bridge's code sends).
 */
import type { BridgeMessage, EarlyEvent, WebViewBridge } from './bridge.js';
import { BRIDGE_VERSION, BridgeErrorCode, nativeSink } from './bridge-contract.js';
import type { ImbedChat } from './imbed-chat.component.js';
import { PART_RETRY_AFTER } from './load-once.js';
import { bridgeLoaded, loadBridge, whenBridgeLoads } from './parts-script.js';

export { BRIDGE_VERSION, BridgeErrorCode };

/**
 * Calls made before the bridge's code arrived (`attach`, `detach`, `post`), applied in order as soon as a
 * load succeeds, this module's or the one of the store an app keeps: a failed load leaves them waiting.
 */
const waiting: Array<(real: WebViewBridge) => void> = [];

/**
 * What the chat said before the bridge's code arrived, with a native host there: the messages of the
 * first catch-up, a storage warning. The bridge passes on those of an element when it attaches it, then
 * or later (it says the handshake, the unread count and the connection's state again by itself).
 */
const early: EarlyEvent[] = [];
const EARLY = ['imbed-message', 'imbed-error'];
// The element itself, also one inside another component's shadow root (at `window` the target is that component).
const keep = (event: Event): void => void (early.length < 100 && early.push([event.composedPath()[0] ?? null, event]));

whenBridgeLoads((real) => {
  for (const name of EARLY) removeEventListener(name, keep);
  queueMicrotask(() => real.replay(early.splice(0)));
  for (const use of waiting.splice(0)) {
    try {
      use(real);
    } catch (error) {
      // The caller's mistake (an `attach` of something else than an element): reported as it would have
      // been at the call, without failing the load that the app's store waits for too.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
});

/** Loads the bridge's code, and after a failure asks again up to `retries` times, `PART_RETRY_AFTER` apart. */
function load(retries: number): void {
  loadBridge(true).catch(() => retries > 0 && setTimeout(() => load(retries - 1), PART_RETRY_AFTER));
}

/** Runs `use` with the bridge's code: now if it is here, else once it has loaded (by this call or a later one). */
function withBridge(use: (real: WebViewBridge) => void): void {
  if (bridgeLoaded) return use(bridgeLoaded);
  waiting.push(use);
  loadBridge().catch(() => {});
}

export const bridge: Pick<WebViewBridge, 'version' | 'element' | 'attach' | 'detach' | 'receive' | 'post' | 'start'> = {
  version: BRIDGE_VERSION,
  get element(): ImbedChat | null {
    return bridgeLoaded?.element ?? null;
  },
  attach: (element) => withBridge((real) => real.attach(element)),
  detach: () => withBridge((real) => real.detach()),
  receive(input) {
    if (bridgeLoaded) return bridgeLoaded.receive(input);
    loadBridge().catch(() => {});
    return false;
  },
  post: (message: BridgeMessage) => withBridge((real) => real.post(message)),
  // The code is loaded only where it can be of use, and starts when it arrives (parts-script.ts). The app
  // sends nothing before `ready`, so nothing else would ask again: a load that failed is tried again, a
  // few times, as soon as the loader allows it, and whenever the browser comes back online.
  start() {
    if (!nativeSink()) return;
    for (const name of EARLY) addEventListener(name, keep);
    load(5);
    addEventListener('online', () => bridgeLoaded || loadBridge(true).catch(() => {}));
  },
};
