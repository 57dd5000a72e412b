/**
 * One Temporal Schedule per schedule journey (`trigger: { schedule: { cron, timezone }, audience }`),
 * whose every firing starts the sweep workflow for that journey: a broadcast of one occurrence,
 * named by the firing's scheduled time (workflows/sweep.ts). Deploy and `unbroken start` /
 * `unbroken worker` make the schedules match the deployed journeys (created, updated, paused as
 * the journey is, deleted when the journey is gone or no longer schedule-triggered); `unbroken
 * pause` and `resume` pause and unpause a journey's schedule. The store's paused flag stays the
 * truth: a firing of a paused journey enters nobody, and the next reconcile pauses the schedule.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptionsStartWorkflowAction, type ScheduleSpec } from '@temporalio/client';
import { isScheduleTrigger, type JourneyPlan, type ScheduleTriggerPlan } from '../compiler/plan';
import { log } from '../observability/log';
import type { DeployedJourney } from '../profiles/store';
import type { audienceSweepWorkflow } from '../workflows/sweep';
import { journeyScheduleId, scheduledWorkflowId, SWEEP_WORKFLOW } from '../workflows/sweep-definitions';

const PREFIX = journeyScheduleId('');

/**
 * A firing missed while Temporal was down still runs when it is back within this window (a
 * newsletter a few hours late); older ones are skipped rather than sent days late.
 */
const CATCHUP_WINDOW_MS = 86_400_000;

/** What the reconcile did, by journey id (for the log and tests). */
export interface JourneyScheduleSync {
  created: string[];
  updated: string[];
  deleted: string[];
  /** Set when the server cannot keep schedules (Temporal's time-skipping test server) or refused. */
  problem?: string;
}

/** What a journey's schedule does, and when. */
function definition(
  journeyId: string,
  schedule: ScheduleTriggerPlan['schedule'],
  taskQueue: string,
): { spec: ScheduleSpec; action: ScheduleOptionsStartWorkflowAction<typeof audienceSweepWorkflow> } {
  return {
    spec: { cronExpressions: [schedule.cron], timezone: schedule.timezone },
    action: { type: 'startWorkflow', workflowType: SWEEP_WORKFLOW, workflowId: scheduledWorkflowId(journeyId), taskQueue, args: [{ journeyId, scheduled: true }] },
  };
}

/** The note a schedule carries, so `temporal schedule describe` says where it comes from. */
const note = (d: DeployedJourney) => `unbroken journey ${d.journeyId} version ${d.version}${d.paused ? ' (paused with unbroken pause)' : ''}`;

/** Creates the journey's schedule, or updates the one there to its cron, zone, version and paused state. */
async function upsert(client: Client, taskQueue: string, d: DeployedJourney, trigger: ScheduleTriggerPlan): Promise<'created' | 'updated'> {
  const { spec, action } = definition(d.journeyId, trigger.schedule, taskQueue);
  const policies = { overlap: 'SKIP' as const, catchupWindow: CATCHUP_WINDOW_MS };
  const state = { paused: d.paused, note: note(d) };
  try {
    await client.schedule.create({ scheduleId: journeyScheduleId(d.journeyId), spec, action, policies, state });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(journeyScheduleId(d.journeyId)).update((previous) => ({ ...previous, spec, action, policies: { ...previous.policies, ...policies }, state }));
    return 'updated';
  }
}

/** Ids of the journeys that have a schedule on the server now. */
async function scheduledJourneys(client: Client): Promise<string[]> {
  const out: string[] = [];
  for await (const s of client.schedule.list()) if (s.scheduleId.startsWith(PREFIX)) out.push(s.scheduleId.slice(PREFIX.length));
  return out;
}

/**
 * Makes the server's journey schedules match `deployed`: one per schedule journey, in its paused
 * state; none for any other journey. A server without schedules is reported, not fatal: schedule
 * journeys then run only by `unbroken trigger`, and the log says so.
 */
export async function syncJourneySchedules(client: Client, taskQueue: string, deployed: readonly DeployedJourney[]): Promise<JourneyScheduleSync> {
  const sync: JourneyScheduleSync = { created: [], updated: [], deleted: [] };
  const wanted = new Map<string, { d: DeployedJourney; trigger: ScheduleTriggerPlan }>();
  for (const d of deployed) {
    const { trigger } = d.plan as JourneyPlan;
    if (isScheduleTrigger(trigger)) wanted.set(d.journeyId, { d, trigger });
  }
  try {
    for (const { d, trigger } of wanted.values()) sync[await upsert(client, taskQueue, d, trigger)].push(d.journeyId);
    for (const journeyId of await scheduledJourneys(client)) {
      if (wanted.has(journeyId)) continue;
      await deleteSchedule(client, journeyId);
      sync.deleted.push(journeyId);
    }
  } catch (err) {
    sync.problem = String(err);
    log().warn({ error: sync.problem }, 'journey schedules: could not set up the Temporal Schedules of schedule journeys; they enrol their audience only when `unbroken trigger` runs them');
  }
  return sync;
}

async function deleteSchedule(client: Client, journeyId: string): Promise<void> {
  await client.schedule
    .getHandle(journeyScheduleId(journeyId))
    .delete()
    .catch((err: unknown) => {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    });
}

/**
 * Pauses or unpauses a journey's schedule after `unbroken pause` / `resume` set the store's flag.
 * Answers whether there was one to change (a journey that is not schedule-triggered has none).
 */
export async function setJourneySchedulePaused(client: Client, journeyId: string, paused: boolean): Promise<boolean> {
  const handle = client.schedule.getHandle(journeyScheduleId(journeyId));
  try {
    if (paused) await handle.pause(`paused with unbroken pause ${journeyId}`);
    else await handle.unpause(`resumed with unbroken resume ${journeyId}`);
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}
