/**
 * Accessibility of `<imbed-chat>`: axe-core finds nothing in any mode, theme, language or state; only
 * new messages are announced; the keyboard reaches and works every control with focus in sensible
 * places; every control is named, in Chinese too.
 */
import { expect } from '@esm-bundle/chai';
import { emulateMedia, sendKeys, setViewport } from '@web/test-runner-commands';
import 'axe-core';
import type * as Axe from 'axe-core';
import { ImbedClient, LIMITS } from '../../src/client/index.js';
import { announcement } from '../../src/ui/announcer.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';
import { zhCN } from '../../src/ui/locales/zh-CN.js';
import { en } from '../../src/ui/strings.js';
import { THEMES } from '../../src/ui/styles.js';
import { adminCall, freshConv, startServer, stopServer, until } from '../browser-support/server.js';
import { REFUSED_TEXT } from '../support/refused-text.js';
import { bannerText, fillComposer, freshUser, maybePart, mountChat, mountLauncher, otherUser, part, root, statusOf, stopOthers, texts, untilOnline, unmountAll } from './fixtures.js';

// axe-core is a UMD script: imported for its side effect, it sets `window.axe`.
const axe = (window as unknown as { axe: typeof Axe }).axe;

/** The runner's page size; every test that changes it puts it back. */
const DEFAULT_VIEWPORT = { width: 800, height: 600 };

const mountedHere: HTMLElement[] = [];

afterEach(async () => {
  for (const node of mountedHere.splice(0)) node.remove();
  unmountAll();
  await stopOthers();
  await emulateMedia({ colorScheme: 'light' });
});

/**
 * axe's violations inside `el` (its shadow root included), one line per rule with the nodes it names.
 * Every WCAG 2.0/2.1/2.2 A and AA rule and the best practices run, plus `label-content-name-mismatch`
 * (WCAG 2.5.3, still marked experimental in axe, so off unless asked for).
 */
async function violations(el: HTMLElement): Promise<string[]> {
  const results = await axe.run(el, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    rules: { 'label-content-name-mismatch': { enabled: true } },
  });
  return results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => `${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`).join(' | ')}`);
}

async function expectNoViolations(el: ImbedChat, what: string): Promise<void> {
  await el.updateComplete;
  expect(await violations(el), what).to.deep.equal([]);
}

/** Runs axe in both themes (and then puts the theme back to `auto`). */
async function expectNoViolationsInBothThemes(el: ImbedChat, what: string): Promise<void> {
  for (const theme of ['light', 'dark'] as const) {
    el.theme = theme;
    await expectNoViolations(el, `${what}, ${theme}`);
  }
  el.theme = 'auto';
}

/** A page button around the element, to Tab in from and out to. */
function pageButton(label: string, where: 'before' | 'after', el: HTMLElement): HTMLButtonElement {
  const button = document.createElement('button');
  button.textContent = label;
  if (where === 'before') el.before(button);
  else el.after(button);
  mountedHere.push(button);
  return button;
}

/**
 * A chat with Bob's message (with a link) from the history, an own sent message and an own message the
 * server refused (Retry and Discard), online.
 */
async function chatWithEveryKindOfMessage(el: ImbedChat, conversation: string, bob: ImbedClient): Promise<void> {
  await untilOnline(el);
  await until(() => texts(el).length >= 1, 'the history to load');
  await el.send('mine, sent');
  await until(() => statusOf(el, 'mine, sent') === 'sent', 'the own message to be sent');
  await el.send(REFUSED_TEXT);
  await until(() => statusOf(el, REFUSED_TEXT) === 'failed', 'the server to refuse the message');
  expect(bob.items(conversation).length).to.be.at.least(1);
}

function activePart(el: ImbedChat): string | null {
  if (document.activeElement !== el) return null;
  return root(el).activeElement?.getAttribute('part')?.split(' ')[0] ?? null;
}

async function press(el: ImbedChat, key: string): Promise<string | null> {
  await sendKeys({ press: key });
  await el.updateComplete;
  return activePart(el);
}

async function shiftTab(el: ImbedChat): Promise<string | null> {
  await sendKeys({ down: 'Shift' });
  await sendKeys({ press: 'Tab' });
  await sendKeys({ up: 'Shift' });
  await el.updateComplete;
  return activePart(el);
}

/** The focused control shows a 2 px solid ring in the theme's accent (the light theme here). */
function expectFocusRing(el: ImbedChat): void {
  const focused = root(el).activeElement!;
  const style = getComputedStyle(focused);
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(THEMES.light.accent.slice(i, i + 2), 16));
  expect(focused.matches(':focus-visible'), `${focused.getAttribute('part')} matches :focus-visible`).to.equal(true);
  expect([style.outlineStyle, style.outlineWidth, style.outlineColor], `${focused.getAttribute('part')} focus ring`).to.deep.equal(['solid', '2px', `rgb(${r}, ${g}, ${b})`]);
}

function announcer(el: ImbedChat): HTMLElement {
  const region = root(el).querySelector<HTMLElement>('.announcer');
  if (!region) throw new Error('no announcer region in imbed-chat');
  return region;
}

/** Every text the announcer region held, in order, from now on. */
function recordAnnouncements(el: ImbedChat): string[] {
  const said: string[] = [];
  const region = announcer(el);
  new MutationObserver(() => {
    const text = region.textContent?.replace(/\s+/g, ' ').trim() ?? '';
    if (text && said[said.length - 1] !== text) said.push(text);
  }).observe(region, { subtree: true, childList: true, characterData: true });
  return said;
}

/** A control's accessible name as this element sets it: its `aria-label`, else its text. */
function nameOf(node: Element): string {
  return (node.getAttribute('aria-label') ?? node.textContent ?? '').trim();
}

describe('<imbed-chat> under axe-core', () => {
  it('has no violations inline, in both themes and under a dark system preference', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    // The empty-conversation hint and the dimmed (aria-disabled) send button of a blank draft.
    expect(maybePart(el, 'empty')).to.not.equal(null);
    expect(part(el, 'send-button').getAttribute('aria-disabled')).to.equal('true');
    await expectNoViolationsInBothThemes(el, 'inline');
    await emulateMedia({ colorScheme: 'dark' });
    await expectNoViolations(el, 'inline, auto under a dark system');
  });

  it('has no violations as a closed and an open launcher, in both themes and both languages', async () => {
    const el = await mountLauncher();
    await untilOnline(el);
    for (const lang of ['en', 'zh-CN']) {
      el.lang = lang;
      el.close();
      await expectNoViolationsInBothThemes(el, `launcher closed, ${lang}`);
      el.open();
      await expectNoViolationsInBothThemes(el, `launcher open, ${lang}`);
    }
  });

  it('has no violations as a full-screen launcher on a narrow viewport', async () => {
    await setViewport({ width: 375, height: 667 });
    try {
      await until(() => window.innerWidth === 375, 'the narrow viewport');
      const el = await mountLauncher();
      await untilOnline(el);
      el.open();
      await el.updateComplete;
      expect(part(el, 'panel').getBoundingClientRect().width).to.equal(375);
      await expectNoViolationsInBothThemes(el, 'full-screen launcher');
    } finally {
      await setViewport(DEFAULT_VIEWPORT);
    }
  });

  it('has no violations with every kind of message, the offline banner and a composer error, in both languages', async () => {
    const conv = freshConv();
    const bob = await otherUser(conv);
    await bob.send(conv, 'hello, see https://example.com/page');
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    await chatWithEveryKindOfMessage(el, conv, bob);
    await stopServer();
    try {
      await until(() => el.client?.state !== 'online', 'the chat to notice the server is gone');
      await el.send('queued while offline');
      await until(() => statusOf(el, 'queued while offline') === 'pending', 'the queued message');
      fillComposer(el, 'x'.repeat(LIMITS.maxText + 1));
      part(el, 'send-button').click();
      await el.updateComplete;
      expect(part(el, 'composer-error').textContent).to.not.equal('');
      expect(maybePart(el, 'retry-button')).to.not.equal(null);
      expect(maybePart(el, 'link')).to.not.equal(null);
      for (const lang of ['en', 'zh-CN']) {
        el.lang = lang;
        await el.updateComplete;
        expect(maybePart(el, 'banner-retry'), 'the offline banner offers "Retry now"').to.not.equal(null);
        await expectNoViolationsInBothThemes(el, `messages and offline banner, ${lang}`);
      }
    } finally {
      await startServer();
    }
  });

  it('has no violations with the new-messages pill', async () => {
    const conv = freshConv();
    const bob = await otherUser(conv);
    for (let i = 0; i < 30; i += 1) await bob.send(conv, `history ${i}`);
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    await untilOnline(el);
    await until(() => texts(el).length === 30, 'the history');
    part(el, 'log').scrollTop = 0;
    await bob.send(conv, 'while scrolled up');
    await until(() => maybePart(el, 'new-messages') !== null, 'the new-messages pill');
    await expectNoViolationsInBothThemes(el, 'new-messages pill');
  });

  it('has no violations with the refusal banner of a conversation the user may not use', async () => {
    const conv = freshConv('members-only');
    await adminCall('POST', 'conversations', { id: conv, kind: 'group', members: [freshUser('owner')] });
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    await until(() => bannerText(el).includes(en.notMember), 'the refusal banner');
    expect(part(el, 'banner').dataset.tone).to.equal('error');
    await expectNoViolationsInBothThemes(el, 'refusal banner');
  });
});

describe('<imbed-chat> announcements', () => {
  it('announces a message from someone else that arrives after the catch-up, and neither the history nor own messages', async () => {
    const conv = freshConv();
    const bob = await otherUser(conv);
    await bob.send(conv, 'from the history');
    await until(() => bob.items(conv).every((item) => item.status === 'sent'), 'the history to be stored');
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    const said = recordAnnouncements(el);
    await untilOnline(el);
    await until(() => texts(el).includes('from the history'), 'the history to show');
    await el.send('my own');
    await until(() => statusOf(el, 'my own') === 'sent', 'the own message to be sent');
    await bob.send(conv, 'just arrived');
    await until(() => said.length > 0, 'an announcement');
    expect(said).to.deep.equal(['Bob: just arrived']);
    // The region is a polite status without a part; the log is not live, so it reads nothing out itself.
    const region = announcer(el);
    expect([region.getAttribute('role'), region.hasAttribute('part')]).to.deep.equal(['status', false]);
    expect(part(el, 'log').getAttribute('aria-live')).to.equal('off');
    expect(region.getBoundingClientRect().width).to.be.at.most(1);
  });

  it('announces a message of the reader\'s that the server refused for good', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    const said = recordAnnouncements(el);
    await untilOnline(el);
    await el.send(REFUSED_TEXT);
    await until(() => statusOf(el, REFUSED_TEXT) === 'failed', 'the refusal');
    await until(() => said.length > 0, 'an announcement');
    expect(said).to.deep.equal([`Not sent: ${REFUSED_TEXT}`]);
  });

  it('announces again when a message says the same as the last one, and in the chat\'s language', async () => {
    const conv = freshConv();
    const bob = await otherUser(conv);
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    el.lang = 'zh-CN';
    await untilOnline(el);
    const said: string[] = [];
    const region = announcer(el);
    new MutationObserver(() => said.push(region.textContent?.trim() ?? '')).observe(region, { subtree: true, childList: true });
    await bob.send(conv, '你好');
    await until(() => said.includes('Bob：你好'), 'the first announcement');
    const count = said.length;
    await bob.send(conv, '你好');
    // A new node, not the same text left in place: screen readers read additions.
    await until(() => said.length > count && said[said.length - 1] === 'Bob：你好', 'the repeated announcement');
  });

  it('words a batch as one line per message, a count above three, and cuts long texts', () => {
    const message = (name: string, text: string) => ({ conv: 'c', seq: 1, cmid: 'm', from: name, name, text, ts: 0 });
    expect(announcement([message('Bob', 'hi'), message('Carol', 'hey')], en)).to.deep.equal(['Bob: hi', 'Carol: hey']);
    expect(announcement([1, 2, 3, 4].map((i) => message('Bob', `m${i}`)), en)).to.deep.equal(['4 new messages']);
    expect(announcement([1, 2, 3, 4, 5].map((i) => message('Bob', `m${i}`)), zhCN)).to.deep.equal(['5 条新消息']);
    const [long] = announcement([message('Bob', 'y'.repeat(1000))], en);
    expect(long!.length).to.be.below(200);
    expect(long!.endsWith('…')).to.equal(true);
    // Cut before an emoji that would straddle the limit, not through it.
    const [emoji] = announcement([message('Bob', `${'y'.repeat(158)}😀😀`)], en);
    expect(emoji).to.equal(`Bob: ${'y'.repeat(158)}…`);
  });

  it('reads refusals after the arrivals of their batch, never counted among the new messages', () => {
    const message = (name: string, text: string) => ({ conv: 'c', seq: 1, cmid: 'm', from: name, name, text, ts: 0 });
    const arrived = [1, 2, 3].map((i) => message('Bob', `m${i}`));
    expect(announcement(arrived, en, ['mine'])).to.deep.equal(['Bob: m1', 'Bob: m2', 'Bob: m3', 'Not sent: mine']);
    expect(announcement([...arrived, message('Bob', 'm4')], en, ['mine'])).to.deep.equal(['4 new messages', 'Not sent: mine']);
    expect(announcement([], zhCN, ['a', 'b', 'c'])).to.deep.equal(['发送失败：a', '发送失败：b', '发送失败：c']);
    expect(announcement([], en, ['a', 'b', 'c', 'd'])).to.deep.equal(['4 messages not sent']);
    expect(announcement([], zhCN, ['a', 'b', 'c', 'd'])).to.deep.equal(['4 条消息发送失败']);
  });
});

describe('<imbed-chat> by keyboard', () => {
  it('walks the launcher: Tab to the button, Enter opens into the composer, every control in order, Escape closes onto the button', async () => {
    const el = await mountLauncher();
    const before = pageButton('before', 'before', el);
    const after = pageButton('after', 'after', el);
    await untilOnline(el);
    before.focus();
    expect(await press(el, 'Tab')).to.equal('launcher-button');
    expectFocusRing(el);
    expect(await press(el, 'Enter')).to.equal('composer-input');
    expect(el.opened).to.equal(true);
    expectFocusRing(el);
    expect(await shiftTab(el)).to.equal('log');
    expectFocusRing(el);
    expect(await shiftTab(el)).to.equal('close-button');
    expectFocusRing(el);
    expect(await shiftTab(el)).to.equal('launcher-button');
    expect(await press(el, 'Tab')).to.equal('close-button');
    expect(await press(el, 'Tab')).to.equal('log');
    expect(await press(el, 'Tab')).to.equal('composer-input');
    await sendKeys({ type: 'typed by keyboard' });
    expect(await press(el, 'Tab')).to.equal('send-button');
    expectFocusRing(el);
    // Sending from the button brings focus back to the composer for the next message.
    expect(await press(el, 'Enter')).to.equal('composer-input');
    await until(() => texts(el).includes('typed by keyboard'), 'the message to show');
    // Not modal on a wide viewport: Tab goes on to the page.
    await press(el, 'Tab');
    await press(el, 'Tab');
    expect(document.activeElement).to.equal(after);
    part(el, 'composer-input').focus();
    expect(await press(el, 'Escape')).to.equal('launcher-button');
    expect(el.opened).to.equal(false);
    // The close button works from the keyboard too, and also gives focus back to the launcher button.
    await press(el, 'Enter');
    await shiftTab(el);
    expect(await shiftTab(el)).to.equal('close-button');
    expect(await press(el, 'Enter')).to.equal('launcher-button');
    expect(el.opened).to.equal(false);
  });

  it('keeps Tab inside the full-screen panel on a narrow viewport', async () => {
    await setViewport({ width: 375, height: 667 });
    try {
      await until(() => window.innerWidth === 375, 'the narrow viewport');
      const el = await mountLauncher();
      pageButton('after', 'after', el);
      await untilOnline(el);
      part(el, 'launcher-button').focus();
      expect(await press(el, 'Enter')).to.equal('composer-input');
      expect(await press(el, 'Tab')).to.equal('send-button');
      expect(await press(el, 'Tab')).to.equal('close-button');
      expect(await shiftTab(el)).to.equal('send-button');
      expect(await press(el, 'Escape')).to.equal('launcher-button');
    } finally {
      await setViewport(DEFAULT_VIEWPORT);
    }
  });

  it('reaches Retry and Discard from the log, and keeps focus in the conversation when they go away', async () => {
    const conv = freshConv();
    const bob = await otherUser(conv);
    await bob.send(conv, 'hello');
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    await chatWithEveryKindOfMessage(el, conv, bob);
    const log = part(el, 'log');
    log.focus();
    expect(await press(el, 'Tab')).to.equal('retry-button');
    expectFocusRing(el);
    expect(await press(el, 'Tab')).to.equal('discard-button');
    expectFocusRing(el);
    expect(await shiftTab(el)).to.equal('retry-button');
    let refusals = 0;
    el.addEventListener('imbed-error', () => (refusals += 1));
    await press(el, 'Enter');
    await until(() => refusals > 0, 'the server to refuse the message again');
    await until(() => statusOf(el, REFUSED_TEXT) === 'failed', 'the message to fail again');
    // The button may have gone while the message was pending: focus is never dropped to the page.
    expect(document.activeElement).to.equal(el);
    log.focus();
    await press(el, 'Tab');
    expect(await press(el, 'Tab')).to.equal('discard-button');
    await press(el, 'Enter');
    await until(() => statusOf(el, REFUSED_TEXT) === null, 'the message to be discarded');
    await el.updateComplete;
    expect(activePart(el)).to.equal('log');
  });
});

describe('<imbed-chat> failed messages for a screen reader', () => {
  it('describes each Retry and Discard button by the text of its own message', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    const refused = [`first ${REFUSED_TEXT}`, `second ${REFUSED_TEXT}`];
    for (const text of refused) {
      await el.send(text);
      await until(() => statusOf(el, text) === 'failed', 'the server to refuse the message');
    }
    await el.updateComplete;
    // Two buttons named alike are told apart by what they act on.
    const described = [...root(el).querySelectorAll('[part~="retry-button"], [part~="discard-button"]')].map((button) => {
      const id = button.getAttribute('aria-describedby');
      return id === null ? null : root(el).getElementById(id)?.textContent?.trim();
    });
    expect(described).to.deep.equal([refused[0], refused[0], refused[1], refused[1]]);
  });
});

describe('<imbed-chat> names in Chinese', () => {
  it('names every control in zh-CN, each name holding the words the control shows', async () => {
    const conv = freshConv();
    const bob = await otherUser(conv);
    await bob.send(conv, '你好');
    const el = await mountLauncher(conv);
    el.lang = 'zh-CN';
    await el.updateComplete;
    expect(nameOf(part(el, 'launcher-button'))).to.equal(zhCN.openChat(0));
    el.open();
    await chatWithEveryKindOfMessage(el, conv, bob);
    expect(nameOf(part(el, 'launcher-button'))).to.equal(zhCN.closeChat);
    expect(nameOf(part(el, 'close-button'))).to.equal('关闭聊天');
    expect(nameOf(part(el, 'log'))).to.equal('消息');
    expect(nameOf(part(el, 'composer-input'))).to.equal('输入消息');
    expect(nameOf(part(el, 'send-button'))).to.equal('发送');
    expect(nameOf(part(el, 'retry-button'))).to.equal('重试发送这条消息');
    expect(nameOf(part(el, 'discard-button'))).to.equal('删除这条消息');
    const panel = part(el, 'panel');
    expect(root(el).getElementById(panel.getAttribute('aria-labelledby')!)?.textContent).to.equal('聊天');
    // Every button and field has a name, and a visible word is part of it (speech users say what they see).
    for (const control of root(el).querySelectorAll('button, textarea')) {
      const name = nameOf(control);
      expect(name, control.outerHTML).to.not.equal('');
      expect(/[a-z]/i.test(name), `${name} is not English`).to.equal(false);
      const shown = control.tagName === 'BUTTON' ? (control.textContent ?? '').trim() : '';
      expect(name, 'the name holds the shown words').to.contain(shown);
    }
  });
});
