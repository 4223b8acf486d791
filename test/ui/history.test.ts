import { expect } from '@esm-bundle/chai';
import { freshConv, seedMessages, serverUrl, startServer, stopServer, tokenFor, until } from '../browser-support/server.js';
import { freshUser, messageNodes, mountChat, mountLauncher, part, root, texts, unmountAll, untilOnline } from './fixtures.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';

const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r(undefined)));

/** The message node at the top of the log's viewport (or the one with `seq`), and its distance from the log's top edge. */
function topVisible(el: ImbedChat, seq?: string): { seq: string; offset: number } {
  const top = part(el, 'log').getBoundingClientRect().top;
  const node = messageNodes(el).find((n) => (seq === undefined ? n.getBoundingClientRect().bottom > top : n.dataset.seq === seq))!;
  return { seq: node.dataset.seq!, offset: node.getBoundingClientRect().top - top };
}

/** Alice's chat of `conv` once `count` messages were seeded into it, online and showing the newest. */
async function aliceAfter(conv: string, count: number, height: string): Promise<ImbedChat> {
  await seedMessages(conv, count);
  const alice = await mountChat({ user: freshUser('alice'), conversation: conv, height });
  await untilOnline(alice);
  await until(() => texts(alice).some((t) => t.startsWith(`seeded ${count} `)), 'the newest message');
  return alice;
}

function heldSeqs(el: ImbedChat): number[] {
  return el.client!.items(el.conversation).map((i) => i.seq!);
}

describe('<imbed-chat> long history', () => {
  afterEach(unmountAll);

  it('keeps at most 200 message nodes and fetches only the newest page of 3,000 messages', async () => {
    const conv = freshConv('long');
    const alice = await aliceAfter(conv, 3000, '400px');
    expect(messageNodes(alice).length).to.be.within(1, 200);
    expect(heldSeqs(alice)[0]).to.be.above(2000);
    const log = part(alice, 'log');
    expect(log.scrollHeight - log.scrollTop - log.clientHeight).to.be.at.most(1);
  });

  it('loads older pages from the server while scrolling to the top, keeping the message in view in place', async () => {
    const conv = freshConv('older');
    const alice = await aliceAfter(conv, 1000, '400px');
    const log = part(alice, 'log');
    for (let guard = 0; heldSeqs(alice)[0] !== 1; guard++) {
      expect(guard).to.be.below(200);
      const held = heldSeqs(alice).length;
      log.scrollTop = 0;
      await nextFrame();
      await alice.updateComplete;
      const before = topVisible(alice);
      await until(() => heldSeqs(alice).length > held || heldSeqs(alice)[0] === 1, 'an older page');
      await alice.updateComplete;
      await nextFrame();
      const after = topVisible(alice, before.seq);
      // Scroll positions are whole pixels: the anchor may move by a fraction of one, never more.
      if (heldSeqs(alice).length > held) expect(after.offset).to.be.closeTo(before.offset, 1);
      expect(messageNodes(alice).length).to.be.at.most(200);
    }
    expect(heldSeqs(alice)).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i + 1));
    log.scrollTop = 0;
    await until(() => texts(alice)[0]?.startsWith('seeded 1 ') ?? false, 'the first message rendered');
  });

  it('scrolls up by as much as the reader scrolls, also after messages arrived while the panel was closed', async () => {
    const conv = freshConv('closed');
    await seedMessages(conv, 700);
    const el = await mountLauncher(conv);
    await untilOnline(el);
    // Held while the panel is closed (display: none), where every message measures 0 px.
    while (heldSeqs(el).length < 450) expect(await el.client!.loadOlder(conv)).to.equal(true);
    el.open();
    await el.updateComplete;
    const log = part(el, 'log');
    await until(() => log.clientHeight > 0 && log.scrollHeight - log.scrollTop - log.clientHeight <= 1, 'the open panel at the bottom');
    const windows = new Set<string>();
    for (let step = 0; step < 30; step++) {
      await nextFrame();
      await el.updateComplete;
      const before = topVisible(el);
      log.scrollTop -= 120;
      await nextFrame();
      await el.updateComplete;
      await nextFrame();
      windows.add(messageNodes(el)[0]!.dataset.seq!);
      // The message that was at the top is still rendered, 120 px lower: the view moved by what the reader scrolled.
      expect(messageNodes(el).some((n) => n.dataset.seq === before.seq), `step ${step}: seq ${before.seq} still rendered`).to.equal(true);
      expect(topVisible(el, before.seq).offset - before.offset, `step ${step}: seq ${before.seq} moved`).to.be.closeTo(120, 1);
    }
    expect(windows.size, 'the list rendered other windows on the way').to.be.above(1);
  });

  it('fills a log that grows taller with messages, also for a reader scrolled up in a long conversation', async () => {
    const conv = freshConv('taller');
    const alice = await aliceAfter(conv, 500, '300px');
    const log = part(alice, 'log');
    // Older pages until the list holds more than it renders at once.
    while (heldSeqs(alice).length <= 300) {
      const held = heldSeqs(alice).length;
      log.scrollTop = 0;
      await until(() => heldSeqs(alice).length > held, 'an older page');
      await alice.updateComplete;
      await nextFrame();
    }
    log.scrollTop = log.scrollHeight / 2;
    await nextFrame();
    await alice.updateComplete;
    await nextFrame();
    expect(messageNodes(alice).length).to.be.below(heldSeqs(alice).length);
    alice.style.height = '2400px';
    await until(() => log.clientHeight > 2000, 'the taller log');
    await alice.updateComplete;
    await nextFrame();
    await nextFrame();
    // No part of the log's viewport is a spacer standing for messages not rendered.
    const box = log.getBoundingClientRect();
    const nodes = messageNodes(alice).map((n) => n.getBoundingClientRect());
    expect(nodes[0]!.top, 'the first node at or above the top of the view').to.be.at.most(box.top + 1);
    expect(nodes.at(-1)!.bottom, 'the last node at or below its bottom').to.be.at.least(box.bottom - 1);
  });

  it('renders the cached newest messages after a reload before the server answers', async () => {
    const conv = freshConv('cached');
    await seedMessages(conv, 500);
    const user = freshUser('alice');
    const first = await mountChat({ user, conversation: conv });
    await untilOnline(first);
    await until(() => texts(first).some((t) => t.startsWith('seeded 500 ')), 'the newest message');
    unmountAll();
    const [url, token] = [await serverUrl(), await tokenFor(user)];
    await stopServer();
    try {
      const el = document.createElement('imbed-chat');
      el.setAttribute('server', url);
      el.setAttribute('token', token);
      el.setAttribute('conversation', conv);
      el.style.cssText = 'display:flex;height:400px';
      const started = performance.now();
      document.body.append(el);
      await until(() => texts(el).some((t) => t.startsWith('seeded 500 ')), 'the cached newest message');
      const elapsed = performance.now() - started;
      expect(el.client!.state).to.not.equal('online');
      expect(messageNodes(el).length).to.be.at.most(200);
      expect(root(el).querySelector('[part~="empty"]')).to.equal(null);
      expect(elapsed).to.be.below(1000);
      el.remove();
    } finally {
      await startServer();
    }
  });
});
