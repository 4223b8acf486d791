import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { generateKeyPair, SignJWT } from 'jose';
import WebSocket from 'ws';
import { PROTOCOL } from '../../src/protocol/index.ts';
import type { ErrorFrame, SentFrame } from '../../src/protocol/index.ts';
import { NO_LIMITS, type ImbedServer, type ImbedServerOptions, type LimitsConfig } from '../../src/server/index.ts';
import { addressKey, BEHIND_REFUSED_WAIT, ConnectionLimits, DEFAULT_LIMITS, LimitsRegistry, MAX_REFUSING_ADDRESSES, REFUSED_SEND_HOLD, resolveLimits, TokenBucket, clientAddress, isPrivateAddress } from '../../src/server/limits.ts';
import { MAX_FOLLOWED } from '../../src/server/session.ts';
import { wsFrame } from './fuzz-frames.ts';
import { frozenPeer, newCmid, openSession, startServer, tempDb, TestClient, wsUrl } from './helpers.ts';

describe('TokenBucket', () => {
  it('starts full and hands out its capacity at once', () => {
    const bucket = new TokenBucket(3, 1, 0);
    assert.deepEqual([bucket.take(1, 0), bucket.take(1, 0), bucket.take(1, 0)], [0, 0, 0]);
  });

  it('says how long until a token is available when empty, and takes nothing meanwhile', () => {
    const bucket = new TokenBucket(2, 4, 0);
    bucket.take(2, 0);
    assert.equal(bucket.take(1, 0), 250);
    assert.equal(bucket.take(1, 100), 150, 'the refused take consumed nothing');
    assert.equal(bucket.take(1, 250), 0);
  });

  it('refills at its rate but never beyond its capacity', () => {
    const bucket = new TokenBucket(2, 10, 0);
    bucket.take(2, 0);
    assert.equal(bucket.take(2, 10_000), 0);
    assert.ok(bucket.take(1, 10_000) > 0, 'ten idle seconds still leave only two tokens');
  });

  it('never grants more than its capacity at once', () => {
    assert.equal(new TokenBucket(2, 1, 0).take(3, 0), Infinity);
  });

  it('reports full only once refilled, so an idle bucket can be forgotten', () => {
    const bucket = new TokenBucket(2, 1, 0);
    bucket.take(1, 0);
    assert.equal(bucket.isFull(500), false);
    assert.equal(bucket.isFull(1000), true);
  });
});

describe('ConnectionLimits', () => {
  const config = (over: Partial<LimitsConfig>): LimitsConfig => ({ ...NO_LIMITS, ...over });

  it('holds every other send behind one refused for the frame rate until that one is sent again, though messages are left', () => {
    let now = 0;
    const registry = new LimitsRegistry(config({ messagesPerMinute: 600, messagesBurst: 100 }), () => now);
    const conn = new ConnectionLimits(registry, () => now);
    assert.equal(conn.refuseSend('six', 1000), 1000);
    now = 400;
    assert.equal(conn.sendHeld('seven'), 600);
    assert.equal(conn.refuseSend('eight', 50), 600, 'a send over the frame rate behind it waits for it too');
    now = 5000;
    assert.equal(conn.sendHeld('seven'), BEHIND_REFUSED_WAIT, 'its wait is over, but it was not sent again yet');
    assert.equal(conn.sendHeld('six'), 0);
    assert.equal(conn.sendHeld('seven'), 0, 'sending it again lifts the hold');
    registry.dispose();
  });

  it('holds the other sends behind one refused for the message rate, and again when its resend is refused', () => {
    let now = 0;
    const registry = new LimitsRegistry(config({ messagesPerMinute: 60, messagesBurst: 1 }), () => now);
    const conn = new ConnectionLimits(registry, () => now);
    assert.equal(conn.takeMessage('alice', 'one'), 0);
    assert.equal(conn.takeMessage('alice', 'two'), 1000);
    assert.equal(conn.sendHeld('three'), 1000);
    now = 500;
    assert.equal(conn.sendHeld('two'), 0);
    assert.equal(conn.takeMessage('alice', 'two'), 500, 'resent too early: refused again');
    assert.equal(conn.sendHeld('three'), 500, 'and the others wait behind it again');
    registry.dispose();
  });

  it('stops holding sends behind one refused for rate once it is stored through another connection', () => {
    let now = 0;
    const registry = new LimitsRegistry(config({ messagesPerMinute: 60, messagesBurst: 1 }), () => now);
    const stored = new Set<string>();
    const conn = new ConnectionLimits(registry, () => now, (cmid) => stored.has(cmid));
    assert.equal(conn.takeMessage('alice', 'one'), 0);
    assert.equal(conn.takeMessage('alice', 'two'), 1000);
    now = 1500;
    assert.equal(conn.sendHeld('three'), BEHIND_REFUSED_WAIT, 'held behind "two", which this client has not sent again');
    // Another client of the same browser database sent "two" and took it out of this client's outbox.
    stored.add('two');
    assert.equal(conn.sendHeld('three'), 0);
    registry.dispose();
  });

  it('stops holding sends behind one that is refused for good, or never sent again', () => {
    let now = 0;
    const registry = new LimitsRegistry(config({}), () => now);
    const conn = new ConnectionLimits(registry, () => now);
    conn.refuseSend('gone', 1000);
    conn.settled('gone');
    assert.equal(conn.sendHeld('next'), 0, 'a send refused for good (BAD_FRAME) holds nothing back');
    conn.refuseSend('deleted', 1000);
    now = 1000 + REFUSED_SEND_HOLD - 1;
    assert.ok(conn.sendHeld('next') > 0);
    now = 1000 + REFUSED_SEND_HOLD;
    assert.equal(conn.sendHeld('next'), 0, 'a client that dropped the message is not stalled forever');
    registry.dispose();
  });

  it('calls it a flood only after many refused frames in a row', () => {
    const now = 0;
    const registry = new LimitsRegistry(config({ framesPerSecond: 1 }), () => now);
    const conn = new ConnectionLimits(registry, () => now);
    assert.deepEqual([conn.frame(), conn.frame()], [{ ok: true }, { ok: true }]);
    const verdicts = Array.from({ length: 201 }, () => conn.frame());
    assert.ok(verdicts.slice(0, 200).every((v) => !v.ok && !v.flood));
    assert.deepEqual(verdicts[200], { ok: false, retryAfter: 1000, flood: true });
    registry.dispose();
  });

  it('calls a steady flood a flood though some of its frames keep getting through', () => {
    let now = 0;
    const registry = new LimitsRegistry(config({ framesPerSecond: 1 }), () => now);
    const conn = new ConnectionLimits(registry, () => now);
    let seconds = 0;
    // Each second one frame fits the rate and 49 do not.
    for (let flood = false; !flood && seconds < 60; seconds++, now += 1000) {
      for (let i = 0; i < 50 && !flood; i++) {
        const verdict = conn.frame();
        flood = !verdict.ok && verdict.flood;
      }
    }
    assert.ok(seconds < 10, `closed after ${seconds} s`);
    registry.dispose();
  });

  it('never calls a client a flood that keeps to twice the rate', () => {
    let now = 0;
    const registry = new LimitsRegistry(config({ framesPerSecond: 2 }), () => now);
    const conn = new ConnectionLimits(registry, () => now);
    const verdicts = [];
    for (let i = 0; i < 4000; i++, now += 250) verdicts.push(conn.frame());
    assert.ok(verdicts.some((v) => !v.ok), 'some frames were refused');
    assert.ok(verdicts.every((v) => v.ok || !v.flood));
    registry.dispose();
  });
});

describe('clientAddress', () => {
  it('uses the socket peer unless the proxy is trusted', () => {
    assert.equal(clientAddress('10.0.0.9', '1.2.3.4', false), '10.0.0.9');
  });

  it('takes the last X-Forwarded-For entry behind a trusted proxy: the earlier ones are the client\'s claim', () => {
    assert.equal(clientAddress('10.0.0.9', '6.6.6.6, 1.2.3.4', true), '1.2.3.4');
    assert.equal(clientAddress('10.0.0.9', undefined, true), '10.0.0.9');
  });

  it('counts a forwarded address without the port some proxies write, and the peer for an entry that is no address', () => {
    // With the port, every source port of one client would be an address of its own.
    assert.equal(clientAddress('10.0.0.9', '203.0.113.7:40001', true), '203.0.113.7');
    assert.equal(clientAddress('10.0.0.9', '[2001:db8::1]:443', true), '2001:db8::1');
    assert.equal(clientAddress('10.0.0.9', '[2001:db8::1]', true), '2001:db8::1');
    assert.equal(clientAddress('10.0.0.9', '2001:db8::1', true), '2001:db8::1');
    assert.equal(clientAddress('10.0.0.9', 'unknown', true), '10.0.0.9');
    assert.equal(clientAddress('10.0.0.9', '1.2.3.4, nonsense:80', true), '10.0.0.9');
  });
});

describe('addressKey', () => {
  it('counts IPv4 addresses as themselves, mapped into IPv6 too, and IPv6 ones by their /64', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    const net = '2001:db8:85a3:8d3::/64';
    for (const ip of ['2001:db8:85a3:8d3::1', '2001:0db8:85a3:08d3:1319:8a2e:0370:7344', '2001:DB8:85A3:8D3:ffff::', '2001:db8:85a3:8d3::%eth0', '2001:db8:85a3:8d3:1:2:1.2.3.4']) {
      assert.equal(addressKey(ip), net, ip);
    }
    assert.equal(addressKey('2001:db8:85a3:8d4::1'), '2001:db8:85a3:8d4::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('unknown'), 'unknown');
  });

  it('limits connections per /64: new addresses of the same network do not get around it', () => {
    const registry = new LimitsRegistry({ ...NO_LIMITS, connectionsPerIp: 2 }, () => 0);
    assert.equal(registry.acquireIp('2001:db8:1:2::a'), true);
    assert.equal(registry.acquireIp('2001:db8:1:2::b'), true);
    assert.equal(registry.acquireIp('2001:db8:1:2:ffff::c'), false);
    assert.equal(registry.acquireIp('2001:db8:1:3::a'), true, 'another /64');
    registry.releaseIp('2001:db8:1:2::a');
    assert.equal(registry.acquireIp('2001:db8:1:2::d'), true);
    registry.dispose();
  });
});

describe('refusals per address', () => {
  it('refuses an address once it had refusalsPerIp refused within a minute, until it is back under the limit, per address', () => {
    let now = 0;
    const registry = new LimitsRegistry({ ...NO_LIMITS, refusalsPerIp: 3 }, () => now);
    assert.equal(registry.refusalWait('203.0.113.7'), 0);
    // Three a minute: one more may be refused every 20 s.
    assert.deepEqual([1, 2, 3].map(() => registry.noteRefusal('203.0.113.7')), [0, 0, 20_000]);
    assert.equal(registry.refusalWait('203.0.113.7'), 20_000);
    assert.equal(registry.refusalWait('::ffff:203.0.113.7'), 20_000, 'the same address mapped into IPv6');
    assert.equal(registry.refusalWait('203.0.113.8'), 0, 'another address');
    now = 15_000;
    assert.equal(registry.refusalWait('203.0.113.7'), 5_000);
    now = 20_000;
    assert.equal(registry.refusalWait('203.0.113.7'), 0);
    registry.dispose();
  });

  it('counts every refusal of connections let in together, into a debt of at most a minute\'s refusals', () => {
    let now = 0;
    const registry = new LimitsRegistry({ ...NO_LIMITS, refusalsPerIp: 3 }, () => now);
    registry.noteRefusal('2001:db8:1:2::a');
    registry.noteRefusal('2001:db8:1:2::b');
    assert.equal(registry.refusalWait('2001:db8:1:2::c'), 0, 'one refusal left for the /64');
    // Two connections pass that check together, then both are refused.
    registry.noteRefusal('2001:db8:1:2::c');
    assert.equal(registry.noteRefusal('2001:db8:1:2::d'), 40_000, 'one in debt: 40 s until one may be refused again');
    for (let i = 0; i < 100; i++) registry.noteRefusal('2001:db8:1:2::e');
    assert.equal(registry.refusalWait('2001:db8:1:2::f'), 80_000, 'the debt stops at a minute\'s refusals');
    now = 80_000;
    assert.equal(registry.refusalWait('2001:db8:1:2::f'), 0);
    registry.dispose();
  });

  it(`remembers at most ${MAX_REFUSING_ADDRESSES} refusing addresses, forgetting the one refused longest ago`, () => {
    const registry = new LimitsRegistry({ ...NO_LIMITS, refusalsPerIp: 1 }, () => 0);
    const address = (i: number) => `198.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    for (let i = 0; i < MAX_REFUSING_ADDRESSES; i++) registry.noteRefusal(address(i));
    assert.ok(registry.refusalWait(address(0)) > 0 && registry.refusalWait(address(1)) > 0);
    registry.noteRefusal(address(0));
    // One address more than it keeps, as from a flood of addresses: the quietest is forgotten.
    registry.noteRefusal(address(MAX_REFUSING_ADDRESSES));
    assert.equal(registry.refusalWait(address(1)), 0, 'refused longest ago: forgotten');
    assert.ok(registry.refusalWait(address(0)) > 0, 'refused again lately: kept');
    assert.ok(registry.refusalWait(address(MAX_REFUSING_ADDRESSES)) > 0);
    registry.dispose();
  });

  it('counts nothing with refusalsPerIp 0', () => {
    const registry = new LimitsRegistry({ ...NO_LIMITS }, () => 0);
    for (let i = 0; i < 1000; i++) assert.equal(registry.noteRefusal('203.0.113.7'), 0);
    assert.equal(registry.refusalWait('203.0.113.7'), 0);
    registry.dispose();
  });
});

describe('isPrivateAddress', () => {
  it('knows loopback, private, link-local and CGNAT addresses, also mapped into IPv6', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.0.5', '100.64.0.1', '::1', '::ffff:127.0.0.1', '::ffff:10.0.0.2', 'fd12:3456::1', 'fe80::1']) {
      assert.equal(isPrivateAddress(ip), true, ip);
    }
    for (const ip of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '100.128.0.1', '::ffff:8.8.8.8', '2001:db8::1', 'fd1::1', 'unknown']) {
      assert.equal(isPrivateAddress(ip), false, ip);
    }
  });
});

describe('limit presets', () => {
  it('cannot be changed, so one server never changes another\'s limits', () => {
    for (const preset of [DEFAULT_LIMITS, NO_LIMITS]) {
      assert.throws(() => {
        (preset as { framesPerSecond: number }).framesPerSecond = 1;
      }, TypeError);
      assert.throws(() => {
        (preset.identicalTexts as { count: number }).count = 1;
      }, TypeError);
    }
  });
});

describe('resolveLimits', () => {
  it('keeps the default of a limit given as undefined', () => {
    const limits = resolveLimits({ maxBufferedBytes: undefined, framesPerSecond: undefined, identicalTexts: undefined });
    assert.deepEqual(limits, { ...DEFAULT_LIMITS, identicalTexts: { ...DEFAULT_LIMITS.identicalTexts } });
  });

  it('keeps 0 as off where a limit may be off', () => {
    const limits = resolveLimits({ ...NO_LIMITS });
    assert.deepEqual(limits, { ...NO_LIMITS, identicalTexts: { ...NO_LIMITS.identicalTexts } });
  });
});

describe('limits', () => {
  let tmp: ReturnType<typeof tempDb> | null = null;
  let server: ImbedServer | null = null;
  const sockets: Array<TestClient | WebSocket> = [];

  async function serve(limits: Partial<LimitsConfig>, extra: Partial<ImbedServerOptions> = {}): Promise<ImbedServer> {
    tmp = tempDb();
    server = await startServer(tmp.db, { limits: { ...NO_LIMITS, ...limits }, ...extra });
    return server;
  }

  async function session(user: string, convs: { conv: string; after: number }[] = []) {
    const s = await openSession(server!, user, convs);
    sockets.push(s.client);
    return s;
  }

  afterEach(async () => {
    for (const s of sockets.splice(0)) (s instanceof TestClient ? s.ws : s).terminate();
    await server?.close();
    server = null;
    tmp?.remove();
    tmp = null;
  });

  /** Texts of `conv` as stored, in seq order (asking again after the wait when refused for rate). */
  async function storedTexts(client: TestClient, conv: string): Promise<string[]> {
    for (;;) {
      const ref = `h-${Math.random().toString(36).slice(2)}`;
      client.send({ type: 'sync', conv, after: 0, ref });
      await client.roundTrip();
      const i = client.inbox.findIndex((f) => (f.type === 'history' || f.type === 'error') && f.ref === ref);
      const answer = client.inbox.splice(i, 1)[0]!;
      if (answer.type === 'history') return answer.msgs.map((m) => m.text);
      assert.equal((answer as ErrorFrame).code, 'RATE_LIMITED');
      await new Promise((r) => setTimeout(r, (answer as ErrorFrame).retryAfter));
    }
  }

  /** The next `n` answers to sends (`sent` or `error`), in arrival order. */
  async function answers(client: TestClient, n: number): Promise<Array<SentFrame | ErrorFrame>> {
    const out: Array<SentFrame | ErrorFrame> = [];
    while (out.length < n) {
      // Every frame sent before the ping has been answered once its pong arrives.
      await client.roundTrip();
      for (let i = 0; i < client.inbox.length; ) {
        const f = client.inbox[i]!;
        if (f.type === 'sent' || f.type === 'error') {
          out.push(f);
          client.inbox.splice(i, 1);
        } else i++;
      }
    }
    return out;
  }

  it('states its rates in welcome.limits', async () => {
    await serve({ framesPerSecond: 7, messagesPerMinute: 42 });
    const { welcome } = await session('alice');
    assert.equal(welcome.limits.framesPerSecond, 7);
    assert.equal(welcome.limits.messagesPerMinute, 42);
  });

  it('leaves the rates out of welcome when they are off', async () => {
    await serve({});
    const { welcome } = await session('alice');
    assert.equal(welcome.limits.framesPerSecond, undefined);
    assert.equal(welcome.limits.messagesPerMinute, undefined);
  });

  it('refuses frames over the frame rate with RATE_LIMITED and retryAfter, and every send after the first refused one', async () => {
    // Burst of 10 frames; hello took one.
    await serve({ framesPerSecond: 5 });
    const { client } = await session('alice');
    const conv = 'frames-order';
    const cmids = Array.from({ length: 14 }, () => newCmid());
    cmids.forEach((cmid, i) => client.send({ type: 'send', conv, cmid, text: `m${i}` }));
    const got = await answers(client, cmids.length);
    assert.deepEqual(got.map((f) => (f.type === 'sent' ? f.cmid : f.ref)), cmids, 'one answer per send, in order');
    const firstRefused = got.findIndex((f) => f.type === 'error');
    assert.equal(firstRefused, 9);
    for (const f of got.slice(firstRefused)) {
      const error = f as ErrorFrame;
      assert.equal(error.code, 'RATE_LIMITED');
      assert.equal(error.retryable, true);
      assert.ok(error.retryAfter !== undefined && error.retryAfter > 0);
    }
    // The client waits as told, then resends from the first refused one, in order.
    for (const [i, cmid] of cmids.entries()) {
      if (i < firstRefused) continue;
      for (;;) {
        client.send({ type: 'send', conv, cmid, text: `m${i}` });
        const [answer] = await answers(client, 1);
        if (answer!.type === 'sent') break;
        assert.equal((answer as ErrorFrame).code, 'RATE_LIMITED');
        await new Promise((r) => setTimeout(r, (answer as ErrorFrame).retryAfter));
      }
    }
    assert.deepEqual(await storedTexts(client, conv), cmids.map((_, i) => `m${i}`));
  });

  it('stores nothing ahead of a send refused for the message rate, even once its wait is over, until it is sent again', async () => {
    // 10 messages a second after a burst of 5: the sixth of a pipelined outbox is refused.
    await serve({ messagesPerMinute: 600, messagesBurst: 5 });
    const { client } = await session('alice');
    const conv = 'held-order';
    const cmids = Array.from({ length: 8 }, () => newCmid());
    const send = (i: number) => client.send({ type: 'send', conv, cmid: cmids[i]!, text: `m${i + 1}` });
    for (let i = 0; i < cmids.length; i++) send(i);
    const got = await answers(client, cmids.length);
    assert.deepEqual(got.map((f) => f.type), ['sent', 'sent', 'sent', 'sent', 'sent', 'error', 'error', 'error']);
    const refused = got[5] as ErrorFrame;
    assert.equal(refused.code, 'RATE_LIMITED');
    // A client refilling its window from acks sends the seventh first; the wait of the sixth is over.
    await new Promise((r) => setTimeout(r, refused.retryAfter! + 500));
    send(6);
    const [early] = await answers(client, 1);
    assert.equal(early!.type, 'error', 'the seventh is held behind the sixth');
    assert.equal((early as ErrorFrame).code, 'RATE_LIMITED');
    assert.equal((early as ErrorFrame).ref, cmids[6]);
    assert.ok((early as ErrorFrame).retryAfter! > 0);
    for (let i = 5; i < cmids.length; i++) send(i);
    const resent = await answers(client, 3);
    assert.deepEqual(resent.map((f) => (f.type === 'sent' ? [f.cmid, f.seq] : f)), [[cmids[5], 6], [cmids[6], 7], [cmids[7], 8]]);
    assert.deepEqual(await storedTexts(client, conv), cmids.map((_, i) => `m${i + 1}`));
  });

  it('answers a resend of a stored message as a dup even over the message rate', async () => {
    await serve({ messagesPerMinute: 1, messagesBurst: 1 });
    const { client } = await session('alice');
    const cmid = newCmid();
    client.send({ type: 'send', conv: 'dup-rate', cmid, text: 'once' });
    const first = await client.next('sent');
    client.send({ type: 'send', conv: 'dup-rate', cmid, text: 'once' });
    const [again] = await answers(client, 1);
    assert.deepEqual(again, { ...first, dup: true });
  });

  it('says once that a reverse proxy needs --trust-proxy when a private address reaches the per-address limit', async () => {
    const lines: string[] = [];
    await serve({ connectionsPerIp: 1 }, { log: (line) => lines.push(line) });
    await session('alice');
    for (let i = 0; i < 3; i++) {
      const refused = new TestClient(wsUrl(server!));
      sockets.push(refused);
      assert.equal((await refused.closed).code, 4029);
    }
    assert.equal(lines.filter((l) => l.includes('start it with --trust-proxy')).length, 1);
  });

  it('answers a ping over the frame rate, so the heartbeat never starves', async () => {
    await serve({ framesPerSecond: 1 });
    const { client } = await session('alice');
    client.send({ type: 'noise' });
    client.send({ type: 'noise' });
    client.send({ type: 'ping', ref: 'hb' });
    const pong = await client.next('pong');
    assert.equal(pong.ref, 'hb');
    const error = await client.next('error');
    assert.equal(error.code, 'RATE_LIMITED');
  });

  it('closes a connection that floods far over the frame rate with 1008', async () => {
    await serve({ framesPerSecond: 5 });
    const { client } = await session('alice');
    for (let i = 0; i < 400; i++) client.send({ type: 'noise', ref: i });
    const { code } = await client.closed;
    assert.equal(code, 1008);
    assert.ok(client.received.some((f) => f.type === 'error' && f.code === 'RATE_LIMITED'), 'it was told before being closed');
  });

  it('counts messages per user over all their connections, and per user only', async () => {
    await serve({ messagesPerMinute: 6, messagesBurst: 2 });
    const a1 = (await session('alice')).client;
    const a2 = (await session('alice')).client;
    const bob = (await session('bob')).client;
    a1.send({ type: 'send', conv: 'per-user', cmid: newCmid(), text: 'one' });
    a1.send({ type: 'send', conv: 'per-user', cmid: newCmid(), text: 'two' });
    await a1.take('sent', 2);
    const cmid = newCmid();
    a2.send({ type: 'send', conv: 'per-user', cmid, text: 'three' });
    const error = await a2.next('error');
    assert.equal(error.code, 'RATE_LIMITED');
    assert.equal(error.ref, cmid);
    assert.ok(error.retryAfter! > 0 && error.retryAfter! <= 10_000);
    bob.send({ type: 'send', conv: 'per-user', cmid: newCmid(), text: 'bob' });
    await bob.next('sent');
    assert.deepEqual(await storedTexts(bob, 'per-user'), ['one', 'two', 'bob']);
  });

  it('refuses a connection beyond the per-user limit with TOO_MANY_CONNECTIONS and 4029, and frees the slot on close', async () => {
    await serve({ connectionsPerUser: 2 });
    const first = await session('alice');
    await session('alice');
    const third = new TestClient(wsUrl(server!));
    sockets.push(third);
    await third.opened();
    third.send({ type: 'hello', token: await server!.signToken('alice'), convs: [] });
    const error = await third.next('error');
    assert.equal(error.code, 'TOO_MANY_CONNECTIONS');
    assert.equal(error.retryable, true);
    assert.ok(error.retryAfter! > 0);
    assert.equal((await third.closed).code, 4029);
    await session('bob');
    await first.client.close();
    // The close reaches the server's session asynchronously; a new one succeeds once it has.
    for (let attempt = 0; ; attempt++) {
      const retry = new TestClient(wsUrl(server!));
      sockets.push(retry);
      await retry.opened();
      retry.send({ type: 'hello', token: await server!.signToken('alice'), convs: [] });
      const frame = await Promise.race([retry.next('welcome'), retry.next('error')]);
      if (frame.type === 'welcome') break;
      assert.ok(attempt < 20, 'the closed connection freed its slot');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('refuses a connection beyond the per-address limit before hello', async () => {
    await serve({ connectionsPerIp: 2 });
    await session('alice');
    await session('bob');
    const third = new TestClient(wsUrl(server!));
    sockets.push(third);
    const error = await third.next('error');
    assert.equal(error.code, 'TOO_MANY_CONNECTIONS');
    assert.ok(error.retryAfter! > 0);
    assert.equal((await third.closed).code, 4029);
  });

  /**
   * Opens a socket and, once it is open and `go` was called, sends `hello` (nothing for null, each frame
   * of an array): the error it got first, if any, and its close code. `ready` resolves once it is open
   * (or closed before).
   */
  function attempt(hello: Promise<object | null> | object | null): { ready: Promise<void>; go: () => void; outcome: Promise<{ error: string | null; retryAfter?: number; close: number }> } {
    const client = new TestClient(wsUrl(server!));
    sockets.push(client);
    let go = () => {};
    const started = new Promise<void>((resolve) => (go = resolve));
    const ready = client.opened().catch(() => {});
    const outcome = (async () => {
      await ready;
      await started;
      const frame = await hello;
      if (frame !== null && client.ws.readyState === WebSocket.OPEN) for (const f of Array.isArray(frame) ? frame : [frame]) client.send(f);
      const { code } = await client.closed;
      const error = client.received.find((f) => f.type === 'error');
      return error?.type === 'error' ? { error: error.code, retryAfter: error.retryAfter, close: code } : { error: null, close: code };
    })();
    return { ready, go, outcome };
  }

  /** `attempt`, sending `hello` at once. */
  function tryHello(hello: Promise<object | null> | object | null) {
    const a = attempt(hello);
    a.go();
    return a.outcome;
  }

  it('refuses an address\'s new connections at once with TOO_MANY_CONNECTIONS and 4029 once too many were refused at hello, until its wait is over', async () => {
    await serve({ refusalsPerIp: 60 });
    const forged = { type: 'hello', token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', convs: [] };
    const started = performance.now();
    let verified = 0;
    for (;;) {
      const outcome = await tryHello(forged);
      if (outcome.error === 'TOO_MANY_CONNECTIONS') {
        assert.equal(outcome.close, 4029);
        // One refusal more a second: the wait is at most that.
        assert.ok(outcome.retryAfter! > 0 && outcome.retryAfter! <= 1000, `retryAfter ${outcome.retryAfter}`);
        await new Promise((r) => setTimeout(r, outcome.retryAfter));
        break;
      }
      assert.deepEqual(outcome, { error: 'TOKEN_INVALID', retryAfter: undefined, close: 4003 });
      verified++;
      assert.ok(verified <= 60 + (performance.now() - started) / 1000 + 1, `${verified} refused at hello before the address was refused at once`);
    }
    assert.ok(verified >= 60, `the address had ${verified} refused, not its 60`);
    // Its wait over, the address may connect again.
    const { welcome } = await session('alice');
    assert.equal(welcome.user, 'alice');
  });

  it('counts a bad token, a malformed hello or none in time, the user\'s connection limit and a flood before hello as refusals', async () => {
    // One frame a second, in bursts of two: a flood is 200 refused frames on top. Every socket opens
    // before any says hello: the hello timeout leaves them time to.
    await serve({ refusalsPerIp: 50, connectionsPerUser: 1, framesPerSecond: 1 }, { helloTimeout: 3000 });
    await session('alice');
    const kinds: Array<[Promise<object | null> | object | null, string | null, number]> = [
      [{ type: 'hello', token: 'not a token', convs: [] }, 'TOKEN_MALFORMED', 4003],
      [{ type: 'hello', convs: [] }, 'BAD_FRAME', 4005],
      [null, null, 4004],
      [server!.signToken('alice').then((token) => ({ type: 'hello', token, convs: [] })), 'TOO_MANY_CONNECTIONS', 4029],
      [Array.from({ length: 203 }, () => ({ type: 'noise' })), 'RATE_LIMITED', 1008],
    ];
    // Eleven of each, 55 in all, let in together before any is refused: five more than the 50 a minute,
    // so the address is refused at once after them unless one kind went uncounted (eleven more).
    const attempts = kinds.flatMap(([hello, error, close]) => Array.from({ length: 11 }, () => ({ ...attempt(hello), error, close })));
    await Promise.all(attempts.map((a) => a.ready));
    for (const a of attempts) a.go();
    for (const a of attempts) {
      const outcome = await a.outcome;
      assert.deepEqual([outcome.error, outcome.close], [a.error, a.close]);
    }
    const next = await tryHello(server!.signToken('carol').then((token) => ({ type: 'hello', token, convs: [] })));
    assert.equal(next.error, 'TOO_MANY_CONNECTIONS');
    assert.equal(next.close, 4029);
    assert.ok(next.retryAfter! > 1000, `retryAfter ${next.retryAfter}: the address is in debt`);
  });

  it('counts no connection its client closed before hello, nor a token the server could not check', async () => {
    // A port that was just free and is closed again: fetching the key set fails at once.
    const gone = createTcpServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise((resolve) => gone.close(resolve));
    await serve({ refusalsPerIp: 1 }, { secret: undefined, jwksUrl: `http://127.0.0.1:${port}/jwks.json` });
    for (let i = 0; i < 3; i++) {
      const client = new TestClient(wsUrl(server!));
      sockets.push(client);
      await client.opened();
      await client.close();
    }
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('alice').setExpirationTime('1h').sign(privateKey);
    for (let i = 0; i < 3; i++) assert.deepEqual(await tryHello({ type: 'hello', token, convs: [] }), { error: 'AUTH_UNAVAILABLE', retryAfter: undefined, close: 1011 });
    // The one refusal a minute is still there to take.
    assert.deepEqual(await tryHello({ type: 'hello', convs: [] }), { error: 'BAD_FRAME', retryAfter: undefined, close: 4005 });
    assert.equal((await tryHello(null)).error, 'TOO_MANY_CONNECTIONS');
  });

  it('counts no token that expired: after an outage every client of an address comes back with one', async () => {
    await serve({ refusalsPerIp: 1 });
    const expired = () => server!.signToken('bob', { expiresIn: -60 }).then((token) => ({ type: 'hello', token, convs: [] }));
    for (let i = 0; i < 3; i++) assert.deepEqual(await tryHello(expired()), { error: 'TOKEN_EXPIRED', retryAfter: undefined, close: 4001 });
    // The one refusal a minute is still there to take.
    assert.deepEqual(await tryHello({ type: 'hello', convs: [] }), { error: 'BAD_FRAME', retryAfter: undefined, close: 4005 });
    assert.equal((await tryHello(null)).error, 'TOO_MANY_CONNECTIONS');
  });

  it('is off by default where the per-address connection cap is off, and on when given', () => {
    assert.equal(resolveLimits({ connectionsPerIp: 0 }).refusalsPerIp, 0);
    assert.equal(resolveLimits({ connectionsPerIp: 0, refusalsPerIp: 7 }).refusalsPerIp, 7);
    assert.equal(resolveLimits({}).refusalsPerIp, DEFAULT_LIMITS.refusalsPerIp);
  });

  it('verifies a bounded number of tokens for an address that loops on bad ones from many sockets at once', async () => {
    await serve({ refusalsPerIp: 30 });
    const forged = { type: 'hello', token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', convs: [] };
    const tally = new Map<string | null, number>();
    const started = performance.now();
    // Twenty loops that ignore every retryAfter, for two seconds.
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (performance.now() - started < 2000) {
          const { error } = await tryHello(forged);
          tally.set(error, (tally.get(error) ?? 0) + 1);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const verified = tally.get('TOKEN_INVALID') ?? 0;
    // 30 at once, half a one a second after, and at most the 20 sockets let in together past the limit.
    assert.ok(verified <= 30 + 20 + Math.ceil(seconds / 2), `${verified} tokens verified in ${seconds.toFixed(1)} s (${JSON.stringify([...tally])})`);
    assert.ok((tally.get('TOO_MANY_CONNECTIONS') ?? 0) > 0);
    assert.deepEqual([...tally.keys()].sort(), ['TOKEN_INVALID', 'TOO_MANY_CONNECTIONS']);
  });

  it('drops a refused socket that never answers the close handshake', async () => {
    await serve({ connectionsPerIp: 1 });
    await session('alice');
    // A bare upgrade on a raw socket: nothing here answers the server's close frame.
    const raw = connect(server!.port, '127.0.0.1');
    raw.on('error', () => {});
    raw.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${PROTOCOL}\r\n\r\n`,
    );
    let received = '';
    raw.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const closed = new Promise<'closed'>((resolve) => raw.once('close', () => resolve('closed')));
    // ws itself would hold it for 30 s.
    const bound = new Promise<'open'>((resolve) => setTimeout(resolve, 10_000, 'open').unref());
    assert.equal(await Promise.race([closed, bound]), 'closed');
    assert.match(received, /101 Switching Protocols/);
    assert.match(received, /TOO_MANY_CONNECTIONS/);
    raw.destroy();
  });

  it('drops a socket refused over the per-user limit that never answers the close handshake', async () => {
    await serve({ connectionsPerUser: 1 });
    await session('alice');
    // A hand-made client: it sends hello, then reads but never answers the server's close frame.
    const raw = await frozenPeer(server!.port);
    let received = '';
    raw.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const closed = new Promise<'closed'>((resolve) => raw.once('close', () => resolve('closed')));
    const hello = { type: 'hello', token: await server!.signToken('alice'), convs: [] };
    raw.write(wsFrame({ opcode: 1, payload: Buffer.from(JSON.stringify(hello)) }));
    // ws itself would hold it for 30 s; the server drops it 1 s after its close.
    const bound = new Promise<'open'>((resolve) => setTimeout(resolve, 2_500, 'open').unref());
    try {
      assert.equal(await Promise.race([closed, bound]), 'closed');
      assert.match(received, /TOO_MANY_CONNECTIONS/);
    } finally {
      raw.destroy();
    }
  });

  it('frees a per-address slot when its connection closes', async () => {
    await serve({ connectionsPerIp: 1 });
    const first = await session('alice');
    await first.client.close();
    // The close reaches the server's session asynchronously; a new one succeeds once it has.
    for (let attempt = 0; ; attempt++) {
      const retry = new TestClient(wsUrl(server!));
      sockets.push(retry);
      await retry.opened();
      retry.send({ type: 'hello', token: await server!.signToken('bob'), convs: [] });
      const frame = await Promise.race([retry.next('welcome'), retry.next('error')]);
      if (frame.type === 'welcome') break;
      assert.ok(attempt < 20, 'the closed connection freed its slot');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('counts behind a trusted proxy by the address the proxy saw, not the one the client claims', async () => {
    await serve({ connectionsPerIp: 1 }, { trustProxy: true });
    const token = await server!.signToken('alice');
    /** Opens a socket claiming `forwarded`: 'welcome' when it got a session, else the refusal's code. */
    const open = (forwarded: string) => {
      const ws = new WebSocket(wsUrl(server!), PROTOCOL, { headers: { 'x-forwarded-for': forwarded } });
      sockets.push(ws);
      ws.on('error', () => {});
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', token, convs: [] })));
      return new Promise<string>((resolve) => {
        ws.once('message', (data) => {
          const frame = JSON.parse(String(data)) as { type: string; code?: string };
          resolve(frame.type === 'welcome' ? 'welcome' : String(frame.code));
        });
      });
    };
    assert.equal(await open('1.1.1.1'), 'welcome');
    assert.equal(await open('2.2.2.2'), 'welcome', 'another address has its own count');
    assert.equal(await open('9.9.9.9, 1.1.1.1'), 'TOO_MANY_CONNECTIONS', 'a made-up first entry does not escape the count of 1.1.1.1');
  });

  it('keeps a reader that keeps up when one commit sends it more than the buffer limit', async () => {
    const lines: string[] = [];
    await serve({ maxBufferedBytes: 64 * 1024 }, { log: (line) => lines.push(line) });
    const convs = ['big-commit-a', 'big-commit-b'];
    const { client: reader } = await session('alice', convs.map((conv) => ({ conv, after: 0 })));
    const writer = (await session('bob')).client;
    const text = 'y'.repeat(3990);
    // 40 sends of 4 KB in one write are read in one turn and stored in one commit: 160 KB for the reader,
    // in two writes (one per conversation) held corked until the commit's frames are all out; the kernel
    // takes them at the uncork, so the reader is not slow.
    const frames = Array.from({ length: 40 }, (_, i) => JSON.stringify({ type: 'send', conv: convs[i % 2], cmid: newCmid(), text: `${i} ${text}` }));
    const raw = (writer.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    raw.cork();
    for (const frame of frames) writer.ws.send(frame);
    raw.uncork();
    await writer.take('sent', 40);
    const msgs = await reader.take('msg', 40);
    assert.deepEqual(msgs.map((m) => Number(m.text.split(' ')[0])).sort((a, b) => a - b), [...Array(40).keys()]);
    assert.equal(reader.ws.readyState, reader.ws.OPEN, 'the reader is still connected');
    assert.deepEqual(lines.filter((l) => l.includes('not reading')), []);
  });

  /** Waits until a line of `lines` includes `text`, or fails after 10 s saying `what`. */
  async function logged(lines: string[], text: string, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.includes(text))) {
      assert.ok(Date.now() < deadline, what);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('refuses to follow more than 1,000 conversations on one connection, and keeps those it follows', async () => {
    await serve({});
    const { client } = await session('alice', [{ conv: 'follow-hello', after: 0 }]);
    for (let i = 1; i < MAX_FOLLOWED; i++) client.send({ type: 'sync', conv: `follow-${i}`, after: 0, ref: i });
    assert.equal((await client.take('history', MAX_FOLLOWED - 1)).length, MAX_FOLLOWED - 1);
    // One more, by sync or by send: refused, nothing stored.
    client.send({ type: 'sync', conv: 'follow-one-more', after: 0, ref: 'over' });
    const overSync = await client.next('error');
    assert.deepEqual([overSync.code, overSync.ref, overSync.retryable], ['TOO_MANY_CONVERSATIONS', 'over', false]);
    const cmid = newCmid();
    client.send({ type: 'send', conv: 'follow-one-more', cmid, text: 'hello?' });
    const overSend = await client.next('error');
    assert.deepEqual([overSend.code, overSend.ref], ['TOO_MANY_CONVERSATIONS', cmid]);
    // Those it follows work as before.
    client.send({ type: 'send', conv: 'follow-7', cmid: newCmid(), text: 'still here' });
    assert.equal((await client.next('sent')).conv, 'follow-7');
    client.send({ type: 'sync', conv: 'follow-hello', after: 0, ref: 'again' });
    assert.equal((await client.next('history')).ref, 'again');
    const reader = (await session('bob')).client;
    reader.send({ type: 'sync', conv: 'follow-one-more', after: 0, ref: 'check' });
    assert.deepEqual((await reader.next('history')).msgs, []);
  });

  it('closes a connection that stops reading with 1008', async () => {
    const lines: string[] = [];
    await serve({ maxBufferedBytes: 256 * 1024 }, { log: (line) => lines.push(line) });
    const conv = 'slow-reader';
    const writer = (await session('bob')).client;
    const { client: reader } = await session('alice', [{ conv, after: 0 }]);
    const socket = (reader.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    // Live messages of about 4 KB; the kernel's buffers hold a few MB before the server's own grows.
    const text = 'x'.repeat(3990);
    for (let sent = 0; !lines.some((l) => l.includes('not reading')); sent += 100) {
      assert.ok(sent < 10_000, 'the server noticed the reader is not reading');
      for (let i = 0; i < 100; i++) writer.send({ type: 'send', conv, cmid: newCmid(), text: `${sent + i} ${text}` });
      await writer.take('sent', 100);
    }
    socket.resume();
    assert.equal((await reader.closed).code, 1008);
  });

  it('closes a connection that keeps asking for history it does not read', async () => {
    const lines: string[] = [];
    await serve({ maxBufferedBytes: 256 * 1024 }, { log: (line) => lines.push(line) });
    const conv = 'slow-asker';
    const writer = (await session('bob')).client;
    const text = 'x'.repeat(3990);
    for (let i = 0; i < 200; i++) writer.send({ type: 'send', conv, cmid: newCmid(), text: `${i} ${text}` });
    await writer.take('sent', 200);
    const { client: reader } = await session('alice');
    const socket = (reader.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    // Pages wait while the answers are not read; past 200 waiting the connection is not reading.
    for (let i = 0; i < 400; i++) reader.send({ type: 'sync', conv, after: 0, limit: 200 });
    await logged(lines, 'not reading', 'the server noticed the reader is not reading');
    socket.resume();
    assert.equal((await reader.closed).code, 1008);
  });

  it('answers a sync at once while what waits is under the socket\'s own mark, which would never say drained', async () => {
    // An eighth of 64 KiB is below the 16 KiB a socket buffers before a write reports it full: Node only
    // emits `drain` after such a write, so a sync held at 9 KB buffered would wait for good.
    await serve({ maxBufferedBytes: 64 * 1024 });
    const onServer: Socket[] = [];
    server!.http.on('upgrade', (_req, socket) => onServer.push(socket as Socket));
    const conv = 'small-buffer';
    const writer = (await session('bob')).client;
    const { client: reader } = await session('alice', [{ conv, after: 0 }]);
    const readerOnServer = onServer[1]!;
    const socket = (reader.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    // Fills the kernel's buffers, then the server's by about 1 KB at a time, to just over an eighth.
    for (let i = 0; readerOnServer.writableLength <= (64 * 1024) / 8 + 1000; i++) {
      assert.ok(i < 50_000, 'the server buffered for the paused reader');
      writer.send({ type: 'send', conv, cmid: newCmid(), text: 'x'.repeat(readerOnServer.writableLength === 0 ? 3990 : 1000) });
      await writer.next('sent');
    }
    assert.equal(readerOnServer.writableNeedDrain, false);
    reader.send({ type: 'sync', conv, after: 0, limit: 5, ref: 'small' });
    await new Promise((r) => setTimeout(r, 200));
    socket.resume();
    assert.equal((await reader.next('history')).ref, 'small');
  });

  it('sends history as fast as the client reads it, in pages that fit, and never closes a reader', async () => {
    const lines: string[] = [];
    const limit = 256 * 1024;
    await serve({ maxBufferedBytes: limit }, { log: (line) => lines.push(line) });
    // Control characters are escaped as six bytes each: 4,000 of them make a message of about 24 KB, and a
    // page of 200 about 4.8 MB, far over the limit on its own.
    const text = '\u0001'.repeat(3990);
    const convs = ['long-a', 'long-b', 'long-c'];
    const writer = (await session('bob')).client;
    for (const conv of convs) {
      for (let i = 0; i < 200; i++) writer.send({ type: 'send', conv, cmid: newCmid(), text: `${i} ${text}` });
      await writer.take('sent', 200);
    }
    const { client: reader } = await session('alice');
    const sizes: number[] = [];
    reader.ws.on('message', (data: Buffer) => sizes.push(data.length));
    const socket = (reader.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    // Asks for all three at once, backward for one, and reads slowly: a pause, then everything.
    reader.send({ type: 'sync', conv: 'long-a', after: 0, limit: 200, ref: 'long-a' });
    reader.send({ type: 'sync', conv: 'long-b', after: 0, limit: 200, ref: 'long-b' });
    reader.send({ type: 'sync', conv: 'long-c', before: 201, limit: 200, ref: 'long-c' });
    socket.pause();
    await new Promise((r) => setTimeout(r, 300));
    socket.resume();
    const seqs: Record<string, number[]> = { 'long-a': [], 'long-b': [], 'long-c': [] };
    const pending = new Set(convs);
    while (pending.size > 0) {
      const page = await reader.next('history');
      assert.ok(page.msgs.length > 0 && page.msgs.length < 200, `a page of long texts holds fewer than its limit (${page.msgs.length})`);
      const conv = page.conv;
      seqs[conv]!.push(...page.msgs.map((m) => m.seq));
      const backward = conv === 'long-c';
      const done = backward ? page.msgs[0]!.seq === 1 : page.msgs.at(-1)!.seq === 200;
      assert.equal(page.more, !done, 'more until the end of the conversation');
      if (done) pending.delete(conv);
      else if (backward) reader.send({ type: 'sync', conv, before: page.msgs[0]!.seq, limit: 200, ref: conv });
      else reader.send({ type: 'sync', conv, after: page.msgs.at(-1)!.seq, limit: 200, ref: conv });
    }
    const all = Array.from({ length: 200 }, (_, i) => i + 1);
    assert.deepEqual(seqs['long-a'], all);
    assert.deepEqual(seqs['long-b'], all);
    // Backward pages keep the newest messages and go down from there.
    assert.deepEqual(seqs['long-c']!.toSorted((a, b) => a - b), all);
    assert.equal(seqs['long-c']![0]! > 150, true, 'the first backward page ends at the newest message');
    // Each frame is at most an eighth of the limit plus one message.
    assert.ok(Math.max(...sizes) <= limit / 8 + 25_000, `largest frame ${Math.max(...sizes)} bytes`);
    assert.equal(lines.some((l) => l.includes('not reading')), false);
    reader.send({ type: 'ping', ref: 'still' });
    assert.equal((await reader.next('pong')).ref, 'still');
  });
});
