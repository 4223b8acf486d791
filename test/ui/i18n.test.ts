import { expect } from '@esm-bundle/chai';
import { describeConnection } from '../../src/ui/banner.js';
import { formatFullTime, formatTime, untilTomorrow } from '../../src/ui/format.js';
import { refusalText } from '../../src/ui/message-list.js';
import { localize, matchLocale } from '../../src/ui/i18n.js';
import { zhCN } from '../../src/ui/locales/zh-CN.js';
import { en } from '../../src/ui/strings.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';
import { freshConv, until } from '../browser-support/server.js';
import { bannerText, freshUser, mountBare, mountChat, part, texts, unmountAll } from './fixtures.js';

const placeholder = (el: ImbedChat) => part<HTMLTextAreaElement>(el, 'composer-input').placeholder;

describe('<imbed-chat> locale choice', () => {
  it('maps every Simplified Chinese tag to zh-CN and keeps the tag for Intl', () => {
    for (const tag of ['zh', 'zh-CN', 'zh-Hans', 'zh-SG', 'zh-Hans-TW', 'ZH_cn']) {
      expect(matchLocale([tag]).locale, tag).to.equal('zh-CN');
    }
    expect(matchLocale(['zh-SG']).tag).to.equal('zh-SG');
  });

  it('takes the first language it has words for, in the reader\'s order', () => {
    expect(matchLocale(['fr-FR', 'zh-CN', 'en'])).to.deep.equal({ locale: 'zh-CN', tag: 'zh-CN' });
    expect(matchLocale(['en-GB', 'zh-CN'])).to.deep.equal({ locale: 'en', tag: 'en-GB' });
  });

  it('does not show Traditional Chinese readers the Simplified table', () => {
    expect(matchLocale(['zh-TW']).locale).to.equal('en');
    expect(matchLocale(['zh-Hant-HK', 'zh-CN']).locale).to.equal('zh-CN');
  });

  it('falls back to English for no or unknown languages', () => {
    expect(matchLocale([])).to.deep.equal({ locale: 'en', tag: 'en' });
    expect(matchLocale(['fr', 'de-DE']).locale).to.equal('en');
  });

  it('puts a declared lang before the browser\'s languages, and the browser\'s after an unsupported one', () => {
    expect(localize('en', ['zh-CN'], null).locale).to.equal('en');
    expect(localize('', ['zh-CN'], null).locale).to.equal('zh-CN');
    expect(localize('fr', ['zh-CN'], null).locale).to.equal('zh-CN');
  });

  it('has every word in zh-CN, with full-width punctuation only', () => {
    expect(Object.keys(zhCN).sort()).to.deep.equal(Object.keys(en).sort());
    // Every entry as the widget would show it: functions called with sample arguments.
    const shown = Object.values(zhCN).map((value) =>
      typeof value === 'function' ? (value as (...args: unknown[]) => string).call(zhCN, ...(value.length === 2 ? ['已离线', 3] : [3])) : value,
    );
    for (const text of shown) {
      expect(text, text).to.not.match(/[,:;!?()]|\.\.\./);
      // The Chinese ellipsis is two characters wide: …… never a lone …
      expect(text.replace(/……/g, ''), text).to.not.include('…');
    }
  });

  it('words a refusal by its code in the chat\'s language, and shows a message filter\'s own reason', () => {
    const refused = (code: string, message: string) => ({ code, message, retryable: false });
    expect(refusalText(en, refused('TEXT_TOO_LONG', '`text` is longer than 1000 characters'), 1000)).to.equal(en.tooLong(1000));
    expect(refusalText(zhCN, refused('TEXT_TOO_LONG', '`text` is longer than 1000 characters'), 1000)).to.equal('消息过长：最多 1000 个字。');
    expect(refusalText(zhCN, refused('FORBIDDEN', 'no access to c1'), 1000)).to.equal(zhCN.notMember);
    expect(refusalText(zhCN, refused('SPAM', 'the same text was sent too many times in a short while'), 1000)).to.equal('短时间内重复发送次数过多。');
    expect(refusalText(zhCN, refused('REJECTED', '不允许发送链接'), 1000)).to.equal('不允许发送链接');
    expect(refusalText(en, refused('BAD_FRAME', '`text` has an unpaired surrogate'), 1000)).to.equal('The server did not accept this message.');
    // Each is a plain entry a host can reword.
    expect(refusalText(localize('en', [], { refusedSpam: 'Slow down.' }).strings, refused('SPAM', ''), 1000)).to.equal('Slow down.');
  });

  it('counts characters in the singular for one, left or over', () => {
    expect([1, 2, 0, -1, -2].map((n) => en.charactersLeft(n))).to.deep.equal([
      '1 character left', '2 characters left', '0 characters left', '1 character over the limit', '2 characters over the limit',
    ]);
  });

  it('words the banner in zh-CN with 条 as the counter and a full-width comma', () => {
    const facts = { state: 'offline', pending: 3, storageKind: 'indexeddb', wasOnline: true, stopReason: '', deviceOffline: true } as const;
    expect(describeConnection(facts, zhCN).status).to.equal('已离线，3 条消息等待发送');
    expect(describeConnection({ ...facts, state: 'connecting', pending: 1, deviceOffline: false }, zhCN).status).to.equal('正在重新连接，1 条消息等待发送');
    expect(describeConnection(facts).status).to.equal('Offline — 3 messages waiting to send');
  });

  it('says in zh-CN that the chat is unavailable without the English reason meant for developers', () => {
    const stopped = { state: 'stopped', pending: 0, storageKind: 'indexeddb', wasOnline: false, stopReason: 'the server refused the token: token is not a JWT', deviceOffline: false } as const;
    expect(describeConnection(stopped, zhCN).status).to.equal('聊天不可用');
    expect(describeConnection(stopped).status).to.equal('Chat unavailable: the server refused the token: token is not a JWT');
  });

  it('formats times through Intl in the given locale', () => {
    const now = new Date(2026, 10, 26, 15, 0);
    const older = new Date(2026, 10, 20, 21, 5).getTime();
    expect(formatTime(older, 'en', now)).to.match(/Nov/);
    expect(formatTime(older, 'zh-CN', now)).to.match(/11月20日/);
    expect(formatTime(new Date(2026, 10, 26, 21, 5).getTime(), 'en-GB', now)).to.equal('21:05');
    expect(formatTime(new Date(2025, 11, 31, 21, 5).getTime(), 'en', now)).to.match(/2025/);
    expect(formatTime(older, 'en', now)).to.not.match(/2026/);
    expect(untilTomorrow(new Date(2026, 10, 26, 23, 59, 30))).to.equal(30_000);
    expect(formatFullTime(older, 'zh-CN')).to.match(/星期五/);
    expect(formatFullTime(older, 'en')).to.match(/Friday/);
  });
});

describe('<imbed-chat> in the page\'s language', () => {
  afterEach(unmountAll);

  it('speaks zh-CN when its own lang says so: placeholder, button and banner', async () => {
    const el = mountBare();
    el.setAttribute('lang', 'zh-CN');
    await el.updateComplete;
    expect(placeholder(el)).to.equal('输入消息……');
    expect(part(el, 'send-button').textContent?.trim()).to.equal('发送');
    // Given no client, it says it connects for a moment (a page may be fetching the token), then what is missing.
    expect(bannerText(el)).to.equal(zhCN.connecting);
    await until(() => bannerText(el) === zhCN.noClient, 'the words for a chat without a client', 4000);
  });

  it('follows the nearest ancestor with lang, also from inside another component\'s shadow root', async () => {
    const el = mountBare();
    const outer = document.createElement('div');
    outer.lang = 'zh-CN';
    const host = document.createElement('div');
    outer.append(host);
    document.body.append(outer);
    try {
      host.attachShadow({ mode: 'open' }).append(el);
      await el.updateComplete;
      expect(placeholder(el)).to.equal(zhCN.composerPlaceholder);
      // Its own lang wins over the ancestor's.
      el.lang = 'en';
      await el.updateComplete;
      expect(placeholder(el)).to.equal(en.composerPlaceholder);
    } finally {
      outer.remove();
    }
  });

  it('re-renders in the new language when lang changes at run time, and reflects it', async () => {
    const el = mountBare();
    el.lang = 'en';
    await el.updateComplete;
    expect(placeholder(el)).to.equal(en.composerPlaceholder);
    el.lang = 'zh-CN';
    await el.updateComplete;
    expect(placeholder(el)).to.equal(zhCN.composerPlaceholder);
    expect(el.getAttribute('lang')).to.equal('zh-CN');
    expect(part(el, 'composer-input').getAttribute('aria-label')).to.equal(zhCN.composerLabel);
  });

  it('marks its own words with their language where the page\'s is one it has none for, but not a host\'s words', async () => {
    const el = mountBare();
    el.lang = 'fr';
    await el.updateComplete;
    // English words on a French page: a screen reader reads them as English, not with a French voice.
    expect(placeholder(el)).to.equal(en.composerPlaceholder);
    const input = part(el, 'composer-input');
    expect(input.closest('[lang]')?.getAttribute('lang')).to.match(/^en\b/);
    el.lang = 'zh-CN';
    await el.updateComplete;
    expect(input.closest('[lang]')?.getAttribute('lang')).to.equal('zh-CN');
    // The host's own words are in whatever language the page declares.
    el.lang = 'fr';
    el.strings = { composerPlaceholder: 'Écrivez un message' };
    await el.updateComplete;
    expect(input.closest('[lang]') === null).to.equal(true);
  });

  it('lets the host replace single words in any language', async () => {
    const el = mountBare();
    el.lang = 'zh-CN';
    el.strings = { send: '发出', composerPlaceholder: '有问题尽管问' };
    await el.updateComplete;
    expect(part(el, 'send-button').textContent?.trim()).to.equal('发出');
    expect(placeholder(el)).to.equal('有问题尽管问');
    // Words not overridden stay in the chosen language.
    expect(bannerText(el)).to.equal(zhCN.connecting);
  });

  it('writes a time label again once its day is over, though nothing else changed', async () => {
    const chat = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await chat.send('late at night');
    await chat.updateComplete;
    const today = part(chat, 'time').textContent!.trim();
    expect(today).to.not.match(/[A-Z][a-z]{2} \d/);
    // The clock passes midnight: a day later, as the list's midnight timer wakes it.
    const RealDate = Date;
    const later = RealDate.now() + 24 * 3600 * 1000;
    globalThis.Date = class extends RealDate {
      constructor(...args: unknown[]) {
        if (args.length === 0) super(later);
        else super(...(args as [number]));
      }
      static override now(): number {
        return later;
      }
    } as DateConstructor;
    try {
      chat.requestUpdate();
      await chat.updateComplete;
      expect(part(chat, 'time').textContent!.trim()).to.match(/[A-Z][a-z]{2} \d+, /);
    } finally {
      globalThis.Date = RealDate;
    }
  });

  it('shows message times in the chat\'s locale', async () => {
    const conv = freshConv();
    const chat = await mountChat({ user: freshUser('alice'), conversation: conv });
    chat.lang = 'zh-CN';
    await chat.send('你好');
    await chat.updateComplete;
    expect(texts(chat)).to.deep.equal(['你好']);
    const time = part(chat, 'time');
    expect(time.title).to.match(/星期/);
    chat.lang = 'en';
    await chat.updateComplete;
    expect(part(chat, 'time').title).to.match(/day,/);
  });
});
