import { expect } from '@esm-bundle/chai';
import { TabGroup, type TabGroupHost } from '../../src/client/tab-group.js';

/** A follower's host that records nothing: only `leading()` matters here. */
const follower: TabGroupHost = {
  leading: () => false,
  refresh: () => {},
  refreshAll: () => {},
  follow: () => {},
  lastChange: () => ({ from: 'connecting', to: 'online', reason: '' }),
  me: () => ({ user: null, name: null }),
  reconnect: () => {},
  restart: () => {},
  older: () => {},
  report: () => {},
  unanswered: () => {},
  takeOver: () => {},
  token: () => null,
  takeToken: () => {},
};

describe("a following tab's request for older messages", () => {
  it('ends when the leader stored messages below what it holds, not at a live message or an ack', async () => {
    const name = `older-${Math.random().toString(36).slice(2)}`;
    // The leader's side of the group's channel, spoken raw.
    const leader = new BroadcastChannel(name);
    const heard: string[] = [];
    leader.onmessage = (event) => heard.push((event.data as { type: string }).type);
    const group = new TabGroup(name, follower);
    try {
      let settled: boolean | undefined;
      const request = group.requestOlder('c', 101, 5_000).then((stored) => (settled = stored));
      await new Promise((r) => setTimeout(r, 50));
      expect(heard).to.include('older');

      // A live message and an ack of this conversation, and an older page of another one.
      leader.postMessage({ type: 'stored', conv: 'c', seqs: [250] });
      leader.postMessage({ type: 'stored', conv: 'c', seqs: [101, 102] });
      leader.postMessage({ type: 'stored', conv: 'other', seqs: [1, 2, 3] });
      await new Promise((r) => setTimeout(r, 100));
      expect(settled).to.equal(undefined);

      leader.postMessage({ type: 'stored', conv: 'c', seqs: Array.from({ length: 100 }, (_, i) => i + 1) });
      await request;
      expect(settled).to.equal(true);
    } finally {
      group.stop();
      leader.close();
    }
  });
});
