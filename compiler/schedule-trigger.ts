/**
 * `trigger.schedule`: when a schedule journey enrols its audience, as a five-field cron
 * expression read in a time zone. Parsed here with a real cron parser, so `validate` refuses what
 * Temporal's schedule (worker/journey-schedules.ts) or simulate would read differently, and the
 * times simulate enrols at come from the same reading.
 */
import { parseExpression } from 'cron-parser';
import { isValidTimeZone } from '../core/time';
import { describeValue } from './durations';
import type { Report } from './issues';
import type { ScheduleTriggerPlan } from './plan';
import type { YamlPath } from './source';
import { didYouMean } from './suggest';

const FIELDS = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;
const CRON_HINT = 'five fields: minute hour day-of-month month day-of-week, e.g. cron: "0 10 * * mon" (every Monday at 10:00)';
/** A list of *, numbers or names, ranges and steps: what cron-parser and Temporal read alike (no L, W, ? or #). */
const listOf = (atom: string) => new RegExp(`^(\\*|${atom}(-${atom})?)(/\\d+)?(,(\\*|${atom}(-${atom})?)(/\\d+)?)*$`, 'i');
const NUMBERS = listOf('\\d+');
/** Month and weekday fields also take names (jan, mon). */
const NAMES = listOf('(\\d+|[a-z]{3})');
const ZONES: readonly string[] = Intl.supportedValuesOf('timeZone');

type Raw = Record<string, unknown>;

/** Why a cron expression is refused, in words; undefined when it is a valid five-field expression. */
export function cronProblem(cron: string): string | undefined {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== FIELDS.length) return `has ${fields.length} field${fields.length === 1 ? '' : 's'}, a schedule has ${FIELDS.length}`;
  for (const [i, field] of fields.entries()) {
    if (!(i < 3 ? NUMBERS : NAMES).test(field)) return `has "${field}" as its ${FIELDS[i]}, which is not a list of numbers${i < 3 ? '' : ' or names'}, ranges and steps`;
    // Each field alone, the others *, so the message can say which field is wrong.
    const alone = FIELDS.map((_, j) => (j === i ? field : '*')).join(' ');
    try {
      parseExpression(alone, { tz: 'UTC' });
    } catch (err) {
      return `has "${field}" as its ${FIELDS[i]}: ${(err as Error).message.replace(/^(Constraint|Validation) error, /, '')}`;
    }
  }
  return undefined;
}

/**
 * Compiles `trigger.schedule` (the map under it) to its plan part; reports and returns undefined
 * when the cron expression or the time zone is unusable. The zone defaults to UTC.
 */
export function compileSchedule(raw: unknown, report: Report): ScheduleTriggerPlan['schedule'] | undefined {
  const at: YamlPath = ['trigger', 'schedule'];
  // The schema reports a schedule that is not a map or lacks cron; nothing more to say here.
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || typeof (raw as Raw).cron !== 'string') return undefined;
  const { cron, timezone = 'UTC' } = raw as Raw;
  let ok = true;
  const problem = cronProblem(cron as string);
  if (problem) {
    report('invalid_cron', [...at, 'cron'], `cron "${String(cron)}" ${problem}`, CRON_HINT, 'value');
    ok = false;
  }
  if (!isValidTimeZone(timezone)) {
    const word = typeof timezone === 'string' ? timezone : '';
    report('invalid_timezone', [...at, 'timezone'], `${describeValue(timezone)} is not a timezone${didYouMean(word, ZONES)}`, 'an IANA name like "Europe/Berlin"; the cron times are read there (UTC when omitted)', 'value');
    ok = false;
  }
  return ok ? { cron: (cron as string).trim(), timezone: timezone as string } : undefined;
}

/** The times the schedule fires in [fromMs, toMs), in order (simulate's occurrences). */
export function scheduleTimes(schedule: ScheduleTriggerPlan['schedule'], fromMs: number, toMs: number): number[] {
  // cron-parser steps from currentDate exclusively; one millisecond back lets a firing at fromMs count.
  const it = parseExpression(schedule.cron, { tz: schedule.timezone, currentDate: new Date(fromMs - 1), endDate: new Date(toMs) });
  const out: number[] = [];
  while (it.hasNext()) {
    const t = it.next().getTime();
    if (t >= toMs) break;
    out.push(t);
  }
  return out;
}
