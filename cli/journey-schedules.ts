/**
 * The CLI's side of the per-journey Temporal Schedules (worker/journey-schedules.ts): `unbroken
 * deploy` reconciles them when a deploy touches a schedule journey, `unbroken pause` / `resume`
 * pause and unpause one. Temporal out of reach is not a failed command: the store holds what was
 * deployed or paused, and the next `unbroken worker` or `start` reconciles the schedules.
 */
import type { Client } from '@temporalio/client';
import { isScheduleTrigger, type JourneyPlan } from '../compiler/plan';
import type { DeployResult, LiveStore } from '../profiles/store';
import type { Config } from '../worker/config';
import { withTemporalClient } from '../worker/connection';
import { setJourneySchedulePaused, syncJourneySchedules } from '../worker/journey-schedules';

const CONNECT_TIMEOUT_MS = 5000;

const withClient = <T>(temporal: Config['temporal'], fn: (client: Client) => Promise<T>) => withTemporalClient(temporal, fn, { connectTimeoutMs: CONNECT_TIMEOUT_MS });

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Whether the deploy published or withdrew a journey that is, or was, schedule-triggered. */
async function touchesSchedules(store: LiveStore, result: DeployResult & { plans: JourneyPlan[] }): Promise<boolean> {
  if (result.plans.some((p) => isScheduleTrigger(p.trigger))) return true;
  const before = [
    ...result.published.flatMap((p) => (p.previous ? [{ journeyId: p.journeyId, version: p.previous }] : [])),
    ...(result.withdrawn ?? []),
  ];
  for (const { journeyId, version } of before) {
    const plan = (await store.journeyVersion(journeyId, version))?.plan as JourneyPlan | undefined;
    if (plan && isScheduleTrigger(plan.trigger)) return true;
  }
  return false;
}

/** After a deploy: makes the schedules match what is deployed now. Answers a line to print, if any. */
export async function reconcileAfterDeploy(config: Config, store: LiveStore, result: DeployResult & { plans: JourneyPlan[] }): Promise<string | undefined> {
  if (!(await touchesSchedules(store, result))) return undefined;
  const deployed = await store.deployedJourneys();
  try {
    const sync = await withClient(config.temporal, (client) => syncJourneySchedules(client, config.temporal.taskQueue, deployed));
    if (sync.problem) return `schedules not set up: ${sync.problem}`;
    const parts = [
      ...sync.created.map((id) => `created ${id}`),
      ...sync.updated.map((id) => `updated ${id}`),
      ...sync.deleted.map((id) => `deleted ${id}`),
    ];
    return parts.length ? `schedules: ${parts.join(', ')}` : undefined;
  } catch (err) {
    return `schedules not set up: Temporal at ${config.temporal.address} is out of reach (${reason(err)}); the next unbroken worker or start sets them up`;
  }
}

/** After `unbroken pause` / `resume` of a schedule journey: pauses or unpauses its schedule. Answers a line to print, if any. */
export async function pauseJourneySchedule(config: Config, plan: JourneyPlan, paused: boolean): Promise<string | undefined> {
  if (!isScheduleTrigger(plan.trigger)) return undefined;
  try {
    const found = await withClient(config.temporal, (client) => setJourneySchedulePaused(client, plan.journey, paused));
    if (found) return `its schedule (${plan.trigger.schedule.cron}, ${plan.trigger.schedule.timezone}) is ${paused ? 'paused' : 'running again'}`;
    return 'it has no schedule on the server yet; the next unbroken worker or start sets it up';
  } catch (err) {
    // The store's flag holds meanwhile: a firing of a paused journey enters nobody.
    return `its schedule could not be ${paused ? 'paused' : 'resumed'} (${reason(err)}); the next unbroken worker or start does it`;
  }
}
