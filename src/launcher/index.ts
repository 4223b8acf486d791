/**
 * The lazy launcher, `imbed-launcher.js`: a script of a few KB that draws the floating chat button at
 * once, loads the full widget (`imbed.js`, from the folder this script came from) on the first click or
 * when the browser is idle, whichever comes first, then hands over to `<imbed-chat mode="launcher">`.
 * It imports nothing of the widget, so it stays small; the page pays for Lit and the client only later.
 *
 * The page configures it with `window.Imbed.config` (set before or after this script runs; it is read
 * when drawing the button and again at hand-over) and drives it with `Imbed.open()`, `Imbed.close()` and
 * `Imbed.toggle()`, which work before and after the widget has loaded. `window.Imbed` is its only global;
 * `imbed.js` adds its exports to the same object.
 *
 * The button shows the unread count the widget last stored for this `server` and `conversation`
 * (unread-record.ts), so a returning reader sees it before the widget has loaded and caught up: only the
 * count of the user the config's `token` names, as the widget does (with a `tokenProvider` the user is
 * not known before the widget asks it).
 */
import { tokenSubject } from '../client/token.js';
import { inheritedLang, localeOf } from '../ui/language.js';
import { readOwnUnread, unreadKey } from '../ui/unread-record.js';

/** What a page may put in `window.Imbed.config`: the `<imbed-chat>` attributes and properties of the same names. */
export interface LauncherConfig {
  server?: string;
  conversation?: string;
  /** Set as the element's `token` property, not an attribute, so the token stays out of the page's DOM. */
  token?: string;
  tokenProvider?: () => Promise<string>;
  position?: 'bottom-end' | 'bottom-start';
  lang?: string;
  theme?: 'auto' | 'light' | 'dark';
  notify?: string;
  /** Overrides of the widget's strings; `openChat(0)` also labels the button drawn before the widget loads. */
  strings?: Record<string, unknown>;
}

/** `window.Imbed` as the launcher leaves it. */
export interface LauncherGlobal {
  config?: LauncherConfig;
  open?(): void;
  close?(): void;
  toggle?(): void;
}

/** The part of `<imbed-chat>` the launcher drives, typed here so that nothing of the widget is bundled in. */
interface Chat extends HTMLElement {
  open(): void;
  close(): void;
  toggle(): void;
  /** Lit's: settles after the element rendered. */
  updateComplete: Promise<unknown>;
}

/** Config keys that become attributes of `<imbed-chat>`; the others (`token`, `tokenProvider`, `strings`) are properties. */
const ATTRIBUTES = ['server', 'conversation', 'position', 'lang', 'theme', 'notify'] as const;
const PROPERTIES = ['token', 'tokenProvider', 'strings'] as const;

/**
 * The button's label before the widget's own strings are loaded, for the languages the widget ships:
 * the same words as its `openChat` string (src/ui/strings.ts, src/ui/locales/zh-CN.ts), in the language
 * the widget will pick: the config's `lang`, else the one in effect where it goes (the body), else the
 * first of the browser's languages it has words for.
 */
function openLabel(config: LauncherConfig, unread: number): string {
  const own = config.strings?.openChat;
  if (typeof own === 'function') return String(own(unread));
  if ([config.lang || inheritedLang(document.body), ...navigator.languages].map(localeOf).find(Boolean) === 'zh-CN') return unread > 0 ? `打开聊天，${unread} 条未读` : '打开聊天';
  return unread > 0 ? `Open chat, ${unread} unread` : 'Open chat';
}

/**
 * The accent, the text on it, the badge and the text on the badge, light and dark: the defaults of
 * `THEMES` in src/ui/styles.ts (test/e2e/launcher.test.ts compares the two buttons).
 */
const LIGHT = ['#2563eb', '#ffffff', '#b91c1c', '#ffffff'];
const DARK = ['#3b82f6', '#0f172a', '#f87171', '#0f172a'];

/**
 * The button's look: the widget's own launcher (src/ui/launcher-styles.ts), so the hand-over does not
 * show, in the `theme` the widget will have.
 */
function launcherCss(side: 'start' | 'end', theme: LauncherConfig['theme']): string {
  const colours = ([accent, fg, danger, bg]: string[]) =>
    `button{background:var(--imbed-accent,${accent});color:var(--imbed-accent-fg,${fg});outline-color:var(--imbed-accent,${accent})}span{background:var(--imbed-danger,${danger});color:var(--imbed-bg,${bg})}`;
  // Clear of the safe area on its side (a landscape phone's notch): the right one at the end of a
  // left-to-right page, the left one in a right-to-left page, the other way round at the start.
  const [ltr, rtl] = side === 'end' ? ['right', 'left'] : ['left', 'right'];
  const inline = (edge: string) => `inset-inline-${side}:calc(var(--imbed-launcher-offset,20px) + env(safe-area-inset-${edge},0px))`;
  return `:host{all:initial;position:fixed;z-index:var(--imbed-z-index,2147483000);inset-block-end:calc(var(--imbed-launcher-offset,20px) + env(safe-area-inset-bottom,0px));${inline(ltr)}}:host(:dir(rtl)){${inline(rtl)}}
button{position:relative;box-sizing:border-box;display:grid;place-items:center;inline-size:var(--imbed-launcher-size,56px);block-size:var(--imbed-launcher-size,56px);margin:0;padding:0;border:1px solid transparent;border-radius:50%;box-shadow:0 4px 14px rgb(0 0 0/.25);cursor:pointer}
@media (pointer:coarse){button{min-inline-size:44px;min-block-size:44px}}
button:focus-visible{outline:2px solid;outline-offset:2px}
button[aria-busy=true]{cursor:progress}
svg{inline-size:26px;block-size:26px}
span{position:absolute;inset-block-start:-4px;inset-inline-end:-4px;box-sizing:border-box;min-inline-size:22px;block-size:22px;padding:0 6px;border-radius:11px;font:700 12px/22px var(--imbed-font-family,system-ui,sans-serif);text-align:center}
${theme === 'dark' ? colours(DARK) : colours(LIGHT)}${theme === 'light' || theme === 'dark' ? '' : `@media (prefers-color-scheme:dark){${colours(DARK)}}`}`;
}

const CHAT_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2"><path d="M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 4v-4A1.5 1.5 0 0 1 4 14.5z" stroke-linejoin="round"/></svg>';

function start(imbed: LauncherGlobal, script: HTMLScriptElement | null): void {
  let host: HTMLElement | null = null;
  let button: HTMLButtonElement | null = null;
  let chat: Chat | null = null;
  let loading = false;
  /** Whether the person or the page asked for the chat open before the widget was there to open it. */
  let wanted = false;

  /** Runs `fn` once `document.body` exists: an `async` script in the head may run before it does. */
  const withBody = (fn: () => void): void => {
    if (document.body) fn();
    else addEventListener('DOMContentLoaded', fn, { once: true });
  };

  function draw(): void {
    const config = imbed.config ?? {};
    host = document.createElement('imbed-launcher');
    const root = host.attachShadow({ mode: 'open' });
    const css = launcherCss(config.position === 'bottom-start' ? 'start' : 'end', config.theme);
    // A constructed stylesheet, as the widget uses: a strict style-src does not govern it.
    if (root.adoptedStyleSheets) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(Object.assign(document.createElement('style'), { textContent: css }));
    }
    button = document.createElement('button');
    button.type = 'button';
    button.part = 'launcher-button';
    const unread = config.server && config.conversation ? (readOwnUnread(unreadKey(config.server, config.conversation), tokenSubject(config.token))?.n ?? 0) : 0;
    button.setAttribute('aria-label', openLabel(config, unread));
    button.setAttribute('aria-expanded', 'false');
    button.innerHTML = CHAT_ICON;
    if (unread > 0) {
      // As the widget's badge: hidden from assistive technology, whose label already says the count.
      const badge = document.createElement('span');
      badge.part = 'unread-badge';
      badge.setAttribute('aria-hidden', 'true');
      badge.textContent = unread > 99 ? '99+' : String(unread);
      button.append(badge);
    }
    button.onclick = () => imbed.open!();
    root.append(button);
    document.body.append(host);
  }

  /**
   * The widget did not come (`imbed.js` or its launcher part failed to load or run): the drawn button
   * stays, and a later click or `Imbed.open()` tries again.
   */
  function fail(what: string): void {
    loading = wanted = false;
    button?.removeAttribute('aria-busy');
    console.warn(`imbed: the chat did not load (${what}); a later click tries again`);
  }

  /** Adds the `imbed.js` script element, once; a failed load may be retried by a later click. */
  function load(): void {
    if (loading || chat) return;
    loading = true;
    if (customElements.get('imbed-chat')) return withBody(handOver);
    const element = document.createElement('script');
    element.src = new URL('imbed.js', script?.src || document.baseURI).href;
    // A page whose policy allows scripts by nonce gave this script one; the widget's script needs it too.
    if (script?.nonce) element.nonce = script.nonce;
    element.onload = element.onerror = () => {
      element.remove();
      // Loaded is not enough: a server answering with a page of its own, or a script that threw, defines nothing.
      if (customElements.get('imbed-chat')) withBody(handOver);
      else fail(`${element.src} defined no <imbed-chat>`);
    };
    document.head.append(element);
  }

  /**
   * Puts the widget in place of the drawn button once it has drawn its own: it waits for its launcher
   * part first (another request), and the drawn button stays meanwhile. The swap happens in one task,
   * so two buttons never show, and keyboard focus on the drawn button moves to the widget's.
   */
  function handOver(): void {
    const config = imbed.config ?? {};
    // Typed through HTMLElement: the launcher must not depend on the widget's class, even for types.
    const element = document.createElement('imbed-chat') as HTMLElement as Chat;
    element.setAttribute('mode', 'launcher');
    element.hidden = true;
    for (const name of ATTRIBUTES) if (config[name] != null) element.setAttribute(name, String(config[name]));
    for (const name of PROPERTIES) if (config[name] != null) Object.assign(element, { [name]: config[name] });
    document.body.append(element);
    const notShown = (what: string): void => {
      element.remove();
      fail(what);
    };
    // Driven only after its first render: the widget moves focus into the chat and fires imbed-open for
    // an open() after it, never for a panel it was created open with. Until then `wanted` collects calls.
    element.updateComplete.then(() => {
      const widgetButton = element.shadowRoot?.querySelector<HTMLElement>('[part~="launcher-button"]');
      // Without its launcher part the widget would show the whole chat at the end of the page.
      if (!widgetButton) return notShown('its launcher part did not load');
      const focused = host?.shadowRoot?.activeElement != null;
      element.hidden = false;
      host?.remove();
      chat = element;
      if (wanted) element.open();
      else if (focused) widgetButton.focus();
    }, (error: unknown) => notShown(`its first render failed: ${error}`));
  }

  imbed.open = () => {
    wanted = true;
    if (chat) return chat.open();
    button?.setAttribute('aria-busy', 'true');
    load();
  };
  imbed.close = () => {
    wanted = false;
    chat?.close();
  };
  imbed.toggle = () => (chat ? chat.toggle() : wanted ? imbed.close!() : imbed.open!());

  withBody(draw);
  // Idle means after the page's own load, so the widget never competes with the page's resources.
  const whenIdle = (): void => {
    if ('requestIdleCallback' in window) requestIdleCallback(load, { timeout: 5000 });
    else setTimeout(load, 1000);
  };
  if (document.readyState === 'complete') whenIdle();
  else addEventListener('load', whenIdle, { once: true });
}

const imbed: LauncherGlobal = ((window as unknown as { Imbed?: LauncherGlobal }).Imbed ||= {});
// A second copy of this script on the page must not draw a second button.
if (!imbed.toggle) start(imbed, document.currentScript as HTMLScriptElement | null);
