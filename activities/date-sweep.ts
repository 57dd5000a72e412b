/**
 * The activity of the date sweep (workflows/sweep.ts; the sweep's audienceTargets names the date
 * journeys): entering the customers of one date journey whose date has come, page by page in customer id order,
 * at the journey's `rate:`. The store narrows the customers to those whose date reads as a day
 * around now; each is decided by core/date-triggers.ts in their own zone, and entered with the
 * occurrence as the run's key by the router's own path, so nobody enters one occurrence twice
 * however often a page is gone through again (or an identify entered them first).
 */
import { Context } from '@temporalio/activity';
import { DEFAULT_AUDIENCE_RATE, isDateTrigger, type JourneyPlan } from '../compiler/plan';
import { dateEntry, dueCandidates } from '../core/date-triggers';
import type { LiveStore } from '../profiles/store';
import { pacer, stillLive, type AudienceEnterer, type AudienceTarget, type EnrolAudienceResult } from './audience-sweep';

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
    const ctx = Context.current();
    // A retried call goes on from the last customer its previous attempt heartbeated.
    const resumed = ctx.info.heartbeatDetails as { after: string; matched: number; entered: number } | undefined;
    const progress = { after: resumed?.after ?? input.after, matched: resumed?.matched ?? 0, entered: resumed?.entered ?? 0 };
    const plan = (await deps.store.journeyVersion(input.journeyId, input.version))?.plan as JourneyPlan | undefined;
    if (!plan || !isDateTrigger(plan.trigger)) return { matched: progress.matched, entered: progress.entered, stopped: 'redeployed' };
    const trigger = plan.trigger;
    const candidates = dueCandidates(trigger, input.nowMs);
    const pace = pacer(plan.rate ?? DEFAULT_AUDIENCE_RATE);
    const began = Date.now();
    for (;;) {
      // A pause or a new version takes effect before the next page.
      const stopped = await stillLive(deps.store, input);
      if (stopped) return { matched: progress.matched, entered: progress.entered, stopped };
      const page = await deps.store.datePage({
        journeyId: plan.journey,
        path: trigger.date,
        every: trigger.every,
        ...candidates,
        nowMs: input.nowMs,
        after: progress.after,
        limit: pageSize,
        alsoReads: [trigger.where],
      });
      for (const { id, facts, done } of page.candidates) {
        const entry = dateEntry(trigger, facts, deps.defaultTimezone, input.nowMs);
        // A customer whose occurrence ran already is not asked about again (the store would refuse it).
        if (entry && !done.includes(entry.occurrence)) {
          progress.matched++;
          await pace();
          if (await deps.router.enterFromAudience(plan, id, entry.trigger, entry.occurrence)) progress.entered++;
        }
        progress.after = id;
        ctx.heartbeat(progress);
      }
      if (page.next === undefined) return { matched: progress.matched, entered: progress.entered };
      if (Date.now() - began > budgetMs) return { ...progress };
    }
  }

  return { enrolDates };
}
