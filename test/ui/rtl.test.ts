import { expect } from '@esm-bundle/chai';
import { freshConv, until } from '../browser-support/server.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';
import { freshUser, messageNode, mountChat, part, texts, twoPeople, unmountAll } from './fixtures.js';

/** Which edge of the log a message's bubble sits against. */
function side(el: ImbedChat, text: string): 'left' | 'right' {
  const node = messageNode(el, text);
  if (!node) throw new Error(`no message "${text}"`);
  const bubble = node.querySelector('[part~="text"]')!.getBoundingClientRect();
  const log = part(el, 'log').getBoundingClientRect();
  return bubble.left - log.left < log.right - bubble.right ? 'left' : 'right';
}

function sendButtonSide(el: ImbedChat): 'left' | 'right' | 'overlapping' {
  const button = part(el, 'send-button').getBoundingClientRect();
  const input = part(el, 'composer-input').getBoundingClientRect();
  if (button.right <= input.left) return 'left';
  return button.left >= input.right ? 'right' : 'overlapping';
}

describe('<imbed-chat> right-to-left', () => {
  afterEach(() => {
    unmountAll();
    document.documentElement.removeAttribute('dir');
  });

  it('mirrors on a dir="rtl" page: own messages and the send button on the left, others\' on the right', async () => {
    document.documentElement.dir = 'rtl';
    const { alice, bob } = await twoPeople();
    await bob.send('مرحبا');
    await until(() => texts(alice).includes('مرحبا'), 'alice to receive bob\'s message');
    await alice.send('hello');
    await alice.updateComplete;
    expect(side(alice, 'hello'), 'own message').to.equal('left');
    expect(side(alice, 'مرحبا'), 'someone else\'s message').to.equal('right');
    expect(sendButtonSide(alice)).to.equal('left');

    // The same element in a left-to-right page: the layout was mirrored, not fixed to one side.
    document.documentElement.dir = 'ltr';
    expect(side(alice, 'hello')).to.equal('right');
    expect(side(alice, 'مرحبا')).to.equal('left');
    expect(sendButtonSide(alice)).to.equal('right');
  });

  it('shows a right-to-left text being typed, and the times, in their own direction whatever the page\'s', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    const input = part<HTMLTextAreaElement>(el, 'composer-input');
    input.value = 'مرحبا 123 hello';
    // The direction the browser takes for the text: an Arabic sentence reads from the right on an English page.
    expect(getComputedStyle(input).direction === 'rtl' || input.matches(':dir(rtl)')).to.equal(true);
    await el.send('hello');
    await el.updateComplete;
    document.documentElement.dir = 'rtl';
    // "3:11 PM" stays in that order on a right-to-left page.
    expect(part(el, 'time').matches(':dir(ltr)')).to.equal(true);
  });

  it('follows its own dir attribute too', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    el.dir = 'rtl';
    await el.send('hello');
    await el.updateComplete;
    expect(side(el, 'hello')).to.equal('left');
    expect(sendButtonSide(el)).to.equal('left');
  });
});
