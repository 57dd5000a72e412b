/**
 * `unbroken trigger <journey-id>`: a broadcast ("send now") of a journey that starts from an
 * audience or a schedule. It starts the sweep workflow for that one journey (workflows/sweep.ts),
 * which enters everyone who matches now at the journey's `rate:`, and returns once that is under
 * way. For a schedule journey it is one occurrence, named by the time it was asked.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { DEFAULT_AUDIENCE_RATE, enrolsAudience, isDateTrigger, isScheduleTrigger, type AudienceTriggerPlan, type JourneyPlan, type ScheduleTriggerPlan } from '../compiler/plan';
import type { DeployedJourney } from '../profiles/store';
import type { Config } from '../worker/config';
import { withTemporalClient } from '../worker/connection';
import type { audienceSweepWorkflow } from '../workflows/sweep';
import { broadcastWorkflowId, SWEEP_WORKFLOW } from '../workflows/sweep-definitions';
import { withStore } from './live';

/** A journey that cannot be broadcast, with the reason in words (exit 1). */
export class NotBroadcastableError extends Error {}

/** How a journey that cannot be broadcast lets customers in, for the refusal. */
function entersBy(plan: JourneyPlan): string {
  const t = plan.trigger;
  if (isDateTrigger(t)) return `on a date of each customer's profile (${t.date}): each enters on their own day`;
  return `from the event "${String(t.event)}": customers enter it when that event arrives`;
}

/** A journey that `unbroken trigger` can broadcast. */
export type BroadcastPlan = JourneyPlan & { trigger: AudienceTriggerPlan | ScheduleTriggerPlan };

/** The deployed journey if it can be broadcast now; otherwise why not. */
export function broadcastable(journeyId: string, deployed: readonly DeployedJourney[]): BroadcastPlan {
  const found = deployed.find((d) => d.journeyId === journeyId);
  if (!found) {
    const known = deployed.map((d) => d.journeyId).sort();
    throw new NotBroadcastableError(`no journey "${journeyId}" is deployed (deployed: ${known.join(', ') || 'none'})`);
  }
  const plan = found.plan as JourneyPlan;
  if (!enrolsAudience(plan.trigger)) {
    throw new NotBroadcastableError(
      `journey "${journeyId}" starts ${entersBy(plan)}; only a journey with trigger: { audience: … } or { schedule: …, audience: … } can be triggered`,
    );
  }
  if (found.paused) throw new NotBroadcastableError(`journey "${journeyId}" is paused: run \`unbroken resume ${journeyId}\` first`);
  return { ...plan, trigger: plan.trigger };
}

/** Starts the broadcast; answers what to print. A broadcast of the journey already under way is joined, not doubled. */
export async function triggerJourney(config: Config, journeyId: string, now: Date = new Date()): Promise<string> {
  const plan = await withStore(config, async (store) => broadcastable(journeyId, await store.deployedJourneys()), { migrate: false });
  return withTemporalClient(config.temporal, async (client) => {
    const workflowId = broadcastWorkflowId(journeyId);
    const rate = `at most ${plan.rate ?? DEFAULT_AUDIENCE_RATE} a second`;
    // A schedule journey's "send now" is an occurrence of its own, named by the time it was asked.
    const occurrence = isScheduleTrigger(plan.trigger) ? now.toISOString() : undefined;
    try {
      await client.workflow.start<typeof audienceSweepWorkflow>(SWEEP_WORKFLOW, {
        workflowId,
        taskQueue: config.temporal.taskQueue,
        args: [{ journeyId, ...(occurrence ? { occurrence } : {}) }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      return `a broadcast of ${journeyId} is already under way (workflow ${workflowId}); follow it with \`unbroken stats ${journeyId}\``;
    }
    const what = occurrence ? ` (occurrence ${occurrence})` : '';
    return `broadcast of ${journeyId}${what} under way: everyone in audience ${plan.trigger.audience} who may enter is entered, ${rate} (workflow ${workflowId}); follow it with \`unbroken stats ${journeyId}\``;
  });
}
