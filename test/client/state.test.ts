import { expect } from '@esm-bundle/chai';
import { dropConnections, freshConv, serverUrl, until } from '../browser-support/server.js';
import type { StateChange } from '../../src/client/index.js';
import { freshUser, makeClient, online, stopAll } from './support.js';

/** Every change starts where the previous one ended, and none stays in place. */
function expectOneFunnel(states: StateChange[]): void {
  let current = 'idle';
  for (const s of states) {
    expect(s.from, `${s.from}->${s.to} (${s.reason})`).to.equal(current);
    expect(s.to, `${s.from}->${s.to}`).to.not.equal(s.from);
    expect(s.reason).to.be.a('string').and.not.equal('');
    current = s.to;
  }
}

describe('state events', () => {
  afterEach(stopAll);

  it('go idle -> connecting -> authenticating -> syncing -> online, then around again after a drop', async () => {
    const conv = freshConv();
    const { client, events } = await makeClient(freshUser('alice'), [conv]);
    await online(client);
    expect(events.states.map((s) => s.to)).to.deep.equal(['connecting', 'authenticating', 'syncing', 'online']);

    const mark = events.states.length;
    await dropConnections(1012);
    await until(() => events.states.length > mark + 1 && client.state === 'online', 'back online after the drop');
    const again = events.states.slice(mark);
    expect(again[0]).to.include({ from: 'online', to: 'offline', code: 1012 });
    expect(again.map((s) => s.to)).to.deep.equal(['offline', 'connecting', 'authenticating', 'syncing', 'online']);

    await client.stop();
    expect(events.states.at(-1)).to.include({ from: 'online', to: 'stopped' });
    expectOneFunnel(events.states);
  });

  it('go online with the server given by an http:// URL, as by its ws:// one', async () => {
    const url = (await serverUrl()).replace(/^ws/, 'http');
    const { client } = await makeClient(freshUser('alice'), [freshConv()], { url });
    await online(client, 'online through the http:// URL');
  });

  it('keep one funnel while the server is unreachable', async () => {
    const conv = freshConv();
    const { client, events } = await makeClient(freshUser('alice'), [conv], { url: 'ws://127.0.0.1:9/ws' });
    await until(() => events.states.filter((s) => s.to === 'offline').length >= 3, 'three failed attempts');
    expect(events.states.every((s) => s.to !== 'authenticating')).to.equal(true);
    expect(events.states.find((s) => s.to === 'offline')?.reason).to.contain('could not connect');
    await client.stop();
    expectOneFunnel(events.states);
  });
});
