import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hub, type Subscriber } from '../../src/server/hub.ts';
import { TextFrame } from '../../src/server/outbound.ts';

function subscriber(): Subscriber & { got: string[] } {
  const got: string[] = [];
  return { got, sendFrame: (frame) => void got.push(frame.payload.toString()) };
}

const frame = (json: string) => new TextFrame(json);

describe('Hub', () => {
  it('publishes to every subscriber of the conversation except the excluded one', () => {
    const hub = new Hub();
    const [a, b, c] = [subscriber(), subscriber(), subscriber()];
    hub.subscribe('x', a);
    hub.subscribe('x', b);
    hub.subscribe('y', c);
    hub.publish('x', frame('frame'), a);
    assert.deepEqual([a.got, b.got, c.got], [[], ['frame'], []]);
  });

  it('delivers once to a subscriber that subscribed twice', () => {
    const hub = new Hub();
    const a = subscriber();
    hub.subscribe('x', a);
    hub.subscribe('x', a);
    hub.publish('x', frame('frame'));
    assert.deepEqual(a.got, ['frame']);
  });

  it('forgets every subscription of a subscriber on unsubscribeAll', () => {
    const hub = new Hub();
    const [a, b] = [subscriber(), subscriber()];
    hub.subscribe('x', a);
    hub.subscribe('y', a);
    hub.subscribe('y', b);
    hub.unsubscribeAll(a);
    hub.publish('x', frame('1'));
    hub.publish('y', frame('2'));
    assert.deepEqual([a.got, b.got], [[], ['2']]);
  });
});
