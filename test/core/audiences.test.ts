import { aggregateReads, aggregatesFromEvents, audienceMatches, audienceTriggerMatches, exitsOnLeavingAudience, LEFT_AUDIENCE_EVENT, parseAggregatePath, withZeroCounts } from '../../core/audiences';
import { consentReads, type ConsentStates } from '../../core/consent';
import { emptyProfile } from '../../core/profile';
import { applyTraits, consentState, emptyCustomer, splitSubscriptionTraits, toProfile } from '../../profiles/rules';
import type { Profile } from '../../profiles/store';
import { AUDIENCE_CASES, compiledCases, NOW, WORLD, type WorldCustomer } from './audience-cases';

const plans = compiledCases();

/** What the store would hold for a customer, worked out without a database. */
function factsOf(customer: WorldCustomer, plan: ReturnType<typeof plans.get> & object) {
  let profile: Profile = emptyProfile(customer.id);
  const stated: Record<string, Record<string, unknown>> = {};
  if (customer.traits) {
    const { traits, subscriptions } = splitSubscriptionTraits(customer.id, customer.traits);
    const state = emptyCustomer(customer.id);
    applyTraits(state, traits);
    profile = toProfile(state);
    for (const s of subscriptions) stated[s.channel] = { ...stated[s.channel], [s.category]: s.status };
  }
  const consent: ConsentStates = {};
  for (const { channel, category } of consentReads(plan.where)) {
    consent[channel] = { ...consent[channel], [category]: consentState(stated[channel]?.[category] as string | undefined, profile, category) };
  }
  return { profile, consent, events: aggregatesFromEvents(aggregateReads(plan.where), customer.events, NOW) };
}

describe('audience evaluation (the pure rule the router uses)', () => {
  test.each(AUDIENCE_CASES.map((c) => [c.id, c.members] as const))('audience "%s" holds exactly %j', (id, members) => {
    const plan = plans.get(id);
    if (!plan) throw new Error(`no plan for ${id}`);
    const matching = WORLD.filter((customer) => audienceMatches(plan.where, factsOf(customer, plan), NOW)).map((c) => c.id);
    expect(matching).toEqual(members);
  });

  it('inlines in_audience, so a compiled audience stands alone', () => {
    const plan = plans.get('lapsed-not-engaged');
    expect(JSON.stringify(plan?.where)).not.toContain('in_audience');
    expect(aggregateReads(plan?.where).map((r) => r.event).sort()).toEqual(['order_completed', 'page_viewed']);
  });

  it('reads the parts of an aggregate path, windowed counts by their unit', () => {
    expect(parseAggregatePath('events.page_viewed.count_7d')).toEqual({ event: 'page_viewed', field: 'count_7d', kind: 'count', windowMs: 7 * 86_400_000 });
    expect(parseAggregatePath('events.page_viewed.count_90m')).toMatchObject({ windowMs: 90 * 60_000 });
    expect(parseAggregatePath('events.order_completed.last_at')).toEqual({ event: 'order_completed', field: 'last_at', kind: 'last_at' });
    expect(parseAggregatePath('profile.plan')).toBeUndefined();
    for (const bad of ['events.x.count_0d', 'events.x.count_7', 'events.x.count_7y', 'events.x', 'events.x.count.7d', 'events.x.sum']) {
      expect(parseAggregatePath(bad)).toHaveProperty('error');
    }
  });

  it('counts a customer who never sent the event as 0 and leaves their first and last times missing', () => {
    const reads = aggregateReads({ all: [{ path: 'events.order_completed.count', op: 'eq', value: 0 }, { path: 'events.order_completed.last_at', op: 'exists', value: false }] });
    expect(withZeroCounts(reads, {})).toEqual({ order_completed: { count: 0 } });
  });
});

describe('audience triggers', () => {
  const members = { path: 'events.order_completed.count', op: 'gte' as const, value: 1 };
  const buyer = { profile: { id: 'c1', plan: 'pro' }, events: { order_completed: { count: 2 } } };
  const event = { event: 'identify', properties: { plan: 'pro' }, timestamp: '2026-01-01T00:00:00Z' };

  it('enters a member when the trigger\'s where holds too, trigger.* being the event that found them', () => {
    expect(audienceTriggerMatches({ audience: 'buyers', members }, event, buyer, NOW)).toBe(true);
    expect(audienceTriggerMatches({ audience: 'buyers', members, where: { path: 'trigger.event', op: 'eq', value: 'identify' } }, event, buyer, NOW)).toBe(true);
    expect(audienceTriggerMatches({ audience: 'buyers', members, where: { path: 'trigger.event', op: 'eq', value: 'order_completed' } }, event, buyer, NOW)).toBe(false);
    expect(audienceTriggerMatches({ audience: 'buyers', members }, event, { ...buyer, events: { order_completed: { count: 0 } } }, NOW)).toBe(false);
  });

  it('knows a plan that ends runs on leaving the audience by its compiled exit', () => {
    expect(exitsOnLeavingAudience({ exitWhen: [{ event: 'cart_emptied' }, { event: LEFT_AUDIENCE_EVENT }] })).toBe(true);
    expect(exitsOnLeavingAudience({ exitWhen: [{ event: 'cart_emptied' }] })).toBe(false);
  });
});
