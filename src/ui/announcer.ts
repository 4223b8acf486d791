/**
 * What `<imbed-chat>` tells screen readers about arriving messages. The message log is not a live
 * region, since a catch-up or a re-render would then be read out whole: the element hands the announcer
 * each new message from someone else, and each of the reader's own the server refused for good, and it
 * writes a short batch ("Bob: hello", "Not sent: hi") into a visually hidden status region, in the chat's
 * language.
 */
import { html, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { Message } from '../client/index.js';
import type { Strings } from './strings.js';

/** Messages arriving this close together (ms) are announced as one batch, so a burst is not a flood. */
const BATCH_DELAY = 500;
/** A batch of more messages than this is announced as a count. */
const MAX_LINES = 3;
/** Longer texts are cut: the announcement is a notice, the log holds the whole message. */
const MAX_CHARS = 160;

/** One line to announce: who (or what happened) and the message's text. */
type Notice = Pick<Message, 'name' | 'text'>;

/**
 * The lines announced for one batch: each arrival as "name: text", or their count for a long batch, then
 * each refusal as "Not sent: text", or their count, so a refusal is never counted as news.
 */
export function announcement(arrived: readonly Notice[], strings: Strings, refused: readonly string[] = []): string[] {
  const line = ({ name, text }: Notice): string =>
    // Cut between characters, not inside one that takes two code units (an emoji), which would be read as garbage.
    strings.announceMessage(name, text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS - 1).replace(/[\uD800-\uDBFF]$/, '')}…` : text);
  return [
    ...(arrived.length > MAX_LINES ? [strings.announceMany(arrived.length)] : arrived.map(line)),
    ...(refused.length > MAX_LINES ? [strings.announceRefusedMany(refused.length)] : refused.map((text) => line({ name: strings.failed, text }))),
  ];
}

export class Announcer implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #strings: () => Strings;
  #queue: Notice[] = [];
  #refused: string[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * The last batch's lines, as nodes made for that batch: screen readers read nodes added to the region,
   * so a batch worded like the last one is still read, and a re-render of the host reads nothing.
   */
  #lines: HTMLElement[] = [];

  /** `strings` is asked when a batch is written, so it is in the language of that moment. */
  constructor(host: ReactiveControllerHost, strings: () => Strings) {
    this.#host = host;
    this.#strings = strings;
    host.addController(this);
  }

  /** Queues a message that just arrived from someone else, for the next batch. */
  add(message: Notice): void {
    this.#queue.push(message);
    this.#timer ??= setTimeout(this.#flush, BATCH_DELAY);
  }

  /** Queues the notice that a message the reader sent was refused for good: "Not sent: its text". */
  refused(text: string): void {
    this.#refused.push(text);
    this.#timer ??= setTimeout(this.#flush, BATCH_DELAY);
  }

  hostDisconnected(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#refused = [];
  }

  /** The status region. Always rendered, so screen readers have it registered before anything is written. */
  render(): TemplateResult {
    return html`<div class="announcer visually-hidden" role="status">
      ${this.#lines}
    </div>`;
  }

  readonly #flush = (): void => {
    this.#timer = undefined;
    this.#lines = announcement(this.#queue.splice(0), this.#strings(), this.#refused.splice(0)).map((line) => {
      const node = document.createElement('p');
      node.textContent = line;
      return node;
    });
    this.#host.requestUpdate();
  };
}
