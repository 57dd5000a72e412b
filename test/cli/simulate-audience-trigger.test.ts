/**
 * `simulate` and `simulate --all` with a journey that starts from an audience: events before
 * --start are a back-dated history that arrives at the start, and the customer enters at the first
 * event or identify that finds them in the audience.
 */
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseEvents, simulate } from '../../cli/simulate';
import { simulateAll } from '../../cli/simulate-all';
import { activityCatalog } from '../../activities/index';
import { compileDefinitions } from '../../compiler/index';
import type { JourneyPlan } from '../../compiler/plan';
import { timeSkippingEnv } from '../support/temporal';

const start = Date.parse('2026-11-24T10:00:00Z');
let env: TestWorkflowEnvironment;
let plan: JourneyPlan;

beforeAll(async () => {
  const compiled = compileDefinitions(path.join(__dirname, '..', 'fixtures', 'audience-trigger'), activityCatalog);
  expect(compiled.errors).toEqual([]);
  plan = compiled.plans.get('win-back')!;
  env = await timeSkippingEnv();
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

const lines = (...events: object[]) => parseEvents(events.map((e) => JSON.stringify(e)).join('\n'), 'events.jsonl', start);
const order = (at: string) => ({ at, type: 'track', event: 'order_completed', properties: {} });

test('past orders of a customer without an email count; the identify that adds the email enters them, as the trigger', async () => {
  const events = lines(order('2026-07-01T09:00:00Z'), { at: '+1h', type: 'identify', traits: { email: 'ann@example.com' } });
  expect(events[0]).toMatchObject({ atMs: Date.parse('2026-07-01T09:00:00Z'), arrivalMs: start });
  const r = await simulate({ plan, profile: { id: 'ann', tags: [] }, events, startMs: start, defaultTimezone: 'UTC', env });
  expect(r.timeline[0]).toMatchObject({ kind: 'entered', event: 'identify', at: new Date(start + 3_600_000).toISOString() });
  expect(r.timeline.find((t) => t.kind === 'sent')).toMatchObject({ template: 'we-miss-you', body: expect.stringContaining('(identify)') });
});

test('a recent order keeps a customer out, and the report says which audience they never matched', async () => {
  const r = await simulate({ plan, profile: { id: 'bob', email: 'bob@example.com', tags: [] }, events: lines(order('2026-11-20T09:00:00Z')), startMs: start, defaultTimezone: 'UTC', env });
  expect(r).toMatchObject({ outcome: 'not_entered', reason: 'no event of the file found the customer in audience "lapsed-customers"' });
});

test('simulate --all: a back-dated order enters, a fresh one ends the run as exited (left_audience)', async () => {
  const events = lines(order('2026-08-01T09:00:00Z'), order('+2d'));
  const r = await simulateAll({ plans: [plan], profile: { id: 'cat', email: 'cat@example.com', tags: [] }, events, startMs: start, defaultTimezone: 'UTC', env });
  expect(r.runs).toEqual([{ journey: 'win-back', version: plan.version, outcome: 'exited', reason: 'exit_when $left_audience' }]);
  expect(r.timeline.filter((t) => t.kind === 'sent')).toHaveLength(1);
});
