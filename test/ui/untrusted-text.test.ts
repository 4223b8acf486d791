import { expect } from '@esm-bundle/chai';
import { PROTOCOL } from '../../src/protocol/index.js';
import { freshConv, serverUrl, tokenFor, until } from '../browser-support/server.js';
import { freshUser, messageNodes, mountChat, root, statusOf, texts, unmountAll, untilOnline } from './fixtures.js';

declare global {
  interface Window {
    __xss?: number;
  }
}

describe('<imbed-chat> untrusted text', () => {
  afterEach(unmountAll);

  it('renders markup from another person as literal text, never as elements', async () => {
    const conv = freshConv();
    const alice = await mountChat({ user: freshUser('alice'), conversation: conv });
    const mallory = await mountChat({ user: freshUser('mallory'), name: '<b onmouseover="window.__xss=2">Mallory</b>', conversation: conv });
    await untilOnline(alice);
    await untilOnline(mallory);
    const img = '<img src=x onerror="window.__xss=1">';
    const script = '<script>window.__xss=3</script>';
    await mallory.send(img);
    await mallory.send(script);
    await until(() => texts(alice).length === 2, 'alice to receive both messages');
    // Mallory's own view renders her messages too; check both sides.
    await until(() => statusOf(mallory, script) === 'sent', 'mallory\'s messages to be sent');

    for (const el of [alice, mallory]) {
      expect(texts(el)).to.deep.equal([img, script]);
      expect(root(el).querySelector('img'), 'no img element').to.equal(null);
      expect(root(el).querySelector('script'), 'no script element').to.equal(null);
      expect(root(el).querySelector('b'), 'no b element').to.equal(null);
    }
    expect(messageNodes(alice)[0]!.querySelector('[part~="sender"]')?.textContent).to.equal('<b onmouseover="window.__xss=2">Mallory</b>');
    // An <img src=x> would have fired its error by now had it been created; give the page a frame anyway.
    await new Promise((resolve) => requestAnimationFrame(resolve));
    expect(window.__xss).to.equal(undefined);
  });

  it('shows a message whose cmid another member copied as two messages: nobody can hide someone else\'s', async () => {
    const conv = freshConv();
    const alice = await mountChat({ user: freshUser('alice'), conversation: conv });
    const bob = await mountChat({ user: freshUser('bob'), conversation: conv });
    await untilOnline(alice);
    await untilOnline(bob);
    await bob.send('the real message');
    await until(() => texts(alice).length === 1, 'alice to receive bob\'s message');
    const copied = messageNodes(alice)[0]!.dataset.cmid!;
    // Mallory sends through her own socket with the cmid every member saw in bob's `msg` frame.
    const ws = new WebSocket(await serverUrl(), PROTOCOL);
    await new Promise((resolve) => ws.addEventListener('open', resolve, { once: true }));
    ws.send(JSON.stringify({ type: 'hello', token: await tokenFor(freshUser('mallory')), convs: [] }));
    ws.send(JSON.stringify({ type: 'send', conv, cmid: copied, text: 'a copy' }));
    await until(() => alice.client!.items(conv).length === 2, 'alice to receive mallory\'s message');
    ws.close();
    for (const el of [alice, bob]) {
      await until(() => texts(el).length === 2, 'both messages on each side');
      expect(texts(el)).to.deep.equal(['the real message', 'a copy']);
    }
  });

  it('keeps newlines and wraps a long unbroken word inside the bubble', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    el.style.width = '320px';
    await untilOnline(el);
    const long = 'https://example.com/' + 'a'.repeat(400);
    await el.send(`line one\nline two`);
    await el.send(long);
    await until(() => statusOf(el, long) === 'sent', 'the long message');
    expect(texts(el)[0]).to.equal('line one\nline two');
    const bubble = messageNodes(el)[1]!.querySelector<HTMLElement>('[part~="text"]')!;
    expect(getComputedStyle(bubble).overflowWrap).to.equal('anywhere');
    expect(bubble.getBoundingClientRect().width).to.be.at.most(el.getBoundingClientRect().width);
    expect(bubble.scrollWidth).to.be.at.most(bubble.clientWidth + 1);
  });
});
