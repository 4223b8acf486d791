import { expect } from '@esm-bundle/chai';
import { loadOnce, PART_RETRY_AFTER } from '../../src/ui/load-once.js';

describe('loading a part of the chat', () => {
  const realNow = performance.now;
  let now = 0;
  beforeEach(() => {
    now = 0;
    performance.now = () => now;
  });
  afterEach(() => {
    performance.now = realNow;
  });

  it('fetches a part once, whoever asks', async () => {
    let fetched = 0;
    const load = loadOnce(async () => ++fetched);
    expect(await Promise.all([load(), load(), load()])).to.deep.equal([1, 1, 1]);
    now += 10 * PART_RETRY_AFTER;
    expect(await load()).to.equal(1);
    expect(fetched).to.equal(1);
  });

  it('asks again for a part that failed, but only once the retry time has passed', async () => {
    let fetched = 0;
    const load = loadOnce(async () => {
      fetched++;
      if (fetched === 1) throw new Error('offline');
      return 'launcher';
    });
    const warn = console.warn;
    console.warn = () => {};
    try {
      let failure: unknown;
      await load().catch((error: unknown) => (failure = error));
      expect(String(failure)).to.contain('offline');
      now += PART_RETRY_AFTER - 1;
      await load().catch(() => {});
      expect(fetched, 'no new request within the retry time').to.equal(1);
      now += 1;
      expect(await load()).to.equal('launcher');
      expect(fetched).to.equal(2);
    } finally {
      console.warn = warn;
    }
  });

  it('asks again at once, when told to, for a part that failed, and never for one that loaded', async () => {
    let fetched = 0;
    const load = loadOnce(async () => {
      fetched++;
      if (fetched === 1) throw new Error('offline');
      return 'bridge';
    });
    const warn = console.warn;
    console.warn = () => {};
    try {
      await load().catch(() => {});
      expect(await load(true)).to.equal('bridge');
      expect(await load(true)).to.equal('bridge');
      expect(fetched).to.equal(2);
    } finally {
      console.warn = warn;
    }
  });
});
