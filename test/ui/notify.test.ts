import { expect } from '@esm-bundle/chai';
import type { Message } from '../../src/client/index.js';
import { Notifier, parseNotify } from '../../src/ui/notify.js';
import { freshConv, until } from '../browser-support/server.js';
import { freshUser, hideDocument, mountChat, otherUser, showDocument, stopOthers, unmountAll, untilOnline } from './fixtures.js';

const message: Message = { conv: 'c1', seq: 1, cmid: 'm1', from: 'bob', name: 'Bob', text: 'hello', ts: 0 };

/** Replaces a global constructor for one test; the returned function puts the real one back. */
function stubGlobal(name: 'AudioContext' | 'Notification', value: unknown): () => void {
  const real = Object.getOwnPropertyDescriptor(window, name);
  Object.defineProperty(window, name, { configurable: true, writable: true, value });
  return () => Object.defineProperty(window, name, real!);
}

/** Records what the notifier does with audio and notifications instead of doing it. */
function fakes() {
  const log: string[] = [];
  class FakeAudioContext {
    currentTime = 0;
    destination = {};
    constructor() {
      log.push('audio');
    }
    createOscillator() {
      log.push('beep');
      return { frequency: { value: 0 }, connect: (next: unknown) => next, start() {}, stop() {} };
    }
    createGain() {
      return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, connect: (next: unknown) => next };
    }
    resume() {
      return Promise.resolve();
    }
    close() {
      log.push('audio closed');
      return Promise.resolve();
    }
  }
  class FakeNotification {
    static permission: NotificationPermission = 'granted';
    static requestPermission() {
      log.push('permission asked');
      return Promise.resolve('granted');
    }
    onclick: (() => void) | null = null;
    constructor(title: string, options: NotificationOptions) {
      log.push(`notification ${title} / ${options.body}`);
      FakeNotification.last = this;
    }
    close() {
      log.push('notification closed');
    }
    static last: FakeNotification | null = null;
  }
  const restore = [stubGlobal('AudioContext', FakeAudioContext), stubGlobal('Notification', FakeNotification)];
  return { log, FakeNotification, restore: () => restore.forEach((undo) => undo()) };
}

describe('notifications', () => {
  const title = 'Support — Example shop';
  let undo: (() => void) | null = null;

  beforeEach(() => {
    document.title = title;
  });

  afterEach(async () => {
    showDocument();
    unmountAll();
    await stopOthers();
    undo?.();
    undo = null;
  });

  it('reads the opt-ins from the notify attribute, ignoring unknown words', () => {
    expect([...parseNotify(' sound  title vibrate ')]).to.deep.equal(['title', 'sound']);
    expect([...parseNotify(null)]).to.deep.equal([]);
  });

  it('flashes the title while hidden and restores the exact title when the page is visible again', async () => {
    const conv = freshConv();
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    el.notify = 'title';
    await untilOnline(el);
    const bob = await otherUser(conv);
    hideDocument();
    await bob.send(conv, 'are you there?');
    await until(() => document.title === '(1) New message', 'the title to show the notice');
    showDocument();
    expect(document.title).to.equal(title);
  });

  it('restores the title when the element is removed while it flashes', async () => {
    const conv = freshConv();
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    el.notify = 'title';
    await untilOnline(el);
    const bob = await otherUser(conv);
    hideDocument();
    await bob.send(conv, 'are you there?');
    await until(() => document.title === '(1) New message', 'the title to show the notice');
    el.remove();
    expect(document.title).to.equal(title);
  });

  it('does nothing but count without an opt-in: no title change, sound or notification', async () => {
    const fake = fakes();
    undo = fake.restore;
    const conv = freshConv();
    const el = await mountChat({ user: freshUser('alice'), conversation: conv });
    await untilOnline(el);
    const bob = await otherUser(conv);
    hideDocument();
    await bob.send(conv, 'quietly');
    await until(() => el.unread === 1, 'the message to be counted');
    expect(document.title).to.equal(title);
    expect(fake.log).to.deep.equal([]);
  });

  it('gives the page its own title back when two chats flashed their notices in it', async () => {
    const notice = (chat: string) => (n: number) => `(${n}) ${chat}`;
    const a = new Notifier({ notice: notice('support'), activate: () => {} });
    const b = new Notifier({ notice: notice('sales'), activate: () => {} });
    a.kinds = b.kinds = parseNotify('title');
    hideDocument();
    a.arrived(message, 1);
    b.arrived(message, 2);
    expect(document.title).to.equal('(2) sales');
    // Past a switch of the flashing title and back.
    await new Promise((r) => setTimeout(r, 2100));
    expect([title, '(2) sales']).to.include(document.title);
    a.seen();
    expect([title, '(2) sales']).to.include(document.title);
    b.seen();
    expect(document.title).to.equal(title);
    // And again with the first one last.
    b.arrived(message, 3);
    a.arrived(message, 4);
    await new Promise((r) => setTimeout(r, 1100));
    b.seen();
    expect([title, '(4) support']).to.include(document.title);
    a.seen();
    expect(document.title).to.equal(title);
  });

  it('beeps and shows a system notification only while hidden, and only for the opted-in kinds', () => {
    const fake = fakes();
    undo = fake.restore;
    const activated: string[] = [];
    const notifier = new Notifier({ notice: (n) => `(${n}) New message`, activate: () => activated.push('open') });
    notifier.kinds = parseNotify('sound system');
    notifier.arrived(message, 1);
    expect(fake.log, 'nothing while the page is visible').to.deep.equal([]);
    hideDocument();
    notifier.arrived(message, 2);
    expect(fake.log).to.deep.equal(['audio', 'beep', 'notification (2) New message / Bob: hello']);
    expect(document.title, 'the title was not opted in').to.equal(title);
    fake.FakeNotification.last!.onclick!();
    expect(activated).to.deep.equal(['open']);
    notifier.dispose();
    expect(fake.log.slice(-1)).to.deep.equal(['audio closed']);
  });

  it('beeps once and shows two notifications, not two hundred, for a page of messages arriving at once', async () => {
    const fake = fakes();
    undo = fake.restore;
    const notifier = new Notifier({ notice: (n) => `(${n}) New messages`, activate: () => {} });
    notifier.kinds = parseNotify('sound system');
    hideDocument();
    for (let i = 1; i <= 200; i++) notifier.arrived({ ...message, seq: i, text: `catch-up ${i}` }, i);
    expect(fake.log).to.deep.equal(['audio', 'beep', 'notification (1) New messages / Bob: catch-up 1']);
    // Once the quiet time is over, the last of them, with the whole count.
    await until(() => fake.log.length > 3, 'the notification for the last one', 3_000);
    expect(fake.log.slice(3)).to.deep.equal(['notification closed', 'notification (200) New messages / Bob: catch-up 200']);
    notifier.dispose();
  });

  it('asks for notification permission on prepare() only when system notifications are opted in', () => {
    const fake = fakes();
    undo = fake.restore;
    fake.FakeNotification.permission = 'default';
    const notifier = new Notifier({ notice: String, activate: () => {} });
    notifier.kinds = parseNotify('title');
    notifier.prepare();
    expect(fake.log).to.deep.equal([]);
    notifier.kinds = parseNotify('system');
    notifier.prepare();
    expect(fake.log).to.deep.equal(['permission asked']);
    notifier.dispose();
  });
});
