/**
 * Every word `<imbed-chat>` shows or announces, in one object so a translation can replace it whole.
 * Functions take counts and reasons; they never build markup.
 */
export const strings = {
  logLabel: 'Messages',
  emptyConversation: 'No messages yet. Say hello!',
  composerLabel: 'Write a message',
  composerPlaceholder: 'Write a message…',
  send: 'Send',
  newMessages: 'New messages',
  sending: 'Sending…',
  sent: 'Sent',
  failed: 'Not sent',
  retry: 'Retry',
  retryLabel: 'Retry sending this message',
  discard: 'Discard',
  discardLabel: 'Discard this message',
  retryNow: 'Retry now',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  catchingUp: 'Catching up…',
  notStarted: 'Not connected',
  memoryStorage: 'Messages will not survive a reload on this device.',
  unavailable: (reason: string) => (reason ? `Chat unavailable: ${reason}` : 'Chat unavailable'),
  sendingTooFast: (seconds: number) => `Sending too fast — waiting ${seconds} s`,
  tooManyConnections: (seconds: number) => `Too many open chats — reconnecting in ${seconds} s`,
  waiting: (n: number) => `${n} ${n === 1 ? 'message' : 'messages'} waiting to send`,
  charactersLeft: (n: number) => (n >= 0 ? `${n} characters left` : `${-n} characters over the limit`),
  tooLong: (max: number) => `This message is too long: the limit is ${max} characters.`,
  noClient: 'The chat is not connected: set server, token and conversation.',
  notMember: 'You are not a member of this conversation.',
};

export type Strings = typeof strings;
