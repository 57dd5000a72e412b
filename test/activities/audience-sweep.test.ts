/** Which audience journeys the sweep goes through, and what a broadcast accepts. */
import path from 'node:path';
import { activityCatalog } from '../../activities/index';
import { sweptByTime } from '../../activities/audience-sweep';
import { compileDefinitions } from '../../compiler/index';
import type { Condition, JourneyPlan } from '../../compiler/plan';
import { readsTime } from '../../core/audiences';
import { broadcastable, NotBroadcastableError } from '../../cli/trigger';

const fixture = path.join(__dirname, '..', 'fixtures', 'audience-sweep');
const compiled = compileDefinitions(fixture, activityCatalog);
const plan = (id: string): JourneyPlan => {
  const found = compiled.plans.get(id);
  if (!found) throw new Error(`no plan ${id}: ${compiled.errors.map((e) => e.message).join('; ')}`);
  return found;
};

describe('readsTime', () => {
  const cases: [string, Condition, boolean][] = [
    ['a relative time', { path: 'events.order_completed.last_at', op: 'before', value: { relativeMs: -60 * 86_400_000 } }, true],
    ['a windowed count', { path: 'events.page_viewed.count_7d', op: 'gte', value: 3 }, true],
    ['a relative time inside not and any', { not: { any: [{ path: 'profile.plan', op: 'eq', value: 'pro' }, { path: 'profile.trial_ends', op: 'after', value: { relativeMs: 0 } }] } }, true],
    ['an all-time count', { path: 'events.order_completed.count', op: 'gte', value: 1 }, false],
    ['a fixed date', { path: 'events.order_completed.first_at', op: 'before', value: '2026-01-01' }, false],
    ['a trait', { path: 'profile.email', op: 'exists', value: true }, false],
  ];
  test.each(cases)('%s', (_, condition, expected) => {
    expect(readsTime(condition)).toBe(expected);
  });
});

test('the sweep goes through audience journeys whose audience reads time, and skips the rest', () => {
  expect(sweptByTime(plan('win-back'))).toBe(true);
  expect(sweptByTime(plan('announcement'))).toBe(false);
  expect(sweptByTime(plan('welcome'))).toBe(false);
  // A schedule journey enrols at its times, never because time moved someone into its audience.
  expect(sweptByTime(plan('weekly-news'))).toBe(false);
});

describe('broadcastable', () => {
  const deployed = (id: string, paused = false) => ({ journeyId: id, version: plan(id).version, plan: plan(id), paused, deployedAt: '2026-12-01T00:00:00.000Z' });
  const refusal = (id: string, list: ReturnType<typeof deployed>[]) => {
    try {
      broadcastable(id, list);
    } catch (err) {
      if (err instanceof NotBroadcastableError) return err.message;
      throw err;
    }
    return 'accepted';
  };

  test('accepts a deployed, unpaused audience or schedule journey', () => {
    expect(broadcastable('announcement', [deployed('announcement')]).journey).toBe('announcement');
    expect(broadcastable('weekly-news', [deployed('weekly-news')]).trigger.audience).toBe('with-email');
  });

  test('refuses an unknown, a paused and an event-triggered journey, each saying why', () => {
    const list = [deployed('announcement', true), deployed('welcome')];
    expect(refusal('newsletter', list)).toBe('no journey "newsletter" is deployed (deployed: announcement, welcome)');
    expect(refusal('announcement', list)).toBe('journey "announcement" is paused: run `unbroken resume announcement` first');
    expect(refusal('welcome', list)).toBe(
      'journey "welcome" starts from the event "signed_up": customers enter it when that event arrives; only a journey with trigger: { audience: … } or { schedule: …, audience: … } can be triggered',
    );
  });

  test('refuses a date journey: each customer enters on their own day', () => {
    const birthday = compileDefinitions(path.join(__dirname, '..', 'fixtures', 'date-trigger'), activityCatalog).plans.get('birthday')!;
    const list = [{ journeyId: 'birthday', version: birthday.version, plan: birthday, paused: false, deployedAt: '2026-12-01T00:00:00.000Z' }];
    expect(refusal('birthday', list)).toBe(
      'journey "birthday" starts on a date of each customer\'s profile (profile.birthday): each enters on their own day; only a journey with trigger: { audience: … } or { schedule: …, audience: … } can be triggered',
    );
  });
});
