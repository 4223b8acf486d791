import { expect } from '@esm-bundle/chai';
import { Connection } from '../../src/client/connection.js';
import { CloseNotebook, decideOnClose } from '../../src/client/close-policy.js';
import { serverUrl, freshConv, until } from '../browser-support/server.js';
import { freshUser, makeClient, stopAll, tapSockets, type SocketTap } from './support.js';

describe('fatal closes', () => {
  let tap: SocketTap | null = null;
  afterEach(async () => {
    tap?.restore();
    tap = null;
    await stopAll();
  });

  it('stops on a refused token, says why, and does not reconnect', async () => {
    tap = tapSockets();
    const conv = freshConv();
    const { client, events } = await makeClient(freshUser('mallory'), [conv], { token: 'not.a.token' });
    await until(() => client.state === 'stopped', 'client stopped');
    const last = events.states.at(-1)!;
    expect(last).to.include({ from: 'authenticating', to: 'stopped', code: 4003 });
    expect(events.errors).to.have.length(1);
    // The server's error frame before the close says why; its code is reported, not the close code's name.
    expect(events.errors[0]).to.include({ code: 'TOKEN_MALFORMED', fatal: true, retryable: false });
    expect(events.errors[0].message).to.contain('refused the token');

    // Nothing may bring it back by itself: not "retry now", not the browser's hints.
    client.reconnect();
    window.dispatchEvent(new Event('online'));
    // Absence can only be shown by waiting: longer than the largest backoff (1 s in these tests).
    const quietUntil = Date.now() + 2_500;
    await until(() => Date.now() > quietUntil, 'a quiet period', 5_000);
    expect(tap.sockets).to.equal(1);
    expect(client.state).to.equal('stopped');
    expect(events.states.filter((s) => s.to === 'connecting')).to.have.length(1);
  });

  it('reads the server\'s 4002 close when the page offers a protocol the server does not speak', async () => {
    const closes: Array<{ code: number; reason: string }> = [];
    let opened = 0;
    const connection = new Connection(await serverUrl(), { min: 100, max: 1000 }, {
      prepare: async () => {},
      open: () => void (opened += 1),
      frame: () => {},
      close: (code, reason) => {
        closes.push({ code, reason });
        connection.stop();
      },
      refused: () => {},
    }, ['imbed.v0']);
    await until(() => closes.length > 0, 'the server closed the socket');
    expect(opened).to.equal(1);
    expect(closes[0].code).to.equal(4002);
    const decision = decideOnClose(closes[0].code, closes[0].reason, { established: false, canRefreshToken: true });
    expect(decision.action).to.equal('stop');
    expect(decision.reason).to.match(/^this page's imbed is incompatible with the server: unsupported protocol; this server speaks imbed\.v1/);
  });
});

describe('the close policy', () => {
  const ctx = { established: true, canRefreshToken: false };

  it('retries after 1000, which reconnecting-websocket also uses for failed attempts', () => {
    expect(decideOnClose(1000, '', { ...ctx, established: false })).to.deep.equal({ action: 'retry', reason: 'could not connect' });
    expect(decideOnClose(1000, '', ctx).action).to.equal('retry');
  });

  it('retries after a restart, a crash and a dead heartbeat', () => {
    for (const code of [1001, 1006, 1011, 1012, 4004, 4008]) expect(decideOnClose(code, 'x', ctx).action, String(code)).to.equal('retry');
  });

  it('refreshes the token after 4001 when it can, and stops when it cannot', () => {
    expect(decideOnClose(4001, 'token expired', { ...ctx, canRefreshToken: true }).action).to.equal('refresh');
    expect(decideOnClose(4001, 'token expired', ctx)).to.deep.equal({ action: 'stop', reason: 'token expired', errorCode: 'TOKEN_EXPIRED' });
  });

  it('stops on 4002, 4003, 4005, 4006 and unknown 4xxx codes, naming the code', () => {
    expect(decideOnClose(4002, '', ctx)).to.include({ action: 'stop', errorCode: 'UNSUPPORTED_PROTOCOL' });
    expect(decideOnClose(4003, 'invalid token', ctx)).to.include({ action: 'stop', errorCode: 'UNAUTHORIZED' });
    expect(decideOnClose(4005, 'bad hello', ctx)).to.include({ action: 'stop', errorCode: 'BAD_HELLO' });
    expect(decideOnClose(4006, 'origin https://evil.example is not allowed', ctx)).to.deep.equal({
      action: 'stop',
      reason: 'this site is not allowed to use the chat server: origin https://evil.example is not allowed',
      errorCode: 'ORIGIN_NOT_ALLOWED',
    });
    expect(decideOnClose(4999, 'new thing', ctx)).to.deep.equal({ action: 'stop', reason: 'the server closed the connection for good (4999): new thing', errorCode: 'CLOSE_4999' });
  });

  it('names the code of the error frame sent before the close, when there was one', () => {
    const refusal = (code: string) => ({ ...ctx, established: false, refusal: { code, message: 'x' } });
    expect(decideOnClose(4003, 'invalid token', refusal('TOKEN_INVALID'))).to.include({ action: 'stop', errorCode: 'TOKEN_INVALID' });
    expect(decideOnClose(4003, 'token has no sub', refusal('TOKEN_CLAIMS'))).to.include({ action: 'stop', errorCode: 'TOKEN_CLAIMS' });
    expect(decideOnClose(4001, 'token expired', refusal('TOKEN_EXPIRED'))).to.include({ action: 'stop', errorCode: 'TOKEN_EXPIRED' });
    // The server could not check the token: the same token is tried again later.
    expect(decideOnClose(1011, 'cannot check tokens now', refusal('AUTH_UNAVAILABLE'))).to.deep.equal({
      action: 'retry',
      reason: 'the server cannot check the token now: cannot check tokens now',
    });
  });

  it('keeps a refused hello and a 4029\'s retryAfter for the close that follows, and only for that one', () => {
    const notes = new CloseNotebook();
    // A refusal of the hello says nothing else: the frame goes no further.
    expect(notes.note({ type: 'error', code: 'TOKEN_EXPIRED', message: 'token expired', ref: null, retryable: false })).to.equal(true);
    // Too many connections is also reported to the host, so the frame goes on.
    expect(notes.note({ type: 'error', code: 'TOO_MANY_CONNECTIONS', message: 'too many', ref: null, retryable: true, retryAfter: 30_000 })).to.equal(false);
    expect(notes.note({ type: 'error', code: 'FORBIDDEN', message: 'not a member', ref: null, retryable: false, conv: 'c1' })).to.equal(false);
    expect(notes.take()).to.deep.equal({ refusal: { code: 'TOKEN_EXPIRED', message: 'token expired' }, retryAfter: 30_000 });
    expect(notes.take()).to.deep.equal({ refusal: null, retryAfter: null });
  });
});
