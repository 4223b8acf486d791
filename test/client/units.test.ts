import { expect } from '@esm-bundle/chai';
import { ImbedClient, socketUrl } from '../../src/client/client.js';
import { backoffDelay } from '../../src/client/connection.js';
import { pingInterval } from '../../src/client/heartbeat.js';
import { newCmid } from '../../src/client/ids.js';
import { isLaterToken, tokenSubject } from '../../src/client/token.js';
import { CMID_PATTERN } from '../../src/protocol/index.js';

describe('cmids', () => {
  it('are 22 base64url characters the protocol accepts, and do not repeat', () => {
    const ids = new Set(Array.from({ length: 1000 }, newCmid));
    expect(ids.size).to.equal(1000);
    for (const id of ids) expect(CMID_PATTERN.test(id) && id.length === 22, id).to.equal(true);
  });

  it('do not need crypto.randomUUID (missing in insecure contexts)', () => {
    const desc = Object.getOwnPropertyDescriptor(Crypto.prototype, 'randomUUID')!;
    Object.defineProperty(Crypto.prototype, 'randomUUID', { configurable: true, value: undefined });
    try {
      expect(newCmid()).to.match(/^[A-Za-z0-9_-]{22}$/);
    } finally {
      Object.defineProperty(Crypto.prototype, 'randomUUID', desc);
    }
  });
});

describe('token subject', () => {
  // JWT segments are base64url of UTF-8 JSON.
  const b64url = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const jwt = (payload: object) => `e30.${b64url(JSON.stringify(payload))}.sig`;

  it('reads `sub` without verifying', () => {
    expect(tokenSubject(jwt({ sub: 'alice', name: 'Zoë' }))).to.equal('alice');
    expect(tokenSubject(jwt({ sub: 'ü-ser' }))).to.equal('ü-ser');
  });

  it('returns null for anything unreadable', () => {
    for (const t of ['', 'abc', 'a.b.c', jwt({}), jwt({ sub: 5 }), jwt(null as unknown as object)]) expect(tokenSubject(t), t).to.equal(null);
  });

  it('takes, from another tab, only a token of the same user that expires later', () => {
    const held = jwt({ sub: 'alice', exp: 1000 });
    expect(isLaterToken(jwt({ sub: 'alice', exp: 2000 }), held)).to.equal(true);
    expect(isLaterToken(jwt({ sub: 'alice' }), held), 'no exp: never expires').to.equal(true);
    expect(isLaterToken(jwt({ sub: 'alice', exp: 1000 }), held), 'the same expiry').to.equal(false);
    expect(isLaterToken(jwt({ sub: 'alice', exp: 500 }), held), 'an older token').to.equal(false);
    expect(isLaterToken(jwt({ sub: 'bob', exp: 2000 }), held), 'another user').to.equal(false);
    expect(isLaterToken(jwt({ sub: 'alice', exp: 2000 }), jwt({ sub: 'alice' })), 'held never expires').to.equal(false);
    expect(isLaterToken(jwt({ sub: 'alice', exp: 2000 }), null), 'none held: the user is unknown').to.equal(false);
    expect(isLaterToken('not a jwt', held)).to.equal(false);
  });
});

describe('the server URL', () => {
  it('takes ws:// and wss://, turns http(s):// into them, and refuses anything else before connecting', () => {
    expect(socketUrl('wss://chat.example.com/ws')).to.equal('wss://chat.example.com/ws');
    expect(socketUrl('ws://127.0.0.1:8787/ws')).to.equal('ws://127.0.0.1:8787/ws');
    expect(socketUrl('https://chat.example.com/ws?x=1')).to.equal('wss://chat.example.com/ws?x=1');
    expect(socketUrl('http://localhost:8787/ws')).to.equal('ws://localhost:8787/ws');
    expect(() => socketUrl('ftp://chat.example.com/ws')).to.throw(TypeError, /not a WebSocket URL/);
    expect(() => socketUrl('chat.example.com')).to.throw(TypeError);
  });

  it("reads a path against the page's address, so a server on the page's own origin needs no host name", () => {
    const page = new URL(location.href);
    const ws = page.protocol.replace('http', 'ws');
    expect(socketUrl('/ws')).to.equal(`${ws}//${page.host}/ws`);
    expect(socketUrl('/chat/ws?x=1')).to.equal(`${ws}//${page.host}/chat/ws?x=1`);
    expect(socketUrl('//chat.example.com/ws')).to.equal(`${ws}//chat.example.com/ws`);
    expect(socketUrl('./ws')).to.equal(new URL('./ws', page).href.replace(/^http/, 'ws'));
    // Against the document's base address, as the browser reads a WebSocket's.
    const base = document.head.appendChild(Object.assign(document.createElement('base'), { href: 'https://chat.example.com/app/' }));
    try {
      expect(socketUrl('./ws')).to.equal('wss://chat.example.com/app/ws');
    } finally {
      base.remove();
    }
    // A host without a scheme stays an error rather than a path on the page's origin.
    expect(() => socketUrl('chat.example.com/ws')).to.throw(TypeError);
    // The database is named after the server's host, so a same-origin chat keeps its own.
    expect(() => new ImbedClient({ url: '/ws', token: 'x', conversations: [] })).not.to.throw();
    expect(() => new ImbedClient({ url: 'file:///ws', token: 'x', conversations: [] })).to.throw(TypeError, /not a WebSocket URL/);
  });
});

describe('backoff', () => {
  const bounds = { min: 500, max: 15_000 };

  it('does not wait before the first attempt', () => {
    expect(backoffDelay(0, bounds)).to.equal(0);
  });

  it('grows from min towards max with up to the same again as jitter', () => {
    expect(backoffDelay(1, bounds, () => 0)).to.equal(500);
    expect(backoffDelay(1, bounds, () => 0.999)).to.be.closeTo(999.5, 0.01);
    expect(backoffDelay(3, bounds, () => 0)).to.be.closeTo(500 * 1.6 ** 2, 0.01);
    expect(backoffDelay(50, bounds, () => 0.9)).to.equal(15_000);
  });

  it('spreads clients apart', () => {
    const delays = new Set(Array.from({ length: 20 }, () => Math.round(backoffDelay(1, bounds))));
    expect(delays.size).to.be.greaterThan(10);
  });
});

describe('ping interval', () => {
  it("is the host's, at most the server's, which is the default", () => {
    expect(pingInterval(undefined, 20_000)).to.equal(20_000);
    expect(pingInterval(300, 15_000)).to.equal(300);
    expect(pingInterval(30_000, 15_000)).to.equal(15_000);
  });

  it('never pings without pause: an interval of 0 or less is no interval', () => {
    expect(pingInterval(undefined, 0)).to.equal(15_000);
    expect(pingInterval(undefined, -1)).to.equal(15_000);
    expect(pingInterval(0, 0)).to.equal(15_000);
    expect(pingInterval(0, 5_000)).to.equal(5_000);
    expect(pingInterval(-10, 5_000)).to.equal(5_000);
  });
});
