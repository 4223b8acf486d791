/**
 * parts.ts for the script build (vite.config.ts puts it in that module's place): each part is a classic
 * script beside `imbed.js` (`imbed-zh-CN.js`, `imbed-notify.js`, `imbed-launcher-mode.js`,
 * `imbed-bridge.js`), added with the nonce `imbed.js` was given. So it loads from another origin without
 * CORS headers, and under a nonce-based Content-Security-Policy, exactly as `imbed.js` did. A part hands
 * what it exports to the script element that loaded it, in an `imbed-part` event (src/ui/parts/), and
 * defines no global.
 */
import type { WebViewBridge } from './bridge.js';
import { loadOnce } from './load-once.js';
import type { Strings } from './strings.js';

/** The `<script>` that runs `imbed.js`: the browser only says while it first runs. */
const bundleScript = document.currentScript as HTMLScriptElement | null;

function loadPart<T>(name: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const element = document.createElement('script');
    element.src = new URL(`imbed-${name}.js`, bundleScript?.src || document.baseURI).href;
    if (bundleScript?.nonce) element.nonce = bundleScript.nonce;
    element.addEventListener('imbed-part', (event) => resolve((event as CustomEvent<T>).detail));
    // After the part ran (it resolved already) or failed to load or run.
    element.onload = element.onerror = () => {
      element.remove();
      reject(new Error(`could not load ${element.src}`));
    };
    document.head.append(element);
  });
}

export const loadZhCN = loadOnce((): Promise<Strings> => loadPart('zh-CN'));
export const loadNotify = loadOnce((): Promise<typeof import('./notify.js')> => loadPart('notify'));
export const loadLauncherMode = loadOnce((): Promise<typeof import('./launcher-mode.js')> => loadPart('launcher-mode'));

/** The WebView bridge, for bridge-script.ts and for the store an app that declares `storage` keeps. */
export const loadBridge = loadOnce((): Promise<WebViewBridge> => loadPart('bridge'));
