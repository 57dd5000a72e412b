/**
 * Erasure, export and retention as every LiveStore must do them; called from the shared suite
 * (live-store.suite.ts) so both databases run them.
 */
import { addressHasher } from '../../privacy/hash';
import type { LiveStore, StoredEvent } from '../../profiles/store';

const SECRET = 'privacy-store-test-secret-0123456789abcdef';
const hash = addressHasher(SECRET);
const T0 = '2024-05-01T10:00:00.000Z';
const DAY = 24 * 3_600_000;

function at(offsetMs: number): string {
  return new Date(Date.parse(T0) + offsetMs).toISOString();
}

function event(messageId: string, customerId: string, extra: Partial<StoredEvent> = {}): StoredEvent {
  return { messageId, type: 'track', customerId, userId: customerId, event: 'cart_updated', timestamp: T0, receivedAt: T0, ...extra };
}

/** A customer with something in every table the store has about people. */
async function fillCustomer(store: LiveStore, user: string, anonymous: string, email: string): Promise<void> {
  await store.identify(anonymous, { email: `Old.${email}`, first_name: 'Ann' });
  await store.recordEvent(event(`${anonymous}-id`, anonymous, { type: 'identify', userId: undefined, anonymousId: anonymous, event: undefined, traits: { email: `Old.${email}` } }));
  await store.resolveCustomer({ userId: user, anonymousId: anonymous });
  await store.identify(user, { email, phone: '+49 30 1234567', subscriptions: { email: { marketing: true } } });
  await store.recordEvent(event(`${user}-1`, user, { properties: { cart: 'c1' } }));
  await store.markEventRouted(`${user}-1`);
  await store.applyChanges(`${user}-change`, user, { set: { vip: true } });
  await store.claimMessage({ idempotencyKey: `${user}-mail`, customerId: user, journeyId: 'cart', stepId: 'mail', channel: 'email', template: 'hello', status: 'sending' });
  await store.finishMessage(`${user}-mail`, 'sent', { status: 'sent', channel: 'email', template: 'hello', to: email.toLowerCase(), subject: 'Hi Ann', body: 'Hello Ann', messageId: '<m1@x>' });
  await store.suppress('email', email, 'complaint', at(0));
  const active = await store.tryEnrol({ journeyId: 'cart', customerId: user, version: 'v1', reEntry: { mode: 'always' }, at: at(0), workflowIdPrefix: `journey:cart:${user}`, input: { cart: 'c1' } });
  if (!active.enrolled) throw new Error('not enrolled');
  await store.recordStep({ idempotencyKey: `${user}-s1`, workflowId: active.enrolment.workflowId, journeyId: 'cart', version: 'v1', customerId: user, stepId: 'mail', kind: 'skipped', at: at(1), detail: { reason: 'frequency_cap', to: email } });
  const done = await store.tryEnrol({ journeyId: 'welcome', customerId: user, version: 'v1', reEntry: { mode: 'always' }, at: at(0), workflowIdPrefix: `journey:welcome:${user}`, input: null });
  if (!done.enrolled) throw new Error('not enrolled');
  await store.recordStep({ idempotencyKey: `${user}-s2`, workflowId: done.enrolment.workflowId, journeyId: 'welcome', version: 'v1', customerId: user, stepId: 'end', kind: 'completed', at: at(2) });
  await store.reserveSendSlot({ idempotencyKey: `${user}-mail`, customerId: user, channel: 'email', category: 'marketing', journeyId: 'cart', at: at(1), caps: [{ max: 5, windowMs: DAY }] });
  await store.saveUnsubscribeCode({ code: `${user}code`, idempotencyKey: `${user}-mail`, customerId: user, channel: 'sms', category: 'marketing', createdAt: at(0), expiresAt: at(DAY) });
  const ask = { customerId: user, surveyId: 'nps', journeyId: 'welcome', workflowId: done.enrolment.workflowId, stepId: 'ask', at: at(1) };
  await store.reserveSurveyAsk({ ...ask, idempotencyKey: `${user}-ask`, fatigueMs: 0, reminders: 1 });
  await store.recordSurveyAnswer({ ...ask, scale: 'nps', score: 9, comment: 'Ann likes it', at: at(2) }, 60_000);
}

/** The privacy cases; `current` is the suite's store for the running test. */
export function privacyStoreCases(current: () => LiveStore): void {
  describe('privacy: forget, export, retention', () => {
    it('forgetting erases every row about the person, keeps only address hashes, and pseudonymises runs for the numbers', async () => {
      const store = current();
      await fillCustomer(store, 'u1', 'a1', 'Ann@Example.com');
      await fillCustomer(store, 'u2', 'a2', 'bob@example.com');
      const before = await store.customerData('u1');
      expect(before?.ids).toEqual(['u1', 'a1']);

      const result = await store.forgetCustomer({ id: 'u1', at: at(DAY), hashAddress: hash });
      expect(result).toMatchObject({ customer: 'u1', ids: ['u1', 'a1'], found: true, forgottenAddresses: { email: 2, sms: 1 } });
      expect(result.erased).toMatchObject({ profiles: 1, identityLinks: 1, events: 2, messages: 1, suppressions: 1, surveyAsks: 1, surveyAnswers: 1, sendSlots: 1, unsubscribeCodes: 1, profileChanges: 1, enrolments: 2, stepRecords: 2 });
      expect(result.erased.subscriptions).toBeGreaterThanOrEqual(1);
      // The run still open when erased is named, so the caller can end it in Temporal if it had not.
      expect(result.openRuns).toEqual([{ workflowId: 'journey:cart:u1:1', journeyId: 'cart' }]);

      for (const id of ['u1', 'a1']) {
        expect(await store.customerData(id)).toBeUndefined();
        expect(await store.getProfile(id)).toBeUndefined();
        expect(await store.enrolmentsFor(id)).toEqual([]);
        expect(await store.eventsFor(id)).toEqual([]);
        expect(await store.messagesFor(id)).toEqual([]);
      }
      expect(await store.suppression('email', 'ann@example.com')).toBeUndefined();
      expect(await store.unsubscribeCode('u1code')).toBeUndefined();
      // Every address seen, in any spelling of it, is found by its hash; another address is not.
      expect(await store.forgottenAt('email', hash('email', ' ANN@example.com'))).toBe(at(DAY));
      expect(await store.forgottenAt('email', hash('email', 'old.ann@example.com'))).toBe(at(DAY));
      expect(await store.forgottenAt('sms', hash('sms', '+49 30 1234567'))).toBe(at(DAY));
      expect(await store.forgottenAt('email', hash('email', 'bob@example.com'))).toBeUndefined();
      expect(await store.forgottenAt('email', addressHasher('another-secret-0123456789abcdef0123')('email', 'ann@example.com'))).toBeUndefined();

      // The journeys' numbers still count the runs; the open one ended as forgotten, its step kept without detail but its reason.
      const cart = await store.journeyStats('cart');
      expect(cart).toMatchObject({ entered: 2, active: 1, outcomes: { forgotten: 1 } });
      expect(cart.steps).toEqual([{ stepId: 'mail', kind: 'skipped', count: 2, reasons: { frequency_cap: 2 } }]);
      expect((await store.journeyStats('welcome')).outcomes).toEqual({ completed: 2 });

      // The other customer is untouched.
      const other = await store.customerData('u2');
      expect(other).toMatchObject({ ids: ['u2', 'a2'], profile: { email: 'bob@example.com' } });
      expect(other?.events).toHaveLength(2);
      expect(other?.messages).toHaveLength(1);
      expect(other?.enrolments).toHaveLength(2);
      expect(await store.suppression('email', 'bob@example.com')).toBe('complaint');

      const again = await store.forgetCustomer({ id: 'u1', at: at(2 * DAY), hashAddress: hash });
      expect(again.found).toBe(false);
      expect(Object.values(again.erased).every((n) => n === 0)).toBe(true);
      expect(again.forgottenAddresses).toEqual({});
      expect(again.openRuns).toEqual([]);
    });

    it('forgetting by an anonymous id forgets the user it is linked to, and a run may enter again afterwards', async () => {
      const store = current();
      await fillCustomer(store, 'u3', 'a3', 'cy@example.com');
      const result = await store.forgetCustomer({ id: 'a3', at: at(DAY), hashAddress: hash });
      expect(result).toMatchObject({ customer: 'u3', ids: ['u3', 'a3'], found: true });
      expect(await store.customerData('u3')).toBeUndefined();
      const entry = await store.tryEnrol({ journeyId: 'cart', customerId: 'u3', version: 'v1', reEntry: { mode: 'never' }, at: at(DAY), workflowIdPrefix: 'journey:cart:u3', input: null });
      expect(entry).toMatchObject({ enrolled: true, enrolment: { entry: 1 } });
    });

    it('an unknown id is forgotten as nothing, and has no export', async () => {
      const store = current();
      expect(await store.customerData('nobody')).toBeUndefined();
      const result = await store.forgetCustomer({ id: 'nobody', at: at(0), hashAddress: hash });
      expect(result).toMatchObject({ customer: 'nobody', ids: ['nobody'], found: false, forgottenAddresses: {} });
    });

    it('the export holds the profile, identities, consent, suppressions, events, messages, runs with their steps and survey answers', async () => {
      const store = current();
      await fillCustomer(store, 'u4', 'a4', 'dee@example.com');
      const data = await store.customerData('a4');
      expect(data).toMatchObject({
        customer: 'u4',
        ids: ['u4', 'a4'],
        profile: { id: 'u4', email: 'dee@example.com', first_name: 'Ann', vip: true },
        identities: [{ anonymousId: 'a4', userId: 'u4' }],
        subscriptions: [{ channel: 'email', category: 'marketing', status: 'subscribed' }],
        suppressions: [{ channel: 'email', address: 'dee@example.com', reason: 'complaint' }],
        messages: [{ idempotencyKey: 'u4-mail', status: 'sent', result: { subject: 'Hi Ann' } }],
        surveyAnswers: [{ surveyId: 'nps', score: 9, comment: 'Ann likes it' }],
        surveyAsks: [{ surveyId: 'nps' }],
      });
      expect(data?.events.map((e) => e.messageId).sort()).toEqual(['a4-id', 'u4-1']);
      expect(data?.enrolments.map((run) => [run.journeyId, run.steps.map((s) => s.kind)])).toEqual([
        ['cart', ['skipped']],
        ['welcome', ['completed']],
      ]);
      expect(Array.isArray(data?.consentChanges)).toBe(true);
    });

    it('a subscription counts after a forget only when it was stated after it, for the category (any category for transactional)', async () => {
      const store = current();
      await store.identify('n1', { email: 'ann@example.com' });
      await store.setSubscription('n1', 'email', 'marketing', 'subscribed', 'identify', at(0));
      // Made before the address was forgotten: does not count.
      const since = new Date(Date.now() + 60_000).toISOString();
      expect(await store.subscribedSince('n1', 'email', 'marketing', since)).toBe(false);
      const past = at(-DAY);
      expect(await store.subscribedSince('n1', 'email', 'marketing', past)).toBe(true);
      expect(await store.subscribedSince('n1', 'email', 'news', past)).toBe(false);
      expect(await store.subscribedSince('n1', 'sms', 'marketing', past)).toBe(false);
      expect(await store.subscribedSince('n1', 'email', undefined, past)).toBe(true);
      await store.setSubscription('n1', 'email', 'marketing', 'unsubscribed', 'api', new Date().toISOString());
      expect(await store.subscribedSince('n1', 'email', 'marketing', past)).toBe(false);
      // Read through a linked anonymous id as well.
      await store.resolveCustomer({ userId: 'n1', anonymousId: 'n1-anon' });
      await store.setSubscription('n1', 'email', 'news', 'subscribed', 'api', new Date().toISOString());
      expect(await store.subscribedSince('n1-anon', 'email', 'news', past)).toBe(true);
    });

    it('retention deletes routed events older than the cut-off in batches, never an unrouted one, and keeps younger ones', async () => {
      const store = current();
      for (const i of [1, 2, 3]) {
        await store.recordEvent(event(`old-${i}`, 'r1', { receivedAt: at(i) }));
        await store.markEventRouted(`old-${i}`);
      }
      await store.recordEvent(event('old-unrouted', 'r1', { receivedAt: at(4) }));
      await store.recordEvent(event('young', 'r1', { receivedAt: at(10 * DAY) }));
      await store.markEventRouted('young');

      expect(await store.applyRetention({ before: at(DAY), limit: 2 })).toEqual({ events: 2, messages: 0 });
      expect(await store.applyRetention({ before: at(DAY), limit: 2 })).toEqual({ events: 1, messages: 0 });
      expect(await store.applyRetention({ before: at(DAY), limit: 2 })).toEqual({ events: 0, messages: 0 });
      expect((await store.eventsFor('r1')).map((e) => e.messageId).sort()).toEqual(['old-unrouted', 'young']);
    });

    it('retention blanks the rendered content of finished messages but keeps the row, so a retried send still finds its key', async () => {
      const store = current();
      const claim = (key: string) =>
        store.claimMessage({ idempotencyKey: key, customerId: 'r2', journeyId: 'cart', stepId: 'mail', channel: 'email', template: 'hello', status: 'sending' });
      await claim('sent-1');
      await store.finishMessage('sent-1', 'sent', { status: 'sent', channel: 'email', template: 'hello', to: 'r2@example.com', subject: 'Hi', body: 'Secret body', messageId: '<m@x>' });
      await claim('skipped-1');
      await store.finishMessage('skipped-1', 'skipped', { status: 'skipped', channel: 'email', template: 'hello', reason: 'template_error', error: 'r2@example.com broke it' });
      await claim('in-flight');

      // Nothing is older than a cut-off in the past.
      expect(await store.applyRetention({ before: at(0), limit: 10 })).toEqual({ events: 0, messages: 0 });
      const cutoff = new Date(Date.now() + 60_000).toISOString();
      expect(await store.applyRetention({ before: cutoff, limit: 1 })).toEqual({ events: 0, messages: 1 });
      expect(await store.applyRetention({ before: cutoff, limit: 10 })).toEqual({ events: 0, messages: 1 });
      expect(await store.applyRetention({ before: cutoff, limit: 10 })).toEqual({ events: 0, messages: 0 });

      const messages = Object.fromEntries((await store.messagesFor('r2')).map((m) => [m.idempotencyKey, m]));
      expect(messages['sent-1']).toMatchObject({ status: 'sent', result: { status: 'sent', channel: 'email', template: 'hello', messageId: '<m@x>' } });
      expect(messages['skipped-1']).toMatchObject({ status: 'skipped', result: { reason: 'template_error' } });
      expect(JSON.stringify(messages['sent-1'].result)).not.toMatch(/Secret body|r2@example\.com|"subject"/);
      expect(JSON.stringify(messages['skipped-1'].result)).not.toContain('r2@example.com');
      expect(messages['in-flight']).toMatchObject({ status: 'sending' });
      expect(await claim('sent-1')).toMatchObject({ claimed: false, existing: { status: 'sent' } });
    });
  });
}
