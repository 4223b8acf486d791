import { expect } from '@esm-bundle/chai';
import { LIMITS } from '../../src/client/index.js';
import { en } from '../../src/ui/strings.js';
import { REFUSED_MARK, REFUSED_TEXT } from '../support/refused-text.js';
import { freshConv, serverUrl, startServer, stopServer, tokenFor, until } from '../browser-support/server.js';
import { bannerText, fillComposer, freshUser, maybePart, messageNode, mountBare, mountChat, part, root, statusOf, unmountAll, untilOnline } from './fixtures.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';

/** Brings a reconnecting chat back at once, through the banner's own button, instead of waiting out the backoff. */
async function retryNowUntilOnline(el: ImbedChat): Promise<void> {
  await until(async () => {
    await el.updateComplete;
    if (el.client?.state === 'online') return true;
    maybePart<HTMLButtonElement>(el, 'banner-retry')?.click();
    return false;
  }, 'the chat to reconnect', 20_000);
}

describe('<imbed-chat> delivery status', () => {
  afterEach(async () => {
    unmountAll();
    await startServer();
  });

  it('keeps the same node from pending to sent, adding data-seq when the server acknowledges', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    const seenStatuses: string[] = [];
    fillComposer(el, 'track me');
    part(el, 'send-button').click();
    await until(() => messageNode(el, 'track me') !== undefined, 'the message node');
    const node = messageNode(el, 'track me')!;
    const observer = new MutationObserver(() => seenStatuses.push(node.dataset.status ?? ''));
    seenStatuses.push(node.dataset.status ?? '');
    observer.observe(node, { attributes: true, attributeFilter: ['data-status'] });
    await until(() => node.dataset.status === 'sent', 'the ack');
    observer.disconnect();

    expect(messageNode(el, 'track me')).to.equal(node);
    expect(node.dataset.cmid).to.match(/^[A-Za-z0-9_-]{8,64}$/);
    expect(node.dataset.seq).to.equal('1');
    expect(node.querySelector('[part~="status"]')?.getAttribute('title')).to.equal('Sent');
    expect(seenStatuses.at(-1)).to.equal('sent');
    expect(seenStatuses.every((s) => s === 'pending' || s === 'sent')).to.equal(true);
  });

  it('shows no banner for messages on their way while online: only the message says Sending…', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    const banners: string[] = [];
    const banner = part(el, 'banner');
    const observer = new MutationObserver(() => banners.push(banner.textContent?.trim() ?? ''));
    observer.observe(banner, { subtree: true, childList: true, characterData: true });
    for (const text of ['one', 'two', 'three', 'four', 'five']) {
      fillComposer(el, text);
      part(el, 'send-button').click();
      await until(() => messageNode(el, text) !== undefined, 'the message node');
    }
    await until(() => ['one', 'two', 'three', 'four', 'five'].every((t) => statusOf(el, t) === 'sent'), 'all sent');
    observer.disconnect();
    expect(banners.filter((b) => b !== '')).to.deep.equal([]);
  });

  it('shows a message sent while the server is down as pending, counts it in the banner, and sends it when the server is back', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    await stopServer();
    await until(() => el.client?.state !== 'online', 'the chat to notice the server is gone');

    fillComposer(el, 'sent while down');
    part(el, 'send-button').click();
    await until(() => statusOf(el, 'sent while down') === 'pending', 'the pending message');
    const node = messageNode(el, 'sent while down')!;
    expect(node.hasAttribute('data-seq')).to.equal(false);
    expect(node.querySelector('[part~="status"]')?.getAttribute('title')).to.equal('Sending…');
    await until(() => /1 message waiting to send/.test(bannerText(el)), 'the banner to count the waiting message');
    expect(bannerText(el)).to.match(/^(Offline|Reconnecting…|Connecting…)/);
    expect(part(el, 'composer-input')).to.have.property('disabled', false);

    await startServer();
    await retryNowUntilOnline(el);
    await until(() => statusOf(el, 'sent while down') === 'sent', 'the queued message to be sent');
    expect(messageNode(el, 'sent while down')).to.equal(node);
    await until(() => bannerText(el) === '', 'the banner to clear');
  });

  it('shows a message filter\'s own reason under the message it refused', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv() });
    await untilOnline(el);
    await el.send(REFUSED_TEXT);
    await until(() => statusOf(el, REFUSED_TEXT) === 'failed', 'the refusal');
    const reason = messageNode(el, REFUSED_TEXT)!.querySelector('[part~="failure-reason"]')?.textContent;
    expect(reason).to.equal(`the test server refuses texts marked ${REFUSED_MARK}`);
  });

  it('shows the server\'s reason with Retry and Discard when the server refuses a queued message', async () => {
    // A chat that has never reached the server knows only the protocol's text limit, not the test
    // server's 1000: the composer takes a longer text, and the server refuses it once it is back.
    const conversation = freshConv();
    const token = await tokenFor(freshUser('alice'));
    const url = await serverUrl();
    await stopServer();
    const el = mountBare();
    el.setAttribute('server', url);
    el.setAttribute('conversation', conversation);
    el.token = token;
    await until(() => el.client?.state === 'offline', 'the chat to find the server gone');
    expect(el.client!.maxText).to.equal(LIMITS.maxText);
    const maxText = 1000;

    const longText = 'x'.repeat(maxText + 500);
    fillComposer(el, longText);
    part(el, 'send-button').click();
    await until(() => statusOf(el, longText) === 'pending', 'the long message to queue');

    await startServer();
    await retryNowUntilOnline(el);
    await until(() => statusOf(el, longText) === 'failed', 'the server to refuse the message');
    expect(el.client!.maxText).to.equal(maxText);
    const node = messageNode(el, longText)!;
    // In the chat's words, with the server's limit; not the server's text for developers.
    expect(node.querySelector('[part~="failure-reason"]')?.textContent).to.equal(en.tooLong(maxText));
    const retry = node.querySelector<HTMLButtonElement>('[part~="retry-button"]')!;
    expect(retry.textContent?.trim()).to.equal('Retry');
    expect(node.querySelector('[part~="discard-button"]')).to.not.equal(null);

    // Retrying really sends it again: this server refuses it a second time, and says so.
    const refusals: string[] = [];
    el.addEventListener('imbed-error', (event) => {
      if (event.detail.cmid === node.dataset.cmid) refusals.push(event.detail.code);
    });
    retry.click();
    await until(() => refusals.length === 1, 'the second refusal');
    expect(refusals).to.deep.equal(['TEXT_TOO_LONG']);
    await until(() => statusOf(el, longText) === 'failed', 'the message to show as failed again');
    expect(messageNode(el, longText)).to.equal(node);

    node.querySelector<HTMLButtonElement>('[part~="discard-button"]')!.click();
    await until(() => messageNode(el, longText) === undefined, 'the discarded message to go');
    expect(root(el).querySelectorAll('[data-status="failed"]')).to.have.length(0);
  });
});
