/**
 * The live system end to end through HTTP: `startSystem` (what `unbroken start` runs) against a
 * real Temporal dev server, a real SMTP server and a SQLite store; events go in with fetch().
 */
import path from 'node:path';
import { customerStatus } from '../../cli/live';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunningSystem } from '../../cli/start';
import { CLOSED_ELSEWHERE_STEP } from '../../routing/router';
import type { TestSmtpServer } from '../support/smtp';
import { until, useLiveSystem, type TestSystem } from '../support/system';
import { devServerEnv } from '../support/temporal';

let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
let temporal: TestWorkflowEnvironment;
useLiveSystem({ temporal: devServerEnv, definitions: () => path.join(__dirname, '..', 'fixtures', 'live'), taskQueue: 'live-e2e' }, (servers) => {
  ({ smtp, live, system } = servers);
  temporal = servers.env;
});

const post = (endpoint: string, body: unknown, authorization?: string) => live.post(endpoint, body, authorization);

const mailsTo = (address: string) => smtp.messages.filter((m) => m.to === address);

async function outcomes(customer: string, journey: string): Promise<(string | undefined)[]> {
  const status = await customerStatus(system.store, customer);
  return status.journeys.filter((j) => j.journey === journey).map((j) => j.outcome);
}

async function finished(customer: string, journey: string): Promise<(string | undefined)[]> {
  return until(`${customer} to finish ${journey}`, async () => {
    const o = await outcomes(customer, journey);
    return o.length > 0 && o.every((x) => x !== undefined) ? o : undefined;
  });
}

test('an abandoned cart brings the reminder by real mail, and the status tells the story', async () => {
  expect((await post('identify', { userId: 'ann', traits: { email: 'ann@example.com', first_name: 'Ann' } })).status).toBe(200);
  const r = await post('track', { userId: 'ann', event: 'cart_abandoned', properties: { cart_id: 'c1', total: 49.9 } });
  expect(r).toEqual({ status: 200, body: { success: true } });
  expect(await finished('ann', 'quick-cart')).toEqual(['completed']);
  expect(mailsTo('ann@example.com').map((m) => m.subject)).toEqual(['Ann, cart c1 is waiting']);
  const status = await customerStatus(system.store, 'ann');
  expect(status.journeys[0]).toMatchObject({ journey: 'quick-cart', entry: 1, outcome: 'completed' });
  expect(status.journeys[0].steps.map((s) => s.kind)).toEqual(['entered', 'waited', 'sent', 'completed']);
  // The run's history carries no template: the plan has template heads, the send loaded the rest.
  const history = await temporal.client.workflow.getHandle(status.journeys[0].workflow_id).fetchHistory();
  const payloads = (history.events ?? [])
    .flatMap((e) => [...(e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []), ...(e.activityTaskScheduledEventAttributes?.input?.payloads ?? [])])
    .map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8'));
  expect(payloads.join('\n')).toContain('"byReference":true');
  expect(payloads.join('\n')).not.toContain("default: 'Hi'");
});

test('a purchase before the reminder converts the journey and no reminder is sent', async () => {
  await post('identify', { userId: 'bob', traits: { email: 'bob@example.com' } });
  await post('track', { userId: 'bob', event: 'cart_abandoned', properties: { cart_id: 'c2', total: 30 } });
  await post('track', { userId: 'bob', event: 'order_completed', properties: { cart_id: 'c2' } });
  expect(await finished('bob', 'quick-cart')).toEqual(['converted']);
  await new Promise((resolve) => setTimeout(resolve, 5000));
  expect(mailsTo('bob@example.com')).toEqual([]);
});

test('an event racing the start of its journey is not lost: signal-with-start starts the run and delivers it', async () => {
  // An enrolment whose workflow was never started, as when the starting process died between
  // the store and Temporal.
  const deployed = (await system.store.deployedJourneys()).find((j) => j.journeyId === 'quick-cart')!;
  const trigger = { event: 'cart_abandoned', properties: { cart_id: 'c-race', total: 99 }, timestamp: new Date().toISOString() };
  const decision = await system.store.tryEnrol({
    journeyId: 'quick-cart',
    customerId: 'racer',
    version: deployed.version,
    reEntry: { mode: 'never' },
    at: trigger.timestamp,
    workflowIdPrefix: 'journey:quick-cart:racer',
    input: { customerId: 'racer', trigger, defaultTimezone: 'UTC' },
  });
  expect(decision.enrolled).toBe(true);
  await post('identify', { userId: 'racer', traits: { email: 'racer@example.com' } });
  expect((await post('track', { userId: 'racer', event: 'order_completed', properties: { cart_id: 'c-race' } })).status).toBe(200);
  expect(await finished('racer', 'quick-cart')).toEqual(['converted']);
  expect(mailsTo('racer@example.com')).toEqual([]);
});

test('a trigger whose where does not hold enters nobody', async () => {
  await post('track', { userId: 'cheap', event: 'cart_abandoned', properties: { cart_id: 'c3', total: 5 } });
  await live.routed();
  expect((await customerStatus(system.store, 'cheap')).journeys).toEqual([]);
});

test('re-entry rules: never enters once, always enters each time, a cool-down ignores a second trigger', async () => {
  await post('identify', { userId: 'cy', traits: { email: 'cy@example.com' } });
  await post('track', { userId: 'cy', event: 'signed_up' });
  await finished('cy', 'hello');
  await post('track', { userId: 'cy', event: 'signed_up' });
  await until('a second hello', async () => ((await outcomes('cy', 'hello')).filter((o) => o === 'completed').length === 2 ? true : undefined));

  await post('track', { userId: 'cy', event: 'promo_viewed' });
  await finished('cy', 'promo');
  await post('track', { userId: 'cy', event: 'promo_viewed' });

  await post('track', { userId: 'cy', event: 'cart_abandoned', properties: { cart_id: 'c4', total: 25 } });
  await post('track', { userId: 'cy', event: 'order_completed', properties: { cart_id: 'c4' } });
  await finished('cy', 'quick-cart');
  await post('track', { userId: 'cy', event: 'cart_abandoned', properties: { cart_id: 'c5', total: 25 } });
  await live.routed();

  expect(await outcomes('cy', 'hello')).toEqual(['completed', 'completed']);
  expect(await outcomes('cy', 'promo')).toEqual(['completed']);
  expect(await outcomes('cy', 'quick-cart')).toEqual(['converted']);
  expect(mailsTo('cy@example.com').map((m) => m.subject).sort()).toEqual(['A promotion for you', 'Hello there', 'Hello there']);
});

test('an anonymous visitor who identifies later is one customer: the reminder reaches the identified address', async () => {
  await post('track', { anonymousId: 'anon-7', event: 'cart_abandoned', properties: { cart_id: 'c6', total: 80 } });
  await post('identify', { userId: 'dee', anonymousId: 'anon-7', traits: { email: 'dee@example.com', first_name: 'Dee' } });
  await until('the reminder to dee', async () => (mailsTo('dee@example.com').length === 1 ? true : undefined));
  expect(mailsTo('dee@example.com')[0].subject).toBe('Dee, cart c6 is waiting');
  // Events sent under the anonymous id now belong to the identified customer.
  const events = await system.store.eventsFor('dee');
  expect(events.map((e) => e.event ?? e.type)).toEqual(['cart_abandoned', 'identify']);
});

test('a duplicate messageId is acknowledged and has no effect, however late it comes', async () => {
  await post('identify', { userId: 'eve', traits: { email: 'eve@example.com' } });
  const event = { userId: 'eve', event: 'signed_up', messageId: 'msg-eve-1' };
  expect((await post('track', event)).status).toBe(200);
  await finished('eve', 'hello');
  expect((await post('track', event)).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(await outcomes('eve', 'hello')).toEqual(['completed']);
  expect(mailsTo('eve@example.com')).toHaveLength(1);
});

test('concurrent triggers for one customer enter the journey once', async () => {
  await post('identify', { userId: 'fay', traits: { email: 'fay@example.com' } });
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) => post('track', { userId: 'fay', event: 'cart_abandoned', properties: { cart_id: `c-${i}`, total: 40 } })),
  );
  expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
  expect(await finished('fay', 'quick-cart')).toEqual(['completed']);
  expect(mailsTo('fay@example.com')).toHaveLength(1);
});

test('the API answers errors as JSON naming the failing field, and stores nothing of them', async () => {
  const wrongKey = await post('track', { userId: 'x', event: 'signed_up' }, `Basic ${Buffer.from('nope:').toString('base64')}`);
  expect(wrongKey.status).toBe(401);
  const bad = await post('batch', { batch: [{ type: 'track', userId: 'gus', event: 'signed_up' }, { type: 'track', userId: 'gus' }] });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toContain('batch.1.event');
  expect(await system.store.eventsFor('gus')).toEqual([]);
  const health = await fetch(`${system.apiUrl}/readyz`);
  expect(health.status).toBe(200);
});

test('an event that ends a run and triggers its journey starts the next run, on a full server too', async () => {
  await post('identify', { userId: 'hal', traits: { email: 'hal@example.com' } });
  for (let i = 0; i < 3; i++) expect((await post('track', { userId: 'hal', event: 'basket_changed' })).status).toBe(200);
  await live.routed();
  expect(await outcomes('hal', 'latest-basket')).toEqual([undefined, 'exited', 'exited']);
  expect(await finished('hal', 'latest-basket')).toEqual(['completed', 'exited', 'exited']);
  expect(mailsTo('hal@example.com')).toHaveLength(1);
});

test('a run ended outside the journey (terminated in Temporal) does not hold its customer inside: the next event ends it as failed and enters again', async () => {
  await post('identify', { userId: 'ivy', traits: { email: 'ivy@example.com' } });
  await post('track', { userId: 'ivy', event: 'basket_changed' });
  await live.routed();
  const [first] = await system.store.activeEnrolments('ivy');
  await temporal.client.workflow.getHandle(first.workflowId).terminate('ended by hand in the Temporal UI');
  // The store still has the run open; without the router noticing, ivy would stay "inside" forever.
  expect((await post('track', { userId: 'ivy', event: 'basket_changed' })).status).toBe(200);
  expect(await finished('ivy', 'latest-basket')).toEqual(['completed', 'failed']);
  const steps = await system.store.stepsFor(first.workflowId);
  expect(steps.at(-1)).toMatchObject({ stepId: CLOSED_ELSEWHERE_STEP, kind: 'failed', detail: { reason: 'closed_in_temporal' } });
  expect(mailsTo('ivy@example.com')).toHaveLength(1);
});
