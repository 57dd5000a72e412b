/**
 * The schedule trigger on a real Temporal dev server, a real SMTP server and SQLite, with the
 * shipped newsletter example (definitions/journeys/newsletter.yaml): start creates the journey's
 * Temporal Schedule with its cron and zone; `unbroken trigger newsletter` through the real CLI
 * mails the subscribed and nobody else, and `unbroken stats` shows its progress; the same
 * occurrence again enters nobody twice; a firing of the schedule is an occurrence of its own;
 * deploy, pause and resume keep the schedule in step.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunningSystem } from '../../cli/start';
import { syncJourneySchedules } from '../../worker/journey-schedules';
import type { audienceSweepWorkflow } from '../../workflows/sweep';
import { broadcastWorkflowId, journeyScheduleId, SWEEP_WORKFLOW, type SweepProgress } from '../../workflows/sweep-definitions';
import { unbroken } from '../support/cli';
import type { TestSmtpServer } from '../support/smtp';
import { until, useSweepSystem, type TestSystem } from '../support/system';

const TASK_QUEUE = 'schedule-trigger';
const root = path.join(__dirname, '..', '..');
// The shipped example alone, so no other journey enters these customers.
const definitions = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-schedule-defs-'));
for (const file of ['journeys/newsletter.yaml', 'audiences/newsletter-subscribers.yaml', 'templates/newsletter.yaml']) {
  fs.mkdirSync(path.dirname(path.join(definitions, file)), { recursive: true });
  fs.copyFileSync(path.join(root, 'definitions', file), path.join(definitions, file));
}

let env: TestWorkflowEnvironment;
let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
const dataDir = useSweepSystem({ name: TASK_QUEUE, definitions: () => definitions, sweepInterval: 'off' }, (servers) => {
  ({ env, smtp, live, system } = servers);
});

afterAll(() => fs.rmSync(definitions, { recursive: true, force: true }));

const cli = () => ({ env: { TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: TASK_QUEUE, UNBROKEN_DATA_DIR: dataDir, DATABASE_URL: undefined } });
const subjectsTo = (address: string) => smtp.messages.filter((m) => m.to === address).map((m) => m.subject);
const schedule = () => env.client.schedule.getHandle(journeyScheduleId('newsletter'));
const berlinClock = (d: Date) => d.toLocaleString('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit' });

async function runsOf(customer: string): Promise<{ key?: string; outcome?: string }[]> {
  return (await system.store.enrolmentsFor(customer)).map((e) => ({ key: e.instanceKey, outcome: e.outcome }));
}

test('start creates the journey\'s Temporal Schedule: Mondays at 10:00 in Berlin, starting the sweep workflow for it, overlaps skipped', async () => {
  const described = await schedule().describe();
  expect(described.spec.timezone).toBe('Europe/Berlin');
  expect(described.info.nextActionTimes.length).toBeGreaterThan(0);
  for (const t of described.info.nextActionTimes) expect(berlinClock(t)).toBe('Mon 10:00');
  expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: SWEEP_WORKFLOW, taskQueue: TASK_QUEUE, args: [{ journeyId: 'newsletter', scheduled: true }] });
  expect(described.policies.overlap).toBe('SKIP');
  expect(described.state.paused).toBe(false);
});

test('unbroken trigger newsletter mails the subscribed once, never the unsubscribed or a customer outside the audience; the same occurrence again enters nobody', async () => {
  const who = { sub: 'nl-sue@example.com', unsub: 'nl-uma@example.com', outside: 'nl-olga@example.com' };
  expect((await live.post('identify', { userId: 'nl-sue', traits: { email: who.sub, tags: ['newsletter'] } })).status).toBe(200);
  expect((await live.post('identify', { userId: 'nl-uma', traits: { email: who.unsub, tags: ['newsletter'], subscriptions: { email: { newsletter: false } } } })).status).toBe(200);
  expect((await live.post('identify', { userId: 'nl-olga', traits: { email: who.outside } })).status).toBe(200);
  await live.routed();
  // Nobody enters a schedule journey on an identify: only at its times.
  expect(await runsOf('nl-sue')).toEqual([]);

  const started = unbroken(['trigger', 'newsletter'], cli());
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
  const occurrence = /\(occurrence (\S+)\)/.exec(started.stdout)?.[1];
  expect(started.stdout).toContain('broadcast of newsletter (occurrence ');
  expect(Number.isNaN(Date.parse(occurrence ?? ''))).toBe(false);

  const progress: SweepProgress = await env.client.workflow.getHandle(broadcastWorkflowId('newsletter')).result();
  expect(progress).toMatchObject({ journeys: ['newsletter'], matched: 1, entered: 1, done: true });
  await until('the newsletter to sue', () => (subjectsTo(who.sub).length === 1 ? true : undefined));
  await until('sue\'s run to end', async () => ((await runsOf('nl-sue'))[0]?.outcome ? true : undefined));
  expect(await runsOf('nl-sue')).toEqual([{ key: occurrence, outcome: 'completed' }]);
  // Its progress, from the store, in `unbroken stats`.
  const stats = unbroken(['stats', 'newsletter', '--json'], cli());
  expect(stats.code).toBe(0);
  const { broadcast } = JSON.parse(stats.stdout) as { broadcast: Record<string, unknown> };
  expect(broadcast).toMatchObject({ journeyId: 'newsletter', occurrence, matched: 1, entered: 1 });
  expect(Date.parse(String(broadcast.finishedAt))).toBeGreaterThanOrEqual(Date.parse(String(broadcast.beganAt)));
  expect(unbroken(['stats', 'newsletter'], cli()).stdout).toContain(`latest broadcast: began ${String(broadcast.beganAt)} (occurrence ${occurrence}), matched 1, entered 1, done at`);

  // The same occurrence once more (a retried broadcast): sue's run of it has ended, and still she does not enter again.
  const again = await env.client.workflow.execute<typeof audienceSweepWorkflow>(SWEEP_WORKFLOW, {
    taskQueue: TASK_QUEUE,
    workflowId: 'newsletter-same-occurrence',
    args: [{ journeyId: 'newsletter', occurrence }],
  });
  expect(again).toMatchObject({ matched: 1, entered: 0, done: true });
  expect(await runsOf('nl-sue')).toHaveLength(1);
  expect(subjectsTo(who.sub)).toEqual(['Hi, this week at Example']);
  expect(subjectsTo(who.unsub)).toEqual([]);
  expect(subjectsTo(who.outside)).toEqual([]);
  expect(await runsOf('nl-uma')).toEqual([]);
  expect(await runsOf('nl-olga')).toEqual([]);
});

test('a firing of the Temporal Schedule is an occurrence of its own, named by its scheduled time', async () => {
  const before = await runsOf('nl-sue');
  await schedule().trigger();
  await until('a second newsletter to sue', () => (subjectsTo('nl-sue@example.com').length === 2 ? true : undefined));
  const runs = await runsOf('nl-sue');
  expect(runs).toHaveLength(before.length + 1);
  const fired = runs.find((r) => !before.some((b) => b.key === r.key));
  expect(Number.isNaN(Date.parse(fired?.key ?? ''))).toBe(false);
  expect(subjectsTo('nl-uma@example.com')).toEqual([]);
});

test('unbroken pause pauses the schedule and resume unpauses it; deploy keeps it; a journey gone loses it', async () => {
  const paused = unbroken(['pause', 'newsletter'], cli());
  expect(paused.code).toBe(0);
  expect(paused.stdout).toContain('its schedule (0 10 * * mon, Europe/Berlin) is paused');
  expect((await schedule().describe()).state.paused).toBe(true);
  // A paused journey is not broadcast either.
  expect(unbroken(['trigger', 'newsletter'], cli()).code).toBe(1);

  const resumed = unbroken(['resume', 'newsletter'], cli());
  expect(resumed.code).toBe(0);
  expect((await schedule().describe()).state.paused).toBe(false);

  const deployed = unbroken(['deploy', '--definitions', definitions], cli());
  expect(deployed.code).toBe(0);
  expect(deployed.stdout).toContain('schedules: updated newsletter');

  // What a deploy without the journey does to its schedule.
  expect(await syncJourneySchedules(env.client, TASK_QUEUE, [])).toMatchObject({ deleted: ['newsletter'] });
  await expect(schedule().describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  expect(await syncJourneySchedules(env.client, TASK_QUEUE, await system.store.deployedJourneys())).toMatchObject({ created: ['newsletter'] });
});
