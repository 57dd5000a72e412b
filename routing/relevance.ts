/**
 * Whether a running journey could act on an event, decided before a signal is sent: a signal
 * that cannot matter costs a workflow task and a history event for nothing. The rule must never
 * drop an event the run would have used, so it decides only what it can decide exactly.
 */
import { listeners, type Condition, type JourneyPlan, type TrackEvent } from '../compiler/plan';
import { evaluate, forEachReadPath } from '../core/conditions';

/**
 * True unless every goal, exit and `wait_for` of the plan that listens for the event's name has a
 * `where` that is decidable here and false. Decidable: it reads only `event.*` and `trigger.*` (the
 * run's own trigger, which never changes) and compares no date with the clock (`before`/`after`),
 * so the run would decide the same whenever the event reaches it. A `where` that reads the
 * profile, consent, event counts, `received` or the journey is left to the run.
 */
export function couldMatter(plan: JourneyPlan, event: TrackEvent, trigger: TrackEvent): boolean {
  const scope = { event: event as unknown as Record<string, unknown>, trigger: trigger as unknown as Record<string, unknown> };
  // The clock is never read: decidable conditions have no date test.
  return listenersOf(plan, event.event).some(({ where }) => where === undefined || evaluate(where, scope, 0));
}

/**
 * A plan's listeners for one event name, each with its `where` only when that is decidable here
 * (else none: the run decides). Worked out once per plan object and name: the router keeps one
 * plan object per deployed version, and this runs for every event to every running run.
 */
const listenersByPlan = new WeakMap<JourneyPlan, Map<string, { where?: Condition }[]>>();

function listenersOf(plan: JourneyPlan, name: string): { where?: Condition }[] {
  let byName = listenersByPlan.get(plan);
  if (!byName) {
    byName = new Map();
    for (const m of listeners(plan)) {
      const list = byName.get(m.event) ?? [];
      list.push(m.where !== undefined && decidable(m.where) ? { where: m.where } : {});
      byName.set(m.event, list);
    }
    listenersByPlan.set(plan, byName);
  }
  return byName.get(name) ?? [];
}

function decidable(where: Condition): boolean {
  let reads = true;
  forEachReadPath([where], (path) => {
    if (!path.startsWith('event.') && !path.startsWith('trigger.')) reads = false;
  });
  return reads && !comparesWithClock(where);
}

function comparesWithClock(c: Condition): boolean {
  if ('all' in c) return c.all.some(comparesWithClock);
  if ('any' in c) return c.any.some(comparesWithClock);
  if ('not' in c) return comparesWithClock(c.not);
  return c.op === 'before' || c.op === 'after';
}
