/**
 * The router and journeys that start on a date of the profile, on a real Temporal dev server and
 * each store (SQLite, and PostgreSQL when TEST_DATABASE_URL is set): an identify or track enters a
 * customer whose occurrence is due at the event's time in their zone, once, with the occurrence
 * as the run's key. Events carry fixed past times, so the day and hour do not depend on the clock.
 */
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { deploy } from '../../cli/live';
import { openProfileStore } from '../../profiles/index';
import type { LiveStore, StoredEvent } from '../../profiles/store';
import { JourneyRouter } from '../../routing/router';
import { testDatabases, type TestDatabase } from '../support/databases';
import { devServerEnv } from '../support/temporal';

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
let store: LiveStore;
let router: JourneyRouter;
let seq = 0;

beforeAll(async () => {
  env = await devServerEnv();
});

afterAll(async () => {
  await env?.teardown();
});

/** Stores an event as the API does, received at `at`, and returns it for routing. */
async function accept(customerId: string, at: string, fields: Partial<StoredEvent> & Pick<StoredEvent, 'type'>): Promise<StoredEvent> {
  const event: StoredEvent = { messageId: `date-${++seq}`, customerId, userId: customerId, timestamp: at, receivedAt: at, ...fields };
  await store.recordEvent(event, event.type === 'identify' ? { traits: event.traits ?? {} } : undefined);
  return event;
}

const identify = async (customerId: string, at: string, traits: Record<string, unknown>) => router.route(await accept(customerId, at, { type: 'identify', traits }));
const runs = async (customerId: string) => (await store.enrolmentsFor(customerId)).map((r) => [r.journeyId, r.instanceKey]);

describe.each(testDatabases('date-trigger'))('on %s', (name, create) => {
  let db: TestDatabase;
  // Both stores share one Temporal server: customer ids (and so workflow ids) differ per store.
  const id = (who: string) => `${name}-${who}`;

  beforeAll(async () => {
    db = await create();
    store = await openProfileStore(db.url, os.tmpdir());
    await deploy(store, path.join(__dirname, '..', 'fixtures', 'date-trigger'));
    router = new JourneyRouter({ store, client: env.client, taskQueue: 'date-trigger-router', defaultTimezone: 'UTC', journeysTtlMs: 0, warn: () => undefined });
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  test('an identify on the birthday enters from 09:00 on the customer\'s clock, once, with the year as the occurrence', async () => {
    const ann = id('ann');
    // Berlin is UTC+1 in December: 08:59 there is 07:59 UTC.
    await identify(ann, '2026-12-03T07:59:00.000Z', { email: 'ann@example.com', timezone: 'Europe/Berlin', birthday: '1990-12-03' });
    expect(await runs(ann)).toEqual([]);
    const at = '2026-12-03T08:00:00.000Z';
    const event = await accept(ann, at, { type: 'identify', traits: { first_name: 'Ann' } });
    await router.route(event);
    await router.route(event);
    const [run, ...more] = await store.enrolmentsFor(ann);
    expect(more).toEqual([]);
    expect([run.journeyId, run.instanceKey, run.enteredAt]).toEqual(['birthday', '2026', at]);
    expect((run.input as { trigger: unknown }).trigger).toEqual({ event: 'date_reached', properties: { date: 'profile.birthday', occurrence: '2026' }, timestamp: at });
    expect((await env.client.workflow.getHandle(run.workflowId).describe()).status.name).toBe('RUNNING');
    // Later that day the customer is inside: nothing more.
    await identify(ann, '2026-12-03T20:00:00.000Z', { first_name: 'Annie' });
    expect(await runs(ann)).toEqual([['birthday', '2026']]);
  });

  test('a track enters too; without a timezone the default zone is read; a day gone by is not fired late', async () => {
    const bob = id('bob');
    await identify(bob, '2026-12-01T10:00:00.000Z', { email: 'bob@example.com', birthday: '1985-12-03' });
    await router.route(await accept(bob, '2026-12-03T08:59:00.000Z', { type: 'track', event: 'page_viewed', properties: {} }));
    expect(await runs(bob)).toEqual([]);
    await router.route(await accept(bob, '2026-12-03T09:00:00.000Z', { type: 'track', event: 'page_viewed', properties: {} }));
    expect(await runs(bob)).toEqual([['birthday', '2026']]);

    const cat = id('cat');
    await identify(cat, '2026-12-03T10:00:00.000Z', { email: 'cat@example.com', birthday: '1990-12-02' });
    expect(await runs(cat)).toEqual([]);
  });

  test('a once date a week ahead in a fixed zone enters only while its where holds, named by the date', async () => {
    const dan = id('dan');
    // 10:00 in New York on 3 December, seven days before the renewal.
    await identify(dan, '2026-12-03T15:00:00.000Z', { email: 'dan@example.com', plan: 'basic', renewal_date: '2026-12-10', timezone: 'Asia/Tokyo' });
    expect(await runs(dan)).toEqual([]);
    await identify(dan, '2026-12-03T15:05:00.000Z', { plan: 'pro' });
    expect(await runs(dan)).toEqual([['renewal-notice', '2026-12-10']]);
  });

  test('a paused date journey enters nobody', async () => {
    const eve = id('eve');
    await store.setPaused('birthday', true);
    await identify(eve, '2026-12-03T12:00:00.000Z', { email: 'eve@example.com', birthday: '2000-12-03' });
    expect(await runs(eve)).toEqual([]);
    await store.setPaused('birthday', false);
    await identify(eve, '2026-12-03T12:01:00.000Z', { first_name: 'Eve' });
    expect(await runs(eve)).toEqual([['birthday', '2026']]);
  });
});
