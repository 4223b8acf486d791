import { expect } from '@esm-bundle/chai';
import { TabGroup, type TabGroupHost } from '../../src/client/tab-group.js';
import { until } from '../browser-support/server.js';

/** A follower's host that records nothing: only `leading()` matters here. */
const follower: TabGroupHost = {
  leading: () => false,
  refresh: () => {},
  history: () => {},
  refreshAll: () => {},
  forget: () => {},
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

describe("a following tab told what is history before it is stored", () => {
  it('takes the mark at once, without reading the store back, and ignores a malformed one', async () => {
    const name = `history-${Math.random().toString(36).slice(2)}`;
    const leader = new BroadcastChannel(name);
    const marks: Array<[string, number]> = [];
    let refreshes = 0;
    const group = new TabGroup(name, { ...follower, history: (conv, upTo) => marks.push([conv, upTo]), refresh: () => (refreshes += 1) });
    try {
      leader.postMessage({ type: 'history', conv: 'c', upTo: '200' });
      leader.postMessage({ type: 'history', upTo: 200 });
      // A mark of Infinity or NaN would take everything after it for history, or nothing.
      leader.postMessage({ type: 'history', conv: 'c', upTo: Infinity });
      leader.postMessage({ type: 'history', conv: 'c', upTo: NaN });
      leader.postMessage({ type: 'history', conv: 'c', upTo: 200 });
      await until(() => marks.length > 0, 'the mark');
      await new Promise((r) => setTimeout(r, 100));
      expect(marks).to.deep.equal([['c', 200]]);
      expect(refreshes).to.equal(0);
    } finally {
      group.stop();
      leader.close();
    }
  });
});

describe('a following tab in view and a leader it does not hear', () => {
  it('asks a leader that only answers (an older build, which does not beat) and leaves it the lead; takes it from one that does not answer', async function () {
    this.timeout(90_000);
    const name = `silent-${Math.random().toString(36).slice(2)}`;
    // The leader's side of the group's channel, spoken raw: it answers `join` with its state, as leaders
    // of every build do, and says nothing else.
    const leader = new BroadcastChannel(name);
    let answering = true;
    let asked = 0;
    leader.onmessage = (event) => {
      if ((event.data as { type: string }).type !== 'join') return;
      asked += 1;
      if (answering) leader.postMessage({ type: 'state', leader: 'old', change: { from: 'syncing', to: 'online', reason: '' }, user: null, name: null });
    };
    let takenOver = 0;
    const group = new TabGroup(name, { ...follower, takeOver: () => (takenOver += 1) });
    try {
      expect(document.visibilityState).to.equal('visible');
      // Well past the 15 s without a word and the beat to answer in.
      await new Promise((r) => setTimeout(r, 27_000));
      expect(asked, 'it asked whether the leader runs').to.be.greaterThan(1);
      expect(takenOver, 'a leader that answers keeps the lead').to.equal(0);
      answering = false;
      await until(() => takenOver === 1, 'the lead taken from a leader that does not answer', 30_000);
    } finally {
      group.stop();
      leader.close();
    }
  });
});
