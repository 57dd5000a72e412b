/**
 * Names and shapes of the audience sweep and broadcasts shared by the workflow (./sweep.ts) and
 * its callers (the worker's schedule, `unbroken trigger`), so none is spelt twice.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { LeaversCursor } from '../activities/audience-leavers';
import type { AudienceTarget } from '../activities/audience-sweep';

/** Workflow type name registered by the worker. */
export const SWEEP_WORKFLOW = 'audienceSweepWorkflow';

/** Id of the Temporal Schedule that runs the sweep; each run's workflow id starts with SWEEP_WORKFLOW_ID. */
export const SWEEP_SCHEDULE_ID = 'unbroken-audience-sweep';
export const SWEEP_WORKFLOW_ID = 'audience-sweep';

/** Workflow id of the broadcast of a journey: one at a time per journey. */
export function broadcastWorkflowId(journeyId: string): string {
  return `broadcast:${journeyId}`;
}

/**
 * Each enrolAudience call stops after about a minute and heartbeats its cursor after every
 * customer, so a worker that dies mid-page is noticed within the heartbeat timeout and the retry
 * goes on from the last customer done.
 */
export const SWEEP_ACTIVITY_POLICY: ActivityOptions = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

/** Id of the Temporal Schedule of a schedule journey (worker/journey-schedules.ts). */
export function journeyScheduleId(journeyId: string): string {
  return `unbroken-journey:${journeyId}`;
}

/** Workflow id (before the time Temporal appends) of a schedule journey's firings. */
export function scheduledWorkflowId(journeyId: string): string {
  return `schedule:${journeyId}`;
}

export interface SweepInput {
  /** A broadcast names its journey; the sweep none. */
  journeyId?: string;
  /** The occurrence a schedule journey's broadcast enrols (ISO time): `unbroken trigger` names the time it was asked. */
  occurrence?: string;
  /** Fired by the journey's Temporal Schedule: the occurrence is the firing's scheduled time. */
  scheduled?: true;
  /** Decide the audiences at this time instead of the workflow's start (tests, and continue-as-new). */
  nowMs?: number;
  /** Carried across continue-as-new: the journeys, where it stopped, and the counts so far. */
  targets?: AudienceTarget[];
  index?: number;
  after?: string;
  progress?: SweepProgress;
  /** Carried across continue-as-new: where the pass over runs that left their audience stands. */
  leaversFrom?: LeaversCursor;
}

export interface SweepProgress {
  journeys: string[];
  matched: number;
  entered: number;
  /** Runs the sweep told that their customer left the audience (time alone took them out). */
  left?: number;
  /** Journeys left unfinished because they were paused or redeployed meanwhile. */
  stopped: { journeyId: string; reason: string }[];
  done?: boolean;
}
