/**
 * Calendar arithmetic in a customer's timezone, with Intl only (no Node APIs), so it runs in the
 * workflow sandbox. Correct across DST changes because every local moment is converted to an
 * instant with the offset that is in force at that instant.
 */
import type { TimeWindow } from '../compiler/plan';

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows the IANA zone (the one check config, compiler and workflow share). */
export function isValidTimeZone(timeZone: unknown): timeZone is string {
  if (typeof timeZone !== 'string' || timeZone === '') return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localParts(ms: number, timeZone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year,
    month: parts.month,
    day: parts.day,
    hour: parts.hour === 24 ? 0 : parts.hour,
    minute: parts.minute,
    second: parts.second,
  };
}

/** Offset of local time from UTC at the instant, in ms (Berlin in summer: +7,200,000). */
function offsetAt(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant of a local wall-clock time. `day` may overflow (32 → next month). A local time
 * skipped by a DST change resolves to the same wall time in the new offset (an hour later).
 */
export function zonedTimeToInstant(year: number, month: number, day: number, minuteOfDay: number, timeZone: string): number {
  return wallTimeToInstant(Date.UTC(year, month - 1, day, 0, minuteOfDay), timeZone);
}

/**
 * The instant of a local wall-clock time given as "ms since 1970-01-01 00:00 on that wall clock",
 * so calendar arithmetic (a date minus seven days at 09:00) is plain addition before converting.
 */
export function wallTimeToInstant(wall: number, timeZone: string): number {
  const first = wall - offsetAt(wall, timeZone);
  return wall - offsetAt(first, timeZone);
}

/** The wall-clock time of an instant in a zone, as ms since 1970-01-01 00:00 on that clock (the inverse of wallTimeToInstant). */
export function wallTimeOf(ms: number, timeZone: string): number {
  return ms + offsetAt(ms, timeZone);
}

/** The local calendar date of an instant in a zone. */
export function localDateOf(ms: number, timeZone: string): { year: number; month: number; day: number } {
  const { year, month, day } = localParts(ms, timeZone);
  return { year, month, day };
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The local weekday and wall-clock time of an instant, as `Thu 09:00`, for timelines a person reads. */
export function localClockText(ms: number, timeZone: string): string {
  const { year, month, day, hour, minute } = localParts(ms, timeZone);
  const weekday = WEEKDAYS[new Date(Date.UTC(year, month - 1, day)).getUTCDay()];
  return `${weekday} ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}

/**
 * Milliseconds from `nowMs` until the next moment inside the window (0 when inside now).
 * Windows whose end is not after their start run overnight into the next day.
 */
export function msUntilWindow(nowMs: number, window: TimeWindow, timeZone: string): number {
  const today = localParts(nowMs, timeZone);
  const overnight = window.endMinute <= window.startMinute;
  // Yesterday's overnight window may still be open; a week and a day covers every weekday set.
  for (let k = -1; k <= 8; k++) {
    const weekday = new Date(Date.UTC(today.year, today.month - 1, today.day + k)).getUTCDay();
    if (!window.days.includes(weekday)) continue;
    const start = zonedTimeToInstant(today.year, today.month, today.day + k, window.startMinute, timeZone);
    const end = zonedTimeToInstant(today.year, today.month, today.day + k + (overnight ? 1 : 0), window.endMinute, timeZone);
    if (nowMs < start) return start - nowMs;
    if (nowMs < end) return 0;
  }
  // Unreachable for a window with at least one day; a day's wait keeps a bad plan from spinning.
  return DAY_MS;
}

/**
 * The zone a window is read in: a fixed zone as written, or for `customer` the profile's own zone
 * when it is a valid one, else the configured default.
 */
export function zoneFor(wanted: string, profileZone: unknown, defaultZone: string): string {
  if (wanted !== 'customer') return wanted;
  return isValidTimeZone(profileZone) ? profileZone : defaultZone;
}
