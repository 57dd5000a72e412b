/**
 * Audiences as conditions see them: the `events.<name>.<aggregate>` root (counts and first/last
 * times of a customer's track events), what a condition needs loaded, and the one rule that says
 * whether a customer matches. Sandbox-safe: the compiler, the router, the store's audience
 * listing and (later) the workflow all use it, so an audience means one thing everywhere.
 */
import type { AudienceTriggerPlan, Condition, JourneyPlan, ScheduleTriggerPlan, Step, TrackEvent } from '../compiler/plan';
import { evaluate, forEachReadPath, type Scope } from './conditions';
import type { ConsentStates } from './consent';

/** The condition root that reads event aggregates: `events.order_completed.count`. */
export const EVENTS_ROOT = 'events';

/** The name of the built-in activity that reads event aggregates for `if` conditions. */
export const LOAD_AGGREGATES_ACTIVITY = 'loadAggregates';

/** The condition key that tests membership of another audience: `in_audience: lapsed-customers`. */
export const IN_AUDIENCE = 'in_audience';

/** Aggregates of one event name that need no window. */
export const AGGREGATE_FIELDS = ['count', 'first_at', 'last_at'] as const;

const WINDOW_UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
/** `count_7d`: the count of the last 7 days; one number and one unit keep the path a plain word. */
const WINDOWED_COUNT_RE = /^count_([1-9]\d{0,3})([mhdw])$/;
/** Longest window a count may look back: the retention of events is usually shorter. */
export const MAX_WINDOW_MS = 3650 * WINDOW_UNIT_MS.d;

/** What one `events.*` path reads. `windowMs` is set for a windowed count (`count_7d`). */
export interface AggregatePath {
  event: string;
  /** The last path segment as written: `count`, `first_at`, `last_at` or `count_<n><unit>`. */
  field: string;
  kind: 'count' | 'first_at' | 'last_at';
  windowMs?: number;
}

/** The aggregates of one event name that a condition reads: field name → window (undefined: all time). */
export interface AggregateRead {
  event: string;
  fields: Record<string, { kind: AggregatePath['kind']; windowMs?: number }>;
}

/** Per event name, the aggregates loaded for one customer: `{ order_completed: { count: 2, last_at: '…' } }`. */
export type EventAggregates = Record<string, Record<string, number | string>>;

/** True when an `if` step of the plan reads event aggregates, so the plan needs `loadAggregates`. */
export function planReadsAggregates(steps: readonly Step[]): boolean {
  return steps.some((step) => {
    switch (step.kind) {
      case 'if':
        return aggregateReads(step.condition).length > 0 || planReadsAggregates(step.then) || planReadsAggregates(step.else);
      case 'wait_for':
        return planReadsAggregates(step.onEvent) || planReadsAggregates(step.onTimeout);
      case 'split':
        return step.variants.some((v) => planReadsAggregates(v.steps));
      default:
        return false;
    }
  });
}

/** Everything an audience reads about one customer. */
export interface AudienceFacts {
  profile: Record<string, unknown>;
  consent?: ConsentStates;
  events?: EventAggregates;
}

/**
 * The parts of an `events.<name>.<field>` path, or an error text when the path starts with
 * `events.` but is not one; undefined for paths under other roots.
 */
export function parseAggregatePath(path: string): AggregatePath | { error: string } | undefined {
  const segments = path.split('.');
  if (segments[0] !== EVENTS_ROOT) return undefined;
  if (segments.length !== 3) return { error: 'an event aggregate path has three parts: events.<event name>.<aggregate>' };
  const [, event, field] = segments;
  if ((AGGREGATE_FIELDS as readonly string[]).includes(field)) return { event, field, kind: field as AggregatePath['kind'] };
  const windowed = WINDOWED_COUNT_RE.exec(field);
  if (windowed) {
    const windowMs = Number(windowed[1]) * WINDOW_UNIT_MS[windowed[2] as keyof typeof WINDOW_UNIT_MS];
    if (windowMs > MAX_WINDOW_MS) return { error: `"${field}" looks back more than 3650 days` };
    return { event, field, kind: 'count', windowMs };
  }
  return { error: `"${field}" is not one of count, first_at, last_at or a windowed count like count_7d` };
}

/** Every event aggregate a condition reads (paths and `{{ }}` values), grouped by event name. */
export function aggregateReads(...conditions: (Condition | undefined)[]): AggregateRead[] {
  const found = new Map<string, AggregateRead>();
  const add = (path: string) => {
    const parsed = parseAggregatePath(path);
    if (!parsed || 'error' in parsed) return;
    const read = found.get(parsed.event) ?? { event: parsed.event, fields: {} };
    read.fields[parsed.field] = parsed.windowMs === undefined ? { kind: parsed.kind } : { kind: parsed.kind, windowMs: parsed.windowMs };
    found.set(parsed.event, read);
  };
  forEachReadPath(conditions, add);
  return [...found.values()];
}

/**
 * The aggregates of one event name from its timestamps (ISO, any order), as the store computes
 * them in SQL: a count of all time, the first and last time, and windowed counts of events at or
 * after `now - window` (no upper bound, so an event stamped a little ahead of this clock counts).
 * Absent first/last times mean "never", so `exists: false` reads "has never".
 */
export function aggregatesOf(read: AggregateRead, timestamps: readonly string[], nowMs: number): Record<string, number | string> {
  const times = timestamps.map((t) => Date.parse(t)).filter((t) => !Number.isNaN(t));
  const out: Record<string, number | string> = {};
  for (const [field, spec] of Object.entries(read.fields)) {
    if (spec.kind === 'count') {
      out[field] = spec.windowMs === undefined ? times.length : times.filter((t) => t >= nowMs - (spec.windowMs as number)).length;
    } else if (times.length > 0) {
      out[field] = new Date(spec.kind === 'first_at' ? Math.min(...times) : Math.max(...times)).toISOString();
    }
  }
  return out;
}

/**
 * The aggregates a condition reads with zero counts filled in for event names a customer never
 * sent: a count is a number for everyone, so `count: { lt: 1 }` holds for them.
 */
export function withZeroCounts(reads: readonly AggregateRead[], found: EventAggregates): EventAggregates {
  const out: EventAggregates = {};
  for (const read of reads) {
    const row: Record<string, number | string> = { ...found[read.event] };
    for (const [field, spec] of Object.entries(read.fields)) if (spec.kind === 'count' && row[field] === undefined) row[field] = 0;
    out[read.event] = row;
  }
  return out;
}

/**
 * The aggregates `reads` names over a list of track events (`simulate`'s events file, a test's
 * history), with zero counts filled in: the same numbers the store computes in SQL.
 */
export function aggregatesFromEvents(reads: readonly AggregateRead[], events: readonly { event?: string; timestamp: string }[], nowMs: number): EventAggregates {
  const found: EventAggregates = {};
  for (const read of reads) {
    const times = events.filter((e) => e.event === read.event).map((e) => e.timestamp);
    if (times.length > 0) found[read.event] = aggregatesOf(read, times, nowMs);
  }
  return withZeroCounts(reads, found);
}

/** The scope an audience condition is evaluated in: the profile, consent states and event aggregates. */
export function audienceScope(facts: AudienceFacts): Scope {
  return { profile: facts.profile, consent: facts.consent ?? {}, events: facts.events ?? {} };
}

/** True when the customer described by `facts` is in the audience whose (compiled) condition this is, at `nowMs`. */
export function audienceMatches(condition: Condition, facts: AudienceFacts, nowMs: number): boolean {
  return evaluate(condition, audienceScope(facts), nowMs);
}

/**
 * The event name `exit_when: [{ left_audience: true }]` is compiled to. Only the router sends it,
 * when an identify or track finds a customer inside such a run outside the journey's audience;
 * a track event of this name from outside never reaches a run, and journeys may not name it.
 */
export const LEFT_AUDIENCE_EVENT = '$left_audience';

/**
 * `trigger.event` of a run the audience sweep or a broadcast entered, with no event of the
 * customer's own: `trigger.properties.audience` names the audience.
 */
export const AUDIENCE_ENTERED_EVENT = 'audience_entered';

/**
 * True when a condition can change its answer with time alone: it compares with a relative time
 * (`before: -60d`) or reads a windowed count (`count_7d`). Only audience journeys with such a
 * condition need the sweep; the others change only with an event, which the router sees.
 */
export function readsTime(...conditions: (Condition | undefined)[]): boolean {
  const relative = (v: unknown): boolean => v !== null && typeof v === 'object' && 'relativeMs' in v;
  const visit = (c: Condition | undefined): boolean => {
    if (!c) return false;
    if ('all' in c) return c.all.some(visit);
    if ('any' in c) return c.any.some(visit);
    if ('not' in c) return visit(c.not);
    const parsed = parseAggregatePath(c.path);
    return relative(c.value) || (parsed !== undefined && !('error' in parsed) && parsed.windowMs !== undefined);
  };
  return conditions.some(visit);
}

/** `trigger.event` of an audience journey entered by an identify call (its traits are `trigger.properties`). */
export const IDENTIFY_TRIGGER_EVENT = 'identify';

/** True when the plan ends its runs as soon as the customer is no longer in its trigger's audience. */
export function exitsOnLeavingAudience(plan: Pick<JourneyPlan, 'exitWhen'>): boolean {
  return plan.exitWhen.some((m) => m.event === LEFT_AUDIENCE_EVENT);
}

/**
 * Whether a customer enters an audience-triggered journey: they are in the audience (by the
 * function every audience is decided with) and the trigger's `where` holds, with `trigger.*`
 * the identify or track under test.
 */
export function audienceTriggerMatches(trigger: AudienceTriggerPlan | ScheduleTriggerPlan, event: TrackEvent, facts: AudienceFacts, nowMs: number): boolean {
  if (!audienceMatches(trigger.members, facts, nowMs)) return false;
  return trigger.where === undefined || evaluate(trigger.where, { ...audienceScope(facts), trigger: event as unknown as Record<string, unknown> }, nowMs);
}
