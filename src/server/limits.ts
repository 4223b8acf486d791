/**
 * Flood protection and anti-spam: how many frames a connection may send, how many messages a user may
 * send, how many connections a user or an address may hold, how many of an address's connections may
 * be refused at `hello`, and how often the same text may repeat. Pure bookkeeping over an injected
 * clock; the session turns its verdicts into `error` frames and closes.
 */
import { createHash } from 'node:crypto';
import { isIP, isIPv6 } from 'node:net';

/**
 * The limits' clock: ms that only ever grow. The wall clock may step back (an NTP correction, a resumed
 * virtual machine), and buckets would stop refilling and repeats stop expiring for as long.
 */
const monotonic = (): number => performance.now();

/** A token bucket: holds up to `capacity` tokens and gains `refillPerSecond` of them every second. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSecond: number,
    now: number = monotonic(),
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  /** Takes `n` tokens and returns 0, or takes nothing and returns the ms until `n` are available. */
  take(n = 1, now: number = monotonic()): number {
    const wait = this.waitFor(n, now);
    if (wait === 0) this.tokens -= n;
    return wait;
  }

  /** The ms until `n` tokens are available, 0 when they are now; takes nothing. */
  waitFor(n = 1, now: number = monotonic()): number {
    this.refill(now);
    if (this.tokens >= n) return 0;
    if (n > this.capacity || this.refillPerSecond <= 0) return Infinity;
    return Math.ceil(((n - this.tokens) / this.refillPerSecond) * 1000);
  }

  /**
   * Takes `n` tokens even when fewer are left: the bucket goes into debt, of at most its capacity, which
   * it refills before any token is available again.
   */
  spend(n = 1, now: number = monotonic()): void {
    this.refill(now);
    this.tokens = Math.max(this.tokens - n, -this.capacity);
  }

  /** Whether the bucket is full: such a bucket is the same as a new one and may be forgotten. */
  isFull(now: number = monotonic()): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.refillPerSecond);
      this.last = now;
    }
  }
}

/** What the server enforces. `0` turns a limit off. */
export interface LimitsConfig {
  /** Frames one connection may send per second, sustained; bursts of twice that pass (as `welcome.limits` says). */
  framesPerSecond: number;
  /** Messages one user may send per minute, over all their connections. */
  messagesPerMinute: number;
  /** Messages one user may send at once before the per-minute rate applies (an outbox after being offline). */
  messagesBurst: number;
  /** Open connections per user (counted once `hello` is verified). */
  connectionsPerUser: number;
  /** Open connections per client address (see `trustProxy`). */
  connectionsPerIp: number;
  /**
   * Connections of one client address (counted as for `connectionsPerIp`) that may be refused at `hello`
   * per minute, in bursts of as many: a missing or bad token (not an expired one), a malformed `hello` or
   * none in time, the user's connection limit, a flood before `welcome`. Past it, the address's new connections
   * are refused at once with `TOO_MANY_CONNECTIONS` (4029) and `retryAfter`, before any token is
   * verified, until its count is back under the limit. Unless given, 0 (off) where `connectionsPerIp` is 0.
   */
  refusalsPerIp: number;
  /** At most `count` messages with the same text per user within `windowMs`; more are refused as `SPAM`. */
  identicalTexts: { count: number; windowMs: number };
  /** A connection whose unsent output exceeds this many bytes is not reading: it is closed with 1008. */
  maxBufferedBytes: number;
}

/** A limits preset shared by every server: frozen, so one server cannot change another's limits. */
export type FrozenLimits = Readonly<Omit<LimitsConfig, 'identicalTexts'>> & { readonly identicalTexts: Readonly<LimitsConfig['identicalTexts']> };

/**
 * Production defaults. Frames: a client sends a ping every 15 s, one `send` per message and one `sync`
 * per page, so 20/s (bursts of 40) is far above a person's use and far below a script's. Messages: 60 a
 * minute is one a second sustained, faster than anyone types; the burst of 30 lets an outbox written
 * offline go out at once. 20 connections per user covers tabs, phones and webviews; 100 per address
 * covers an office behind one NAT. An honest client is refused at `hello` rarely (an expired token, which
 * does not count, is the common case), so 100 refusals a minute per address holds a script that loops on
 * bad tokens to under two verifications a second without touching that office.
 * Three identical texts in 30 s allows "ok", "ok", "ok" but not a bot.
 */
export const DEFAULT_LIMITS: FrozenLimits = Object.freeze({
  framesPerSecond: 20,
  messagesPerMinute: 60,
  messagesBurst: 30,
  connectionsPerUser: 20,
  connectionsPerIp: 100,
  refusalsPerIp: 100,
  identicalTexts: Object.freeze({ count: 3, windowMs: 30_000 }),
  maxBufferedBytes: 4 * 1024 * 1024,
});

/** Every limit off except the slow-consumer guard, which protects the server's memory, not fairness. */
export const NO_LIMITS: FrozenLimits = Object.freeze({
  framesPerSecond: 0,
  messagesPerMinute: 0,
  messagesBurst: 0,
  connectionsPerUser: 0,
  connectionsPerIp: 0,
  refusalsPerIp: 0,
  identicalTexts: Object.freeze({ count: 0, windowMs: 0 }),
  maxBufferedBytes: DEFAULT_LIMITS.maxBufferedBytes,
});

/**
 * The defaults with `partial` laid over them (a new object: the presets stay untouched); a limit given as
 * undefined keeps its default. Throws, naming the limit, on one that is not a whole number from 0 (from 1
 * for `maxBufferedBytes`): every check is `> 0`, so a NaN or a negative would turn its protection off
 * without a word, and a `maxBufferedBytes` below 1 would close every connection.
 */
export function resolveLimits(partial: Partial<LimitsConfig> = {}): LimitsConfig {
  const texts: Partial<LimitsConfig['identicalTexts']> = partial.identicalTexts ?? {};
  if (typeof texts !== 'object') throw new Error(`imbed: limits.identicalTexts must be an object { count, windowMs }, got ${JSON.stringify(texts)}`);
  const given = (key: Exclude<keyof LimitsConfig, 'identicalTexts'>, min: number) => counted(`limits.${key}`, partial[key] ?? DEFAULT_LIMITS[key], min);
  return {
    framesPerSecond: given('framesPerSecond', 0),
    messagesPerMinute: given('messagesPerMinute', 0),
    messagesBurst: given('messagesBurst', 0),
    connectionsPerUser: given('connectionsPerUser', 0),
    connectionsPerIp: given('connectionsPerIp', 0),
    // Off by default where the per-address cap is off: an operator who turned that off has clients that
    // share an address (a proxy without trustProxy, a carrier's NAT), which one refusing client would lock out.
    refusalsPerIp: partial.refusalsPerIp === undefined && partial.connectionsPerIp === 0 ? 0 : given('refusalsPerIp', 0),
    identicalTexts: {
      count: counted('limits.identicalTexts.count', texts.count ?? DEFAULT_LIMITS.identicalTexts.count, 0),
      windowMs: counted('limits.identicalTexts.windowMs', texts.windowMs ?? DEFAULT_LIMITS.identicalTexts.windowMs, 0),
    },
    maxBufferedBytes: given('maxBufferedBytes', 1),
  };
}

/** `value` of limit `name` when it is an integer from `min` on (and exact as a number); throws otherwise. */
function counted(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new Error(`imbed: ${name} must be an integer >= ${min}, got ${typeof value === 'number' ? value : JSON.stringify(value)}`);
  }
  return value;
}

/** How long a refused connection should wait before trying again: open connections rarely close sooner. */
export const CONNECTION_RETRY_AFTER = 30_000;

/** How often idle state (full buckets, expired texts) is forgotten. */
const SWEEP_INTERVAL = 60_000;

/** A rate verdict: `retryAfter` ms until the same thing may be tried again, 0 when it may be done now. */
export type Wait = number;

/**
 * Most addresses whose refusals are remembered. Each costs a connection that got as far as `hello`, so
 * a flood of addresses fills this only at the rate the server takes connections; past it, the address
 * refused longest ago is forgotten. About 250 bytes each (IPv6 keys are the longer): 2.5 MB at most.
 */
export const MAX_REFUSING_ADDRESSES = 10_000;

/**
 * The limits state one server shares across its connections: per-user message buckets, connection
 * counts per user and per address, refusals per address, and recent texts per user. Memory stays
 * bounded: entries that would behave like new ones (full buckets, zero counts, texts older than the
 * window) are dropped.
 */
export class LimitsRegistry {
  private readonly messageBuckets = new Map<string, TokenBucket>();
  private readonly userConnections = new Map<string, number>();
  private readonly ipConnections = new Map<string, number>();
  /** Per address (its `addressKey`), its refusals as a bucket that each one empties; the one refused longest ago first. */
  private readonly refusals = new Map<string, TokenBucket>();
  /** Per user, the accepted messages within the identical-text window, oldest first. */
  private readonly recentTexts = new Map<string, Array<{ key: string; cmid: string; at: number }>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    readonly config: LimitsConfig,
    private readonly clock: () => number = monotonic,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL);
    this.sweeper.unref();
  }

  /** Stops the sweeper (the server is closing). */
  dispose(): void {
    clearInterval(this.sweeper);
  }

  /** Takes one message from `user`'s bucket: 0, or the ms until one is available. */
  takeMessage(user: string): Wait {
    const { messagesPerMinute, messagesBurst } = this.config;
    if (messagesPerMinute <= 0) return 0;
    const now = this.clock();
    let bucket = this.messageBuckets.get(user);
    if (!bucket) {
      bucket = new TokenBucket(Math.max(1, messagesBurst), messagesPerMinute / 60, now);
      this.messageBuckets.set(user, bucket);
    }
    return bucket.take(1, now);
  }

  /** Counts a connection of `user`; false (and nothing counted) when they already hold the most allowed. */
  acquireUser(user: string): boolean {
    return acquire(this.userConnections, user, this.config.connectionsPerUser);
  }

  releaseUser(user: string): void {
    release(this.userConnections, user);
  }

  /**
   * Counts a connection from `ip` (under its `addressKey`); false (and nothing counted) when that already
   * holds the most allowed.
   */
  acquireIp(ip: string): boolean {
    return acquire(this.ipConnections, addressKey(ip), this.config.connectionsPerIp);
  }

  releaseIp(ip: string): void {
    release(this.ipConnections, addressKey(ip));
  }

  /**
   * Counts a connection from `ip` refused at `hello`; returns `refusalWait(ip)` after it. Every refusal
   * counts, into debt: connections opened together all pass `refusalWait` before any is refused.
   */
  noteRefusal(ip: string): Wait {
    const perMinute = this.config.refusalsPerIp;
    if (perMinute <= 0) return 0;
    const key = addressKey(ip);
    const now = this.clock();
    const bucket = this.refusals.get(key) ?? new TokenBucket(perMinute, perMinute / 60, now);
    bucket.spend(1, now);
    // Kept in the order of their last refusal, so that a flood of new addresses forgets the quiet ones first.
    this.refusals.delete(key);
    this.refusals.set(key, bucket);
    if (this.refusals.size > MAX_REFUSING_ADDRESSES) this.refusals.delete(this.refusals.keys().next().value!);
    return bucket.waitFor(1, now);
  }

  /** 0 when a connection from `ip` may try `hello`, else the ms until its refusals are back under the limit. */
  refusalWait(ip: string): Wait {
    if (this.config.refusalsPerIp <= 0) return 0;
    return this.refusals.get(addressKey(ip))?.waitFor(1, this.clock()) ?? 0;
  }

  /**
   * Whether `text` from `user` repeats too often: true when `count` messages with the same normalised
   * text were accepted within the window. A resend of an accepted cmid is never a repeat (it is the
   * same message, answered as a dup).
   */
  isRepeat(user: string, cmid: string, text: string): boolean {
    const { count, windowMs } = this.config.identicalTexts;
    if (count <= 0 || windowMs <= 0) return false;
    const key = textKey(text);
    const recent = this.recent(user, this.clock());
    if (recent.some((r) => r.cmid === cmid)) return false;
    return recent.filter((r) => r.key === key).length >= count;
  }

  /** Remembers an accepted message for `isRepeat`. */
  noteText(user: string, cmid: string, text: string): void {
    const { count, windowMs } = this.config.identicalTexts;
    if (count <= 0 || windowMs <= 0) return;
    const recent = this.recent(user, this.clock());
    recent.push({ key: textKey(text), cmid, at: this.clock() });
    // The message rate bounds this already; the cap bounds it when that rate is off.
    if (recent.length > MAX_RECENT_TEXTS) recent.splice(0, recent.length - MAX_RECENT_TEXTS);
    this.recentTexts.set(user, recent);
  }

  /** Drops what would behave like new state; run periodically. */
  sweep(): void {
    const now = this.clock();
    for (const [user, bucket] of this.messageBuckets) if (bucket.isFull(now)) this.messageBuckets.delete(user);
    for (const [key, bucket] of this.refusals) if (bucket.isFull(now)) this.refusals.delete(key);
    for (const user of [...this.recentTexts.keys()]) this.recent(user, now);
  }

  /** `user`'s texts within the window (older ones dropped; the user forgotten when none is left). */
  private recent(user: string, now: number): Array<{ key: string; cmid: string; at: number }> {
    const list = this.recentTexts.get(user) ?? [];
    const from = now - this.config.identicalTexts.windowMs;
    let drop = 0;
    while (drop < list.length && list[drop]!.at <= from) drop += 1;
    if (drop > 0) list.splice(0, drop);
    if (list.length === 0) this.recentTexts.delete(user);
    return list;
  }
}

/** Most texts remembered per user for the identical-text check. */
const MAX_RECENT_TEXTS = 200;

function acquire(counts: Map<string, number>, key: string, max: number): boolean {
  const n = counts.get(key) ?? 0;
  if (max > 0 && n >= max) return false;
  counts.set(key, n + 1);
  return true;
}

function release(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 0) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

/**
 * The text as compared for repeats: trimmed, runs of white space collapsed, lower case, hashed so a
 * 4,000-character text costs 20 bytes to remember.
 */
export function textKey(text: string): string {
  const normal = text.trim().replace(/\s+/gu, ' ').toLowerCase();
  return createHash('sha1').update(normal).digest('base64');
}

/** What one frame gets from the connection's rate check. */
export type FrameVerdict =
  | { ok: true }
  | { ok: false; retryAfter: number; flood: boolean };

/**
 * The least `retryAfter` of a send refused because an earlier one waits to be sent again: its own wait
 * may be over, and what the client must do is send the earlier one first, which takes a round trip.
 */
export const BEHIND_REFUSED_WAIT = 100;

/**
 * How long after its wait ran out a send refused for rate still holds back the others. A client that
 * will never send it again (a person deleted it from the outbox) must not be stalled forever; one that
 * is resending in order does so within a round trip of the wait, so a minute is far beyond that.
 */
export const REFUSED_SEND_HOLD = 60_000;

/**
 * The rate state of one connection: its frame bucket, the send last refused for rate (every other send
 * is refused until that cmid is sent again, so no send overtakes it), and a bucket of refusals to spot
 * a flood.
 */
export class ConnectionLimits {
  /**
   * Null with no frame rate. `frames` is the rate itself. `refusals` are the refusals the connection may
   * still earn before it counts as a flood: a well-behaved client can have at most a catch-up (one `sync`
   * per conversation, at most 100) plus a burst of sends in flight when it is first refused; ten bursts
   * is well beyond that. It refills at the frame rate, so a client that keeps sending at twice the rate
   * is refused half its frames for good, and one far over it is closed within moments, even though some
   * of its frames keep getting through.
   */
  private readonly rate: { frames: TokenBucket; refusals: TokenBucket } | null;
  /** The send refused for rate that every other send waits behind, and when its own wait ends. */
  private refused: { cmid: string; until: number } | null = null;

  constructor(
    private readonly registry: LimitsRegistry,
    private readonly clock: () => number = monotonic,
    /**
     * Whether the send of `cmid` is stored, by any connection of the user: another client of the same
     * browser database may send the refused one and take it out of this client's outbox, which then
     * never sends it again.
     */
    private readonly stored: (cmid: string) => boolean = () => false,
  ) {
    const fps = registry.config.framesPerSecond;
    const now = clock();
    this.rate = fps > 0 ? { frames: new TokenBucket(2 * fps, fps, now), refusals: new TokenBucket(Math.max(200, 20 * fps), fps, now) } : null;
  }

  /**
   * Checks one incoming frame against the frame rate. A refused frame takes from the refusals bucket;
   * once that is empty the verdict says to close.
   */
  frame(): FrameVerdict {
    const rate = this.rate;
    if (!rate) return { ok: true };
    const now = this.clock();
    const wait = rate.frames.take(1, now);
    if (wait === 0) return { ok: true };
    return { ok: false, retryAfter: wait, flood: rate.refusals.take(1, now) > 0 };
  }

  /**
   * Whether the send of `cmid` must wait behind one refused for rate: 0 when it may go on, else the ms
   * to answer as `retryAfter`. The refused send itself is let through, which lifts the hold: from then
   * on it is answered like any send (and held again if refused for rate again). So does its being
   * stored through another connection.
   */
  sendHeld(cmid: string | null): Wait {
    const refused = this.refused;
    if (refused === null) return 0;
    const now = this.clock();
    if (refused.cmid === cmid || now >= refused.until + REFUSED_SEND_HOLD || this.stored(refused.cmid)) {
      this.refused = null;
      return 0;
    }
    return Math.max(refused.until - now, BEHIND_REFUSED_WAIT);
  }

  /**
   * Takes one message from `user`'s bucket for the send of `cmid`: 0 when it may be stored, else the ms
   * to wait, and every other send is held until `cmid` is sent again.
   */
  takeMessage(user: string, cmid: string): Wait {
    const wait = this.registry.takeMessage(user);
    if (wait > 0) this.hold(cmid, wait);
    return wait;
  }

  /**
   * A send refused for the frame rate, `wait` ms: the `retryAfter` to answer. A send held behind an
   * earlier refused one waits for that one as well; else, when it has a cmid, it becomes the send the
   * others wait behind.
   */
  refuseSend(cmid: string | null, wait: number): Wait {
    const held = this.sendHeld(cmid);
    if (held > 0) return Math.max(held, wait);
    if (cmid !== null) this.hold(cmid, wait);
    return wait;
  }

  /** The send of `cmid` got an answer other than `RATE_LIMITED` (refused for good): nothing waits behind it. */
  settled(cmid: string): void {
    if (this.refused?.cmid === cmid) this.refused = null;
  }

  private hold(cmid: string, wait: number): void {
    this.refused = { cmid, until: this.clock() + wait };
  }
}

/**
 * The client address of a request: the socket's peer, or with `trustProxy` the address the proxy in
 * front of this server saw, i.e. the LAST entry of `X-Forwarded-For` (without a port, which some proxies
 * write; the peer when that entry is no address). Earlier entries were written by the client itself and
 * prove nothing.
 */
export function clientAddress(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined, trustProxy: boolean): string {
  if (trustProxy && forwardedFor !== undefined) {
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
    const hops = header.split(',').map((h) => h.trim()).filter((h) => h !== '');
    // Some proxies write the port too (203.0.113.7:40001, [2001:db8::1]:443): counted with it, every
    // source port would be an address of its own.
    const last = hops[hops.length - 1]?.replace(/^\[([^\]]+)\](?::\d+)?$|^([\d.]+):\d+$/, '$1$2');
    if (last && isIP(last)) return last;
  }
  return remoteAddress ?? 'unknown';
}

/** `ip` without the `::ffff:` of an IPv4 address mapped into IPv6. */
function unmapped(ip: string): string {
  return /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)?.[1] ?? ip;
}

/**
 * What the per-address connection limit counts `ip` under: an IPv4 address, also one mapped into IPv6, as
 * itself; an IPv6 address by its /64 network, the block one subscriber or host is usually given, so that
 * taking a new address of one's own /64 for every connection does not get around the limit.
 */
export function addressKey(ip: string): string {
  const v4 = unmapped(ip);
  if (v4 !== ip) return v4;
  const address = ip.split('%')[0]!;
  if (!isIPv6(address)) return ip;
  const [head = '', tail] = address.toLowerCase().split('::');
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  // An IPv4 tail (64:ff9b::1.2.3.4) takes two groups' room.
  const size = (list: string[]) => list.reduce((n, group) => n + (group.includes('.') ? 2 : 1), 0);
  const left = groups(head);
  const right = groups(tail);
  const full = tail === undefined ? left : [...left, ...Array<string>(8 - size(left) - size(right)).fill('0'), ...right];
  return `${full.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':')}::/64`;
}

/**
 * Whether `ip` is a loopback, private, link-local or carrier-grade NAT address (IPv4, IPv6, or IPv4
 * mapped into IPv6): where a reverse proxy in front of this server usually connects from.
 */
export function isPrivateAddress(ip: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(unmapped(ip));
  if (v4) {
    const a = Number(v4[1]);
    const b = Number(v4[2]);
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
  }
  const v6 = ip.toLowerCase();
  return v6 === '::1' || /^f[cd][0-9a-f]{2}:/.test(v6) || /^fe[89ab][0-9a-f]:/.test(v6);
}
