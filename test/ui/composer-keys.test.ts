import { expect } from '@esm-bundle/chai';
import { sendKeys } from '@web/test-runner-commands';
import { ImbedClient, LIMITS } from '../../src/client/index.js';
import { zhCN } from '../../src/ui/locales/zh-CN.js';
import { freshConv, tokenFor, until } from '../browser-support/server.js';
import { fillComposer, freshUser, maybePart, messageNodes, mountBare, mountChat, part, root, statusOf, texts, unmountAll, untilOnline } from './fixtures.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';

async function onlineChat(): Promise<ImbedChat> {
  const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
  await untilOnline(el);
  return el;
}

function focusComposer(el: ImbedChat): HTMLTextAreaElement {
  const input = part<HTMLTextAreaElement>(el, 'composer-input');
  input.focus();
  return input;
}

function keydown(target: HTMLElement, init: KeyboardEventInit & { keyCode?: number }): KeyboardEvent {
  const event = new KeyboardEvent('keydown', { bubbles: true, composed: true, cancelable: true, ...init });
  // keyCode is read-only and not settable through the init dict in Chromium.
  if (init.keyCode !== undefined) Object.defineProperty(event, 'keyCode', { value: init.keyCode });
  target.dispatchEvent(event);
  return event;
}

describe('<imbed-chat> composer keys', () => {
  afterEach(unmountAll);

  it('sends on Enter, clears the input and keeps focus', async () => {
    const el = await onlineChat();
    const input = focusComposer(el);
    await sendKeys({ type: 'hello there' });
    expect(input.value).to.equal('hello there');
    await sendKeys({ press: 'Enter' });
    await until(() => statusOf(el, 'hello there') === 'sent', 'the message to be sent');
    expect(input.value).to.equal('');
    expect(root(el).activeElement).to.equal(input);
    expect(texts(el)).to.deep.equal(['hello there']);
  });

  it('inserts a newline on Shift+Enter and sends both lines as one message', async () => {
    const el = await onlineChat();
    const input = focusComposer(el);
    await sendKeys({ type: 'first line' });
    await sendKeys({ down: 'Shift' });
    await sendKeys({ press: 'Enter' });
    await sendKeys({ up: 'Shift' });
    await sendKeys({ type: 'second line' });
    expect(input.value).to.equal('first line\nsecond line');
    expect(messageNodes(el)).to.have.length(0);
    await sendKeys({ press: 'Enter' });
    await until(() => statusOf(el, 'first line\nsecond line') === 'sent', 'the two-line message to be sent');
    expect(texts(el)).to.deep.equal(['first line\nsecond line']);
    const bubble = messageNodes(el)[0]!.querySelector<HTMLElement>('[part~="text"]')!;
    expect(getComputedStyle(bubble).whiteSpace).to.equal('pre-wrap');
  });

  it('sends when the send button is clicked, and keeps focus in the input', async () => {
    const el = await onlineChat();
    const input = focusComposer(el);
    await sendKeys({ type: 'clicked' });
    part(el, 'send-button').click();
    await until(() => statusOf(el, 'clicked') === 'sent', 'the clicked message to be sent');
    expect(input.value).to.equal('');
    expect(root(el).activeElement).to.equal(input);
  });

  it('never sends on the Enter that commits an IME composition', async () => {
    const el = await onlineChat();
    const input = focusComposer(el);
    fillComposer(el, 'にほんご');

    input.dispatchEvent(new CompositionEvent('compositionstart', { bubbles: true, composed: true }));
    const composingEnter = keydown(input, { key: 'Enter', code: 'Enter', isComposing: true, keyCode: 229 });
    // Safari's order: compositionend first, then the committing keydown with isComposing false but keyCode 229.
    input.dispatchEvent(new CompositionEvent('compositionend', { bubbles: true, composed: true, data: 'にほんご' }));
    const safariEnter = keydown(input, { key: 'Enter', code: 'Enter', isComposing: false, keyCode: 229 });

    expect(composingEnter.defaultPrevented).to.equal(false);
    expect(safariEnter.defaultPrevented).to.equal(false);
    expect(input.value).to.equal('にほんご');

    // A plain Enter afterwards sends exactly one message: had the IME Enters sent, there would be more.
    await sendKeys({ press: 'Enter' });
    await until(() => statusOf(el, 'にほんご') === 'sent', 'the composed text to be sent');
    expect(texts(el)).to.deep.equal(['にほんご']);
  });

  it('never sends on Enter between compositionstart and compositionend, even without isComposing', async () => {
    const el = await onlineChat();
    const input = focusComposer(el);
    fillComposer(el, '漢字');
    input.dispatchEvent(new CompositionEvent('compositionstart', { bubbles: true, composed: true }));
    const enter = keydown(input, { key: 'Enter', code: 'Enter', keyCode: 13 });
    expect(enter.defaultPrevented).to.equal(false);
    expect(input.value).to.equal('漢字');
    input.dispatchEvent(new CompositionEvent('compositionend', { bubbles: true, composed: true, data: '漢字' }));
    const after = keydown(input, { key: 'Enter', code: 'Enter', keyCode: 13 });
    expect(after.defaultPrevented).to.equal(true);
    await until(() => statusOf(el, '漢字') === 'sent', 'the text to be sent after the composition ended');
    expect(texts(el)).to.deep.equal(['漢字']);
  });

  it('keeps the text in the composer, without a developer\'s error, when Enter comes before the chat has a client', async () => {
    const el = mountBare();
    await el.updateComplete;
    const input = focusComposer(el);
    await sendKeys({ type: 'hi, I need help' });
    await sendKeys({ press: 'Enter' });
    await el.updateComplete;
    expect(input.value).to.equal('hi, I need help');
    expect(part(el, 'composer-error').textContent).to.equal('');
  });

  it('does nothing for empty or whitespace-only text', async () => {
    const el = await onlineChat();
    const input = focusComposer(el);
    await sendKeys({ press: 'Enter' });
    await sendKeys({ type: '   ' });
    await sendKeys({ press: 'Enter' });
    part(el, 'send-button').click();
    await el.updateComplete;
    expect(messageNodes(el)).to.have.length(0);
    expect(el.client!.pendingCount()).to.equal(0);
    // Then a real message: it must be the only one.
    await sendKeys({ type: 'x' });
    await sendKeys({ press: 'Enter' });
    await until(() => statusOf(el, '   x') === 'sent', 'the real message to be sent');
    expect(texts(el)).to.deep.equal(['   x']);
    expect(input.value).to.equal('');
  });

  it('refuses text over the server\'s limit with a visible message and a counter, keeping the draft', async () => {
    const el = await onlineChat();
    const input = focusComposer(el);
    expect(maybePart(el, 'counter')).to.equal(null);
    // The test server's limit (1000), stated in welcome, not the protocol's.
    const limit = el.client!.maxText;
    expect(limit).to.equal(1000).and.below(LIMITS.maxText);

    fillComposer(el, 'a'.repeat(limit - 10));
    await el.updateComplete;
    expect(part(el, 'counter').textContent).to.contain('10 characters left');

    fillComposer(el, 'a'.repeat(limit + 5));
    await el.updateComplete;
    expect(part(el, 'counter').textContent).to.contain('5 characters over the limit');
    await sendKeys({ press: 'Enter' });
    await el.updateComplete;
    expect(part(el, 'composer-error').textContent).to.contain(`limit is ${limit} characters`);
    expect(input.value).to.have.length(limit + 5);
    expect(messageNodes(el)).to.have.length(0);
    expect(el.client!.pendingCount()).to.equal(0);
    // Said again in the chat's new language when it changes.
    el.lang = 'zh-CN';
    await until(() => part(el, 'send-button').textContent?.trim() === zhCN.send, 'the Chinese words');
    expect(part(el, 'composer-error').textContent).to.equal(zhCN.tooLong(limit));
    el.lang = 'en';
    await el.updateComplete;

    fillComposer(el, 'short again');
    await el.updateComplete;
    expect(part(el, 'composer-error').textContent).to.equal('');
  });

  it('gives a refused message back to the emptied input, unless a new one was started', async () => {
    // A host's client it never started: every send() refuses.
    const conv = freshConv();
    const el = mountBare();
    el.conversation = conv;
    el.client = new ImbedClient({ url: 'ws://127.0.0.1:9/ws', token: await tokenFor(freshUser('alice')), conversations: [conv] });
    await el.updateComplete;
    const input = fillComposer(el, 'no client to take this');
    part(el, 'send-button').click();
    expect(input.value, 'cleared on send').to.equal('');
    await until(() => part(el, 'composer-error').textContent !== '', 'the refusal');
    await el.updateComplete;
    expect(input.value).to.equal('no client to take this');

    fillComposer(el, 'first');
    part(el, 'send-button').click();
    fillComposer(el, 'second');
    await until(() => part(el, 'composer-error').textContent !== '', 'the second refusal');
    await el.updateComplete;
    expect(input.value).to.equal('second');
  });
});
