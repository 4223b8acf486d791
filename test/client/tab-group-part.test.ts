import { expect } from '@esm-bundle/chai';
import { GROUP_LOAD_TIMEOUT } from '../../src/client/client.js';
import { until } from '../browser-support/server.js';
import { firstTab, makeClient, online, sentTexts, stopAll, tapSockets, type SocketTap } from './support.js';

// The tab group's code (src/client/tab-group.ts) is loaded only when a client meets another client of
// its database. Runs in a page of its own, so nothing else in it has asked for that module before.

/** Requests this page made for the tab group's module. */
function groupCodeRequests(): string[] {
  return performance
    .getEntriesByType('resource')
    .map((entry) => entry.name)
    .filter((name) => /\/client\/tab-group\.[jt]s(?:[?#]|$)/.test(new URL(name).pathname + new URL(name).search));
}

/**
 * Watches the timers of `delay` ms that `setter` (a function name in the stack where the timer is set)
 * sets in this page while the watch runs: how many it set, and how many have neither fired nor been
 * cleared. Other timers of the same length (a heartbeat's answer deadline, a tab group's join deadline)
 * are not counted.
 */
function watchTimers(delay: number, setter: string): { created: () => number; pending: () => number; restore: () => void } {
  const { setTimeout: set, clearTimeout: clear } = window;
  const pending = new Set<unknown>();
  let created = 0;
  window.setTimeout = ((handler: TimerHandler, ms?: number, ...args: unknown[]) => {
    const watched = ms === delay && typeof handler === 'function' && (new Error().stack ?? '').includes(setter);
    const id = set(watched ? (...a: unknown[]) => (pending.delete(id), (handler as (...a: unknown[]) => void)(...a)) : handler, ms, ...args);
    if (watched) {
      created += 1;
      pending.add(id);
    }
    return id;
  }) as typeof window.setTimeout;
  window.clearTimeout = ((id?: number) => {
    pending.delete(id);
    clear(id);
  }) as typeof window.clearTimeout;
  return {
    created: () => created,
    pending: () => pending.size,
    restore() {
      window.setTimeout = set;
      window.clearTimeout = clear;
    },
  };
}

describe('the tab group, loaded when a second client appears', () => {
  let tap: SocketTap | null = null;
  afterEach(async () => {
    tap?.restore();
    tap = null;
    await stopAll();
  });

  /** `firstTab`, with the page's sockets tapped from before it connects. */
  async function tappedFirstTab() {
    const socketTap = (tap = tapSockets());
    return { ...(await firstTab()), socketTap };
  }

  it('is not loaded by a client alone on its database, and is loaded once another comes; they then share one socket', async () => {
    const { conv, dbName, user, first, socketTap } = await tappedFirstTab();
    await first.client.send(conv, 'alone');
    await until(() => first.client.pendingCount() === 0, 'the first message sent');
    expect(groupCodeRequests(), 'requests for tab-group code with one client').to.deep.equal([]);
    expect(socketTap.sockets).to.equal(1);

    const second = await makeClient(user, [conv], { dbName });
    await online(second.client, 'the second tab online, following the first');
    expect(groupCodeRequests()).to.have.length(1);
    await second.client.send(conv, 'from the second');
    await until(() => [first, second].every((t) => sentTexts(t.client, conv).length === 2), 'both messages in both tabs');
    for (const t of [first, second]) expect(sentTexts(t.client, conv)).to.deep.equal(['alone', 'from the second']);
    expect(socketTap.sockets, 'the second tab follows the first one socket').to.equal(1);
  });

  it('keeps a tab that waits for the lead from opening a socket of its own before its group starts', async () => {
    const { conv, dbName, user, first, socketTap } = await tappedFirstTab();
    const second = await makeClient(user, [conv], { dbName });
    await second.client.ready;
    // It stands in the election now; it has not heard of the first tab or loaded the group yet. "Retry
    // now" (or a hint from the browser: back online, the page shown again) must go to the leader.
    await new Promise((resolve) => setTimeout(resolve, 0));
    second.client.reconnect();
    await online(second.client, 'the second tab online, following the first');
    await second.client.send(conv, 'from the second');
    await until(() => [first, second].every((t) => sentTexts(t.client, conv).length === 1), 'the message in both tabs');
    expect(socketTap.sockets, 'sockets opened').to.equal(1);
  });

  it('leaves no load deadline pending once the group has started in both tabs', async () => {
    const { conv, dbName, user } = await tappedFirstTab();
    // Watched from here: the first tab starts its group too only once it meets the second.
    const timers = watchTimers(GROUP_LOAD_TIMEOUT, 'startGroup');
    try {
      const second = await makeClient(user, [conv], { dbName });
      // Online through the first tab's state, which its group sends once started: both groups have loaded.
      await online(second.client, 'the second tab online, following the first');
      expect(timers.created(), 'load deadlines set, one per tab').to.equal(2);
      expect(timers.pending(), 'load deadlines still pending').to.equal(0);
    } finally {
      timers.restore();
    }
  });
});
