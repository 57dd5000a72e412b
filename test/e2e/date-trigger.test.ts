/**
 * The date trigger on a real Temporal dev server, a real SMTP server and SQLite: a customer whose
 * birthday is today in a zone where 09:00 has passed enters as their identify is routed and the
 * greeting arrives, once however often they are identified that day; in a zone where 09:00 has not
 * come yet nobody enters, and the sweep (run as its schedule runs it, at a later time) enters them;
 * a sweep whose activity dies mid-page goes on from its heartbeated cursor.
 */
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createAudienceLeavers } from '../../activities/audience-leavers';
import { createAudienceSweep } from '../../activities/audience-sweep';
import { createDateSweep } from '../../activities/date-sweep';
import type { RunningSystem } from '../../cli/start';
import { journeyBundle } from '../../worker/worker';
import { nextOccurrence } from '../../core/date-triggers';
import type { audienceSweepWorkflow } from '../../workflows/sweep';
import { SWEEP_WORKFLOW, type SweepProgress } from '../../workflows/sweep-definitions';
import { notingResume, routerDyingAfter } from '../support/dying-sweep';
import type { TestSmtpServer } from '../support/smtp';
import { until, useSweepSystem, type TestSystem } from '../support/system';

const TASK_QUEUE = 'date-trigger';
let env: TestWorkflowEnvironment;
let smtp: TestSmtpServer;
let live: TestSystem;
let system: RunningSystem;
useSweepSystem({ name: TASK_QUEUE, definitions: () => path.join(__dirname, '..', 'fixtures', 'date-trigger'), sweepInterval: 'off' }, (servers) => {
  ({ env, smtp, live, system } = servers);
});

const BIRTHDAY = { every: 'year', offsetDays: 0, at: '09:00' } as const;
const subjectsTo = (address: string) => smtp.messages.filter((m) => m.to === address).map((m) => m.subject);

/** A zone whose local hour is now within [from, to), and today's date there: the test picks its zone by the clock. */
function zoneWhereHourIs(from: number, to: number): { zone: string; today: string } {
  for (const zone of Intl.supportedValuesOf('timeZone')) {
    const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
    if (hour >= from && hour < to) return { zone, today: new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date()) };
  }
  throw new Error(`no zone has a local hour in [${from}, ${to}) now`);
}

async function identify(userId: string, traits: Record<string, unknown>): Promise<void> {
  expect((await live.post('identify', { userId, traits })).status).toBe(200);
  await live.routed();
}

async function runsOf(customer: string): Promise<{ journeyId: string; instanceKey?: string }[]> {
  return (await system.store.enrolmentsFor(customer)).map((e) => ({ journeyId: e.journeyId, ...(e.instanceKey ? { instanceKey: e.instanceKey } : {}) }));
}

let sweeps = 0;
function sweep(nowMs: number, taskQueue = TASK_QUEUE): Promise<SweepProgress> {
  return env.client.workflow.execute<typeof audienceSweepWorkflow>(SWEEP_WORKFLOW, { taskQueue, workflowId: `date-sweep-${++sweeps}`, args: [{ nowMs }] });
}

test('a birthday today where 09:00 has passed: the identify enters at once, the greeting arrives, a second identify that day enters nobody', async () => {
  const { zone, today } = zoneWhereHourIs(10, 22);
  const year = today.slice(0, 4);
  await identify('bd-ann', { email: 'bd-ann@example.com', first_name: 'Ann', timezone: zone, birthday: `1988-${today.slice(5)}` });
  await until('the greeting to ann', () => (subjectsTo('bd-ann@example.com').length === 1 ? true : undefined));
  expect(subjectsTo('bd-ann@example.com')).toEqual(['Happy birthday, Ann']);
  expect(smtp.messages.find((m) => m.to === 'bd-ann@example.com')?.text).toContain(`(date_reached ${year} of profile.birthday)`);
  expect(await runsOf('bd-ann')).toEqual([{ journeyId: 'birthday', instanceKey: year }]);

  await until('ann\'s run to end', async () => ((await system.store.enrolmentsFor('bd-ann'))[0]?.outcome ? true : undefined));
  await identify('bd-ann', { first_name: 'Annie' });
  expect(await sweep(Date.now())).toMatchObject({ entered: 0, done: true });
  expect(await runsOf('bd-ann')).toHaveLength(1);
  expect(subjectsTo('bd-ann@example.com')).toEqual(['Happy birthday, Ann']);
});

test('a birthday today where 09:00 has not come: nobody enters yet; the sweep at 09:01 there enters and mails once', async () => {
  const { zone, today } = zoneWhereHourIs(1, 8);
  // Leap years throughout, so a 29 February today is a real date.
  const birthday = `1984-${today.slice(5)}`;
  await identify('bd-bob', { email: 'bd-bob@example.com', first_name: 'Bob', timezone: zone, birthday });
  expect(await runsOf('bd-bob')).toEqual([]);
  expect(await sweep(Date.now())).toMatchObject({ entered: 0, done: true });
  expect(await runsOf('bd-bob')).toEqual([]);

  const fire = nextOccurrence(BIRTHDAY, birthday, zone, Date.now());
  if (!fire) throw new Error('no next birthday');
  expect(fire.fireMs - Date.now()).toBeLessThan(9 * 3_600_000);
  expect(await sweep(fire.fireMs + 60_000)).toMatchObject({ matched: 1, entered: 1, done: true });
  await until('the greeting to bob', () => (subjectsTo('bd-bob@example.com').length === 1 ? true : undefined));
  expect(await runsOf('bd-bob')).toEqual([{ journeyId: 'birthday', instanceKey: today.slice(0, 4) }]);
  // The next sweep that day finds the occurrence done.
  expect(await sweep(fire.fireMs + 3_600_000)).toMatchObject({ matched: 0, entered: 0 });
  expect(await runsOf('bd-bob')).toHaveLength(1);
});

test('a customer whose date is no date never enters, and does not stop the sweep', async () => {
  await identify('bd-cat', { email: 'bd-cat@example.com', birthday: 'soon' });
  await identify('bd-dan', { email: 'bd-dan@example.com', birthday: { day: 3 } });
  expect(await sweep(Date.now())).toMatchObject({ done: true });
  expect(await runsOf('bd-cat')).toEqual([]);
  expect(await runsOf('bd-dan')).toEqual([]);
});

test('a date sweep whose activity dies mid-page goes on from its last heartbeated customer: everyone enters once, nobody twice', async () => {
  const { zone, today } = zoneWhereHourIs(1, 8);
  const birthday = `1980-${today.slice(5)}`;
  const ids = ['bd-r1', 'bd-r2', 'bd-r3'];
  for (const id of ids) await identify(id, { email: `${id}@example.com`, first_name: id, timezone: zone, birthday });
  const fire = nextOccurrence(BIRTHDAY, birthday, zone, Date.now());
  if (!fire) throw new Error('no next birthday');
  // The process running the activity is gone after the second entry: the attempt fails mid-page.
  const dying = routerDyingAfter(2, system.router);
  const enrol = notingResume(createDateSweep({ store: system.store, router: dying.router, defaultTimezone: 'UTC', pageSize: 1 }).enrolDates);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: 'date-sweep-dies',
    workflowBundle: await journeyBundle(),
    activities: {
      ...createAudienceSweep({ store: system.store, router: system.router }),
      ...createAudienceLeavers({ store: system.store, router: system.router }),
      enrolDates: enrol.activity,
    },
  });
  const result = await worker.runUntil(sweep(fire.fireMs + 60_000, 'date-sweep-dies'));
  expect(dying.died()).toBe(true);
  expect(enrol.resumedFrom()).toEqual({ after: 'bd-r2', matched: 2, entered: 2 });
  expect(dying.entered).toEqual(ids);
  expect(result).toMatchObject({ matched: 3, entered: 3, done: true });
  for (const id of ids) expect((await runsOf(id)).map((r) => r.journeyId)).toEqual(['birthday']);
  await until('a greeting to each', () => (ids.every((id) => subjectsTo(`${id}@example.com`).length === 1) ? true : undefined));
});
