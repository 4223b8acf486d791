/**
 * Which language `<imbed-chat>` speaks: the one declared nearest (the element's `lang`, else the
 * nearest ancestor's, across shadow roots) if imbed has words for it, else the first of the browser's
 * `navigator.languages` it has words for; English is the last resort. Pure functions, so the choice is
 * testable without stubbing `navigator`.
 */
import { localeOf, type Locale } from './language.js';
import { loadZhCN } from './parts.js';
import { en, type Strings } from './strings.js';

/** The words of each locale loaded so far. */
const words: { [locale in Locale]?: Strings } = { en };

/**
 * Loads the words of `locale` unless they are there already (then null): a render in that locale waits
 * for them. English is built in, so what loads is Simplified Chinese (a second loaded locale would need
 * its own part here). Rejects when the part cannot load (offline, blocked): English stands in for it
 * until a later call asks for it again (load-once.ts).
 */
export function loadWords(locale: Locale): Promise<void> | null {
  if (words[locale]) return null;
  return loadZhCN().then((strings) => {
    words['zh-CN'] = strings;
  });
}

/** What a render needs: the words, and the BCP 47 tag that `Intl` formats times in. */
export interface Localized {
  locale: Locale;
  /** The tag that matched, e.g. `en-GB` (24-hour times) or `zh-SG`. */
  tag: string;
  /**
   * The language `strings` are in, to mark them with (a French page may get English words): `tag`, or
   * `en` while the matched words load; null once a host overrides any, whose language only it knows.
   */
  lang: string | null;
  strings: Strings;
}

/** The first of `tags` imbed can speak, with the tag itself kept for `Intl`; English when none is. */
export function matchLocale(tags: readonly string[]): { locale: Locale; tag: string } {
  for (const raw of tags) {
    const locale = localeOf(raw);
    if (locale) return { locale, tag: canonical(raw.trim().replace(/_/g, '-')) ?? locale };
  }
  return { locale: 'en', tag: 'en' };
}

function canonical(tag: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    // Not a well-formed tag (say "en-"): its locale is still known, Intl just gets the plain one.
    return undefined;
  }
}

/**
 * Words and locale from a declared `lang` (may be empty) and the reader's preferences; `overrides`
 * replace single entries, whatever the locale. English words until the locale's have loaded (`loadWords`).
 */
export function localize(declared: string, languages: readonly string[], overrides?: Partial<Strings> | null): Localized {
  const { locale, tag } = matchLocale(declared ? [declared, ...languages] : languages);
  const base = words[locale] ?? en;
  const lang = overrides && Object.keys(overrides).length ? null : words[locale] ? tag : 'en';
  return { locale, tag, lang, strings: overrides ? { ...base, ...overrides } : base };
}
