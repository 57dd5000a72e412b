/**
 * Events the run received that no `wait_for` took, kept for a later `wait_for ... since: entry`.
 * Only the event names such waits of the plan name are kept, so a plan without `since: entry`
 * keeps nothing and its runs behave (and replay) exactly as before.
 */
import { stepBranches, type JourneyPlan, type Step, type TrackEvent } from '../../compiler/plan';

/** At most this many are kept; beyond it the oldest goes. Events live in workflow state and history. */
export const KEPT_EVENTS_LIMIT = 50;

export class EarlierEvents {
  private readonly names: ReadonlySet<string>;
  private readonly kept: TrackEvent[] = [];

  constructor(plan: JourneyPlan) {
    this.names = sinceEntryEventNames(plan.steps);
  }

  /** Keeps an event no wait took, when a `since: entry` wait of the plan names it. */
  keep(event: TrackEvent): void {
    if (!this.names.has(event.event)) return;
    this.kept.push(event);
    if (this.kept.length > KEPT_EVENTS_LIMIT) this.kept.shift();
  }

  /** Removes and returns the oldest kept event that `matches`, so no later wait takes it again. */
  take(matches: (event: TrackEvent) => boolean): TrackEvent | undefined {
    const i = this.kept.findIndex(matches);
    return i < 0 ? undefined : this.kept.splice(i, 1)[0];
  }
}

function sinceEntryEventNames(steps: readonly Step[], names = new Set<string>()): Set<string> {
  for (const step of steps) {
    if (step.kind === 'wait_for' && step.sinceEntry) names.add(step.event);
    for (const branch of stepBranches(step)) sinceEntryEventNames(branch, names);
  }
  return names;
}
