import { expect } from '@esm-bundle/chai';
import { freshConv, until } from '../browser-support/server.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';
import { freshUser, messageNode, mountChat, otherUser, part, stopOthers, texts, unmountAll, untilOnline } from './fixtures.js';

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
});
