import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hub, type Subscriber } from '../../src/server/hub.ts';
import { TextFrame } from '../../src/server/outbound.ts';

function subscriber(): Subscriber & { got: string[] } {
  const got: string[] = [];
  return { got, sendFrame: (frame) => void got.push(...frame.payloads.map(String)) };
}

/** What fan-out does with the live subscribers of a conversation. */
function publish(hub: Hub<Subscriber & { got: string[] }>, conv: string, json: string, except?: Subscriber): void {
  const frame = TextFrame.of(json);
  for (const sub of hub.live(conv)) if (sub !== except) sub.sendFrame(frame);
}

describe('Hub', () => {
  it('publishes to every subscriber of the conversation except the excluded one', () => {
    const hub = new Hub<Subscriber & { got: string[] }>();
    const [a, b, c] = [subscriber(), subscriber(), subscriber()];
    hub.subscribe('x', a);
    hub.subscribe('x', b);
    hub.subscribe('y', c);
    publish(hub, 'x', 'frame', a);
    assert.deepEqual([a.got, b.got, c.got], [[], ['frame'], []]);
  });

  it('delivers once to a subscriber that subscribed twice', () => {
    const hub = new Hub<Subscriber & { got: string[] }>();
    const a = subscriber();
    hub.subscribe('x', a);
    hub.subscribe('x', a);
    publish(hub, 'x', 'frame');
    assert.deepEqual(a.got, ['frame']);
  });

  it('forgets every subscription of a subscriber on unsubscribeAll', () => {
    const hub = new Hub<Subscriber & { got: string[] }>();
    const [a, b] = [subscriber(), subscriber()];
    hub.subscribe('x', a);
    hub.subscribe('y', a);
    hub.subscribe('y', b);
    hub.unsubscribeAll(a);
    publish(hub, 'x', '1');
    publish(hub, 'y', '2');
    assert.deepEqual([a.got, b.got], [[], ['2']]);
  });
});
