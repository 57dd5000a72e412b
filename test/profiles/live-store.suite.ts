/**
 * The one behavioural test suite every LiveStore implementation must pass. Each implementation
 * has a small `*.test.ts` that supplies a harness (how to get an empty database and open stores
 * on it) and calls `liveStoreSuite`. Nothing here may depend on the database underneath.
 */
import { resolveShortCode } from '../../delivery/short-links';
import { privacyStoreCases } from './privacy-store.cases';
import { audienceStoreCases } from './audience-store.cases';
import { dateStoreCases } from './date-store.cases';
import { consoleStoreCases } from './console-store.cases';
import { broadcastStoreCases } from './broadcast-store.cases';
import { ProfileStoreError } from '../../profiles/errors';
import { splitReports } from '../../core/splits';
import type { Driver } from '../../profiles/sql/driver';
import { SURVEY_ANSWER, SURVEY_ASK, insertRow } from '../../profiles/sql/rows';
import type { CapCheck, EnrolDecision, LiveStore, MessageRecord, StepRecord, StoredEvent, SurveyAnswer, SurveyAnswerInput, SurveyAsk, SurveyAskCheck, UnroutedClaim, UnsubscribeCode } from '../../profiles/store';

/** A store as the suite sees it: the contract plus the migration report both stores offer. */
export type TestStore = LiveStore & { appliedMigrations(): number[] | Promise<number[]> };

/** How the suite gets at one implementation. */
export interface LiveStoreHarness {
  /** Prepares an empty database for the next test. */
  setup(): Promise<void>;
  /** Opens a store on the current test's database; call it again for a second "process". */
  open(): Promise<TestStore>;
  /** Removes the current test's database (stores are already closed). */
  teardown(): Promise<void>;
  /** Every migration version the implementation ships, in order. */
  migrationVersions: number[];
  /** Records a schema version newer than any the implementation knows. */
  markFutureSchema(): Promise<void>;
}

const T0 = '2024-05-01T10:00:00.000Z';
const HOUR = 3_600_000;

function at(offsetMs: number): string {
  return new Date(Date.parse(T0) + offsetMs).toISOString();
}

function message(key: string): MessageRecord {
  return { idempotencyKey: key, customerId: 'c1', journeyId: 'welcome', stepId: 'hello', channel: 'email', template: 'hello', status: 'sending' };
}

function track(messageId: string, customerId: string, extra: Partial<StoredEvent> = {}): StoredEvent {
  return { messageId, type: 'track', customerId, event: 'cart_updated', timestamp: T0, receivedAt: T0, ...extra };
}

function step(workflowId: string, key: string, stepId: string, kind: string, atTime: string, detail?: Record<string, unknown>): StepRecord {
  const record: StepRecord = { idempotencyKey: key, workflowId, journeyId: 'cart', version: 'v1', customerId: 'c1', stepId, kind, at: atTime };
  if (detail) record.detail = detail;
  return record;
}

type EnrolArgs = Parameters<LiveStore['tryEnrol']>[0];

function enrolArgs(overrides: Partial<EnrolArgs> = {}): EnrolArgs {
  return {
    journeyId: 'cart',
    customerId: 'c1',
    version: 'v1',
    reEntry: { mode: 'always' },
    at: T0,
    workflowIdPrefix: 'cart:c1',
    input: { trigger: 'cart_updated' },
    ...overrides,
  };
}

/** Ends a run the way the workflow does: by recording its final step. */
async function end(store: LiveStore, workflowId: string, kind: string, atTime: string): Promise<void> {
  await store.recordStep(step(workflowId, `${workflowId}/end`, 'end', kind, atTime));
}

function reason(decision: EnrolDecision): string {
  return decision.enrolled ? 'enrolled' : decision.reason;
}

const DAY = 24 * HOUR;

/** A cap check for customer c1's marketing email in journey cart, at T0 + offset. */
function slot(key: string, offsetMs: number, caps: CapCheck['caps'], extra: Partial<CapCheck> = {}): CapCheck {
  return { idempotencyKey: key, customerId: 'c1', channel: 'email', category: 'marketing', journeyId: 'cart', at: at(offsetMs), caps, ...extra };
}

/** A short unsubscribe code for customer c1's sms marketing, drawn for send `key` at T0, living a day. */
function shortCode(code: string, key: string, extra: Partial<UnsubscribeCode> = {}): UnsubscribeCode {
  return { code, idempotencyKey: key, customerId: 'c1', channel: 'sms', category: 'marketing', createdAt: at(0), expiresAt: at(DAY), ...extra };
}

/** Seeds survey rows straight into the tables (both stores are the one SqlStore over a driver). */
async function seedSurveys(store: LiveStore, asks: (SurveyAsk & { key: string })[], answers: SurveyAnswer[]): Promise<void> {
  const db = (store as unknown as { db: Driver }).db;
  for (const { key, ...ask } of asks) await db.run(insertRow('survey_asks', SURVEY_ASK, ask, { extra: { idempotency_key: key } }));
  for (const answer of answers) await db.run(insertRow('survey_answers', SURVEY_ANSWER, answer));
}

function surveyAsk(workflowId: string, offsetMs: number, extra: Partial<SurveyAsk> = {}): SurveyAsk & { key: string } {
  return { key: `${workflowId}/ask/${offsetMs}`, surveyId: 'delivery-nps', customerId: 'c1', journeyId: 'nps', workflowId, stepId: 'ask', askedAt: at(offsetMs), ...extra };
}

function surveyAnswer(workflowId: string, score: number, offsetMs: number, extra: Partial<SurveyAnswer> = {}): SurveyAnswer {
  const time = at(offsetMs);
  return { surveyId: 'delivery-nps', customerId: 'c1', journeyId: 'nps', workflowId, stepId: 'ask', scale: 'nps', score, firstAnsweredAt: time, answeredAt: time, ...extra };
}

/** Survey delivery-nps of journey delivery's first run for customer c1, at T0 + offset, under the default rule (90 days, 1 reminder). */
function ask(key: string, offsetMs: number, extra: Partial<SurveyAskCheck> = {}): SurveyAskCheck {
  return {
    idempotencyKey: key,
    customerId: 'c1',
    surveyId: 'delivery-nps',
    journeyId: 'delivery',
    workflowId: 'delivery:c1:1',
    stepId: 'ask',
    at: at(offsetMs),
    fatigueMs: 90 * DAY,
    reminders: 1,
    ...extra,
  };
}

/** Registers the suite under `name`; pass `describe.skip` to register it skipped. */
export function liveStoreSuite(name: string, harness: LiveStoreHarness, describeFn: jest.Describe = describe): void {
  describeFn(name, () => {
    let store: TestStore;
    const opened: TestStore[] = [];

    async function open(): Promise<TestStore> {
      const next = await harness.open();
      opened.push(next);
      return next;
    }

    beforeEach(async () => {
      await harness.setup();
      store = await open();
    });

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
      await harness.teardown();
    });

    privacyStoreCases(() => store);
    audienceStoreCases(() => store);
    dateStoreCases(() => store);
    consoleStoreCases(() => store);
    broadcastStoreCases(() => store);

    describe('migrations', () => {
      it('applies every migration once and applies nothing again on reopen', async () => {
        expect(await store.appliedMigrations()).toEqual(harness.migrationVersions);
        await store.identify('c1', { email: 'a@example.com' });
        const again = await open();
        expect(await again.appliedMigrations()).toEqual(harness.migrationVersions);
        expect((await again.getProfile('c1'))?.email).toBe('a@example.com');
      });

      it('stores opened at the same time both come up on one schema', async () => {
        const [a, b] = await Promise.all([open(), open()]);
        expect(await a.appliedMigrations()).toEqual(await b.appliedMigrations());
      });

      it('refuses a database written by a newer schema', async () => {
        await harness.markFutureSchema();
        const error = await harness.open().then(
          async (unexpected) => {
            await unexpected.close();
            return undefined;
          },
          (err: unknown) => err,
        );
        expect(error).toBeInstanceOf(ProfileStoreError);
        expect((error as ProfileStoreError).code).toBe('schema_too_new');
        expect((error as Error).message).toMatch(/schema version 999/);
      });
    });

    describe('profiles', () => {
      it('returns undefined for an unknown customer', async () => {
        expect(await store.getProfile('nobody')).toBeUndefined();
      });

      it('identify creates a profile and merges traits, system fields beside them', async () => {
        await store.identify('c1', { email: 'a@example.com', first_name: 'Ada', plan: 'free', tags: ['x', 'x', 'y'] });
        const profile = await store.identify('c1', { plan: 'pro', timezone: 'Europe/Berlin', phone: '+4930123' });
        expect(profile).toEqual({
          id: 'c1',
          email: 'a@example.com',
          phone: '+4930123',
          timezone: 'Europe/Berlin',
          tags: ['x', 'y'],
          first_name: 'Ada',
          plan: 'pro',
        });
        expect(await store.getProfile('c1')).toEqual(profile);
      });

      it('identify with null removes a trait; an id trait cannot rename the customer', async () => {
        await store.identify('c1', { first_name: 'Ada', email: 'a@example.com' });
        expect(await store.identify('c1', { first_name: null, email: null, id: 'other' })).toEqual({ id: 'c1', tags: [] });
      });

      it('identify rejects a system field of the wrong type', async () => {
        await expect(store.identify('c1', { email: 42 })).rejects.toThrow(ProfileStoreError);
        await expect(store.identify('c1', { tags: 'vip' })).rejects.toThrow(/"tags" must be a list of strings/);
      });

      it('applyChanges applies a key exactly once, also when called concurrently', async () => {
        const calls = await Promise.all(
          Array.from({ length: 5 }, () => store.applyChanges('wf-1/v1/step-3', 'c1', { increment: { visits: 1 } })),
        );
        expect(calls.map((p) => p.visits)).toEqual([1, 1, 1, 1, 1]);
        await store.applyChanges('wf-1/v1/step-3', 'c1', { increment: { visits: 1 }, set: { plan: 'pro' } });
        expect(await store.getProfile('c1')).toEqual({ id: 'c1', tags: [], visits: 1 });
        await store.applyChanges('wf-1/v1/step-4', 'c1', { increment: { visits: 2 } });
        expect((await store.getProfile('c1'))?.visits).toBe(3);
      });

      it('applyChanges under different keys at once loses no update', async () => {
        const other = await open();
        await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 ? store : other).applyChanges(`k${i}`, 'c1', { increment: { visits: 1 } })),
        );
        expect((await store.getProfile('c1'))?.visits).toBe(10);
      });

      it('applyChanges sets, unsets, increments from zero and keeps tag order without duplicates', async () => {
        await store.identify('c1', { email: 'a@example.com', tags: ['a', 'b'], old: true, score: 1.5 });
        const profile = await store.applyChanges('k1', 'c1', {
          set: { plan: 'pro', nested: { n: 1 } },
          unset: ['old', 'email'],
          increment: { score: 2, nudges: 1 },
          addTags: ['c', 'a', 'd', 'c'],
          removeTags: ['b'],
        });
        expect(profile).toEqual({ id: 'c1', tags: ['a', 'c', 'd'], plan: 'pro', nested: { n: 1 }, score: 3.5, nudges: 1 });
        expect(await store.getProfile('c1')).toEqual(profile);
      });

      it('applyChanges creates a missing customer', async () => {
        expect(await store.applyChanges('k1', 'new', { addTags: ['lead'] })).toEqual({ id: 'new', tags: ['lead'] });
      });

      it('a failing change leaves neither the change nor its key behind', async () => {
        await store.identify('c1', { plan: 'pro' });
        await expect(store.applyChanges('k1', 'c1', { set: { a: 1 }, increment: { plan: 1 } })).rejects.toThrow(
          /cannot increment "plan", it holds the text "pro"/,
        );
        expect(await store.getProfile('c1')).toEqual({ id: 'c1', tags: [], plan: 'pro' });
        await store.applyChanges('k1', 'c1', { set: { a: 1 } });
        expect((await store.getProfile('c1'))?.a).toBe(1);
      });

      it('recordStep stores a key once and stepsFor returns one workflow in order', async () => {
        await store.recordStep(step('wf-1', 'k1', 's1', 'sent', at(0), { ok: true }));
        await store.recordStep(step('wf-1', 'k1', 's1', 'sent', at(0)));
        await store.recordStep(step('wf-1', 'k2', 's2', 'waited', at(60_000)));
        await store.recordStep(step('wf-2', 'k3', 's1', 'sent', at(0)));
        const steps = await store.stepsFor('wf-1');
        expect(steps.map((s) => s.stepId)).toEqual(['s1', 's2']);
        expect(steps[0]).toEqual(step('wf-1', 'k1', 's1', 'sent', at(0), { ok: true }));
        expect(steps[1]?.detail).toBeUndefined();
      });

      it('claimMessage claims a key once and hands later callers the existing record', async () => {
        expect(await store.claimMessage(message('m1'))).toEqual({ claimed: true });
        expect(await store.claimMessage(message('m1'))).toEqual({ claimed: false, existing: message('m1') });
        await store.finishMessage('m1', 'sent', { status: 'sent', messageId: '<x@unbroken>' });
        const again = await store.claimMessage(message('m1'));
        expect(again).toEqual({ claimed: false, existing: { ...message('m1'), status: 'sent', result: { status: 'sent', messageId: '<x@unbroken>' } } });
        // A finished message cannot be released; an unfinished one can, and is then claimable again.
        await store.releaseMessage('m1');
        expect((await store.claimMessage(message('m1'))).claimed).toBe(false);
        await store.claimMessage(message('m2'));
        await store.releaseMessage('m2');
        expect((await store.claimMessage(message('m2'))).claimed).toBe(true);
        expect((await store.messagesFor('c1')).map((m) => m.idempotencyKey)).toEqual(['m1', 'm2']);
      });

      it('two stores on one database see each other and never both claim a key', async () => {
        const other = await open();
        const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? store : other).claimMessage(message('m1'))));
        expect(claims.filter((c) => c.claimed)).toHaveLength(1);
        await store.identify('c1', { plan: 'pro' });
        expect((await other.getProfile('c1'))?.plan).toBe('pro');
      });

      it('a losing concurrent claim always gets the record it lost to', async () => {
        const other = await open();
        const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? store : other).claimMessage(message('m1'))));
        expect(claims.filter((c) => c.claimed)).toHaveLength(1);
        for (const claim of claims.filter((c) => !c.claimed)) expect(claim).toEqual({ claimed: false, existing: message('m1') });
      });

      it('claims racing a release of the key: at most one wins, and no loser is left without the record', async () => {
        const other = await open();
        for (let round = 0; round < 5; round++) {
          const key = `m${round}`;
          await store.claimMessage(message(key));
          const [, ...claims] = await Promise.all([
            (round % 2 ? store : other).releaseMessage(key),
            ...Array.from({ length: 6 }, (_, i) => (i % 2 ? store : other).claimMessage(message(key))),
          ]);
          const won = claims.filter((c) => c.claimed);
          expect(won.length).toBeLessThanOrEqual(1);
          for (const claim of claims.filter((c) => !c.claimed)) expect(claim.existing).toEqual(message(key));
          // Either one claim came after the release (and holds the key) or all came before it.
          const held = (await store.messagesFor('c1')).filter((m) => m.idempotencyKey === key);
          expect(held).toHaveLength(won.length);
        }
      });

      it('recordStep of one key from two stores at once stores it once and moves the run once', async () => {
        const other = await open();
        await store.tryEnrol(enrolArgs());
        await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? store : other).recordStep(step('cart:c1:1', 'k1', 's1', 'completed', at(0)))));
        expect(await store.stepsFor('cart:c1:1')).toEqual([step('cart:c1:1', 'k1', 's1', 'completed', at(0))]);
        const [run] = await store.enrolmentsFor('c1');
        expect(run).toMatchObject({ currentStep: 's1', outcome: 'completed' });
      });
    });

    describe('identities', () => {
      it('resolves a lone userId or unknown anonymousId to itself and refuses neither', async () => {
        expect(await store.resolveCustomer({ userId: 'u1' })).toBe('u1');
        expect(await store.resolveCustomer({ anonymousId: 'a1' })).toBe('a1');
        expect(await store.resolveCustomer({ userId: 'u1', anonymousId: 'u1' })).toBe('u1');
        await expect(store.resolveCustomer({})).rejects.toMatchObject({ code: 'invalid_identity' });
      });

      it('merges the anonymous profile and events into the user: user values win, tags unite', async () => {
        await store.identify('a1', { email: 'anon@example.com', timezone: 'Europe/Paris', plan: 'free', first_name: 'Ada', tags: ['cart', 'shared'] });
        await store.identify('u1', { phone: '+4930123', timezone: 'Europe/Berlin', plan: 'pro', tags: ['customer', 'shared'] });
        await store.recordEvent(track('e1', 'a1', { anonymousId: 'a1' }));
        await store.recordEvent(track('e2', 'u1', { userId: 'u1', timestamp: at(1000) }));
        await store.claimMessage({ ...message('m1'), customerId: 'a1' });

        expect(await store.resolveCustomer({ userId: 'u1', anonymousId: 'a1' })).toBe('u1');

        const merged = {
          id: 'u1',
          email: 'anon@example.com',
          phone: '+4930123',
          timezone: 'Europe/Berlin',
          plan: 'pro',
          first_name: 'Ada',
          tags: ['customer', 'shared', 'cart'],
        };
        expect(await store.getProfile('u1')).toEqual(merged);
        // A journey entered under the anonymous id sees the merged profile.
        expect(await store.getProfile('a1')).toEqual(merged);
        expect((await store.eventsFor('u1')).map((e) => e.messageId)).toEqual(['e1', 'e2']);
        expect(await store.eventsFor('a1')).toEqual([]);
        // Messages are history: they stay under the id they were sent to.
        expect((await store.messagesFor('a1')).map((m) => m.idempotencyKey)).toEqual(['m1']);
        // Later anonymous-only events belong to the user.
        expect(await store.resolveCustomer({ anonymousId: 'a1' })).toBe('u1');
      });

      it('a merge into a user without a profile creates it; a second resolve changes nothing', async () => {
        await store.identify('a1', { plan: 'free', tags: ['x'] });
        await store.resolveCustomer({ userId: 'u1', anonymousId: 'a1' });
        await store.identify('u1', { plan: 'pro' });
        await store.resolveCustomer({ userId: 'u1', anonymousId: 'a1' });
        expect(await store.getProfile('u1')).toEqual({ id: 'u1', plan: 'pro', tags: ['x'] });
      });

      it('links an anonymous id that has no data yet, so its later profile goes to the user', async () => {
        expect(await store.resolveCustomer({ userId: 'u1', anonymousId: 'a1' })).toBe('u1');
        await store.identify('a1', { plan: 'pro' });
        await store.applyChanges('k1', 'a1', { addTags: ['vip'] });
        expect(await store.getProfile('u1')).toEqual({ id: 'u1', plan: 'pro', tags: ['vip'] });
        expect(await store.getProfile('a1')).toEqual(await store.getProfile('u1'));
      });

      it('keeps the first link when the same anonymous id later comes with another user', async () => {
        await store.identify('a1', { plan: 'free' });
        await store.resolveCustomer({ userId: 'u1', anonymousId: 'a1' });
        expect(await store.resolveCustomer({ userId: 'u2', anonymousId: 'a1' })).toBe('u2');
        expect(await store.resolveCustomer({ anonymousId: 'a1' })).toBe('u1');
        expect(await store.getProfile('u2')).toBeUndefined();
      });

      it('concurrent resolves of one pair merge exactly once', async () => {
        const other = await open();
        await store.identify('a1', { tags: ['cart'] });
        await store.applyChanges('k0', 'a1', { increment: { visits: 2 } });
        await store.identify('u1', { visits: 1 });
        await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? store : other).resolveCustomer({ userId: 'u1', anonymousId: 'a1' })),
        );
        expect(await store.getProfile('u1')).toEqual({ id: 'u1', visits: 1, tags: ['cart'] });
      });

      it('runs entered anonymously count as the user’s after the merge', async () => {
        const entered = await store.tryEnrol(enrolArgs({ customerId: 'a1', workflowIdPrefix: 'cart:a1' }));
        expect(entered.enrolled).toBe(true);
        await store.resolveCustomer({ userId: 'u1', anonymousId: 'a1' });
        expect((await store.activeEnrolments('u1')).map((e) => e.workflowId)).toEqual(['cart:a1:1']);
        expect((await store.enrolmentsFor('u1')).map((e) => e.workflowId)).toEqual(['cart:a1:1']);
        // The person is already inside the journey, under either id.
        expect(reason(await store.tryEnrol(enrolArgs({ customerId: 'u1', workflowIdPrefix: 'cart:u1' })))).toBe('active');
      });
    });

    describe('events', () => {
      it('stores an event once, keeps every field, and treats any stored messageId as a duplicate, routed or not', async () => {
        const event = track('e1', 'u1', {
          userId: 'u1',
          anonymousId: 'a1',
          properties: { cart: { total: 42 } },
          context: { ip: '127.0.0.1' },
          timestamp: at(-1000),
        });
        expect(await store.recordEvent(event)).toEqual({ status: 'new' });
        // Stored and not yet routed: the router loop routes it, a redelivery adds nothing.
        expect(await store.recordEvent(event)).toEqual({ status: 'duplicate' });
        await store.markEventRouted('e1');
        expect(await store.recordEvent(event)).toEqual({ status: 'duplicate' });
        expect(await store.recordEvent({ ...event, properties: { other: true } })).toEqual({ status: 'duplicate' });

        const [stored, ...rest] = await store.eventsFor('u1');
        expect(rest).toEqual([]);
        expect(stored).toEqual({ ...event, routedAt: expect.any(String) });
      });

      it('keeps an identify event with traits and no event name', async () => {
        const identify: StoredEvent = { messageId: 'i1', type: 'identify', customerId: 'u1', userId: 'u1', traits: { plan: 'pro' }, timestamp: T0, receivedAt: T0 };
        await store.recordEvent(identify);
        expect(await store.eventsFor('u1')).toEqual([identify]);
      });

      it('lists a customer’s events by time', async () => {
        await store.recordEvent(track('late', 'u1', { timestamp: at(2000) }));
        await store.recordEvent(track('early', 'u1', { timestamp: at(1000) }));
        await store.recordEvent(track('other', 'u2'));
        expect((await store.eventsFor('u1')).map((e) => e.messageId)).toEqual(['early', 'late']);
      });

      it('of concurrent deliveries of one messageId one is new, the others duplicates; stored once, routedAt not taken from the caller', async () => {
        const other = await open();
        const received = new Date().toISOString();
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? store : other).recordEvent(track('e1', 'u1', { routedAt: T0, receivedAt: received }))),
        );
        expect(results.filter((r) => r.status === 'new')).toHaveLength(1);
        expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(5);
        expect(await store.eventsFor('u1')).toEqual([track('e1', 'u1', { receivedAt: received })]);
      });

      it('an accepted event holds no lease: a router loop claims it at once, even one received ahead of the loop’s clock', async () => {
        const ahead = new Date(Date.now() + HOUR).toISOString();
        expect(await store.recordEvent(track('e1', 'u1', { receivedAt: ahead }))).toEqual({ status: 'new' });
        const claimed = await store.claimUnroutedEvents({ leaseMs: 60_000, customers: 10, eventsPerCustomer: 10 });
        expect(claimed.map((page) => page.map((e) => e.messageId))).toEqual([['e1']]);
      });

      it('stores an identify and applies its traits and stated consent in one step; a redelivery applies nothing again', async () => {
        const identify: StoredEvent = { messageId: 'i1', type: 'identify', customerId: 'u1', userId: 'u1', traits: { plan: 'pro' }, timestamp: T0, receivedAt: T0 };
        const traits = { plan: 'pro', subscriptions: { email: { marketing: false } } };
        expect(await store.recordEvent(identify, { traits, stated: { at: T0, messageId: 'i1' } })).toEqual({ status: 'new' });
        expect(await store.getProfile('u1')).toMatchObject({ id: 'u1', plan: 'pro' });
        expect(await store.subscription('u1', 'email', 'marketing')).toBe('unsubscribed');
        // A later identify changes the plan; the redelivered first one must not set it back.
        await store.identify('u1', { plan: 'free' });
        expect(await store.recordEvent(identify, { traits, stated: { at: T0, messageId: 'i1' } })).toEqual({ status: 'duplicate' });
        expect(await store.getProfile('u1')).toMatchObject({ id: 'u1', plan: 'free' });
        expect(await store.eventsFor('u1')).toEqual([identify]);
      });

      it('an identify whose traits cannot be applied is not stored either, so its redelivery is new', async () => {
        const identify: StoredEvent = { messageId: 'i1', type: 'identify', customerId: 'u1', userId: 'u1', traits: { plan: 'pro' }, timestamp: T0, receivedAt: T0 };
        await expect(store.recordEvent(identify, { traits: { plan: 'pro' }, stated: { at: 'not a time' } })).rejects.toThrow();
        expect(await store.eventsFor('u1')).toEqual([]);
        expect(await store.getProfile('u1')).toBeUndefined();
        expect(await store.recordEvent(identify, { traits: { plan: 'pro' }, stated: { at: T0 } })).toEqual({ status: 'new' });
        expect(await store.getProfile('u1')).toMatchObject({ id: 'u1', plan: 'pro' });
      });

      it('stores several events in one call, in order, each once: new or duplicate per event, an identify with its traits', async () => {
        await store.recordEvent(track('old', 'u1', { timestamp: T0 }));
        const identify: StoredEvent = { messageId: 'i1', type: 'identify', customerId: 'u1', userId: 'u1', traits: { plan: 'pro' }, timestamp: T0, receivedAt: T0 };
        const results = await store.recordEvents([
          { event: track('t1', 'u1', { timestamp: T0 }) },
          { event: track('old', 'u1', { timestamp: T0 }) },
          { event: track('t2', 'u2', { timestamp: T0 }) },
          { event: identify, identify: { traits: { plan: 'pro' }, stated: { at: T0, messageId: 'i1' } } },
          { event: track('t3', 'u1', { timestamp: T0 }) },
          { event: track('t1', 'u1', { timestamp: T0 }) },
        ]);
        expect(results.map((r) => r.status)).toEqual(['new', 'duplicate', 'new', 'new', 'new', 'duplicate']);
        // Equal timestamps: the order of the call is the order the router claims them in.
        const claimed = await store.claimUnroutedEvents({ leaseMs: 60_000, customers: 10, eventsPerCustomer: 10 });
        expect(claimed.map((page) => page.map((e) => e.messageId)).sort()).toEqual([['old', 't1', 'i1', 't3'], ['t2']]);
        expect(await store.getProfile('u1')).toMatchObject({ id: 'u1', plan: 'pro' });
      });

      it('stores several events all or none: one that cannot be stored leaves the others unstored too', async () => {
        const identify: StoredEvent = { messageId: 'i1', type: 'identify', customerId: 'u1', userId: 'u1', traits: { plan: 'pro' }, timestamp: T0, receivedAt: T0 };
        const batch = [{ event: track('t1', 'u1') }, { event: identify, identify: { traits: { plan: 'pro' }, stated: { at: 'not a time' } } }, { event: track('t2', 'u2') }];
        await expect(store.recordEvents(batch)).rejects.toThrow();
        expect(await store.eventsFor('u1')).toEqual([]);
        expect(await store.eventsFor('u2')).toEqual([]);
        expect(await store.getProfile('u1')).toBeUndefined();
        batch[1] = { event: identify, identify: { traits: { plan: 'pro' }, stated: { at: T0 } } };
        expect((await store.recordEvents(batch)).map((r) => r.status)).toEqual(['new', 'new', 'new']);
      });

      it('keeps calls made at the same moment apart: one that cannot be stored fails alone, and a messageId two carry is new in the first only', async () => {
        const identify: StoredEvent = { messageId: 'i1', type: 'identify', customerId: 'u2', userId: 'u2', traits: { plan: 'pro' }, timestamp: T0, receivedAt: T0 };
        // Not awaited one by one: as concurrent API requests call it (SQLite commits them together).
        const calls = [
          store.recordEvents([{ event: track('t1', 'u1') }, { event: track('shared', 'u1') }]),
          store.recordEvents([{ event: track('t2', 'u2') }, { event: identify, identify: { traits: { plan: 'pro' }, stated: { at: 'not a time' } } }]),
          store.recordEvents([{ event: track('shared', 'u1') }, { event: track('t3', 'u3') }]),
        ];
        const [first, failed, third] = await Promise.allSettled(calls);
        expect(failed.status).toBe('rejected');
        if (first.status === 'rejected' || third.status === 'rejected') throw new Error('a call that could be stored failed');
        expect([first.value[0], third.value[1]]).toEqual([{ status: 'new' }, { status: 'new' }]);
        // PostgreSQL runs the calls side by side, so either may store 'shared' first; SQLite keeps call order.
        expect([first.value[1].status, third.value[0].status].sort()).toEqual(['duplicate', 'new']);
        expect((await store.eventsFor('u1')).map((e) => e.messageId).sort()).toEqual(['shared', 't1']);
        expect(await store.eventsFor('u2')).toEqual([]);
        expect(await store.getProfile('u2')).toBeUndefined();
        expect((await store.eventsFor('u3')).map((e) => e.messageId)).toEqual(['t3']);
      });
    });

    describe('claiming unrouted events for the router loop', () => {
      const claim = (overrides: Partial<UnroutedClaim> = {}): UnroutedClaim => ({
        receivedBefore: at(HOUR),
        leaseMs: 60_000,
        customers: 10,
        eventsPerCustomer: 10,
        ...overrides,
      });
      const ids = (pages: StoredEvent[][]) => pages.map((page) => page.map((e) => e.messageId));

      it('claims unrouted events received before the cut-off, per customer in timestamp then arrival order, oldest customer first', async () => {
        await store.recordEvent(track('u1-late', 'u1', { timestamp: at(2000), receivedAt: at(100) }));
        await store.recordEvent(track('u1-early', 'u1', { timestamp: at(1000), receivedAt: at(200) }));
        await store.recordEvent(track('u1-early-2', 'u1', { timestamp: at(1000), receivedAt: at(300) }));
        await store.recordEvent(track('u2', 'u2', { receivedAt: at(50) }));
        await store.recordEvent(track('routed', 'u3', { receivedAt: at(0) }));
        await store.markEventRouted('routed');
        await store.recordEvent(track('young', 'u4', { receivedAt: at(2 * HOUR) }));
        const claimed = await store.claimUnroutedEvents(claim());
        expect(ids(claimed)).toEqual([['u2'], ['u1-early', 'u1-early-2', 'u1-late']]);
        expect(claimed[0][0]).toEqual(track('u2', 'u2', { receivedAt: at(50) }));
      });

      it('a claimed event is nobody else’s until its lease ends or it is released: not claimed again, and a redelivery is a duplicate', async () => {
        await store.recordEvent(track('e1', 'u1'));
        const other = await open();
        const [mine, theirs] = await Promise.all([store.claimUnroutedEvents(claim()), other.claimUnroutedEvents(claim())]);
        expect([...ids(mine), ...ids(theirs)]).toEqual([['e1']]);
        expect(await store.claimUnroutedEvents(claim())).toEqual([]);
        expect(await store.recordEvent(track('e1', 'u1'))).toEqual({ status: 'duplicate' });
        await store.releaseEvent('e1');
        expect(ids(await other.claimUnroutedEvents(claim()))).toEqual([['e1']]);
      });

      it('leaves out a customer while another router holds one of their events, so their events keep their order', async () => {
        await store.recordEvent(track('old', 'u1', { receivedAt: at(0) }));
        expect(ids(await store.claimUnroutedEvents(claim({ customers: 1 })))).toEqual([['old']]);
        // Accepted while another loop routes 'old': it waits for that lease, whatever its age.
        await store.recordEvent(track('new', 'u1', { receivedAt: at(5) }));
        await store.recordEvent(track('other', 'u2', { receivedAt: at(10) }));
        // A page of one customer is not taken up by the busy one.
        expect(ids(await store.claimUnroutedEvents(claim({ customers: 1 })))).toEqual([['other']]);
      });

      it('a customer holding the oldest thousands of events does not keep the others waiting: they take turns for the rest of each page', async () => {
        const flood = Array.from({ length: 1_500 }, (_, i) => ({ event: track(`flood-${i}`, 'flooder', { receivedAt: at(i) }) }));
        for (let i = 0; i < flood.length; i += 500) await store.recordEvents(flood.slice(i, i + 500));
        for (const customer of ['c1', 'c2', 'c3', 'c4', 'c5']) await store.recordEvent(track(`${customer}-1`, customer, { receivedAt: at(2_000) }));
        const owners = (pages: StoredEvent[][]) => pages.map((page) => page[0].customerId);
        const first = await store.claimUnroutedEvents(claim({ customers: 3, eventsPerCustomer: 5 }));
        expect(owners(first)).toEqual(['flooder', 'c1', 'c2']);
        expect(first[0].map((e) => e.messageId)).toEqual(['flood-0', 'flood-1', 'flood-2', 'flood-3', 'flood-4']);
        // The flooder's claim is still leased: the next page is the others', continuing in turn.
        const second = await store.claimUnroutedEvents(claim({ customers: 3, eventsPerCustomer: 5 }));
        expect(owners(second)).toEqual(['c3', 'c4', 'c5']);
      });

      it('claims pages: at most so many customers, so many events each; an expired lease may be claimed again', async () => {
        for (const customer of ['u1', 'u2', 'u3']) {
          for (const n of [1, 2, 3]) await store.recordEvent(track(`${customer}-${n}`, customer, { timestamp: at(n), receivedAt: at(customer === 'u3' ? 0 : 10) }));
        }
        const page = await store.claimUnroutedEvents(claim({ customers: 2, eventsPerCustomer: 2, leaseMs: -1 }));
        expect(ids(page)).toEqual([['u3-1', 'u3-2'], ['u1-1', 'u1-2']]);
        expect(ids(await store.claimUnroutedEvents(claim({ customers: 1, eventsPerCustomer: 1 })))).toEqual([['u3-1']]);
      });
    });

    describe('routing backlog', () => {
      it('counts stored events not yet routed and names the oldest one’s arrival; routed events leave it', async () => {
        expect(await store.routingBacklog()).toEqual({ events: 0 });
        await store.recordEvent(track('late', 'u1', { receivedAt: at(2000) }));
        await store.recordEvent(track('early', 'u2', { receivedAt: at(1000) }));
        await store.recordEvent(track('routed', 'u1', { receivedAt: at(0) }));
        await store.markEventRouted('routed');
        expect(await store.routingBacklog()).toEqual({ events: 2, oldestReceivedAt: at(1000) });
        await store.markEventRouted('early');
        await store.markEventRouted('late');
        expect(await store.routingBacklog()).toEqual({ events: 0 });
      });
    });

    describe('dead letters', () => {
      const claimAll = (): UnroutedClaim => ({ receivedBefore: at(HOUR), leaseMs: 60_000, customers: 10, eventsPerCustomer: 10 });
      const failure = (reason = 'journey cart version v9 is not in the store') => ({ reason, maxAttempts: 3, retryAfterMs: -1 });
      const ids = (pages: StoredEvent[][]) => pages.map((page) => page.map((e) => e.messageId));

      it('counts failed attempts; below the limit the event stays in the backlog, at it the event is set aside with the reason and the customer’s next events flow', async () => {
        await store.recordEvent(track('bad', 'u1', { timestamp: at(1), receivedAt: at(0) }));
        await store.recordEvent(track('next', 'u1', { timestamp: at(2), receivedAt: at(0) }));
        expect(await store.recordRouteFailure('bad', failure())).toEqual({ attempts: 1, dead: false });
        expect(await store.recordRouteFailure('bad', failure())).toEqual({ attempts: 2, dead: false });
        expect(ids(await store.claimUnroutedEvents({ ...claimAll(), leaseMs: -1 }))).toEqual([['bad', 'next']]);
        expect(await store.recordRouteFailure('bad', failure('journey cart version v9 is not in the store'))).toEqual({ attempts: 3, dead: true });
        expect(ids(await store.claimUnroutedEvents(claimAll()))).toEqual([['next']]);
        expect(await store.routingBacklog()).toEqual({ events: 1, oldestReceivedAt: at(0) });
        const dead = await store.deadLetters();
        expect(dead.total).toBe(1);
        expect(dead.events).toEqual([{ event: track('bad', 'u1', { timestamp: at(1), receivedAt: at(0) }), attempts: 3, deadAt: expect.any(String), reason: 'journey cart version v9 is not in the store' }]);
        expect(Date.parse(dead.events[0].deadAt)).toBeGreaterThan(Date.now() - HOUR);
      });

      it('a failed attempt holds the customer back until the retry time, so their order is kept and attempts are spread out', async () => {
        await store.recordEvent(track('bad', 'u1', { receivedAt: at(0) }));
        await store.recordEvent(track('other', 'u2', { receivedAt: at(0) }));
        expect(ids(await store.claimUnroutedEvents({ ...claimAll(), leaseMs: -1 }))).toEqual([['bad'], ['other']]);
        await store.recordRouteFailure('bad', { ...failure(), retryAfterMs: 60_000 });
        expect(ids(await store.claimUnroutedEvents({ ...claimAll(), leaseMs: -1 }))).toEqual([['other']]);
      });

      it('a redelivery of a dead-lettered event is acknowledged as a duplicate and not routed again', async () => {
        await store.recordEvent(track('bad', 'u1', { receivedAt: at(0) }));
        await store.recordRouteFailure('bad', { ...failure(), maxAttempts: 1 });
        expect(await store.recordEvent(track('bad', 'u1', { receivedAt: new Date().toISOString() }))).toEqual({ status: 'duplicate' });
        expect(await store.recordRouteFailure('bad', failure())).toEqual({ attempts: 0, dead: false });
        expect(await store.deadLetters()).toMatchObject({ total: 1, events: [{ attempts: 1 }] });
      });

      it('re-driving dead letters puts the named ones (or all) back into the backlog with their attempts reset', async () => {
        for (const id of ['d1', 'd2', 'd3']) {
          await store.recordEvent(track(id, `c-${id}`, { receivedAt: at(0) }));
          await store.recordRouteFailure(id, { ...failure(), maxAttempts: 1 });
        }
        expect(await store.routingBacklog()).toEqual({ events: 0 });
        expect(await store.retryDeadLetters([])).toBe(0);
        expect(await store.retryDeadLetters(['d2', 'unknown'])).toBe(1);
        expect(ids(await store.claimUnroutedEvents(claimAll()))).toEqual([['d2']]);
        expect(await store.recordRouteFailure('d2', failure())).toEqual({ attempts: 1, dead: false });
        expect((await store.deadLetters()).events.map((d) => d.event.messageId)).toEqual(['d1', 'd3']);
        expect(await store.retryDeadLetters()).toBe(2);
        expect(await store.deadLetters()).toEqual({ total: 0, events: [] });
        expect((await store.routingBacklog()).events).toBe(3);
      });

      it('a routed event is never counted or set aside, and lists are limited', async () => {
        await store.recordEvent(track('ok', 'u1', { receivedAt: at(0) }));
        await store.markEventRouted('ok');
        expect(await store.recordRouteFailure('ok', { ...failure(), maxAttempts: 1 })).toEqual({ attempts: 0, dead: false });
        for (const id of ['d1', 'd2']) {
          await store.recordEvent(track(id, 'u2', { receivedAt: at(0) }));
          await store.recordRouteFailure(id, { ...failure(), maxAttempts: 1 });
        }
        expect(await store.deadLetters({ limit: 1 })).toMatchObject({ total: 2, events: [{ event: { messageId: 'd1' } }] });
      });
    });

    describe('deploying journeys', () => {
      const plan = (version: string) => ({ journey: 'cart', version, steps: [{ id: 's1', kind: 'send' }] });

      it('publishes new versions, reports unchanged ones and keeps every version', async () => {
        expect(await store.deployJourneys([{ journeyId: 'cart', version: 'v1', plan: plan('v1') }], T0)).toEqual({
          published: [{ journeyId: 'cart', version: 'v1' }],
          unchanged: [],
        });
        expect(
          await store.deployJourneys(
            [
              { journeyId: 'cart', version: 'v1', plan: plan('v1') },
              { journeyId: 'welcome', version: 'w1', plan: { journey: 'welcome' } },
            ],
            at(HOUR),
          ),
        ).toEqual({ published: [{ journeyId: 'welcome', version: 'w1' }], unchanged: ['cart'] });
        expect(await store.deployJourneys([{ journeyId: 'cart', version: 'v2', plan: plan('v2') }], at(2 * HOUR))).toEqual({
          published: [{ journeyId: 'cart', version: 'v2', previous: 'v1' }],
          unchanged: [],
        });

        expect(await store.deployedJourneys()).toEqual([
          { journeyId: 'cart', version: 'v2', plan: plan('v2'), deployedAt: at(2 * HOUR), paused: false },
          { journeyId: 'welcome', version: 'w1', plan: { journey: 'welcome' }, deployedAt: at(HOUR), paused: false },
        ]);
        // Customers inside v1 keep running it.
        expect(await store.journeyVersion('cart', 'v1')).toEqual({ journeyId: 'cart', version: 'v1', plan: plan('v1'), deployedAt: T0, paused: false });
        expect(await store.journeyVersion('cart', 'v9')).toBeUndefined();
        expect(await store.journeyVersion('nope', 'v1')).toBeUndefined();
      });

      it('a rollback to an old version republishes it without rewriting its record', async () => {
        await store.deployJourneys([{ journeyId: 'cart', version: 'v1', plan: plan('v1') }], T0);
        await store.deployJourneys([{ journeyId: 'cart', version: 'v2', plan: plan('v2') }], at(HOUR));
        expect(await store.deployJourneys([{ journeyId: 'cart', version: 'v1', plan: plan('v1') }], at(2 * HOUR))).toEqual({
          published: [{ journeyId: 'cart', version: 'v1', previous: 'v2' }],
          unchanged: [],
        });
        expect(await store.deployedJourneys()).toEqual([
          { journeyId: 'cart', version: 'v1', plan: plan('v1'), deployedAt: at(2 * HOUR), paused: false },
        ]);
        expect((await store.journeyVersion('cart', 'v1'))?.deployedAt).toBe(T0);
      });

      it('publishes nothing when any journey of the deploy cannot be stored', async () => {
        await store.deployJourneys([{ journeyId: 'cart', version: 'v1', plan: plan('v1') }], T0);
        // The BigInt fails JSON serialisation of the third journey, after the first two were
        // written inside the transaction, so only a rollback can make this pass.
        const deploy = store.deployJourneys(
          [
            { journeyId: 'cart', version: 'v2', plan: plan('v2') },
            { journeyId: 'welcome', version: 'w1', plan: { journey: 'welcome' } },
            { journeyId: 'broken', version: 'b1', plan: { size: BigInt(1) } },
          ],
          at(HOUR),
        );
        await expect(deploy).rejects.toThrow(/BigInt/);
        expect(await store.deployedJourneys()).toEqual([
          { journeyId: 'cart', version: 'v1', plan: plan('v1'), deployedAt: T0, paused: false },
        ]);
        expect(await store.journeyVersion('cart', 'v2')).toBeUndefined();
        expect(await store.journeyVersion('welcome', 'w1')).toBeUndefined();
      });

      it('pauses and resumes a deployed journey, keeping the pause across versions', async () => {
        expect(await store.setPaused('cart', true)).toBe(false);
        await store.deployJourneys([{ journeyId: 'cart', version: 'v1', plan: plan('v1') }], T0);
        expect(await store.setPaused('cart', true)).toBe(true);
        await store.deployJourneys([{ journeyId: 'cart', version: 'v2', plan: plan('v2') }], at(HOUR));
        expect((await store.deployedJourneys())[0]?.paused).toBe(true);
        expect((await store.journeyVersion('cart', 'v1'))?.paused).toBe(true);
        expect(await store.setPaused('cart', false)).toBe(true);
        expect((await store.deployedJourneys())[0]?.paused).toBe(false);
      });

      it('withdraws, with withdrawAbsent, a live journey missing from the deploy: no longer live, its versions kept and read as paused', async () => {
        await store.deployJourneys(
          [
            { journeyId: 'cart', version: 'v1', plan: plan('v1') },
            { journeyId: 'welcome', version: 'w1', plan: { journey: 'welcome' } },
          ],
          T0,
        );
        // Without the option a partial list withdraws nothing (as before).
        expect(await store.deployJourneys([{ journeyId: 'cart', version: 'v1', plan: plan('v1') }], at(HOUR))).toEqual({ published: [], unchanged: ['cart'] });
        expect(await store.deployJourneys([{ journeyId: 'cart', version: 'v2', plan: plan('v2') }], at(HOUR), { withdrawAbsent: true })).toEqual({
          published: [{ journeyId: 'cart', version: 'v2', previous: 'v1' }],
          unchanged: [],
          withdrawn: [{ journeyId: 'welcome', version: 'w1' }],
        });
        expect((await store.deployedJourneys()).map((j) => j.journeyId)).toEqual(['cart']);
        expect(await store.journeyVersion('welcome', 'w1')).toEqual({ journeyId: 'welcome', version: 'w1', plan: { journey: 'welcome' }, deployedAt: T0, paused: true });
        expect(await store.setPaused('welcome', false)).toBe(false);
        // Its file back: published as new, not paused.
        expect(await store.deployJourneys([{ journeyId: 'welcome', version: 'w1', plan: { journey: 'welcome' } }], at(2 * HOUR))).toEqual({
          published: [{ journeyId: 'welcome', version: 'w1' }],
          unchanged: [],
        });
        expect((await store.journeyVersion('welcome', 'w1'))?.paused).toBe(false);
      });
    });

    describe('enrolments', () => {
      it('enters a customer with entry 1, a workflow id from the prefix, and keeps the input', async () => {
        const decision = await store.tryEnrol(enrolArgs());
        expect(decision).toEqual({
          enrolled: true,
          enrolment: { journeyId: 'cart', customerId: 'c1', entry: 1, workflowId: 'cart:c1:1', version: 'v1', enteredAt: T0, input: { trigger: 'cart_updated' } },
        });
        expect(await store.activeEnrolments('c1')).toEqual([decision.enrolled && decision.enrolment]);
      });

      it('never enters a customer who is inside, whatever the rule', async () => {
        await store.tryEnrol(enrolArgs());
        for (const reEntry of [{ mode: 'always' }, { mode: 'never' }, { mode: 'cooldown', ms: 1 }] as const) {
          expect(reason(await store.tryEnrol(enrolArgs({ reEntry, at: at(HOUR) })))).toBe('active');
        }
      });

      it('re_entry never: one entry ever, also after the first run ended', async () => {
        await store.tryEnrol(enrolArgs({ reEntry: { mode: 'never' } }));
        await end(store, 'cart:c1:1', 'completed', at(HOUR));
        expect(reason(await store.tryEnrol(enrolArgs({ reEntry: { mode: 'never' }, at: at(2 * HOUR) })))).toBe('re_entry_never');
      });

      it('re_entry always: a new run with the next entry number once the last ended', async () => {
        await store.tryEnrol(enrolArgs());
        await end(store, 'cart:c1:1', 'exited', at(HOUR));
        const second = await store.tryEnrol(enrolArgs({ at: at(HOUR), version: 'v2' }));
        expect(second).toMatchObject({ enrolled: true, enrolment: { entry: 2, workflowId: 'cart:c1:2', version: 'v2' } });
      });

      it('re_entry cooldown: refuses until the cool-down after the last entry has passed', async () => {
        const cooldown = { mode: 'cooldown', ms: 24 * HOUR } as const;
        await store.tryEnrol(enrolArgs({ reEntry: cooldown }));
        await end(store, 'cart:c1:1', 'converted', at(HOUR));
        expect(await store.tryEnrol(enrolArgs({ reEntry: cooldown, at: at(2 * HOUR) }))).toEqual({
          enrolled: false,
          reason: 're_entry_cooldown',
          until: at(24 * HOUR),
        });
        expect(await store.tryEnrol(enrolArgs({ reEntry: cooldown, at: at(24 * HOUR) }))).toMatchObject({ enrolled: true, enrolment: { entry: 2 } });
      });

      it('a paused journey admits nobody; a resumed one does', async () => {
        await store.deployJourneys([{ journeyId: 'cart', version: 'v1', plan: {} }], T0);
        await store.setPaused('cart', true);
        expect(await store.tryEnrol(enrolArgs())).toEqual({ enrolled: false, reason: 'paused' });
        await store.setPaused('cart', false);
        expect((await store.tryEnrol(enrolArgs())).enrolled).toBe(true);
      });

      it('enters exactly one of 20 concurrent attempts from two stores', async () => {
        const other = await open();
        const decisions = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).tryEnrol(enrolArgs({ at: at(i) }))),
        );
        expect(decisions.filter((d) => d.enrolled)).toHaveLength(1);
        expect(decisions.filter((d) => !d.enrolled).map(reason)).toEqual(Array(19).fill('active'));
        expect(await store.enrolmentsFor('c1')).toHaveLength(1);
      });

      it('recordStep moves the run to its step and an ending step closes it with its outcome', async () => {
        await store.tryEnrol(enrolArgs());
        await store.recordStep(step('cart:c1:1', 'k1', 'reminder', 'sent', at(1000)));
        expect(await store.activeEnrolments('c1')).toMatchObject([{ workflowId: 'cart:c1:1', currentStep: 'reminder' }]);

        await end(store, 'cart:c1:1', 'converted', at(2000));
        // A replayed record and a later stray one cannot reopen or relabel the run.
        await end(store, 'cart:c1:1', 'converted', at(2000));
        await store.recordStep(step('cart:c1:1', 'k-late', 'end', 'failed', at(3000)));
        expect(await store.activeEnrolments('c1')).toEqual([]);
        expect(await store.enrolmentsFor('c1')).toMatchObject([{ workflowId: 'cart:c1:1', endedAt: at(2000), outcome: 'converted' }]);
      });

      it('recordSteps stores a run\'s records in order, each once, and leaves the run where the last one is', async () => {
        await store.tryEnrol(enrolArgs());
        const records = [step('cart:c1:1', 'b1', 'entry', 'entered', at(0)), step('cart:c1:1', 'b2', 'wait-1', 'waited', at(1000)), step('cart:c1:1', 'b3', 'reminder', 'sent', at(1000))];
        await store.recordSteps(records);
        // A retry of the same batch, with one more record: the first three are not stored again.
        await store.recordSteps([...records, step('cart:c1:1', 'b4', 'reminder', 'completed', at(2000))]);
        expect((await store.stepsFor('cart:c1:1')).map((s) => s.idempotencyKey)).toEqual(['b1', 'b2', 'b3', 'b4']);
        expect(await store.enrolmentsFor('c1')).toMatchObject([{ currentStep: 'reminder', outcome: 'completed' }]);
        await store.recordSteps([]);
      });

      it('counts the customers inside each journey by version and current step, leaving ended runs out', async () => {
        for (const c of ['c1', 'c2', 'c3']) await store.tryEnrol(enrolArgs({ customerId: c, workflowIdPrefix: `cart:${c}` }));
        await store.tryEnrol(enrolArgs({ customerId: 'c4', workflowIdPrefix: 'cart:c4', version: 'v2' }));
        await store.tryEnrol(enrolArgs({ customerId: 'c1', journeyId: 'welcome', workflowIdPrefix: 'welcome:c1' }));
        await store.recordStep(step('cart:c1:1', 'k1', 'reminder', 'sent', at(1000)));
        await store.recordStep(step('cart:c2:1', 'k2', 'reminder', 'sent', at(1000)));
        await store.recordStep(step('cart:c4:1', 'k4', 'wait-for-view', 'waiting', at(1000)));
        await end(store, 'cart:c3:1', 'completed', at(2000));
        // A later record of the same step in progress (an event the run heard) is the one that counts.
        await store.recordStep(step('cart:c2:1', 'k2-event', 'reminder', 'event', at(1500)));
        expect(await store.activeAtSteps()).toEqual([
          { journeyId: 'cart', version: 'v1', stepId: 'reminder', lastKind: 'event', customers: 1 },
          { journeyId: 'cart', version: 'v1', stepId: 'reminder', lastKind: 'sent', customers: 1 },
          { journeyId: 'cart', version: 'v2', stepId: 'wait-for-view', lastKind: 'waiting', customers: 1 },
          { journeyId: 'welcome', version: 'v1', customers: 1 },
        ]);
        expect(await store.activeAtSteps('welcome')).toEqual([{ journeyId: 'welcome', version: 'v1', customers: 1 }]);
        expect(await store.activeAtSteps('nope')).toEqual([]);
      });

      it('lists every run newest first, across journeys', async () => {
        await store.tryEnrol(enrolArgs());
        await end(store, 'cart:c1:1', 'completed', at(HOUR));
        await store.tryEnrol(enrolArgs({ at: at(2 * HOUR) }));
        await store.tryEnrol(enrolArgs({ journeyId: 'welcome', workflowIdPrefix: 'welcome:c1', at: at(3 * HOUR) }));
        expect((await store.enrolmentsFor('c1')).map((e) => [e.workflowId, e.outcome ?? null])).toEqual([
          ['welcome:c1:1', null],
          ['cart:c1:2', null],
          ['cart:c1:1', 'completed'],
        ]);
        expect((await store.activeEnrolments('c1')).map((e) => e.workflowId).sort()).toEqual(['cart:c1:2', 'welcome:c1:1']);
        expect(await store.enrolmentsFor('nobody')).toEqual([]);
      });

      describe('with a trigger key', () => {
        const keyed = (key: string, overrides: Partial<EnrolArgs> = {}) => enrolArgs({ key, workflowIdPrefix: `cart:c1:${key}`, ...overrides });

        it('runs one run per key at a time; the entry number counts every run of the customer', async () => {
          expect(await store.tryEnrol(keyed('A'))).toMatchObject({ enrolled: true, enrolment: { entry: 1, instanceKey: 'A', workflowId: 'cart:c1:A:1' } });
          expect(await store.tryEnrol(keyed('B', { at: at(1) }))).toMatchObject({ enrolled: true, enrolment: { entry: 2, instanceKey: 'B', workflowId: 'cart:c1:B:2' } });
          expect(reason(await store.tryEnrol(keyed('A', { at: at(2) })))).toBe('active');
          expect((await store.activeEnrolments('c1')).map((e) => [e.instanceKey, e.entry])).toEqual([
            ['A', 1],
            ['B', 2],
          ]);
        });

        it('decides re_entry per key: never means once per key, cooldown counts from the same key only', async () => {
          const never = { mode: 'never' } as const;
          await store.tryEnrol(keyed('A', { reEntry: never }));
          await end(store, 'cart:c1:A:1', 'completed', at(HOUR));
          expect(reason(await store.tryEnrol(keyed('A', { reEntry: never, at: at(2 * HOUR) })))).toBe('re_entry_never');
          expect(reason(await store.tryEnrol(keyed('B', { reEntry: never, at: at(2 * HOUR) })))).toBe('enrolled');

          const cooldown = { mode: 'cooldown', ms: DAY } as const;
          await end(store, 'cart:c1:B:2', 'completed', at(3 * HOUR));
          expect(await store.tryEnrol(keyed('B', { reEntry: cooldown, at: at(4 * HOUR) }))).toEqual({
            enrolled: false,
            reason: 're_entry_cooldown',
            until: at(2 * HOUR + DAY),
          });
          expect(reason(await store.tryEnrol(keyed('C', { reEntry: cooldown, at: at(4 * HOUR) })))).toBe('enrolled');
        });

        it('keeps keyless runs as they were: no instanceKey, one active run, apart from keyed runs', async () => {
          const plain = await store.tryEnrol(enrolArgs());
          expect(plain.enrolled && plain.enrolment).not.toHaveProperty('instanceKey');
          expect(reason(await store.tryEnrol(enrolArgs({ at: at(1) })))).toBe('active');
          expect(reason(await store.tryEnrol(keyed('A', { at: at(2) })))).toBe('enrolled');
          const runs = await store.enrolmentsFor('c1');
          expect(runs.map((e) => e.instanceKey ?? null)).toEqual(['A', null]);
        });

        it('enters exactly one run per key of 20 concurrent attempts from two stores', async () => {
          const other = await open();
          const decisions = await Promise.all(
            Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).tryEnrol(keyed(i % 4 < 2 ? 'A' : 'B', { at: at(i) }))),
          );
          expect(decisions.filter((d) => d.enrolled)).toHaveLength(2);
          expect((await store.activeEnrolments('c1')).map((e) => e.instanceKey).sort()).toEqual(['A', 'B']);
        });
      });

      describe('per occurrence (schedule and date journeys)', () => {
        const week = (n: number) => `2026-12-0${n}T09:00:00.000Z`;
        const firing = (occurrence: string, overrides: Partial<EnrolArgs> = {}) =>
          enrolArgs({ occurrence, reEntry: { mode: 'always' }, workflowIdPrefix: `news:c1:${occurrence}`, ...overrides });

        it('enters once per occurrence: a run of the same occurrence is active, then done', async () => {
          expect(await store.tryEnrol(firing(week(1)))).toMatchObject({ enrolled: true, enrolment: { entry: 1, instanceKey: week(1) } });
          expect(reason(await store.tryEnrol(firing(week(1), { at: at(1) })))).toBe('active');
          await end(store, `news:c1:${week(1)}:1`, 'completed', at(HOUR));
          expect(reason(await store.tryEnrol(firing(week(1), { at: at(2 * HOUR) })))).toBe('occurrence_done');
          expect(await store.tryEnrol(firing(week(2), { at: at(DAY) }))).toMatchObject({ enrolled: true, enrolment: { entry: 2, instanceKey: week(2) } });
        });

        it('keeps a customer still inside an earlier occurrence out of the next', async () => {
          await store.tryEnrol(firing(week(1)));
          expect(reason(await store.tryEnrol(firing(week(2), { at: at(DAY) })))).toBe('active');
        });

        it('applies the journey\'s re-entry rule across occurrences', async () => {
          await store.tryEnrol(firing(week(1), { reEntry: { mode: 'cooldown', ms: 10 * DAY } }));
          await end(store, `news:c1:${week(1)}:1`, 'completed', at(HOUR));
          expect(await store.tryEnrol(firing(week(2), { reEntry: { mode: 'cooldown', ms: 10 * DAY }, at: at(7 * DAY) }))).toEqual({
            enrolled: false,
            reason: 're_entry_cooldown',
            until: at(10 * DAY),
          });
          expect(reason(await store.tryEnrol(firing(week(3), { reEntry: { mode: 'never' }, at: at(14 * DAY) })))).toBe('re_entry_never');
        });
      });
    });

    describe('delivery: subscriptions', () => {
      it('subscribes everyone by default, on every channel and category', async () => {
        expect(await store.subscription('nobody', 'email', 'marketing')).toBe('subscribed');
        await store.identify('c1', { email: 'a@example.com' });
        expect(await store.subscription('c1', 'sms', 'newsletter')).toBe('subscribed');
      });

      it('reads the legacy unsubscribed trait as opting out of every category but transactional', async () => {
        await store.identify('c1', { unsubscribed: true });
        expect(await store.subscription('c1', 'email', 'marketing')).toBe('unsubscribed');
        expect(await store.subscription('c1', 'sms', 'newsletter')).toBe('unsubscribed');
        expect(await store.subscription('c1', 'email', 'transactional')).toBe('subscribed');
      });

      it('lets an explicit row win over the trait and the default, latest write first', async () => {
        await store.identify('c1', { unsubscribed: true });
        await store.setSubscription('c1', 'email', 'newsletter', 'subscribed', 'api', at(0));
        expect(await store.subscription('c1', 'email', 'newsletter')).toBe('subscribed');
        expect(await store.subscription('c1', 'email', 'marketing')).toBe('unsubscribed');
        await store.setSubscription('c1', 'email', 'newsletter', 'unsubscribed', 'link', at(1000));
        expect(await store.subscription('c1', 'email', 'newsletter')).toBe('unsubscribed');
        // Other channels and categories are untouched by a row.
        await store.setSubscription('c2', 'email', 'marketing', 'unsubscribed', 'link', at(0));
        expect(await store.subscription('c2', 'sms', 'marketing')).toBe('subscribed');
        expect(await store.subscription('c2', 'email', 'newsletter')).toBe('subscribed');
      });

      it('tells an explicit statement from none: consent reads unknown until someone states it', async () => {
        expect(await store.consent('nobody', 'sms', 'marketing')).toBe('unknown');
        await store.identify('c1', { subscriptions: { sms: { marketing: true } } });
        expect(await store.consent('c1', 'sms', 'marketing')).toBe('subscribed');
        expect(await store.consent('c1', 'email', 'marketing')).toBe('unknown');
        await store.setSubscription('c1', 'email', 'marketing', 'unsubscribed', 'one_click', at(0));
        expect(await store.consent('c1', 'email', 'marketing')).toBe('unsubscribed');
        // The legacy trait is a statement too, except for transactional messages.
        await store.identify('c2', { unsubscribed: true });
        expect(await store.consent('c2', 'sms', 'newsletter')).toBe('unsubscribed');
        expect(await store.consent('c2', 'email', 'transactional')).toBe('unknown');
      });

      it('turns an identify subscriptions trait into rows instead of storing it', async () => {
        const profile = await store.identify('c1', {
          plan: 'pro',
          subscriptions: { email: { marketing: false, newsletter: true }, sms: { marketing: 'unsubscribed', alerts: null } },
        });
        expect(profile).toEqual({ id: 'c1', plan: 'pro', tags: [] });
        expect(await store.getProfile('c1')).not.toHaveProperty('subscriptions');
        expect(await store.subscription('c1', 'email', 'marketing')).toBe('unsubscribed');
        expect(await store.subscription('c1', 'email', 'newsletter')).toBe('subscribed');
        expect(await store.subscription('c1', 'sms', 'marketing')).toBe('unsubscribed');
        // A later identify flips one row and leaves the others; null says nothing.
        await store.identify('c1', { subscriptions: { email: { marketing: true } } });
        await store.identify('c1', { subscriptions: null });
        expect(await store.subscription('c1', 'email', 'marketing')).toBe('subscribed');
        expect(await store.subscription('c1', 'sms', 'marketing')).toBe('unsubscribed');
      });

      it('refuses a malformed subscriptions trait and changes nothing', async () => {
        await store.identify('c1', { plan: 'free' });
        for (const bad of [true, { email: false }, { email: { marketing: 'yes' } }, ['email']]) {
          await expect(store.identify('c1', { plan: 'pro', subscriptions: bad })).rejects.toMatchObject({
            code: 'invalid_change',
            details: { customerId: 'c1', field: 'subscriptions' },
          });
        }
        expect((await store.getProfile('c1'))?.plan).toBe('free');
      });

      it('follows an anonymous visitor into the user on merge, the latest statement winning', async () => {
        await store.setSubscription('anon-1', 'email', 'marketing', 'unsubscribed', 'link', at(HOUR));
        await store.setSubscription('anon-1', 'email', 'newsletter', 'unsubscribed', 'link', at(0));
        await store.setSubscription('u1', 'email', 'newsletter', 'subscribed', 'api', at(HOUR));
        await store.resolveCustomer({ userId: 'u1', anonymousId: 'anon-1' });
        expect(await store.subscription('u1', 'email', 'marketing')).toBe('unsubscribed');
        expect(await store.subscription('u1', 'email', 'newsletter')).toBe('subscribed');
        // The anonymous id now speaks for the user, reads and writes alike.
        await store.setSubscription('anon-1', 'sms', 'marketing', 'unsubscribed', 'link', at(2 * HOUR));
        expect(await store.subscription('u1', 'sms', 'marketing')).toBe('unsubscribed');
      });

      it('an unsubscribe racing the merge of its anonymous id is never lost', async () => {
        const other = await open();
        const pairs = Array.from({ length: 8 }, (_, i) => ({ userId: `u${i}`, anonymousId: `a${i}` }));
        await Promise.all(
          pairs.flatMap((pair, i) => [
            (i % 2 ? store : other).resolveCustomer(pair),
            (i % 2 ? other : store).setSubscription(pair.anonymousId, 'email', 'marketing', 'unsubscribed', 'link', at(0)),
          ]),
        );
        for (const pair of pairs) expect(await store.subscription(pair.userId, 'email', 'marketing')).toBe('unsubscribed');
      });
    });

    describe('delivery: consent ordered by when it happened, with its history', () => {
      const history = async (id: string) =>
        (await store.consentHistory(id)).map((c) => `${c.happenedAt} ${c.channel}.${c.category} ${c.status} ${c.source} ${c.applied ? 'applied' : 'ignored'}`);

      it('keeps an unsubscribe when an identify dated before it arrives later, and records the identify as ignored', async () => {
        await store.setSubscription('c1', 'email', 'marketing', 'unsubscribed', 'one_click', at(HOUR));
        await store.identify('c1', { subscriptions: { email: { marketing: true } } }, { at: at(0), messageId: 'm-old' });
        expect(await store.subscription('c1', 'email', 'marketing')).toBe('unsubscribed');
        expect(await history('c1')).toEqual([
          `${at(0)} email.marketing subscribed identify ignored`,
          `${at(HOUR)} email.marketing unsubscribed one_click applied`,
        ]);
        // Said after the unsubscribe, it counts.
        await store.identify('c1', { subscriptions: { email: { marketing: true } } }, { at: at(HOUR + 1), messageId: 'm-new' });
        expect(await store.subscription('c1', 'email', 'marketing')).toBe('subscribed');
        expect((await store.consentHistory('c1')).map((c) => c.applied)).toEqual([false, true, true]);
      });

      it('lets an explicit unsubscribe win a tie, and the later arrival win any other tie', async () => {
        await store.setSubscription('c1', 'email', 'marketing', 'unsubscribed', 'one_click', at(0));
        await store.identify('c1', { subscriptions: { email: { marketing: true } } }, { at: at(0) });
        await store.setSubscription('c1', 'email', 'marketing', 'subscribed', 'api', at(0));
        expect(await store.subscription('c1', 'email', 'marketing')).toBe('unsubscribed');
        // Two identifies of the same instant (one batch without timestamps) keep their order.
        await store.identify('c2', { subscriptions: { email: { marketing: false } } }, { at: at(0) });
        await store.identify('c2', { subscriptions: { email: { marketing: true } } }, { at: at(0) });
        expect(await store.subscription('c2', 'email', 'marketing')).toBe('subscribed');
        // An identify's unsubscribe at the same instant as a subscribe still stands over it.
        await store.setSubscription('c3', 'email', 'marketing', 'subscribed', 'resubscribe_page', at(0));
        await store.identify('c3', { subscriptions: { email: { marketing: false } } }, { at: at(0) });
        expect(await store.subscription('c3', 'email', 'marketing')).toBe('unsubscribed');
      });

      it('orders statements arriving out of order by when they happened, whatever their source', async () => {
        const said: [number, 'subscribed' | 'unsubscribed', string][] = [
          [3, 'subscribed', 'identify'],
          [1, 'unsubscribed', 'one_click'],
          [4, 'unsubscribed', 'api'],
          [2, 'subscribed', 'resubscribe_page'],
        ];
        for (const [hour, status, source] of said) {
          if (source === 'identify') await store.identify('c1', { subscriptions: { sms: { marketing: status === 'subscribed' } } }, { at: at(hour * HOUR) });
          else await store.setSubscription('c1', 'sms', 'marketing', status, source, at(hour * HOUR));
        }
        expect(await store.subscription('c1', 'sms', 'marketing')).toBe('unsubscribed');
        expect((await store.consentHistory('c1')).map((c) => [c.status, c.applied])).toEqual([
          ['unsubscribed', false],
          ['subscribed', false],
          ['subscribed', true],
          ['unsubscribed', true],
        ]);
        // The history says when each reached the store too.
        for (const change of await store.consentHistory('c1')) expect(Date.parse(change.recordedAt)).toBeGreaterThan(Date.parse(T0));
      });

      it('records a redelivered identify once', async () => {
        for (let i = 0; i < 3; i++) await store.identify('c1', { subscriptions: { email: { marketing: false, news: true } } }, { at: at(0), messageId: 'm-1' });
        expect(await history('c1')).toEqual([`${at(0)} email.marketing unsubscribed identify applied`, `${at(0)} email.news subscribed identify applied`]);
      });

      it('carries an anonymous visitor history into the user on merge, an older anonymous statement changing nothing', async () => {
        await store.setSubscription('u1', 'email', 'marketing', 'unsubscribed', 'one_click', at(HOUR));
        await store.identify('anon-1', { subscriptions: { email: { marketing: true, news: true } } }, { at: at(0) });
        await store.resolveCustomer({ userId: 'u1', anonymousId: 'anon-1' });
        expect(await store.subscription('u1', 'email', 'marketing')).toBe('unsubscribed');
        expect(await store.subscription('u1', 'email', 'news')).toBe('subscribed');
        expect(await history('u1')).toEqual([
          `${at(0)} email.marketing subscribed identify applied`,
          `${at(0)} email.news subscribed identify applied`,
          `${at(HOUR)} email.marketing unsubscribed one_click applied`,
        ]);
        expect(await store.consentHistory('anon-1')).toEqual(await store.consentHistory('u1'));
        expect(await store.consentHistory('nobody')).toEqual([]);
      });
    });

    describe('delivery: suppressions', () => {
      it('normalises addresses, keeps channels apart and keeps the first reason', async () => {
        expect(await store.suppression('email', 'ada@example.com')).toBeUndefined();
        await store.suppress('email', '  Ada@Example.COM ', 'hard_bounce', at(0));
        expect(await store.suppression('email', 'ada@example.com')).toBe('hard_bounce');
        expect(await store.suppression('email', 'ADA@example.com  ')).toBe('hard_bounce');
        expect(await store.suppression('sms', 'ada@example.com')).toBeUndefined();
        await store.suppress('email', 'ada@example.com', 'complaint', at(1000));
        expect(await store.suppression('email', 'ada@example.com')).toBe('hard_bounce');
      });

      it('matches phone numbers however they are punctuated', async () => {
        await store.suppress('sms', '+1 (555) 000-1111', 'carrier_block', at(0));
        expect(await store.suppression('sms', '+15550001111')).toBe('carrier_block');
        expect(await store.suppression('sms', ' +1.555.000.1111')).toBe('carrier_block');
        expect(await store.suppression('sms', '+15550001112')).toBeUndefined();
      });
    });

    describe('delivery: send slots and frequency caps', () => {
      const twoPerDay = [{ max: 2, windowMs: DAY }];

      it('allows up to max sends per window and says when the oldest slot leaves it', async () => {
        expect(await store.reserveSendSlot(slot('k1', 0, twoPerDay))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('k2', HOUR, twoPerDay))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('k3', 2 * HOUR, twoPerDay))).toEqual({ allowed: false, retryAt: at(DAY) });
        // One millisecond early is still inside the window; at exactly T0 + 24h the first slot has left.
        expect(await store.reserveSendSlot(slot('k3', DAY - 1, twoPerDay))).toEqual({ allowed: false, retryAt: at(DAY) });
        expect(await store.reserveSendSlot(slot('k3', DAY, twoPerDay))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('k4', DAY + 1, twoPerDay))).toEqual({ allowed: false, retryAt: at(DAY + HOUR) });
      });

      it('waits for the latest of several full caps and counts only its own channel and category', async () => {
        const caps = [
          { max: 2, windowMs: DAY },
          { max: 3, windowMs: 7 * DAY },
        ];
        await store.reserveSendSlot(slot('d1', 0, caps));
        await store.reserveSendSlot(slot('d2', HOUR, caps));
        expect(await store.reserveSendSlot(slot('d3', DAY + HOUR, caps))).toEqual({ allowed: true });
        // Day cap: d2 and d3 in the window, frees at d2 + 24h; week cap: d1..d3, frees at d1 + 7d.
        expect(await store.reserveSendSlot(slot('d4', DAY + 2 * HOUR, caps))).toEqual({ allowed: false, retryAt: at(7 * DAY) });
        expect(await store.reserveSendSlot(slot('o1', DAY + 2 * HOUR, caps, { category: 'newsletter' }))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('o2', DAY + 2 * HOUR, caps, { channel: 'sms' }))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('o3', DAY + 2 * HOUR, caps, { customerId: 'c2' }))).toEqual({ allowed: true });
      });

      it('counts a journey cap only over that journey, next to the global caps', async () => {
        const withJourney = (journeyId: string) => [
          { max: 3, windowMs: DAY },
          { max: 1, windowMs: DAY, journeyId },
        ];
        expect(await store.reserveSendSlot(slot('j1', 0, withJourney('cart')))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('j2', HOUR, withJourney('cart')))).toEqual({ allowed: false, retryAt: at(DAY) });
        expect(await store.reserveSendSlot(slot('j3', HOUR, withJourney('welcome'), { journeyId: 'welcome' }))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('j4', HOUR, [{ max: 3, windowMs: DAY }], { journeyId: 'promo' }))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('j5', 2 * HOUR, [{ max: 3, windowMs: DAY }], { journeyId: 'promo' }))).toEqual({
          allowed: false,
          retryAt: at(DAY),
        });
      });

      it('counts a per_key journey cap only over the slots of the same trigger key', async () => {
        const perKey = [{ max: 2, windowMs: DAY, journeyId: 'cart', perKey: true }];
        expect(await store.reserveSendSlot(slot('p1', 0, perKey, { instanceKey: 'A' }))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('p2', HOUR, perKey, { instanceKey: 'A' }))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('p3', 2 * HOUR, perKey, { instanceKey: 'A' }))).toEqual({ allowed: false, retryAt: at(DAY) });
        expect(await store.reserveSendSlot(slot('p4', 2 * HOUR, perKey, { instanceKey: 'B' }))).toEqual({ allowed: true });
        // The same slots still count in full for a cap without per_key.
        expect(await store.reserveSendSlot(slot('p5', 3 * HOUR, [{ max: 3, windowMs: DAY, journeyId: 'cart' }], { instanceKey: 'C' }))).toEqual({
          allowed: false,
          retryAt: at(DAY),
        });
      });

      it('holds one slot per key however often it is retried, until released', async () => {
        const one = [{ max: 1, windowMs: DAY }];
        expect(await store.reserveSendSlot(slot('k1', 0, one))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('k1', HOUR, one))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('k1', 2 * HOUR, one))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('k2', 3 * HOUR, one))).toEqual({ allowed: false, retryAt: at(DAY) });
        await store.releaseSendSlot('k1');
        expect(await store.reserveSendSlot(slot('k2', 3 * HOUR, one))).toEqual({ allowed: true });
        // Without caps the send is still recorded, so caps configured later count it.
        expect(await store.reserveSendSlot(slot('k3', 4 * HOUR, []))).toEqual({ allowed: true });
        expect(await store.reserveSendSlot(slot('k4', 5 * HOUR, [{ max: 2, windowMs: DAY }]))).toEqual({
          allowed: false,
          retryAt: at(DAY + 3 * HOUR),
        });
      });

      it('gives the last free slot to exactly one of 10 concurrent reservations from two stores', async () => {
        const other = await open();
        await store.reserveSendSlot(slot('taken', 0, twoPerDay));
        const decisions = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 ? store : other).reserveSendSlot(slot(`race-${i}`, HOUR, twoPerDay))),
        );
        expect(decisions.filter((d) => d.allowed)).toHaveLength(1);
        expect(decisions.filter((d) => !d.allowed)).toEqual(Array(9).fill({ allowed: false, retryAt: at(DAY) }));
      });

      it('counts the slots of a merged anonymous id against the user', async () => {
        const one = [{ max: 1, windowMs: DAY }];
        await store.reserveSendSlot(slot('a1', 0, one, { customerId: 'anon-1' }));
        await store.resolveCustomer({ userId: 'u1', anonymousId: 'anon-1' });
        expect(await store.reserveSendSlot(slot('u1', HOUR, one, { customerId: 'u1' }))).toEqual({ allowed: false, retryAt: at(DAY) });
      });

      it('refuses a cap that could never free a slot, and a time that is no time', async () => {
        await expect(store.reserveSendSlot(slot('z', 0, [{ max: 0, windowMs: DAY }]))).rejects.toMatchObject({ code: 'invalid_cap' });
        await expect(store.reserveSendSlot(slot('z', 0, [{ max: 1, windowMs: 0 }]))).rejects.toMatchObject({ code: 'invalid_cap' });
        await expect(store.reserveSendSlot({ ...slot('z', 0, twoPerDay), at: 'yesterday' })).rejects.toMatchObject({ code: 'invalid_cap' });
      });
    });

    describe('surveys: the fatigue rule', () => {
      const NINETY_DAYS = 90 * DAY;
      const support = { surveyId: 'support-csat', journeyId: 'support', workflowId: 'support:c1:1' };

      it('allows a first survey and records it, and refuses another survey from another journey inside the window', async () => {
        expect(await store.reserveSurveyAsk(ask('nps-1', 0))).toEqual({ allowed: true });
        expect(await store.reserveSurveyAsk(ask('csat-1', 30 * DAY, support))).toEqual({
          allowed: false,
          rule: 'fatigue',
          previous: { surveyId: 'delivery-nps', journeyId: 'delivery', askedAt: at(0) },
        });
        // The same survey from another run (a re-entry) is another survey too.
        expect(await store.reserveSurveyAsk(ask('nps-2', 30 * DAY, { workflowId: 'delivery:c1:2' }))).toMatchObject({ allowed: false, rule: 'fatigue' });
        // Another customer is not tired of anything.
        expect(await store.reserveSurveyAsk(ask('other-1', 30 * DAY, { customerId: 'c2', workflowId: 'delivery:c2:1' }))).toEqual({ allowed: true });
        expect((await store.surveyReport({})).asks.map((a) => a.customerId)).toEqual(['c1', 'c2']);
      });

      it('counts a survey inside the window up to its last millisecond, and frees the customer exactly when it leaves', async () => {
        await store.reserveSurveyAsk(ask('nps-1', 0));
        expect(await store.reserveSurveyAsk(ask('csat-1', NINETY_DAYS - 1, support))).toMatchObject({ allowed: false, rule: 'fatigue' });
        expect(await store.reserveSurveyAsk(ask('csat-1', NINETY_DAYS, support))).toEqual({ allowed: true });
        // A window of 0 switches the rule off: only the run's own reminders are limited.
        expect(await store.reserveSurveyAsk(ask('off-1', NINETY_DAYS + HOUR, { surveyId: 'x', workflowId: 'x:c1:1', fatigueMs: 0 }))).toEqual({ allowed: true });
      });

      it('refuses a reminder once the run has answered its survey (it came due after the answer, e.g. held by the send window)', async () => {
        expect(await store.reserveSurveyAsk(ask('nps-1', 0))).toEqual({ allowed: true });
        await store.recordSurveyAnswer({ surveyId: 'delivery-nps', customerId: 'c1', journeyId: 'delivery', workflowId: 'delivery:c1:1', stepId: 'ask', scale: 'nps', score: 4, at: at(4 * DAY) }, 10 * 60_000);
        expect(await store.reserveSurveyAsk(ask('nps-reminder', 4 * DAY + HOUR))).toEqual({ allowed: false, rule: 'answered', answeredAt: at(4 * DAY) });
        // Only this run's answer counts: another customer's run is asked as usual.
        expect(await store.reserveSurveyAsk(ask('nps-c2', 4 * DAY + HOUR, { customerId: 'c2', workflowId: 'delivery:c2:1' }))).toEqual({ allowed: true });
      });

      it('lets the same run ask its survey once more as a reminder, then refuses the third ask', async () => {
        expect(await store.reserveSurveyAsk(ask('nps-1', 0))).toEqual({ allowed: true });
        expect(await store.reserveSurveyAsk(ask('nps-reminder', 4 * DAY))).toEqual({ allowed: true });
        expect(await store.reserveSurveyAsk(ask('nps-third', 8 * DAY))).toEqual({ allowed: false, rule: 'reminders', asked: 2 });
        // A journey that allows two reminders may ask a third time; one that allows none, only once.
        expect(await store.reserveSurveyAsk(ask('nps-third', 8 * DAY, { reminders: 2 }))).toEqual({ allowed: true });
        const noReminder = { customerId: 'c2', workflowId: 'delivery:c2:1', reminders: 0 };
        expect(await store.reserveSurveyAsk(ask('o-1', 0, noReminder))).toEqual({ allowed: true });
        expect(await store.reserveSurveyAsk(ask('o-2', DAY, noReminder))).toEqual({ allowed: false, rule: 'reminders', asked: 1 });
        // Reminders are the same survey: another survey in the same run is fatigue.
        expect(await store.reserveSurveyAsk(ask('csat-1', 9 * DAY, { surveyId: 'support-csat' }))).toMatchObject({ allowed: false, rule: 'fatigue' });
      });

      it('allows a retry of the same send again without recording it twice, until released', async () => {
        expect(await store.reserveSurveyAsk(ask('nps-1', 0, { reminders: 0 }))).toEqual({ allowed: true });
        expect(await store.reserveSurveyAsk(ask('nps-1', HOUR, { reminders: 0 }))).toEqual({ allowed: true });
        expect(await store.reserveSurveyAsk(ask('nps-1', 2 * HOUR, { reminders: 0 }))).toEqual({ allowed: true });
        expect((await store.surveyReport({})).asks).toEqual([
          { surveyId: 'delivery-nps', customerId: 'c1', journeyId: 'delivery', workflowId: 'delivery:c1:1', stepId: 'ask', askedAt: at(0) },
        ]);
        expect(await store.reserveSurveyAsk(ask('csat-1', DAY, support))).toMatchObject({ allowed: false });
        await store.releaseSurveyAsk('nps-1');
        expect(await store.reserveSurveyAsk(ask('csat-1', DAY, support))).toEqual({ allowed: true });
      });

      it('allows exactly one of 10 concurrent asks for one customer from two stores', async () => {
        const other = await open();
        const decisions = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? store : other).reserveSurveyAsk(ask(`race-${i}`, HOUR, { surveyId: `survey-${i}`, journeyId: `journey-${i}`, workflowId: `journey-${i}:c1:1` })),
          ),
        );
        expect(decisions.filter((d) => d.allowed)).toHaveLength(1);
        expect((await store.surveyReport({})).asks).toHaveLength(1);
      });

      it('counts the surveys of a merged anonymous id against the user', async () => {
        await store.reserveSurveyAsk(ask('a1', 0, { customerId: 'anon-1', workflowId: 'delivery:anon-1:1' }));
        await store.resolveCustomer({ userId: 'u1', anonymousId: 'anon-1' });
        expect(await store.reserveSurveyAsk(ask('u1', DAY, { ...support, customerId: 'u1', workflowId: 'support:u1:1' }))).toMatchObject({
          allowed: false,
          rule: 'fatigue',
        });
      });

      it('refuses an ask without a survey, a negative window or reminder count, and a time that is no time', async () => {
        await expect(store.reserveSurveyAsk(ask('z', 0, { surveyId: '' }))).rejects.toMatchObject({ code: 'invalid_change' });
        await expect(store.reserveSurveyAsk(ask('z', 0, { fatigueMs: -1 }))).rejects.toMatchObject({ code: 'invalid_change' });
        await expect(store.reserveSurveyAsk(ask('z', 0, { reminders: 1.5 }))).rejects.toMatchObject({ code: 'invalid_change' });
        await expect(store.reserveSurveyAsk({ ...ask('z', 0), at: 'soon' })).rejects.toMatchObject({ code: 'invalid_change' });
        expect((await store.surveyReport({})).asks).toEqual([]);
      });
    });

    describe('delivery: short unsubscribe codes', () => {
      it('stores a code and resolves it to its customer, channel, category and times', async () => {
        expect(await store.saveUnsubscribeCode(shortCode('Ab3dE6gH9k', 'send-1'))).toBe('Ab3dE6gH9k');
        expect(await store.unsubscribeCode('Ab3dE6gH9k')).toEqual(shortCode('Ab3dE6gH9k', 'send-1'));
        expect(await store.unsubscribeCode('Zz9Zz9Zz9Z')).toBeUndefined();
        // Codes are case-sensitive: base62 tells 'a' from 'A'.
        expect(await store.unsubscribeCode('ab3dE6gH9k')).toBeUndefined();
        // Another process sees it (the API resolves what the worker stored).
        const other = await open();
        expect(await other.unsubscribeCode('Ab3dE6gH9k')).toMatchObject({ customerId: 'c1', channel: 'sms', category: 'marketing' });
      });

      it('keeps one code per send and channel: a retry with a fresh code gets the first one back', async () => {
        expect(await store.saveUnsubscribeCode(shortCode('FirstCode1', 'send-1'))).toBe('FirstCode1');
        expect(await store.saveUnsubscribeCode(shortCode('RetryCode2', 'send-1', { createdAt: at(HOUR), expiresAt: at(DAY + HOUR) }))).toBe('FirstCode1');
        expect(await store.unsubscribeCode('RetryCode2')).toBeUndefined();
        // The first attempt's lifetime stands.
        expect(await store.unsubscribeCode('FirstCode1')).toMatchObject({ createdAt: at(0), expiresAt: at(DAY) });
        // The same send on another channel (a fallback) is another link.
        expect(await store.saveUnsubscribeCode(shortCode('EmailCode3', 'send-1', { channel: 'email' }))).toBe('EmailCode3');
        expect(await store.saveUnsubscribeCode(shortCode('OtherSend4', 'send-2'))).toBe('OtherSend4');
      });

      it('answers undefined when the code belongs to another send, and leaves that send\'s code alone', async () => {
        await store.saveUnsubscribeCode(shortCode('SameCode01', 'send-1'));
        expect(await store.saveUnsubscribeCode(shortCode('SameCode01', 'send-2', { customerId: 'c2' }))).toBeUndefined();
        expect(await store.unsubscribeCode('SameCode01')).toMatchObject({ idempotencyKey: 'send-1', customerId: 'c1' });
        expect(await store.saveUnsubscribeCode(shortCode('NextDraw02', 'send-2', { customerId: 'c2' }))).toBe('NextDraw02');
      });

      it('gives every racing attempt of one send the same single code', async () => {
        const other = await open();
        const codes = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? store : other).saveUnsubscribeCode(shortCode(`RaceCode0${i}`, 'send-1'))),
        );
        expect(new Set(codes).size).toBe(1);
        expect(codes[0]).toMatch(/^RaceCode0[0-5]$/);
      });

      it('still returns an expired code, with its expiry, so the link can say it expired', async () => {
        await store.saveUnsubscribeCode(shortCode('OldCode001', 'send-1', { expiresAt: at(HOUR) }));
        const lookup = (code: string) => store.unsubscribeCode(code);
        expect(await resolveShortCode('OldCode001', lookup, new Date(at(HOUR - 1)))).toMatchObject({ ok: true, customerId: 'c1', channel: 'sms' });
        expect(await resolveShortCode('OldCode001', lookup, new Date(at(HOUR)))).toEqual({ ok: false, reason: 'expired' });
        expect(await resolveShortCode('NeverSaved', lookup, new Date(at(0)))).toEqual({ ok: false, reason: 'unknown' });
      });

      it('refuses a code without a customer, and a time that is no time', async () => {
        await expect(store.saveUnsubscribeCode(shortCode('NoCustomer', 'send-1', { customerId: '' }))).rejects.toMatchObject({ code: 'invalid_change' });
        await expect(store.saveUnsubscribeCode(shortCode('BadExpiry1', 'send-1', { expiresAt: 'someday' }))).rejects.toMatchObject({ code: 'invalid_change' });
        expect(await store.unsubscribeCode('NoCustomer')).toBeUndefined();
      });
    });

    describe('survey report', () => {
      beforeEach(async () => {
        await seedSurveys(
          store,
          [
            surveyAsk('nps:c1:1', 0),
            surveyAsk('nps:c1:1', 4 * DAY, { stepId: 'reminder' }),
            surveyAsk('nps:c2:1', DAY, { customerId: 'c2' }),
            surveyAsk('nps:c3:1', 10 * DAY, { customerId: 'c3' }),
            surveyAsk('csat:c1:1', 2 * DAY, { surveyId: 'support-csat', journeyId: 'support' }),
          ],
          [
            surveyAnswer('nps:c1:1', 3, 5 * DAY, { comment: 'Too slow', answeredAt: at(5 * DAY + 60_000), stepId: 'reminder' }),
            surveyAnswer('nps:c3:1', 10, 11 * DAY, { customerId: 'c3' }),
            surveyAnswer('csat:c1:1', 5, 3 * DAY, { surveyId: 'support-csat', journeyId: 'support', scale: 'csat' }),
          ],
        );
      });

      it('reads every ask and answer of a survey, oldest first, comments kept and absent ones left out', async () => {
        const report = await store.surveyReport({ surveyId: 'delivery-nps' });
        expect(report.asks.map((a) => [a.workflowId, a.stepId, a.askedAt])).toEqual([
          ['nps:c1:1', 'ask', at(0)],
          ['nps:c2:1', 'ask', at(DAY)],
          ['nps:c1:1', 'reminder', at(4 * DAY)],
          ['nps:c3:1', 'ask', at(10 * DAY)],
        ]);
        expect(report.answers).toEqual([
          surveyAnswer('nps:c1:1', 3, 5 * DAY, { comment: 'Too slow', answeredAt: at(5 * DAY + 60_000), stepId: 'reminder' }),
          surveyAnswer('nps:c3:1', 10, 11 * DAY, { customerId: 'c3' }),
        ]);
        expect(report.answers[1]).not.toHaveProperty('comment');
      });

      it('reads what the fatigue rule and the answer endpoint wrote: an allowed ask, a refused one (absent), a changed answer', async () => {
        const ask = (key: string, customerId: string, offsetMs: number) =>
          store.reserveSurveyAsk({
            idempotencyKey: key,
            customerId,
            surveyId: 'onboarding-ces',
            journeyId: 'onboarding',
            workflowId: `onboarding:${customerId}:1`,
            stepId: 'ask',
            at: at(offsetMs),
            fatigueMs: 90 * DAY,
            reminders: 1,
          });
        expect((await ask('k1', 'c9', 0)).allowed).toBe(true);
        // c1 was asked delivery-nps a moment ago (seeded above): fatigue refuses, and nothing is kept.
        expect((await ask('k2', 'c1', 12 * DAY)).allowed).toBe(false);
        const answer = { surveyId: 'onboarding-ces', customerId: 'c9', journeyId: 'onboarding', workflowId: 'onboarding:c9:1', stepId: 'ask', scale: 'ces' };
        await store.recordSurveyAnswer({ ...answer, score: 2, at: at(HOUR) }, 10 * 60_000);
        await store.recordSurveyAnswer({ ...answer, score: 6, comment: 'Easy after all', at: at(HOUR + 60_000) }, 10 * 60_000);

        const report = await store.surveyReport({ surveyId: 'onboarding-ces' });
        expect(report.asks).toEqual([{ surveyId: 'onboarding-ces', customerId: 'c9', journeyId: 'onboarding', workflowId: 'onboarding:c9:1', stepId: 'ask', askedAt: at(0) }]);
        expect(report.answers).toEqual([{ ...answer, score: 6, comment: 'Easy after all', firstAnsweredAt: at(HOUR), answeredAt: at(HOUR + 60_000) }]);
      });

      it('filters by journey, and by since keeping whole runs (a reminder after since stays out with its first ask)', async () => {
        const support = await store.surveyReport({ journeyId: 'support' });
        expect(support.asks.map((a) => a.surveyId)).toEqual(['support-csat']);
        expect(support.answers.map((a) => [a.surveyId, a.scale, a.score])).toEqual([['support-csat', 'csat', 5]]);

        const recent = await store.surveyReport({ surveyId: 'delivery-nps', since: at(DAY) });
        expect(recent.asks.map((a) => a.workflowId)).toEqual(['nps:c2:1', 'nps:c3:1']);
        expect(recent.answers.map((a) => a.workflowId)).toEqual(['nps:c3:1']);

        expect(await store.surveyReport({ surveyId: 'never-asked' })).toEqual({ asks: [], answers: [] });
        await expect(store.surveyReport({ since: 'last tuesday' })).rejects.toMatchObject({ code: 'invalid_change' });
      });
    });

    describe('survey answers', () => {
      const GRACE = 10 * 60_000;
      /** Customer c1's answer to delivery-nps in run nps:c1:1, given at T0 + offset. */
      const answer = (score: number, offsetMs: number, extra: Partial<SurveyAnswerInput> = {}): SurveyAnswerInput => ({
        surveyId: 'delivery-nps',
        customerId: 'c1',
        journeyId: 'nps',
        workflowId: 'nps:c1:1',
        stepId: 'ask',
        scale: 'nps',
        score,
        at: at(offsetMs),
        ...extra,
      });

      it('records the first answer of a run, without a comment field when none was given', async () => {
        const result = await store.recordSurveyAnswer(answer(9, 0), GRACE);
        const expected = { surveyId: 'delivery-nps', customerId: 'c1', journeyId: 'nps', workflowId: 'nps:c1:1', stepId: 'ask', scale: 'nps', score: 9, firstAnsweredAt: T0, answeredAt: T0 };
        expect(result).toEqual({ status: 'recorded', answer: expected });
        expect(await store.surveyAnswer('nps:c1:1', 'delivery-nps')).toEqual(expected);
        expect(await store.surveyAnswer('nps:c1:1', 'other-survey')).toBeUndefined();
      });

      it('changes the score within the grace period, keeps an earlier comment, and moves answeredAt only', async () => {
        await store.recordSurveyAnswer(answer(3, 0, { comment: 'Late' }), GRACE);
        const changed = await store.recordSurveyAnswer(answer(7, GRACE - 1), GRACE);
        expect(changed).toEqual({ status: 'changed', answer: expect.objectContaining({ score: 7, comment: 'Late', firstAnsweredAt: T0, answeredAt: at(GRACE - 1) }) });
        expect(await store.surveyAnswer('nps:c1:1', 'delivery-nps')).toEqual(changed.answer);
      });

      it('adds a comment to the answer within the grace period', async () => {
        await store.recordSurveyAnswer(answer(3, 0), GRACE);
        const changed = await store.recordSurveyAnswer(answer(3, 60_000, { comment: 'The parcel was wet' }), GRACE);
        expect(changed.status).toBe('changed');
        expect(await store.surveyAnswer('nps:c1:1', 'delivery-nps')).toMatchObject({ score: 3, comment: 'The parcel was wet', answeredAt: at(60_000) });
      });

      it('keeps the answer as it stood once the grace period is over', async () => {
        await store.recordSurveyAnswer(answer(3, 0), GRACE);
        await store.recordSurveyAnswer(answer(5, 60_000), GRACE);
        const late = await store.recordSurveyAnswer(answer(10, GRACE, { comment: 'Changed my mind' }), GRACE);
        expect(late).toEqual({ status: 'final', answer: expect.objectContaining({ score: 5, answeredAt: at(60_000) }) });
        expect(late.answer).not.toHaveProperty('comment');
        expect(await store.surveyAnswer('nps:c1:1', 'delivery-nps')).toEqual(late.answer);
      });

      it('answers the same score again as unchanged, within and after the grace period, without touching it', async () => {
        const first = await store.recordSurveyAnswer(answer(8, 0), GRACE);
        expect(await store.recordSurveyAnswer(answer(8, 1000), GRACE)).toEqual({ status: 'unchanged', answer: first.answer });
        expect(await store.recordSurveyAnswer(answer(8, 2 * GRACE), GRACE)).toEqual({ status: 'unchanged', answer: first.answer });
      });

      it('keeps one answer per run and survey: another run or survey is its own answer', async () => {
        await store.recordSurveyAnswer(answer(3, 0), GRACE);
        expect((await store.recordSurveyAnswer(answer(9, 0, { workflowId: 'nps:c1:2' }), GRACE)).status).toBe('recorded');
        expect((await store.recordSurveyAnswer(answer(4, 0, { surveyId: 'support-csat', scale: 'csat' }), GRACE)).status).toBe('recorded');
        expect(await store.surveyAnswer('nps:c1:1', 'delivery-nps')).toMatchObject({ score: 3 });
      });

      it('of two first answers arriving at once from two processes, records one and changes it with the other', async () => {
        const other = await open();
        const results = await Promise.all([store.recordSurveyAnswer(answer(2, 0), GRACE), other.recordSurveyAnswer(answer(9, 0), GRACE)]);
        expect(results.map((r) => r.status).sort()).toEqual(['changed', 'recorded']);
        const last = results.find((r) => r.status === 'changed')?.answer;
        expect(await store.surveyAnswer('nps:c1:1', 'delivery-nps')).toEqual(last);
      });

      it('refuses an answer time that is no time, recording nothing', async () => {
        await expect(store.recordSurveyAnswer(answer(5, 0, { at: 'soon' }), GRACE)).rejects.toMatchObject({ code: 'invalid_change' });
        expect(await store.surveyAnswer('nps:c1:1', 'delivery-nps')).toBeUndefined();
      });
    });

    describe('journey stats', () => {
      it('counts entries, outcomes and each step, with skip reasons, in order of first appearance', async () => {
        for (const customer of ['c1', 'c2', 'c3']) {
          await store.tryEnrol(enrolArgs({ customerId: customer, workflowIdPrefix: `cart:${customer}` }));
        }
        const record = (customer: string, key: string, stepId: string, kind: string, t: number, detail?: Record<string, unknown>) =>
          store.recordStep({ ...step(`cart:${customer}:1`, `${customer}/${key}`, stepId, kind, at(t), detail), customerId: customer });
        for (const [i, customer] of ['c1', 'c2', 'c3'].entries()) await record(customer, 'entry', 'entry', 'entered', i);
        await record('c1', 'wait', 'wait', 'waited', 100);
        await record('c2', 'wait', 'wait', 'waited', 101);
        await record('c3', 'wait', 'wait', 'waited', 102);
        await record('c1', 'mail', 'reminder', 'sent', 200);
        await record('c2', 'mail', 'reminder', 'skipped', 201, { reason: 'unsubscribed' });
        await record('c3', 'mail', 'reminder', 'skipped', 202, { reason: 'send_window' });
        await record('c1', 'end', 'end', 'converted', 300);
        await record('c2', 'end', 'end', 'completed', 301);
        // Another journey's records never count here.
        await store.recordStep({ ...step('welcome:c1:1', 'w1', 'entry', 'entered', at(0)), journeyId: 'welcome' });

        expect(await store.journeyStats('cart')).toEqual({
          journeyId: 'cart',
          entered: 3,
          active: 1,
          outcomes: { completed: 1, converted: 1 },
          steps: [
            { stepId: 'entry', kind: 'entered', count: 3 },
            { stepId: 'wait', kind: 'waited', count: 3 },
            { stepId: 'reminder', kind: 'sent', count: 1 },
            { stepId: 'reminder', kind: 'skipped', count: 2, reasons: { unsubscribed: 1, send_window: 1 } },
            { stepId: 'end', kind: 'converted', count: 1 },
            { stepId: 'end', kind: 'completed', count: 1 },
          ],
        });
        expect(await store.journeyStats('never-deployed')).toEqual({ journeyId: 'never-deployed', entered: 0, active: 0, outcomes: {}, steps: [] });
      });
    });

    describe('split results', () => {
      const splitPlan = { steps: [{ kind: 'split', id: 'offer', variants: [{ name: 'A', weight: 50, steps: [] }, { name: 'B', weight: 50, steps: [] }], holdout: 10 }] };

      it('counts each arm of each split and its conversions, in the order of the plan, per version or over all', async () => {
        await store.deployJourneys([{ journeyId: 'cart', version: 'v1', plan: splitPlan }], T0);
        // c1..c3 in A (c1 converts), c4 and c5 in B (both convert), c6 held out; c7 on version v0.
        const arms: [string, string, string, string][] = [
          ['c1', 'A', 'converted', 'v1'],
          ['c2', 'A', 'completed', 'v1'],
          ['c3', 'A', '', 'v1'],
          ['c4', 'B', 'converted', 'v1'],
          ['c5', 'B', 'converted', 'v1'],
          ['c6', 'holdout', 'completed', 'v1'],
          ['c7', 'B', 'completed', 'v0'],
        ];
        for (const [i, [customer, variant, end, version]] of arms.entries()) {
          await store.tryEnrol(enrolArgs({ customerId: customer, version, workflowIdPrefix: `cart:${customer}` }));
          const wf = `cart:${customer}:1`;
          await store.recordStep({ ...step(wf, `${customer}/split`, 'offer', 'branched', at(i), { variant }), customerId: customer, version });
          if (end) await store.recordStep({ ...step(wf, `${customer}/end`, 'end', end, at(100 + i)), customerId: customer, version });
        }
        // An `if`'s branch record is no split arm.
        await store.recordStep({ ...step('cart:c1:1', 'c1/if', 'vip', 'branched', at(50), { branch: 'then' }), customerId: 'c1' });

        const all = splitReports(splitPlan as never, await store.splitCounts('cart'));
        expect(all).toHaveLength(1);
        expect(all[0]).toMatchObject({ step: 'offer', baseline: 'holdout' });
        expect(all[0].variants.map((v) => [v.name, v.entered, v.converted])).toEqual([
          ['A', 3, 1],
          ['B', 3, 2],
        ]);
        expect(all[0].holdout).toMatchObject({ name: 'holdout', entered: 1, converted: 0, conversion_rate: 0 });
        const v1 = splitReports(splitPlan as never, await store.splitCounts('cart', 'v1'));
        expect(v1[0].variants.map((v) => [v.name, v.entered, v.converted])).toEqual([
          ['A', 3, 1],
          ['B', 2, 2],
        ]);
        expect(v1[0].verdict).toBe('not enough data yet');
        expect(await store.splitCounts('never-deployed')).toEqual([]);
      });
    });
  });
}
