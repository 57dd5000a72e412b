/**
 * Dates a journey reads from a profile or a trigger (`wait_until: { date }`): which texts are
 * dates, and the instant a dated wait ends. Shared by the compiler (literal dates) and the
 * workflow (dates read at run time), so both accept exactly the same values.
 */
import { localDateOf, wallTimeToInstant } from './time';

const DAY_MS = 86_400_000;
// ISO 8601 as people and apps write it: a date, optionally a time, optionally a UTC offset.
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * A date as read: an exact instant (it names its offset, or is a number of ms since 1970), or a
 * wall-clock time without an offset, which means that time on the customer's own clock.
 */
export type DateValue = { instant: number } | { wall: number; dateOnly: boolean };

/** Reads a date value, or undefined when it is missing or not a real date ("2026-02-30", "soon"). */
export function parseDateValue(value: unknown): DateValue | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? { instant: value } : undefined;
  if (typeof value !== 'string') return undefined;
  const m = DATE_RE.exec(value.trim());
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const fraction = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, fraction);
  // Date.UTC rolls 30 February over into March; a real date comes back unchanged.
  if (new Date(wall).getUTCDate() !== day) return undefined;
  const zone = m[8];
  if (zone === undefined) return { wall, dateOnly: m[4] === undefined };
  if (zone.toUpperCase() === 'Z') return { instant: wall };
  const digits = zone.replace(':', '');
  const offsetMinutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5) || 0);
  return { instant: wall - (zone.startsWith('-') ? -1 : 1) * offsetMinutes * 60_000 };
}

/** How a dated wait reads its date: shifted by `offsetMs`, at `minuteOfDay` local time if given. */
export interface DatedWait {
  offsetMs: number;
  /** Local time of day (minutes after midnight) the wait ends at, on the date's local day. */
  minuteOfDay?: number;
}

/** The instant a dated wait ends, or `invalid` with the value found (null for none). */
export type DateTarget = { untilMs: number } | { invalid: unknown };

/**
 * The instant a `wait_until: { date }` step waits for, reading wall-clock dates in `zone`. A date
 * without an offset (`2026-12-24`, `2026-12-24T09:00`) is a local date: local midnight (or the
 * step's `time`) on the customer's clock, and the step's offset moves it in local days and hours,
 * so "7 days before" stays at the same local hour across a DST change. A date with an offset is
 * an exact instant; the offset is added to it, unless `time` asks for a local time on its day.
 */
export function datedWaitTarget(value: unknown, wait: DatedWait, zone: string): DateTarget {
  const parsed = parseDateValue(value);
  if (!parsed) return { invalid: value === undefined ? null : value };
  let wall: number;
  if ('instant' in parsed) {
    if (wait.minuteOfDay === undefined) return { untilMs: parsed.instant + wait.offsetMs };
    const d = localDateOf(parsed.instant, zone);
    wall = Date.UTC(d.year, d.month - 1, d.day);
  } else wall = parsed.wall;
  if (wait.minuteOfDay !== undefined) wall = Math.floor(wall / DAY_MS) * DAY_MS + wait.minuteOfDay * 60_000;
  return { untilMs: wallTimeToInstant(wall + wait.offsetMs, zone) };
}
