/**
 * The Temporal Schedule that runs the audience sweep (workflows/sweep.ts) every
 * UNBROKEN_AUDIENCE_SWEEP_INTERVAL. `unbroken start` and `unbroken worker` make it match the
 * configuration at start: created when missing, updated when present (so several workers starting
 * at once agree), deleted when the setting is `off`.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptionsStartWorkflowAction, type ScheduleSpec } from '@temporalio/client';
import { log } from '../observability/log';
import type { audienceSweepWorkflow } from '../workflows/sweep';
import { SWEEP_SCHEDULE_ID, SWEEP_WORKFLOW, SWEEP_WORKFLOW_ID } from '../workflows/sweep-definitions';

/** What the schedule does, and when. */
function definition(taskQueue: string, intervalMs: number): { spec: ScheduleSpec; action: ScheduleOptionsStartWorkflowAction<typeof audienceSweepWorkflow> } {
  return {
    spec: { intervals: [{ every: intervalMs }] },
    action: { type: 'startWorkflow', workflowType: SWEEP_WORKFLOW, workflowId: SWEEP_WORKFLOW_ID, taskQueue, args: [{}] },
  };
}

/**
 * Creates or updates the sweep's schedule to the given interval, or deletes it when `intervalMs`
 * is undefined. A sweep still running when the next is due is not doubled: the next is skipped.
 * A server without schedules (Temporal's time-skipping test server) is reported, not fatal:
 * journeys run without the sweep there, and the log says so.
 */
export async function ensureSweepSchedule(client: Client, taskQueue: string, intervalMs: number | undefined): Promise<void> {
  const handle = client.schedule.getHandle(SWEEP_SCHEDULE_ID);
  try {
    if (intervalMs === undefined) {
      await handle.delete().catch((err: unknown) => {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      });
      return;
    }
    const { spec, action } = definition(taskQueue, intervalMs);
    try {
      await client.schedule.create({ scheduleId: SWEEP_SCHEDULE_ID, spec, action, policies: { overlap: 'SKIP' } });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await handle.update((previous) => ({ ...previous, spec, action, policies: { ...previous.policies, overlap: 'SKIP' } }));
    }
  } catch (err) {
    log().warn({ schedule: SWEEP_SCHEDULE_ID, error: String(err) }, `audience sweep: could not set up the schedule ${SWEEP_SCHEDULE_ID}; customers who match an audience by time alone are not entered until it is`);
  }
}
