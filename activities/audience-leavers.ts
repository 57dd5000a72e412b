/**
 * The audience sweep's other half: customers who stop matching an audience by time alone (their
 * last order is no longer "within 30 days") leave the journeys that say `exit_when: - left_audience:
 * true`. Without a call of theirs nothing else would notice; a routed identify or track tells the
 * runs of that one customer (routing/router.ts audienceEntries), this goes through every run.
 */
import { Context } from '@temporalio/activity';
import { isAudienceTrigger, type JourneyPlan, type TrackEvent } from '../compiler/plan';
import { audienceMatches, exitsOnLeavingAudience, readsTime } from '../core/audiences';
import type { Enrolment, LiveStore } from '../profiles/store';
import { loadFacts } from '../routing/audiences';

/** Who tells a run its customer left: the router (routing/router.ts). */
export interface AudienceLeaving {
  tellLeftAudience(run: Enrolment, audience: string, cause: TrackEvent): Promise<void>;
}

export interface AudienceLeaversDeps {
  store: LiveStore;
  router: AudienceLeaving;
  /** Runs read per page (default 100). */
  pageSize?: number;
  /** How long one call goes on before it hands its cursor back to the workflow (default 60 s). */
  budgetMs?: number;
}

/** Where a pass over the journeys' runs stands: the journey, and the last customer gone through in it. */
export interface LeaversCursor {
  journeyId: string;
  afterCustomer: string;
}

export interface ExitLeaversInput {
  /** The time the audiences are decided at: the sweep's start. */
  nowMs: number;
  /** Where to go on from; absent to begin. */
  from?: LeaversCursor;
}

export interface ExitLeaversResult {
  /** Runs told that their customer left. */
  left: number;
  /** Where the next call goes on from; absent once every journey is gone through. */
  next?: LeaversCursor;
}

export interface AudienceLeaversActivities {
  exitLeavers(input: ExitLeaversInput): Promise<ExitLeaversResult>;
}

/**
 * Whether the sweep looks for leavers of this journey: its live version starts from an audience
 * that time alone can change and ends runs that leave it. A paused journey counts too: the
 * customers inside it go on, and leaving ends their runs as ever.
 */
export function sweptForLeavers(plan: JourneyPlan): boolean {
  return isAudienceTrigger(plan.trigger) && exitsOnLeavingAudience(plan) && readsTime(plan.trigger.members);
}

/**
 * What the sweep names as the cause of a run's leaving: one per sweep and run, so a retried call
 * (or a second sweep at the same instant) tells a run once; the run drops a repeated messageId.
 */
export function sweepCause(nowMs: number, run: Enrolment): TrackEvent {
  const at = new Date(nowMs).toISOString();
  return { event: 'audience_sweep', properties: {}, timestamp: at, messageId: `sweep:${at}:${run.workflowId}` };
}

/** Builds the activity over the store and the router. */
export function createAudienceLeavers(deps: AudienceLeaversDeps): AudienceLeaversActivities {
  const pageSize = deps.pageSize ?? 100;
  const budgetMs = deps.budgetMs ?? 60_000;

  /** True when the run's own version ends on leaving, and its customer no longer matches at `nowMs`. */
  async function hasLeft(run: Enrolment, plans: Map<string, JourneyPlan | undefined>, nowMs: number): Promise<string | undefined> {
    const version = `${run.journeyId}@${run.version}`;
    if (!plans.has(version)) plans.set(version, (await deps.store.journeyVersion(run.journeyId, run.version))?.plan as JourneyPlan | undefined);
    const plan = plans.get(version);
    if (!plan || !isAudienceTrigger(plan.trigger) || !exitsOnLeavingAudience(plan)) return undefined;
    const facts = await loadFacts(deps.store, run.customerId, [plan.trigger.members], nowMs);
    return audienceMatches(plan.trigger.members, facts, nowMs) ? undefined : plan.trigger.audience;
  }

  async function exitLeavers(input: ExitLeaversInput): Promise<ExitLeaversResult> {
    const ctx = Context.current();
    // A retried call goes on from the last run its previous attempt heartbeated.
    const resumed = ctx.info.heartbeatDetails as { cursor: LeaversCursor; left: number } | undefined;
    let cursor = resumed?.cursor ?? input.from;
    let left = resumed?.left ?? 0;
    const journeys = (await deps.store.deployedJourneys())
      .filter((d) => sweptForLeavers(d.plan as JourneyPlan))
      .map((d) => d.journeyId)
      .sort();
    const plans = new Map<string, JourneyPlan | undefined>();
    const began = Date.now();
    for (const journeyId of journeys) {
      if (cursor && journeyId < cursor.journeyId) continue;
      let after = cursor?.journeyId === journeyId ? cursor.afterCustomer : '';
      for (;;) {
        const page = await deps.store.activeRunsPage(journeyId, after, pageSize);
        for (const run of page) {
          const audience = await hasLeft(run, plans, input.nowMs);
          if (audience !== undefined) {
            await deps.router.tellLeftAudience(run, audience, sweepCause(input.nowMs, run));
            left++;
          }
          after = run.customerId;
          cursor = { journeyId, afterCustomer: after };
          ctx.heartbeat({ cursor, left });
        }
        if (page.length < pageSize) break;
        if (Date.now() - began > budgetMs) return { left, next: { journeyId, afterCustomer: after } };
      }
    }
    return { left };
  }

  return { exitLeavers };
}
