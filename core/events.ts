/** Whether an event is the one a trigger, goal, exit or `wait_for` listens for. */
import type { EventMatcher, TrackEvent } from '../compiler/plan';
import type { Profile } from '../profiles/store';
import { evaluate, type Scope } from './conditions';
import type { EventAggregates } from './audiences';
import type { ConsentStates } from './consent';

/**
 * True when the event has the matcher's name and its `where` holds in `scope` at `nowMs`. The
 * one rule the router, `simulate` and the workflow all apply.
 */
export function matchesEvent(matcher: EventMatcher, event: Pick<TrackEvent, 'event'>, scope: Scope, nowMs: number): boolean {
  return matcher.event === event.event && (!matcher.where || evaluate(matcher.where, scope, nowMs));
}

/**
 * True when the event enters the customer: a trigger's `where` reads the profile, the event as
 * `trigger`, the consent states it reads (`consentReads(trigger.where)`) and the event aggregates it
 * reads (`aggregateReads(trigger.where)`, from `in_audience` or `events.*`), both loaded by the caller.
 */
export function triggerMatches(
  trigger: EventMatcher,
  event: TrackEvent,
  profile: Profile,
  nowMs: number,
  consent: ConsentStates = {},
  events: EventAggregates = {},
): boolean {
  return matchesEvent(trigger, event, { profile, trigger: event as unknown as Record<string, unknown>, consent, events }, nowMs);
}
