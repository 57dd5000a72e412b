/**
 * Schedule journeys in `unbroken simulate` and `unbroken test`: simulated time passing reaches the
 * schedule's times. Each cron time from the start to the last scripted event is a firing, put in
 * the script as the event the live broadcast enters with (`audience_entered` of the journey's
 * audience); at a firing the customer enters if they are in the audience then, once per
 * occurrence. A firing belongs to its journey alone: no other journey enters on it or hears it.
 */
import { scheduleTimes } from '../compiler/schedule-trigger';
import { isScheduleTrigger, type JourneyPlan, type ScheduleTriggerPlan } from '../compiler/plan';
import { audienceEnteredTrigger } from '../routing/audiences';
import { arrivalOf, type SimEvent } from './simulate';

/** The journey each firing in a script belongs to; scripted events are not in it. */
const firings = new WeakMap<SimEvent, string>();

/** True for a firing of a schedule that simulate put in the script. */
export function isFiring(e: SimEvent): boolean {
  return firings.has(e);
}

/** True when `e` is a firing of `plan`'s own schedule. */
export function isFiringOf(plan: JourneyPlan, e: SimEvent): plan is JourneyPlan & { trigger: ScheduleTriggerPlan } {
  return isScheduleTrigger(plan.trigger) && firings.get(e) === plan.journey;
}

/** The occurrence a firing enrols: its scheduled time, as the live schedule names it. */
export function occurrenceOf(e: SimEvent): string {
  return new Date(e.atMs).toISOString();
}

function firing(journeyId: string, trigger: ScheduleTriggerPlan, atMs: number): SimEvent {
  const { event, properties } = audienceEnteredTrigger(trigger.audience, new Date(atMs).toISOString());
  const e: SimEvent = { atMs, type: 'track', event, properties: properties ?? {} };
  firings.set(e, journeyId);
  return e;
}

/**
 * The script with the firings of every schedule journey among `plans` inside it, in order of
 * arrival; a scripted event at the same moment as a firing comes first (a subscribe at 10:00
 * counts for the 10:00 newsletter).
 */
export function withScheduleFirings(plans: readonly JourneyPlan[], events: readonly SimEvent[], startMs: number): SimEvent[] {
  const endMs = Math.max(startMs, ...events.map(arrivalOf));
  const added: SimEvent[] = [];
  for (const plan of plans) {
    const { trigger } = plan;
    if (isScheduleTrigger(trigger)) added.push(...scheduleTimes(trigger.schedule, startMs, endMs + 1).map((t) => firing(plan.journey, trigger, t)));
  }
  if (added.length === 0) return [...events];
  return [...events.map((e, i) => ({ e, i })), ...added.map((e, i) => ({ e, i: events.length + i }))]
    .sort((a, b) => arrivalOf(a.e) - arrivalOf(b.e) || a.i - b.i)
    .map(({ e }) => e);
}
