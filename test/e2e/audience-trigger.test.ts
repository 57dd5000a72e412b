/**
 * Journeys that start from an audience, through HTTP on Temporal's time-skipping server and a real
 * SMTP server: back-dated orders make a customer lapsed, which enters them into the win-back
 * journey and mails them; a fresh order while the run waits ends it (`left_audience`).
 */
import path from 'node:path';
import type { RunningSystem } from '../../cli/start';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { timeSkippingEnv } from '../support/temporal';

let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
useLiveSystem({ temporal: timeSkippingEnv, definitions: () => path.join(__dirname, '..', 'fixtures', 'audience-trigger'), taskQueue: 'audience-trigger' }, (servers) => {
  ({ smtp, live, system } = servers);
});

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

async function post(kind: 'identify' | 'track', body: Record<string, unknown>): Promise<void> {
  expect((await live.post(kind, body)).status).toBe(200);
}

const subjectsTo = (address: string) => smtp.messages.filter((m) => m.to === address).map((m) => m.subject);

async function runsOf(customer: string): Promise<{ journey: string; outcome?: string }[]> {
  return (await system.store.enrolmentsFor(customer)).map((e) => ({ journey: e.journeyId, ...(e.outcome ? { outcome: e.outcome } : {}) }));
}

async function customerWithOrders(userId: string, ...orderDaysAgo: number[]): Promise<void> {
  await post('identify', { userId, traits: { email: `${userId}@example.com` } });
  for (const days of orderDaysAgo) await post('track', { userId, event: 'order_completed', timestamp: daysAgo(days), properties: { total: 40 } });
}

test('win-back from back-dated orders: a customer whose orders are 90 days old enters and gets the mail; one with a recent order does not', async () => {
  await customerWithOrders('wb-ann', 120, 90);
  // The recent order first: routed in order, bob is never lapsed at any of his events.
  await customerWithOrders('wb-bob', 2, 90);
  await live.routed();
  await until('the win-back mail to ann', () => (subjectsTo('wb-ann@example.com').length === 1 ? true : undefined));
  expect(subjectsTo('wb-ann@example.com')).toEqual(['We miss you']);
  expect(smtp.messages.find((m) => m.to === 'wb-ann@example.com')?.text).toContain('(order_completed)');
  expect(await runsOf('wb-ann')).toEqual([{ journey: 'win-back' }]);
  expect(await runsOf('wb-bob')).toEqual([]);
  expect(subjectsTo('wb-bob@example.com')).toEqual([]);
});

test('left_audience: a fresh order while the run waits ends it with outcome exited, and no second mail goes out', async () => {
  await customerWithOrders('wb-cat', 100);
  await live.routed();
  await until('the win-back mail to cat', () => (subjectsTo('wb-cat@example.com').length === 1 ? true : undefined));
  await post('track', { userId: 'wb-cat', event: 'order_completed', properties: { total: 25 } });
  await live.routed();
  await until('cat\'s run to end', async () => ((await runsOf('wb-cat'))[0]?.outcome ? true : undefined));
  expect(await runsOf('wb-cat')).toEqual([{ journey: 'win-back', outcome: 'exited' }]);
  expect(subjectsTo('wb-cat@example.com')).toEqual(['We miss you']);
});
