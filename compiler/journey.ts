import type { z } from 'zod';
import type { ActivityPolicy, AudienceTriggerPlan, Condition, EventMatcher, JourneyPlan, ReEntry, Step, TemplatePlan, TimeWindow, TriggerPlan } from './plan';
import { LOAD_CONSENT_ACTIVITY, planReadsConsent } from '../core/consent';
import { LEFT_AUDIENCE_EVENT, LOAD_AGGREGATES_ACTIVITY, planReadsAggregates } from '../core/audiences';
import { PROFILE_CHANGE_FIELDS } from '../core/profile';
import { isValidTimeZone } from '../core/time';
import { parseDateValue } from '../core/dates';
import { audienceCondition, checkExpressions, checkPath, compileCondition, type AudienceLookup } from './conditions';
import { describeValue, formatDuration, MAX_WAIT_MS, MIN_WAIT_MS, parseDuration } from './durations';
import { Reporter, type CompileError } from './errors';
import { contentHash, deepFreeze } from './hash';
import { checkShape, type Report } from './issues';
import { checkLiquid, checkLiquidDeep, readsRoot } from './liquid';
import { COMPANION_KEYS, DAY_NAMES, STEP_ID_RE, STEP_KINDS, validateSchemas, type StepKey } from './schema';
import { parseYaml, type YamlPath } from './source';
import { didYouMean, listOf } from './suggest';
import { checkIdMatchesFile, type SourceNames } from './template';
import { compileTriggerKey } from './trigger-key';
import { compileSchedule } from './schedule-trigger';
import { compileDateTrigger, DATE_TRIGGER_KEYS } from './date-trigger';
import { surveyAsksPerRun } from './survey';
import { DEFAULT_SURVEY_REMINDERS } from '../core/surveys';

/** What the compiler needs of one activity: its `with` schema, a line for hints, and its policy. */
export interface ActivitySignature<W = unknown> {
  /** One line for marketers: what the step does. */
  description: string;
  /** Schema of the step's `with:` block. */
  input: z.ZodType<W>;
  /** Retry/timeout policy, pinned into every plan that uses the activity. */
  policy: ActivityPolicy;
}

/**
 * The activities journeys are checked against. The compiler never imports activities/; callers
 * pass the worker's catalog (`activityCatalog` in activities/index.ts) or a stand-in.
 */
export interface ActivityCatalog {
  /** The only names a journey's `do:` may use. */
  activities: Readonly<Record<string, ActivitySignature>>;
  /** Policies of the activities the interpreter calls itself; pinned into every plan. */
  builtinPolicies: Readonly<Record<string, ActivityPolicy>>;
}

/** What a journey is checked against: the other files and the activity catalog. */
export interface JourneyEnvironment extends ActivityCatalog {
  /** Every template file by id; `null` when the file exists but has errors of its own. */
  templates: ReadonlyMap<string, TemplatePlan | null>;
  /** The audiences `in_audience` may name in a trigger's where; absent: none are defined. */
  audiences?: AudienceLookup;
}

type Raw = Record<string, unknown>;
const isMap = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const STEP_KIND_SET: ReadonlySet<string> = new Set(STEP_KINDS);
const STEP_KINDS_HINT = `a step has exactly one of: ${STEP_KINDS.join(', ')}`;
const MAX_COOLDOWN_MS = 3650 * 86_400_000;
const NO_AUDIENCES: AudienceLookup = { find: () => undefined, known: () => [] };
const timeZones: ReadonlySet<string> = new Set(Intl.supportedValuesOf('timeZone'));

/** Per-file compile state: the reporter plus what the steps have used so far. */
class JourneyCompiler {
  readonly r: Reporter;
  private readonly ids = new Map<string, number>();
  readonly templatesUsed = new Map<string, TemplatePlan>();
  readonly activitiesUsed = new Set<string>();
  /**
   * Whether a wait_for before the step being compiled may have received an event, so `received.*`
   * is readable: true inside on_event and after a wait_for; branches start from where their step is.
   */
  private received = false;

  constructor(
    reporter: Reporter,
    private readonly env: JourneyEnvironment,
    private readonly locateLine: (path: YamlPath) => number,
  ) {
    this.r = reporter;
  }

  reportFor(step?: string): Report {
    return (code, path, message, hint, anchor) => this.r.add(code, path, message, hint, { anchor, step });
  }

  duration(raw: unknown, path: YamlPath, report: Report, what: string, min: number = MIN_WAIT_MS, max: number = MAX_WAIT_MS, signed = false): number | undefined {
    const d = parseDuration(raw, signed);
    if (!d.ok) {
      report(d.code, path, `${what}: ${d.message}`, d.hint);
      return undefined;
    }
    if (Math.abs(d.ms) > max || (!signed && d.ms < min)) {
      const limit = signed ? `at most ${formatDuration(max)} before or after` : `between ${formatDuration(min)} and ${formatDuration(max)}`;
      report('duration_out_of_range', path, `${what} of ${String(raw)} is out of range`, `${what} must be ${limit}`);
      return undefined;
    }
    return d.ms;
  }

  condition(raw: unknown, path: YamlPath, allowEvent: boolean, report: Report, audiences?: AudienceLookup): Condition | undefined {
    return compileCondition(raw, path, { allowEvent, allowReceived: this.received, report, ...(audiences ? { audiences } : {}) });
  }

  /** Compiles branches that each start where their step is; after them, `received` may be set if it may be at the end of any. */
  private branches<T>(compile: Array<() => T>): T[] {
    const start = this.received;
    let after = start;
    const out = compile.map((branch) => {
      this.received = start;
      const result = branch();
      after ||= this.received;
      return result;
    });
    this.received = after;
    return out;
  }

  /** Reports Liquid that reads received.* where no wait_for can have received anything yet. */
  private checkReceived(value: unknown, path: YamlPath, report: Report, what?: string): boolean {
    if (this.received || !readsRoot(value, 'received')) return true;
    report(
      'received_before_wait_for',
      path,
      `${what ?? `"${String(path[path.length - 1])}"`} reads received.*, the event a wait_for received, but no wait_for can have received anything before this step`,
      "read received.* in a wait_for's on_event or in the steps after a wait_for (in on_timeout only after an earlier wait_for); trigger.* is the event that started the journey",
    );
    return false;
  }

  /** `audiences` is passed for the trigger only: the router loads what in_audience and events.* read. */
  matcher(raw: unknown, path: YamlPath, allowEvent: boolean, audiences?: AudienceLookup): EventMatcher | undefined {
    if (!isMap(raw) || typeof raw.event !== 'string') return undefined;
    if (!this.ordinaryEvent(raw.event, [...path, 'event'])) return undefined;
    if (raw.where === undefined) return { event: raw.event };
    const where = this.condition(raw.where, [...path, 'where'], allowEvent, this.reportFor(), audiences);
    return where === undefined ? undefined : { event: raw.event, where };
  }

  /** Reports an event name Unbroken keeps for itself (LEFT_AUDIENCE_EVENT): no event from outside ever reaches a run under it. */
  ordinaryEvent(name: string, path: YamlPath): boolean {
    if (name !== LEFT_AUDIENCE_EVENT) return true;
    this.reportFor()('reserved_event', path, `"${name}" is a name Unbroken keeps for itself; no event of this name reaches a journey`, 'to end a run when the customer leaves the trigger\'s audience, write - left_audience: true under exit_when', 'value');
    return false;
  }

  /**
   * The trigger: exactly one kind, a track event (optionally keyed), an audience, a schedule (with
   * the audience it enrols) or a date, each optionally narrowed by `where`. `audiences` feed
   * in_audience, events.* and `audience:`.
   */
  trigger(raw: unknown, audiences: AudienceLookup): TriggerPlan | undefined {
    if (!isMap(raw)) return undefined;
    const report = this.reportFor();
    if (!oneTriggerKind(raw, report)) return undefined;
    if (raw.date !== undefined || DATE_TRIGGER_KEYS.some((k) => raw[k] !== undefined)) return compileDateTrigger(raw, report, (w) => this.condition(w, ['trigger', 'where'], false, report, audiences));
    if (raw.schedule !== undefined) return this.scheduleTrigger(raw, audiences, report);
    if (raw.audience !== undefined) return this.audienceTrigger(raw, audiences, report);
    if (raw.event === undefined) {
      report(
        'missing_trigger_kind',
        ['trigger'],
        'the trigger names no event, audience, schedule or date',
        'add event: <track event name>, audience: <audience id> (a file in definitions/audiences/), schedule: { cron: … } beside an audience:, or date: profile.<trait>',
        'key',
      );
      return undefined;
    }
    const matcher = this.matcher(raw, ['trigger'], false, audiences);
    const key = raw.key !== undefined ? compileTriggerKey(raw.key, report) : undefined;
    return matcher && key ? { ...matcher, key } : matcher;
  }

  /** A schedule enrols the audience beside it at each of its times. */
  private scheduleTrigger(raw: Raw, audiences: AudienceLookup, report: Report): TriggerPlan | undefined {
    const schedule = compileSchedule(raw.schedule, report);
    if (raw.audience === undefined) {
      report('schedule_without_audience', ['trigger', 'schedule'], 'a schedule enrols an audience at each of its times, but this trigger names none', 'add audience: <audience id> beside schedule: (a file in definitions/audiences/)', 'key');
      return undefined;
    }
    const enrolled = this.audienceTrigger(raw, audiences, report);
    return schedule && enrolled ? { schedule, ...enrolled } : undefined;
  }

  private audienceTrigger(raw: Raw, audiences: AudienceLookup, report: Report): AudienceTriggerPlan | undefined {
    if (raw.key !== undefined) {
      report(
        'key_with_audience',
        ['trigger', 'key'],
        'trigger.key makes one run per thing an event names (a cart, an order); a journey that starts from an audience has one run per customer',
        'remove key:, or enter on an event (trigger: { event: …, key: … }) and test the audience in its where: { in_audience: <id> }',
        'key',
      );
    }
    if (typeof raw.audience !== 'string') return undefined;
    const members = audienceCondition(raw.audience, ['trigger', 'audience'], audiences, report);
    const where = raw.where === undefined ? undefined : this.condition(raw.where, ['trigger', 'where'], false, report, audiences);
    if (!members || raw.key !== undefined || (raw.where !== undefined && !where)) return undefined;
    return { audience: raw.audience, members, ...(where ? { where } : {}) };
  }

  /**
   * One `exit_when` entry: an event matcher, or `left_audience: true` (only beside an audience
   * trigger; `startsFrom` names what else the journey starts from, for the error).
   */
  exit(raw: unknown, path: YamlPath, startsFrom: string | undefined): EventMatcher | undefined {
    if (!isMap(raw) || (raw.left_audience === undefined && raw.event !== undefined)) return this.matcher(raw, path, true);
    const report = this.reportFor();
    if (raw.left_audience === undefined) {
      report('missing_exit_event', path, 'this exit_when entry names no event', 'write - event: <track event name> (optionally with where:), or - left_audience: true in a journey that starts from an audience', 'key');
      return undefined;
    }
    if (raw.event !== undefined || raw.where !== undefined) {
      report('conflicting_keys', [...path, 'left_audience'], 'an exit_when entry is an event or left_audience: true, this one has both', 'put left_audience: true in a list item of its own', 'key');
      return undefined;
    }
    if (startsFrom !== undefined) {
      report(
        'left_audience_without_audience',
        [...path, 'left_audience'],
        `left_audience ends a run when the customer leaves the audience the journey starts from, but this journey starts from ${startsFrom}`,
        'use it in a journey whose trigger is audience: <id> alone (no schedule); to end this journey on an event, write - event: <name>',
        'key',
      );
      return undefined;
    }
    return raw.left_audience === true ? { event: LEFT_AUDIENCE_EVENT } : undefined;
  }

  window(raw: Raw, path: YamlPath, report: Report): TimeWindow | undefined {
    const before = this.r.count;
    let days: number[] = [0, 1, 2, 3, 4, 5, 6];
    if (raw.days !== undefined) {
      if (!Array.isArray(raw.days) || raw.days.length === 0) {
        report('invalid_day', [...path, 'days'], `"days" must be a non-empty list of weekdays, got ${describeValue(raw.days)}`, `e.g. days: [mon, tue, wed, thu, fri]`);
      } else {
        const found = new Set<number>();
        raw.days.forEach((d, i) => {
          const word = typeof d === 'string' ? d.trim().toLowerCase() : '';
          const idx = DAY_NAMES.findIndex((n) => n === word || (word.length > 3 && fullDayName(n) === word));
          if (idx >= 0) found.add(idx);
          else report('invalid_day', [...path, 'days', i], `${describeValue(d)} is not a weekday${didYouMean(word, DAY_NAMES)}`, `use ${DAY_NAMES.join(', ')}`);
        });
        days = [...found].sort((a, b) => a - b);
      }
    }
    let startMinute = 0;
    let endMinute = 1440;
    if (raw.hours !== undefined) {
      const m = typeof raw.hours === 'string' ? /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(raw.hours.trim()) : null;
      const start = m ? clock(m[1], m[2], false) : undefined;
      const end = m ? clock(m[3], m[4], true) : undefined;
      if (start === undefined || end === undefined || end <= start) {
        const why = start !== undefined && end !== undefined ? ' (the end must be later than the start; windows over midnight are not supported)' : '';
        report('invalid_hours', [...path, 'hours'], `${describeValue(raw.hours)} is not a time range${why}`, 'write local times "HH:MM-HH:MM", e.g. "09:00-20:00"; the end is exclusive and may be 24:00');
      } else {
        startMinute = start;
        endMinute = end;
      }
    } else if (raw.time !== undefined) {
      const m = typeof raw.time === 'string' ? /^(\d{1,2}):(\d{2})$/.exec(raw.time.trim()) : null;
      const at = m ? clock(m[1], m[2], false) : undefined;
      if (at === undefined) report('invalid_time', [...path, 'time'], `${describeValue(raw.time)} is not a time of day`, 'write a local time "HH:MM", e.g. "09:00"');
      else {
        startMinute = at;
        endMinute = at + 1;
      }
    }
    let timezone = 'customer';
    if (raw.timezone !== undefined) {
      if (typeof raw.timezone === 'string' && (raw.timezone === 'customer' || timeZones.has(raw.timezone) || isValidTimeZone(raw.timezone))) timezone = raw.timezone;
      else {
        const word = typeof raw.timezone === 'string' ? raw.timezone : '';
        report('invalid_timezone', [...path, 'timezone'], `${describeValue(raw.timezone)} is not a timezone${didYouMean(word, ['customer', ...timeZones])}`, '"customer" (the profile\'s timezone) or an IANA name like "Europe/Berlin"');
      }
    }
    return this.r.count > before ? undefined : { days, startMinute, endMinute, timezone };
  }

  steps(raw: unknown, path: YamlPath, parent: { id: string; branch: string } | undefined, report: Report): Step[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) {
      report('invalid_type', path, `"${String(path[path.length - 1])}" must be a list of steps, got ${describeValue(raw)}`, 'write one step per line, each starting with "- ", e.g. "- wait: 1h"');
      return [];
    }
    const out: Step[] = [];
    raw.forEach((item, i) => {
      const step = this.step(item, [...path, i], parent ? `${parent.id}.${parent.branch}.` : '', i + 1);
      if (step) out.push(step);
    });
    return out;
  }

  private step(raw: unknown, path: YamlPath, idPrefix: string, position: number): Step | undefined {
    if (!isMap(raw)) {
      this.reportFor()('invalid_step', path, `a step must be a map like "- wait: 1h", got ${describeValue(raw)}`, STEP_KINDS_HINT);
      return undefined;
    }
    const explicitId = typeof raw.id === 'string' && STEP_ID_RE.test(raw.id) ? raw.id : undefined;
    const keys = Object.keys(raw);
    const kinds = keys.filter((k) => STEP_KIND_SET.has(k)) as StepKey[];
    if (kinds.length === 0) {
      const report = this.reportFor(explicitId);
      const unknown = keys.filter((k) => k !== 'id' && k !== 'name' && !Object.hasOwn(COMPANION_KEYS, k));
      if (unknown.length > 0) {
        for (const k of unknown) report('unknown_step_kind', [...path, k], `unknown step kind "${k}"${didYouMean(k, STEP_KINDS)}`, STEP_KINDS_HINT, 'key');
      } else {
        const companion = keys.find((k) => Object.hasOwn(COMPANION_KEYS, k));
        const extra = companion ? ` ("${companion}" belongs to ${article(COMPANION_KEYS[companion])} "${COMPANION_KEYS[companion]}" step)` : '';
        report('missing_step_kind', path, `this step has no step key${extra}`, STEP_KINDS_HINT);
      }
      return undefined;
    }
    const kind = kinds[0];
    const id = explicitId ?? `${idPrefix}${kind}-${position}`;
    const report = this.reportFor(id);
    if (kinds.length > 1) {
      report('multiple_step_kinds', [...path, kinds[1]], `a step has one step key, this one has ${kinds.map((k) => `"${k}"`).join(' and ')}`, 'put each in its own list item, starting with "- "', 'key');
    }
    const allowed = ['id', 'name', ...Object.keys(COMPANION_KEYS).filter((c) => COMPANION_KEYS[c] === kind)];
    for (const k of keys) {
      if (STEP_KIND_SET.has(k) || allowed.includes(k)) continue;
      if (Object.hasOwn(COMPANION_KEYS, k)) {
        report('misplaced_key', [...path, k], `"${k}" belongs to ${article(COMPANION_KEYS[k])} "${COMPANION_KEYS[k]}" step, not to "${kind}"`, `keys allowed next to "${kind}": ${allowed.join(', ')}`, 'key');
      } else {
        report('unknown_key', [...path, k], `unknown key "${k}" in a "${kind}" step${didYouMean(k, [...allowed, ...STEP_KINDS])}`, `keys allowed next to "${kind}": ${allowed.join(', ')}; ${STEP_KINDS_HINT}`, 'key');
      }
    }
    if (raw.id !== undefined && explicitId === undefined) {
      report('invalid_step_id', [...path, 'id'], `step id ${describeValue(raw.id)} must be kebab-case or snake_case words`, 'e.g. id: first-reminder');
    }
    const seenAt = this.ids.get(id);
    const idPath = explicitId ? [...path, 'id'] : path;
    if (seenAt !== undefined) {
      report('duplicate_step_id', idPath, `duplicate step id "${id}" (first used on line ${seenAt})`, 'step ids must be unique within a journey; rename one of them');
    } else {
      this.ids.set(id, this.locateLine(idPath));
    }
    if (raw.name !== undefined && typeof raw.name !== 'string') {
      report('invalid_type', [...path, 'name'], `"name" must be text, got ${describeValue(raw.name)}`, 'e.g. name: First reminder');
    }
    const base = { id, ...(typeof raw.name === 'string' ? { name: raw.name } : {}) };
    const before = this.r.count;
    const step = this.body(kind, raw, path, id, base, report);
    return this.r.count > before ? undefined : step;
  }

  private body(kind: StepKey, raw: Raw, path: YamlPath, id: string, base: { id: string; name?: string }, report: Report): Step | undefined {
    const value = raw[kind];
    const at: YamlPath = [...path, kind];
    switch (kind) {
      case 'wait': {
        const ms = this.duration(value, at, report, 'wait');
        return ms === undefined ? undefined : { ...base, kind: 'wait', ms };
      }
      case 'wait_until':
        return this.waitUntil(value, at, base, report);
      case 'wait_for': {
        if (!checkShape(validateSchemas.waitFor, value, at, report) || !isMap(value)) {
          // Still look inside the branches so their problems are reported in the same run.
          this.waitForBranches(raw, path, id, report);
          return undefined;
        }
        this.ordinaryEvent(String(value.event), [...at, 'event']);
        const withinMs = this.duration(value.within, [...at, 'within'], report, 'within');
        const where = value.where === undefined ? undefined : this.condition(value.where, [...at, 'where'], true, report);
        const [onEvent, onTimeout] = this.waitForBranches(raw, path, id, report);
        if (withinMs === undefined) return undefined;
        // Written only when asked for: plan versions are content hashes, and plans without it stay as they were.
        const since = value.since === 'entry' ? { sinceEntry: true as const } : {};
        return { ...base, kind: 'wait_for', event: String(value.event), ...(where ? { where } : {}), withinMs, ...since, onEvent, onTimeout };
      }
      case 'send':
        return this.send(value, at, base, report);
      case 'update_profile': {
        if (!checkShape(validateSchemas.updateProfile, value, at, report) || !isMap(value)) return undefined;
        const keys = PROFILE_CHANGE_FIELDS.map((f) => f.yaml);
        if (!keys.some((k) => value[k] !== undefined)) {
          report('empty_update_profile', at, 'update_profile changes nothing', `use at least one of: ${keys.join(', ')}`);
          return undefined;
        }
        if (value.set !== undefined && checkLiquidDeep(value.set, [...at, 'set'], report)) this.checkReceived(value.set, [...at, 'set'], report);
        const changes: Record<string, unknown> = {};
        for (const { field, yaml } of PROFILE_CHANGE_FIELDS) if (value[yaml] !== undefined) changes[field] = value[yaml];
        return { ...base, kind: 'update_profile', ...changes };
      }
      case 'if': {
        // The interpreter loads what in_audience and events.* read before it decides (loadAggregates).
        const condition = this.condition(value, at, false, report, this.env.audiences ?? NO_AUDIENCES);
        if (raw.then === undefined) report('missing_key', at, 'an "if" step needs "then" (the steps when the condition holds)', 'add then: followed by a list of steps; else: is optional', 'key');
        const [then, otherwise] = this.branches([
          () => this.steps(raw.then, [...path, 'then'], { id, branch: 'then' }, report),
          () => this.steps(raw.else, [...path, 'else'], { id, branch: 'else' }, report),
        ]);
        return condition === undefined ? undefined : { ...base, kind: 'if', condition, then, else: otherwise };
      }
      case 'split':
        return this.split(value, at, id, base, report);
      case 'do':
        return this.doStep(value, raw.with, path, base, report);
      case 'exit':
        if (typeof value !== 'string' || value.trim() === '') {
          report('invalid_type', at, `"exit" needs a reason, got ${describeValue(value)}`, 'e.g. exit: not-eligible');
          return undefined;
        }
        return { ...base, kind: 'exit', reason: value };
    }
  }

  /** on_event runs once the event is received; on_timeout starts where the wait_for is; after it, an event may have been received. */
  private waitForBranches(raw: Raw, path: YamlPath, id: string, report: Report): [Step[], Step[]] {
    const start = this.received;
    this.received = true;
    const onEvent = this.steps(raw.on_event, [...path, 'on_event'], { id, branch: 'on_event' }, report);
    this.received = start;
    const onTimeout = this.steps(raw.on_timeout, [...path, 'on_timeout'], { id, branch: 'on_timeout' }, report);
    this.received = true;
    return [onEvent, onTimeout];
  }

  private waitUntil(value: unknown, at: YamlPath, base: { id: string; name?: string }, report: Report): Step | undefined {
    if (!isMap(value)) {
      report('invalid_type', at, `"wait_until" must be a map, got ${describeValue(value)}`, 'e.g. wait_until: { hours: "09:00-20:00" } or wait_until: { date: "{{ profile.renewal_at }}", offset: -7d }');
      return undefined;
    }
    if (value.date !== undefined) {
      if (!checkShape(validateSchemas.waitUntilDate, value, at, report)) return undefined;
      const date = this.dateExpression(value.date, [...at, 'date'], report);
      const offsetMs = value.offset === undefined ? 0 : this.duration(value.offset, [...at, 'offset'], report, 'offset', 0, MAX_WAIT_MS, true);
      const m = typeof value.time === 'string' ? /^(\d{1,2}):(\d{2})$/.exec(value.time.trim()) : null;
      const minuteOfDay = m ? clock(m[1], m[2], false) : undefined;
      if (value.time !== undefined && minuteOfDay === undefined) {
        report('invalid_time', [...at, 'time'], `${describeValue(value.time)} is not a time of day`, 'write a local time "HH:MM", e.g. "09:00"');
        return undefined;
      }
      if (date === undefined || offsetMs === undefined) return undefined;
      const onInvalid = value.on_invalid === 'continue' ? 'continue' : 'exit';
      return { ...base, kind: 'wait_until_date', date, offsetMs, ...(minuteOfDay === undefined ? {} : { minuteOfDay }), onInvalid };
    }
    if (value.on_invalid !== undefined) {
      report('misplaced_key', [...at, 'on_invalid'], '"on_invalid" only applies to a wait_until with a "date"', 'a time window is always valid; remove on_invalid, or wait for a date: wait_until: { date: "{{ profile.birthday }}", on_invalid: continue }', 'key');
      return undefined;
    }
    if (!checkShape(validateSchemas.waitUntilWindow, value, at, report)) return undefined;
    if ((value.hours === undefined) === (value.time === undefined)) {
      const both = value.hours !== undefined;
      report(
        both ? 'conflicting_keys' : 'missing_key',
        at,
        both ? '"wait_until" takes either "hours" or "time", not both' : '"wait_until" needs "hours", "time" or "date"',
        'e.g. wait_until: { hours: "09:00-20:00" }, wait_until: { time: "09:00" } or wait_until: { date: "{{ profile.renewal_at }}" }',
        'key',
      );
      return undefined;
    }
    const window = this.window(value, at, report);
    return window === undefined ? undefined : { ...base, kind: 'wait_until', window };
  }

  /** Normalises `{{ profile.x }}`, a bare `profile.x` or an ISO date to what the plan carries. */
  private dateExpression(raw: unknown, at: YamlPath, report: Report): string | undefined {
    const hint = 'a path like "{{ profile.renewal_at }}" or "{{ trigger.properties.delivery_date }}", or an ISO date like "2025-12-24"';
    if (typeof raw !== 'string' || raw.trim() === '') {
      report('invalid_date', at, `"date" must be a date expression, got ${describeValue(raw)}`, hint);
      return undefined;
    }
    const text = raw.trim();
    if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
      if (parseDateValue(text) !== undefined) return text;
      report('invalid_date', at, `"${text}" is not a real date`, 'write an ISO date like "2026-12-24" (a day on the customer\'s clock) or "2026-12-24T09:00:00Z" (an exact moment)');
      return undefined;
    }
    const whole = /^\{\{\s*([^{}]*?)\s*\}\}$/.exec(text);
    if (!whole && /\{\{|\{%/.test(text)) {
      report('invalid_date', at, `"${text}" must be a single {{ path }} expression`, hint);
      return undefined;
    }
    const path = whole ? whole[1] : text;
    const roots = { received: this.received };
    const bad = whole ? checkExpressions(text, roots) : checkPath(path, roots);
    if (bad) {
      report(bad.code, at, bad.message, hint);
      return undefined;
    }
    return `{{ ${path} }}`;
  }

  private send(value: unknown, at: YamlPath, base: { id: string; name?: string }, report: Report): Step | undefined {
    let templateId: string;
    let templatePath: YamlPath = at;
    const extra: { to?: string; data?: Record<string, unknown>; category?: string; onCap?: 'skip' | 'defer'; channels?: TemplatePlan['channel'][] } = {};
    let channels: unknown;
    if (typeof value === 'string') templateId = value;
    else if (isMap(value)) {
      if (!checkShape(validateSchemas.sendObject, value, at, report)) return undefined;
      templateId = String(value.template);
      templatePath = [...at, 'template'];
      if (typeof value.to === 'string' && checkLiquid(value.to, [...at, 'to'], report) && this.checkReceived(value.to, [...at, 'to'], report)) extra.to = value.to;
      if (isMap(value.data) && checkLiquidDeep(value.data, [...at, 'data'], report) && this.checkReceived(value.data, [...at, 'data'], report)) extra.data = value.data;
      if (typeof value.category === 'string') extra.category = value.category;
      if (value.on_cap === 'defer' || value.on_cap === 'skip') extra.onCap = value.on_cap;
      channels = value.channels;
    } else {
      report('invalid_type', at, `"send" must be a template id or a map, got ${describeValue(value)}`, 'e.g. send: cart-reminder, or send: { template: cart-reminder, data: { coupon: SAVE10 } }');
      return undefined;
    }
    const template = this.env.templates.get(templateId);
    if (template === undefined) {
      const known = [...this.env.templates.keys()].sort();
      report(
        'unknown_template',
        templatePath,
        `unknown template "${templateId}"${didYouMean(templateId, known)}`,
        known.length > 0 ? `templates live in templates/<id>.yaml; known: ${listOf(known)}` : 'add templates/<id>.yaml; there are no templates yet',
      );
      return undefined;
    }
    if (template === null) {
      report('template_invalid', templatePath, `template "${templateId}" has errors of its own`, `fix templates/${templateId}.yaml first (its errors are listed too)`);
      return undefined;
    }
    if (Array.isArray(channels)) {
      const checked = this.sendChannels(channels as TemplatePlan['channel'][], template, extra.to !== undefined, at, report);
      if (checked === undefined) return undefined;
      extra.channels = checked;
    }
    const { file: _file, id: _id, channel: _channel, category: _category, ...texts } = template;
    if (!this.checkReceived(texts, templatePath, report, `template "${templateId}"`)) return undefined;
    this.templatesUsed.set(templateId, template);
    return { ...base, kind: 'send', template: templateId, ...extra };
  }

  /** A send's fallback channels: each once, each with content in the template, no `to:` beside several. */
  private sendChannels(channels: TemplatePlan['channel'][], template: TemplatePlan, hasTo: boolean, at: YamlPath, report: Report): TemplatePlan['channel'][] | undefined {
    const before = this.r.count;
    const file = `templates/${template.id}.yaml`;
    channels.forEach((channel, i) => {
      const itemAt: YamlPath = [...at, 'channels', i];
      if (channels.indexOf(channel) !== i) {
        report('duplicate_channel', itemAt, `channel "${channel}" is listed twice`, 'list each channel once, in the order to try them');
      } else if (channel !== template.channel && template.alternatives?.[channel] === undefined) {
        const has = [template.channel, ...Object.keys(template.alternatives ?? {})].join(', ');
        report(
          'channel_without_content',
          itemAt,
          `template "${template.id}" has no ${channel} content (it has: ${has})`,
          `add a "${channel}:" section with the ${channel} parts to ${file}, or remove ${channel} from channels`,
        );
      }
    });
    if (hasTo && channels.length > 1) {
      report('conflicting_keys', [...at, 'to'], '"to" names one address, but this send may go out on several channels', 'drop "to" (each channel uses the customer\'s own address), or list one channel');
    }
    return this.r.count > before ? undefined : channels;
  }

  private split(value: unknown, at: YamlPath, id: string, base: { id: string; name?: string }, report: Report): Step | undefined {
    if (!checkShape(validateSchemas.split, value, at, report) || !isMap(value) || !Array.isArray(value.variants)) return undefined;
    const names = new Set<string>();
    const variants: { name: string; weight: number; steps: Step[] }[] = [];
    // Every variant starts where the split is (see branches()).
    const start = this.received;
    let after = start;
    value.variants.forEach((v, i) => {
      const vAt: YamlPath = [...at, 'variants', i];
      const shapeOk = checkShape(validateSchemas.variant, v, vAt, report);
      if (!isMap(v)) return;
      const name = typeof v.name === 'string' ? v.name : `variant-${i + 1}`;
      if (typeof v.name === 'string' && names.has(v.name)) {
        report('duplicate_variant', [...vAt, 'name'], `duplicate variant name "${v.name}"`, 'each variant of a split needs its own name');
      }
      names.add(name);
      this.received = start;
      const steps = this.steps(v.steps, [...vAt, 'steps'], { id, branch: name }, report);
      after ||= this.received;
      if (shapeOk) variants.push({ name, weight: Number(v.weight), steps });
    });
    this.received = after;
    const holdout = typeof value.holdout === 'number' ? value.holdout : 0;
    return { ...base, kind: 'split', variants, holdout };
  }

  private doStep(value: unknown, withValue: unknown, path: YamlPath, base: { id: string; name?: string }, report: Report): Step | undefined {
    const at: YamlPath = [...path, 'do'];
    if (typeof value !== 'string' || value === '') {
      report('invalid_type', at, `"do" needs an activity name, got ${describeValue(value)}`, 'e.g. do: notify-slack');
      return undefined;
    }
    const names = Object.keys(this.env.activities).sort();
    const activity = Object.prototype.hasOwnProperty.call(this.env.activities, value) ? this.env.activities[value] : undefined;
    if (!activity) {
      report('unknown_activity', at, `unknown activity "${value}"${didYouMean(value, names)}`, names.length > 0 ? `registered activities: ${listOf(names)}` : 'no activities are registered');
      return undefined;
    }
    const withAt: YamlPath = [...path, 'with'];
    const input = withValue ?? {};
    if (!isMap(input)) {
      report('invalid_type', withAt, `"with" must be a map, got ${describeValue(input)}`, `the input of "${value}": ${activity.description}`);
      return undefined;
    }
    if (!checkShape(activity.input, input, withAt, report, { code: 'invalid_with', prefix: `activity "${value}": `, hint: `"${value}": ${activity.description}` })) return undefined;
    if (!this.checkReceived(input, withAt, report)) return undefined;
    this.activitiesUsed.add(value);
    return { ...base, kind: 'do', activity: value, with: input };
  }

  /** `perOccurrence`: the trigger has occurrences (a schedule's times, a date's years), each entered once; omitted re_entry then means always. */
  reEntry(raw: unknown, perOccurrence = false): ReEntry | undefined {
    if (raw === undefined && perOccurrence) return { mode: 'always' };
    if (raw === undefined || raw === 'never') return { mode: 'never' };
    if (raw === 'always') return { mode: 'always' };
    const report = this.reportFor();
    if (typeof raw === 'string' && !/\d/.test(raw)) {
      report('invalid_re_entry', ['re_entry'], `"${raw}" is not a re-entry rule${didYouMean(raw, ['never', 'always'])}`, 'never (default), always, or a cool-down like 30d');
      return undefined;
    }
    const ms = this.duration(raw, ['re_entry'], report, 're_entry', MIN_WAIT_MS, MAX_COOLDOWN_MS);
    return ms === undefined ? undefined : { mode: 'cooldown', ms };
  }
}

/**
 * Reports survey_reminders in a journey that asks no survey, and warns about a survey sent more
 * often in one run than its reminders allow: those sends would always be skipped (survey_fatigue).
 */
function checkSurveyAsks(steps: Step[], used: ReadonlyMap<string, TemplatePlan>, reminders: number | undefined, report: Report, r: Reporter): void {
  const asks = surveyAsksPerRun(steps, Object.fromEntries(used));
  if (reminders !== undefined && asks.size === 0) {
    report(
      'survey_reminders_without_survey',
      ['survey_reminders'],
      'survey_reminders limits how often a survey is asked again, but this journey sends no template with a survey',
      'remove survey_reminders, or send a template that has survey:',
      'key',
    );
  }
  const allowed = (reminders ?? DEFAULT_SURVEY_REMINDERS) + 1;
  for (const [survey, n] of asks) {
    if (n <= allowed) continue;
    r.warn(
      'survey_asked_too_often',
      reminders === undefined ? ['steps'] : ['survey_reminders'],
      `survey "${survey}" can be sent ${n} times in one run, but only ${allowed} ${allowed === 1 ? 'is' : 'are'} allowed (the question and survey_reminders: ${allowed - 1} more); the sends after that are always skipped as survey_fatigue`,
      `set survey_reminders: ${n - 1} at the top of the journey, or send the survey fewer times`,
      { anchor: 'key' },
    );
  }
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

function fullDayName(short: string): string {
  return { sun: 'sunday', mon: 'monday', tue: 'tuesday', wed: 'wednesday', thu: 'thursday', fri: 'friday', sat: 'saturday' }[short] ?? short;
}

function clock(h: string, m: string, allowEndOfDay: boolean): number | undefined {
  const hours = Number(h);
  const minutes = Number(m);
  if (minutes > 59) return undefined;
  if (hours === 24 && minutes === 0 && allowEndOfDay) return 1440;
  return hours > 23 ? undefined : hours * 60 + minutes;
}

/** The keys that each name a kind of trigger; `audience` beside `schedule` is the schedule's, not a kind of its own. */
const TRIGGER_KIND_KEYS = ['event', 'audience', 'schedule', 'date'] as const;

/** Reports a trigger that names more than one kind (event, audience, schedule with its audience, date). */
function oneTriggerKind(raw: Raw, report: Report): boolean {
  const kinds = TRIGGER_KIND_KEYS.filter((k) => raw[k] !== undefined && !(k === 'audience' && raw.schedule !== undefined));
  if (kinds.length < 2) return true;
  report(
    'conflicting_keys',
    ['trigger', kinds[1]],
    `a trigger starts a journey in one way, this one has both ${kinds[0]} and ${kinds[1]}`,
    'keep one of event: (a track event), audience: (customers as they start matching), schedule: with audience: (the audience at each cron time) or date: (a date of the profile); narrow it with where:',
    'key',
  );
  return false;
}

/** What a journey starts from, in words, unless it is an audience alone (which left_audience needs); undefined for that. */
function startsFromOtherThanAudience(trigger: unknown): string | undefined {
  if (!isMap(trigger)) return undefined;
  if (trigger.schedule !== undefined) return 'a schedule';
  if (trigger.date !== undefined) return 'a date';
  return trigger.audience === undefined ? 'an event' : undefined;
}

/** Compiles one journey file's text; returns the plan only when the file has no errors. */
export function compileJourneySource(
  text: string,
  names: SourceNames,
  env: JourneyEnvironment,
): { plan?: JourneyPlan; errors: CompileError[]; warnings: CompileError[] } {
  const { file: source, problems } = parseYaml(text);
  const r = new Reporter(names.errorFile, source);
  for (const p of problems) r.addAt(p.code, p.position.line, p.position.column, p.message, p.hint);
  if (!source) return { errors: r.errors, warnings: r.warnings };
  const c = new JourneyCompiler(r, env, (p) => source.locate(p).line);
  const report = c.reportFor();

  const raw = source.value;
  if (!isMap(raw)) {
    report('not_a_map', [], `a journey file must be a map with journey, trigger and steps, got ${describeValue(raw)}`, 'start with "journey: <file name>", then trigger: and steps:');
    return { errors: r.errors, warnings: r.warnings };
  }
  checkShape(validateSchemas.journey, raw, [], report);
  checkIdMatchesFile('journey', raw.journey, names, report);

  const trigger = c.trigger(raw.trigger, env.audiences ?? NO_AUDIENCES);
  const reEntry = c.reEntry(raw.re_entry, isMap(raw.trigger) && (raw.trigger.schedule !== undefined || raw.trigger.date !== undefined));
  const goal = raw.goal === undefined ? undefined : c.matcher(raw.goal, ['goal'], true);
  const audienceTriggered = isMap(raw.trigger) && raw.trigger.audience !== undefined;
  // Only a journey entered as customers start matching hears them leave; a schedule's runs are not told.
  const startsFrom = startsFromOtherThanAudience(raw.trigger);
  const exitWhen = Array.isArray(raw.exit_when) ? raw.exit_when.map((m, i) => c.exit(m, ['exit_when', i], startsFrom)) : [];
  const sendWindow = isMap(raw.send_window) ? c.window(raw.send_window, ['send_window'], report) : undefined;
  let frequencyCap: { max: number; windowMs: number; perKey?: true } | undefined;
  if (isMap(raw.frequency_cap) && typeof raw.frequency_cap.max === 'number') {
    const windowMs = c.duration(raw.frequency_cap.per, ['frequency_cap', 'per'], report, 'frequency_cap.per', MIN_WAIT_MS, MAX_WAIT_MS);
    if (windowMs !== undefined) frequencyCap = { max: raw.frequency_cap.max, windowMs, ...(raw.frequency_cap.per_key === true ? { perKey: true as const } : {}) };
    if (raw.frequency_cap.per_key === true && !(isMap(raw.trigger) && raw.trigger.key !== undefined)) {
      report('per_key_without_key', ['frequency_cap', 'per_key'], 'frequency_cap.per_key needs a trigger key: without one every run of a customer has the same (empty) key', 'add key: "{{ trigger.properties.<id> }}" under trigger:, or remove per_key');
    }
  }
  if (Array.isArray(raw.steps) && raw.steps.length === 0) {
    report('no_steps', ['steps'], 'the journey has no steps', 'add at least one step, e.g. - send: welcome');
  }
  const steps = c.steps(Array.isArray(raw.steps) ? raw.steps : [], ['steps'], undefined, report);
  // A value the schema refused is reported already; counting against it would only add noise.
  const remindersOk = validateSchemas.journey.shape.survey_reminders.safeParse(raw.survey_reminders).success;
  const surveyReminders = remindersOk && typeof raw.survey_reminders === 'number' ? raw.survey_reminders : undefined;
  if (remindersOk) checkSurveyAsks(steps, c.templatesUsed, surveyReminders, report, r);

  // A date journey's sweep enters the customers whose day has come at this rate too.
  if (raw.rate !== undefined && !audienceTriggered && !(isMap(raw.trigger) && raw.trigger.date !== undefined)) {
    report('rate_without_audience', ['rate'], 'rate: paces how fast customers of an audience are entered, but this journey starts from an event', 'remove rate:, or start the journey from an audience (trigger: { audience: <id> })');
  }
  const rate = typeof raw.rate === 'number' && validateSchemas.journey.shape.rate.safeParse(raw.rate).success ? raw.rate : undefined;

  if (r.count > 0 || !trigger || !reEntry || typeof raw.journey !== 'string') return { errors: r.errors, warnings: r.warnings };

  const templates: Record<string, TemplatePlan> = {};
  for (const id of [...c.templatesUsed.keys()].sort()) templates[id] = structuredClone(c.templatesUsed.get(id) as TemplatePlan);
  // The consent activity is pinned only into plans that read consent.*, so other plans (and their versions) stay as they were.
  const readsConsent = planReadsConsent({ goal, exitWhen: exitWhen.filter((m): m is EventMatcher => m !== undefined), steps });
  const activities: Record<string, ActivityPolicy> = {};
  // Likewise loadAggregates, only into plans whose if steps read events.* or in_audience.
  const readsAggregates = planReadsAggregates(steps);
  for (const [name, policy] of Object.entries(env.builtinPolicies)) {
    if (name === LOAD_CONSENT_ACTIVITY && !readsConsent) continue;
    if (name === LOAD_AGGREGATES_ACTIVITY && !readsAggregates) continue;
    activities[name] = structuredClone(policy);
  }
  for (const name of [...c.activitiesUsed].sort()) activities[name] = structuredClone(env.activities[name].policy);

  const body: Omit<JourneyPlan, 'version'> = {
    journey: raw.journey,
    ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
    ...(typeof raw.description === 'string' ? { description: raw.description } : {}),
    file: names.file,
    trigger,
    reEntry,
    ...(goal ? { goal } : {}),
    exitWhen: exitWhen.filter((m): m is EventMatcher => m !== undefined),
    ...(sendWindow ? { sendWindow } : {}),
    ...(frequencyCap ? { frequencyCap } : {}),
    // Only when written, so journeys without it keep their versions.
    ...(surveyReminders !== undefined ? { surveyReminders } : {}),
    ...(rate !== undefined ? { rate } : {}),
    steps,
    templates,
    activities,
  };
  // Steps and values came straight from the YAML parser; a clone keeps the frozen plan independent of it.
  const plan: JourneyPlan = { ...structuredClone(body), version: contentHash(body) };
  return { plan: deepFreeze(plan), errors: r.errors, warnings: r.warnings };
}
