/**
 * parts.ts and src/client/load-tab-group.ts for the script build (build/script-parts.ts puts it in their
 * place): each part is a classic script beside `imbed.js` (`imbed-zh-CN.js`, `imbed-notify.js`,
 * `imbed-launcher-mode.js`, `imbed-bridge.js`, `imbed-tab-group.js`), added with the nonce `imbed.js` was given. So it loads from another origin without
 * CORS headers, and under a nonce-based Content-Security-Policy, exactly as `imbed.js` did. A part hands
 * what it exports to the script element that loaded it, in an `imbed-part` event (src/ui/parts/), and
 * defines no global.
 *
 * `imbed.js` and its parts only work together when they come from one build. A page that holds an
 * `imbed.js` from before a deploy must not run a part from after it, so a part's URL names the build
 * (`?v=`, which keeps HTTP caches apart), and a part from another build (a server or CDN that ignores the
 * query) is refused like one that did not load: the chat goes without it.
 */
import type { TabGroup } from '../client/tab-group.js';
import type { WebViewBridge } from './bridge.js';
import { BUILD } from './build-stamp.js';
import { loadOnce } from './load-once.js';
import type { PartHandOver } from './parts/hand-over.js';
import type { Strings } from './strings.js';

/** The `<script>` that runs `imbed.js`: the browser only says while it first runs. */
const bundleScript = document.currentScript as HTMLScriptElement | null;

function loadPart<T>(name: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const element = document.createElement('script');
    element.src = new URL(`imbed-${name}.js?v=${BUILD}`, bundleScript?.src || document.baseURI).href;
    if (bundleScript?.nonce) element.nonce = bundleScript.nonce;
    let refusal = `could not load ${element.src}`;
    element.addEventListener('imbed-part', (event) => {
      const { build, part } = (event as CustomEvent<PartHandOver<T>>).detail;
      if (build === BUILD) resolve(part);
      else refusal = `${element.src} is from build ${build}, imbed.js from ${BUILD}: deploy one build's files together`;
    });
    // After the part ran (it resolved already) or failed to load or run.
    element.onload = element.onerror = () => {
      element.remove();
      reject(new Error(refusal));
    };
    document.head.append(element);
  });
}

export const loadZhCN = loadOnce((): Promise<Strings> => loadPart('zh-CN'));
export const loadNotify = loadOnce((): Promise<typeof import('./notify.js')> => loadPart('notify'));
export const loadLauncherMode = loadOnce((): Promise<typeof import('./launcher-mode.js')> => loadPart('launcher-mode'));

/**
 * The WebView bridge's code once it has loaded, for bridge-script.ts, whoever asked for it: the store an
 * app that declares `storage` keeps may load it first, and its answers come in through `Imbed.bridge`.
 */
export let bridgeLoaded: WebViewBridge | null = null;

/** Run with the bridge's code as soon as it has loaded, before it starts, whoever asked for it (bridge-script.ts). */
let onBridgeLoaded: ((real: WebViewBridge) => void) | undefined;

export function whenBridgeLoads(run: (real: WebViewBridge) => void): void {
  onBridgeLoaded = run;
}

/** The WebView bridge, for bridge-script.ts and for the store an app that declares `storage` keeps. */
export const loadBridge = loadOnce((): Promise<WebViewBridge> =>
  loadPart<WebViewBridge>('bridge').then((real) => {
    bridgeLoaded = real;
    // The calls made meanwhile first: after a `detach()` or an `attach()`, it picks up no element by itself.
    onBridgeLoaded?.(real);
    real.start();
    return real;
  }),
);

/** The tab group, for a client that meets another client of its database. */
export const loadTabGroup = loadOnce((): Promise<typeof TabGroup> => loadPart('tab-group'));
