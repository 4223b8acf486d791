import { expect } from '@esm-bundle/chai';
import { ImbedClient } from '../../src/client/index.js';
import { freshConv, serverUrl, tokenFor, until } from '../browser-support/server.js';
import { bannerText, maybePart, mountBare, mountChat, part, root, freshUser, unmountAll, untilOnline } from './fixtures.js';

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

  it('exposes the list as a polite live log and labels the composer and its button', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    const log = part(el, 'log');
    expect(log.getAttribute('role')).to.equal('log');
    expect(log.getAttribute('aria-live')).to.equal('polite');
    expect(part(el, 'composer-input').getAttribute('aria-label')).to.be.a('string').and.not.empty;
    expect(part(el, 'send-button').getAttribute('aria-label')).to.be.a('string').and.not.empty;
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
});
