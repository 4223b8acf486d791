import { expect } from '@esm-bundle/chai';
import { ImbedClient } from '../../src/client/index.js';
import { freshConv, serverUrl, until } from '../browser-support/server.js';
import { REFUSED_TEXT } from '../support/refused-text.js';
import { fillComposer, maybePart, part, root, statusOf, texts, twoPeople, unmountAll } from './fixtures.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';

/** Waits for `n` frames: a ResizeObserver reports after the frame's layout, after its animation callbacks. */
async function frames(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => requestAnimationFrame(r));
}

function distanceFromBottom(log: HTMLElement): number {
  return log.scrollHeight - log.scrollTop - log.clientHeight;
}

async function twoPeopleWithHistory(count: number): Promise<{ alice: ImbedChat; bob: ImbedChat }> {
  const { alice, bob } = await twoPeople(freshConv(), '300px');
  for (let i = 1; i <= count; i++) await bob.send(`history ${i}`);
  await until(() => texts(alice).length === count, `alice to receive ${count} messages`);
  await alice.updateComplete;
  return { alice, bob };
}

describe('<imbed-chat> scrolling', () => {
  afterEach(unmountAll);

  it('follows new messages while the reader is at the bottom', async () => {
    const { alice, bob } = await twoPeopleWithHistory(25);
    const log = part(alice, 'log');
    expect(log.scrollHeight).to.be.above(log.clientHeight);
    await until(() => distanceFromBottom(log) <= 1, 'alice to be at the bottom');
    await bob.send('latest');
    await until(() => texts(alice).includes('latest'), 'the new message');
    await alice.updateComplete;
    expect(distanceFromBottom(log)).to.be.at.most(1);
    expect(maybePart(alice, 'new-messages')).to.equal(null);
  });

  it('stays at the newest message when the chat gets shorter, as when an on-screen keyboard opens', async () => {
    const { alice, bob } = await twoPeopleWithHistory(25);
    const log = part(alice, 'log');
    await until(() => distanceFromBottom(log) <= 1, 'alice to be at the bottom');
    const tall = log.clientHeight;
    alice.style.height = '240px';
    await until(() => log.clientHeight <= tall - 50, 'the shorter chat');
    await frames(2);
    expect(distanceFromBottom(log)).to.be.at.most(1);
    await bob.send('while typing');
    await until(() => texts(alice).includes('while typing'), 'the new message');
    await alice.updateComplete;
    expect(distanceFromBottom(log)).to.be.at.most(1);
    expect(maybePart(alice, 'new-messages')).to.equal(null);
    // A reader who scrolled up stays where they are.
    alice.style.height = '300px';
    await until(() => log.clientHeight === tall, 'the taller chat');
    log.scrollTop = 0;
    await frames(2);
    alice.style.height = '240px';
    await until(() => log.clientHeight <= tall - 50, 'the shorter chat again');
    await frames(2);
    expect(log.scrollTop).to.equal(0);
  });

  it('stays at the newest message when the text grows without a render, as when a web font loads', async () => {
    const { alice, bob } = await twoPeople(freshConv(), '300px');
    for (let i = 1; i <= 30; i++) await bob.send(`line ${i} ${'words that wrap anew '.repeat(3)}`);
    await until(() => texts(alice).length === 30, 'the 30 messages');
    await alice.updateComplete;
    const log = part(alice, 'log');
    await until(() => distanceFromBottom(log) <= 1, 'alice to be at the bottom');
    // A font that sets the same text larger: every message grows, and nothing renders.
    alice.style.setProperty('--imbed-font-size', '21px');
    await frames(3);
    expect(distanceFromBottom(log)).to.be.at.most(1);
    // And the next message still finds the reader at the bottom.
    await bob.send('after the font');
    await until(() => texts(alice).includes('after the font'), 'the new message');
    await alice.updateComplete;
    await frames(2);
    expect(distanceFromBottom(log)).to.be.at.most(1);
    expect(maybePart(alice, 'new-messages')).to.equal(null);
    // A reader who scrolled up stays with the message they were reading.
    log.scrollTop = log.scrollHeight / 3;
    await frames(2);
    const top = log.scrollTop;
    alice.style.setProperty('--imbed-font-size', '15px');
    await frames(3);
    expect(distanceFromBottom(log)).to.be.above(40);
    expect(log.scrollTop).to.be.below(top);
  });

  it('keeps the message a reader scrolled to in view when the chat gets narrower and the text wraps anew', async () => {
    const { alice, bob } = await twoPeople(freshConv(), '300px');
    for (let i = 1; i <= 40; i++) await bob.send(`long ${i} ${'words that wrap when the chat is narrow '.repeat(4)}`);
    await until(() => texts(alice).length === 40, 'the 40 messages');
    alice.style.width = '600px';
    const log = part(alice, 'log');
    log.scrollTop = log.scrollHeight / 2;
    await frames(2);
    const inView = () => {
      const box = log.getBoundingClientRect();
      return [...root(alice).querySelectorAll<HTMLElement>('[part~="message"]')].find((n) => n.getBoundingClientRect().bottom > box.top)!;
    };
    const seen = inView();
    alice.style.width = '320px';
    await frames(3);
    const box = log.getBoundingClientRect();
    const rect = seen.getBoundingClientRect();
    expect(rect.bottom > box.top && rect.top < box.bottom, 'the same message still in view').to.equal(true);
  });

  it('shows a New messages pill instead of jumping when the reader scrolled up, and scrolls down on click', async () => {
    const { alice, bob } = await twoPeopleWithHistory(25);
    const log = part(alice, 'log');
    log.scrollTop = 0;
    await bob.send('while you were reading');
    await until(() => texts(alice).includes('while you were reading'), 'the new message');
    await until(() => maybePart(alice, 'new-messages') !== null, 'the pill');
    expect(log.scrollTop).to.equal(0);
    const pill = part<HTMLButtonElement>(alice, 'new-messages');
    expect(pill.textContent?.trim()).to.equal('New messages');

    pill.click();
    await alice.updateComplete;
    expect(distanceFromBottom(log)).to.be.at.most(1);
    expect(maybePart(alice, 'new-messages')).to.equal(null);
  });

  it('shows the pill for someone else\'s new message also when a failed one of yours is last', async () => {
    const { alice, bob } = await twoPeopleWithHistory(25);
    // The server refuses it, and it stays last.
    const refused = REFUSED_TEXT;
    await alice.send(refused);
    await until(() => statusOf(alice, refused) === 'failed', 'the refusal');
    const log = part(alice, 'log');
    log.scrollTop = 0;
    await frames(2);
    await bob.send('after the failure');
    await until(() => texts(alice).includes('after the failure'), 'the new message');
    await until(() => maybePart(alice, 'new-messages') !== null, 'the pill');
    expect(log.scrollTop).to.equal(0);
  });

  it('hides the pill when the reader scrolls to the bottom themselves', async () => {
    const { alice, bob } = await twoPeopleWithHistory(25);
    const log = part(alice, 'log');
    log.scrollTop = 0;
    await bob.send('another one');
    await until(() => maybePart(alice, 'new-messages') !== null, 'the pill');
    log.scrollTop = log.scrollHeight;
    await until(() => maybePart(alice, 'new-messages') === null, 'the pill to go');
  });

  it('keeps the reader\'s place when their own message arrives from another device', async () => {
    const { alice } = await twoPeopleWithHistory(25);
    const log = part(alice, 'log');
    log.scrollTop = 0;
    await frames(2);
    // Alice again, in another browser: her message reaches this page stored, never pending here.
    const elsewhere = new ImbedClient({ url: await serverUrl(), token: alice.token, conversations: [alice.conversation], storage: 'memory' });
    elsewhere.start();
    try {
      await elsewhere.send(alice.conversation, 'from my phone');
      await until(() => texts(alice).includes('from my phone'), 'the message');
      await alice.updateComplete;
      await frames(2);
      expect(log.scrollTop).to.equal(0);
    } finally {
      await elsewhere.stop();
    }
  });

  it('always scrolls to the bottom when the reader sends a message', async () => {
    const { alice } = await twoPeopleWithHistory(25);
    const log = part(alice, 'log');
    log.scrollTop = 0;
    fillComposer(alice, 'my reply');
    part(alice, 'send-button').click();
    await until(() => statusOf(alice, 'my reply') !== null, 'the own message');
    await alice.updateComplete;
    expect(distanceFromBottom(log)).to.be.at.most(1);
    expect(maybePart(alice, 'new-messages')).to.equal(null);
  });
});
