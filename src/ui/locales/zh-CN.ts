/** Simplified Chinese: full-width punctuation, 条 as the measure word for messages, 秒 for seconds. */
import type { Strings } from '../strings.js';

export const zhCN: Strings = {
  logLabel: '消息',
  emptyConversation: '还没有消息，打个招呼吧！',
  composerLabel: '输入消息',
  composerPlaceholder: '输入消息……',
  send: '发送',
  newMessages: '有新消息',
  you: '我',
  sending: '正在发送……',
  sent: '已发送',
  failed: '发送失败',
  retry: '重试',
  retryLabel: '重试发送这条消息',
  discard: '删除',
  discardLabel: '删除这条消息',
  retryNow: '立即重试',
  connecting: '正在连接……',
  reconnecting: '正在重新连接……',
  offline: '已离线',
  catchingUp: '正在同步……',
  notStarted: '未连接',
  memoryStorage: '消息仅保存在内存中，刷新页面后将会丢失。',
  unavailable: (reason) => (reason ? `聊天不可用：${reason}` : '聊天不可用'),
  sendingTooFast: (seconds) => `发送过于频繁，${seconds} 秒后继续发送`,
  tooManyConnections: (seconds) => `打开的聊天窗口过多，${seconds} 秒后重新连接`,
  waiting: (n) => `${n} 条消息等待发送`,
  withWaiting(status, n) {
    return `${status.replace(/…+$/, '')}，${this.waiting(n)}`;
  },
  charactersLeft: (n) => (n >= 0 ? `还可输入 ${n} 个字` : `已超出 ${-n} 个字`),
  tooLong: (max) => `消息过长：最多 ${max} 个字。`,
  refusal(code, reason, max) {
    return code === 'REJECTED' && reason
      ? reason
      : code === 'TEXT_TOO_LONG'
        ? this.tooLong(max)
        : code === 'FORBIDDEN'
          ? this.notMember
          : code === 'SPAM'
            ? '短时间内重复发送次数过多。'
            : '服务器未接受这条消息。';
  },
  noClient: '聊天未连接：请设置 server、token 和 conversation。',
  notMember: '你不是此会话的成员。',
  signedOut: '已退出登录。',
  chatTitle: '聊天',
  openChat: (unread) => (unread > 0 ? `打开聊天，${unread} 条未读` : '打开聊天'),
  closeChat: '关闭聊天',
  newMessageNotice: (n) => `（${n}）新消息`,
  announceMessage: (name, text) => `${name}：${text}`,
  announceMany: (n) => `${n} 条新消息`,
};
