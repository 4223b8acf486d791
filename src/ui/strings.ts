/**
 * Every word `<imbed-chat>` shows or announces, in English. Other locales (`locales/`) fill the same
 * `Strings` shape, and a host overrides any entry through the element's `strings` property. Functions
 * take counts and reasons and return plain text; they never build markup.
 */
export const en = {
  logLabel: 'Messages',
  emptyConversation: 'No messages yet. Say hello!',
  composerLabel: 'Write a message',
  composerPlaceholder: 'Write a message…',
  send: 'Send',
  newMessages: 'New messages',
  /** Names one's own messages for assistive technology (the screen shows them on their own side). */
  you: 'You',
  sending: 'Sending…',
  sent: 'Sent',
  failed: 'Not sent',
  retry: 'Retry',
  /** Each `…Label` contains the visible word of its button (WCAG 2.5.3), so speech users can say what they see. */
  retryLabel: 'Retry sending this message',
  discard: 'Discard',
  discardLabel: 'Discard this message',
  retryNow: 'Retry now',
  /** "Retry now" while the attempt it asked for is under way. */
  retrying: 'Retrying…',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  catchingUp: 'Catching up…',
  notStarted: 'Not connected',
  memoryStorage: 'Messages will not survive a reload on this device.',
  unavailable: (reason: string): string => (reason ? `Chat unavailable: ${reason}` : 'Chat unavailable'),
  sendingTooFast: (seconds: number): string => `Sending too fast — waiting ${seconds} s`,
  tooManyConnections: (seconds: number): string => `Too many connections — reconnecting in ${seconds} s`,
  waiting: (n: number): string => `${n} ${n === 1 ? 'message' : 'messages'} waiting to send`,
  /**
   * A connection line followed by the count of waiting messages, e.g. "Offline — 2 messages waiting to
   * send". A method, so an overridden `waiting` is used here too.
   */
  withWaiting(status: string, n: number): string {
    return `${status}${status.endsWith('…') ? ' ' : ' — '}${this.waiting(n)}`;
  },
  charactersLeft: (n: number): string => (n >= 0 ? `${n} character${n === 1 ? '' : 's'} left` : `${-n} character${n === -1 ? '' : 's'} over the limit`),
  tooLong: (max: number): string => `This message is too long: the limit is ${max} characters.`,
  /**
   * Under one of the reader's messages the server refused as sent too often (`SPAM`), and under one it
   * refused for a reason with no words of its own here. Others read `tooLong`, `notMember`, or a message
   * filter's own reason (`REJECTED`, written for the sender).
   */
  refusedSpam: 'You sent this too many times in a short while.',
  refusedOther: 'The server did not accept this message.',
  noClient: 'The chat is not connected: set server, token and conversation.',
  notMember: 'You are not a member of this conversation.',
  signedOut: 'Signed out.',
  chatTitle: 'Chat',
  openChat: (unread: number): string => (unread > 0 ? `Open chat, ${unread} unread` : 'Open chat'),
  closeChat: 'Close chat',
  newMessageNotice: (n: number): string => `(${n}) New message`,
  /** Read out by screen readers for a message that just arrived. */
  announceMessage: (name: string, text: string): string => `${name}: ${text}`,
  /** Read out instead when many arrive at once. */
  announceMany: (n: number): string => `${n} new messages`,
  /** Read out instead of "Not sent: …" lines when many of the reader's messages are refused at once. */
  announceRefusedMany: (n: number): string => `${n} messages not sent`,
};

/** The words of one locale: every entry of the English table, with the same arguments. */
export type Strings = typeof en;
