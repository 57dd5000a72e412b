/**
 * Leaving an audience by time alone, on a real Temporal dev server and SQLite: a customer whose
 * last order turns 31 days old no longer matches "bought in the last 30 days"; no call of theirs
 * says so, and the audience sweep ends their run (`exit_when: - left_audience: true`), once,
 * while a customer who still matches stays inside.
 */
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunningSystem } from '../../cli/start';
import type { audienceSweepWorkflow } from '../../workflows/sweep';
import { SWEEP_WORKFLOW, type SweepProgress } from '../../workflows/sweep-definitions';
import { until, useSweepSystem, type TestSystem } from '../support/system';

const TASK_QUEUE = 'audience-leavers';
let env: TestWorkflowEnvironment;
let live: TestSystem;
let system: RunningSystem;
useSweepSystem({ name: TASK_QUEUE, definitions: () => path.join(__dirname, '..', 'fixtures', 'audience-leavers'), sweepInterval: '1h' }, (servers) => {
  ({ env, live, system } = servers);
});

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

async function buyer(userId: string, orderDaysAgo: number): Promise<void> {
  expect((await live.post('identify', { userId, traits: { email: `${userId}@example.com` } })).status).toBe(200);
  expect((await live.post('track', { userId, event: 'order_completed', timestamp: daysAgo(orderDaysAgo) })).status).toBe(200);
}

let sweeps = 0;
function sweep(nowMs: number): Promise<SweepProgress> {
  return env.client.workflow.execute<typeof audienceSweepWorkflow>(SWEEP_WORKFLOW, { taskQueue: TASK_QUEUE, workflowId: `leavers-sweep-${++sweeps}`, args: [{ nowMs }] });
}

const outcomeOf = async (customer: string) => (await system.store.enrolmentsFor(customer))[0]?.outcome;

test('the sweep ends the run of a customer whom time alone took out of the audience, and only theirs', async () => {
  await buyer('lv-old', 29);
  await buyer('lv-new', 1);
  await live.routed();
  for (const id of ['lv-old', 'lv-new']) await until(`${id} inside buyer-care`, async () => ((await system.store.activeEnrolments(id)).length === 1 ? true : undefined));

  // Today both still match: the sweep tells nobody.
  expect(await sweep(Date.now())).toMatchObject({ left: 0, done: true });
  expect(await system.store.activeEnrolments('lv-old')).toHaveLength(1);

  // Two days on, lv-old's order is 31 days old: the sweep ends that run; lv-new stays.
  expect(await sweep(Date.now() + 2 * DAY)).toMatchObject({ left: 1, done: true });
  await until('lv-old to leave', async () => ((await outcomeOf('lv-old')) === 'exited' ? true : undefined));
  expect(await system.store.activeEnrolments('lv-new')).toHaveLength(1);
  expect(await outcomeOf('lv-new')).toBeUndefined();

  // A later sweep finds nobody else to tell.
  expect(await sweep(Date.now() + 2 * DAY)).toMatchObject({ left: 0 });
  expect((await system.store.enrolmentsFor('lv-old')).map((e) => e.outcome)).toEqual(['exited']);
});
