import { expect } from '@esm-bundle/chai';
import { emulateMedia } from '@web/test-runner-commands';
import { freshConv, until } from '../browser-support/server.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';
import { fillComposer, freshUser, messageNode, mountChat, otherUser, part, stopOthers, texts, unmountAll, untilOnline } from './fixtures.js';

/** The node of the message that reads `text`. */
function message(el: ImbedChat, text: string): HTMLElement {
  const node = messageNode(el, text);
  if (!node) throw new Error(`no message "${text}"`);
  return node;
}

function bubble(el: ImbedChat, text: string): DOMRect {
  return message(el, text).querySelector('[part~="text"]')!.getBoundingClientRect();
}

/** The space between the nodes of two consecutive messages. */
function gap(el: ImbedChat, first: string, second: string): number {
  return message(el, second).getBoundingClientRect().top - message(el, first).getBoundingClientRect().bottom;
}

/** The log's content box: inside its padding and scrollbar. */
function content(el: ImbedChat): { left: number; right: number } {
  const log = part(el, 'log');
  const box = log.getBoundingClientRect();
  const style = getComputedStyle(log);
  return {
    left: box.left + log.clientLeft + parseFloat(style.paddingLeft),
    right: box.left + log.clientLeft + log.clientWidth - parseFloat(style.paddingRight),
  };
}

describe('<imbed-chat> message layout', () => {
  afterEach(async () => {
    unmountAll();
    await stopOthers();
  });

  it('puts short messages against their side of the log, with a gap between consecutive ones', async () => {
    const conv = freshConv();
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    el.style.width = '420px';
    await untilOnline(el);
    const bob = await otherUser(conv);
    await bob.send(conv, 'yo');
    await bob.send(conv, 'there?');
    await until(() => texts(el).includes('there?'), "bob's messages to arrive");
    await el.send('hi');
    await el.send('ok');
    await until(() => texts(el).includes('ok'), 'own messages to render');
    await el.updateComplete;

    const edges = content(el);
    expect(bubble(el, 'hi').right, 'own message at the inline-end edge').to.be.closeTo(edges.right, 1);
    expect(bubble(el, 'yo').left, "someone else's message at the inline-start edge").to.be.closeTo(edges.left, 1);
    // Same sender, no name between them: only the list's gap separates the two.
    expect(gap(el, 'hi', 'ok'), 'gap between own messages').to.be.above(1);
    expect(gap(el, 'yo', 'there?'), "gap between someone else's messages").to.be.above(1);
  });

  it('keeps a long unbroken sender name and a long draft inside a narrow chat', async () => {
    const conv = freshConv();
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    el.style.width = '320px';
    await untilOnline(el);
    const name = 'Maximilian_Alexander_Christopherson_Wolfeschlegelsteinhausenberg';
    const someone = await otherUser(conv, name);
    await someone.send(conv, 'hi');
    await until(() => texts(el).includes('hi'), 'the message to arrive');
    await el.updateComplete;
    const log = part(el, 'log');
    expect(log.scrollWidth, 'the log does not scroll sideways').to.be.at.most(log.clientWidth);

    // Chinese words may break between any two characters: a squeezed "发送" stacks.
    el.lang = 'zh-CN';
    await until(() => part(el, 'send-button').textContent?.trim() === '发送', 'the Chinese words');
    const send = part(el, 'send-button');
    const before = send.getBoundingClientRect();
    fillComposer(el, `https://example.com/${'a'.repeat(300)}`);
    await el.updateComplete;
    const after = send.getBoundingClientRect();
    // The field's text does not squeeze the button into a narrower, taller one.
    expect([after.width, after.height]).to.deep.equal([before.width, before.height]);
    const input = part(el, 'composer-input').getBoundingClientRect();
    expect(input.right, 'the field stays within the chat').to.be.at.most(el.getBoundingClientRect().right);
  });

  it('keeps the outline of bubbles in forced-colors mode', async () => {
    const conv = freshConv();
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    await untilOnline(el);
    await el.send('outlined');
    await until(() => texts(el).includes('outlined'), 'the message to render');
    await emulateMedia({ forcedColors: 'active' });
    try {
      const style = getComputedStyle(message(el, 'outlined').querySelector('[part~="text"]')!);
      // Forced colors drop backgrounds: a border the mode draws is what is left of the bubble's shape.
      expect([style.borderTopStyle, style.borderTopWidth]).to.deep.equal(['solid', '1px']);
      expect(style.borderTopColor).to.not.equal(style.backgroundColor);
    } finally {
      await emulateMedia({ forcedColors: 'none' });
    }
  });
});
