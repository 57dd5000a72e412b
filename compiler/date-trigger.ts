/**
 * `trigger.date`: a journey that starts on a date of each customer's profile (a birthday every
 * year, a renewal once), some days before or after it, at a local time. Checked here so that
 * what reaches the plan is a profile path, whole days, an "HH:MM" time and a zone the runtime
 * knows; core/date-triggers.ts decides when it fires.
 */
import { isValidTimeZone } from '../core/time';
import { describeValue } from './durations';
import type { Report } from './issues';
import type { Condition, DateTriggerPlan } from './plan';
import type { YamlPath } from './source';
import { didYouMean } from './suggest';

type Raw = Record<string, unknown>;

/** The keys only a date trigger has (beside `date` itself). */
export const DATE_TRIGGER_KEYS = ['every', 'offset', 'at', 'timezone'] as const;

const EVERY = ['year', 'once'] as const;
/** A yearly date at most a year before or after: further than that, it is another year's date. */
const MAX_OFFSET_DAYS = 365;
const PATH_RE = /^profile(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
/** Profile fields that are the customer's addresses and settings, never a date. */
const SYSTEM_FIELDS = ['id', 'email', 'phone', 'timezone', 'tags'];
const ZONES: readonly string[] = Intl.supportedValuesOf('timeZone');
const PATH_HINT = 'a trait of the profile that holds an ISO date like "1990-12-03", e.g. date: profile.birthday or date: profile.renewal_date';

const at = (key: string): YamlPath => ['trigger', key];

/**
 * Compiles a trigger map that has `date:` (or one of DATE_TRIGGER_KEYS) to its plan; reports and
 * returns undefined when any part is unusable. `where` compiles the trigger's `where:`.
 */
export function compileDateTrigger(raw: Raw, report: Report, where: (raw: unknown) => Condition | undefined): DateTriggerPlan | undefined {
  if (raw.date === undefined) {
    const stray = DATE_TRIGGER_KEYS.find((k) => raw[k] !== undefined) as string;
    report('date_key_without_date', at(stray), `"${stray}" belongs to a date trigger, but this trigger has no date:`, `remove ${stray}:, or start the journey on a profile date: date: profile.birthday`, 'key');
    return undefined;
  }
  if (raw.key !== undefined) {
    report(
      'key_with_date',
      at('key'),
      'trigger.key makes one run per thing an event names (a cart, an order); a date trigger has one run per customer and occurrence',
      'remove key:; each year of a yearly date (or the date itself, for every: once) is entered once',
      'key',
    );
  }
  const date = datePath(raw.date, report);
  const every = raw.every === undefined ? 'year' : everyOf(raw.every, report);
  const offsetDays = raw.offset === undefined ? 0 : offsetOf(raw.offset, report);
  const time = raw.at === undefined ? '09:00' : timeOf(raw.at, report);
  const timezone = raw.timezone === undefined ? 'customer' : zoneOf(raw.timezone, report);
  const condition = raw.where === undefined ? undefined : where(raw.where);
  if (date === undefined || every === undefined || offsetDays === undefined || time === undefined || timezone === undefined) return undefined;
  if (raw.key !== undefined || (raw.where !== undefined && condition === undefined)) return undefined;
  return { date, every, offsetDays, at: time, timezone, ...(condition ? { where: condition } : {}) };
}

/** `profile.birthday` (or `{{ profile.birthday }}`) as the plan carries it: `profile.birthday`. */
function datePath(raw: unknown, report: Report): string | undefined {
  const text = typeof raw === 'string' ? (/^\{\{\s*([^{}]*?)\s*\}\}$/.exec(raw.trim())?.[1] ?? raw.trim()) : undefined;
  const refuse = (message: string, hint: string = PATH_HINT): undefined => {
    report('invalid_date_path', at('date'), message, hint, 'value');
    return undefined;
  };
  if (text === undefined || text === '') return refuse(`"date" must be a profile path like profile.birthday, got ${describeValue(raw)}`);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    return refuse(`"${text}" is one date for everyone; a date trigger reads each customer's own date`, 'write date: profile.<trait>; for one day for everyone, use a schedule: { cron: … } with an audience');
  }
  const root = text.split('.')[0];
  if (root !== 'profile') {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(text)) return refuse(`"${text}" is not a profile path (did you mean "profile.${text}"?)`);
    return refuse(
      `"${text}" is not a profile path: a date trigger fires before any event, so it reads only the profile`,
      root === 'trigger' || root === 'event' ? "to wait for a date an event carries, enter on the event and use wait_until: { date: \"{{ trigger.properties.<name> }}\" }" : PATH_HINT,
    );
  }
  if (!PATH_RE.test(text)) return refuse(`"${text}" is not a profile path: each part after profile. is a trait name of letters, digits and underscores`);
  const field = text.split('.')[1];
  if (SYSTEM_FIELDS.includes(field)) return refuse(`profile.${field} is not a date`);
  return text;
}

function everyOf(raw: unknown, report: Report): DateTriggerPlan['every'] | undefined {
  if ((EVERY as readonly unknown[]).includes(raw)) return raw as DateTriggerPlan['every'];
  const word = typeof raw === 'string' ? raw : '';
  const hint = 'year: on the date\'s month and day every year (a birthday); once: on the date itself (a renewal)';
  report('invalid_every', at('every'), `"every" is year or once, got ${describeValue(raw)}${didYouMean(word === 'yearly' || word === 'annually' ? 'year' : word, EVERY)}`, hint, 'value');
  return undefined;
}

function offsetOf(raw: unknown, report: Report): number | undefined {
  const m = typeof raw === 'string' ? /^([+-]?)(\d{1,3})d$/.exec(raw.trim()) : null;
  if (!m) {
    // A duration with hours or minutes (-7d12h, 36h): days only, the time is at's.
    const unit = typeof raw === 'string' && /^[+-]?(\d+(\.\d+)?[a-z]+)+$/i.test(raw.trim());
    report(
      'invalid_offset',
      at('offset'),
      `"offset" is a whole number of days before (-) or after the date, got ${describeValue(raw)}`,
      unit ? 'write days only, like -7d or 3d; the time of day is set by at: "09:00"' : 'e.g. offset: -7d (a week before) or offset: 1d (the day after)',
      'value',
    );
    return undefined;
  }
  const days = Number(m[2]) * (m[1] === '-' ? -1 : 1);
  if (Math.abs(days) > MAX_OFFSET_DAYS) {
    report('invalid_offset', at('offset'), `an offset of ${String(raw)} is more than a year`, `at most ${MAX_OFFSET_DAYS} days before or after the date`, 'value');
    return undefined;
  }
  return days;
}

function timeOf(raw: unknown, report: Report): string | undefined {
  const m = typeof raw === 'string' ? /^(\d{1,2}):(\d{2})$/.exec(raw.trim()) : null;
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) {
    report('invalid_time', at('at'), `${describeValue(raw)} is not a time of day`, 'write a local time "HH:MM" on a 24-hour clock, in quotes, e.g. at: "09:00"', 'value');
    return undefined;
  }
  return `${m[1].padStart(2, '0')}:${m[2]}`;
}

function zoneOf(raw: unknown, report: Report): string | undefined {
  if (raw === 'customer' || isValidTimeZone(raw)) return raw as string;
  const word = typeof raw === 'string' ? raw : '';
  report(
    'invalid_timezone',
    at('timezone'),
    `${describeValue(raw)} is not a timezone${didYouMean(word, ['customer', ...ZONES])}`,
    'customer (the profile\'s timezone, else the deployment\'s default) or an IANA name like "Europe/Berlin"',
    'value',
  );
  return undefined;
}
