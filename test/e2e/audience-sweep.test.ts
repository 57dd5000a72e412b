/**
 * The audience sweep and broadcasts on a real Temporal dev server, a real SMTP server and SQLite:
 * time alone brings a customer into the win-back audience and the sweep enters and mails them; a
 * sweep whose activity dies mid-page goes on from its heartbeated cursor and enters everyone
 * once; `unbroken trigger` broadcasts an audience journey to the subscribed and never mails the
 * unsubscribed, and refuses a journey that starts from an event.
 */
import path from 'node:path';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { RunningSystem } from '../../cli/start';
import { createAudienceLeavers } from '../../activities/audience-leavers';
import { createAudienceSweep } from '../../activities/audience-sweep';
import { ensureSweepSchedule } from '../../worker/sweep-schedule';
import { journeyBundle } from '../../worker/worker';
import type { audienceSweepWorkflow } from '../../workflows/sweep';
import { SWEEP_SCHEDULE_ID, SWEEP_WORKFLOW, type SweepProgress } from '../../workflows/sweep-definitions';
import { unbroken } from '../support/cli';
import { notingResume, routerDyingAfter } from '../support/dying-sweep';
import type { TestSmtpServer } from '../support/smtp';
import { until, useSweepSystem, type TestSystem } from '../support/system';

const TASK_QUEUE = 'audience-sweep';
let env: TestWorkflowEnvironment;
let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
const dataDir = useSweepSystem({ name: TASK_QUEUE, definitions: () => path.join(__dirname, '..', 'fixtures', 'audience-sweep'), sweepInterval: '1h' }, (servers) => {
  ({ env, smtp, live, system } = servers);
});

beforeAll(async () => {
  // Held back until the broadcast test: identifies would otherwise enter everyone with an address at once.
  await system.store.setPaused('announcement', true);
  system.router.refresh();
});

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();
const subjectsTo = (address: string) => smtp.messages.filter((m) => m.to === address).map((m) => m.subject);

async function post(kind: 'identify' | 'track', body: Record<string, unknown>): Promise<void> {
  expect((await live.post(kind, body)).status).toBe(200);
}

async function customerWithOrder(userId: string, orderDaysAgo: number): Promise<void> {
  await post('identify', { userId, traits: { email: `${userId}@example.com` } });
  await post('track', { userId, event: 'order_completed', timestamp: daysAgo(orderDaysAgo), properties: { total: 40 } });
}

async function runsOf(customer: string): Promise<string[]> {
  return (await system.store.enrolmentsFor(customer)).map((e) => e.journeyId);
}

let sweeps = 0;
/** One sweep run as the schedule runs it, deciding the audiences at `nowMs`. */
function sweep(nowMs: number, taskQueue = TASK_QUEUE): Promise<SweepProgress> {
  return env.client.workflow.execute<typeof audienceSweepWorkflow>(SWEEP_WORKFLOW, { taskQueue, workflowId: `test-sweep-${++sweeps}`, args: [{ nowMs }] });
}

test('start sets up the sweep schedule at the configured interval', async () => {
  const schedule = await env.client.schedule.getHandle(SWEEP_SCHEDULE_ID).describe();
  expect(schedule.spec.intervals?.map((i) => i.every)).toEqual([3_600_000]);
  expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: SWEEP_WORKFLOW, taskQueue: TASK_QUEUE });
  expect(schedule.policies.overlap).toBe('SKIP');
});

test('a later start updates the schedule to its interval, and off deletes it', async () => {
  const handle = env.client.schedule.getHandle(SWEEP_SCHEDULE_ID);
  await ensureSweepSchedule(env.client, TASK_QUEUE, 2 * 3_600_000);
  expect((await handle.describe()).spec.intervals?.map((i) => i.every)).toEqual([7_200_000]);
  await ensureSweepSchedule(env.client, TASK_QUEUE, undefined);
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  await ensureSweepSchedule(env.client, TASK_QUEUE, 3_600_000);
  expect((await handle.describe()).spec.intervals?.map((i) => i.every)).toEqual([3_600_000]);
});

test('time alone: an order 59 days old does not match; two days later the sweep enters the customer and the mail arrives', async () => {
  await customerWithOrder('ts-ann', 59);
  await live.routed();
  expect(await sweep(Date.now())).toMatchObject({ journeys: ['win-back'], matched: 0, entered: 0, done: true });
  expect(await runsOf('ts-ann')).toEqual([]);

  expect(await sweep(Date.now() + 2 * DAY)).toMatchObject({ journeys: ['win-back'], matched: 1, entered: 1, done: true });
  await until('the win-back mail to ann', () => (subjectsTo('ts-ann@example.com').length === 1 ? true : undefined));
  expect(smtp.messages.find((m) => m.to === 'ts-ann@example.com')?.text).toContain('(audience_entered of lapsed-customers)');
  // The next sweep finds her inside: nobody is entered twice.
  expect(await sweep(Date.now() + 2 * DAY)).toMatchObject({ entered: 0 });
  expect(await runsOf('ts-ann')).toEqual(['win-back']);
});

test('a sweep whose activity dies mid-page goes on from its last heartbeated customer: everyone enters once, nobody twice', async () => {
  const ids = ['rs-1', 'rs-2', 'rs-3', 'rs-4', 'rs-5'];
  for (const id of ids) await customerWithOrder(id, 59);
  await live.routed();
  // The process running the activity is gone after the third customer: the attempt fails mid-page.
  const dying = routerDyingAfter(3, system.router);
  const activities = createAudienceSweep({ store: system.store, router: dying.router, pageSize: 2 });
  const enrol = notingResume(activities.enrolAudience);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: 'audience-sweep-dies',
    workflowBundle: await journeyBundle(),
    activities: { ...activities, ...createAudienceLeavers({ store: system.store, router: system.router }), enrolAudience: enrol.activity },
  });
  const result = await worker.runUntil(sweep(Date.now() + 2 * DAY, 'audience-sweep-dies'));
  expect(dying.died()).toBe(true);
  expect(enrol.resumedFrom()).toEqual({ after: 'rs-3', matched: 3, entered: 3 });
  expect(dying.entered).toEqual(ids);
  expect(result).toMatchObject({ matched: 5, entered: 5, done: true });
  for (const id of ids) expect(await runsOf(id)).toEqual(['win-back']);
  await until('a win-back mail to each', () => (ids.every((id) => subjectsTo(`${id}@example.com`).length === 1) ? true : undefined));
});

test('unbroken trigger broadcasts an audience journey: the subscribed get it, the unsubscribed never; an event-triggered journey is refused', async () => {
  await post('identify', { userId: 'bc-sue', traits: { email: 'bc-sue@example.com', subscriptions: { email: { marketing: true } } } });
  await post('identify', { userId: 'bc-uma', traits: { email: 'bc-uma@example.com', subscriptions: { email: { marketing: false } } } });
  await live.routed();
  expect(await runsOf('bc-sue')).toEqual([]);
  await system.store.setPaused('announcement', false);
  const cli = { env: { TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: TASK_QUEUE, UNBROKEN_DATA_DIR: dataDir, DATABASE_URL: undefined } };

  const refused = unbroken(['trigger', 'welcome'], cli);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('journey "welcome" starts from the event "signed_up"');

  const started = unbroken(['trigger', 'announcement'], cli);
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
  expect(started.stdout).toContain('broadcast of announcement under way');
  await until('the announcement to sue', () => (subjectsTo('bc-sue@example.com').length === 1 ? true : undefined));
  await until('uma\'s run to end', async () => ((await system.store.enrolmentsFor('bc-uma'))[0]?.outcome ? true : undefined));
  expect(subjectsTo('bc-sue@example.com')).toEqual(['Our news']);
  expect(subjectsTo('bc-uma@example.com')).toEqual([]);
  const stats = await system.store.journeyStats('announcement');
  expect(stats.entered).toBeGreaterThanOrEqual(2);
});
