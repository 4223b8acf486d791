import { after, before, describe, it } from 'node:test';
import { Scenario } from '../support/scenario.ts';

describe('a script-tag embed on another origin', () => {
  const s = new Scenario();
  before(() => s.start());
  after(() => s.dispose());

  it('lets two users chat exactly once, in order, on both sides', async () => {
    const alice = await s.open('alice');
    const bob = await s.open('bob');
    await s.type(alice, 'Hi Bob, is the order still on its way?');
    await s.type(bob, 'Hi Alice! It left this morning.');
    await s.type(alice, 'Great, thanks 🙏');
    await s.type(bob, '不客气 — you are welcome');
    await s.quiesce([alice, bob], 4);
    await s.assertConsistent([alice, bob], {
      alice: ['Hi Bob, is the order still on its way?', 'Great, thanks 🙏'],
      bob: ['Hi Alice! It left this morning.', '不客气 — you are welcome'],
    });
  });
});
