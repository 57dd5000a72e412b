/**
 * The activity of the date sweep (workflows/sweep.ts; the sweep's audienceTargets names the date
 * journeys): entering the customers of one date journey whose date has come, page by page in customer id order,
 * at the journey's `rate:`. The store narrows the customers to those whose date reads as a day
 * around now; each is decided by core/date-triggers.ts in their own zone, and entered with the
 * occurrence as the run's key by the router's own path, so nobody enters one occurrence twice
 * however often a page is gone through again (or an identify entered them first).
 */
import { isDateTrigger } from '../compiler/plan';
import { dateEntry, dueCandidates } from '../core/date-triggers';
import type { LiveStore } from '../profiles/store';
import { enterPages, resumedCounts, sweptPlan, type AudienceEnterer, type AudienceTarget, type EnrolAudienceResult } from './audience-sweep';

export interface DateSweepDeps {
  store: LiveStore;
  router: AudienceEnterer;
  /** The zone of a customer whose profile names none (UNBROKEN_DEFAULT_TIMEZONE). */
  defaultTimezone: string;
  /** Customers read per page (default 100). */
  pageSize?: number;
  /** How long one activity call goes on before it hands its cursor back to the workflow (default 60 s). */
  budgetMs?: number;
}

export interface EnrolDatesInput extends AudienceTarget {
  /** The time the dates are decided at: the sweep's start. */
  nowMs: number;
  /** The last customer id already gone through; '' to begin. */
  after: string;
}

/** The activity as the workflow calls it (for the targets audienceTargets marks `kind: 'date'`); `import type` this from `workflows/`. */
export interface DateSweepActivities {
  enrolDates(input: EnrolDatesInput): Promise<EnrolAudienceResult>;
}

/** Builds the date sweep's activities over the store and the router. */
export function createDateSweep(deps: DateSweepDeps): DateSweepActivities {
  const pageSize = deps.pageSize ?? 100;
  const budgetMs = deps.budgetMs ?? 60_000;

  async function enrolDates(input: EnrolDatesInput): Promise<EnrolAudienceResult> {
    const swept = await sweptPlan(deps.store, input, isDateTrigger);
    if (!swept) return { ...resumedCounts(), stopped: 'redeployed' };
    const { plan, trigger } = swept;
    const candidates = dueCandidates(trigger, input.nowMs);
    return enterPages({
      store: deps.store,
      router: deps.router,
      plan,
      input,
      budgetMs,
      page: async (after) => {
        const page = await deps.store.datePage({ journeyId: plan.journey, path: trigger.date, every: trigger.every, ...candidates, nowMs: input.nowMs, after, limit: pageSize, alsoReads: [trigger.where] });
        const decided = page.candidates.map(({ id, facts, done }) => {
          const entry = dateEntry(trigger, facts, deps.defaultTimezone, input.nowMs);
          // A customer whose occurrence ran already is not asked about again (the store would refuse it).
          return entry && !done.includes(entry.occurrence) ? { id, entry } : { id };
        });
        return { candidates: decided, ...(page.next === undefined ? {} : { next: page.next }) };
      },
    });
  }

  return { enrolDates };
}
