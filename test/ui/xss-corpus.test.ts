import { expect } from '@esm-bundle/chai';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';
import { freshConv, until } from '../browser-support/server.js';
import { freshUser, messageNodes, mountChat, part, statusOf, texts, unmountAll, untilOnline } from './fixtures.js';
import { splitLinks } from '../../src/ui/links.js';
import { PROBE, XSS_PAYLOADS } from './xss-payloads.js';

declare global {
  interface Window {
    /** The canary every payload calls if it ever runs as script. */
    __imbedXss?: () => number;
    __imbedXssHits?: number;
  }
}

/** The elements the widget's own message template uses (the status icons are inline `<svg>`s). */
const TEMPLATE_TAGS = new Set(['div', 'span', 'p', 'time', 'button', 'svg', 'circle', 'path']);

/**
 * Collects every resource the page fetches while it runs. An observer, not `getEntriesByType`: the
 * timeline buffer (250 entries by default) may already be full of the test runner's module loads.
 */
function watchResources(): { entries: PerformanceResourceTiming[]; stop(): void } {
  const entries: PerformanceResourceTiming[] = [];
  const observer = new PerformanceObserver((list) => {
    entries.push(...(list.getEntries() as PerformanceResourceTiming[]));
  });
  observer.observe({ type: 'resource' });
  return {
    entries,
    stop: () => {
      entries.push(...(observer.takeRecords() as PerformanceResourceTiming[]));
      observer.disconnect();
    },
  };
}

/** Resources a payload could have caused: anything but the test runner's own fetches and module loads. */
function payloadResources(entries: readonly PerformanceResourceTiming[]): string[] {
  return entries
    .filter((e) => new URL(e.name).pathname.startsWith(PROBE) || !['fetch', 'xmlhttprequest', 'script'].includes(e.initiatorType))
    .map((e) => `${e.initiatorType} ${e.name}`);
}

/** Gives anything a payload might have started (an image error, a frame load, a focus) time to happen. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => requestAnimationFrame(resolve));
  await new Promise((resolve) => setTimeout(resolve, 500));
}

function isTextOrMarker(node: Node): boolean {
  return node.nodeType === Node.TEXT_NODE || node.nodeType === Node.COMMENT_NODE;
}

/**
 * A link as the widget makes it: an absolute http(s) href, a new tab without opener or referrer, no
 * attribute besides those four, and nothing but text inside.
 */
function isWidgetLink(node: Node): boolean {
  if (!(node instanceof HTMLAnchorElement)) return false;
  let protocol: string;
  try {
    protocol = new URL(node.getAttribute('href') ?? '').protocol;
  } catch {
    return false;
  }
  return (
    (protocol === 'http:' || protocol === 'https:') &&
    node.getAttribute('rel') === 'noopener noreferrer' &&
    node.getAttribute('target') === '_blank' &&
    node.getAttribute('part') === 'link' &&
    node.attributes.length === 4 &&
    [...node.childNodes].every(isTextOrMarker)
  );
}

function elementsOutsideTemplate(el: ImbedChat): string[] {
  const found: string[] = [];
  for (const node of messageNodes(el)) {
    for (const child of node.querySelectorAll('*')) {
      if (!TEMPLATE_TAGS.has(child.localName) && !isWidgetLink(child)) found.push(`<${child.localName}> in ${node.dataset.cmid}`);
    }
  }
  return found;
}

/** Text parts holding anything but text and the widget's links (Lit's comment markers around bindings are allowed). */
function textPartsWithMarkup(el: ImbedChat): string[] {
  return messageNodes(el)
    .map((node) => node.querySelector('[part~="text"]')!)
    .filter((text) => [...text.childNodes].some((n) => !isTextOrMarker(n) && !isWidgetLink(n)))
    .map((text) => text.textContent ?? '');
}

/** Each message's links as `text -> href`, to compare with what `splitLinks` finds in the payload. */
function renderedLinks(el: ImbedChat): string[][] {
  return messageNodes(el).map((node) =>
    [...node.querySelectorAll('a')].map((a) => `${a.textContent} -> ${a.getAttribute('href')}`),
  );
}

/** Message nodes whose box sticks out of the log's box on either side. */
function nodesOutsideLog(el: ImbedChat): string[] {
  const log = part(el, 'log').getBoundingClientRect();
  return messageNodes(el)
    .filter((node) => {
      const box = node.getBoundingClientRect();
      const text = node.querySelector('[part~="text"]')!.getBoundingClientRect();
      return Math.min(box.left, text.left) < log.left - 0.5 || Math.max(box.right, text.right) > log.right + 0.5;
    })
    .map((node) => node.querySelector('[part~="text"]')?.textContent ?? '');
}

describe('<imbed-chat> against an XSS corpus', () => {
  beforeEach(() => {
    window.__imbedXssHits = 0;
    window.__imbedXss = () => (window.__imbedXssHits = (window.__imbedXssHits ?? 0) + 1);
  });
  afterEach(() => {
    unmountAll();
    delete window.__imbedXss;
    delete window.__imbedXssHits;
  });

  it('notices a payload that runs or loads when it is parsed as markup (the checks can fail)', async () => {
    const resources = watchResources();
    const scratch = document.createElement('div');
    scratch.innerHTML = `<img src="${PROBE}control.png" onerror="__imbedXss()">`;
    document.body.append(scratch);
    await until(() => window.__imbedXssHits === 1, 'the control payload to call the canary');
    await settle();
    resources.stop();
    scratch.remove();
    expect(payloadResources(resources.entries)).to.deep.equal([`img ${location.origin}${PROBE}control.png`]);
  });

  it('accepts only the widget\'s own link shape (the link check can fail)', () => {
    const link = (attributes: Record<string, string>, inner = 'x'): HTMLAnchorElement => {
      const a = document.createElement('a');
      for (const [name, value] of Object.entries(attributes)) a.setAttribute(name, value);
      a.innerHTML = inner;
      return a;
    };
    const safe = { part: 'link', href: 'https://x.test/', target: '_blank', rel: 'noopener noreferrer' };
    expect(isWidgetLink(link(safe))).to.equal(true);
    expect(isWidgetLink(link({ ...safe, href: 'javascript:__imbedXss()' })), 'javascript: href').to.equal(false);
    expect(isWidgetLink(link({ ...safe, href: '/relative' })), 'relative href').to.equal(false);
    expect(isWidgetLink(link({ ...safe, rel: 'noopener' })), 'referrer kept').to.equal(false);
    expect(isWidgetLink(link({ ...safe, target: '_self' })), 'same tab').to.equal(false);
    expect(isWidgetLink(link({ ...safe, onclick: '__imbedXss()' })), 'extra attribute').to.equal(false);
    expect(isWidgetLink(link(safe, '<b>x</b>')), 'markup inside').to.equal(false);
  });

  it(`renders all ${XSS_PAYLOADS.length} payloads from another person as exact, inert text and safe links inside the log`, async function () {
    expect(XSS_PAYLOADS.length, 'corpus size').to.be.at.least(100);
    this.timeout(120_000);
    const conv = freshConv('xss');
    const mallory = await mountChat({ user: freshUser('mallory'), conversation: conv });
    const alice = await mountChat({ user: freshUser('alice'), conversation: conv });
    mallory.style.width = alice.style.width = '360px';
    await untilOnline(mallory);
    await untilOnline(alice);

    const resources = watchResources();
    for (const payload of XSS_PAYLOADS) await mallory.send(payload);
    await until(() => texts(alice).length === XSS_PAYLOADS.length, 'alice to receive every payload', 60_000);
    await until(() => statusOf(mallory, XSS_PAYLOADS.at(-1)!) === 'sent', 'mallory\'s last payload to be sent', 30_000);
    await alice.updateComplete;
    await settle();
    resources.stop();

    // The link payloads must exercise the link path, or the checks on links prove nothing.
    const expectedLinks = XSS_PAYLOADS.map((payload) =>
      splitLinks(payload).flatMap((piece) => ('href' in piece ? [`${piece.text} -> ${piece.href}`] : [])),
    );
    expect(expectedLinks.flat().length, 'payloads that hold an http(s) link').to.be.at.least(10);
    expect(window.__imbedXssHits, 'canary calls').to.equal(0);
    expect(payloadResources(resources.entries), 'resources fetched').to.deep.equal([]);
    for (const [who, el] of [['alice', alice], ['mallory', mallory]] as const) {
      const rendered = texts(el);
      const differing = XSS_PAYLOADS.filter((payload, i) => rendered[i] !== payload);
      expect(differing, `${who}: payloads not rendered exactly`).to.deep.equal([]);
      expect(rendered.length, `${who}: message count`).to.equal(XSS_PAYLOADS.length);
      expect(elementsOutsideTemplate(el), `${who}: foreign elements`).to.deep.equal([]);
      expect(renderedLinks(el), `${who}: links`).to.deep.equal(expectedLinks);
      expect(textPartsWithMarkup(el), `${who}: text parts with non-text children`).to.deep.equal([]);
      expect(nodesOutsideLog(el), `${who}: messages outside the log`).to.deep.equal([]);
    }
    expect(document.querySelectorAll('body > :not(imbed-chat, script)').length, 'elements added to the page').to.equal(0);
  });
});
