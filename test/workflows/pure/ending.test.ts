import type { JourneyPlan, TrackEvent } from '../../../compiler/plan';
import { endingForEvent } from '../../../workflows/pure/ending';

const plan: Pick<JourneyPlan, 'goal' | 'exitWhen'> = {
  goal: { event: 'order_completed', where: { path: 'event.properties.cart_id', op: 'eq', value: '{{ trigger.properties.cart_id }}' } },
  exitWhen: [{ event: 'cart_emptied' }, { event: 'order_completed' }],
};
const trigger = { event: 'cart_abandoned', properties: { cart_id: 'c1' }, timestamp: '2026-11-24T10:00:00Z' };
const event = (name: string, properties: Record<string, unknown> = {}): TrackEvent => ({ event: name, properties, timestamp: '2026-11-24T11:00:00Z' });
const scope = (e: TrackEvent) => ({ profile: { id: 'c', tags: [] }, trigger, event: e as unknown as Record<string, unknown> });
const endingFor = (e: TrackEvent) => endingForEvent(plan, e, scope(e), Date.parse('2026-11-24T11:00:00Z'), 'wait-1');

describe('endingForEvent', () => {
  test('the goal event converts the journey, in the step the customer is in', () => {
    expect(endingFor(event('order_completed', { cart_id: 'c1' }))).toEqual({ outcome: 'converted', step: 'wait-1', reason: 'order_completed' });
  });

  test('an exit_when event exits; the goal is checked first', () => {
    expect(endingFor(event('cart_emptied'))).toEqual({ outcome: 'exited', step: 'wait-1', reason: 'exit_when cart_emptied' });
    // Not this cart's purchase: not the goal, but the second exit_when matcher.
    expect(endingFor(event('order_completed', { cart_id: 'other' }))).toEqual({ outcome: 'exited', step: 'wait-1', reason: 'exit_when order_completed' });
  });

  test('any other event leaves the journey running', () => {
    expect(endingFor(event('page_viewed'))).toBeUndefined();
    expect(endingForEvent({ exitWhen: [] }, event('order_completed'), scope(event('x')), 0, 's')).toBeUndefined();
  });
});
