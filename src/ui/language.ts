/**
 * The two steps of imbed's choice of language that need none of its words: the `lang` in effect at an
 * element, and the locale a language tag gets. No imports, so the lazy launcher (src/launcher/index.ts),
 * which labels its button before the widget loads, chooses as the widget (i18n.ts) does for the weight
 * of these few lines.
 */

/** The locales imbed ships words for: English is built in, the others load on first use (parts.ts). */
export type Locale = 'en' | 'zh-CN';

/**
 * Traditional Chinese readers are not given the Simplified table: they fall through to their next
 * preference, else English. zh-Hans-TW (Simplified script in Taiwan) is still Simplified.
 */
const TRADITIONAL = /^zh-(hant|tw|hk|mo)\b/;

/** The locale imbed has words for in the language `tag` (`_` or `-` separated, any case), or null. */
export function localeOf(tag: string): Locale | null {
  const lower = tag.trim().replace(/_/g, '-').toLowerCase();
  const primary = lower.split('-')[0];
  return primary === 'en' ? 'en' : primary === 'zh' && !TRADITIONAL.test(lower) ? 'zh-CN' : null;
}

/**
 * The `lang` in effect at `el`: its own attribute or the nearest ancestor's, continuing from a shadow
 * root to its host, so a chat inside another component still follows the page. An empty `lang=""`
 * counts as unset. Empty when nothing on the way declares one.
 */
export function inheritedLang(el: Element): string {
  let node: Element | null = el;
  while (node) {
    const found: Element | null = node.closest('[lang]:not([lang=""])');
    if (found) return found.getAttribute('lang')!;
    const root = node.getRootNode();
    node = root instanceof ShadowRoot ? root.host : null;
  }
  return '';
}
