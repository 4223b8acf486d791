import { expect } from '@esm-bundle/chai';
import { Mirror } from '../../src/client/mirror.js';
import { Session, type SessionHost } from '../../src/client/session.js';
import type { OutboxRecord } from '../../src/client/store.js';
import type { ItemError } from '../../src/client/types.js';
import type { ClientFrame, Message, SentFrame } from '../../src/protocol/index.js';
import { until } from '../browser-support/server.js';

const CONV = 'acks';

/** A session over a host whose store writes wait until the test lets each one finish. */
function harness(outboxSize: number, conversations = [CONV]) {
  const mirror = new Mirror(() => ({ user: 'alice', name: 'Alice' }));
  mirror.loadConversation(CONV, [], { cursor: 0, floor: 1 });
  const records: OutboxRecord[] = Array.from({ length: outboxSize }, (_, i) => ({
    id: i + 1, conv: CONV, cmid: `cmid-${String(i + 1).padStart(4, '0')}`, text: `m${i + 1}`, createdAt: 0, status: 'pending',
  }));
  mirror.loadOutbox(records);
  const writes: Array<{ msgs: Message[]; finish(fail?: Error): void }> = [];
  const sent: ClientFrame[] = [];
  const reports: ItemError[] = [];
  /** The seqs of each page stored as older messages. */
  const older: number[][] = [];
  /** The conversations whose copy was dropped. */
  const forgotten: string[] = [];
  const host: SessionHost = {
    conversations,
    mirror,
    me: () => ({ user: 'alice', name: 'Alice' }),
    send: (frame) => {
      sent.push(frame);
      return true;
    },
    acceptOlder: async (conv, msgs) => {
      older.push(msgs.map((m) => m.seq));
      mirror.acceptOlder(conv, msgs, { cursor: 0, floor: 1 });
    },
    forget: async (conv) => {
      forgotten.push(conv);
      mirror.loadConversation(conv, [], { cursor: 0, floor: 1 });
    },
    accept: (conv, msgs) =>
      new Promise<void>((resolve, reject) => {
        writes.push({
          msgs: [...msgs],
          finish(fail) {
            if (fail) return reject(fail);
            mirror.acceptMessages(conv, msgs);
            resolve();
          },
        });
      }),
    fail: async () => {},
    welcomed: () => {},
    caughtUp: () => {},
    report: (error) => void reports.push(error),
  };
  const session = new Session(host);
  const ack = (n: number): SentFrame => ({ type: 'sent', conv: CONV, cmid: records[n - 1]!.cmid, seq: n, ts: n });
  const seqsOf = (w: { msgs: Message[] }) => w.msgs.map((m) => m.seq);
  /** The cmids sent so far, and the syncs. */
  const sends = () => sent.filter((f) => f.type === 'send').map((f) => (f as { cmid: string }).cmid);
  const syncs = () => sent.filter((f): f is SyncFrame => f.type === 'sync');
  /** `welcome`, every conversation at `head` and, when given, the server's frame rate. */
  const welcome = (head: number, framesPerSecond?: number) =>
    session.handle({
      type: 'welcome', user: 'alice', name: 'Alice', session: 's', convs: conversations.map((conv) => ({ conv, head })), heartbeat: 15_000,
      limits: { maxText: 4000, maxFrame: 65536, syncLimit: 200, ...(framesPerSecond && { framesPerSecond }) }, ts: 0,
    });
  /**
   * Answers a catch-up sync with the conversation's one message and lets its write finish: asked forward,
   * a write of new messages; asked backward (nothing held), a page of history.
   */
  const answer = async (frame: SyncFrame) => {
    const msg: Message = { conv: frame.conv, seq: 1, cmid: `m-${frame.conv}`, from: 'bob', name: 'Bob', text: 'x', ts: 0 };
    const handled = session.handle({ type: 'history', conv: frame.conv, msgs: [msg], more: false, head: 1, ref: frame.ref! });
    await settle();
    if (frame.before === undefined) writes.at(-1)!.finish();
    await handled;
  };
  return { session, writes, sent, reports, ack, seqsOf, mirror, records, older, forgotten, sends, syncs, welcome, answer };
}

type SyncFrame = Extract<ClientFrame, { type: 'sync' }>;

/** Lets pending promise callbacks run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('acks stored by a session', () => {
  it('go into one write together when they arrive while a write is in progress', async () => {
    const { session, writes, sent, ack, seqsOf, welcome } = harness(6);
    await welcome(0);
    expect(sent.filter((f) => f.type === 'send')).to.have.length(6);

    for (let n = 1; n <= 6; n++) await session.handle(ack(n)); // returns without waiting for the store
    expect(writes.map(seqsOf)).to.deep.equal([[1]]);
    writes[0]!.finish();
    await settle();
    expect(writes.map(seqsOf)).to.deep.equal([[1], [2, 3, 4, 5, 6]]);
    writes[1]!.finish();
    await session.acksStored();
  });

  it('are stored before a later frame of another type is handled', async () => {
    const { session, writes, ack, seqsOf, welcome } = harness(2);
    await welcome(0);
    await session.handle(ack(1));
    await session.handle(ack(2));
    let msgHandled = false;
    const msg = session.handle({ type: 'msg', conv: CONV, seq: 3, cmid: 'from-bob-01', from: 'bob', name: 'Bob', text: 'hi', ts: 3 }).then(() => (msgHandled = true));
    writes[0]!.finish();
    await settle();
    expect(msgHandled).to.equal(false);
    expect(writes.map(seqsOf)).to.deep.equal([[1], [2]]);
    writes[1]!.finish();
    await settle();
    expect(writes.map(seqsOf)).to.deep.equal([[1], [2], [3]]);
    writes[2]!.finish();
    await msg;
    expect(msgHandled).to.equal(true);
  });

  it('start writing at once after close(), so the work queue never ends before their writes begin', async () => {
    const { session, writes, ack, seqsOf, welcome } = harness(4);
    await welcome(0);
    await session.handle(ack(1));
    await session.handle(ack(2));
    await session.handle(ack(3));
    expect(writes.map(seqsOf)).to.deep.equal([[1]]);
    session.close();
    expect(writes.map(seqsOf)).to.deep.equal([[1], [2, 3]]);
    await session.handle(ack(4)); // a frame of the closed socket, still stored
    expect(writes.map(seqsOf)).to.deep.equal([[1], [2, 3], [4]]);
    for (const w of writes) w.finish();
    await session.acksStored();
  });

  it('report a failed write and carry on with the next acks', async () => {
    const { session, writes, reports, ack, seqsOf, welcome } = harness(3);
    await welcome(0);
    await session.handle(ack(1));
    await session.handle(ack(2));
    writes[0]!.finish(new Error('disk full'));
    await settle();
    expect(reports.map((r) => [r.code, r.message])).to.deep.equal([['STORAGE_FAILED', 'disk full']]);
    expect(writes.map(seqsOf)).to.deep.equal([[1], [2]]);
    writes[1]!.finish();
    await session.handle(ack(3));
    await settle();
    writes[2]!.finish();
    await session.acksStored();
    expect(writes.map(seqsOf)).to.deep.equal([[1], [2], [3]]);
  });

  it('free the place in flight of an item another tab had acknowledged, so the next goes out', async () => {
    const { session, sent, ack, mirror, records, sends, welcome } = harness(2);
    // One send in flight at a time (a server allowing one frame a second).
    await welcome(0, 1);
    expect(sends()).to.deep.equal([records[0]!.cmid]);
    // Another tab's connection got the first one acknowledged and took it out of the shared outbox.
    mirror.loadOutbox(records.slice(1));
    await session.handle(ack(1));
    expect(sent.filter((f) => f.type === 'sync')).to.have.length(1);
    expect(sends()).to.deep.equal([records[0]!.cmid, records[1]!.cmid]);
  });
});

describe('refusals by a session', () => {
  for (const code of ['REJECTED', 'RATE_LIMITED'] as const) {
    it(`free the place in flight of an item refused (${code}) after it left this copy, so the next goes out`, async () => {
      const { session, mirror, records, sends, welcome } = harness(2);
      await welcome(0, 1);
      expect(sends()).to.deep.equal([records[0]!.cmid]);
      // Another client of the database discarded the first one and this copy read that back.
      mirror.loadOutbox(records.slice(1));
      await session.handle({ type: 'error', code, message: 'no', ref: records[0]!.cmid, retryable: code === 'RATE_LIMITED', ...(code === 'RATE_LIMITED' && { retryAfter: 20 }) });
      await until(() => sends().length === 2, 'the next item to go out');
      expect(sends()).to.deep.equal([records[0]!.cmid, records[1]!.cmid]);
      session.close();
    });
  }

  it('ask at most a window of catch-up syncs at once, and after RATE_LIMITED one at a time after one pause', async () => {
    const convs = Array.from({ length: 8 }, (_, i) => `conv-${i}`);
    const { session, mirror, syncs, welcome, answer } = harness(0, convs);
    for (const conv of convs) mirror.loadConversation(conv, [], { cursor: 0, floor: 1 });
    await welcome(1, 3);
    // The server's frame rate is the window: three asked, the others wait for an answer.
    expect(syncs().map((f) => f.conv)).to.deep.equal(convs.slice(0, 3));
    await answer(syncs()[0]!);
    expect(syncs().map((f) => f.conv)).to.deep.equal(convs.slice(0, 4));

    // Two refused for the frame rate: nothing goes out during the one pause, then one sync at a time.
    for (const refused of [syncs()[1]!, syncs()[2]!]) {
      await session.handle({ type: 'error', code: 'RATE_LIMITED', message: 'slow down', ref: refused.ref!, retryable: true, retryAfter: 30 });
    }
    await new Promise((r) => setTimeout(r, 60));
    expect(syncs()).to.have.length(4);
    await answer(syncs()[3]!);
    expect(syncs().map((f) => f.conv)).to.deep.equal([...convs.slice(0, 4), convs[4]]);
    await answer(syncs()[4]!);
    expect(syncs().map((f) => f.conv)).to.deep.equal([...convs.slice(0, 4), convs[4], convs[5]]);
    session.close();
  });

  it('give the place of a sync refused for good to the next one, and catch up to send the outbox', async () => {
    const convs = ['conv-a', 'conv-b', 'conv-c'];
    const { session, mirror, records, sends, syncs, welcome, answer } = harness(1, convs);
    for (const conv of convs) mirror.loadConversation(conv, [], { cursor: 0, floor: 1 });
    await welcome(1, 1);
    expect(syncs().map((f) => f.conv)).to.deep.equal(['conv-a']);
    // Removed from the first conversation meanwhile.
    await session.handle({ type: 'error', code: 'FORBIDDEN', message: 'no longer a member', ref: syncs()[0]!.ref!, retryable: false, conv: 'conv-a' });
    expect(syncs().map((f) => f.conv)).to.deep.equal(['conv-a', 'conv-b']);
    for (const conv of ['conv-b', 'conv-c']) {
      expect(syncs().at(-1)!.conv).to.equal(conv);
      await answer(syncs().at(-1)!);
    }
    // Caught up: the outbox goes out.
    expect(sends()).to.deep.equal([records[0]!.cmid]);
    session.close();
  });
});

/** Bob's message at `seq` of `conv`; its cmid names `prefix`, so the same seq can be another message. */
const msg = (conv: string, seq: number, prefix = 'old'): Message => ({ conv, seq, cmid: `${prefix}-${conv}-${seq}`, from: 'bob', name: 'Bob', text: 'x', ts: 0 });
/** Bob's messages from seq `from` to `to` of `conv`. */
const range = (conv: string, from: number, to: number, prefix = 'old'): Message[] => Array.from({ length: to - from + 1 }, (_, i) => msg(conv, from + i, prefix));

describe('a copy the server\'s messages no longer match (its database restored from a backup)', () => {
  const held = (n: number, prefix = 'old'): Message[] => range(CONV, 1, n, prefix);

  it('is dropped when the server holds fewer messages, and loaded again from the newest page', async () => {
    const { session, mirror, forgotten, syncs, welcome } = harness(0);
    mirror.loadConversation(CONV, held(10), { cursor: 10, floor: 1 });
    await welcome(6);
    expect(forgotten).to.deep.equal([CONV]);
    expect(mirror.cursor(CONV)).to.equal(0);
    expect(syncs().map(({ after, before }) => ({ after, before }))).to.deep.equal([{ after: undefined, before: 7 }]);
    session.close();
  });

  it('is dropped when the server\'s message at the cursor is another one, and kept when it is the same', async () => {
    for (const same of [true, false]) {
      const { session, mirror, forgotten, syncs, welcome, writes } = harness(0);
      mirror.loadConversation(CONV, held(10), { cursor: 10, floor: 1 });
      await welcome(12);
      // The catch-up starts one message early, at the cursor's.
      const [sync] = syncs();
      expect(sync).to.include({ after: 9 });
      const page = [...(same ? held(10) : held(10, 'new')).slice(9), ...held(12, 'new').slice(10)];
      const handled = session.handle({ type: 'history', conv: CONV, msgs: page, more: false, head: 12, ref: sync!.ref! });
      await settle();
      writes.at(-1)?.finish();
      await handled;
      if (same) {
        expect(forgotten).to.deep.equal([]);
        expect(mirror.cursor(CONV)).to.equal(12);
        expect(syncs()).to.have.length(1);
      } else {
        expect(forgotten).to.deep.equal([CONV]);
        expect(syncs().at(-1)).to.include({ before: 13 });
      }
      session.close();
    }
  });
});

describe('the check of a copy against the server\'s messages', () => {

  it('reads the message at the cursor when its sync goes out, not at welcome', async () => {
    const convs = ['conv-a', 'conv-b'];
    const { session, mirror, forgotten, syncs, welcome, writes } = harness(0, convs);
    for (const conv of convs) mirror.loadConversation(conv, range(conv, 1, 10), { cursor: 10, floor: 1 });
    // One sync at a time: conv-b waits, and meanwhile its copy takes in two more (read back from the store).
    await welcome(12, 1);
    expect(syncs().map((f) => f.conv)).to.deep.equal(['conv-a']);
    mirror.acceptMessages('conv-b', range('conv-b', 11, 12));
    const handled = session.handle({ type: 'history', conv: 'conv-a', msgs: range('conv-a', 10, 12), more: false, head: 12, ref: syncs()[0]!.ref! });
    await settle();
    writes.at(-1)!.finish();
    await handled;
    const b = syncs().find((f) => f.conv === 'conv-b')!;
    expect(b).to.include({ after: 11 });
    const checked = session.handle({ type: 'history', conv: 'conv-b', msgs: [msg('conv-b', 12)], more: false, head: 12, ref: b.ref! });
    await settle();
    writes.at(-1)!.finish();
    await checked;
    expect(forgotten).to.deep.equal([]);
    session.close();
  });

  it('is asked again after a refusal for a while', async () => {
    const { session, mirror, syncs, welcome } = harness(0);
    mirror.loadConversation(CONV, range(CONV, 1, 10), { cursor: 10, floor: 1 });
    await welcome(12);
    await session.handle({ type: 'error', code: 'RATE_LIMITED', message: 'slow down', ref: syncs()[0]!.ref!, retryable: true, retryAfter: 20 });
    await until(() => syncs().length === 2, 'the sync asked again');
    expect(syncs().map((f) => f.after)).to.deep.equal([9, 9]);
    session.close();
  });

  it('loads the conversation again up to a message that came live before the check failed', async () => {
    const { session, mirror, forgotten, syncs, welcome } = harness(0);
    mirror.loadConversation(CONV, range(CONV, 1, 10), { cursor: 10, floor: 1 });
    await welcome(12);
    // Live, past the head `welcome` stated, and announced as it came.
    mirror.acceptMessages(CONV, [msg(CONV, 13, 'new')]);
    await session.handle({ type: 'history', conv: CONV, msgs: range(CONV, 10, 12, 'new'), more: false, head: 13, ref: syncs()[0]!.ref! });
    expect(forgotten).to.deep.equal([CONV]);
    expect(syncs().at(-1)).to.include({ before: 14 });
    session.close();
  });
});

describe('an acknowledgement whose text this copy does not hold', () => {
  it('fetches the newest page up to it, also in a conversation welcome did not name', async () => {
    const { session, syncs, welcome } = harness(0);
    await welcome(0);
    // Another client of the database sent it, in a conversation this one does not follow.
    await session.handle({ type: 'sent', conv: 'elsewhere', cmid: 'moved-0001', seq: 7, ts: 7 });
    expect(syncs().filter((f) => f.conv === 'elsewhere').map(({ after, before }) => ({ after, before }))).to.deep.equal([{ after: undefined, before: 8 }]);
    session.close();
  });
});

describe('an older page a session asked for', () => {
  it('is stored as older messages when it is handled after the session closed, not taken for new ones', async () => {
    const { session, writes, sent, mirror, older, welcome } = harness(0);
    const held = Array.from({ length: 10 }, (_, i): Message => ({ conv: CONV, seq: 101 + i, cmid: `held-${101 + i}`, from: 'bob', name: 'Bob', text: 'x', ts: 0 }));
    mirror.loadConversation(CONV, held, { cursor: 110, floor: 101 });
    await welcome(110);
    const asked = session.requestOlder(CONV);
    const sync = sent.find((f) => f.type === 'sync');
    expect(sync).to.include({ conv: CONV, before: 101 });
    session.close();
    expect(await asked).to.equal(false);

    // Its answer was read before the close, and is handled after it.
    const page = Array.from({ length: 3 }, (_, i): Message => ({ conv: CONV, seq: 98 + i, cmid: `old-${98 + i}`, from: 'bob', name: 'Bob', text: 'y', ts: 0 }));
    await session.handle({ type: 'history', conv: CONV, msgs: page, more: true, head: 110, ref: (sync as { ref: number }).ref });
    expect(older).to.deep.equal([[98, 99, 100]]);
    expect(writes, 'nothing stored as newly arrived').to.deep.equal([]);
  });
});
