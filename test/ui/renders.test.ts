import { expect } from '@esm-bundle/chai';
import { ImbedClient } from '../../src/client/index.js';
import { freshConv, serverUrl, startServer, stopServer, tokenFor, until } from '../browser-support/server.js';
import { ImbedChat } from '../../src/ui/imbed-chat.component.js';
import { bannerText, maybePart, messageNodes, mountBare, mountChat, part, root, freshUser, statusOf, texts, twoPeople, unmountAll, untilOnline } from './fixtures.js';

describe('<imbed-chat> rendering', () => {
  afterEach(unmountAll);

  it('is registered as imbed-chat and renders its parts in a shadow root', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    expect(customElements.get('imbed-chat')).to.equal(el.constructor);
    for (const name of ['banner', 'log', 'composer', 'composer-input', 'send-button']) {
      expect(maybePart(el, name), `part ${name}`).to.not.equal(null);
    }
    expect(document.querySelector('imbed-chat [part]'), 'parts live in the shadow root, not the light DOM').to.equal(null);
  });

  it('loads the tag module without throwing on a page that registered the class under its own name', async () => {
    // A page of its own: a fresh module map and registry, as a host importing imbed/element then imbed has.
    const frame = document.createElement('iframe');
    const component = new URL('/src/ui/imbed-chat.component.ts', location.origin).href;
    const tagModule = new URL('/src/ui/imbed-chat.ts', location.origin).href;
    frame.srcdoc = `<script type="module">
      import { ImbedChat } from '${component}';
      customElements.define('my-chat', ImbedChat);
      let error = null;
      try { await import('${tagModule}'); } catch (thrown) { error = String(thrown); }
      parent.postMessage({ error, mine: customElements.get('my-chat') === ImbedChat, tag: customElements.get('imbed-chat') !== undefined }, '*');
    </script>`;
    const answer = new Promise<{ error: string | null; mine: boolean; tag: boolean }>((resolve) => {
      const onMessage = (event: MessageEvent) => {
        if (event.source !== frame.contentWindow) return;
        window.removeEventListener('message', onMessage);
        resolve(event.data);
      };
      window.addEventListener('message', onMessage);
    });
    document.body.append(frame);
    try {
      expect(await answer).to.deep.equal({ error: null, mine: true, tag: false });
    } finally {
      frame.remove();
    }
  });

  it('renders a subclass registered under another name beside imbed-chat', async () => {
    class SupportChat extends ImbedChat {}
    customElements.define('support-chat', SupportChat);
    const el = document.createElement('support-chat') as SupportChat;
    el.style.height = '400px';
    document.body.append(el);
    try {
      await el.updateComplete;
      expect(customElements.get('imbed-chat')).to.equal(ImbedChat);
      for (const name of ['banner', 'log', 'composer']) expect(maybePart(el, name), `part ${name}`).to.not.equal(null);
    } finally {
      el.remove();
    }
  });

  it('exposes the list as a log that is not read out whole, and labels the composer and its button', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    const log = part(el, 'log');
    expect(log.getAttribute('role')).to.equal('log');
    // New messages are announced through a separate status region (test/ui/a11y.test.ts).
    expect(log.getAttribute('aria-live')).to.equal('off');
    expect(part(el, 'composer-input').getAttribute('aria-label')).to.be.a('string').and.not.empty;
    expect(part(el, 'send-button').textContent?.trim()).to.be.a('string').and.not.empty;
    const banner = part(el, 'banner');
    expect(banner.getAttribute('role')).to.equal('status');
    expect(banner.getAttribute('aria-live')).to.equal('polite');
  });

  it('says it is connecting before the first welcome, and hides the banner once online with nothing waiting', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    const seen = new Set<string>();
    const observer = new MutationObserver(() => seen.add(bannerText(el)));
    observer.observe(root(el), { subtree: true, childList: true, characterData: true });
    seen.add(bannerText(el));
    await untilOnline(el);
    observer.disconnect();
    expect([...seen].some((text) => text.startsWith('Connecting') || text.startsWith('Catching up'))).to.equal(true);
    expect(bannerText(el)).to.equal('');
    expect(part(el, 'banner').hasAttribute('data-empty')).to.equal(true);
  });

  it('shows the empty-conversation hint before any message', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    expect(part(el, 'empty').textContent).to.match(/no messages/i);
  });

  it('shows no empty-conversation hint while it cannot know yet whether there are messages', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    el.server = 'ws://127.0.0.1:9/ws';
    await el.updateComplete;
    await new Promise((r) => setTimeout(r, 500));
    await el.updateComplete;
    expect(el.client!.state).to.not.equal('online');
    expect(maybePart(el, 'empty')?.textContent ?? null).to.equal(null);
    expect(bannerText(el)).to.match(/^Connecting…/);
  });

  it('says "Reconnecting…" without a flicker while the server is out of reach and the device has a network', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    const seen = new Set<string>();
    const observer = new MutationObserver(() => seen.add(bannerText(el)));
    observer.observe(root(el), { subtree: true, childList: true, characterData: true });
    await stopServer();
    try {
      // Several attempts, each of them refused, with the time between them.
      await new Promise((r) => setTimeout(r, 3000));
      observer.disconnect();
      // One line, the same from the first attempt on (with its "Retry now").
      expect([...seen].filter((text) => text !== '')).to.deep.equal(['Reconnecting… Retry now']);
      expect(maybePart(el, 'banner-retry')).to.not.equal(null);
      // Pressed, it says it is trying, though the attempt fails within milliseconds, then offers itself again.
      let attempts = 0;
      el.client!.addEventListener('state', (event) => (attempts += event.detail.to === 'connecting' ? 1 : 0));
      part<HTMLButtonElement>(el, 'banner-retry').click();
      await el.updateComplete;
      expect([part(el, 'banner-retry').textContent, part(el, 'banner-retry').getAttribute('aria-disabled')]).to.deep.equal(['Retrying…', 'true']);
      await until(() => attempts > 0, 'the attempt it asked for');
      await until(() => part(el, 'banner-retry').textContent === 'Retry now', '"Retry now" again', 3000);
      expect(part(el, 'banner-retry').getAttribute('aria-disabled')).to.equal('false');
    } finally {
      observer.disconnect();
      await startServer();
    }
    await untilOnline(el);
  });

  it('tells the person when messages are kept in memory only', async () => {
    const conv = freshConv();
    const client = new ImbedClient({ url: await serverUrl(), token: await tokenFor(freshUser('alice')), conversations: [conv], storage: 'memory' });
    const el = mountBare();
    el.conversation = conv;
    el.client = client;
    client.start();
    try {
      await until(() => client.storageKind === 'memory', 'the memory store');
      await el.updateComplete;
      await until(() => /will not survive a reload/.test(bannerText(el)), 'the memory notice');
      await untilOnline(el);
      expect(bannerText(el)).to.match(/will not survive a reload/);
    } finally {
      await client.stop();
    }
  });

  it('renders an https URL in a message as exactly one link that opens in a new tab, and javascript: text as text', async () => {
    const { alice, bob } = await twoPeople();
    const url = 'https://example.com/a?b=1';
    await bob.send(`see ${url}.`);
    await bob.send('javascript:alert(1)');
    await until(() => texts(alice).length === 2, 'alice to receive both messages');
    await until(() => statusOf(bob, 'javascript:alert(1)') === 'sent', 'bob\'s messages to be sent');
    await alice.updateComplete;

    for (const el of [alice, bob]) {
      expect(texts(el)).to.deep.equal([`see ${url}.`, 'javascript:alert(1)']);
      const [withUrl, withScheme] = messageNodes(el);
      const anchors = withUrl!.querySelectorAll('a');
      expect(anchors.length, 'links in the URL message').to.equal(1);
      const link = anchors[0]!;
      expect(link.getAttribute('href')).to.equal(url);
      expect(link.getAttribute('target')).to.equal('_blank');
      expect(link.getAttribute('rel')).to.equal('noopener noreferrer');
      expect(link.getAttribute('part')).to.equal('link');
      expect(link.textContent).to.equal(url);
      expect(withScheme!.querySelectorAll('a').length, 'links in the javascript: message').to.equal(0);
    }
  });

  it('names the sender of every message for a screen reader, where the screen shows it by side and run', async () => {
    const { alice, bob } = await twoPeople();
    await bob.send('first of a run');
    await bob.send('second of a run');
    await until(() => texts(alice).length === 2, 'bob\'s two messages');
    await alice.send('my answer');
    await until(() => statusOf(alice, 'my answer') === 'sent', 'the answer sent');
    await alice.updateComplete;
    const spoken = messageNodes(alice).map((node) => [
      node.querySelector('[part~="sender"]')?.textContent ?? null,
      node.querySelector('.visually-hidden')?.textContent ?? null,
      getComputedStyle(node.querySelector('.visually-hidden') ?? node).position,
    ]);
    expect(spoken).to.deep.equal([
      ['Bob', null, 'relative'],
      [null, 'Bob', 'absolute'],
      [null, 'You', 'absolute'],
    ]);
    // Each hidden name is placed in its own message, so it scrolls with it inside the log.
    for (const node of messageNodes(alice)) {
      const hidden = node.querySelector<HTMLElement>('.visually-hidden');
      if (hidden) expect(hidden.offsetParent).to.equal(node);
    }
  });

  it('colours links with --imbed-link-color and isolates them from surrounding bidi controls', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    await el.send('\u202E https://example.com/x');
    await until(() => root(el).querySelector('[part~="link"]') !== null, 'the link');
    const link = root(el).querySelector<HTMLAnchorElement>('[part~="link"]')!;
    const bubble = part(el, 'text');
    expect(getComputedStyle(link).color, 'default: the bubble text colour').to.equal(getComputedStyle(bubble).color);
    expect(getComputedStyle(link).unicodeBidi).to.equal('isolate');
    el.style.setProperty('--imbed-link-color', 'rgb(1, 2, 3)');
    expect(getComputedStyle(link).color).to.equal('rgb(1, 2, 3)');
  });
});
