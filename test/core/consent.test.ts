import type { Condition, JourneyPlan } from '../../compiler/plan';
import { consentAllows, consentReads, planReadsConsent, readConsent, withStatements } from '../../core/consent';
import { evaluate } from '../../core/conditions';

describe('consent in conditions', () => {
  test('collects every channel and category a condition reads, in paths and {{ }} values, each once', () => {
    const condition: Condition = {
      any: [
        { path: 'consent.sms.marketing', op: 'eq', value: 'subscribed' },
        { not: { path: 'consent.email.newsletter', op: 'in', value: ['unsubscribed'] } },
        { path: 'profile.note', op: 'eq', value: '{{ consent.sms.marketing }}' },
        { path: 'profile.vip', op: 'eq', value: true },
      ],
    };
    expect(consentReads(condition, undefined)).toEqual([
      { channel: 'sms', category: 'marketing' },
      { channel: 'email', category: 'newsletter' },
    ]);
    expect(consentReads({ path: 'profile.consent.sms.marketing', op: 'exists', value: true })).toEqual([]);
  });

  test('evaluates against the states a run read', () => {
    const condition: Condition = { path: 'consent.sms.marketing', op: 'in', value: ['subscribed', 'unknown'] };
    expect(evaluate(condition, { consent: { sms: { marketing: 'unknown' } } }, 0)).toBe(true);
    expect(evaluate(condition, { consent: { sms: { marketing: 'unsubscribed' } } }, 0)).toBe(false);
  });

  test('an unknown state sends on an opt-out channel and not on an opt-in one; a statement always decides', () => {
    expect(consentAllows('unknown', 'opt-out')).toBe(true);
    expect(consentAllows('unknown', 'opt-in')).toBe(false);
    expect(consentAllows('subscribed', 'opt-in')).toBe(true);
    expect(consentAllows('unsubscribed', 'opt-out')).toBe(false);
  });

  test('an identify statement overrides what the run read, and nothing else', () => {
    const read = { email: { marketing: 'unknown' as const }, sms: { marketing: 'subscribed' as const } };
    expect(withStatements(read, { email: { marketing: false, newsletter: 'subscribed' }, sms: { marketing: null }, push: 'yes' })).toEqual({
      email: { marketing: 'unsubscribed', newsletter: 'subscribed' },
      sms: { marketing: 'subscribed' },
    });
    expect(withStatements(read, undefined)).toBe(read);
  });

  test('reads each pair once from the store', async () => {
    const asked: string[] = [];
    const states = await readConsent([{ channel: 'sms', category: 'marketing' }, { channel: 'email', category: 'marketing' }], async (channel, category) => {
      asked.push(`${channel}.${category}`);
      return channel === 'sms' ? 'unknown' : 'subscribed';
    });
    expect(states).toEqual({ sms: { marketing: 'unknown' }, email: { marketing: 'subscribed' } });
    expect(asked).toEqual(['sms.marketing', 'email.marketing']);
  });

  test('a plan reads consent when a goal, exit, if or wait_for condition does, also nested in branches', () => {
    const reads: Condition = { path: 'consent.sms.marketing', op: 'eq', value: 'subscribed' };
    const base: Pick<JourneyPlan, 'goal' | 'exitWhen' | 'steps'> = { exitWhen: [], steps: [{ id: 'w', kind: 'wait', ms: 1000 }] };
    expect(planReadsConsent(base)).toBe(false);
    expect(planReadsConsent({ ...base, goal: { event: 'bought', where: reads } })).toBe(true);
    expect(planReadsConsent({ ...base, exitWhen: [{ event: 'left', where: reads }] })).toBe(true);
    const nested = { id: 'if', kind: 'if' as const, condition: reads, then: [], else: [] };
    expect(planReadsConsent({ ...base, steps: [{ id: 's', kind: 'split', holdout: 0, variants: [{ name: 'a', weight: 1, steps: [nested] }] }] })).toBe(true);
  });
});
