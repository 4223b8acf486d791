import { expect } from '@esm-bundle/chai';
import { executeServerCommand, sendKeys, setViewport } from '@web/test-runner-commands';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';
import { badgeText } from '../../src/ui/launcher.js';
import { forgetUnread, readOwnUnread, readUnread, unreadKey, writeUnread } from '../../src/ui/unread-record.js';
import { freshConv, serverUrl, tokenFor, until } from '../browser-support/server.js';
import { freshUser, hideDocument, maybePart, mountChat, mountLauncher, otherUser, part, root, showDocument, stopOthers, untilOnline, unmountAll } from './fixtures.js';

/** The runner's page size; every test that changes it puts it back. */
const DEFAULT_VIEWPORT = { width: 800, height: 600 };

interface Insets {
  top?: number;
  right?: number;
  bottom?: number;
  left?: number;
}

/** A phone's safe areas, the `env(safe-area-inset-*)` of the page (test/support/device-plugin.ts); `null` clears them. */
async function setSafeArea(insets: Insets | null): Promise<void> {
  await executeServerCommand('device', { safeArea: insets });
}

/** Makes the page a touch screen, `(pointer: coarse)`, or a mouse's again. After any `setViewport`, which undoes it. */
async function setTouchScreen(touch: boolean): Promise<void> {
  await executeServerCommand('device', { touch });
  await until(() => matchMedia('(pointer: coarse)').matches === touch, 'the pointer to change');
}

/** Pretends an on-screen keyboard `height` px tall covers the page (`null`: gone), as the previous test explains. */
async function setKeyboard(el: ImbedChat, height: number | null): Promise<void> {
  if (height === null) delete (window.visualViewport as { height?: number }).height;
  else Object.defineProperty(window.visualViewport!, 'height', { configurable: true, get: () => window.innerHeight - height });
  window.visualViewport!.dispatchEvent(new Event('resize'));
  await until(() => getComputedStyle(el).getPropertyValue('--imbed-keyboard-inset') === (height === null ? '' : `${height}px`), 'the keyboard inset');
}

function isShown(node: Element): boolean {
  const box = node.getBoundingClientRect();
  return box.width > 0 && box.height > 0;
}

afterEach(async () => {
  showDocument();
  unmountAll();
  await stopOthers();
});

describe('<imbed-chat mode="launcher">', () => {
  it('shows only the round button until opened, with the panel it controls hidden', async () => {
    const el = await mountLauncher();
    const button = part<HTMLButtonElement>(el, 'launcher-button');
    const panel = part(el, 'panel');
    expect(isShown(button)).to.equal(true);
    expect(isShown(panel)).to.equal(false);
    expect(button.getAttribute('aria-expanded')).to.equal('false');
    expect(root(el).getElementById(button.getAttribute('aria-controls')!)).to.equal(panel);
    expect(button.getAttribute('aria-label')).to.equal('Open chat');
    expect(panel.getAttribute('role')).to.equal('dialog');
    expect(root(el).getElementById(panel.getAttribute('aria-labelledby')!)?.textContent).to.equal('Chat');
    // Fixed in the end corner of the viewport, above the page.
    const box = button.getBoundingClientRect();
    expect(box.right).to.be.closeTo(window.innerWidth - 20, 2);
    expect(box.bottom).to.be.closeTo(window.innerHeight - 20, 2);
    expect(getComputedStyle(el).zIndex).to.equal('2147483000');
  });

  it('opens and closes through open(), close() and toggle(), firing each event once per change', async () => {
    const el = await mountLauncher();
    const fired: string[] = [];
    el.addEventListener('imbed-open', (event) => fired.push(`${event.type}:${JSON.stringify(event.detail)}`));
    el.addEventListener('imbed-close', (event) => fired.push(`${event.type}:${JSON.stringify(event.detail)}`));
    el.open();
    await el.updateComplete;
    expect(el.opened).to.equal(true);
    expect(el.hasAttribute('opened')).to.equal(true);
    expect(isShown(part(el, 'panel'))).to.equal(true);
    expect(part(el, 'launcher-button').getAttribute('aria-expanded')).to.equal('true');
    el.open();
    await el.updateComplete;
    el.toggle();
    await el.updateComplete;
    expect(isShown(part(el, 'panel'))).to.equal(false);
    el.close();
    await el.updateComplete;
    el.toggle();
    await el.updateComplete;
    expect(el.opened).to.equal(true);
    expect(fired).to.deep.equal(['imbed-open:{}', 'imbed-close:{}', 'imbed-open:{}']);

    // Closed and opened again before the element updated: no change, no event.
    el.close();
    el.open();
    await el.updateComplete;
    el.toggle();
    el.toggle();
    await el.updateComplete;
    expect(el.opened).to.equal(true);
    expect(fired).to.have.length(3);
  });

  it('fires imbed-open and moves focus into the composer for an open() made before its first render', async () => {
    const made: HTMLElement[] = [];
    const launcher = (): ImbedChat => {
      const el = document.createElement('imbed-chat');
      el.setAttribute('mode', 'launcher');
      el.setAttribute('conversation', freshConv());
      made.push(el);
      return el;
    };
    try {
      const fired: string[] = [];
      const el = launcher();
      el.addEventListener('imbed-open', (event) => fired.push(event.type));
      el.addEventListener('imbed-close', (event) => fired.push(event.type));
      document.body.append(el);
      // A native host's `open` command, or a page's, may come before the element has rendered.
      el.open();
      await el.updateComplete;
      expect(fired).to.deep.equal(['imbed-open']);
      expect(root(el).activeElement).to.equal(part(el, 'composer-input'));

      // One the page created open (no open() call) has not asked for focus: no event either.
      const quiet = launcher();
      quiet.opened = true;
      quiet.addEventListener('imbed-open', (event) => fired.push(`quiet ${event.type}`));
      document.body.append(quiet);
      await quiet.updateComplete;
      expect(isShown(part(quiet, 'panel'))).to.equal(true);
      expect(fired).to.deep.equal(['imbed-open']);
    } finally {
      for (const el of made) el.remove();
    }
  });

  it('keeps to the page\'s hidden attribute', async () => {
    const el = await mountLauncher();
    el.hidden = true;
    expect(isShown(part(el, 'launcher-button'))).to.equal(false);
    el.hidden = false;
    expect(isShown(part(el, 'launcher-button'))).to.equal(true);
  });

  it('leaves an Escape on its closed launcher button to the page', async () => {
    const el = await mountLauncher();
    part(el, 'launcher-button').focus();
    let prevented: boolean | undefined;
    const listener = (event: KeyboardEvent) => (prevented = event.defaultPrevented);
    document.addEventListener('keydown', listener);
    try {
      await sendKeys({ press: 'Escape' });
    } finally {
      document.removeEventListener('keydown', listener);
    }
    expect(prevented).to.equal(false);
    expect(el.opened).to.equal(false);
  });

  it('opens on a click of the button with focus in the composer, and gives focus back to the button on Escape', async () => {
    const el = await mountLauncher();
    part(el, 'launcher-button').click();
    await el.updateComplete;
    expect(el.opened).to.equal(true);
    expect(root(el).activeElement).to.equal(part(el, 'composer-input'));
    await sendKeys({ press: 'Escape' });
    await el.updateComplete;
    expect(el.opened).to.equal(false);
    expect(root(el).activeElement).to.equal(part(el, 'launcher-button'));
    // Escape also closes while focus is on the button itself.
    el.open();
    await el.updateComplete;
    part(el, 'launcher-button').focus();
    await sendKeys({ press: 'Escape' });
    await el.updateComplete;
    expect(el.opened).to.equal(false);
  });

  it('closes on an Escape on the page, whose focused control the panel may cover, and leaves focus there', async () => {
    const el = await mountLauncher();
    const outside = document.createElement('button');
    outside.textContent = 'a page control';
    document.body.append(outside);
    try {
      el.open();
      await el.updateComplete;
      outside.focus();
      // One the page handled itself (its own dialog) is the page's.
      const handled = (event: KeyboardEvent) => event.preventDefault();
      document.body.addEventListener('keydown', handled, { once: true });
      await sendKeys({ press: 'Escape' });
      await el.updateComplete;
      expect(el.opened).to.equal(true);
      await sendKeys({ press: 'Escape' });
      await el.updateComplete;
      expect(el.opened).to.equal(false);
      expect(document.activeElement === outside).to.equal(true);
    } finally {
      outside.remove();
    }
  });

  it('stays open on an Escape that cancels an input method\'s composition, as Safari reports it', async () => {
    const el = await mountLauncher();
    el.open();
    await el.updateComplete;
    // Safari ends the composition before the keydown and says isComposing: false, but keyCode 229.
    const input = part(el, 'composer-input');
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', keyCode: 229, bubbles: true, composed: true }));
    await el.updateComplete;
    expect(el.opened).to.equal(true);
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, composed: true }));
    await el.updateComplete;
    expect(el.opened).to.equal(false);
  });

  it('closes from the close button in the panel header', async () => {
    const el = await mountLauncher();
    el.open();
    await el.updateComplete;
    const close = part<HTMLButtonElement>(el, 'close-button');
    expect(part(el, 'panel-header').contains(close)).to.equal(true);
    expect(close.getAttribute('aria-label')).to.equal('Close chat');
    close.click();
    await el.updateComplete;
    expect(el.opened).to.equal(false);
    expect(root(el).activeElement).to.equal(part(el, 'launcher-button'));
  });

  it('leaves focus where it is when the host closes the panel while the person works elsewhere on the page', async () => {
    const el = await mountLauncher();
    const field = document.createElement('input');
    document.body.append(field);
    try {
      el.open();
      await el.updateComplete;
      field.focus();
      el.close();
      await el.updateComplete;
      expect(document.activeElement).to.equal(field);
    } finally {
      field.remove();
    }
  });

  it('opens as a panel above the button on a wide viewport, and full screen on a narrow one', async () => {
    const el = await mountLauncher();
    el.open();
    await el.updateComplete;
    const wide = part(el, 'panel').getBoundingClientRect();
    expect(wide.width).to.be.at.most(380);
    expect(wide.bottom).to.be.below(part(el, 'launcher-button').getBoundingClientRect().top);
    // Beside the page, the panel leaves it usable; covering it, it is a modal dialog.
    expect(part(el, 'panel').getAttribute('aria-modal')).to.equal('false');
    await setViewport({ width: 375, height: 667 });
    try {
      await until(() => window.innerWidth === 375, 'the narrow viewport');
      // Rendered again for the viewport, with the panel still open.
      await until(() => part(el, 'panel').getAttribute('aria-modal') === 'true', 'a modal panel');
      const narrow = part(el, 'panel').getBoundingClientRect();
      expect([narrow.left, narrow.top, narrow.width, narrow.height]).to.deep.equal([0, 0, 375, 667]);
      // The round button would cover the composer there; the panel's close button replaces it.
      expect(isShown(part(el, 'launcher-button'))).to.equal(false);
      // The close button stays reachable and big enough to touch.
      const close = part(el, 'close-button').getBoundingClientRect();
      expect(close.width).to.be.at.least(44);
      expect(close.height).to.be.at.least(44);
    } finally {
      await setViewport(DEFAULT_VIEWPORT);
    }
  });

  it('keeps the composer just above an on-screen keyboard, in the panel above the button and in the full-screen one', async () => {
    // Chrome on Android and iOS lay the keyboard over the page: the layout viewport keeps its height and
    // only the visual viewport shrinks, which is what this simulates.
    const KEYBOARD = 200;
    const el = await mountLauncher();
    el.open();
    await untilOnline(el);
    try {
      for (const viewport of [{ width: 667, height: 375 }, { width: 768, height: 1024 }, { width: 375, height: 667 }]) {
        await setViewport(viewport);
        await until(() => window.innerWidth === viewport.width && window.innerHeight === viewport.height, `the ${viewport.width} x ${viewport.height} viewport`);
        Object.defineProperty(window.visualViewport!, 'height', { configurable: true, get: () => window.innerHeight - KEYBOARD });
        window.visualViewport!.dispatchEvent(new Event('resize'));
        await until(() => getComputedStyle(el).getPropertyValue('--imbed-keyboard-inset') === `${KEYBOARD}px`, 'the keyboard inset');
        const keyboardTop = window.innerHeight - KEYBOARD;
        const composer = part(el, 'composer').getBoundingClientRect();
        const size = `${viewport.width} x ${viewport.height}`;
        expect(composer.bottom, `${size}: the composer's bottom, the keyboard's top at ${keyboardTop}`).to.be.within(keyboardTop - 2, keyboardTop);
        // Unlifted, the composer's bottom sat on the panel's.
        delete (window.visualViewport as { height?: number }).height;
        window.visualViewport!.dispatchEvent(new Event('resize'));
        await until(() => getComputedStyle(el).getPropertyValue('--imbed-keyboard-inset') === '', 'the keyboard gone');
        expect(part(el, 'composer').getBoundingClientRect().bottom, `${size}: the composer back down`).to.be.closeTo(part(el, 'panel').getBoundingClientRect().bottom - 1, 1);
      }
    } finally {
      delete (window.visualViewport as { height?: number }).height;
      await setViewport(DEFAULT_VIEWPORT);
    }
  });

  it('keeps the panel clear of the top and bottom safe areas of a landscape phone, and of all four full screen', async () => {
    // A notched phone held sideways; each inset differs, so a wrong one shows.
    const INSETS = { top: 24, right: 33, bottom: 21, left: 47 };
    const el = await mountLauncher();
    el.open();
    await untilOnline(el);
    try {
      await setViewport({ width: 844, height: 390 });
      await until(() => window.innerWidth === 844, 'the landscape viewport');
      await setSafeArea(INSETS);
      const button = part(el, 'launcher-button').getBoundingClientRect();
      expect(innerHeight - button.bottom, 'the button, 20 px above the bottom safe area').to.equal(20 + INSETS.bottom);
      const panel = part(el, 'panel').getBoundingClientRect();
      expect(button.top - panel.bottom, 'the panel, 12 px above the button').to.equal(12);
      expect(panel.top, 'the panel, 20 px below the top safe area').to.be.closeTo(20 + INSETS.top, 0.5);
      // The keyboard's lift counts the bottom safe area under the button once.
      await setKeyboard(el, 200);
      expect(part(el, 'composer').getBoundingClientRect().bottom).to.be.within(innerHeight - 200 - 2, innerHeight - 200);
      await setKeyboard(el, null);

      const PORTRAIT = { top: 47, right: 0, bottom: 34, left: 0 };
      await setViewport({ width: 375, height: 667 });
      await until(() => window.innerWidth === 375, 'the narrow viewport');
      await setSafeArea(PORTRAIT);
      await until(() => part(el, 'panel').getAttribute('aria-modal') === 'true', 'the full-screen panel');
      expect(part(el, 'panel-header').getBoundingClientRect().top, 'the header below the top safe area').to.equal(PORTRAIT.top);
      expect(innerHeight - part(el, 'composer').getBoundingClientRect().bottom, 'the composer above the home indicator').to.equal(PORTRAIT.bottom);
      await setKeyboard(el, 300);
      expect(part(el, 'composer').getBoundingClientRect().bottom).to.be.within(innerHeight - 300 - 2, innerHeight - 300);
    } finally {
      await setKeyboard(el, null);
      await setSafeArea(null);
      await setViewport(DEFAULT_VIEWPORT);
    }
  });

  it('lifts the composer above the keyboard by the button as drawn, when a touch screen raises a small one to 44 px', async () => {
    const KEYBOARD = 200;
    const el = await mountLauncher();
    el.style.setProperty('--imbed-launcher-size', '32px');
    el.open();
    await untilOnline(el);
    try {
      await setTouchScreen(true);
      const button = part(el, 'launcher-button').getBoundingClientRect();
      expect([button.width, button.height], 'a touch target').to.deep.equal([44, 44]);
      await setKeyboard(el, KEYBOARD);
      const keyboardTop = innerHeight - KEYBOARD;
      expect(part(el, 'composer').getBoundingClientRect().bottom, `the composer's bottom, the keyboard's top at ${keyboardTop}`).to.be.within(keyboardTop - 2, keyboardTop);
      expect(part(el, 'panel').getBoundingClientRect().top, 'the panel, 20 px below the top, over the button as drawn').to.be.closeTo(20, 0.5);
    } finally {
      await setKeyboard(el, null);
      await setTouchScreen(false);
    }
  });

  it('puts its open panel above another launcher of the page, which comes later in it', async () => {
    const first = await mountLauncher();
    const second = await mountLauncher();
    first.open();
    await first.updateComplete;
    await setViewport({ width: 375, height: 667 });
    try {
      await until(() => window.innerWidth === 375, 'the narrow viewport');
      // Where the other launcher's button sits, the full-screen panel's composer is what a tap reaches.
      const button = part(second, 'launcher-button').getBoundingClientRect();
      const hit = document.elementFromPoint(button.left + button.width / 2, button.top + button.height / 2);
      expect(hit === first, 'the open chat takes the tap').to.equal(true);
    } finally {
      await setViewport(DEFAULT_VIEWPORT);
    }
  });

  it('sits in the start corner with position="bottom-start", which is the right in a right-to-left page', async () => {
    const el = await mountLauncher();
    el.position = 'bottom-start';
    await el.updateComplete;
    expect(part(el, 'launcher-button').getBoundingClientRect().left).to.be.closeTo(20, 2);
    el.dir = 'rtl';
    await el.updateComplete;
    expect(part(el, 'launcher-button').getBoundingClientRect().right).to.be.closeTo(window.innerWidth - 20, 2);
  });
});

describe('<imbed-chat mode="inline">', () => {
  it('is the default: the chat fills its container, with no launcher, whatever `opened` says', async () => {
    const el = await mountChat({ user: freshUser('alice'), conversation: freshConv(), height: '300px' });
    expect(el.mode).to.equal('inline');
    expect(maybePart(el, 'launcher-button')).to.equal(null);
    expect(maybePart(el, 'panel')).to.equal(null);
    expect(isShown(part(el, 'composer'))).to.equal(true);
    el.close();
    await el.updateComplete;
    expect(isShown(part(el, 'composer'))).to.equal(true);
    expect(el.getBoundingClientRect().height).to.equal(300);
  });
});

describe('<imbed-chat> unread count', () => {
  it('counts messages from someone else that arrive while the panel is closed, and clears them on open', async () => {
    const conv = freshConv();
    const el = await mountLauncher(conv);
    await untilOnline(el);
    const counts: number[] = [];
    el.addEventListener('imbed-unread', (event) => counts.push(event.detail.count));
    const bob = await otherUser(conv);
    await bob.send(conv, 'one');
    await bob.send(conv, 'two');
    await until(() => el.unread === 2, 'two unread messages');
    await el.updateComplete;
    const badge = part(el, 'unread-badge');
    expect(badge.hidden).to.equal(false);
    expect(badge.textContent?.trim()).to.equal('2');
    expect(part(el, 'launcher-button').getAttribute('aria-label')).to.equal('Open chat, 2 unread');
    el.open();
    await el.updateComplete;
    expect(el.unread).to.equal(0);
    expect(badge.hidden).to.equal(true);
    expect(counts).to.deep.equal([1, 2, 0]);
  });

  it('does not count the history loaded at start, nor the person\'s own messages', async () => {
    const conv = freshConv();
    const bob = await otherUser(conv);
    await bob.send(conv, 'before you came');
    await until(() => bob.items(conv).every((item) => item.status === 'sent'), 'the message to be stored');
    const el = await mountLauncher(conv);
    await untilOnline(el);
    await until(() => el.client!.items(conv).length === 1, 'the history to load');
    await el.send('mine');
    await until(() => el.client!.items(conv).length === 2, 'the own message to show');
    expect(el.unread).to.equal(0);
    expect(part(el, 'unread-badge').hidden).to.equal(true);
  });

  it('counts in inline mode while the page is hidden, and clears once it is visible again', async () => {
    const conv = freshConv();
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    await untilOnline(el);
    const bob = await otherUser(conv);
    await bob.send(conv, 'seen');
    await until(() => el.client!.items(conv).length === 1, 'the message while visible');
    expect(el.unread).to.equal(0);
    hideDocument();
    await bob.send(conv, 'unseen');
    await until(() => el.unread === 1, 'one unread while hidden');
    showDocument();
    expect(el.unread).to.equal(0);
  });

  it('counts what arrived while no page was open, and keeps the count across reloads until seen', async () => {
    const conv = freshConv();
    const alice = freshUser('alice');
    const first = await mountLauncher(conv, alice);
    await untilOnline(first);
    unmountAll();
    const bob = await otherUser(conv);
    await bob.send(conv, 'while you were away');
    await bob.send(conv, 'still away');
    await until(() => bob.items(conv).every((item) => item.status === 'sent'), 'both messages to be stored');

    const back = await mountLauncher(conv, alice);
    await until(() => back.unread === 2, 'the two messages sent while away to count');
    await back.updateComplete;
    expect(part(back, 'unread-badge').textContent?.trim()).to.equal('2');
    const key = unreadKey(await serverUrl(), conv);
    // The record is written once the task that counted is over (writeUnreadSoon).
    await until(() => readUnread(key)?.n === 2, 'the count to be recorded');
    expect(readUnread(key)).to.include({ u: alice, n: 2 });

    // A reload shows the same count from the cache at once, not only after the server answered.
    unmountAll();
    const reloaded = await mountLauncher(conv, alice);
    expect(reloaded.unread).to.equal(2);
    reloaded.open();
    await until(() => reloaded.unread === 0, 'the count to clear once the open panel shows the newest message');
    await until(() => readUnread(key)?.n === 0, 'the cleared count to be recorded');
    expect(readUnread(key)).to.include({ u: alice, n: 0 });

    unmountAll();
    const seen = await mountLauncher(conv, alice);
    await untilOnline(seen);
    expect(seen.unread).to.equal(0);
  });

  it('follows what the person read in another tab, and never writes the record back to less', async () => {
    const conv = freshConv();
    const alice = freshUser('alice');
    const el = await mountLauncher(conv, alice);
    await untilOnline(el);
    const bob = await otherUser(conv);
    await bob.send(conv, 'one');
    await bob.send(conv, 'two');
    await until(() => el.unread === 2, 'two unread messages');
    const key = unreadKey(await serverUrl(), conv);
    const newest = Math.max(...el.client!.items(conv).map((i) => i.seq ?? 0));

    // Another tab of this origin (a frame here: its storage events reach this window) shows the chat and
    // records both as seen.
    const tab = document.createElement('iframe');
    document.body.append(tab);
    try {
      tab.contentWindow!.localStorage.setItem(key, JSON.stringify({ u: alice, s: newest, n: 0 }));
      await until(() => el.unread === 0, 'the badge to follow the other tab');
      await bob.send(conv, 'three');
      await until(() => el.unread === 1, 'only the new message unread');
      await until(() => readUnread(key)?.n === 1, 'the new count recorded');
      expect(readUnread(key)).to.include({ u: alice, s: newest, n: 1 });
    } finally {
      tab.remove();
    }
  });

  it('follows what another tab read also before it holds any message, and records the count it took', async () => {
    const conv = freshConv();
    const alice = freshUser('alice');
    // A server that does not answer: the chat holds no message, and the stored count stands for them.
    const server = 'ws://127.0.0.1:9/ws';
    const key = unreadKey(server, conv);
    writeUnread(key, { u: alice, s: 5, n: 3 });
    const el = document.createElement('imbed-chat') as ImbedChat;
    el.mode = 'launcher';
    el.server = server;
    el.token = await tokenFor(alice);
    el.conversation = conv;
    document.body.append(el);
    try {
      await until(() => el.unread === 3, 'the stored count');
      const tab = document.createElement('iframe');
      document.body.append(tab);
      try {
        tab.contentWindow!.localStorage.setItem(key, JSON.stringify({ u: alice, s: 9, n: 0 }));
        await until(() => el.unread === 0, 'the badge to follow the other tab');
        await el.updateComplete;
        await new Promise((r) => setTimeout(r, 50));
        expect(readUnread(key)).to.include({ u: alice, s: 9, n: 0 });
      } finally {
        tab.remove();
      }
    } finally {
      el.remove();
      forgetUnread(key, alice);
    }
  });

  it('keeps each user\'s count when two users chat in one conversation on one page', async () => {
    const conv = freshConv();
    const [alice, carol] = [freshUser('alice'), freshUser('carol')];
    const first = [await mountLauncher(conv, alice), await mountLauncher(conv, carol)];
    await Promise.all(first.map((el) => untilOnline(el)));
    const bob = await otherUser(conv);
    await bob.send(conv, 'one');
    await bob.send(conv, 'two');
    await until(() => first.every((el) => el.unread === 2), 'both to count two');
    // Carol reads them; alice does not. Each writes its record after the other's.
    first[1]!.open();
    await until(() => first[1]!.unread === 0, 'carol\'s count to clear');
    const key = unreadKey(await serverUrl(), conv);
    await until(() => readUnread(key)?.u === carol && readUnread(key)?.n === 0, 'carol\'s record to be written');

    unmountAll();
    const again = [await mountLauncher(conv, alice), await mountLauncher(conv, carol)];
    await Promise.all(again.map((el) => untilOnline(el)));
    await until(() => again[0]!.client!.items(conv).length === 2, 'alice\'s history');
    await until(() => again[1]!.client!.items(conv).length === 2, 'carol\'s history');
    expect(again.map((el) => el.unread)).to.deep.equal([2, 0]);
    await again[0]!.logout();
    expect(readOwnUnread(key, alice)).to.equal(null);
    expect(readOwnUnread(key, carol)).to.include({ u: carol, n: 0 });
  });

  it('forgets the stored count at logout() also before a token provider has said who the user is', async () => {
    const conv = freshConv();
    const alice = freshUser('alice');
    const server = await serverUrl();
    const key = unreadKey(server, conv);
    writeUnread(key, { u: alice, s: 3, n: 2 });
    const el = document.createElement('imbed-chat') as ImbedChat;
    el.mode = 'launcher';
    el.server = server;
    el.conversation = conv;
    // A provider that has not answered (offline): the user is not known.
    el.tokenProvider = () => new Promise<string>(() => {});
    document.body.append(el);
    try {
      await until(() => el.unread === 2, 'the stored count');
      // It rejects: without a user, the database it would delete is not known (logout's own test).
      await el.logout().catch(() => {});
      // Neither the launcher's record nor the user's own is left for the next person's badge.
      expect([readUnread(key), readOwnUnread(key, alice)]).to.deep.equal([null, null]);
    } finally {
      el.remove();
    }
  });

  it('ignores the read state another user left in this browser, and logout() forgets its own', async () => {
    const conv = freshConv();
    const bob = await otherUser(conv);
    await bob.send(conv, 'history');
    await until(() => bob.items(conv).every((item) => item.status === 'sent'), 'the message to be stored');
    const key = unreadKey(await serverUrl(), conv);
    writeUnread(key, { u: 'someone-else', s: 0, n: 7 });

    const el = await mountLauncher(conv);
    await untilOnline(el);
    await until(() => el.client!.items(conv).length === 1, 'the history to load');
    expect(el.unread).to.equal(0);
    await until(() => readUnread(key)?.u === el.client!.user, 'this user\'s record to replace the other\'s');
    await el.logout();
    expect(readUnread(key)).to.equal(null);
  });

  it('caps the badge at 99+', () => {
    expect([0, 1, 99, 100, 5000].map(badgeText)).to.deep.equal(['', '1', '99', '99+', '99+']);
  });
});
