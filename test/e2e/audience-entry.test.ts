/**
 * Audiences at entry and in `if` steps, through HTTP on Temporal's time-skipping server and a real SMTP server: a
 * trigger's `where` with `in_audience` or an event aggregate enters by the customer's history, as
 * the events' own timestamps tell it (a back-filled order 90 days ago is 90 days old).
 */
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunningSystem } from '../../cli/start';
import { customerStatus } from '../../cli/live';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { timeSkippingEnv } from '../support/temporal';

let env: TestWorkflowEnvironment;
let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
useLiveSystem({ temporal: timeSkippingEnv, definitions: () => path.join(__dirname, '..', 'fixtures', 'audiences'), taskQueue: 'audience-entry' }, (servers) => {
  ({ env, smtp, live, system } = servers);
});

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

async function post(kind: 'identify' | 'track', body: Record<string, unknown>): Promise<void> {
  expect((await live.post(kind, body)).status).toBe(200);
}

async function journeysOf(customer: string): Promise<string[]> {
  return (await customerStatus(system.store, customer)).journeys.map((j) => j.journey);
}

const subjectsTo = (address: string) => smtp.messages.filter((m) => m.to === address).map((m) => m.subject);

test('a lapsed customer (back-dated orders) who visits enters the win-back journey; recent buyers, non-buyers and the unsubscribed do not', async () => {
  const people = {
    ann: { lastOrderDaysAgo: 90, traits: {} },
    bob: { lastOrderDaysAgo: 5, traits: {} },
    cat: { lastOrderDaysAgo: undefined, traits: {} },
    dan: { lastOrderDaysAgo: 90, traits: { subscriptions: { email: { marketing: false } } } },
  };
  for (const [name, p] of Object.entries(people)) {
    const userId = `aud-${name}`;
    await post('identify', { userId, traits: { email: `${userId}@example.com`, ...p.traits } });
    if (p.lastOrderDaysAgo !== undefined) {
      await post('track', { userId, event: 'order_completed', timestamp: daysAgo(400), properties: {} });
      await post('track', { userId, event: 'order_completed', timestamp: daysAgo(p.lastOrderDaysAgo), properties: {} });
    }
    await post('track', { userId, event: 'page_viewed', properties: {} });
  }
  await live.routed();
  await until('the win-back mail to ann', () => (subjectsTo('aud-ann@example.com').length === 1 ? true : undefined));
  expect(subjectsTo('aud-ann@example.com')).toEqual(['We miss you']);
  expect(await journeysOf('aud-ann')).toEqual(['win-back-on-visit']);
  for (const name of ['bob', 'cat', 'dan']) {
    expect(await journeysOf(`aud-${name}`)).toEqual([]);
    expect(subjectsTo(`aud-${name}@example.com`)).toEqual([]);
  }

  // The same customer after a new order is no longer lapsed; the preview agrees with the router.
  const lapsed = await system.store.audience(
    { all: [{ path: 'events.order_completed.count', op: 'gte', value: 1 }, { path: 'events.order_completed.last_at', op: 'before', value: { relativeMs: -60 * DAY } }] },
    { nowMs: Date.now(), sampleSize: 10 },
  );
  expect(lapsed.sample).toEqual(['aud-ann', 'aud-dan']);
});

test('a windowed count enters on the third view within seven days; a view from ten days ago does not count', async () => {
  const userId = 'aud-eve';
  await post('identify', { userId, traits: { email: 'aud-eve@example.com' } });
  await post('track', { userId, event: 'product_viewed', timestamp: daysAgo(10), properties: {} });
  await post('track', { userId, event: 'product_viewed', timestamp: daysAgo(2), properties: {} });
  await post('track', { userId, event: 'product_viewed', properties: {} });
  await live.routed();
  expect(await journeysOf(userId)).toEqual([]);
  await post('track', { userId, event: 'product_viewed', properties: {} });
  await until('the nudge to eve', () => (subjectsTo('aud-eve@example.com').length === 1 ? true : undefined));
  expect(subjectsTo('aud-eve@example.com')).toEqual(['Still looking?']);
  expect(await journeysOf(userId)).toEqual(['browse-nudge']);
});

test('an if step reads the audience on the journey clock: an order 59 days old at entry is 61 days old two days later', async () => {
  const cases = { 'aud-gil': 59, 'aud-hal': 5 };
  for (const [userId, days] of Object.entries(cases)) {
    await post('identify', { userId, traits: { email: `${userId}@example.com` } });
    await post('track', { userId, event: 'order_completed', timestamp: daysAgo(days), properties: {} });
    await post('track', { userId, event: 'store_visited', properties: {} });
  }
  // Inside the journey before the clock moves on.
  await live.routed();
  // Not lapsed yet at entry, by either rule the router or the preview applies.
  const lapsed = { path: 'events.order_completed.last_at', op: 'before' as const, value: { relativeMs: -60 * DAY } };
  expect((await system.store.audience(lapsed, { nowMs: Date.now(), sampleSize: 10 })).sample).not.toContain('aud-gil');
  await env.sleep(2 * DAY + 60_000);
  await until('both check-in mails', () => (subjectsTo('aud-gil@example.com').length + subjectsTo('aud-hal@example.com').length === 2 ? true : undefined));
  expect(subjectsTo('aud-gil@example.com')).toEqual(['We miss you']);
  expect(subjectsTo('aud-hal@example.com')).toEqual(['Still looking?']);
  const steps = (await system.store.enrolmentsFor('aud-gil')).map((e) => e.journeyId);
  expect(steps).toEqual(['check-in']);
});
