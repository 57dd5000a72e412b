/**
 * The compiled, immutable journey plan: the only thing the interpreter workflow ever sees.
 *
 * This file holds types only (plus nothing that needs Node), so `workflows/` may import it.
 * A plan is plain JSON: it travels in the workflow input and pins a running journey to the
 * version it entered with.
 */
import type { SurveySpec } from '../core/surveys';

/** Milliseconds. Durations in YAML (`1d12h`) are compiled to this. */
export type Millis = number;

/** A comparison operator of the condition language. */
export type Operator =
  | 'eq'
  | 'ne'
  | 'gt'
  | 'gte'
  | 'lt'
  | 'lte'
  | 'in'
  | 'nin'
  | 'contains'
  | 'exists'
  | 'before'
  | 'after'
  | 'starts_with'
  | 'ends_with'
  | 'matches';

/**
 * A compiled condition. `value` may be a string holding `{{ path }}` expressions; they are
 * resolved against the same roots when the condition is evaluated. For `before`/`after`, a
 * relative duration like `-30d` is compiled to `{ relativeMs: -2592000000 }`. For `matches`,
 * `value` is an RE2 pattern, checked when the journey is compiled.
 */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | {
      path: string;
      op: Operator;
      value: unknown;
      /**
       * Compare text ignoring upper/lower case (`case: insensitive`, and by default for paths
       * ending in `email`). Absent in plans compiled before it existed, which compare exactly.
       */
      ignoreCase?: true;
    };

/** Quiet-hours / send window. Minutes are minutes after local midnight. */
export interface TimeWindow {
  /** Allowed weekdays, 0 = Sunday … 6 = Saturday. All seven when the YAML omits `days`. */
  days: number[];
  /** Window start, minutes after midnight (inclusive). */
  startMinute: number;
  /** Window end, minutes after midnight (exclusive). Equal to start+1 for `time: "09:00"`. */
  endMinute: number;
  /** `customer` (profile timezone, falling back to the configured default) or an IANA zone. */
  timezone: string;
}

/** A message template, embedded in the plan so a journey version pins its templates too. */
export interface TemplatePlan {
  id: string;
  channel: 'email' | 'sms' | 'webhook';
  category: string;
  subject?: string;
  from?: string;
  text?: string;
  html?: string;
  /** Text of an sms, or the request body of a webhook (Liquid). */
  body?: string;
  /** Webhook address (Liquid); required for `channel: webhook`. */
  url?: string;
  /**
   * The same message for other channels (a template's `sms:` section, say), for sends that list
   * `channels:`. Absent in templates without such sections.
   */
  alternatives?: Partial<Record<TemplatePlan['channel'], TemplateParts>>;
  /**
   * The survey the message asks (`survey:`): score buttons in email, a link to the answer page in
   * sms. Absent in templates without one, so their plans keep their versions.
   */
  survey?: SurveySpec;
  /** Source file, for error reports at send time. */
  file: string;
  /**
   * Only the head is here (id, channel, category, file): the parts are in the deployed journey
   * version the run is on, and the send loads them there (`withTemplateHeads`).
   */
  byReference?: true;
}

/**
 * The plan as the router hands it to a run: every template reduced to its head and marked
 * `byReference`, so no run's or send's input (its history) carries message texts; the send loads
 * the parts from the deployed version, cached per worker (activities/send/templates.ts).
 */
export function withTemplateHeads(plan: JourneyPlan): JourneyPlan {
  const heads = Object.entries(plan.templates).map(([id, t]): [string, TemplatePlan] => [
    id,
    { id: t.id, channel: t.channel, category: t.category, file: t.file, byReference: true },
  ]);
  return { ...plan, templates: Object.fromEntries(heads) };
}

/** The text parts of one channel's version of a template. */
export type TemplateParts = Pick<TemplatePlan, 'subject' | 'from' | 'text' | 'html' | 'body' | 'url'>;

/** Retry and timeout policy for one activity, copied into the plan from the activity's file. */
export interface ActivityPolicy {
  startToCloseTimeout: string;
  retry: {
    initialInterval: string;
    backoffCoefficient: number;
    maximumInterval: string;
    maximumAttempts: number;
    nonRetryableErrorTypes?: string[];
  };
}

interface StepBase {
  /** Stable id: the `id:` from YAML, or one derived from the step's position. */
  id: string;
  name?: string;
}

export type Step =
  | (StepBase & { kind: 'wait'; ms: Millis })
  | (StepBase & { kind: 'wait_until'; window: TimeWindow })
  | (StepBase & {
      kind: 'wait_until_date';
      date: string;
      offsetMs: Millis;
      /** Local time of day (minutes after midnight) to wait until on the date's day, from `time:`. */
      minuteOfDay?: number;
      /** What a missing or unreadable date does: end the journey (`exit`, also when absent) or go on. */
      onInvalid?: 'exit' | 'continue';
    })
  | (StepBase & {
      kind: 'wait_for';
      event: string;
      where?: Condition;
      withinMs: Millis;
      /** `since: entry`: an event the run received before the wait started, and no wait_for took, counts too. */
      sinceEntry?: true;
      onEvent: Step[];
      onTimeout: Step[];
    })
  | (StepBase & {
      kind: 'send';
      template: string;
      to?: string;
      data?: Record<string, unknown>;
      category?: string;
      /** What happens when a frequency cap is full; `skip` when absent. */
      onCap?: 'skip' | 'defer';
      /**
       * Channels to try in order (`channels: [sms, email]`): the first the customer can and may
       * receive gets the message. Absent: the template's own channel only.
       */
      channels?: TemplatePlan['channel'][];
    })
  | (StepBase & {
      kind: 'update_profile';
      set?: Record<string, unknown>;
      unset?: string[];
      increment?: Record<string, number>;
      addTags?: string[];
      removeTags?: string[];
    })
  | (StepBase & { kind: 'if'; condition: Condition; then: Step[]; else: Step[] })
  | (StepBase & {
      kind: 'split';
      variants: { name: string; weight: number; steps: Step[] }[];
      /** Percent (0–100) of customers held out: they get no messages in this split. */
      holdout: number;
    })
  | (StepBase & { kind: 'do'; activity: string; with: Record<string, unknown> })
  | (StepBase & { kind: 'exit'; reason: string });

export type StepKind = Step['kind'];

export interface EventMatcher {
  event: string;
  where?: Condition;
}

export type ReEntry = { mode: 'never' } | { mode: 'always' } | { mode: 'cooldown'; ms: Millis };

/** Enters on a track event; with `key`, one run per customer and key instead of one per customer. */
export interface EventTriggerPlan extends EventMatcher {
  /**
   * Dotted path under `trigger.` (e.g. `trigger.properties.cart_id`) whose value names the thing a
   * run is about. Absent: one run per customer, as before keys existed.
   */
  key?: string;
  audience?: never;
  schedule?: never;
  date?: never;
}

/**
 * Enters a customer when an identify or track of theirs finds them in an audience
 * (`trigger: { audience: … }`); `trigger.*` is that identify or track.
 */
export interface AudienceTriggerPlan {
  /** The audience id, for reports. */
  audience: string;
  /** The audience's condition, inlined as `in_audience` inlines it, so a version pins it. */
  members: Condition;
  /** Optional narrowing, like an event trigger's `where`. */
  where?: Condition;
  event?: never;
  key?: never;
  schedule?: never;
  date?: never;
}

/**
 * Enrols an audience at each time of a cron schedule (`trigger: { schedule: {…}, audience: … }`):
 * a weekly newsletter. Each firing is an occurrence; a customer enters at most once per occurrence.
 * A Temporal Schedule per journey fires it; `unbroken trigger` fires one occurrence now.
 */
export interface ScheduleTriggerPlan {
  /** Five-field cron expression, read in `timezone` (an IANA zone; default UTC). */
  schedule: { cron: string; timezone: string };
  /** The audience id, for reports. */
  audience: string;
  /** The audience's condition, inlined as for an audience trigger. */
  members: Condition;
  where?: Condition;
  event?: never;
  key?: never;
  date?: never;
}

/**
 * Enters each customer on a date of their profile (`trigger: { date: profile.birthday, … }`), at
 * `at` local time in their zone (or a fixed zone), `offsetDays` before (-) or after (+) it; every
 * year on its month and day, or once. A customer enters at most once per occurrence.
 */
export interface DateTriggerPlan {
  /** Dotted path of the date, `profile.<trait>` (an ISO date or date-time). */
  date: string;
  every: 'year' | 'once';
  /** Whole days before (negative) or after the date. */
  offsetDays: number;
  /** Local time of day, "HH:MM". */
  at: string;
  /** `customer`: the profile's time zone (else the default); or an IANA zone. */
  timezone: string;
  where?: Condition;
  event?: never;
  audience?: never;
  key?: never;
  schedule?: never;
}

/**
 * How a customer enters. Each kind names itself by its own key (`event`, `audience`, `schedule`,
 * `date`), so further kinds are added beside these without changing plans already deployed.
 */
export type TriggerPlan = EventTriggerPlan | AudienceTriggerPlan | ScheduleTriggerPlan | DateTriggerPlan;

export type TriggerKind = 'event' | 'audience' | 'schedule' | 'date';

/** Which kind of trigger this is. */
export function triggerKind(trigger: TriggerPlan): TriggerKind {
  if (trigger.event !== undefined) return 'event';
  if (trigger.schedule !== undefined) return 'schedule';
  if (trigger.date !== undefined) return 'date';
  return 'audience';
}

/** Entries per second of the audience sweep and broadcasts when a journey sets no `rate:`. */
export const DEFAULT_AUDIENCE_RATE = 10;

/** True for a journey that starts on a track event. */
export function isEventTrigger(trigger: TriggerPlan): trigger is EventTriggerPlan {
  return triggerKind(trigger) === 'event';
}

/** True for a journey that starts when a customer comes to match an audience (not on a schedule). */
export function isAudienceTrigger(trigger: TriggerPlan): trigger is AudienceTriggerPlan {
  return triggerKind(trigger) === 'audience';
}

/** True for a journey that enrols an audience on a cron schedule. */
export function isScheduleTrigger(trigger: TriggerPlan): trigger is ScheduleTriggerPlan {
  return triggerKind(trigger) === 'schedule';
}

/** True for a journey that starts on a date of the customer's profile. */
export function isDateTrigger(trigger: TriggerPlan): trigger is DateTriggerPlan {
  return triggerKind(trigger) === 'date';
}

/** True when the trigger names an audience whose members are entered (an audience or a schedule trigger). */
export function enrolsAudience(trigger: TriggerPlan): trigger is AudienceTriggerPlan | ScheduleTriggerPlan {
  const kind = triggerKind(trigger);
  return kind === 'audience' || kind === 'schedule';
}

/** A compiled journey. `version` is a content hash of everything below it. */
export interface JourneyPlan {
  journey: string;
  name?: string;
  description?: string;
  version: string;
  /** Source file relative to the definitions folder, for reports. */
  file: string;
  trigger: TriggerPlan;
  reEntry: ReEntry;
  goal?: EventMatcher;
  exitWhen: EventMatcher[];
  sendWindow?: TimeWindow;
  /**
   * The journey's own frequency cap, on top of the global ones; `perKey` counts only the sends of
   * runs with the same trigger key.
   */
  frequencyCap?: { max: number; windowMs: number; perKey?: true };
  /**
   * How many times one run may ask the same survey again (`survey_reminders:`); absent: the
   * default, one reminder (core/surveys.ts DEFAULT_SURVEY_REMINDERS).
   */
  surveyReminders?: number;
  /**
   * Entries per second at most when the audience sweep or a broadcast enters customers (`rate:`,
   * audience journeys only); absent: DEFAULT_AUDIENCE_RATE.
   */
  rate?: number;
  steps: Step[];
  /** Every template the journey sends, by id. */
  templates: Record<string, TemplatePlan>;
  /** Retry/timeout policy of every activity the journey calls (built-in and `do:`), by name. */
  activities: Record<string, ActivityPolicy>;
}

/**
 * A compiled audience (definitions/audiences/<id>.yaml). `where` has every `in_audience` it used
 * replaced by that audience's condition, so it stands alone.
 */
export interface AudiencePlan {
  audience: string;
  name?: string;
  /** Source file relative to the definitions folder, for reports. */
  file: string;
  where: Condition;
}

/** A track event as journeys see it (Segment spec subset). */
export interface TrackEvent {
  event: string;
  properties: Record<string, unknown>;
  /** ISO-8601 time the event happened. */
  timestamp: string;
  messageId?: string;
}

/** Every step of a step list, nested branches included, depth first in plan order (a step before its branches). */
export function allSteps(steps: readonly Step[]): Step[] {
  return steps.flatMap((s) => [s, ...stepBranches(s).flatMap(allSteps)]);
}

/** What a running journey listens for: its goal, its exits and every `wait_for`, each with its `where`. */
export function listeners(plan: JourneyPlan): EventMatcher[] {
  const waits = allSteps(plan.steps).flatMap((s) => (s.kind === 'wait_for' ? [{ event: s.event, where: s.where }] : []));
  return [...(plan.goal ? [plan.goal] : []), ...plan.exitWhen, ...waits];
}

/** The step lists nested in a step (its branches, its variants' steps), for walks over a plan. */
export function stepBranches(step: Step): Step[][] {
  switch (step.kind) {
    case 'if':
      return [step.then, step.else];
    case 'wait_for':
      return [step.onEvent, step.onTimeout];
    case 'split':
      return step.variants.map((v) => v.steps);
    default:
      return [];
  }
}
