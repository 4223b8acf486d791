import { expect } from '@esm-bundle/chai';
import { describeConnection, type ConnectionFacts } from '../../src/ui/banner.js';
import { adminCall, freshConv, until } from '../browser-support/server.js';
import { bannerText, freshUser, mountChat, unmountAll } from './fixtures.js';
import type { ImbedErrorDetail } from '../../src/ui/events.js';

const base: ConnectionFacts = { state: 'online', pending: 0, storageKind: 'indexeddb', wasOnline: true, stopReason: '' };

describe('<imbed-chat> in a conversation the user may not use', () => {
  afterEach(() => unmountAll());

  it('words the refusal as an error while connected, and leaves a stop reason first', () => {
    const model = describeConnection({ ...base, notMember: true });
    expect(model).to.include({ status: 'You are not a member of this conversation.', tone: 'error' });
    expect(describeConnection({ ...base, state: 'stopped', stopReason: 'token rejected', notMember: true }).status).to.equal('Chat unavailable: token rejected');
  });

  it('tells the person they are not a member, and the page which conversation was refused', async () => {
    const conv = freshConv('members-only');
    await adminCall('POST', 'conversations', { id: conv, kind: 'group', members: [freshUser('owner')] });
    const errors: ImbedErrorDetail[] = [];
    const listener = (event: CustomEvent<ImbedErrorDetail>) => errors.push(event.detail);
    document.addEventListener('imbed-error', listener);
    try {
      const el = await mountChat({ user: freshUser('alice'), conversation: conv });
      await until(() => bannerText(el).includes('You are not a member of this conversation.'), 'the banner names the refusal');
      await until(() => errors.some((e) => e.code === 'FORBIDDEN'), 'the refusal as an imbed-error');
      const refusal = errors.find((e) => e.code === 'FORBIDDEN')!;
      expect(refusal.conv).to.equal(conv);
      expect(refusal.fatal).to.equal(false);
    } finally {
      document.removeEventListener('imbed-error', listener);
    }
  });
});
