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

describe('string tests', () => {
  const text = {
    profile: { id: 'u1', email: 'Ann@Example.com', phone: '+4930123456', plan: 'VIP', zip: 10115, tags: ['Newsletter'] },
    received: { event: 'nps_submitted', properties: { score: 6, comment: 'Slow DELIVERY' } },
  };
  const holds = (c: Parameters<typeof evaluate>[0]) => evaluate(c, text, now);

  test('starts_with and ends_with compare the start and end of a text, numbers as their digits', () => {
    expect(holds({ path: 'profile.phone', op: 'starts_with', value: '+49' })).toBe(true);
    expect(holds({ path: 'profile.phone', op: 'starts_with', value: '+43' })).toBe(false);
    expect(holds({ path: 'profile.email', op: 'ends_with', value: '@Example.com' })).toBe(true);
    expect(holds({ path: 'profile.zip', op: 'starts_with', value: '10' })).toBe(true);
    expect(holds({ path: 'profile.tags', op: 'starts_with', value: 'News' })).toBe(false);
    expect(holds({ path: 'profile.missing', op: 'ends_with', value: '' })).toBe(false);
  });

  test('matches finds an RE2 pattern anywhere in the text; ^ and $ anchor it', () => {
    expect(holds({ path: 'received.properties.comment', op: 'matches', value: 'deliver(y|ies)' })).toBe(false);
    expect(holds({ path: 'received.properties.comment', op: 'matches', value: 'DELIVER(Y|IES)' })).toBe(true);
    expect(holds({ path: 'profile.phone', op: 'matches', value: '^\\+49\\d+$' })).toBe(true);
    expect(holds({ path: 'profile.zip', op: 'matches', value: '^1\\d{4}$' })).toBe(true);
    expect(holds({ path: 'profile.missing', op: 'matches', value: '.*' })).toBe(false);
  });

  test('a pattern that backtracks exponentially elsewhere answers at once', () => {
    const scope = { profile: { id: 'u', name: `${'a'.repeat(30_000)}!` } };
    const started = Date.now();
    expect(evaluate({ path: 'profile.name', op: 'matches', value: '^(a+)+$' }, scope, now)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test('ignoreCase makes eq, ne, in, nin, contains and the string tests ignore upper and lower case', () => {
    const ci = { ignoreCase: true as const };
    expect(holds({ path: 'profile.plan', op: 'eq', value: 'vip' })).toBe(false);
    expect(holds({ path: 'profile.plan', op: 'eq', value: 'vip', ...ci })).toBe(true);
    expect(holds({ path: 'profile.plan', op: 'ne', value: 'vip', ...ci })).toBe(false);
    expect(holds({ path: 'profile.plan', op: 'in', value: ['gold', 'Vip'], ...ci })).toBe(true);
    expect(holds({ path: 'profile.plan', op: 'nin', value: ['gold', 'Vip'], ...ci })).toBe(false);
    expect(holds({ path: 'profile.tags', op: 'contains', value: 'newsletter', ...ci })).toBe(true);
    expect(holds({ path: 'received.properties.comment', op: 'contains', value: 'delivery', ...ci })).toBe(true);
    expect(holds({ path: 'profile.email', op: 'eq', value: 'ann@example.COM', ...ci })).toBe(true);
    expect(holds({ path: 'profile.email', op: 'ends_with', value: '@EXAMPLE.com', ...ci })).toBe(true);
    expect(holds({ path: 'received.properties.comment', op: 'matches', value: 'deliver(y|ies)', ...ci })).toBe(true);
    // \D must stay "not a digit": the pattern is never lower-cased, only matched without regard to case.
    expect(holds({ path: 'profile.phone', op: 'matches', value: '^\\+\\D', ...ci })).toBe(false);
  });

  test('numbers still compare loosely with text when case is ignored', () => {
    expect(holds({ path: 'received.properties.score', op: 'eq', value: '6', ignoreCase: true })).toBe(true);
    expect(holds({ path: 'received.properties.score', op: 'in', value: [5, 6], ignoreCase: true })).toBe(true);
  });

  test('received.* reads the event the latest wait_for received, and nothing before one did', () => {
    expect(holds({ path: 'received.properties.score', op: 'lte', value: 6 })).toBe(true);
    expect(evaluate({ path: 'received.properties.score', op: 'lte', value: 6 }, { profile: text.profile }, now)).toBe(false);
    expect(evaluate({ path: 'received.event', op: 'exists', value: false }, { profile: text.profile }, now)).toBe(true);
  });
});
