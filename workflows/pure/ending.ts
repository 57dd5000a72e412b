/** How a journey ends, and which incoming events end it. */
import type { JourneyPlan, TrackEvent } from '../../compiler/plan';
import { matchesEvent, type Scope } from '../../core/index';
import type { Outcome } from '../definitions';

/** The outcome of a run, the step it ended in, and why (for exits and failures). */
export interface Ending {
  outcome: Outcome;
  step: string;
  reason?: string;
  /** More about the reason for the last timeline entry, e.g. the unreadable value of an invalid date. */
  detail?: Record<string, unknown>;
}

/**
 * The ending an event brings while the customer is in `step`: the goal converts, an `exit_when`
 * event exits; anything else leaves the journey running. The goal wins when an event is both.
 */
export function endingForEvent(plan: Pick<JourneyPlan, 'goal' | 'exitWhen'>, event: TrackEvent, scope: Scope, nowMs: number, step: string): Ending | undefined {
  if (plan.goal && matchesEvent(plan.goal, event, scope, nowMs)) return { outcome: 'converted', step, reason: event.event };
  if (plan.exitWhen.some((m) => matchesEvent(m, event, scope, nowMs))) return { outcome: 'exited', step, reason: `exit_when ${event.event}` };
  return undefined;
}
