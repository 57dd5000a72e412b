/**
 * Trigger keys and re-entry right after an ending, through HTTP on Temporal's time-skipping
 * server: one run per customer and cart, and an event that ends a run while triggering its
 * journey again starts the next run at once.
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { customerStatus } from '../../cli/live';
import type { RunningSystem } from '../../cli/start';
import { JourneyRouter } from '../../routing/router';
import { log } from '../../observability/log';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { timeSkippingEnv } from '../support/temporal';

let env: TestWorkflowEnvironment;
let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
useLiveSystem({ temporal: timeSkippingEnv, definitions: () => path.join(__dirname, '..', 'fixtures', 'keys'), taskQueue: 'trigger-keys' }, (servers) => {
  ({ env, smtp, live, system } = servers);
});

const HOUR = 3_600_000;

/** Posts a track call and waits until the router loop has routed it. */
async function track(userId: string, event: string, properties: Record<string, unknown> = {}): Promise<void> {
  expect((await live.post('track', { userId, event, properties })).status).toBe(200);
  await live.routed();
}

/** The customer's runs of a journey as [key, entry, outcome], oldest first. */
async function runs(customer: string, journey: string): Promise<[string | undefined, number, string | undefined][]> {
  const status = await customerStatus(system.store, customer);
  return status.journeys
    .filter((j) => j.journey === journey)
    .map((j): [string | undefined, number, string | undefined] => [j.key, j.entry, j.outcome])
    .reverse();
}

const mailsTo = (address: string) => smtp.messages.filter((m) => m.to === address).map((m) => m.subject);

test('two abandoned carts are two runs; an order ends only the run of its cart', async () => {
  await live.post('identify', { userId: 'k-ann', traits: { email: 'k-ann@example.com' } });
  await track('k-ann', 'cart_abandoned', { cart_id: 'A' });
  await track('k-ann', 'cart_abandoned', { cart_id: 'B' });
  // Already inside for cart A: no second run for it.
  await track('k-ann', 'cart_abandoned', { cart_id: 'A' });
  expect(await runs('k-ann', 'cart-per-key')).toEqual([
    ['A', 1, undefined],
    ['B', 2, undefined],
  ]);
  const ids = (await customerStatus(system.store, 'k-ann')).journeys.map((j) => j.workflow_id);
  for (const id of ids) expect(id).toMatch(/^journey:cart-per-key:k-ann:k[0-9a-f]{12}:[12]$/);

  // The order names cart A: only A's run hears it.
  await track('k-ann', 'order_completed', { cart_id: 'A' });
  await until('run A to convert', async () => ((await runs('k-ann', 'cart-per-key'))[0][2] === 'converted' ? true : undefined));
  await env.sleep(HOUR + 60_000);
  await until('the reminder for cart B', () => (mailsTo('k-ann@example.com').length === 1 ? true : undefined));
  expect(mailsTo('k-ann@example.com')).toEqual(['Cart B is waiting']);
  expect(await runs('k-ann', 'cart-per-key')).toEqual([
    ['A', 1, 'converted'],
    ['B', 2, undefined],
  ]);
  // re_entry: never holds per cart: A may not come back, a new cart C may enter.
  await track('k-ann', 'cart_abandoned', { cart_id: 'A' });
  await track('k-ann', 'cart_abandoned', { cart_id: 'C' });
  expect((await runs('k-ann', 'cart-per-key')).map(([key]) => key)).toEqual(['A', 'B', 'C']);
  // Stats count runs: three carts are three entries.
  expect(await system.store.journeyStats('cart-per-key')).toMatchObject({ entered: 3, active: 2, outcomes: { converted: 1 } });
});

test('an event without the key enters nobody; one without the key value reaches every run', async () => {
  await live.post('identify', { userId: 'k-bob', traits: { email: 'k-bob@example.com' } });
  // The router says why on the process log, at warn.
  const warn = jest.spyOn(log(), 'warn').mockImplementation(() => undefined);
  try {
    await track('k-bob', 'cart_abandoned', {});
    await track('k-bob', 'cart_abandoned', { cart_id: '   ' });
    expect(warn.mock.calls.map(([, message]) => message)).toEqual([
      'journey cart-per-key: trigger.key {{ trigger.properties.cart_id }} of the "cart_abandoned" event is missing; the event entered nobody',
      'journey cart-per-key: trigger.key {{ trigger.properties.cart_id }} of the "cart_abandoned" event is empty; the event entered nobody',
    ]);
  } finally {
    warn.mockRestore();
  }
  expect(await runs('k-bob', 'cart-per-key')).toEqual([]);
  await track('k-bob', 'cart_abandoned', { cart_id: 7 });
  await track('k-bob', 'cart_abandoned', { cart_id: '8' });
  // 7 and "7" are one cart.
  await track('k-bob', 'cart_abandoned', { cart_id: '7' });
  expect(await runs('k-bob', 'cart-per-key')).toEqual([
    ['7', 1, undefined],
    ['8', 2, undefined],
  ]);
  await track('k-bob', 'order_completed', {});
  await until('both runs to convert', async () => ((await runs('k-bob', 'cart-per-key')).every(([, , o]) => o === 'converted') ? true : undefined));
});

test('a per_key cap counts each cart on its own', async () => {
  await live.post('identify', { userId: 'k-cy', traits: { email: 'k-cy@example.com' } });
  await track('k-cy', 'cart_abandoned', { cart_id: 'C1' });
  await track('k-cy', 'cart_abandoned', { cart_id: 'C2' });
  await env.sleep(2 * HOUR + 60_000);
  await until('both runs to complete', async () => ((await runs('k-cy', 'cart-per-key')).every(([, , o]) => o === 'completed') ? true : undefined));
  // One reminder per cart; each second reminder is over its own cart's cap of 1 per 7 days.
  expect(mailsTo('k-cy@example.com').sort()).toEqual(['Cart C1 is waiting', 'Cart C2 is waiting']);
  const status = await customerStatus(system.store, 'k-cy');
  for (const run of status.journeys) {
    expect(run.steps.find((s) => s.step === 'second-reminder')).toMatchObject({ kind: 'skipped', detail: { reason: 'frequency_cap' } });
  }
});

test('an event that ends a run and triggers its journey starts the next run at once', async () => {
  await live.post('identify', { userId: 'k-dan', traits: { email: 'k-dan@example.com' } });
  await track('k-dan', 'cart_updated', { cart_id: 'v1' });
  await track('k-dan', 'cart_updated', { cart_id: 'v2' });
  expect(await runs('k-dan', 'latest-cart')).toEqual([
    [undefined, 1, 'exited'],
    [undefined, 2, undefined],
  ]);
  await track('k-dan', 'cart_updated', { cart_id: 'v3' });
  expect((await runs('k-dan', 'latest-cart')).map(([, entry, outcome]) => [entry, outcome])).toEqual([
    [1, 'exited'],
    [2, 'exited'],
    [3, undefined],
  ]);
  await env.sleep(2 * HOUR + 60_000);
  await until('the one reminder', () => (mailsTo('k-dan@example.com').length === 1 ? true : undefined));
  expect(mailsTo('k-dan@example.com')).toEqual(['Cart v3 is waiting']);
});

test('two API processes routing ending-and-triggering events at once leave exactly one run inside', async () => {
  const connection = await Connection.connect({ address: env.address });
  try {
    const other = new JourneyRouter({ store: system.store, client: new Client({ connection }), taskQueue: 'trigger-keys', defaultTimezone: 'UTC' });
    const routers = [system.router, other];
    const event = (n: number) => {
      const now = new Date().toISOString();
      return { messageId: randomUUID(), type: 'track' as const, customerId: 'k-eve', event: 'cart_updated', properties: { cart_id: `v${n}` }, timestamp: now, receivedAt: now };
    };
    await routers[0].route(event(0));
    await Promise.all([1, 2, 3, 4, 5, 6].map((n) => routers[n % 2].route(event(n))));
    const all = await runs('k-eve', 'latest-cart');
    const inside = all.filter(([, , outcome]) => outcome === undefined);
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(inside).toHaveLength(1);
    expect(all.filter(([, , outcome]) => outcome !== undefined).every(([, , outcome]) => outcome === 'exited')).toBe(true);
    expect(inside[0][1]).toBe(Math.max(...all.map(([, entry]) => entry)));
  } finally {
    await connection.close();
  }
});
