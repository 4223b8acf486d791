/**
 * The optional ways `<imbed-chat>` tells a person about a message while the page is hidden: a flashing
 * document title, a short beep, a system notification. Each is opt-in (`notify="title sound system"`);
 * with none, only the unread badge shows. `Notifier.dispose()` undoes everything it did.
 */
import type { Message } from '../client/index.js';

export type NotifyKind = 'title' | 'sound' | 'system';

const KINDS: readonly NotifyKind[] = ['title', 'sound', 'system'];

/** How often the flashing title switches between the page's title and the notice (ms). */
const FLASH_INTERVAL = 1000;

/**
 * Least time between two beeps, and between two system notifications (ms). A tab that comes back gets a
 * page of messages at once: one beep for all, and one notification now and one for the last of them.
 */
const QUIET = 1000;

/** The opt-ins named in a `notify` attribute value; unknown words are ignored. */
export function parseNotify(value: string | null | undefined): ReadonlySet<NotifyKind> {
  const words = new Set((value ?? '').split(/\s+/));
  return new Set(KINDS.filter((kind) => words.has(kind)));
}

export interface NotifierOptions {
  /** The notice shown in the title and as the system notification's title, e.g. `(3) New message`. */
  notice(count: number): string;
  /** Called when the person clicks the system notification. */
  activate(): void;
}

/**
 * The title is the page's, shared by every chat on it: while any of them flashes its notice, the page's own
 * title is kept here (null when none flashes), with each flashing chat's notice, the latest last, which is
 * the one that flashes. A chat that flashes after another must not take the other's notice for the
 * page's title, nor restore it.
 */
let pageTitle: string | null = null;
const notices = new Map<Notifier, string>();
let flashing: ReturnType<typeof setInterval> | undefined;

/** The notice that flashes: the latest chat's. */
function latestNotice(): string {
  return [...notices.values()].at(-1)!;
}

function flashTitle(): void {
  const current = document.title;
  const notice = latestNotice();
  // The page retitled itself meanwhile (a single-page app navigating): that is the title to restore.
  if (current !== pageTitle && ![...notices.values()].includes(current)) pageTitle = current;
  document.title = current === notice ? pageTitle! : notice;
}

export class Notifier {
  readonly #options: NotifierOptions;
  #kinds: ReadonlySet<NotifyKind> = new Set();
  #audio: AudioContext | null = null;
  #shown: Notification | null = null;
  /** When the last beep and the last notification went out (`performance.now()`). */
  #beeped = -Infinity;
  #showed = -Infinity;
  /** The notification waiting for the end of the quiet time, for the latest message, while one waits. */
  #next: { message: Message; count: number; timer: ReturnType<typeof setTimeout> } | null = null;

  constructor(options: NotifierOptions) {
    this.#options = options;
  }

  /** The opt-ins in force. Changing them ends whatever is showing. */
  set kinds(kinds: ReadonlySet<NotifyKind>) {
    this.seen();
    this.#kinds = kinds;
  }

  get kinds(): ReadonlySet<NotifyKind> {
    return this.#kinds;
  }

  /** A message from someone else arrived unseen and `count` are unread now. Acts only while the page is hidden. */
  arrived(message: Message, count: number): void {
    if (document.visibilityState !== 'hidden') return;
    if (this.#kinds.has('title')) this.flash(count);
    const now = performance.now();
    if (this.#kinds.has('sound') && now - this.#beeped >= QUIET) {
      this.#beeped = now;
      this.beep();
    }
    if (!this.#kinds.has('system')) return;
    if (this.#next) {
      this.#next.message = message;
      this.#next.count = count;
    } else if (now - this.#showed >= QUIET) {
      this.show(message, count);
    } else {
      const next = (this.#next = {
        message,
        count,
        timer: setTimeout(() => {
          this.#next = null;
          this.show(next.message, next.count);
        }, QUIET - (now - this.#showed)),
      });
    }
  }

  /** The person is looking again: the exact page title comes back and the system notification goes. */
  seen(): void {
    if (notices.delete(this)) {
      // The page's title comes back once no chat flashes; until then another chat's notice stands in this one's place.
      if (notices.size) {
        if (document.title !== pageTitle) document.title = latestNotice();
      } else {
        clearInterval(flashing);
        document.title = pageTitle!;
        pageTitle = null;
      }
    }
    this.#shown?.close();
    this.#shown = null;
    clearTimeout(this.#next?.timer);
    this.#next = null;
  }

  /**
   * Call from a user gesture (a click that opens the chat): browsers grant notification permission and
   * running audio only then. Asks only for what was opted in, and asks for permission only once.
   */
  prepare(): void {
    if (this.#kinds.has('system') && typeof Notification !== 'undefined' && Notification.permission === 'default') {
      Notification.requestPermission().catch(() => {});
    }
    if (this.#kinds.has('sound')) this.audio()?.resume().catch(() => {});
  }

  /** Ends everything: title restored, timer cleared, notification closed, audio released. */
  dispose(): void {
    this.seen();
    this.#audio?.close().catch(() => {});
    this.#audio = null;
  }

  private flash(count: number): void {
    const notice = this.#options.notice(count);
    if (pageTitle === null) {
      pageTitle = document.title;
      flashing = setInterval(flashTitle, FLASH_INTERVAL);
    }
    notices.delete(this);
    notices.set(this, notice);
    document.title = notice;
  }

  private audio(): AudioContext | null {
    if (!this.#audio && typeof AudioContext === 'function') this.#audio = new AudioContext();
    return this.#audio;
  }

  /** A 0.2 s tone made on the spot: no audio file, nothing fetched. Silent until a gesture allowed audio. */
  private beep(): void {
    const audio = this.audio();
    if (!audio) return;
    const now = audio.currentTime;
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, now);
    gain.gain.exponentialRampToValueAtTime(0.001, now + 0.2);
    tone.connect(gain).connect(audio.destination);
    tone.start(now);
    tone.stop(now + 0.2);
  }

  private show(message: Message, count: number): void {
    this.#showed = performance.now();
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    this.#shown?.close();
    try {
      const shown = new Notification(this.#options.notice(count), { body: `${message.name}: ${message.text}`, tag: `imbed:${message.conv}` });
      shown.onclick = () => {
        window.focus();
        shown.close();
        this.#options.activate();
      };
      this.#shown = shown;
    } catch {
      // Android Chrome allows notifications only from a service worker: the constructor throws there.
      this.#shown = null;
    }
  }
}
