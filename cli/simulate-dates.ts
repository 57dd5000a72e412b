/**
 * Date journeys in `unbroken simulate` and `unbroken test`: simulated time passing makes the
 * customer reach their date. The first moment from the start at which an occurrence is due (the
 * start itself, an identify that gives or moves the date, or a fire time) is put in the script as
 * the event the live router enters with (`date_reached`, its occurrence the run's key), decided
 * by core/date-triggers.ts on the profile the script has built by then. That entry belongs to its
 * journey alone: no other journey enters on it or hears it.
 */
import { isDateTrigger, type DateTriggerPlan, type JourneyPlan } from '../compiler/plan';
import { aggregateReads, aggregatesFromEvents, type AudienceFacts } from '../core/audiences';
import { consentReads, readConsent } from '../core/consent';
import { readPath } from '../core/conditions';
import { dateEntry, nextOccurrence, type DateEntry } from '../core/date-triggers';
import { zoneFor } from '../core/time';
import type { SqliteProfileStore } from '../profiles/sqlite';
import type { Profile } from '../profiles/store';
import { arrivalOf, simulationStore, type SimEvent } from './simulate';

/** How far past the start and the last scripted event a date is looked for: a little over a year, so a yearly date comes once. */
const HORIZON_MS = 400 * 86_400_000;

/** The journey and occurrence of each date entry simulate put in a script; scripted events are not in it. */
const entries = new WeakMap<SimEvent, { journey: string; occurrence: string }>();

/** True for a date entry simulate put in the script. */
export function isDateEntry(e: SimEvent): boolean {
  return entries.has(e);
}

/** The occurrence `e` enters `plan` with, when it is a date entry of that journey. */
export function dateEntryOccurrence(plan: JourneyPlan, e: SimEvent): string | undefined {
  const found = entries.get(e);
  return found?.journey === plan.journey ? found.occurrence : undefined;
}

/** What the script says about the customer at `nowMs`: the profile and consent from its identifies, events.* from its track events. */
async function factsAt(trigger: DateTriggerPlan, store: SqliteProfileStore, fallback: Profile, arrived: readonly SimEvent[], nowMs: number): Promise<AudienceFacts> {
  const profile = (await store.getProfile(fallback.id)) ?? fallback;
  const consent = await readConsent(consentReads(trigger.where), (channel, category) => store.consent(fallback.id, channel, category));
  const reads = aggregateReads(trigger.where);
  const history = arrived.flatMap((s) => (s.type === 'track' && !isDateEntry(s) ? [{ event: s.event, timestamp: new Date(s.atMs).toISOString() }] : []));
  return { profile: profile as unknown as Record<string, unknown>, consent, events: reads.length === 0 ? {} : aggregatesFromEvents(reads, history, nowMs) };
}

/**
 * When a date journey first enters the customer from `startMs` on, as the router (at an identify)
 * and the sweep (at the fire time) would: at each scripted arrival the profile may change, and
 * between them the next fire time of the date as it then reads is the only moment to look at.
 */
async function firstEntry(plan: JourneyPlan & { trigger: DateTriggerPlan }, profile: Profile, events: readonly SimEvent[], startMs: number, defaultZone: string): Promise<{ atMs: number; entry: DateEntry } | undefined> {
  const store = await simulationStore(profile);
  try {
    const endMs = Math.max(startMs, ...events.map(arrivalOf)) + HORIZON_MS;
    let index = 0;
    let t = startMs;
    for (;;) {
      for (; index < events.length && arrivalOf(events[index]) <= t; index++) {
        const e = events[index];
        if (e.type === 'identify') await store.identify(profile.id, e.traits);
      }
      const facts = await factsAt(plan.trigger, store, profile, events.slice(0, index), t);
      const entry = dateEntry(plan.trigger, facts, defaultZone, t);
      if (entry) return { atMs: t, entry };
      const nextArrival = index < events.length ? arrivalOf(events[index]) : endMs;
      const zone = zoneFor(plan.trigger.timezone, facts.profile.timezone, defaultZone);
      const fire = nextOccurrence(plan.trigger, readPath({ profile: facts.profile }, plan.trigger.date), zone, t + 1)?.fireMs;
      if (fire !== undefined && fire < nextArrival) t = fire;
      else if (index < events.length) t = nextArrival;
      else return undefined;
    }
  } finally {
    await store.close();
  }
}

/**
 * The script with the first date entry of every date journey among `plans` inside it, after the
 * scripted events that arrived by then (an identify at 10:00 that gives today's birthday enters at 10:00).
 */
export async function withDateEntries(plans: readonly JourneyPlan[], events: readonly SimEvent[], opts: { profile: Profile; startMs: number; defaultTimezone: string }): Promise<SimEvent[]> {
  const script = [...events];
  for (const plan of plans) {
    if (!isDateTrigger(plan.trigger)) continue;
    // Only the scripted events shape the profile; entries of other date journeys are not events.
    const scripted = script.filter((e) => !isDateEntry(e));
    const found = await firstEntry({ ...plan, trigger: plan.trigger }, opts.profile, scripted, opts.startMs, opts.defaultTimezone);
    if (!found) continue;
    const { event, properties } = found.entry.trigger;
    const e: SimEvent = { atMs: found.atMs, type: 'track', event, properties: properties ?? {} };
    entries.set(e, { journey: plan.journey, occurrence: found.entry.occurrence });
    const later = script.findIndex((s) => arrivalOf(s) > found.atMs);
    script.splice(later < 0 ? script.length : later, 0, e);
  }
  return script;
}
