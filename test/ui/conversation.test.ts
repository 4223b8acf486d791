import { expect } from '@esm-bundle/chai';
import { freshConv, until } from '../browser-support/server.js';
import { fillComposer, freshUser, messageNodes, mountChat, part, texts, twoPeople, unmountAll, untilOnline } from './fixtures.js';

describe('<imbed-chat> two people in one conversation', () => {
  afterEach(unmountAll);

  it('shows each person the other\'s messages once, as theirs, and their own as mine', async () => {
    const { alice, bob } = await twoPeople();

    fillComposer(alice, 'hi bob');
    part(alice, 'send-button').click();
    await until(() => texts(bob).includes('hi bob'), 'bob to see alice\'s message');

    fillComposer(bob, 'hi alice');
    part(bob, 'send-button').click();
    await until(() => texts(alice).includes('hi alice'), 'alice to see bob\'s message');
    await until(() => texts(bob).includes('hi alice') && messageNodes(bob).every((n) => n.dataset.status === 'sent'), 'bob\'s message to be sent');
    await until(() => messageNodes(alice).every((n) => n.dataset.status === 'sent'), 'both messages sent on alice\'s side');

    expect(texts(alice)).to.deep.equal(['hi bob', 'hi alice']);
    expect(texts(bob)).to.deep.equal(['hi bob', 'hi alice']);

    const [aliceOwn, aliceTheirs] = messageNodes(alice);
    expect(aliceOwn!.getAttribute('part')).to.equal('message message-mine');
    expect(aliceTheirs!.getAttribute('part')).to.equal('message message-theirs');
    expect(aliceTheirs!.querySelector('[part~="sender"]')?.textContent).to.equal('Bob');
    expect(aliceOwn!.querySelector('[part~="sender"]')).to.equal(null);

    const [bobTheirs, bobOwn] = messageNodes(bob);
    expect(bobTheirs!.getAttribute('part')).to.equal('message message-theirs');
    expect(bobTheirs!.querySelector('[part~="sender"]')?.textContent).to.equal('Alice');
    expect(bobOwn!.getAttribute('part')).to.equal('message message-mine');

    // Both sides agree on the server's seq and the sender's cmid.
    expect(messageNodes(alice).map((n) => [n.dataset.cmid, n.dataset.seq])).to.deep.equal(
      messageNodes(bob).map((n) => [n.dataset.cmid, n.dataset.seq]),
    );
    expect(messageNodes(alice).map((n) => n.dataset.seq)).to.deep.equal(['1', '2']);
  });

  it('names the sender once for consecutive messages from the same person', async () => {
    const { alice, bob } = await twoPeople();
    for (const text of ['one', 'two', 'three']) {
      await bob.send(text);
    }
    await until(() => texts(alice).length === 3, 'alice to see three messages');
    const names = messageNodes(alice).map((n) => n.querySelector('[part~="sender"]')?.textContent ?? null);
    expect(names).to.deep.equal(['Bob', null, null]);
  });

  it('shows a time on every message', async () => {
    const conv = freshConv();
    const alice = await mountChat({ user: freshUser('alice'), conversation: conv });
    await untilOnline(alice);
    await alice.send('what time is it');
    await until(() => messageNodes(alice).length === 1, 'the message');
    const time = messageNodes(alice)[0]!.querySelector('time')!;
    expect(time.textContent).to.match(/\d/);
    expect(Math.abs(Date.parse(time.dateTime) - Date.now())).to.be.below(5 * 60_000);
  });
});
