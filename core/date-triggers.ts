/**
 * When a date trigger (`trigger: { date: profile.birthday, every, offset, at, timezone }`) fires
 * for one customer. The router (on an identify or track), the date sweep and `simulate` all ask
 * here, so a birthday means the same day and hour everywhere. Pure and sandbox-safe.
 *
 * An occurrence is one firing: every year on the date's month and day (named by that year), or
 * once on the date itself (named by the date). It fires on the local day `date + offsetDays` at
 * `at` in the customer's zone, and is due from then until that local day ends: a profile that
 * gets its date later the same day still fires that day, and a day that passed unfired is not
 * fired late the next.
 */
import type { DateTriggerPlan, TrackEvent } from '../compiler/plan';
import { audienceScope, type AudienceFacts } from './audiences';
import { evaluate, readPath } from './conditions';
import { parseDateValue } from './dates';
import { wallTimeOf, wallTimeToInstant, zoneFor } from './time';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** `trigger.event` of a run a date trigger entered; `trigger.properties` names the date path and the occurrence. */
export const DATE_REACHED_EVENT = 'date_reached';

/** What decides when a date fires. */
export type DateRule = Pick<DateTriggerPlan, 'every' | 'offsetDays' | 'at'>;

/** One firing of a date trigger for one customer: its name (the enrolment's occurrence) and the instant it fires. */
export interface DateOccurrence {
  name: string;
  fireMs: number;
}

/** A calendar day, as the ms of its midnight on a UTC clock, so day arithmetic is plain addition. */
type Day = number;

function calendarDay(year: number, monthIndex: number, day: number): Day {
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years below 100 as 19xx.
  d.setUTCFullYear(year, monthIndex, day);
  return d.getTime();
}

function isoDay(day: Day): string {
  return new Date(day).toISOString().slice(0, 10);
}

function yearOf(day: Day): number {
  return new Date(day).getUTCFullYear();
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Minutes after midnight of an "HH:MM" time; the compiler checked its form. */
export function minuteOfDay(at: string): number {
  const [h, m] = at.split(':').map(Number);
  return h * 60 + m;
}

/**
 * The local day a customer's date names: the day written, for a date or a date-time without an
 * offset; the day in `zone` of an exact instant. Anything but an ISO text is no date (a number,
 * "soon", "2026-02-30"), and such a customer never fires.
 */
export function dateDayOf(value: unknown, zone: string): Day | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = parseDateValue(value);
  if (!parsed) return undefined;
  const wall = 'instant' in parsed ? wallTimeOf(parsed.instant, zone) : parsed.wall;
  return Math.floor(wall / DAY_MS) * DAY_MS;
}

/** The date's month and day in `year`; 29 February is 28 February in other years. */
function anniversary(date: Day, year: number): Day {
  const d = new Date(date);
  const leapDay = d.getUTCMonth() === 1 && d.getUTCDate() === 29;
  return calendarDay(year, d.getUTCMonth(), leapDay && !isLeapYear(year) ? 28 : d.getUTCDate());
}

/**
 * The instant of `minute` local time on `day` in `zone`. A time the clocks skip (02:30 on the
 * night summer time starts) fires at the first instant after it: the moment the clocks jump.
 */
function localInstant(day: Day, minute: number, zone: string): number {
  const wall = day + minute * MINUTE_MS;
  const t = wallTimeToInstant(wall, zone);
  if (wallTimeOf(t, zone) === wall) return t;
  // In a gap wallTimeToInstant lands after it (the same wall time in the new offset): search back
  // for the first minute whose wall time is not before the one asked for.
  let lo = t / MINUTE_MS - 6 * 60;
  let hi = t / MINUTE_MS;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallTimeOf(mid * MINUTE_MS, zone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi * MINUTE_MS;
}

/** The occurrence whose anniversary (or date, for `once`) is `day`, if the date has one there. */
function occurrenceOn(rule: DateRule, date: Day, day: Day, zone: string): DateOccurrence | undefined {
  const fire = (name: string): DateOccurrence => ({ name, fireMs: localInstant(day + rule.offsetDays * DAY_MS, minuteOfDay(rule.at), zone) });
  if (rule.every === 'once') return day === date ? fire(isoDay(date)) : undefined;
  const year = yearOf(day);
  // A yearly date fires from its own year on, never before it (a birthday before the birth).
  return year >= yearOf(date) && anniversary(date, year) === day ? fire(String(year)) : undefined;
}

/**
 * The occurrence due at `nowMs` for a customer whose date is `value` and whose zone is `zone`:
 * now is on its local fire day, at or after its time. Undefined when none is due (or the value
 * is no date).
 */
export function dueOccurrence(rule: DateRule, value: unknown, zone: string, nowMs: number): DateOccurrence | undefined {
  const date = dateDayOf(value, zone);
  if (date === undefined) return undefined;
  const today = Math.floor(wallTimeOf(nowMs, zone) / DAY_MS) * DAY_MS;
  const found = occurrenceOn(rule, date, today - rule.offsetDays * DAY_MS, zone);
  return found && found.fireMs <= nowMs ? found : undefined;
}

/** The first occurrence that fires at or after `fromMs` (simulate's clock, tests), if any is left. */
export function nextOccurrence(rule: DateRule, value: unknown, zone: string, fromMs: number): DateOccurrence | undefined {
  const date = dateDayOf(value, zone);
  if (date === undefined) return undefined;
  const candidates = rule.every === 'once' ? [date] : [-1, 0, 1, 2].map((k) => anniversary(date, Math.max(yearOf(date), yearOf(fromMs - rule.offsetDays * DAY_MS) + k)));
  for (const day of candidates) {
    const found = occurrenceOn(rule, date, day, zone);
    if (found && found.fireMs >= fromMs) return found;
  }
  return undefined;
}

/**
 * What the text of a date may look like for a customer whose occurrence may be due at `nowMs`,
 * in any zone, so a store can narrow its customers before each is decided here: the month-days
 * (`12-03`, a yearly date) or days (`2026-12-03`, once) the text may begin with, and the
 * occurrence names those days have. Local days at one instant span three days (UTC-12 to
 * UTC+14), and an instant written with another offset may name a day two days off its local one.
 */
export function dueCandidates(rule: DateRule, nowMs: number): { days: string[]; occurrences: string[] } {
  const utcToday = Math.floor(nowMs / DAY_MS) * DAY_MS - rule.offsetDays * DAY_MS;
  const days = [-3, -2, -1, 0, 1, 2, 3].map((k) => isoDay(utcToday + k * DAY_MS));
  const occurrences = rule.every === 'once' ? days : [...new Set(days.map((d) => d.slice(0, 4)))];
  if (rule.every === 'once') return { days, occurrences };
  const monthDays = days.map((d) => d.slice(5));
  // 29 February fires on 28 February in other years.
  if (monthDays.includes('02-28') && !monthDays.includes('02-29')) monthDays.push('02-29');
  return { days: monthDays, occurrences };
}

/** The trigger of a run a date entered: no event of the customer's caused it, so it names the date and the occurrence. */
export function dateReachedTrigger(date: string, occurrence: string, at: string): TrackEvent {
  return { event: DATE_REACHED_EVENT, properties: { date, occurrence }, timestamp: at };
}

/** A date journey's entry of one customer: the occurrence that is due and the run's trigger. */
export interface DateEntry {
  occurrence: string;
  trigger: TrackEvent;
}

/**
 * Whether a date journey enters the customer these facts describe at `nowMs`: an occurrence of
 * their date is due in their zone (`customer`: the profile's, else `defaultZone`) and the
 * trigger's `where` holds, with `trigger.*` the date_reached event. The router, the date sweep
 * and simulate all decide by this.
 */
export function dateEntry(trigger: DateTriggerPlan, facts: AudienceFacts, defaultZone: string, nowMs: number): DateEntry | undefined {
  const zone = zoneFor(trigger.timezone, facts.profile.timezone, defaultZone);
  const due = dueOccurrence(trigger, readPath({ profile: facts.profile }, trigger.date), zone, nowMs);
  if (!due) return undefined;
  const event = dateReachedTrigger(trigger.date, due.name, new Date(nowMs).toISOString());
  const holds = trigger.where === undefined || evaluate(trigger.where, { ...audienceScope(facts), trigger: event as unknown as Record<string, unknown> }, nowMs);
  return holds ? { occurrence: due.name, trigger: event } : undefined;
}
