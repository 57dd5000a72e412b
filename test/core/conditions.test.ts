import { evaluate, resolveExpressions } from '../../core/conditions';

const scope = {
  profile: { id: 'u1', vip: true, country: 'DE', tags: ['buyer'], orders: 3, signed_up_at: '2026-10-01T00:00:00Z' },
  trigger: { event: 'cart_abandoned', properties: { cart_id: 'c1', total: '45.50' } },
  event: { event: 'order_completed', properties: { cart_id: 'c1' } },
};
const now = Date.parse('2026-11-27T00:00:00Z');

describe('conditions', () => {
  test('comparisons treat numeric strings from events as numbers', () => {
    expect(evaluate({ path: 'trigger.properties.total', op: 'gte', value: 20 }, scope, now)).toBe(true);
    expect(evaluate({ path: 'trigger.properties.total', op: 'lt', value: 20 }, scope, now)).toBe(false);
  });

  test('expressions in values are resolved against the same roots', () => {
    expect(evaluate({ path: 'event.properties.cart_id', op: 'eq', value: '{{ trigger.properties.cart_id }}' }, scope, now)).toBe(true);
    expect(resolveExpressions({ url: 'https://x.test/{{ profile.id }}', n: '{{ profile.orders }}' }, scope)).toEqual({ url: 'https://x.test/u1', n: 3 });
  });

  test('combinators, membership and tags', () => {
    expect(evaluate({ any: [{ path: 'profile.country', op: 'in', value: ['AT', 'CH'] }, { path: 'profile.vip', op: 'eq', value: true }] }, scope, now)).toBe(true);
    expect(evaluate({ not: { path: 'profile.tags', op: 'contains', value: 'buyer' } }, scope, now)).toBe(false);
    expect(evaluate({ all: [{ path: 'profile.country', op: 'nin', value: ['FR'] }, { path: 'profile.missing', op: 'exists', value: false }] }, scope, now)).toBe(true);
  });

  test('relative dates compare against the journey clock', () => {
    expect(evaluate({ path: 'profile.signed_up_at', op: 'before', value: { relativeMs: -30 * 86_400_000 } }, scope, now)).toBe(true);
    expect(evaluate({ path: 'profile.signed_up_at', op: 'after', value: { relativeMs: -30 * 86_400_000 } }, scope, now)).toBe(false);
  });

  test('a missing path never satisfies a comparison', () => {
    expect(evaluate({ path: 'profile.nothing', op: 'gt', value: 0 }, scope, now)).toBe(false);
    expect(evaluate({ path: 'profile.nothing', op: 'eq', value: 'x' }, scope, now)).toBe(false);
  });
});
