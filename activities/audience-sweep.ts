/**
 * The activities of the audience sweep and of broadcasts (workflows/sweep.ts): which audience
 * journeys to go through, and entering the customers of one of them who match now, page by page
 * in customer id order, at the journey's `rate:`. Entry takes the router's own path
 * (JourneyRouter.enterFromAudience), so the store's enrolment decides under the re-entry rule and
 * nobody is inside a journey twice, however often a page is gone through again. A schedule
 * journey's broadcast enrols one occurrence (a firing of its schedule): the store enters each
 * customer at most once per occurrence.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_AUDIENCE_RATE, enrolsAudience, isAudienceTrigger, isDateTrigger, isScheduleTrigger, type JourneyPlan, type TrackEvent, type TriggerPlan } from '../compiler/plan';
import { audienceTriggerMatches, readsTime } from '../core/audiences';
import type { AudiencePageOptions, LiveStore } from '../profiles/store';
import { audienceEnteredTrigger } from '../routing/audiences';

/** Who enters a customer: the router (routing/router.ts). */
export interface AudienceEnterer {
  enterFromAudience(plan: JourneyPlan, customerId: string, trigger: TrackEvent, occurrence?: string): Promise<boolean>;
}

export interface AudienceSweepDeps {
  store: LiveStore;
  router: AudienceEnterer;
  /** Customers read per page (default 100). */
  pageSize?: number;
  /** How long one activity call goes on before it hands its cursor back to the workflow (default 60 s). */
  budgetMs?: number;
}

/** One audience journey to go through: its deployed version, when the sweep or broadcast began. */
export interface AudienceTarget {
  journeyId: string;
  version: string;
  /** A date journey, whose customers the date sweep enters (activities/date-sweep.ts); absent: an audience journey. */
  kind?: 'date';
}

export interface AudienceTargetsInput {
  /** A broadcast names its journey; the sweep names none and gets every journey that time alone can change. */
  journeyId?: string;
}

export interface EnrolAudienceInput extends AudienceTarget {
  /** The time the audience is decided at: the sweep's or broadcast's start. */
  nowMs: number;
  /** The last customer id already gone through; '' to begin. */
  after: string;
  /** A schedule journey's occurrence this broadcast enrols (its scheduled time, ISO); each customer enters it once. */
  occurrence?: string;
  /** Set for a broadcast (not the sweep): its counts before this call, to which this call's are added in the store for `unbroken stats`. */
  broadcast?: { matched: number; entered: number };
}

/** Progress of one call; `after` is the cursor to go on from, absent once the audience is gone through. */
export interface EnrolAudienceResult {
  after?: string;
  /** Customers found matching. */
  matched: number;
  /** Customers entered (the others were inside, or kept out by the re-entry rule). */
  entered: number;
  /** Set when the journey was paused, withdrawn or redeployed meanwhile: the rest is left. */
  stopped?: 'paused' | 'redeployed';
}

/** The activities as the workflow calls them; `import type` this from `workflows/`. */
export interface AudienceSweepActivities {
  audienceTargets(input: AudienceTargetsInput): Promise<AudienceTarget[]>;
  enrolAudience(input: EnrolAudienceInput): Promise<EnrolAudienceResult>;
}

/** Error type of a broadcast asked for a journey that cannot be broadcast (not retried). */
export const NOT_BROADCASTABLE = 'NotBroadcastable';

/** Whether the sweep needs to look at this journey: an unpaused audience journey whose audience or where reads time. */
export function sweptByTime(plan: JourneyPlan): boolean {
  return isAudienceTrigger(plan.trigger) && readsTime(plan.trigger.members, plan.trigger.where);
}

/**
 * Whom the page may leave out because the re-entry rule would refuse them anyway, so a sweep does
 * not ask the store's enrolment (a write) about every customer inside or cooling down each time.
 */
export function outsideRule(plan: JourneyPlan, nowMs: number): AudiencePageOptions['outside'] {
  const rule = plan.reEntry;
  if (rule.mode !== 'cooldown') return { journeyId: plan.journey, ever: rule.mode === 'never' };
  return { journeyId: plan.journey, ever: false, enteredSince: new Date(nowMs - rule.ms).toISOString() };
}

/**
 * Entries a call has under way at once, within the journey's rate: one at a time, a broadcast
 * entered no faster than one entry's round trips allow (a store transaction and a workflow start,
 * 50-70 ms each on the 2-core bench box: ~15-20 a second), whatever its `rate:`.
 */
const ENTRIES_IN_FLIGHT = 20;

/**
 * Runs `fn` over `items`, at most `limit` at once, and hands each result to `settled` in the
 * items' order once it and everything before it are done, so the cursor a heartbeat carries never
 * passes a customer whose entry is still under way. After a failure no new item is begun.
 */
async function inOrder<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>, settled: (item: T, result: R) => void): Promise<void> {
  const results = new Map<number, R>();
  let next = 0;
  let done = 0;
  let failed = false;
  const lane = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results.set(i, await fn(items[i]));
      } catch (err) {
        failed = true;
        throw err;
      }
      for (; results.has(done); done++) settled(items[done], results.get(done) as R);
    }
  };
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, lane));
  const rejected = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** The counts a retried call's previous attempt heartbeated (zero on a first attempt), for a call that stops at once. */
export function resumedCounts(): { matched: number; entered: number } {
  const resumed = Context.current().info.heartbeatDetails as { matched: number; entered: number } | undefined;
  return { matched: resumed?.matched ?? 0, entered: resumed?.entered ?? 0 };
}

/**
 * The plan of the version a sweep call was handed, with its trigger, while that version still
 * starts as `kind` says; undefined when the journey was redeployed otherwise (the call stops).
 */
export async function sweptPlan<T extends TriggerPlan>(
  store: LiveStore,
  input: { journeyId: string; version: string },
  kind: (trigger: TriggerPlan) => trigger is T,
): Promise<{ plan: JourneyPlan; trigger: T } | undefined> {
  const plan = (await store.journeyVersion(input.journeyId, input.version))?.plan as JourneyPlan | undefined;
  return plan && kind(plan.trigger) ? { plan, trigger: plan.trigger } : undefined;
}

/** A wait before each entry that keeps entries at `rate` per second at most. */
function pacer(rate: number): () => Promise<void> {
  const gapMs = 1000 / rate;
  let next = Date.now();
  return async () => {
    // The slot is taken before waiting, so entries in flight side by side keep to the rate too.
    const at = Math.max(next, Date.now());
    next = at + gapMs;
    if (at > Date.now()) await new Promise((resolve) => setTimeout(resolve, at - Date.now()));
  };
}

/** Is the target still the live, unpaused version? Otherwise why not. */
async function stillLive(store: LiveStore, target: AudienceTarget): Promise<EnrolAudienceResult['stopped']> {
  const now = (await store.deployedJourneys()).find((d) => d.journeyId === target.journeyId);
  if (!now || now.paused) return 'paused';
  return now.version === target.version ? undefined : 'redeployed';
}

/** One customer of a page: their id, and the entry to make when they match now (absent: they do not). */
export interface PageCandidate {
  id: string;
  entry?: { trigger: TrackEvent; occurrence?: string };
}

/** How one call of the audience or date sweep goes through its journey's customers. */
export interface PagedEntry {
  store: LiveStore;
  router: AudienceEnterer;
  plan: JourneyPlan;
  input: AudienceTarget & { after: string };
  budgetMs: number;
  /** One page of customers after `after`, each decided; `next` absent once the last is read. */
  page(after: string): Promise<{ candidates: PageCandidate[]; next?: string }>;
  /** Sees each result before it is handed back (a broadcast keeps its numbers in the store). */
  report?(result: EnrolAudienceResult): Promise<EnrolAudienceResult>;
}

/**
 * The loop of both sweeps' entering calls: from where the input, or a retried attempt's
 * heartbeat, stopped, page by page; a pause or a new version stops it before the next page; the
 * matching customers are entered by the router, up to ENTRIES_IN_FLIGHT at once within the
 * journey's `rate:`; the cursor is heartbeated after each customer and handed back to the
 * workflow after `budgetMs`.
 */
export async function enterPages(e: PagedEntry): Promise<EnrolAudienceResult> {
  const ctx = Context.current();
  const report = e.report ?? (async (result: EnrolAudienceResult) => result);
  // A retried call goes on from the last customer its previous attempt heartbeated.
  const resumed = ctx.info.heartbeatDetails as { after: string; matched: number; entered: number } | undefined;
  const progress = { after: resumed?.after ?? e.input.after, matched: resumed?.matched ?? 0, entered: resumed?.entered ?? 0 };
  if (e.input.after === '' && !resumed) await report({ after: '', matched: 0, entered: 0 });
  const pace = pacer(e.plan.rate ?? DEFAULT_AUDIENCE_RATE);
  const began = Date.now();
  for (;;) {
    const stopped = await stillLive(e.store, e.input);
    if (stopped) return report({ matched: progress.matched, entered: progress.entered, stopped });
    const page = await e.page(progress.after);
    await inOrder(
      page.candidates,
      ENTRIES_IN_FLIGHT,
      async ({ id, entry }) => {
        if (!entry) return { matched: false, entered: false };
        await pace();
        return { matched: true, entered: await e.router.enterFromAudience(e.plan, id, entry.trigger, entry.occurrence) };
      },
      ({ id }, done) => {
        if (done.matched) progress.matched++;
        if (done.entered) progress.entered++;
        progress.after = id;
        ctx.heartbeat(progress);
      },
    );
    if (page.next === undefined) return report({ matched: progress.matched, entered: progress.entered });
    if (Date.now() - began > e.budgetMs) return report({ ...progress });
    await report({ ...progress });
  }
}

/**
 * Keeps a broadcast's numbers so far in the store (`unbroken stats`), after every page; the sweep
 * writes none. `result` is this call's; the result is handed back for the workflow.
 */
async function recordBroadcast(store: LiveStore, input: EnrolAudienceInput, occurrence: string | undefined, result: EnrolAudienceResult): Promise<EnrolAudienceResult> {
  if (!input.broadcast) return result;
  await store.recordBroadcast({
    journeyId: input.journeyId,
    beganAt: new Date(input.nowMs).toISOString(),
    ...(occurrence ? { occurrence } : {}),
    matched: input.broadcast.matched + result.matched,
    entered: input.broadcast.entered + result.entered,
    ...(result.after === undefined ? { finishedAt: new Date().toISOString() } : {}),
    ...(result.stopped ? { stopped: result.stopped } : {}),
  });
  return result;
}

/** Builds the sweep's activities over the store and the router. */
export function createAudienceSweep(deps: AudienceSweepDeps): AudienceSweepActivities {
  const pageSize = deps.pageSize ?? 100;
  const budgetMs = deps.budgetMs ?? 60_000;

  async function audienceTargets({ journeyId }: AudienceTargetsInput): Promise<AudienceTarget[]> {
    const live = (await deps.store.deployedJourneys()).filter((d) => !d.paused);
    if (journeyId === undefined) {
      // Date journeys too: time alone brings each customer's day.
      return live.flatMap(({ journeyId: id, version, plan }) =>
        sweptByTime(plan as JourneyPlan) ? [{ journeyId: id, version }] : isDateTrigger((plan as JourneyPlan).trigger) ? [{ journeyId: id, version, kind: 'date' as const }] : [],
      );
    }
    const found = live.find((d) => d.journeyId === journeyId);
    if (!found || !enrolsAudience((found.plan as JourneyPlan).trigger)) {
      throw ApplicationFailure.nonRetryable(`journey "${journeyId}" is not a deployed, unpaused journey that starts from an audience or a schedule`, NOT_BROADCASTABLE);
    }
    return [{ journeyId, version: found.version }];
  }

  async function enrolAudience(input: EnrolAudienceInput): Promise<EnrolAudienceResult> {
    const swept = await sweptPlan(deps.store, input, enrolsAudience);
    if (!swept) return { ...resumedCounts(), stopped: 'redeployed' };
    const { plan, trigger } = swept;
    // Only a schedule journey has occurrences; an audience journey's broadcast is under its re-entry rule alone.
    const occurrence = isScheduleTrigger(trigger) ? input.occurrence : undefined;
    const event = audienceEnteredTrigger(trigger.audience, new Date(input.nowMs).toISOString());
    const entry = { trigger: event, ...(occurrence ? { occurrence } : {}) };
    return enterPages({
      store: deps.store,
      router: deps.router,
      plan,
      input,
      budgetMs,
      report: (result) => recordBroadcast(deps.store, input, occurrence, result),
      page: async (after) => {
        const page = await deps.store.audiencePage(trigger.members, { nowMs: input.nowMs, after, limit: pageSize, alsoReads: [trigger.where], outside: outsideRule(plan, input.nowMs) });
        const candidates = page.candidates.map(({ id, facts }) => (audienceTriggerMatches(trigger, event, facts, input.nowMs) ? { id, entry } : { id }));
        return { candidates, ...(page.next === undefined ? {} : { next: page.next }) };
      },
    });
  }

  return { audienceTargets, enrolAudience };
}
