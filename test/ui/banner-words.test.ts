import { expect } from '@esm-bundle/chai';
import { describeConnection, type ConnectionFacts } from '../../src/ui/banner.js';
import { formatTime } from '../../src/ui/format.js';

const base: ConnectionFacts = { state: 'online', pending: 0, storageKind: 'indexeddb', wasOnline: true, stopReason: '' };

describe('<imbed-chat> banner words', () => {
  it('says nothing when online with nothing waiting', () => {
    expect(describeConnection(base)).to.deep.equal({ status: '', notice: '', canRetry: false, tone: 'info' });
  });

  it('counts waiting messages while offline and offers to retry', () => {
    const model = describeConnection({ ...base, state: 'offline', pending: 3, deviceOffline: true });
    expect(model.status).to.equal('Offline — 3 messages waiting to send');
    expect(model.canRetry).to.equal(true);
  });

  it('says the time between attempts as the attempts, while the device has a network, and holds "Retry now" once one failed', () => {
    // The server out of reach: offline and connecting take turns at every attempt.
    for (const state of ['offline', 'connecting'] as const) {
      expect(describeConnection({ ...base, state, pending: 1 })).to.include({ status: 'Reconnecting… 1 message waiting to send', canRetry: true });
    }
    // Never online yet: "Connecting…", with "Retry now" from the first failure on, also during the next attempt.
    const first = { ...base, wasOnline: false };
    expect(describeConnection({ ...first, state: 'connecting' })).to.include({ status: 'Connecting…', canRetry: false });
    expect(describeConnection({ ...first, state: 'offline' })).to.include({ status: 'Connecting…', canRetry: true });
    expect(describeConnection({ ...first, state: 'connecting', attemptFailed: true })).to.include({ status: 'Connecting…', canRetry: true });
  });

  it('says "Offline" through the attempts too while the device has no network', () => {
    for (const state of ['offline', 'connecting', 'authenticating'] as const) {
      expect(describeConnection({ ...base, state, deviceOffline: true, attemptFailed: true })).to.include({ status: 'Offline', canRetry: true });
    }
  });

  it('says Reconnecting after having been online, Connecting before', () => {
    expect(describeConnection({ ...base, state: 'connecting', pending: 1 }).status).to.equal('Reconnecting… 1 message waiting to send');
    expect(describeConnection({ ...base, state: 'authenticating', wasOnline: false }).status).to.equal('Connecting…');
    expect(describeConnection({ ...base, state: 'connecting', wasOnline: false }).canRetry).to.equal(false);
  });

  it('says Catching up while syncing', () => {
    expect(describeConnection({ ...base, state: 'syncing', pending: 2 }).status).to.equal('Catching up…');
  });

  it('explains a stop with the reason, as an error', () => {
    const model = describeConnection({ ...base, state: 'stopped', stopReason: 'token rejected' });
    expect(model.status).to.equal('Chat unavailable: token rejected');
    expect(model.tone).to.equal('error');
    expect(model.canRetry).to.equal(false);
  });

  it('keeps the memory-storage notice under every state', () => {
    for (const state of ['online', 'offline', 'syncing', 'stopped'] as const) {
      expect(describeConnection({ ...base, state, storageKind: 'memory' }).notice).to.match(/will not survive a reload/);
    }
  });
});

describe('<imbed-chat> message times', () => {
  it('shows only the time for today and adds the date for older messages', () => {
    const now = new Date(2026, 10, 26, 15, 0);
    const today = formatTime(new Date(2026, 10, 26, 9, 5).getTime(), 'en', now);
    const older = formatTime(new Date(2026, 10, 20, 9, 5).getTime(), 'en', now);
    expect(today).to.match(/9.05/);
    expect(older).to.match(/9.05/);
    expect(older).to.match(/20/);
    expect(today).to.not.match(/20/);
  });

  it('counts a wait down on screen, and gives assistive technology the whole wait once, unchanging', () => {
    const first = describeConnection({ ...base, pending: 2, hold: { kind: 'rate', seconds: 9, total: 9 } });
    const later = describeConnection({ ...base, pending: 2, hold: { kind: 'rate', seconds: 4, total: 9 } });
    expect([first.status, later.status]).to.deep.equal(['Sending too fast — waiting 9 s — 2 messages waiting to send', 'Sending too fast — waiting 4 s — 2 messages waiting to send']);
    // Nor the count of messages waiting, which falls as each one gets through.
    const fewer = describeConnection({ ...base, pending: 1, hold: { kind: 'rate', seconds: 3, total: 9 } });
    expect([first.spoken, later.spoken, fewer.spoken]).to.deep.equal(['Sending too fast — waiting 9 s', 'Sending too fast — waiting 9 s', 'Sending too fast — waiting 9 s']);
    const reconnecting = describeConnection({ ...base, state: 'connecting', hold: { kind: 'connections', seconds: 3, total: 30 } });
    expect([reconnecting.status, reconnecting.spoken]).to.deep.equal(['Too many connections — reconnecting in 3 s', 'Too many connections — reconnecting in 30 s']);
    expect(describeConnection({ ...base, state: 'offline', deviceOffline: true }).spoken).to.equal(undefined);
  });

  it('counts messages waiting while online only once one has waited longer than a send takes', () => {
    expect(describeConnection({ ...base, pending: 1 }).status).to.equal('');
    expect(describeConnection({ ...base, pending: 2, waitingLong: true }).status).to.equal('2 messages waiting to send');
  });
});
