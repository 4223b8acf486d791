/**
 * The parts of `<imbed-chat>` only some pages need, loaded on first use so that the others never
 * download them: the Simplified Chinese words, the notifications, `mode="launcher"` and the WebView
 * bridge (for its store in the app, docs/webview.md). Here as dynamic
 * `import()`s, which the host's bundler splits out; the script build (`dist/imbed.js`) uses
 * parts-script.ts in this module's place.
 */
import { loadOnce } from './load-once.js';
import type { WebViewBridge } from './bridge.js';
import type { Strings } from './strings.js';

/** The Simplified Chinese words (src/ui/locales/zh-CN.ts). */
export const loadZhCN = loadOnce((): Promise<Strings> => import('./locales/zh-CN.js').then((part) => part.zhCN));

/** Title, sound and system notifications (src/ui/notify.ts), for the `notify` opt-ins. */
export const loadNotify = loadOnce((): Promise<typeof import('./notify.js')> => import('./notify.js'));

/** The launcher's button, panel and styles (src/ui/launcher-mode.ts), for `mode="launcher"`. */
export const loadLauncherMode = loadOnce((): Promise<typeof import('./launcher-mode.js')> => import('./launcher-mode.js'));

/** The WebView bridge (src/ui/bridge.ts), for the store an app that declares `storage` keeps. */
export const loadBridge = loadOnce((): Promise<WebViewBridge> =>
  import('./bridge.js').then(({ bridge }) => {
    bridge.start();
    return bridge;
  }),
);
