/**
 * Date journeys in the router: an identify or track of a customer enters them into each unpaused
 * date journey whose occurrence is due now (core/date-triggers.ts), so a profile that gets or
 * changes its date on the day, after `at`, fires at once rather than at the next sweep.
 */
import { isDateTrigger, type JourneyPlan } from '../compiler/plan';
import { dateEntry, type DateEntry } from '../core/date-triggers';
import type { LiveStore } from '../profiles/store';
import { loadFacts } from './audiences';

/**
 * The date journeys, of `journeys`, that enter the customer at `nowMs`, each with its occurrence
 * and trigger. Reads the customer's facts once for all of them, and nothing when none is a date journey.
 */
export async function dueDateEntries(
  store: LiveStore,
  customerId: string,
  journeys: readonly JourneyPlan[],
  defaultZone: string,
  nowMs: number,
): Promise<{ plan: JourneyPlan; entry: DateEntry }[]> {
  const dated = journeys.flatMap((plan) => (isDateTrigger(plan.trigger) ? [{ plan, trigger: plan.trigger }] : []));
  if (dated.length === 0) return [];
  const facts = await loadFacts(store, customerId, dated.map((d) => d.trigger.where), nowMs);
  return dated.flatMap(({ plan, trigger }) => {
    const entry = dateEntry(trigger, facts, defaultZone, nowMs);
    return entry ? [{ plan, entry }] : [];
  });
}
