import { emptyProfile, profileChanges, summariseApplied, summariseChanges } from '../../core/index';

const step = { id: 'remember', kind: 'update_profile', set: { source: 'cart' }, increment: { nudges: 1 }, addTags: ['cart-abandoner'], unset: undefined };

describe('profile changes', () => {
  test('a journey summary names the changes as the journey wrote them, in the order they apply', () => {
    const summary = summariseChanges(step);
    expect(summary).toEqual({ set: { source: 'cart' }, increment: { nudges: 1 }, add_tags: ['cart-abandoner'] });
    expect(Object.keys(summary)).toEqual(['set', 'increment', 'add_tags']);
  });

  test('the summary after the change shows set values as applied, not the Liquid that produced them', () => {
    const applied = summariseApplied({ set: { seen_at: '{{ now }}', source: 'cart' }, increment: { nudges: 1 } }, { id: 'c1', tags: [], seen_at: '2026-12-01T10:00:00.000Z', source: 'cart', nudges: 3 });
    expect(applied).toEqual({ set: { seen_at: '2026-12-01T10:00:00.000Z', source: 'cart' }, increment: { nudges: 1 } });
  });

  test('only the change fields are copied, and only those present', () => {
    expect(profileChanges(step)).toEqual({ set: { source: 'cart' }, increment: { nudges: 1 }, addTags: ['cart-abandoner'] });
    expect(profileChanges({})).toEqual({});
  });

  test('a customer nobody has written yet has an id and no tags', () => {
    expect(emptyProfile('c1')).toEqual({ id: 'c1', tags: [] });
  });
});
